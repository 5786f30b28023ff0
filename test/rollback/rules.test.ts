// Rollback rules on scripted runs: irreversible effects are reported and passed, an unresolved or rejected
// compensation stops the rollback (and opens one incident), a process that died mid-compensation is
// picked up without repeating the undo, and two rollbacks of one run never run at once.
import { afterEach, describe, expect, it } from 'vitest';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { ROLLBACK_LEASE_MS, rollbackRun, rollbackRunId, type RollbackDeps, type RollbackReport } from '../../src/orchestration/rollback.js';
import { AirlockError } from '../../src/errors.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { ApprovalId, RunId } from '../../src/types.js';
import { editFile, openHostile, recordsOf, refund, stateOf, type Hostile } from '../security/harness.js';

const outcomes = (r: RollbackReport) => r.steps.map((s) => [s.tool, s.outcome]);

let h: Hostile | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** How many times `tool` executed in the rollback runs of `runId`. */
async function executedIn(hh: Hostile, runId: RunId, tool: string): Promise<number> {
  let n = 0;
  for (let i = 1; (await hh.a.store.getRun(rollbackRunId(runId, i))) !== null; i++) {
    n += recordsOf(await hh.audit(rollbackRunId(runId, i)), 'action.executed', tool).filter((r) => r.body['outcome'] === 'ok').length;
  }
  return n;
}

describe('rollback rules', () => {
  it('reports an irreversible effect and goes on past it, in strict reverse order', async () => {
    h = await openHostile();
    const seed = h.ground();
    const run = await h.run([
      { tool: 'tickets.comment', args: { ticket_id: 'T-311', body: 'looking into it' } },
      { tool: 'tickets.delete_comment', args: { ticket_id: 'T-305', comment_id: 'CM-0701' } },
      { tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' } },
      { tool: 'tickets.set_status', args: { ticket_id: 'T-311', status: 'pending' } },
    ]);
    const report = await rollbackRun(h.a, run.id, h.a.principal('user:sam'));
    expect(report.status).toBe('completed');
    expect(outcomes(report)).toEqual([
      ['tickets.set_status', 'undone'],
      ['tickets.delete_comment', 'irreversible'],
      ['tickets.comment', 'undone'],
    ]);
    expect(report.steps[1]?.detail).toMatch(/irreversible: nothing can undo it/);
    const g = h.ground();
    expect(g.tickets).toEqual(seed.tickets);
    // The deleted seed comment stays deleted (irreversible); the run's own comment is gone.
    expect(g.ticket_comments).toEqual(seed.ticket_comments.filter((c) => c['id'] !== 'CM-0701'));
    expect(recordsOf(await h.audit(report.rollbackRunId), 'action.executed').map((r) => r.body['tool'])).toEqual(['tickets.set_status', 'tickets.delete_comment']);
  });

  it('stops at a compensation whose arguments the result did not carry, and opens one incident for it', async () => {
    h = await openHostile((dir) => editFile(dir, 'airlock.yaml', 'status: "$result.previous_status"', 'status: "$result.status_before"'));
    const run = await h.run([
      { tool: 'tickets.comment', args: { ticket_id: 'T-311', body: 'looking into it' } },
      { tool: 'tickets.set_status', args: { ticket_id: 'T-311', status: 'pending' } },
    ]);
    const dana = h.a.principal('user:dana');
    const first = await rollbackRun(h.a, run.id, dana);
    expect(first.status).toBe('failed');
    expect(outcomes(first)).toEqual([
      ['tickets.set_status', 'failed'],
      ['tickets.comment', 'not-attempted'],
    ]);
    expect(first.steps[0]?.detail).toMatch(/needs \$result\.status_before/);
    expect(first.steps[1]?.detail).toMatch(/waits for step 1/);
    const incident = await h.a.store.getIncident(first.incidentId!);
    expect(incident).toMatchObject({ kind: 'rollback-failed', runId: run.id, owner: 'ops-team@acme.example', key: `effect-${first.steps[0]!.effectSeq}` });
    // Nothing was proposed: the comment stays until a person handles the ticket status by hand.
    expect(recordsOf(await h.audit(first.rollbackRunId), 'action.intent')).toEqual([]);
    const second = await rollbackRun(h.a, run.id, dana);
    expect(second.incidentId).toBe(first.incidentId);
    expect((await h.a.store.listIncidents()).filter((i) => i.kind === 'rollback-failed')).toHaveLength(1);
  });

  it('a rejected compensation stops the rollback; a re-run asks again in a new rollback run', async () => {
    h = await openHostile();
    const started = await h.run([refund()]);
    const refundApproval = stateOf(started).pending!.approvalId;
    expect((await vote(h.a.approvalDeps, refundApproval, localApprover(h.a.principal('user:dana')), 'approve', 'ok')).kind).toBe('recorded');
    const run = await h.a.runner.resume(started.id);
    expect(h.ground().refunds.find((r) => r['order_id'] === '1182')?.['status']).toBe('completed');

    const sam = h.a.principal('user:sam');
    const asked = await rollbackRun(h.a, run.id, sam);
    const approvalId = asked.steps[0]!.approvalId as ApprovalId;
    expect(asked.status).toBe('awaiting-approval');
    // sam is a support lead, not a finance approver: requesting a rollback gives no power over the refund.
    expect((await vote(h.a.approvalDeps, approvalId, localApprover(sam), 'approve', 'undo')).kind).toBe('refused');
    expect((await vote(h.a.approvalDeps, approvalId, localApprover(h.a.principal('user:priya')), 'reject', 'the customer keeps the refund')).kind).toBe('recorded');

    const rejected = await rollbackRun(h.a, run.id, sam);
    expect(outcomes(rejected)).toEqual([['payments.refund', 'denied']]);
    expect(rejected.steps[0]?.detail).toMatch(/rejected by `user:priya`: the customer keeps the refund/);
    expect(rejected.status).toBe('failed');
    expect(rejected.incidentId).not.toBeNull();
    expect(h.ground().refunds.find((r) => r['order_id'] === '1182')?.['status']).toBe('completed');

    const again = await rollbackRun(h.a, run.id, sam);
    expect(again.rollbackRunId).toBe(rollbackRunId(run.id, 2));
    expect(again.status).toBe('awaiting-approval');
    expect(again.steps[0]?.approvalId).not.toBe(approvalId);
  });

  it('picks up after a process died between a compensation and its record, without undoing twice', async () => {
    h = await openHostile();
    const hh = h;
    const run = await hh.run([
      { tool: 'mail.draft', args: { to: 'lena.park@example.net', subject: 'your refund', body: 'hello' } },
      { tool: 'tickets.set_status', args: { ticket_id: 'T-311', status: 'resolved' } },
    ]);
    // The "process" dies right after the gateway executed the discard, before the rollback recorded it:
    // its rollback never goes on (a promise that never settles).
    let died!: () => void;
    const dead = new Promise<void>((resolve) => (died = resolve));
    const dying: Pick<Gateway, 'propose'> = {
      propose: async (ctx, p) => {
        const out = await hh.a.gateway.propose(ctx, p);
        if (p.tool !== 'mail.discard_draft') return out;
        died();
        return new Promise<never>(() => undefined);
      },
    };
    const deps: RollbackDeps = { ...hh.a, gateway: dying };
    const dana = hh.a.principal('user:dana');
    void rollbackRun(deps, run.id, dana);
    await dead;
    expect((await hh.a.store.getRun(rollbackRunId(run.id, 1)))?.status).toBe('running');

    // Its lease still holds: nobody else works on that rollback meanwhile.
    const busy = await rollbackRun(hh.a, run.id, dana).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(AirlockError);
    expect((busy as AirlockError).code).toBe('conflict');

    hh.advance(ROLLBACK_LEASE_MS + 1000);
    const report = await rollbackRun(hh.a, run.id, dana);
    expect(report.rollbackRunId).toBe(rollbackRunId(run.id, 1));
    expect(outcomes(report)).toEqual([
      ['tickets.set_status', 'already-undone'],
      ['mail.draft', 'already-undone'],
    ]);
    expect(report.status).toBe('completed');
    expect(await executedIn(hh, run.id, 'mail.discard_draft')).toBe(1);
    expect(hh.ground().drafts.map((d) => d['status'])).toEqual(['discarded']);
  });

  it('a rollback that fails under an infrastructure error can be re-run at once', async () => {
    h = await openHostile();
    const hh = h;
    const run = await hh.run([{ tool: 'tickets.set_status', args: { ticket_id: 'T-311', status: 'resolved' } }]);
    const broken: Pick<Gateway, 'propose'> = {
      propose: () => Promise.reject(new AirlockError('store-locked', 'store is locked by another process', { retryable: true })),
    };
    const dana = hh.a.principal('user:dana');
    await expect(rollbackRun({ ...hh.a, gateway: broken }, run.id, dana)).rejects.toMatchObject({ code: 'store-locked' });
    const report = await rollbackRun(hh.a, run.id, dana);
    expect(report.rollbackRunId).toBe(rollbackRunId(run.id, 1));
    expect(outcomes(report)).toEqual([['tickets.set_status', 'undone']]);
  });

  it('two rollbacks of one run started at once: one works, the other is refused', async () => {
    h = await openHostile();
    const run = await h.run([
      { tool: 'tickets.comment', args: { ticket_id: 'T-311', body: 'one' } },
      { tool: 'tickets.comment', args: { ticket_id: 'T-311', body: 'two' } },
    ]);
    const seed = h.ground();
    const results = await Promise.allSettled([rollbackRun(h.a, run.id, h.a.principal('user:dana')), rollbackRun(h.a, run.id, h.a.principal('user:sam'))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(AirlockError);
    expect(refused?.status === 'rejected' && (refused.reason as AirlockError).code).toBe('conflict');
    expect(await executedIn(h, run.id, 'tickets.delete_comment')).toBe(2);
    expect(h.ground().ticket_comments).toHaveLength(seed.ticket_comments.length - 2);
  });
});
