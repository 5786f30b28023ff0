// The approval path end to end on the Acme demo (real MCP servers, real SQLite ground truth):
// who may approve is policy, step-up in both forms, justifications, approver edits as overrides,
// escalation and expiry, standing grants, the evidence bundle, webhooks queued, and durable resume.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { localApprover, editApproval, vote, type Approver } from '../../src/gateway/approvals/vote.js';
import { sweepApprovals } from '../../src/gateway/approvals/sweep.js';
import { storeApprovalStats } from '../../src/gateway/approvals/stats.js';
import { createGrant, revokeGrant } from '../../src/gateway/approvals/grants.js';
import type { AcmeSnapshot } from '../../src/demo/acme/db.js';
import type { RunRecord } from '../../src/store/store.js';
import type { ApprovalId, JsonObject } from '../../src/types.js';
import type { AttackProposal } from '../security/attacker.js';
import { editFile, expectChainIntact, openHostile, recordsOf, refund, results, stateOf, type Hostile } from '../security/harness.js';

const MINUTE = 60_000;

function newRefunds(before: AcmeSnapshot, after: AcmeSnapshot): Record<string, unknown>[] {
  const seen = new Set(before.refunds.map((r) => r['id']));
  return after.refunds.filter((r) => !seen.has(r['id']));
}

/** An approver who signed in with the identity provider `ageSeconds` ago (a JWT with `auth_time`). */
function viaIdp(h: Hostile, who: string, ageSeconds: number): Approver {
  const principal = h.a.principal(who);
  return {
    principal,
    auth: { issuer: 'https://idp.acme.example/', subject: principal.id, method: 'jwt', amr: ['pwd', 'otp'], authTime: new Date(h.a.now().getTime() - ageSeconds * 1000).toISOString() },
  };
}

describe('approvals', () => {
  let h: Hostile;
  beforeAll(async () => {
    h = await openHostile((dir) => {
      // Escalation after 10 minutes from the domain owner to the product owner; a 60-minute deadline.
      editFile(dir, 'workflows/refund-desk.yaml', 'escalateAfterMinutes: 20', 'escalateAfterMinutes: 10');
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A person deciding with their own login (an API key of theirs), as each approver does in production. */
  const as = (who: string): Approver => {
    const principal = h.a.principal(who);
    return { principal, auth: { issuer: 'airlock', subject: `${principal.id}-key`, method: 'api-key', amr: [], authTime: null } };
  };
  const deps = () => h.a.approvalDeps;

  async function paused(over: JsonObject, opts: { onBehalfOf?: string; readFirst?: boolean } = {}): Promise<{ run: RunRecord; id: ApprovalId }> {
    const reads: AttackProposal[] = opts.readFirst
      ? [
          { tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' } },
          { tool: 'orders.get_order', args: { order_id: String(over['order_id'] ?? '1182') } },
        ]
      : [];
    const run = await h.run([...reads, { ...refund(over), reasoning: 'the customer sent a photo of the broken dripper' }], opts);
    expect(run.status).toBe('awaiting-approval');
    return { run, id: stateOf(run).pending!.approvalId };
  }

  describe('separation of duties is policy', () => {
    it('refuses, for every principal type, the requester, the on-behalf-of user, services and people no policy names; each refusal is audited', async () => {
      const before = h.ground();
      const { run, id } = await paused({ order_id: '1201', amount_cents: 1500 }, { onBehalfOf: 'user:dana' });
      const refusals: [string, number, RegExp][] = [
        ['agent:refund-bot', 403, /not a person/],
        ['service:ops-service', 403, /not a person/],
        ['user:dana', 403, /acts for `user:dana`/],
        ['user:sam', 403, /no policy lets `user:sam` approve `payments.refund`/],
      ];
      for (const [who, status, why] of refusals) {
        const res = await vote(deps(), id, as(who), 'approve', 'ok');
        expect(res, who).toMatchObject({ kind: 'refused', status });
        if (res.kind === 'refused') expect(res.reason, who).toMatch(why);
      }
      const audit = recordsOf(await h.audit(run.id), 'approval.refused');
      expect(audit.map((r) => r.principal)).toEqual(refusals.map(([who]) => who));
      expect(audit.every((r) => r.body['approvalId'] === id && r.body['authMethod'] === 'api-key')).toBe(true);
      expect(h.ground()).toEqual(before);
      // A finance approver decides; the vote records who vouched, how they authenticated and what they saw.
      const ok = await vote(deps(), id, as('user:priya'), 'approve', 'order checked');
      expect(ok).toMatchObject({ kind: 'recorded', decided: true });
      const stored = await h.a.store.getApproval(id);
      expect(stored?.decisions[0]).toMatchObject({ approver: 'user:priya', authMethod: 'api-key', issuer: 'airlock', subject: 'priya-key', summaryHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      const decided = recordsOf(await h.audit(run.id), 'approval.decided')[0];
      expect(decided?.body).toMatchObject({ policyIds: ['finance-approves-refunds'], summaryHash: stored?.decisions[0]?.summaryHash });
    });

    it('a step-up approval needs a written justification from each approver (422, audited)', async () => {
      const { run, id } = await paused({ order_id: '1201', amount_cents: 6000 });
      const res = await vote(deps(), id, as('user:priya'), 'approve', null);
      expect(res).toMatchObject({ kind: 'refused', status: 422 });
      expect(recordsOf(await h.audit(run.id), 'approval.refused').at(-1)?.body['reason']).toMatch(/justification/);
      expect((await h.a.store.getApproval(id))?.decisions).toEqual([]);
    });
  });

  describe('step-up', () => {
    it('four eyes: two distinct eligible people, then the run resumes and the refund happens once', async () => {
      const before = h.ground();
      const { run, id } = await paused({ order_id: '1201', amount_cents: 6100 });
      expect((await h.a.store.getApproval(id))?.level).toBe('step-up');
      expect(await vote(deps(), id, as('user:dana'), 'approve', 'photo shows damage')).toMatchObject({ kind: 'recorded', decided: false });
      expect(await vote(deps(), id, as('user:dana'), 'approve', 'again')).toMatchObject({ kind: 'refused', status: 403 });
      // One machine account naming a second person is still one login: refused, audited.
      const sameAccount = await vote(deps(), id, { principal: h.a.principal('user:priya'), auth: as('user:dana').auth }, 'approve', 'me again');
      expect(sameAccount).toMatchObject({ kind: 'refused', status: 403 });
      if (sameAccount.kind === 'refused') expect(sameAccount.reason).toMatch(/two different logins/);
      expect(await vote(deps(), id, as('user:priya'), 'approve', 'within the order total')).toMatchObject({ kind: 'recorded', decided: true });
      const done = await h.a.runner.resume(run.id);
      expect(done.status).toBe('verified');
      expect(newRefunds(before, h.ground())).toMatchObject([{ order_id: '1201', amount_cents: 6100 }]);
      expect((await h.a.store.getApproval(id))).toMatchObject({ status: 'consumed', consumedAt: expect.any(String) });
      const executed = recordsOf(await h.audit(run.id), 'action.executed', 'payments.refund');
      expect(executed.map((r) => r.body['approvalId'])).toEqual([id]);
    });

    it('re-authentication: one eligible person with a fresh identity-provider login; a stale login or the CLI is refused', async () => {
      const h2 = await openHostile((dir) => editFile(dir, 'policies/refunds.cedar', '@approval("step-up")', '@approval("reauth")'));
      try {
        const before = h2.ground();
        const run = await h2.run([refund({ order_id: '1201', amount_cents: 6200 })]);
        const id = stateOf(run).pending!.approvalId;
        expect((await h2.a.store.getApproval(id))?.level).toBe('reauth');
        const local = await vote(h2.a.approvalDeps, id, localApprover(h2.a.principal('user:priya')), 'approve', 'ok');
        expect(local).toMatchObject({ kind: 'refused', status: 403 });
        if (local.kind === 'refused') expect(local.reason).toMatch(/re-authentication/);
        const stale = await vote(h2.a.approvalDeps, id, viaIdp(h2, 'user:priya', 3600), 'approve', 'ok');
        expect(stale).toMatchObject({ kind: 'refused', status: 403 });
        if (stale.kind === 'refused') expect(stale.reason).toMatch(/60 minutes old, at most 5/);
        const fresh = await vote(h2.a.approvalDeps, id, viaIdp(h2, 'user:priya', 30), 'approve', 'signed in again to approve');
        expect(fresh).toMatchObject({ kind: 'recorded', decided: true });
        expect((await h2.a.store.getApproval(id))?.decisions[0]).toMatchObject({ authMethod: 'jwt+pwd+otp', issuer: 'https://idp.acme.example/', subject: 'priya' });
        expect((await h2.a.runner.resume(run.id)).status).toBe('verified');
        expect(newRefunds(before, h2.ground())).toHaveLength(1);
        expect(recordsOf(await h2.audit(run.id), 'approval.refused')).toHaveLength(2);
      } finally {
        await h2.close();
      }
    });
  });

  describe('approver edits are new actions and overrides', () => {
    it('an edit that raises the amount is decided again: it escalates to step-up and needs a second person', async () => {
      const before = h.ground();
      const { run, id } = await paused({ order_id: '1201', amount_cents: 4000 });
      const edit = await editApproval(deps(), id, as('user:dana'), { order_id: '1201', amount_cents: 5500, currency: 'EUR', reason: 'arrived broken (ticket T-311)' }, 'shipping was charged too');
      expect(edit.kind).toBe('revised');
      if (edit.kind !== 'revised') return;
      expect(edit.original).toMatchObject({ id, status: 'edited', supersededBy: edit.revised.id });
      expect(edit.revised).toMatchObject({ level: 'step-up', status: 'pending', editedFrom: id, editedBy: 'user:dana', requester: 'agent:refund-bot', decisions: [] });
      expect(edit.revised.actionHash).not.toBe(edit.original.actionHash);
      // The editor wrote these arguments: like a requester, they cannot approve them.
      const own = await vote(deps(), edit.revised.id, as('user:dana'), 'approve', 'mine');
      expect(own).toMatchObject({ kind: 'refused', status: 403 });
      if (own.kind === 'refused') expect(own.reason).toMatch(/wrote these arguments/);
      // Nothing ran yet; the original can no longer be approved.
      expect(await vote(deps(), id, as('user:priya'), 'approve', 'ok')).toMatchObject({ kind: 'refused', status: 409 });
      expect((await h.a.runner.resume(run.id)).status).toBe('awaiting-approval');
      expect(h.ground()).toEqual(before);
      expect(await vote(deps(), edit.revised.id, as('user:priya'), 'approve', 'agreed, shipping included')).toMatchObject({ decided: false });
      expect(await vote(deps(), edit.revised.id, as('user:kai'), 'approve', 'photo checked')).toMatchObject({ decided: true });
      const evidence = (edit.revised.summary as { evidence: { reasoning: string } }).evidence;
      expect(evidence.reasoning).toMatch(/^edited by user:dana .*shipping was charged too/);
      const done = await h.a.runner.resume(run.id);
      expect(done.status).toBe('verified');
      expect(newRefunds(before, h.ground())).toMatchObject([{ order_id: '1201', amount_cents: 5500 }]);
      // The agent heard that a person changed its action, and to what.
      const told = results(done).find((r) => r.tool === 'payments.refund');
      expect(told?.content).toMatchObject({ editedByApprover: { executedArguments: { amount_cents: 5500 } } });
      const override = recordsOf(await h.audit(run.id), 'override.recorded')[0];
      expect(override?.body).toMatchObject({
        kind: 'edited',
        approvalId: id,
        revisedApprovalId: edit.revised.id,
        proposedActionHash: edit.original.actionHash,
        chosenActionHash: edit.revised.actionHash,
        changedFields: ['amount_cents'],
        by: 'user:dana',
      });
    });

    it('an edit that lowers the amount is decided by one other person and executes the edited call once', async () => {
      const before = h.ground();
      const { run, id } = await paused({ order_id: '1201', amount_cents: 4500 });
      const edit = await editApproval(deps(), id, as('user:priya'), { order_id: '1201', amount_cents: 2000, currency: 'EUR', reason: 'partial: one item' }, 'only one item was broken');
      expect(edit).toMatchObject({ kind: 'revised', revised: { level: 'single', status: 'pending' } });
      if (edit.kind !== 'revised') return;
      expect(await vote(deps(), edit.revised.id, as('user:dana'), 'approve', 'agreed')).toMatchObject({ decided: true });
      const done = await h.a.runner.resume(run.id);
      expect(done.status).toBe('verified');
      expect(newRefunds(before, h.ground())).toMatchObject([{ amount_cents: 2000 }]);
    });

    it('an edit policy denies, or with invalid arguments, or without a reason, is refused and leaves the original pending', async () => {
      const before = h.ground();
      const { run, id } = await paused({ order_id: '1201', amount_cents: 1200 });
      const args = { order_id: '1201', currency: 'EUR', reason: 'x' };
      expect(await editApproval(deps(), id, as('user:dana'), { ...args, amount_cents: 60000 }, 'more')).toMatchObject({ kind: 'refused', status: 403, reason: expect.stringMatching(/never issued by an agent/) });
      expect(await editApproval(deps(), id, as('user:dana'), { ...args, amount_cents: -5 }, 'less')).toMatchObject({ kind: 'refused', status: 422 });
      expect(await editApproval(deps(), id, as('user:dana'), { ...args, amount_cents: 1000 }, null)).toMatchObject({ kind: 'refused', status: 422 });
      expect(await editApproval(deps(), id, as('user:sam'), { ...args, amount_cents: 1000 }, 'less')).toMatchObject({ kind: 'refused', status: 403 });
      expect((await h.a.store.getApproval(id))?.status).toBe('pending');
      expect(recordsOf(await h.audit(run.id), 'approval.refused').filter((r) => r.body['attempted'] === 'edit')).toHaveLength(4);
      expect(h.ground()).toEqual(before);
    });

    it('a rejection is an override, its reason goes back to the agent, and the same action cannot be retried', async () => {
      const before = h.ground();
      const again = refund({ order_id: '1201', amount_cents: 1300 });
      const run = await h.run([again, again]);
      const id = stateOf(run).pending!.approvalId;
      expect(await vote(deps(), id, as('user:dana'), 'reject', 'the order was already refunded by phone')).toMatchObject({ decided: true });
      const done = await h.a.runner.resume(run.id);
      const told = results(done).filter((r) => r.tool === 'payments.refund');
      expect(told[0]).toMatchObject({ status: 'rejected', content: { reason: 'the order was already refunded by phone' } });
      expect(told[1]?.status).toBe('denied');
      expect(JSON.stringify(told[1]?.content)).toMatch(/already refunded by phone/);
      expect(recordsOf(await h.audit(run.id), 'override.recorded')[0]?.body).toMatchObject({ kind: 'rejected', approvalId: id });
      expect(h.ground()).toEqual(before);
    });
  });

  describe('deadlines', () => {
    it('escalates an untouched approval to the next owner, then expires it at the deadline; the run says so', async () => {
      const before = h.ground();
      const { run, id } = await paused({ order_id: '1201', amount_cents: 1400 });
      expect(await h.a.store.getApproval(id)).toMatchObject({ assignee: 'dana@acme.example', escalations: 0 });
      h.advance(11 * MINUTE);
      const first = await sweepApprovals({ ...deps(), after: (a) => h.a.afterDecision(a, true) });
      expect(first.escalated).toContainEqual({ approvalId: id, to: 'maria@acme.example' });
      expect(await h.a.store.getApproval(id)).toMatchObject({ status: 'pending', assignee: 'maria@acme.example', escalations: 1, escalateAt: null });
      // A second sweep has nobody further to escalate to.
      expect((await sweepApprovals(deps())).escalated.map((e) => e.approvalId)).not.toContain(id);
      h.advance(50 * MINUTE);
      const last = await sweepApprovals({ ...deps(), after: (a) => h.a.afterDecision(a, true) });
      expect(last.expired).toContain(id);
      const after = await h.a.store.getRun(run.id);
      expect(results(after!).find((r) => r.tool === 'payments.refund')?.status).toBe('expired');
      expect(await vote(deps(), id, as('user:dana'), 'approve', 'late')).toMatchObject({ kind: 'refused', status: 409 });
      const types = (await h.audit(run.id)).map((r) => r.type);
      expect(types).toEqual(expect.arrayContaining(['approval.escalated', 'approval.expired', 'action.not-executed']));
      expect(h.ground()).toEqual(before);
    });
  });

  describe('standing grants', () => {
    it('is itself decided by policy: bounds above what the grantor may approve, people without the role and agents are refused', async () => {
      const spec = { workflow: 'refund-desk', tool: 'payments.refund', bounds: { amount_cents: { max: 2000 }, currency: { equals: 'EUR' } }, durationMinutes: 60, maxUses: 2, reason: 'holiday backlog' };
      expect(await createGrant(deps(), as('user:sam'), spec)).toMatchObject({ kind: 'refused', status: 403 });
      expect(await createGrant(deps(), as('agent:refund-bot'), spec)).toMatchObject({ kind: 'refused', status: 403 });
      expect(await createGrant(deps(), as('user:priya'), { ...spec, bounds: { amount_cents: { max: 9000 }, currency: { equals: 'EUR' } } })).toMatchObject({ kind: 'refused', status: 403 });
      expect(await createGrant(deps(), as('user:priya'), { ...spec, bounds: { amount: { max: 100 } } })).toMatchObject({ kind: 'refused', status: 422, reason: expect.stringMatching(/not an exposed argument/) });
      expect(await createGrant(deps(), as('user:priya'), { ...spec, durationMinutes: 600 })).toMatchObject({ kind: 'refused', status: 403 });
      const records = (await h.a.store.readAudit(1, 1_000_000)).filter((r) => r.type === 'grant.refused');
      expect(records.length).toBeGreaterThanOrEqual(5);
    });

    it('covers actions within its bounds, counts each use apart from approvals, stops at max uses, and can be revoked', async () => {
      const before = h.ground();
      const made = await createGrant(deps(), as('user:priya'), {
        workflow: 'refund-desk',
        tool: 'payments.refund',
        bounds: { amount_cents: { max: 2000 }, currency: { equals: 'EUR' } },
        durationMinutes: 60,
        maxUses: 2,
        reason: 'holiday backlog',
      });
      expect(made.kind).toBe('created');
      if (made.kind !== 'created') return;
      const small = await h.run([refund({ order_id: '1201', amount_cents: 1000 }), refund({ order_id: '1201', amount_cents: 1100 })]);
      expect(small.status).toBe('verified');
      const used = recordsOf(await h.audit(small.id), 'grant.used');
      expect(used.map((r) => r.body['uses'])).toEqual([1, 2]);
      const executed = recordsOf(await h.audit(small.id), 'action.executed', 'payments.refund');
      expect(executed.map((r) => [r.body['grantId'], r.body['approvalId']])).toEqual([[made.grant.id, null], [made.grant.id, null]]);
      // Used up: the third needs a person again; above the bound or in USD it never was covered.
      for (const over of [{ amount_cents: 900 }, { amount_cents: 2500 }, { amount_cents: 900, currency: 'USD' }] as JsonObject[]) {
        const r = await h.run([refund({ order_id: '1201', ...over })]);
        expect(r.status, JSON.stringify(over)).toBe('awaiting-approval');
      }
      expect(newRefunds(before, h.ground()).map((r) => r['amount_cents'])).toEqual([1000, 1100]);
      expect((await h.a.store.getGrant(made.grant.id))?.uses).toBe(2);
      const stats = await storeApprovalStats(h.a.store, 'refund-desk');
      expect(stats.grants.uses).toBeGreaterThanOrEqual(2);
      expect(await revokeGrant(deps(), made.grant.id, as('user:sam'), 'no')).toMatchObject({ kind: 'refused', status: 403 });
      expect(await revokeGrant(deps(), made.grant.id, as('user:priya'), 'backlog cleared')).toMatchObject({ kind: 'created', grant: { status: 'revoked' } });
    });

    it('never stands in for step-up, even when its bounds cover the amount', async () => {
      const h3 = await openHostile((dir) => editFile(dir, 'policies/approvers.cedar', 'context.args.amount_cents <= 2000', 'context.args.amount_cents <= 9000'));
      try {
        const before = h3.ground();
        const spec = { workflow: 'refund-desk', tool: 'payments.refund', bounds: { amount_cents: { max: 9000 }, currency: { equals: 'EUR' } }, durationMinutes: 60, maxUses: 5, reason: 'wide' };
        expect((await createGrant(h3.a.approvalDeps, localApprover(h3.a.principal('user:priya')), spec)).kind).toBe('created');
        const big = await h3.run([refund({ order_id: '1201', amount_cents: 6000 })]);
        expect(big.status).toBe('awaiting-approval');
        expect(recordsOf(await h3.audit(big.id), 'grant.used')).toEqual([]);
        const small = await h3.run([refund({ order_id: '1201', amount_cents: 3000 })]);
        expect(small.status).toBe('verified');
        expect(newRefunds(before, h3.ground()).map((r) => r['amount_cents'])).toEqual([3000]);
      } finally {
        await h3.close();
      }
    });
  });

  it('shows the approver the evidence: citations with trust, the reasoning, the arguments and the diff against the order', async () => {
    const { id } = await paused({ order_id: '1182', amount_cents: 4000 }, { readFirst: true });
    const a = await h.a.store.getApproval(id);
    const evidence = (a?.summary as { evidence: Record<string, unknown> }).evidence;
    expect(evidence['reasoning']).toBe('the customer sent a photo of the broken dripper');
    expect(evidence['args']).toMatchObject({ order_id: '1182', amount_cents: 4000 });
    expect(evidence['citations']).toMatchObject([
      { ref: 'C1', tool: 'tickets.get_ticket', trust: 'untrusted' },
      { ref: 'C2', tool: 'orders.get_order', trust: 'trusted' },
    ]);
    expect(evidence['diff']).toMatchObject({ rows: expect.arrayContaining([expect.objectContaining({ label: expect.stringMatching(/order total/), proposed: 4000, differs: true })]) });
  });

  it('per-approver statistics: approve rate, decision time, overrides and escalations', async () => {
    const stats = await storeApprovalStats(h.a.store);
    const priya = stats.approvers.find((p) => p.approver === 'user:priya');
    expect(priya?.votes).toBeGreaterThanOrEqual(2);
    expect(priya?.approveRate).toBe(1);
    expect(stats.overrides.edited).toBeGreaterThanOrEqual(2);
    expect(stats.overrides.rejected).toBeGreaterThanOrEqual(1);
    expect(stats.escalations).toBeGreaterThanOrEqual(1);
  });

  it('a run waiting for approval survives a restart of every process; the decision arrives in another; it executes once', async () => {
    const before = h.ground();
    const { run, id } = await paused({ order_id: '1201', amount_cents: 1600 });
    // A second process decides; a third resumes; the first resumes too, and finds nothing left to do.
    const second = await openAirlock(h.dir);
    try {
      expect(await vote(second.approvalDeps, id, localApprover(second.principal('user:priya')), 'approve', 'ok')).toMatchObject({ decided: true });
    } finally {
      await second.close();
    }
    const third = await openAirlock(h.dir, { modelFor: () => h.attacks });
    try {
      expect((await third.runner.resume(run.id)).status).toBe('verified');
    } finally {
      await third.close();
    }
    expect((await h.a.runner.resume(run.id)).status).toBe('verified');
    expect(newRefunds(before, h.ground())).toHaveLength(1);
    expect(recordsOf(await h.audit(run.id), 'approval.consumed')).toHaveLength(1);
  });

  it('keeps the audit chain intact', async () => {
    await expectChainIntact(h);
  });
});
