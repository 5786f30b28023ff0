// Verification checks (pure): compare what ground truth says with what the action was meant to do.
import type { Json } from '../types.js';
import { lookup, resolveTemplate, type TemplateScope } from '../tools/template.js';

export interface Mismatch {
  readonly path: string;
  readonly expected: Json | null;
  readonly observed: Json | null;
}

export type CheckOutcome =
  | { readonly status: 'passed'; readonly checked: number }
  | { readonly status: 'failed'; readonly mismatches: readonly Mismatch[] };

/**
 * Evaluates `expect` (path in scope → template of the expected value) against the scope,
 * which holds `args`, `result` and `probe`. Every expectation is checked; all mismatches are reported.
 */
export function checkExpectations(expect: Readonly<Record<string, unknown>>, scope: TemplateScope): CheckOutcome {
  const mismatches: Mismatch[] = [];
  let checked = 0;
  for (const [path, template] of Object.entries(expect)) {
    checked++;
    const observed = lookup(scope, path.startsWith('$') ? path.slice(1) : path);
    const expected = resolveTemplate(template, scope);
    if (!expected.ok || observed === undefined || !jsonEqual(observed, expected.value)) {
      mismatches.push({
        path,
        expected: expected.ok ? expected.value : null,
        observed: observed ?? null,
      });
    }
  }
  return mismatches.length === 0 ? { status: 'passed', checked } : { status: 'failed', mismatches };
}

/** Structural equality of two JSON values (object key order does not matter). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as readonly Json[];
    return a.length === bb.length && a.every((x: Json, i: number) => jsonEqual(x, bb[i] as Json));
  }
  const ao = a as Record<string, Json>;
  const bo = b as Record<string, Json>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && jsonEqual(ao[k] as Json, bo[k] as Json));
}
