// What policy sees of a call's arguments: the contract's exposed fields, coerced to their Cedar types,
// and for a field exposed as each element of an array argument, one record per element. Pure.
import type { ToolContract } from '../config/schema.js';
import { PROVENANCE_LIMITS } from '../context/provenance.js';
import { hasLoneSurrogate } from '../util/json.js';
import { exposedAs, type ExposeType } from './cedar-schema.js';
import { DECIMAL_DIGITS, DECIMAL_MAX, DECIMAL_MIN, toDecimal } from './decimal.js';
import type { CedarValue } from './engine.js';

/**
 * How many elements of one array argument policy decides, one at a time; a longer list is denied.
 * INVARIANT: the bound of per-element provenance, so every element decided is decided on its own.
 */
export const MAX_EXPOSED_ELEMENTS: number = PROVENANCE_LIMITS.maxElements;

/** A field exposed as each element of an array argument (`{ type, each }`): the elements, coerced, in order. */
export interface ExposedElements {
  readonly field: string;
  /** The array argument they come from. */
  readonly source: string;
  readonly values: readonly CedarValue[];
  /** The raw elements, for messages. */
  readonly raw: readonly unknown[];
}

/** The exposed arguments: the plain fields, and the elements of an array argument if the contract exposes one. */
export type ExposedArgs =
  | { readonly ok: true; readonly values: Record<string, CedarValue>; readonly each?: ExposedElements }
  | { readonly ok: false; readonly reasons: string[] };

/**
 * The arguments policy sees: only the contract's exposed fields, coerced to their Cedar types.
 * Absent fields are left out; a value that cannot be coerced (a fraction for a `long`) is a reason to deny.
 * A field exposed as `{ type, each: source }` is not in `values`: its elements are in `each` (see `exposedRecords`).
 */
export function exposeArgs(tool: Pick<ToolContract, 'expose'>, args: Readonly<Record<string, unknown>>): ExposedArgs {
  const values: Record<string, CedarValue> = {};
  const reasons: string[] = [];
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return { ok: false, reasons: ['the arguments are not an object'] };
  let each: ExposedElements | undefined;
  for (const [field, entry] of Object.entries(tool.expose)) {
    const { type, each: source } = exposedAs(entry);
    const from = source ?? field;
    if (!Object.hasOwn(args, from)) continue;
    const raw = args[from];
    if (raw === undefined) continue;
    if (source === undefined) {
      const v = coerce(type, raw);
      if (v === undefined) reasons.push(`argument \`${field}\` must be ${DESCRIBE[type]}, got \`${preview(raw)}\`${decimalWhy(type, raw)}`);
      else values[field] = v;
      continue;
    }
    if (each !== undefined) {
      reasons.push(`fields \`${each.field}\` and \`${field}\` both expose elements of an array argument; a contract may expose one (fix the contract)`);
      continue;
    }
    if (!Array.isArray(raw)) {
      reasons.push(`argument \`${source}\` must be a list (policy sees each element as \`${field}\`), got \`${preview(raw)}\``);
      continue;
    }
    if (raw.length > MAX_EXPOSED_ELEMENTS) {
      reasons.push(`argument \`${source}\` has ${raw.length} elements; policy decides each one, and at most ${MAX_EXPOSED_ELEMENTS}`);
      continue;
    }
    const elements: CedarValue[] = [];
    for (let i = 0; i < raw.length; i++) {
      const v = coerce(type, raw[i]);
      if (v === undefined) reasons.push(`element \`${source}[${i}]\` must be ${DESCRIBE[type]}, got \`${preview(raw[i])}\`${decimalWhy(type, raw[i])}`);
      else elements.push(v);
    }
    each = { field, source, values: elements, raw };
  }
  if (reasons.length > 0) return { ok: false, reasons };
  return each === undefined ? { ok: true, values } : { ok: true, values, each };
}

/** One record of arguments as policy sees it; `element` names the array element it was made for, if any. */
export interface ExposedRecord {
  readonly values: Record<string, CedarValue>;
  /** E.g. ``element `paths[1]` (`"../x"`)``; absent when the call is decided once. */
  readonly element?: string;
  /** The exposed field and the element's index in its list; absent when the call is decided once. */
  readonly at?: { readonly field: string; readonly index: number };
}

/**
 * The records policy decides a call on: one, or with a field exposed as each element of an array
 * argument, one per element (the field set to that element; an absent or empty list gives one record
 * without the field). The call stands only as far as every record does: the strictest decision wins.
 */
export function exposedRecords(tool: Pick<ToolContract, 'expose'>, args: Readonly<Record<string, unknown>>): { readonly ok: true; readonly records: readonly ExposedRecord[] } | { readonly ok: false; readonly reasons: string[] } {
  const exposed = exposeArgs(tool, args);
  if (!exposed.ok) return exposed;
  const { values, each } = exposed;
  if (each === undefined || each.values.length === 0) return { ok: true, records: [{ values }] };
  return {
    ok: true,
    records: each.values.map((v, i) => ({
      values: { ...values, [each.field]: v },
      element: `element \`${each.source}[${i}]\` (\`${preview(each.raw[i])}\`)`,
      at: { field: each.field, index: i },
    })),
  };
}

const DESCRIBE: Readonly<Record<ExposeType, string>> = {
  long: 'a whole number (policy sees it as a Cedar `Long`)',
  string: 'a string of valid Unicode text (no lone UTF-16 surrogate)',
  boolean: 'a boolean',
  decimal: `a number with at most ${DECIMAL_DIGITS} digits after the point, from ${DECIMAL_MIN} to ${DECIMAL_MAX} (policy sees it as a Cedar \`decimal\`)`,
};

function decimalWhy(type: ExposeType, raw: unknown): string {
  if (type !== 'decimal') return '';
  const d = toDecimal(raw);
  return 'error' in d ? ` (${d.error})` : '';
}

function coerce(type: ExposeType, v: unknown): CedarValue | undefined {
  switch (type) {
    case 'long':
      if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
      if (typeof v === 'string' && /^-?\d{1,16}$/.test(v)) {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : undefined;
      }
      return undefined;
    case 'string':
      // A lone surrogate is not text: Cedar refuses it, and it must not reach a rule as something else.
      if (typeof v === 'string') return hasLoneSurrogate(v) ? undefined : v;
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      if (typeof v === 'boolean') return String(v);
      return undefined;
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      return undefined;
    case 'decimal': {
      const d = toDecimal(v);
      return 'value' in d ? d.value : undefined;
    }
  }
}

function preview(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
