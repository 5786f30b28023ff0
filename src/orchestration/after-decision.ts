// What becomes of a run once people decided its approval (a vote, an edit, an expiry): the one place
// that says so, for the CLI, the HTTP API and the deadline sweep alike. Airlock's own run continues at
// once; an external agent's run hears it on its next call; a rollback run continues with `rollback`.
import { AirlockError } from '../errors.js';
import type { ApprovalRecord, RunRecord, Store } from '../store/store.js';
import type { RunId, RunStatus } from '../types.js';
import { rollbackMeta } from './rollback.js';
import { runStateOf } from './run-state.js';

/** Where a run stands after a decision on one of its approvals. */
export type RunFate =
  /** Airlock's own run continued from the decision (and may have finished). */
  | { readonly kind: 'resumed'; readonly runId: RunId; readonly run: RunRecord }
  /** Airlock's own run could not continue (its workflow or model is gone, say). */
  | { readonly kind: 'resume-failed'; readonly runId: RunId; readonly status: RunStatus | 'unknown'; readonly error: string }
  /** An external agent drives it: the approved action executes once when the agent calls it again. */
  | { readonly kind: 'external'; readonly runId: RunId; readonly status: RunStatus }
  /** A rollback run: the person who asked for the rollback continues it. */
  | { readonly kind: 'rollback'; readonly runId: RunId; readonly status: RunStatus; readonly rollbackOf: string }
  /** Not decided yet (a step-up needs another vote), or the run is not waiting on it any more. */
  | { readonly kind: 'waiting'; readonly runId: RunId; readonly status: RunStatus | 'unknown' };

/** What continuing a run needs: the store, and the runner's `resume`. */
export interface AfterDecisionDeps {
  readonly store: Store;
  readonly resume: (runId: RunId) => Promise<RunRecord>;
}

/**
 * Moves the run of `approval` on after a decision (`decided`: the approval is approved, rejected,
 * edited or expired; false for a vote that leaves it pending). Never throws for a run that cannot
 * continue: that is `resume-failed`, with the reason.
 */
export async function afterDecision(deps: AfterDecisionDeps, approval: Pick<ApprovalRecord, 'runId'>, decided: boolean): Promise<RunFate> {
  const runId = approval.runId;
  const run = await deps.store.getRun(runId);
  if (!run) return { kind: 'waiting', runId, status: 'unknown' };
  if (!decided) return { kind: 'waiting', runId, status: run.status };
  const state = runStateOf(run);
  const rollback = rollbackMeta(run);
  if (rollback) return { kind: 'rollback', runId, status: run.status, rollbackOf: rollback.of };
  if (state.door) return { kind: 'external', runId, status: run.status };
  // Airlock's own run: `resume` continues it from whatever it waits on (nothing, if it already ended).
  try {
    return { kind: 'resumed', runId, run: await deps.resume(runId) };
  } catch (err) {
    if (!(err instanceof AirlockError)) throw err;
    return { kind: 'resume-failed', runId, status: (await deps.store.getRun(runId))?.status ?? 'unknown', error: err.message };
  }
}
