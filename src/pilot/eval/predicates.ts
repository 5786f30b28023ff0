// A scenario's state predicates judged (pure): a CEL expression over what its probe read of ground truth
// and what Airlock recorded of the runs (status, reason, incidents), never over what the agent said.
import { compileCelCached, evalCel } from '../../verification/cel.js';
import { truncateJson } from '../../verification/run-checks.js';
import type { Json, JsonObject } from '../../types.js';
import type { PredicateSpec } from './suite-schema.js';

/** The variables a predicate's `expect` sees. */
export const PREDICATE_VARS = ['probe', 'found', 'run', 'runs'] as const;

/** A run as predicates see it: Airlock's record of it, not the agent's words. */
export interface RunFacts {
  readonly id: string;
  /** queued, running, awaiting-approval, verified, unverified, completed, failed, cancelled. */
  readonly status: string;
  /** Why it failed or stopped, as Airlock recorded it ('' when none). */
  readonly reason: string;
  /** The kinds of the incidents opened on it (`verification-failed`, `policy-violations`...). */
  readonly incidents: readonly string[];
}

/** What a probe gave: its content, or why it failed. */
export type ProbeRead = { readonly ok: true; readonly content: Json } | { readonly ok: false; readonly message: string };

/** One predicate's verdict, with enough evidence to redo it by hand. */
export interface PredicateResult {
  readonly name: string;
  /** `true`/`false`, or `error` when it could not be evaluated. */
  readonly status: 'true' | 'false' | 'error';
  readonly expression: string;
  readonly probe?: string;
  readonly probeArgs?: JsonObject;
  /** The probe's result, truncated; or its failure. */
  readonly probeResult?: Json;
  readonly message?: string;
}

/** Judges `p` over the probe's read (undefined: no probe) and the runs (the last is `run`). Never throws. */
export function judgePredicate(p: PredicateSpec, read: ProbeRead | undefined, runs: readonly RunFacts[]): PredicateResult {
  const name = p.name ?? p.expect;
  const seen = p.probe === undefined ? {} : { probe: p.probe, probeArgs: p.args as JsonObject, probeResult: read === undefined ? null : read.ok ? truncateJson(read.content) : { failed: read.message.slice(0, 500) } };
  const c = compileCelCached(p.expect, PREDICATE_VARS, { result: 'bool' });
  if (!c.ok) return { name, status: 'error', expression: p.expect, ...seen, message: c.message };
  const facts = runs.map(factsJson);
  const last = facts[facts.length - 1] ?? { id: '', status: 'none', reason: '', incidents: [] };
  const v = evalCel(c.program, { probe: read?.ok ? read.content : {}, found: read?.ok === true, run: last, runs: facts });
  if (!v.ok) return { name, status: 'error', expression: p.expect, ...seen, message: v.message };
  return { name, status: v.value === true ? 'true' : 'false', expression: p.expect, ...seen };
}

function factsJson(r: RunFacts): JsonObject {
  return { id: r.id, status: r.status, reason: r.reason, incidents: [...r.incidents] };
}
