// JSON in and out of CEL: the values bound to an expression's variables, bounded by CEL_LIMITS, and its result back as JSON (pure).
import { celType, isCelList, isCelMap, isCelType, isCelUint, type CelInput, type CelValue } from '@bufbuild/cel';
import type { Json } from '../types.js';
import type { CelEvalResult } from './cel-types.js';
import { CEL_LIMITS } from './cel-limits.js';
import { article, SHORT_TYPES } from './cel-messages.js';

const INT64_MAX = 2n ** 63n - 1n;

/**
 * JSON to CEL: an integral number is an `int` (so it equals an int literal and adds to one),
 * any other number a `double`; objects are maps, arrays lists.
 */
export function jsonToCel(v: Json, size: { left: number; chars: number }, depth: number): { ok: true; value: CelInput } | { ok: false; message: string } {
  if (--size.left < 0) return { ok: false, message: `more than ${CEL_LIMITS.maxInputValues} JSON values` };
  if (depth > CEL_LIMITS.maxInputDepth) return { ok: false, message: `JSON nested deeper than ${CEL_LIMITS.maxInputDepth} levels` };
  if (typeof v === 'string') {
    size.chars -= v.length;
    if (size.chars < 0) return { ok: false, message: `more than ${CEL_LIMITS.maxInputChars} characters of strings` };
  }
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return { ok: true, value: v };
  if (typeof v === 'number') {
    if (Number.isInteger(v)) {
      const big = BigInt(v);
      if (big <= INT64_MAX && big >= -INT64_MAX - 1n) return { ok: true, value: big };
    }
    return { ok: true, value: v };
  }
  if (Array.isArray(v)) {
    const out: CelInput[] = [];
    for (const item of v as readonly Json[]) {
      const c = jsonToCel(item, size, depth + 1);
      if (!c.ok) return c;
      out.push(c.value);
    }
    return { ok: true, value: out };
  }
  const out = new Map<string, CelInput>();
  for (const [k, item] of Object.entries(v as Readonly<Record<string, Json>>)) {
    size.chars -= k.length;
    if (size.chars < 0) return { ok: false, message: `more than ${CEL_LIMITS.maxInputChars} characters of strings` };
    const c = jsonToCel(item, size, depth + 1);
    if (!c.ok) return c;
    out.set(k, c.value);
  }
  return { ok: true, value: out };
}

/** CEL to JSON: ints and doubles become numbers, maps objects (keys as strings), lists arrays. */
export function celToJson(v: CelValue, depth: number): CelEvalResult {
  if (depth > CEL_LIMITS.maxInputDepth) return { ok: false, message: `the value is nested deeper than ${CEL_LIMITS.maxInputDepth} levels` };
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return { ok: true, value: v };
  if (typeof v === 'number') {
    return Number.isFinite(v) ? { ok: true, value: v } : { ok: false, message: `the value \`${String(v)}\` is not a JSON number` };
  }
  if (typeof v === 'bigint') {
    return bigintToJson(v);
  }
  if (isCelUint(v)) return bigintToJson(v.value);
  if (isCelList(v)) {
    const out: Json[] = [];
    for (const item of v) {
      const j = celToJson(item, depth + 1);
      if (!j.ok) return j;
      out.push(j.value);
    }
    return { ok: true, value: out };
  }
  if (isCelMap(v)) {
    const out: Record<string, Json> = {};
    for (const [k, item] of v) {
      const j = celToJson(item, depth + 1);
      if (!j.ok) return j;
      Object.defineProperty(out, isCelUint(k) ? String(k.value) : String(k), { value: j.value, enumerable: true, writable: true, configurable: true });
    }
    return { ok: true, value: out };
  }
  return { ok: false, message: `${article(typeName(v))} \`${typeName(v)}\` has no JSON form` };
}

function bigintToJson(v: bigint): CelEvalResult {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
    ? { ok: true, value: Number(v) }
    : { ok: false, message: `the integer ${v} is too large for a JSON number` };
}

/** The CEL type name of a runtime value (`int`, `string`, `list`, `map`, `null_type`, ...). */
export function typeName(v: CelValue): string {
  if (isCelType(v)) return 'type';
  const name = celType(v).name;
  return SHORT_TYPES[name] ?? name;
}
