// Cedar's `decimal` extension type: parsing and the value Airlock hands Cedar for an exposed decimal argument. Pure.

/** Cedar stores a decimal as a 64-bit integer of ten-thousandths: at most 4 digits after the point. */
export const DECIMAL_DIGITS = 4;
const SCALE = 10n ** BigInt(DECIMAL_DIGITS);
const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

/** The smallest decimal Cedar can hold, as text. */
export const DECIMAL_MIN = '-922337203685477.5808';
/** The largest decimal Cedar can hold, as text. */
export const DECIMAL_MAX = '922337203685477.5807';

/** Cedar's JSON form of a decimal value: `{ "__extn": { "fn": "decimal", "arg": "99.99" } }`. */
export interface DecimalValue {
  readonly __extn: { readonly fn: 'decimal'; readonly arg: string };
}

const DECIMAL_TEXT = /^(-?)([0-9]+)\.([0-9]+)$/;

/**
 * Parses decimal text the way Cedar's `decimal("…")` does (digits, a point, 1 to 4 digits; an optional `-`;
 * within the 64-bit range), returning the value in ten-thousandths, or why Cedar refuses the text.
 */
export function parseDecimal(text: string): { readonly scaled: bigint } | { readonly error: string } {
  const m = DECIMAL_TEXT.exec(text);
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  if (m === null) return { error: `\`${shown}\` is not a well-formed decimal value` };
  const [, sign, whole, frac] = m as unknown as [string, string, string, string];
  if (frac.length > DECIMAL_DIGITS) return { error: `too many digits after the decimal in \`${shown}\`` };
  const overflow = { error: `overflow when converting \`${shown}\` to decimal` };
  // Leading zeros are fine; more than 15 significant digits before the point cannot fit (and BigInt needs no megabyte).
  if (whole.replace(/^0+(?=[0-9])/, '').length > 15) return overflow;
  const magnitude = BigInt(whole) * SCALE + BigInt(frac.padEnd(DECIMAL_DIGITS, '0'));
  const scaled = sign === '-' ? -magnitude : magnitude;
  if (scaled > I64_MAX || scaled < I64_MIN) return overflow;
  return { scaled };
}

/**
 * An argument as a Cedar decimal, or why it cannot be one. Accepts a JSON number (as JavaScript prints it,
 * which is also what the upstream receives) or a string of digits with an optional point; at most 4 digits
 * after the point, within Cedar's range. `99.99` → `decimal("99.99")`, `5` → `decimal("5.0")`.
 */
export function toDecimal(v: unknown): { readonly value: DecimalValue } | { readonly error: string } {
  let text: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return { error: `${String(v)} is not a number Cedar can hold` };
    text = String(v === 0 ? 0 : v);
    // JavaScript prints very small and very large numbers with an exponent.
    if (text.includes('e')) {
      return Math.abs(v) < 1 ? { error: `it has more than ${DECIMAL_DIGITS} digits after the point` } : { error: `it is outside Cedar's decimal range (${DECIMAL_MIN} to ${DECIMAL_MAX})` };
    }
  } else if (typeof v === 'string') {
    text = v;
  } else {
    return { error: 'it is not a number' };
  }
  const m = /^(-?[0-9]+)(?:\.([0-9]+))?$/.exec(text);
  if (m === null) return { error: `\`${text.length > 40 ? `${text.slice(0, 37)}...` : text}\` is not a plain decimal number` };
  const arg = `${m[1] as string}.${m[2] ?? '0'}`;
  const parsed = parseDecimal(arg);
  if ('error' in parsed) {
    return (m[2]?.length ?? 0) > DECIMAL_DIGITS
      ? { error: `it has more than ${DECIMAL_DIGITS} digits after the point` }
      : { error: `it is outside Cedar's decimal range (${DECIMAL_MIN} to ${DECIMAL_MAX})` };
  }
  return { value: { __extn: { fn: 'decimal', arg } } };
}
