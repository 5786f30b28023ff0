// What becomes of a run once people decided its approval (a vote, an edit, an expiry): the one place
// that says so, for the CLI, the HTTP API and the deadline sweep alike. Airlock's own run continues at
// once, on the instance that heard the decision unless another drives it now (the store's queue of runs
// to drive hands it on, runner.ts); an external agent's run hears it on its next call; a rollback run
// continues with `rollback`.
import { AirlockError } from '../errors.js';
import type { ApprovalRecord, RunRecord, Store } from '../store/store.js';
import type { ApprovalId, RunId, RunStatus } from '../types.js';
import { TERMINAL_RUN_STATUSES } from '../types.js';
import type { Continued } from './runner.js';
import { rollbackMeta } from './rollback.js';
import { runStateOf } from './run-state.js';

/** Where a run stands after a decision on one of its approvals. */
export type RunFate =
  /** Airlock's own run continued from the decision (and may have finished). */
  | { readonly kind: 'resumed'; readonly runId: RunId; readonly run: RunRecord }
  /** Airlock's own run is driven by another instance on the store right now: that instance sees the decision, or takes the run again once done. */
  | { readonly kind: 'handed-off'; readonly runId: RunId; readonly status: RunStatus }
  /** Airlock's own run could not continue (its workflow or model is gone, say). */
  | { readonly kind: 'resume-failed'; readonly runId: RunId; readonly status: RunStatus | 'unknown'; readonly error: string }
  /** An external agent drives it: the approved action executes once when the agent calls it again. */
  | { readonly kind: 'external'; readonly runId: RunId; readonly status: RunStatus }
  /** A rollback run: the person who asked for the rollback continues it. */
  | { readonly kind: 'rollback'; readonly runId: RunId; readonly status: RunStatus; readonly rollbackOf: string }
  /** Not decided yet (a step-up needs another vote), or the run is not waiting on it any more. */
  | { readonly kind: 'waiting'; readonly runId: RunId; readonly status: RunStatus | 'unknown' };

/** What continuing a run needs: the store, and the runner's `resumeHere` (with `wake`, where instances share the store). */
export interface AfterDecisionDeps {
  readonly store: Store;
  /** Continues the run here, unless another instance drives it now (`here` false). */
  readonly resume: (runId: RunId) => Promise<Continued>;
  /** Marks the run due in the store's queue, so that any instance takes it should this one not go on (runner.ts `wake`). */
  readonly wake?: (runId: RunId) => Promise<void>;
}

/** Whether people deciding on `run` should wake it: Airlock's own run, not ended. */
function ownAndOpen(run: RunRecord): boolean {
  return !TERMINAL_RUN_STATUSES.includes(run.status) && runStateOf(run).driver === 'model';
}

/**
 * Marks the run of approval `approvalId` due before people's vote is counted (the API, the console,
 * Slack, links), so that a decision whose instance dies before it goes on still reaches the run: any
 * instance takes it from the store's queue. A vote that is refused or leaves it pending only makes an
 * instance look at the run once, and find it still waiting.
 */
export async function beforeDecision(deps: Pick<AfterDecisionDeps, 'store' | 'wake'>, approvalId: ApprovalId): Promise<void> {
  if (!deps.wake) return;
  const approval = await deps.store.getApproval(approvalId);
  const run = approval ? await deps.store.getRun(approval.runId) : null;
  if (run && ownAndOpen(run)) await deps.wake(run.id);
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
  // Airlock's own run: due in the store first (any instance takes it should this one fail or die), then
  // `resume` continues it here from whatever it waits on (nothing, if it already ended).
  try {
    if (deps.wake && ownAndOpen(run)) await deps.wake(runId);
    const continued = await deps.resume(runId);
    return continued.here ? { kind: 'resumed', runId, run: continued.run } : { kind: 'handed-off', runId, status: continued.run.status };
  } catch (err) {
    if (!(err instanceof AirlockError)) throw err;
    return { kind: 'resume-failed', runId, status: (await deps.store.getRun(runId))?.status ?? 'unknown', error: err.message };
  }
}
