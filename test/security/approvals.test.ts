// Invariant 4 against a hostile model and hostile callers: approvals bind to the exact action, run and
// requester, are single-use, expire, need distinct eligible people, and resolve races to one outcome.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import type { AcmeSnapshot } from '../../src/demo/acme/db.js';
import type { RunRecord } from '../../src/store/store.js';
import type { ApprovalId, JsonObject } from '../../src/types.js';
import type { GatewayOutcome, Proposal } from '../../src/gateway/types.js';
import { attacker } from './attacker.js';
import { expectChainIntact, openHostile, recordsOf, refund, results, stateOf, type Hostile } from './harness.js';

const HOUR = 60 * 60_000;

/** Ground truth, less the rows a refund is expected to add or bump (refunds, their id counter). */
function withoutRefunds(s: AcmeSnapshot): Partial<AcmeSnapshot> {
  const { refunds: _r, counters: _c, idempotency: _i, ...rest } = s;
  return rest;
}

/** Refunds in `after` that were not in `before`. */
function newRefunds(before: AcmeSnapshot, after: AcmeSnapshot): Record<string, unknown>[] {
  const seen = new Set(before.refunds.map((r) => r['id']));
  return after.refunds.filter((r) => !seen.has(r['id']));
}

describe('approvals under attack', () => {
  let h: Hostile;
  beforeAll(async () => {
    h = await openHostile();
  });
  afterAll(async () => {
    await h?.close();
  });

  const principal = (ref: string) => h.a.principal(ref);
  /** Each person votes with a login of their own (an API key), as four eyes require. */
  const ownLogin = (p: ReturnType<typeof principal>) => ({ principal: p, auth: { ...localApprover(p).auth, issuer: 'airlock', subject: `${p.kind}-${p.id}-key`, method: 'api-key' as const } });
  const castVote = (id: ApprovalId, who: string, decision: 'approve' | 'reject', reason: string | null = null) =>
    vote(h.a.approvalDeps, id, ownLogin(principal(who)), decision, reason ?? (decision === 'reject' ? 'not convinced' : null));

  /** Starts a run whose attacker proposes `args` as a refund, and returns it paused with its approval id. */
  async function pausedRefund(over: JsonObject, opts: { onBehalfOf?: string } = {}): Promise<{ run: RunRecord; approvalId: ApprovalId }> {
    const run = await h.run([refund(over)], opts);
    expect(run.status).toBe('awaiting-approval');
    return { run, approvalId: stateOf(run).pending!.approvalId };
  }

  describe('4. step-up needs two distinct eligible people', () => {
    it('counts neither the requester, a service, the on-behalf-of user, nor a second vote by the same person', async () => {
      const before = h.ground();
      const { run, approvalId } = await pausedRefund({ order_id: '1201', amount_cents: 6000 }, { onBehalfOf: 'user:sam' });
      expect(await h.a.store.getApproval(approvalId)).toMatchObject({ level: 'step-up', status: 'pending', requester: 'agent:refund-bot' });

      for (const who of ['agent:refund-bot', 'service:ops-service', 'user:sam']) {
        const res = await castVote(approvalId, who, 'approve');
        expect(res.kind, who).toBe('refused');
      }
      const first = await castVote(approvalId, 'user:dana', 'approve', 'matches the ticket');
      expect(first).toMatchObject({ kind: 'recorded', decided: false });
      const twice = await castVote(approvalId, 'user:dana', 'approve', 'really, approve');
      expect(twice.kind).toBe('refused');
      const again = await castVote(approvalId, 'user:dana', 'reject', 'changed my mind');
      expect(again.kind).toBe('refused');
      expect(await h.a.store.getApproval(approvalId)).toMatchObject({ status: 'pending', decisions: [{ approver: 'user:dana' }] });

      // Still paused: one approval of a step-up action executes nothing.
      const still = await h.a.runner.resume(run.id);
      expect(still.status).toBe('awaiting-approval');
      expect(h.ground()).toEqual(before);

      const records = await h.audit(run.id);
      const refused = recordsOf(records, 'approval.refused').map((r) => r.principal);
      expect(refused).toEqual(['agent:refund-bot', 'service:ops-service', 'user:sam', 'user:dana', 'user:dana']);

      const second = await castVote(approvalId, 'user:priya', 'approve', 'second pair of eyes');
      expect(second).toMatchObject({ kind: 'recorded', decided: true });
      const done = await h.a.runner.resume(run.id);
      expect(done.status).toBe('verified');
      const after = h.ground();
      expect(withoutRefunds(after)).toEqual(withoutRefunds(before));
      expect(newRefunds(before, after)).toEqual([expect.objectContaining({ order_id: '1201', amount_cents: 6000, status: 'completed' })]);
    });
  });

  describe('6. an approval binds to the exact action, run and requester', () => {
    let run: RunRecord;
    let approvalId: ApprovalId;
    let approved: Proposal;

    beforeAll(async () => {
      // The attacker proposes the refund, and once it has run, the very same refund again.
      run = await h.run(attacker(refund(), refund()));
      approvalId = stateOf(run).pending!.approvalId;
      approved = { tool: 'payments.refund', args: stateOf(run).pending!.args };
      expect((await castVote(approvalId, 'user:dana', 'approve', 'ok')).kind).toBe('recorded');
    });

    /** A direct call into the gateway (a second door, or a compromised runner) must be refused and execute nothing. */
    async function expectBindingRefused(outcome: Promise<GatewayOutcome>, runId: string, why: string, reason: RegExp): Promise<void> {
      const before = h.ground();
      const consumedBefore = recordsOf(await h.audit(runId), 'approval.consumed').length;
      const out = await outcome;
      if (out.kind !== 'denied') throw new Error(`expected a refusal, got ${out.kind}`);
      expect(out.reasons.join(' ')).toMatch(reason);
      expect(h.ground()).toEqual(before);
      const records = await h.audit(runId);
      const last = recordsOf(records, 'action.not-executed').at(-1);
      expect(last?.body).toMatchObject({ why });
      expect(recordsOf(records, 'approval.consumed')).toHaveLength(consumedBefore);
    }

    const changed: [string, (p: Proposal) => Proposal][] = [
      ['amount + 1 cent', (p) => ({ ...p, args: { ...p.args, amount_cents: 4001 } })],
      ['another order', (p) => ({ ...p, args: { ...p.args, order_id: '1163' } })],
      ['another currency', (p) => ({ ...p, args: { ...p.args, currency: 'USD' } })],
      ['another reason', (p) => ({ ...p, args: { ...p.args, reason: 'goodwill' } })],
      ['an added idempotency key', (p) => ({ ...p, args: { ...p.args, idempotency_key: 'k-1' } })],
      ['another financial tool', () => ({ tool: 'payments.reverse_refund', args: { refund_id: 'RF-1001' } })],
    ];
    it.each(changed)('refuses to execute with %s (approval-mismatch)', async (_n, change) => {
      await expectBindingRefused(h.a.gateway.executeApproved(h.ctx(run), change(approved), approvalId), run.id, 'approval-mismatch', /different action/);
    });

    it('refuses the same action from another run', async () => {
      const other = await h.run([]);
      await expectBindingRefused(h.a.gateway.executeApproved(h.ctx(other), approved, approvalId), other.id, 'approval-mismatch', /different action/);
    });

    it('refuses the same action for another requester', async () => {
      const ctx = { ...h.ctx(run), principal: principal('user:dana') };
      await expectBindingRefused(h.a.gateway.executeApproved(ctx, approved, approvalId), run.id, 'approval-mismatch', /different action/);
    });

    it('refuses an approval id that does not exist', async () => {
      await expectBindingRefused(
        h.a.gateway.executeApproved(h.ctx(run), approved, 'apr_000000000000' as ApprovalId),
        run.id,
        'approval-missing',
        /does not exist/,
      );
    });

    it('executes the exact approved action once, then refuses to execute it again (single use)', async () => {
      expect((await h.a.store.getApproval(approvalId))?.status).toBe('approved'); // the refusals above consumed nothing
      const before = h.ground();
      const resumed = await h.a.runner.resume(run.id);
      let after = h.ground();
      expect(newRefunds(before, after)).toEqual([expect.objectContaining({ order_id: '1182', amount_cents: 4000, status: 'completed' })]);
      expect(withoutRefunds(after)).toEqual(withoutRefunds(before));
      expect((await h.a.store.getApproval(approvalId))?.status).toBe('consumed');
      expect(results(resumed)[0]).toMatchObject({ status: 'ok' });

      // The identical proposal, made again, needs a new approval: the old one does not carry over.
      expect(resumed.status).toBe('awaiting-approval');
      expect(stateOf(resumed).pending!.approvalId).not.toBe(approvalId);

      await expectBindingRefused(h.a.gateway.executeApproved(h.ctx(resumed), approved, approvalId), run.id, 'approval-not-approved', /consumed/);
      after = h.ground();
      expect(newRefunds(before, after)).toHaveLength(1);
    });

    it('lets exactly one of two concurrent executions of one approval through', async () => {
      const before = h.ground();
      const { run: r, approvalId: id } = await pausedRefund({ order_id: '1163', amount_cents: 1000 });
      expect((await castVote(id, 'user:dana', 'approve', 'ok')).kind).toBe('recorded');
      const p: Proposal = { tool: 'payments.refund', args: stateOf(r).pending!.args };
      const outs = await Promise.all([h.a.gateway.executeApproved(h.ctx(r), p, id), h.a.gateway.executeApproved(h.ctx(r), p, id)]);
      expect(outs.map((o) => o.kind).sort()).toEqual(['denied', 'executed']);
      expect(newRefunds(before, h.ground())).toEqual([expect.objectContaining({ order_id: '1163', amount_cents: 1000 })]);
      const records = await h.audit(r.id);
      // Consumption is written ahead: a losing execution's record is followed by its refusal.
      const used = recordsOf(records, 'action.not-executed').filter((r) => r.body['why'] === 'approval-used');
      expect(recordsOf(records, 'approval.consumed').length - used.length).toBe(1);
      expect(recordsOf(records, 'action.executed', 'payments.refund')).toHaveLength(1);
    });

    it('lets exactly one of two concurrent resumes of an approved run execute', async () => {
      const before = h.ground();
      const { run: r, approvalId: id } = await pausedRefund({ order_id: '1163', amount_cents: 1100 });
      expect((await castVote(id, 'user:dana', 'approve', 'ok')).kind).toBe('recorded');
      const outs = await Promise.allSettled([h.a.runner.resume(r.id), h.a.runner.resume(r.id)]);
      expect(outs.filter((o) => o.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
      for (const o of outs) if (o.status === 'rejected') expect(String(o.reason)).toMatch(/version|conflict/i);
      expect(newRefunds(before, h.ground())).toEqual([expect.objectContaining({ order_id: '1163', amount_cents: 1100 })]);
      expect(recordsOf(await h.audit(r.id), 'action.executed', 'payments.refund')).toHaveLength(1);
    });
  });

  describe('6. an approval expires', () => {
    it('a pending approval past its TTL expires: nothing executes and the run says so', async () => {
      const before = h.ground();
      const { run, approvalId } = await pausedRefund({ order_id: '1190', amount_cents: 2000 });
      h.advance(HOUR + 60_000); // refund-desk's ttlMinutes is 60
      const resumed = await h.a.runner.resume(run.id);
      expect(results(resumed)[0]).toMatchObject({ status: 'expired' });
      expect(resumed.status).toBe('completed'); // the attacker claims done; the record shows nothing was done
      expect((await h.a.store.getApproval(approvalId))?.status).toBe('expired');
      const records = await h.audit(run.id);
      expect(recordsOf(records, 'action.not-executed', 'payments.refund').map((r) => r.body['why'])).toEqual(['expired']);
      expect(recordsOf(records, 'approval.expired')).toHaveLength(1);
      // A late vote is refused and changes nothing.
      expect((await castVote(approvalId, 'user:dana', 'approve', 'late')).kind).toBe('refused');
      expect(h.ground()).toEqual(before);
    });

    it('a late vote on an expired approval is refused, and the resumed run records the non-execution', async () => {
      const before = h.ground();
      const { run, approvalId } = await pausedRefund({ order_id: '1190', amount_cents: 2100 });
      h.advance(HOUR + 60_000);
      expect((await castVote(approvalId, 'user:dana', 'approve', 'late')).kind).toBe('refused');
      expect((await h.a.store.getApproval(approvalId))?.status).toBe('expired');
      const resumed = await h.a.runner.resume(run.id);
      expect(results(resumed)[0]).toMatchObject({ status: 'expired' });
      expect(h.ground()).toEqual(before);
      const records = await h.audit(run.id);
      expect(recordsOf(records, 'action.not-executed', 'payments.refund').map((r) => r.body['why'])).toEqual(['expired']);
    });

    it('an approved action not executed before the TTL is refused at execution and the run says so', async () => {
      const before = h.ground();
      const { run, approvalId } = await pausedRefund({ order_id: '1190', amount_cents: 2200 });
      expect((await castVote(approvalId, 'user:dana', 'approve', 'ok')).kind).toBe('recorded');
      h.advance(HOUR + 60_000);
      const resumed = await h.a.runner.resume(run.id);
      expect(results(resumed)[0]).toMatchObject({ status: 'denied' });
      expect(JSON.stringify(results(resumed)[0]!.content)).toMatch(/expired/);
      expect((await h.a.store.getApproval(approvalId))?.status).toBe('expired');
      expect(h.ground()).toEqual(before);
      const records = await h.audit(run.id);
      expect(recordsOf(records, 'action.not-executed', 'payments.refund').map((r) => r.body['why'])).toEqual(['approval-expired']);
      expect(recordsOf(records, 'action.executed')).toEqual([]);
    });
  });

  describe('7. concurrent votes', () => {
    it('approve and reject racing on one approval resolve to exactly one outcome', async () => {
      const before = h.ground();
      const { run, approvalId } = await pausedRefund({ order_id: '1190', amount_cents: 2300 });
      const outs = await Promise.all([
        castVote(approvalId, 'user:dana', 'approve', 'ok'),
        castVote(approvalId, 'user:priya', 'reject', 'no evidence'),
      ]);
      const recorded = outs.filter((o) => o.kind === 'recorded');
      expect(recorded).toHaveLength(1);
      const approval = (await h.a.store.getApproval(approvalId))!;
      expect(approval.decisions).toHaveLength(1);
      expect(approval.status).toBe(approval.decisions[0]!.decision === 'approve' ? 'approved' : 'rejected');
      const records = await h.audit(run.id);
      // A vote and its record commit together: the one that lost the race left no decision on record.
      expect(recordsOf(records, 'approval.decided')).toHaveLength(1);
      expect(recordsOf(records, 'approval.vote-lost')).toEqual([]);
      expect(recordsOf(records, 'approval.refused')).toHaveLength(1);

      const resumed = await h.a.runner.resume(run.id);
      const refunds = newRefunds(before, h.ground());
      if (approval.status === 'approved') {
        expect(results(resumed)[0]).toMatchObject({ status: 'ok' });
        expect(refunds).toHaveLength(1);
      } else {
        expect(results(resumed)[0]).toMatchObject({ status: 'rejected' });
        expect(refunds).toEqual([]);
        expect(h.ground()).toEqual(before);
      }
    });

    it('two different approvers voting at once on a step-up are both counted', async () => {
      const before = h.ground();
      const { run, approvalId } = await pausedRefund({ order_id: '1201', amount_cents: 7000 });
      const outs = await Promise.all([
        castVote(approvalId, 'user:dana', 'approve', 'ok'),
        castVote(approvalId, 'user:priya', 'approve', 'ok too'),
      ]);
      expect(outs.map((o) => o.kind)).toEqual(['recorded', 'recorded']);
      const approval = (await h.a.store.getApproval(approvalId))!;
      expect(approval.decisions.map((d) => d.approver).sort()).toEqual(['user:dana', 'user:priya']);
      expect(approval.status).toBe('approved');
      const records = await h.audit(run.id);
      // Write-ahead votes: a vote that lost the race is marked lost, then re-applied on top of the winner.
      const lost = recordsOf(records, 'approval.vote-lost').length;
      const decided = recordsOf(records, 'approval.decided').map((r) => r.body['votes']);
      expect(decided).toHaveLength(2 + lost);
      expect(decided.filter((v) => v === 2)).toHaveLength(1);

      const resumed = await h.a.runner.resume(run.id);
      expect(resumed.status).toBe('verified');
      expect(withoutRefunds(h.ground())).toEqual(withoutRefunds(before));
      expect(newRefunds(before, h.ground())).toEqual([expect.objectContaining({ order_id: '1201', amount_cents: 7000 })]);
    });

    it('one person voting twice at once on a step-up counts once', async () => {
      const before = h.ground();
      const { run, approvalId } = await pausedRefund({ order_id: '1201', amount_cents: 7100 });
      const outs = await Promise.all([
        castVote(approvalId, 'user:dana', 'approve', 'ok'),
        castVote(approvalId, 'user:dana', 'approve', 'ok'),
      ]);
      expect(outs.map((o) => o.kind).sort()).toEqual(['recorded', 'refused']);
      expect(await h.a.store.getApproval(approvalId)).toMatchObject({ status: 'pending', decisions: [{ approver: 'user:dana' }] });
      expect((await h.a.runner.resume(run.id)).status).toBe('awaiting-approval');
      expect(h.ground()).toEqual(before);
    });
  });

  it('the store refuses a vote counted against a stale list of votes (compare-and-set covers the votes)', async () => {
    const { approvalId } = await pausedRefund({ order_id: '1201', amount_cents: 7200 });
    const v = (approver: string) => ({ approver, decision: 'approve' as const, reason: null, time: new Date().toISOString(), issuer: null, subject: null, authMethod: null, authTime: null, summaryHash: null });
    const first = await h.a.store.updateApproval(approvalId, { status: 'pending', votes: 0 }, { status: 'pending', decisions: [v('user:dana')] });
    expect(first?.decisions).toHaveLength(1);
    const stale = await h.a.store.updateApproval(approvalId, { status: 'pending', votes: 0 }, { status: 'pending', decisions: [v('user:priya')] });
    expect(stale).toBeNull();
    expect((await h.a.store.getApproval(approvalId))?.decisions.map((d) => d.approver)).toEqual(['user:dana']);
  });

  it('keeps the audit chain intact', async () => {
    await expectChainIntact(h);
  });
});
