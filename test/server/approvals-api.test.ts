// People decide over HTTP with their own credentials: the evidence bundle, an edit that becomes a new
// action, standing grants, statistics, and signed webhooks delivered by the running server's
// housekeeping to a real receiver on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import { verifyWebhookSignature } from '../../src/notify/signature.js';
import * as Approvals from '../../src/server/api-approval-schemas.js';
import * as Runs from '../../src/server/api-run-schemas.js';
import { doorWorkspace, type DoorWorkspace } from './fixtures.js';
import { startReceiver, type Receiver } from '../notify/receiver.js';

const SECRET_ENV = 'AIRLOCK_TEST_APPROVALS_WEBHOOK_SECRET';
const SECRET = 'whsec-approvals-test-0123456789';
const REFUND = { order_id: '1201', amount_cents: 4000, currency: 'EUR', reason: 'arrived broken' };

describe('approvals over HTTP', () => {
  let ws: DoorWorkspace;
  let airlock: Airlock;
  let server: RunningServer;
  let receiver: Receiver;

  beforeAll(async () => {
    process.env[SECRET_ENV] = SECRET;
    receiver = await startReceiver({ status: 204 });
    ws = doorWorkspace(`notifications:\n  webhooks:\n    - { name: approvals, url: "${receiver.origin}/hook", secretEnv: ${SECRET_ENV} }\n`);
    airlock = await openAirlock(ws.dir);
    server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0, housekeepingMs: 50 });
  });
  afterAll(async () => {
    await server?.close();
    await airlock?.close();
    await receiver?.close();
    ws?.cleanup();
    delete process.env[SECRET_ENV];
  });

  async function call(method: string, route: string, key: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${server.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** Polls until `probe` answers: a generous cap (30 s) for a loaded machine; no timing is asserted. */
  async function eventually<T>(probe: () => T | undefined, what: string): Promise<T> {
    for (let i = 0; i < 1200; i++) {
      const v = probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it('an edit over HTTP is a new, re-decided action; the agent re-posting its proposal gets what the approver chose, once', async () => {
    const p = await call('POST', '/v1/actions', ws.keys['refund-bot'], { tool: 'payments.refund', arguments: REFUND, reasoning: 'photo of the damage' });
    expect(p.status).toBe(202);
    const pending = Runs.ActionPending.parse(p.json);

    // The approver sees the evidence, and the hash of what they see.
    const view = await call('GET', `/v1/approvals/${pending.approvalId}`, ws.keys.dana);
    const approval = Approvals.ApprovalView.parse(view.json);
    expect(approval.summary).toMatchObject({ evidence: { reasoning: 'photo of the damage', args: REFUND } });
    expect(approval.summaryHash).toMatch(/^[0-9a-f]{64}$/);

    // The webhook for the new approval arrives signed, without the arguments.
    const requested = await eventually(() => receiver.received.find((r) => JSON.parse(r.body).data?.approvalId === pending.approvalId), 'approval.requested');
    expect(requested.headers['airlock-event']).toBe('approval.requested');
    const check = verifyWebhookSignature({ secret: SECRET, header: requested.headers['airlock-signature'] as string, body: requested.body, nowSeconds: Math.floor(Date.now() / 1000) });
    expect(check).toEqual({ ok: true });
    expect(verifyWebhookSignature({ secret: 'wrong', header: requested.headers['airlock-signature'] as string, body: requested.body, nowSeconds: Math.floor(Date.now() / 1000) }).ok).toBe(false);
    expect(requested.body).not.toContain('arrived broken');

    // sam may not decide refunds; an edit without a reason is refused; dana's edit to 25.00 stands.
    expect((await call('POST', `/v1/approvals/${pending.approvalId}/approve`, ws.keys.sam, { arguments: { ...REFUND, amount_cents: 2500 }, reason: 'x' })).status).toBe(403);
    expect((await call('POST', `/v1/approvals/${pending.approvalId}/approve`, ws.keys.dana, { arguments: { ...REFUND, amount_cents: 2500 } })).status).toBe(422);
    const edited = await call('POST', `/v1/approvals/${pending.approvalId}/approve`, ws.keys.dana, { arguments: { ...REFUND, amount_cents: 2500 }, reason: 'one item only' });
    expect(edited.status).toBe(200);
    const replaced = Approvals.VoteRecorded.parse(edited.json);
    expect(replaced.replaced).toMatchObject({ approvalId: pending.approvalId, status: 'edited', supersededBy: replaced.approval.approvalId });
    expect(replaced.approval).toMatchObject({ status: 'pending', editedFrom: pending.approvalId, votes: [] });
    // dana wrote the new arguments, so priya decides them.
    expect((await call('POST', `/v1/approvals/${replaced.approval.approvalId}/approve`, ws.keys.dana, { reason: 'mine' })).status).toBe(403);
    const decided = await call('POST', `/v1/approvals/${replaced.approval.approvalId}/approve`, ws.keys.priya, { reason: 'one item, agreed' });
    expect(decided.status).toBe(200);
    const voted = Approvals.VoteRecorded.parse(decided.json);
    expect(voted.approval).toMatchObject({ status: 'approved', votes: [{ approver: 'user:priya', authMethod: 'api-key', issuer: 'airlock', subject: 'priya-key' }] });
    // sam is not eligible, so he may not even read it (its evidence may hold confidential data).
    expect((await call('GET', `/v1/approvals/${replaced.approval.approvalId}`, ws.keys.sam)).status).toBe(403);

    const again = await call('POST', '/v1/actions', ws.keys['refund-bot'], { runId: pending.runId, tool: 'payments.refund', arguments: REFUND });
    expect(again.status).toBe(200);
    const executed = Runs.ActionExecuted.parse(again.json);
    expect(executed).toMatchObject({ approvalId: voted.approval.approvalId, revisedArguments: { amount_cents: 2500 }, verification: { status: 'passed' } });
    const thrice = await call('POST', '/v1/actions', ws.keys['refund-bot'], { runId: pending.runId, tool: 'payments.refund', arguments: REFUND });
    expect(thrice.status).toBe(202); // used once; the same proposal again needs a new approval
    await eventually(() => receiver.received.find((r) => JSON.parse(r.body).type === 'approval.decided'), 'approval.decided');
  });

  it('standing grants over HTTP: created by policy, listed, used without a person, counted in the statistics, revoked', async () => {
    const denied = await call('POST', '/v1/grants', ws.keys.sam, { workflow: 'refund-desk', tool: 'payments.refund', bounds: { amount_cents: { max: 2000 }, currency: { equals: 'EUR' } }, durationMinutes: 30, reason: 'x' });
    expect(denied.status).toBe(403);
    const bad = await call('POST', '/v1/grants', ws.keys.priya, { workflow: 'refund-desk', tool: 'payments.refund', bounds: { amount_cents: { max: 2000, equals: 5 } }, durationMinutes: 30, reason: 'x' });
    expect(bad.status).toBe(422);
    const made = await call('POST', '/v1/grants', ws.keys.priya, { workflow: 'refund-desk', tool: 'payments.refund', bounds: { amount_cents: { max: 2000 }, currency: { equals: 'EUR' } }, durationMinutes: 30, maxUses: 1, reason: 'backlog' });
    expect(made.status).toBe(201);
    const grant = Approvals.GrantView.parse(made.json);
    expect(grant).toMatchObject({ grantor: 'user:priya', uses: 0, status: 'active', policyIds: ['finance-grants-small-refunds'] });
    const covered = await call('POST', '/v1/actions', ws.keys['refund-bot'], { tool: 'payments.refund', arguments: { ...REFUND, amount_cents: 1500 } });
    expect(covered.status).toBe(200);
    expect(Runs.ActionExecuted.parse(covered.json)).toMatchObject({ grantId: grant.grantId, approvalId: null });
    const list = Approvals.GrantList.parse((await call('GET', '/v1/grants', ws.keys.dana)).json);
    expect(list.grants.find((g) => g.grantId === grant.grantId)?.uses).toBe(1);
    expect((await call('GET', '/v1/grants', ws.keys['refund-bot'])).status).toBe(403);
    const stats = Approvals.ApprovalStats.parse((await call('GET', '/v1/approval-stats?workflow=refund-desk', ws.keys.dana)).json);
    expect(stats).toMatchObject({ grants: { uses: 1 }, overrides: { edited: 1 } });
    expect(stats.approvers.find((a) => a.approver === 'user:priya')).toMatchObject({ votes: 1, approvals: 1 });
    expect((await call('POST', `/v1/grants/${grant.grantId}/revoke`, ws.keys.priya, { reason: 'done' })).status).toBe(200);
    expect((await call('POST', `/v1/grants/${grant.grantId}/revoke`, ws.keys.priya, { reason: 'again' })).status).toBe(409);

    // Listed newest first, a page at a time; `next` leads on, and a bad query or cursor is refused.
    const more: string[] = [];
    for (const reason of ['second', 'third']) {
      const r = await call('POST', '/v1/grants', ws.keys.priya, { workflow: 'refund-desk', tool: 'payments.refund', bounds: { amount_cents: { max: 2000 }, currency: { equals: 'EUR' } }, durationMinutes: 30, maxUses: 1, reason });
      expect([reason, r.status, r.json]).toEqual([reason, 201, expect.anything()]);
      more.push(Approvals.GrantView.parse(r.json).grantId);
    }
    const p1 = Approvals.GrantList.parse((await call('GET', '/v1/grants?limit=2', ws.keys.dana)).json);
    expect(p1.grants.map((g) => g.grantId)).toEqual([more[1], more[0]]);
    expect(p1.next).toBe(more[0]);
    const p2 = Approvals.GrantList.parse((await call('GET', `/v1/grants?limit=2&before=${p1.next}`, ws.keys.dana)).json);
    expect(p2.grants.map((g) => g.grantId)).toEqual([grant.grantId]);
    expect(p2.next).toBeNull();
    const revoked = Approvals.GrantList.parse((await call('GET', '/v1/grants?status=revoked', ws.keys.dana)).json);
    expect(revoked.grants.map((g) => [g.grantId, g.status])).toEqual([[grant.grantId, 'revoked']]);
    for (const q of ['limit=0', 'limit=1001', 'status=expired', 'before=grt_nope', 'sort=asc']) {
      const r = await call('GET', `/v1/grants?${q}`, ws.keys.dana);
      expect([q, r.status]).toEqual([q, 422]);
    }
  });
});
