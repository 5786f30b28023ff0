// What becomes of a run after a decision on its approval, decided in one place for the CLI, the API and the sweep.
import { describe, expect, it } from 'vitest';
import { afterDecision } from '../../src/orchestration/after-decision.js';
import { AirlockError } from '../../src/errors.js';
import type { RunRecord, Store } from '../../src/store/store.js';
import type { Json, RunId } from '../../src/types.js';
import { initialState } from '../../src/orchestration/run-machine.js';
import { INITIAL_LABELS } from '../../src/context/labels.js';

function storeWith(run: RunRecord | null): Pick<Store, 'getRun'> {
  return { getRun: () => Promise.resolve(run) };
}
let version = 0;
/** A stored run of `driver`, its state complete as run-state.ts parses it. */
const run = (driver: Record<string, Json>, status: RunRecord['status'] = 'awaiting-approval'): RunRecord => ({
  id: 'run_1' as RunId,
  workflow: 'w',
  status,
  version: ++version,
  createdAt: 't',
  updatedAt: 't',
  state: { ...(initialState('w', {}, 'a', null, INITIAL_LABELS) as unknown as Record<string, Json>), ...driver },
});

describe('afterDecision', () => {
  it("continues Airlock's own run at once, and says when it could not", async () => {
    const own = run({});
    const resumed: RunId[] = [];
    const woken: RunId[] = [];
    const wake = (id: RunId) => (woken.push(id), Promise.resolve());
    const fate = await afterDecision({ store: storeWith(own) as Store, wake, resume: (id) => (resumed.push(id), Promise.resolve({ run: { ...own, status: 'verified' as const }, here: true })) }, { runId: own.id }, true);
    expect(fate).toMatchObject({ kind: 'resumed', runId: 'run_1', run: { status: 'verified' } });
    expect(resumed).toEqual(['run_1']);
    // Due in the store's queue before it was continued: had this instance died, another would take it.
    expect(woken).toEqual(['run_1']);
    const failed = await afterDecision({ store: storeWith(own) as Store, resume: () => Promise.reject(new AirlockError('config', 'workflow `w` is no longer declared')) }, { runId: own.id }, true);
    expect(failed).toEqual({ kind: 'resume-failed', runId: 'run_1', status: 'awaiting-approval', error: 'workflow `w` is no longer declared' });
  });

  it('says so when another instance on the store drives the run now (it goes on there), and wakes only open runs of its own', async () => {
    const own = run({});
    const woken: RunId[] = [];
    const wake = (id: RunId) => (woken.push(id), Promise.resolve());
    const fate = await afterDecision({ store: storeWith(own) as Store, wake, resume: () => Promise.resolve({ run: own, here: false }) }, { runId: own.id }, true);
    expect(fate).toEqual({ kind: 'handed-off', runId: 'run_1', status: 'awaiting-approval' });
    expect(woken).toEqual(['run_1']);
    const ended = run({}, 'verified');
    await afterDecision({ store: storeWith(ended) as Store, wake, resume: () => Promise.resolve({ run: ended, here: true }) }, { runId: ended.id }, true);
    expect(woken).toEqual(['run_1']);
  });

  it("leaves an external agent's run to the agent, a rollback run to whoever rolls back, and an undecided vote waiting", async () => {
    const never = () => Promise.reject(new Error('must not resume'));
    expect(await afterDecision({ store: storeWith(run({ driver: 'agent', door: 'mcp-http' }, 'running')) as Store, resume: never }, { runId: 'run_1' as RunId }, true)).toEqual({ kind: 'external', runId: 'run_1', status: 'running' });
    const rb = run({ driver: 'rollback', door: 'rollback', rollback: { of: 'run_0', attempt: 1, requestedBy: 'user:dana', lease: null } }, 'awaiting-approval');
    expect(await afterDecision({ store: storeWith(rb) as Store, resume: never }, { runId: rb.id }, true)).toEqual({ kind: 'rollback', runId: 'run_1', status: 'awaiting-approval', rollbackOf: 'run_0' });
    expect(await afterDecision({ store: storeWith(run({})) as Store, resume: never }, { runId: 'run_1' as RunId }, false)).toEqual({ kind: 'waiting', runId: 'run_1', status: 'awaiting-approval' });
    expect(await afterDecision({ store: storeWith(null) as Store, resume: never }, { runId: 'run_1' as RunId }, true)).toEqual({ kind: 'waiting', runId: 'run_1', status: 'unknown' });
  });
});
