// Cedar's `decimal` extension type: parsing decimal text exactly as Cedar does. Pure.

/** Cedar stores a decimal as a 64-bit integer of ten-thousandths: at most 4 digits after the point. */
export const DECIMAL_DIGITS = 4;
const SCALE = 10n ** BigInt(DECIMAL_DIGITS);
const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

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
