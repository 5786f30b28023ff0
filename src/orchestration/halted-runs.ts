// The runs a halt held, once it is lifted: Airlock's own runs that stopped at a step because their scope
// was halted wait (`awaiting-approval`, holding the halt's id) until someone drives them again; whoever
// lifts the halt does (`airlock resume`). An external agent's run is never held: its agent hears each
// refusal and calls again after. Approvals wait on their own: they are decided, then used, as ever.
import { AirlockError } from '../errors.js';
import type { RunRecord, Store } from '../store/store.js';
import type { RunId, RunStatus } from '../types.js';
import { runStateOf } from './run-state.js';

/** What became of one held run when it was driven again. */
export type HeldRunFate =
  | { readonly runId: RunId; readonly status: RunStatus }
  /** It could not go on (its workflow or model is gone, say): where it stands, and why. */
  | { readonly runId: RunId; readonly status: RunStatus | 'unknown'; readonly error: string };

/** How many waiting runs are read at a time. */
const PAGE = 500;

/** Airlock's own runs held by halt `haltId` (stopped at a step by it), oldest first. */
export async function runsHeldBy(store: Pick<Store, 'listRuns'>, haltId: string): Promise<RunRecord[]> {
  const held: RunRecord[] = [];
  for (let after: { createdAt: string; id: string } | undefined; ; ) {
    const page = await store.listRuns({ status: 'awaiting-approval', limit: PAGE, ...(after ? { after } : {}) });
    for (const run of page) {
      const state = runStateOf(run);
      if (state.driver === 'model' && state.halt?.id === haltId) held.push(run);
    }
    const last = page.at(-1);
    if (page.length < PAGE || !last) return held.reverse();
    after = { createdAt: last.createdAt, id: last.id };
  }
}

/**
 * Drives each run `haltId` held on (`resume`: the runner's), one after another: each goes on from its
 * step, or stays held when another halt still covers it. Never throws for a run that cannot go on.
 */
export async function continueHeld(deps: { readonly store: Pick<Store, 'listRuns' | 'getRun'>; readonly resume: (runId: RunId) => Promise<RunRecord> }, haltId: string): Promise<HeldRunFate[]> {
  const fates: HeldRunFate[] = [];
  for (const run of await runsHeldBy(deps.store, haltId)) {
    try {
      fates.push({ runId: run.id, status: (await deps.resume(run.id)).status });
    } catch (err) {
      if (!(err instanceof AirlockError)) throw err;
      fates.push({ runId: run.id, status: (await deps.store.getRun(run.id))?.status ?? 'unknown', error: err.message });
    }
  }
  return fates;
}
