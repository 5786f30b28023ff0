// Airlock's own runs across instances on one store (#15): a run started on one instance goes on from another
// after its approval; while another live instance holds the run, a decision is handed off to it (never driven
// twice), and once that instance's lease expires, any instance takes the run from the store's queue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { localApprover } from '../../src/gateway/approvals/vote.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import { decideApproval } from '../../src/server/approval-decisions.js';
import { copyAcme } from '../helpers/workspace.js';

describe('runs across instances on one store', () => {
  let ws: ReturnType<typeof copyAcme>;
  let a: Airlock;
  let b: Airlock;

  beforeAll(async () => {
    ws = copyAcme();
    a = await openAirlock(ws.dir);
    b = await openAirlock(ws.dir);
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    ws?.cleanup();
  });

  it('hands a decision to the instance holding the run, and takes the run over once that lease expired', async () => {
    const started = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    expect(started.status).toBe('awaiting-approval');
    const approvalId = (started.state as unknown as RunState).pending?.approvalId;
    if (!approvalId) throw new Error('the demo run asked for no approval');

    // An instance on another host holds the run now (say it resumed it a moment ago), its lease live.
    const t = Date.now();
    const far = { id: 'ins_far', host: 'far-away-host', pid: 1, startedAt: new Date(t).toISOString() };
    await b.store.renewLease({ ...far, expiresAt: new Date(t + 60_000).toISOString() });
    expect(await b.store.claimRun(started.id, far.id, new Date(t).toISOString())).toBe(true);

    // Dana approves on instance b: b does not drive the run under the live holder; it says who goes on.
    const decided = await decideApproval(b, approvalId, localApprover(b.principal('user:dana')), 'approve', 'matches the ticket');
    expect(decided).toMatchObject({ kind: 'voted', decided: true, fate: { kind: 'handed-off', status: 'awaiting-approval' } });
    expect((await b.runner.driveDue()).driven).toEqual([]);
    expect((await a.store.getRun(started.id))?.status).toBe('awaiting-approval');

    // The holder's lease runs out without a renewal: the decision it was woken for is still in the queue, and b takes it.
    await b.store.renewLease({ ...far, expiresAt: new Date(t - 1).toISOString() });
    const due = await b.runner.driveDue();
    expect(due).toEqual({ driven: [started.id], failed: [] });
    const end = await a.store.getRun(started.id);
    expect(end?.status).toBe('verified');
    // Driven once: the refund executed once, and nothing is left in the queue.
    const executed = (await a.store.readAuditForRun(started.id)).filter((r) => r.type === 'action.executed' && r.body['tool'] === 'payments.refund');
    expect(executed).toHaveLength(1);
    expect((await a.runner.driveDue()).driven).toEqual([]);
  }, 60_000);

  it('drives a run again once its drive here ends when it was asked for meanwhile (a decision, or the queue handing it back)', async () => {
    const started = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    expect(started.status).toBe('awaiting-approval');
    const claims: string[] = [];
    const releases: string[] = [];
    const claimRun = a.store.claimRun.bind(a.store);
    const releaseRun = a.store.releaseRun.bind(a.store);
    a.store.claimRun = (...args) => (claims.push(args[0]), claimRun(...args));
    a.store.releaseRun = (...args) => releaseRun(...args).finally(() => releases.push(args[0]));
    try {
      // Asked twice at once: the second finds this instance driving it, so it is not driven twice at once...
      const [first, second] = await Promise.all([a.runner.resumeHere(started.id), a.runner.resumeHere(started.id)]);
      expect([first.here, second.here]).toEqual([true, false]);
      // ...and it is taken again once the first drive has let it go (and let go again), so the ask is not lost.
      for (let i = 0; i < 600 && releases.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect(claims).toEqual([started.id, started.id]);
      expect(releases).toEqual([started.id, started.id]);
    } finally {
      a.store.claimRun = claimRun;
      a.store.releaseRun = releaseRun;
    }
    expect((await a.store.getRun(started.id))?.status).toBe('awaiting-approval');
  }, 60_000);
});
