// Verification checks (pure): compare what ground truth says with what the action was meant to do.
import type { Json } from '../types.js';
import { lookup, resolveTemplate, type TemplateScope } from '../util/template.js';
import { compileCelCached, evalCel } from './cel.js';

export interface Mismatch {
  readonly path: string;
  readonly expected: Json | null;
  readonly observed: Json | null;
  /** For a CEL `check`: the expression that was false. */
  readonly expression?: string;
}

export type CheckOutcome =
  | { readonly status: 'passed'; readonly checked: number }
  | { readonly status: 'failed'; readonly mismatches: readonly Mismatch[] };

/** A check that could not be evaluated (a probe that failed, a CEL expression that erred). */
export type CheckErrorOutcome = { readonly status: 'error'; readonly message: string };

/** What a tool contract's `verify` asks of ground truth: an `expect` map, a CEL `check`, or both. */
export interface VerificationSpec {
  readonly expect?: Readonly<Record<string, unknown>> | undefined;
  readonly check?: string | undefined;
}

/** The variables of a contract's `verify.check`. */
export const VERIFY_CHECK_VARS = ['args', 'result', 'probe'] as const;

/**
 * Checks a contract's verification against what the probe observed: every `expect` entry, then
 * the CEL `check` over `args`, `result` and `probe`. A false check is a mismatch (path `check`);
 * a check that cannot be evaluated (a missing field, a type error) is an error.
 */
export function checkVerification(
  spec: VerificationSpec,
  scope: { readonly args: Json; readonly result: Json; readonly probe: Json },
): CheckOutcome | CheckErrorOutcome {
  const expected = spec.expect === undefined ? ({ status: 'passed', checked: 0 } as const) : checkExpectations(spec.expect, scope);
  if (spec.check === undefined) return expected;
  const program = compileCelCached(spec.check, VERIFY_CHECK_VARS, { result: 'bool' });
  if (!program.ok) return { status: 'error', message: `verify check \`${spec.check}\`: ${program.message}${program.column === undefined ? '' : ` (at column ${program.column})`}` };
  const value = evalCel(program.program, scope);
  if (!value.ok) return { status: 'error', message: `verify check \`${spec.check}\`: ${value.message}` };
  const mismatches = expected.status === 'failed' ? [...expected.mismatches] : [];
  if (value.value !== true) mismatches.push({ path: 'check', expected: true, observed: value.value, expression: spec.check });
  if (mismatches.length > 0) return { status: 'failed', mismatches };
  return { status: 'passed', checked: (expected.status === 'passed' ? expected.checked : 0) + 1 };
}

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
