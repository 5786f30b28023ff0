// The console in process (app.request): sign-in, sessions and sign-out, security headers, CSRF and
// cross-origin refusals, the inbox showing a person only what they may decide, and a vote through the
// API's own path recorded with the console's login method and time.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { createConsole } from '../../src/console/app.js';
import { hashPassword, verifyPassword } from '../../src/console/passwords.js';
import { SIGN_IN_LIMIT } from '../../src/console/security.js';
import { obligationMet, reauthRefusal } from '../../src/gateway/approvals/rules.js';
import { openIncident } from '../../src/orchestration/incidents.js';
import { verifyExportFile } from '../../src/audit/verify-export.js';
import { APPROVAL_DEFAULTS } from '../../src/config/schema.js';
import type { ApprovalRecord } from '../../src/store/store.js';
import { copyAcme } from '../helpers/workspace.js';
import { form, signIn } from './helpers.js';

describe('console passwords', () => {
  it('hashes with scrypt and verifies only the same password; a malformed hash never matches', async () => {
    const h = await hashPassword('correct horse', { N: 1024, r: 8, p: 1 });
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(await verifyPassword('correct horse', h)).toBe(true);
    expect(await verifyPassword('correct horsE', h)).toBe(false);
    expect(await verifyPassword('correct horse', h.replace('$1024$', '$1000$'))).toBe(false);
    expect(await verifyPassword('x', 'plain-text')).toBe(false);
  });

  it('a console re-entry of the password is a fresh login for `reauth` approvals; a session sign-in of unknown age is not', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(reauthRefusal(APPROVAL_DEFAULTS, { issuer: 'airlock-console', subject: 'user:dana', method: 'password', amr: ['reauth'], authTime: now.toISOString() }, now)).toBeNull();
    expect(reauthRefusal(APPROVAL_DEFAULTS, { issuer: 'airlock-console', subject: 'user:dana', method: 'password', amr: [], authTime: null }, now)).toMatch(/re-authentication/);
    const vote = { approver: 'user:dana', decision: 'approve' as const, reason: 'ok', time: now.toISOString(), issuer: 'airlock-console', subject: 'user:dana', authMethod: 'password+reauth', authTime: now.toISOString(), summaryHash: 'x' };
    expect(obligationMet('reauth', [vote], APPROVAL_DEFAULTS)).toBe(true);
  });
});

describe('the console', () => {
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let app: Hono;
  let approval: ApprovalRecord;

  beforeAll(async () => {
    ws = copyAcme();
    airlock = await openAirlock(ws.dir);
    // Mounted where `airlock serve` mounts it.
    app = new Hono().route('/console', createConsole(airlock));
    const run = await airlock.runner.start('refund-desk', { ticket_id: 'T-311' });
    expect(run.status).toBe('awaiting-approval');
    const pending = await airlock.store.listApprovals({ status: 'pending', runId: run.id });
    expect(pending).toHaveLength(1);
    approval = pending[0] as ApprovalRecord;
  });
  afterAll(async () => {
    await airlock?.close();
    ws?.cleanup();
  });

  it('answers every page with the security headers, and sends a person who is not signed in to the sign-in page', async () => {
    for (const path of ['/console/sign-in', '/console/approvals', '/console/static/console.js']) {
      const res = await app.request(path);
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'; script-src 'self'");
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
    }
    const res = await app.request('/console/approvals');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/sign-in?next=%2Fconsole%2Fapprovals');
    const page = await (await app.request('/console/sign-in')).text();
    expect(page).not.toMatch(/<script>|<script [^>]*>[^<]/); // no inline script
  });

  it('signs in with the right password only, sets a signed HttpOnly SameSite=Strict cookie, and signs out', async () => {
    const wrong = await form(app, '/console/sign-in', { user: 'kai', password: 'not-it' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('wrong name or password');
    const unknown = await form(app, '/console/sign-in', { user: 'mallory', password: 'x' });
    expect(unknown.status).toBe(401);

    const ok = await form(app, '/console/sign-in', { user: 'kai', password: 'kai-demo', next: '/console/runs' });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/console/runs');
    const cookie = ok.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^airlock_console=[\w-]+\.[\w-]+\.[\w-]+;/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Max-Age=\d+/);

    const kai = await signIn(app, 'kai', 'kai-demo');
    expect(await (await kai.get('/console/runs')).text()).toContain('user:kai');
    // A forged cookie (another key) is no session.
    const forged = kai.cookie.replace(/\.[\w-]+$/, '.AAAA');
    expect((await app.request('/console/runs', { headers: { cookie: forged } })).status).toBe(303);
    const out = await kai.post('/console/sign-out', {});
    expect(out.status).toBe(303);
    expect((await kai.get('/console/runs')).status).toBe(303);
  });

  it('refuses a cross-origin sign-in', async () => {
    const res = await form(app, '/console/sign-in', { user: 'priya', password: 'priya-demo' }, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('shows a person only the approvals they may decide: a support lead sees nothing, and a vote is refused with the reason', async () => {
    const dana = await signIn(app, 'dana', 'dana-demo');
    const inbox = await (await dana.get('/console/approvals')).text();
    expect(inbox).toContain(approval.id);
    expect(inbox).toContain('payments.refund');
    const evidence = await (await dana.get(`/console/approvals/${approval.id}`)).text();
    for (const part of ['Evidence', 'untrusted', 'tickets.get_ticket', 'Exact arguments', '&quot;amount_cents&quot;: 4000', 'Against ground truth', 'refund-needs-approval']) expect(evidence).toContain(part);

    // sam is a support lead, not a finance approver: no row, no page, and a vote is refused with the reason (and audited).
    const sam = await signIn(app, 'sam', 'sam-demo');
    expect(await (await sam.get('/console/approvals')).text()).not.toContain(approval.id);
    const page = await sam.get(`/console/approvals/${approval.id}`);
    expect(page.status).toBe(404);
    expect(await page.text()).not.toContain('amount_cents');
    const refused = await sam.post(`/console/approvals/${approval.id}`, { action: 'approve', reason: 'looks fine' });
    expect(refused.status).toBe(403);
    const text = await refused.text();
    expect(text).toContain('refused:');
    expect(text).not.toContain('amount_cents');
    const records = await airlock.store.readAuditForRun(approval.runId);
    expect(records.some((r) => r.type === 'approval.refused' && r.principal === 'user:sam' && r.body['authMethod'] === 'password')).toBe(true);
    expect((await airlock.store.getApproval(approval.id))?.decisions).toHaveLength(0);
  });

  it('refuses a state-changing request without the session CSRF token, with a wrong one, or from another origin', async () => {
    const dana = await signIn(app, 'dana', 'dana-demo');
    const path = `/console/approvals/${approval.id}`;
    const attempts = [
      await form(app, path, { action: 'approve', reason: 'x' }, { cookie: dana.cookie }),
      await form(app, path, { _csrf: 'forged-token', action: 'approve', reason: 'x' }, { cookie: dana.cookie }),
      await dana.post(path, { action: 'approve', reason: 'x' }, { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }),
      await dana.post(path, { action: 'approve', reason: 'x' }, { origin: 'http://evil.example' }),
      await dana.post(path, { action: 'approve', reason: 'x' }, { 'sec-fetch-site': 'same-site' }),
    ];
    for (const res of attempts) {
      expect(res.status).toBe(403);
      expect(await res.text()).toMatch(/CSRF|another site|another origin/);
    }
    // A form larger than the console accepts is refused before anything reads it.
    expect((await dana.post(path, { action: 'approve', reason: 'x'.repeat(70_000) })).status).toBe(413);
    // Another person's token does not fit this session either.
    const priya = await signIn(app, 'priya', 'priya-demo');
    expect((await form(app, path, { _csrf: priya.csrf, action: 'approve', reason: 'x' }, { cookie: dana.cookie })).status).toBe(403);
    expect((await airlock.store.getApproval(approval.id))?.status).toBe('pending');
  });

  it('records a vote through the API path with the console login method and time; the run goes on and ends verified', async () => {
    const dana = await signIn(app, 'dana', 'dana-demo');
    const res = await dana.post(`/console/approvals/${approval.id}`, { action: 'approve', reason: 'matches the ticket' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('your approval is recorded; the run continued and is now verified');
    const decided = await airlock.store.getApproval(approval.id);
    expect(decided?.status).toBe('consumed'); // approved, then used once by the resumed run
    const vote = decided?.decisions[0];
    expect(vote).toMatchObject({ approver: 'user:dana', decision: 'approve', issuer: 'airlock-console', subject: 'user:dana', authMethod: 'password' });
    expect(Date.parse(vote?.authTime ?? '')).toBeGreaterThan(0);
    const record = (await airlock.store.readAuditForRun(approval.runId)).find((r) => r.type === 'approval.decided');
    expect(record?.body).toMatchObject({ authMethod: 'password', issuer: 'airlock-console', authTime: vote?.authTime });
    // Voting again is refused with the reason.
    const again = await dana.post(`/console/approvals/${approval.id}`, { action: 'approve', reason: 'again' });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('is already consumed');
    // The decided approval stays visible to the person who took part.
    expect(await (await dana.get('/console/approvals?show=decided')).text()).toContain(approval.id);
  });

  it('shows the run timeline, verifies the audit trail, lists runs and incidents, and simulates a policy decision', async () => {
    const dana = await signIn(app, 'dana', 'dana-demo');
    const run = await (await dana.get(`/console/runs/${approval.runId}`)).text();
    for (const part of ['verified', 'Timeline', 'decision approval (single) for payments.refund', 'refund-needs-approval', 'vote approve by user:dana', 'read tickets.get_ticket', 'confidential, untrusted', 'Roll back']) expect(run).toContain(part);
    const runs = await (await dana.get('/console/runs?workflow=refund-desk&status=verified')).text();
    expect(runs).toContain(approval.runId);
    expect(await (await dana.get('/console/runs?status=failed')).text()).not.toContain(approval.runId);
    // The principal filter takes the agent's ref or the person acted for.
    expect(await (await dana.get('/console/runs?principal=agent:refund-bot')).text()).toContain(approval.runId);
    expect(await (await dana.get('/console/runs?principal=user:nobody')).text()).toContain('no runs match');
    const audit = await (await dana.get('/console/audit?type=approval.decided')).text();
    expect(audit).toContain('approval.decided');
    expect(audit).not.toContain('<td>run.started</td>');
    // The key that checks the signed checkpoints is shown, for verifying an export offline.
    expect(audit).toContain(airlock.checkpoints.verifier.text);
    // The export ends with its signed checkpoints (one made now): it verifies offline with the public key alone.
    const exported = await (await dana.get('/console/audit/export')).text();
    expect(exported.trim().split('\n').length).toBeGreaterThan(10);
    const file = path.join(ws.dir, 'console-export.jsonl');
    writeFileSync(file, exported);
    const offline = await verifyExportFile(file, { key: airlock.checkpoints.verifier });
    expect(offline.chain.ok).toBe(true);
    expect(offline.checkpoints).toMatchObject({ ok: true, uncovered: 0 });
    expect(offline.end).toMatchObject({ ok: true });
    // Verify checks what `airlock audit verify` checks, and says it the same way: the chain, then the checkpoints.
    const verify = await dana.post('/console/audit/verify', {});
    expect(verify.status).toBe(200);
    const said = await verify.text();
    expect(said).toMatch(/ok: \d+ audit records verified; head #\d+ [0-9a-f]{64}/);
    expect(said).toMatch(/ok: \d+ signed checkpoints hold \(the latest of \d+ records made /);
    expect(await (await dana.get('/console/audit')).text()).toMatch(/<td class="mono">\d+<\/td>/);
    expect((await dana.get('/console/incidents')).status).toBe(200);
    const sim = await (await dana.get(`/console/policy?as=agent:refund-bot&tool=payments.refund&args=${encodeURIComponent('{"order_id":"1182","amount_cents":4000,"currency":"EUR","reason":"x"}')}`)).text();
    expect(sim).toContain('refund-needs-approval');
  });

  it('assigns an open incident to a person and resolves it with a note, through the CLI\'s functions; a forged assignee is refused', async () => {
    const { incident } = await openIncident(airlock, { runId: approval.runId, kind: 'verification-failed', key: 'console-assign', title: 'refund not seen at the bank', evidence: null });
    const sam = await signIn(app, 'sam', 'sam-demo');
    const page = await (await sam.get('/console/incidents')).text();
    expect(page).toContain('refund not seen at the bank');
    expect(page).toContain('nobody yet');
    const forged = await sam.post(`/console/incidents/${incident.id}/assign`, { to: 'agent:refund-bot' });
    expect(forged.status).toBe(422);
    expect(await forged.text()).toContain('is not a person');
    const ok = await sam.post(`/console/incidents/${incident.id}/assign`, { to: 'user:dana' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain(`incident ${incident.id} assigned to user:dana`);
    // Without the CSRF token, nothing changes.
    const noToken = await form(app, `/console/incidents/${incident.id}/assign`, { to: 'user:priya' }, { cookie: sam.cookie });
    expect(noToken.status).toBe(403);
    expect((await airlock.store.getIncident(incident.id))?.assignee).toBe('user:dana');
    const resolved = await sam.post(`/console/incidents/${incident.id}/resolve`, { note: 'the bank confirmed it a day late' });
    expect(await resolved.text()).toContain(`incident ${incident.id} resolved`);
    const trail = (await airlock.store.readAuditForRun(approval.runId)).filter((r) => r.body['incidentId'] === incident.id).map((r) => [r.type, r.principal]);
    expect(trail).toEqual([
      ['incident.opened', null],
      ['incident.refused', 'user:sam'],
      ['incident.assigned', 'user:sam'],
      ['incident.resolved', 'user:sam'],
    ]);
  });

  it('refuses further sign-ins for a person after repeated failures, even with the right password', async () => {
    for (let i = 0; i < SIGN_IN_LIMIT.failures; i++) expect((await form(app, '/console/sign-in', { user: 'kai', password: `guess-${i}` })).status).toBe(401);
    const blocked = await form(app, '/console/sign-in', { user: 'kai', password: 'kai-demo' });
    expect(blocked.status).toBe(429);
    expect(await blocked.text()).toContain('too many failed sign-ins for user:kai');
    // Another person is not affected.
    expect((await form(app, '/console/sign-in', { user: 'priya', password: 'priya-demo' })).status).toBe(303);
  });
});

describe('the console, for an approval that needs re-authentication', () => {
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let app: Hono;

  beforeAll(async () => {
    ws = copyAcme();
    // The demo's one-approver refund becomes a step-up by re-authentication.
    const file = path.join(ws.dir, 'policies', 'refunds.cedar');
    writeFileSync(file, readFileSync(file, 'utf8').replace('@approval("single")', '@approval("reauth")'));
    airlock = await openAirlock(ws.dir);
    app = new Hono().route('/console', createConsole(airlock));
  });
  afterAll(async () => {
    await airlock?.close();
    ws?.cleanup();
  });

  it('asks for the password again at vote time and records that login, method and time, with the vote', async () => {
    const run = await airlock.runner.start('refund-desk', { ticket_id: 'T-311' });
    const [approval] = await airlock.store.listApprovals({ status: 'pending', runId: run.id });
    expect(approval?.level).toBe('reauth');
    if (!approval) throw new Error('no pending approval');
    const id = approval.id;
    const dana = await signIn(app, 'dana', 'dana-demo');
    expect(await (await dana.get(`/console/approvals/${id}`)).text()).toContain('Your password again');
    for (const password of ['', 'wrong-password']) {
      const res = await dana.post(`/console/approvals/${id}`, { action: 'approve', reason: 'checked', password });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('enter your password again');
    }
    expect((await airlock.store.getApproval(id))?.decisions).toHaveLength(0);
    const asked = airlock.now().getTime();
    const ok = await dana.post(`/console/approvals/${id}`, { action: 'approve', reason: 'checked the photo', password: 'dana-demo' });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('the run continued and is now verified');
    const vote = (await airlock.store.getApproval(id))?.decisions[0];
    expect(vote).toMatchObject({ approver: 'user:dana', issuer: 'airlock-console', authMethod: 'password+reauth' });
    // The login is the password entered with this vote: after the request began, not after the vote.
    const authTime = Date.parse(vote?.authTime ?? '');
    expect(authTime).toBeGreaterThanOrEqual(asked);
    expect(authTime).toBeLessThanOrEqual(Date.parse(vote?.time ?? ''));
  });
});


describe('the console, for an edit that needs step-up', () => {
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let app: Hono;

  beforeAll(async () => {
    ws = copyAcme();
    airlock = await openAirlock(ws.dir);
    app = new Hono().route('/console', createConsole(airlock));
  });
  afterAll(async () => {
    await airlock?.close();
    ws?.cleanup();
  });

  it('an edit is a new action its author may not approve; two other people approve it, each with their own login', async () => {
    const run = await airlock.runner.start('refund-desk', { ticket_id: 'T-311' });
    const [approval] = await airlock.store.listApprovals({ status: 'pending', runId: run.id });
    if (!approval) throw new Error('no pending approval');
    const args = { ...(approval.summary as { args: Record<string, unknown> }).args, amount_cents: 6000 };
    const dana = await signIn(app, 'dana', 'dana-demo');
    const edited = await dana.post(`/console/approvals/${approval.id}`, { action: 'edit', arguments: JSON.stringify(args), reason: 'the carafe is cracked too' });
    expect(edited.status).toBe(200);
    const text = await edited.text();
    expect(text).toContain('your edit is a new action');
    const revised = (await airlock.store.getApproval(approval.id))?.supersededBy;
    if (!revised) throw new Error('no revised approval');
    expect((await airlock.store.getApproval(revised))?.level).toBe('step-up');
    expect(text).toContain('step-up: two different approvers');

    const own = await dana.post(`/console/approvals/${revised}`, { action: 'approve', reason: 'mine' });
    expect(own.status).toBe(403);
    expect(await own.text()).toMatch(/refused: .*wrote these arguments/);
    const kai = await signIn(app, 'kai', 'kai-demo');
    const first = await kai.post(`/console/approvals/${revised}`, { action: 'approve', reason: 'checked the photo: 60 EUR' });
    expect(await first.text()).toContain('waiting for 1 more approval(s) from a different person');
    const priya = await signIn(app, 'priya', 'priya-demo');
    const second = await priya.post(`/console/approvals/${revised}`, { action: 'approve', reason: 'agreed' });
    expect(await second.text()).toContain('the run continued and is now verified');
    const votes = (await airlock.store.getApproval(revised))?.decisions ?? [];
    expect(votes.map((v) => [v.approver, v.subject, v.authMethod])).toEqual([
      ['user:kai', 'user:kai', 'password'],
      ['user:priya', 'user:priya', 'password'],
    ]);
  });
});
