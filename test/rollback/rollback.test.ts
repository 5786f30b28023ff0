// Rollback on the real demo: the completed refund-desk run is undone in reverse order through the gateway
// (four eyes on the reversed refund), ground truth is the seed again; a failing compensation is reported,
// opens an incident, and a re-run after the fix continues without repeating an undo.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { rollbackMeta, rollbackRun, rollbackRunId, type RollbackReport } from '../../src/orchestration/rollback.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import { verifyStore } from '../../src/audit/log.js';
import { AirlockError } from '../../src/errors.js';
import type { AcmeSnapshot } from '../../src/demo/acme/db.js';
import type { AuditRecord, RunRecord } from '../../src/store/store.js';
import type { ApprovalId, RunId } from '../../src/types.js';
import { copyAcme, groundTruth } from '../helpers/workspace.js';

/** Runs the demo (ticket T-311) to the end: dana approves the refund, the run resumes and ends verified. */
async function completedDemoRun(a: Airlock): Promise<RunRecord> {
  const started = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
  expect(started.status).toBe('awaiting-approval');
  const approvalId = (started.state as unknown as RunState).pending!.approvalId;
  const v = await vote(a.approvalDeps, approvalId, localApprover(a.principal('user:dana')), 'approve', 'matches the ticket');
  expect(v.kind).toBe('recorded');
  const run = await a.runner.resume(started.id);
  expect(run.status).toBe('verified');
  return run;
}

const outcomes = (r: RollbackReport) => r.steps.map((s) => [s.tool, s.outcome]);

/** Every audit record of every rollback run of `runId`. */
async function rollbackRecords(a: Airlock, runId: RunId): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (let n = 1; (await a.store.getRun(rollbackRunId(runId, n))) !== null; n++) out.push(...(await a.store.readAuditForRun(rollbackRunId(runId, n))));
  return out;
}

/** How many times each compensation tool executed, over all rollback attempts. */
function executions(records: readonly AuditRecord[]): Record<string, number> {
  const n: Record<string, number> = {};
  for (const r of records) if (r.type === 'action.executed' && r.body['outcome'] === 'ok') n[String(r.body['tool'])] = (n[String(r.body['tool'])] ?? 0) + 1;
  return n;
}

/**
 * Ground truth after a rollback of the demo run, compared with the seed. The business state is the
 * seed again; three tables keep an honest trace of what happened, and nothing else differs:
 * - `refunds`: the payment system keeps the refund it reversed (a payment record is never deleted):
 *   the new row has status `reversed` and `reversed_at` set, so nothing counts as refunded on 1182.
 * - `drafts`: the mail system keeps the draft it discarded, with status `discarded` and `discarded_at`.
 * - `counters`: ids are never reused, so the refund, draft and comment counters moved on by one.
 * Besides, `idempotency` (not business data) remembers the keyed writes of the run and of its rollback,
 * so that a retry of one of them returns its first result instead of repeating it.
 */
function expectSeedRestored(g: AcmeSnapshot, seed: AcmeSnapshot): void {
  for (const t of ['customers', 'orders', 'order_items', 'sent_mail', 'tickets', 'ticket_comments', 'documents'] as const) {
    expect(g[t], `table ${t}`).toEqual(seed[t]);
  }
  const keyed = new Set(seed.idempotency.map((r) => `${String(r['tool'])} ${String(r['key'])}`));
  expect(g.idempotency.filter((r) => keyed.has(`${String(r['tool'])} ${String(r['key'])}`))).toEqual(seed.idempotency);
  const writes = ['payments.refund', 'mail.draft', 'tickets.comment', 'tickets.set_status', 'payments.reverse_refund', 'mail.discard_draft', 'tickets.delete_comment'];
  for (const r of g.idempotency.filter((x) => !keyed.has(`${String(x['tool'])} ${String(x['key'])}`))) expect(writes).toContain(r['tool']);
  const seedIds = (rows: readonly Record<string, unknown>[]) => new Set(rows.map((r) => r['id']));
  const refundIds = seedIds(seed.refunds);
  expect(g.refunds.filter((r) => refundIds.has(r['id']))).toEqual(seed.refunds);
  expect(g.refunds.filter((r) => !refundIds.has(r['id']))).toEqual([
    {
      id: 'RF-1001',
      order_id: '1182',
      amount_cents: 4000,
      currency: 'EUR',
      reason: expect.any(String),
      status: 'reversed',
      created_at: expect.any(String),
      reversed_at: expect.any(String),
    },
  ]);
  expect(g.refunds.filter((r) => r['order_id'] === '1182' && r['status'] === 'completed')).toEqual(seed.refunds.filter((r) => r['order_id'] === '1182' && r['status'] === 'completed'));
  const draftIds = seedIds(seed.drafts);
  expect(g.drafts.filter((r) => draftIds.has(r['id']))).toEqual(seed.drafts);
  expect(g.drafts.filter((r) => !draftIds.has(r['id']))).toEqual([
    {
      id: 'DR-1001',
      to_address: 'lena.park@example.net',
      subject: expect.any(String),
      body: expect.any(String),
      status: 'discarded',
      created_at: expect.any(String),
      discarded_at: expect.any(String),
    },
  ]);
  const moved = new Set(['refund', 'draft', 'comment']);
  expect(g.counters).toEqual(seed.counters.map((c) => (moved.has(String(c['name'])) ? { ...c, next: Number(c['next']) + 1 } : c)));
}

describe('rollback of a completed demo run', { timeout: 180_000 }, () => {
  let ws: ReturnType<typeof copyAcme>;
  beforeEach(() => {
    ws = copyAcme();
  });
  afterEach(() => ws.cleanup());

  it('undoes every effect in reverse order, four eyes on the reversed refund, and restores the seed state', async () => {
    const seed = groundTruth(ws.acmeDb);
    const a = await openAirlock(ws.dir);
    try {
      const run = await completedDemoRun(a);
      const done = groundTruth(ws.acmeDb);
      expect(done.tickets.find((t) => t['id'] === 'T-311')?.['status']).toBe('resolved');
      expect(done.ticket_comments).toHaveLength(seed.ticket_comments.length + 1);

      const dana = a.principal('user:dana');
      const first = await rollbackRun(a, run.id, dana);
      // Reverse order; mail.send was denied in the run, so it is no effect; reads are no effects either.
      expect(outcomes(first)).toEqual([
        ['tickets.set_status', 'undone'],
        ['tickets.comment', 'undone'],
        ['mail.draft', 'undone'],
        ['payments.refund', 'pending-approval'],
      ]);
      expect(first.status).toBe('awaiting-approval');
      expect(first.rollbackRunId).toBe(rollbackRunId(run.id, 1));
      expect(first.steps[3]?.compensation).toEqual({ tool: 'payments.reverse_refund', args: { refund_id: 'RF-1001' } });
      expect(first.steps[0]?.compensation).toEqual({ tool: 'tickets.set_status', args: { ticket_id: 'T-311', status: 'open' } });

      // The reversal waits for a person; the agent asked for it on dana's behalf, so dana cannot approve it.
      const approvalId = first.steps[3]!.approvalId as ApprovalId;
      const approval = await a.store.getApproval(approvalId);
      expect(approval).toMatchObject({ tool: 'payments.reverse_refund', requester: 'agent:refund-bot', runId: first.rollbackRunId, status: 'pending' });
      const self = await vote(a.approvalDeps, approvalId, localApprover(dana), 'approve', 'undo my run');
      expect(self.kind).toBe('refused');
      expect(self.kind === 'refused' && self.reason).toMatch(/user:dana/);
      // A re-run before anyone decided changes nothing: the same approval is still waited for.
      const waiting = await rollbackRun(a, run.id, dana);
      expect(waiting.status).toBe('awaiting-approval');
      expect(waiting.steps[3]?.approvalId).toBe(approvalId);
      expect(outcomes(waiting).slice(0, 3).map(([, o]) => o)).toEqual(['already-undone', 'already-undone', 'already-undone']);

      const priya = await vote(a.approvalDeps, approvalId, localApprover(a.principal('user:priya')), 'approve', 'the run is rolled back: reverse its refund');
      expect(priya.kind === 'recorded' && priya.decided).toBe(true);

      const second = await rollbackRun(a, run.id, dana);
      expect(second.status).toBe('completed');
      expect(second.rollbackRunId).toBe(first.rollbackRunId); // the same rollback run: the approval binds to its action hash
      expect(outcomes(second)).toEqual([
        ['tickets.set_status', 'already-undone'],
        ['tickets.comment', 'already-undone'],
        ['mail.draft', 'already-undone'],
        ['payments.refund', 'undone'],
      ]);
      expect(second.steps[3]?.approvalId).toBe(approvalId);
      expect((await a.store.getApproval(approvalId))?.status).toBe('consumed');

      expectSeedRestored(groundTruth(ws.acmeDb), seed);

      // Each compensation executed exactly once, in reverse order, in the rollback run's own trail.
      const records = await rollbackRecords(a, run.id);
      expect(records.filter((r) => r.type === 'action.executed' && r.body['outcome'] === 'ok').map((r) => r.body['tool'])).toEqual([
        'tickets.set_status',
        'tickets.delete_comment',
        'mail.discard_draft',
        'payments.reverse_refund',
      ]);
      expect(records.filter((r) => r.type === 'action.intent').every((r) => r.principal === 'agent:refund-bot' && r.onBehalfOf === 'user:dana')).toBe(true);
      const rb = await a.store.getRun(first.rollbackRunId);
      expect(rb?.status).toBe('completed');
      expect(rollbackMeta(rb!)).toMatchObject({ of: run.id, attempt: 1, requestedBy: 'user:dana', lease: null });
      // The original run's trail says what happened to it, attempt by attempt.
      const original = await a.store.readAuditForRun(run.id);
      expect(original.filter((r) => r.type === 'rollback.finished').map((r) => r.body['status'])).toEqual(['awaiting-approval', 'awaiting-approval', 'completed']);
      expect(original.filter((r) => r.type === 'rollback.step').map((r) => [r.body['tool'], r.body['outcome']])).toEqual([
        ['tickets.set_status', 'undone'],
        ['tickets.comment', 'undone'],
        ['mail.draft', 'undone'],
        ['payments.refund', 'pending-approval'],
        ['payments.refund', 'pending-approval'],
        ['payments.refund', 'undone'],
      ]);
      // The demo run read the partner FAQ's planted instruction: that is a security incident, and the rollback opens none.
      expect((await a.store.listIncidents({ runId: run.id })).map((i) => i.kind)).toEqual(['injection-suspected']);

      // Re-running a finished rollback is a no-op: nothing proposed, nothing written.
      const head = await a.store.auditHead();
      const again = await rollbackRun(a, run.id, a.principal('user:sam'));
      expect(again).toMatchObject({ status: 'completed', noop: true, rollbackRunId: first.rollbackRunId });
      expect(outcomes(again).map(([, o]) => o)).toEqual(['already-undone', 'already-undone', 'already-undone', 'already-undone']);
      expect(await a.store.auditHead()).toEqual(head);

      // A rollback run's state keeps the runner and external agents away from it.
      const resumed = await a.runner.resume(first.rollbackRunId);
      expect(resumed.version).toBe(rb!.version);
      expect(await verifyStore(a.store)).toMatchObject({ ok: true });
    } finally {
      await a.close();
    }
  });

  it('reports a failing compensation, opens one incident, and continues after the fix without repeating an undo', async () => {
    const yaml = path.join(ws.dir, 'airlock.yaml');
    const clean = readFileSync(yaml, 'utf8');
    const mailArgs = 'args: ["${airlock}/dist/src/demo/acme/server.js", "mail", "--db", "${workspace}/.airlock/acme.db"]';
    expect(clean.split(mailArgs)).toHaveLength(2);
    // The mail server crashes whenever discard_draft is called (drafting works): the forward run is unaffected.
    writeFileSync(yaml, clean.replace(mailArgs, `${mailArgs}\n    env: { ACME_FAULT: "mail.discard_draft:crash" }`));
    const seed = groundTruth(ws.acmeDb);
    let runId: RunId;
    let incidentId: string;
    let a = await openAirlock(ws.dir);
    try {
      const run = await completedDemoRun(a);
      runId = run.id;
      const failed = await rollbackRun(a, runId, a.principal('user:dana'));
      expect(failed.status).toBe('failed');
      expect(outcomes(failed)).toEqual([
        ['tickets.set_status', 'undone'],
        ['tickets.comment', 'undone'],
        ['mail.draft', 'failed'],
        ['payments.refund', 'not-attempted'],
      ]);
      expect(failed.steps[2]?.detail).toMatch(/mail\.discard_draft .*failed \(crash\)/);
      expect(failed.incidentId).not.toBeNull();
      incidentId = failed.incidentId!;
      const incident = await a.store.getIncident(incidentId);
      expect(incident).toMatchObject({
        runId,
        kind: 'rollback-failed',
        status: 'open',
        boundary: 'platform',
        owner: 'ops-team@acme.example',
        evidence: { rollbackRunId: failed.rollbackRunId, tool: 'mail.draft', outcome: 'failed' },
      });
      expect((await a.store.getRun(failed.rollbackRunId))?.status).toBe('failed');

      // Still broken: a re-run fails at the same step, in a new rollback run, and opens no second incident.
      const again = await rollbackRun(a, runId, a.principal('user:dana'));
      expect(outcomes(again).map(([, o]) => o)).toEqual(['already-undone', 'already-undone', 'failed', 'not-attempted']);
      expect(again.rollbackRunId).toBe(rollbackRunId(runId, 2));
      expect(again.incidentId).toBe(incidentId);
      expect((await a.store.listIncidents({ runId })).filter((i) => i.kind === 'rollback-failed')).toHaveLength(1);
      const original = await a.store.readAuditForRun(runId);
      expect(original.filter((r) => r.type === 'incident.opened' && r.body['kind'] === 'rollback-failed')).toHaveLength(1);
    } finally {
      await a.close();
    }

    // The platform team fixes the mail server; the same person re-runs the rollback.
    writeFileSync(yaml, clean);
    a = await openAirlock(ws.dir);
    try {
      const dana = a.principal('user:dana');
      const resumed = await rollbackRun(a, runId, dana);
      expect(outcomes(resumed)).toEqual([
        ['tickets.set_status', 'already-undone'],
        ['tickets.comment', 'already-undone'],
        ['mail.draft', 'undone'],
        ['payments.refund', 'pending-approval'],
      ]);
      expect(resumed.rollbackRunId).toBe(rollbackRunId(runId, 3));
      const approvalId = resumed.steps[3]!.approvalId as ApprovalId;
      expect((await vote(a.approvalDeps, approvalId, localApprover(a.principal('user:priya')), 'approve', 'reverse it')).kind).toBe('recorded');
      const finished = await rollbackRun(a, runId, dana);
      expect(finished.status).toBe('completed');
      expect(finished.rollbackRunId).toBe(resumed.rollbackRunId);

      // Nothing was undone twice over the four attempts.
      expect(executions(await rollbackRecords(a, runId))).toEqual({
        'tickets.set_status': 1,
        'tickets.delete_comment': 1,
        'mail.discard_draft': 1,
        'payments.reverse_refund': 1,
      });
      expectSeedRestored(groundTruth(ws.acmeDb), seed);
      // The incident stays open until a person resolves it.
      expect((await a.store.getIncident(incidentId))?.status).toBe('open');
    } finally {
      await a.close();
    }
  });

  it('takes requests from declared people only, for runs that have ended', async () => {
    const a = await openAirlock(ws.dir);
    try {
      const started = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
      const refusal = async (p: Promise<unknown>): Promise<AirlockError> => {
        const e = await p.then(
          () => null,
          (err: unknown) => err,
        );
        expect(e).toBeInstanceOf(AirlockError);
        return e as AirlockError;
      };
      // Still waiting for its refund approval: cancel it first.
      expect((await refusal(rollbackRun(a, started.id, a.principal('user:dana')))).message).toMatch(/awaiting-approval; only a run that has ended/);
      await a.runner.cancel(started.id, 'user:dana', 'wrong ticket');
      expect((await refusal(rollbackRun(a, started.id, a.principal('agent:refund-bot')))).message).toMatch(/not a person/);
      expect((await refusal(rollbackRun(a, started.id, a.principal('service:ops-service')))).message).toMatch(/not a person/);
      const mallory = await refusal(rollbackRun(a, started.id, { kind: 'user', id: 'mallory', roles: ['finance-approver'] }));
      expect(mallory.message).toMatch(/not declared/);
      expect(mallory.code).toBe('input');
      expect((await refusal(rollbackRun(a, 'run_nope' as RunId, a.principal('user:dana')))).code).toBe('not-found');
      expect(await a.store.getRun(rollbackRunId(started.id, 1))).toBeNull();

      // A cancelled run with no effects rolls back to nothing; its rollback run cannot itself be rolled back.
      const nothing = await rollbackRun(a, started.id, a.principal('user:dana'));
      expect(nothing).toMatchObject({ status: 'completed', steps: [], noop: false });
      expect((await refusal(rollbackRun(a, nothing.rollbackRunId, a.principal('user:dana')))).message).toMatch(/is a rollback of run/);
    } finally {
      await a.close();
    }
  });
});
