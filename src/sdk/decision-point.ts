// The SDK's seam: a decision point asks Airlock before an in-process tool runs and reports after.
// Types and the words an agent is told; no IO here (local.ts and remote.ts are the two implementations).

/** What an allowed action carries into execution and back into the report: the run and the exact action. */
export interface Grant {
  readonly runId: string;
  /** SHA-256 of the canonical (tool, arguments, run, requester): the one action this grant covers, once. */
  readonly actionHash: string;
  /** The approval this execution consumed, or null when policy allowed it outright. */
  readonly approvalId: string | null;
}

/** Why a call did not run. `refused`: the door refused before any decision (not your run, limits, credentials). */
export type RefusalStatus = 'denied' | 'invalid' | 'pending' | 'suggested' | 'refused' | 'error';

/** A call Airlock did not allow. The same shape from every decision point; `message` is what a model is told. */
export interface Refusal {
  readonly ok: false;
  readonly status: RefusalStatus;
  /** Plain, actionable text: why, and what to do next. */
  readonly message: string;
  readonly reasons?: readonly string[];
  readonly policyIds?: readonly string[];
  /** For `pending`: the approval a person must give before the same call proceeds. */
  readonly approvalId?: string;
}

/** Airlock's answer to one proposed call. */
export type AuthorizeResult = { readonly ok: true; readonly grant: Grant } | Refusal;

export interface AuthorizeOptions {
  /** The agent's stated reason, recorded with the intent for reviewers. */
  readonly reasoning?: string;
}

/** What happened when the caller executed a granted action. */
export type ReportedOutcome =
  | { readonly outcome: 'ok'; readonly result?: unknown }
  | { readonly outcome: 'error'; readonly message: string };

/** Whether the report reached the audit trail. */
export type ReportResult = { readonly ok: true } | { readonly ok: false; readonly message: string };

/** How the run ended when the decision point was closed (`runId` null: no call was ever made). */
export interface CloseResult {
  readonly runId: string | null;
  readonly status: string | null;
}

/**
 * Where an in-process tool asks before it runs: one run per decision point, opened on the first call.
 * `localDecisionPoint` (same process as Airlock) and `remoteDecisionPoint` (over the HTTP API)
 * answer with the same values and leave the same audit trail.
 */
export interface DecisionPoint {
  /** Asks whether `tool` may run with exactly `args`. Never throws for a refusal: it is a value. */
  authorize(tool: string, args: Readonly<Record<string, unknown>>, opts?: AuthorizeOptions): Promise<AuthorizeResult>;
  /** Records what happened to a granted action (once per grant). */
  report(grant: Grant, outcome: ReportedOutcome): Promise<ReportResult>;
  /** Ends the run (later calls are refused). */
  close(): Promise<CloseResult>;
  /** The run this decision point drives, once opened. */
  readonly runId: string | null;
}

// ---- the words (shared by both implementations, so both say exactly the same) --------------------

/** What both implementations know about a refusal before it is put into words. */
export type RefusalFacts =
  | { readonly status: 'denied'; readonly reasons: readonly string[]; readonly policyIds: readonly string[] }
  | { readonly status: 'invalid'; readonly reasons: readonly string[] }
  | { readonly status: 'pending'; readonly approvalId: string; readonly level: string; readonly reasons: readonly string[] }
  | { readonly status: 'suggested'; readonly reasons: readonly string[]; readonly policyIds: readonly string[] }
  | { readonly status: 'refused'; readonly reason: string }
  | { readonly status: 'error'; readonly reason: string };

/** Turns the facts of a refusal into the value every decision point returns. Pure. */
export function refusal(f: RefusalFacts): Refusal {
  switch (f.status) {
    case 'denied': {
      const policies = f.policyIds.length > 0 ? ` (policies: ${f.policyIds.join(', ')})` : '';
      return { ok: false, status: 'denied', message: `denied by Airlock: ${f.reasons.join('; ')}${policies}`, reasons: [...f.reasons], policyIds: [...f.policyIds] };
    }
    case 'invalid':
      return {
        ok: false,
        status: 'invalid',
        message: `invalid arguments: ${f.reasons.join('; ')}; fix them and call again`,
        reasons: [...f.reasons],
      };
    case 'pending': {
      const why = f.reasons.length > 0 ? ` (${f.reasons.join('; ')})` : '';
      return {
        ok: false,
        status: 'pending',
        message: `approval required (${f.level}): approval ${f.approvalId}; call again with the same arguments once approved and it runs once${why}`,
        reasons: [...f.reasons],
        approvalId: f.approvalId,
      };
    }
    case 'suggested':
      return {
        ok: false,
        status: 'suggested',
        message: 'recorded as a suggestion for a person; not executed at this autonomy tier',
        reasons: [...f.reasons],
        policyIds: [...f.policyIds],
      };
    case 'refused':
      return { ok: false, status: 'refused', message: `refused by Airlock: ${f.reason}` };
    case 'error':
      return { ok: false, status: 'error', message: `Airlock could not decide, so nothing was executed: ${f.reason}` };
  }
}

/** Why `args` cannot be proposed at all (not a plain object), or null. Checked the same way by both implementations. */
export function argsShapeProblem(args: unknown): string | null {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    return `arguments must be a JSON object, got ${args === null ? 'null' : Array.isArray(args) ? 'an array' : `a ${typeof args}`}`;
  }
  return null;
}

/** The most a reported result may be when serialised; a larger one is reported by size only. */
export const MAX_REPORTED_RESULT_BYTES = 256 * 1024;

/**
 * A tool's return value as the JSON the audit trail stores: itself when it is JSON and not too
 * large, a note of its size when too large, and nothing when it cannot be serialised.
 */
export function reportableResult(value: unknown): { readonly result?: unknown } {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return {};
  }
  if (text === undefined) return {};
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_REPORTED_RESULT_BYTES) return { result: { omitted: 'result too large to report', bytes } };
  return { result: JSON.parse(text) as unknown };
}

/** A thrown value as one line of text. */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 2000 ? `${text.slice(0, 1997)}...` : text;
}
