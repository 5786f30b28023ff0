// Approval links from email, redeemed by the console: opening one changes nothing; the click redeems
// it once and signs its person in for that one approval, as the mail showed it; a vote through it is
// recorded as an email-link login; anything else the session tries is refused.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { createConsole } from '../../src/console/app.js';
import { linksKey, mintApprovalLink } from '../../src/gateway/approvals/links.js';
import { summaryHash } from '../../src/gateway/approvals/rules.js';
import type { ApprovalRecord } from '../../src/store/store.js';
import { copyAcme } from '../helpers/workspace.js';
import { form, ORIGIN } from './helpers.js';

describe('approval links in the console', () => {
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let app: Hono;
  let approval: ApprovalRecord;
  let key: Uint8Array;

  beforeAll(async () => {
    ws = copyAcme();
    const file = path.join(ws.dir, 'airlock.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['server', 'publicUrl'], 'https://airlock.acme.example');
    doc.setIn(['notifications', 'email'], doc.createNode({ smtp: { host: '127.0.0.1', port: 1, requireTls: false }, from: 'airlock@acme.example', people: { 'user:dana': 'dana@acme.example', 'user:priya': 'priya@acme.example' } }));
    writeFileSync(file, doc.toString());
    airlock = await openAirlock(ws.dir);
    app = new Hono().route('/console', createConsole(airlock));
    const run = await airlock.runner.start('refund-desk', { ticket_id: 'T-311' });
    approval = (await airlock.store.listApprovals({ status: 'pending', runId: run.id }))[0] as ApprovalRecord;
    key = linksKey(path.join(ws.dir, '.airlock'));
  });
  afterAll(async () => {
    await airlock?.close();
    ws?.cleanup();
  });

  const mint = async (person = 'user:dana', hash = summaryHash(approval), seconds = 900) => (await mintApprovalLink(key, { person, approvalId: approval.id, summaryHash: hash }, airlock.now(), seconds)).token;
  /** Redeems `token` and returns the session's cookie and CSRF token (from the approval page). */
  async function redeem(token: string) {
    const res = await form(app, '/console/link', { t: token });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/approvals/${approval.id}`);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const page = await (await app.request(`/console/approvals/${approval.id}`, { headers: { cookie } })).text();
    return { cookie, page, csrf: /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '' };
  }

  it('opening a link changes nothing: it says what it is for and asks for a click', async () => {
    const token = await mint();
    const res = await app.request(`/console/link?t=${encodeURIComponent(token)}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain(`This link opens approval ${approval.id} (payments.refund) for user:dana, once.`);
    expect(res.headers.get('set-cookie')).toBeNull();
    // Still unused: the click redeems it.
    await redeem(token);
  });

  it('a link works once, and its session reaches that one approval only', async () => {
    const token = await mint();
    const { cookie, page } = await redeem(token);
    expect(page).toContain('payments.refund');
    for (const elsewhere of ['/console/approvals', '/console/runs', '/console/audit', `/console/runs/${approval.runId}`]) {
      const res = await app.request(elsewhere, { headers: { cookie } });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('opens that approval only');
    }
    const again = await form(app, '/console/link', { t: token });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain('already used');
  });

  it('refuses a link that was altered, has expired, is for someone no longer mailed, or comes from another site', async () => {
    const token = await mint();
    const [h, p, s] = token.split('.');
    const forged = `${h}.${Buffer.from(Buffer.from(p!, 'base64url').toString().replace('user:dana', 'user:kai')).toString('base64url')}.${s}`;
    expect((await form(app, '/console/link', { t: forged })).status).toBe(400);
    const expired = (await mintApprovalLink(key, { person: 'user:dana', approvalId: approval.id, summaryHash: summaryHash(approval) }, new Date(airlock.now().getTime() - 3_600_000), 60)).token;
    const res = await form(app, '/console/link', { t: expired });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('expired');
    expect((await form(app, '/console/link', { t: await mint('user:kai') })).status).toBe(403);
    expect((await form(app, '/console/link', { t: await mint() }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status).toBe(403);
  });

  it('a link for another summary signs in, but its vote is refused: a link never decides what its mail did not show', async () => {
    const { cookie, csrf } = await redeem(await mint('user:dana', 'f'.repeat(64)));
    const res = await form(app, `/console/approvals/${approval.id}`, { _csrf: csrf, action: 'approve', reason: 'ok' }, { cookie });
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('is not the action you were shown');
    expect((await airlock.store.getApproval(approval.id))?.status).toBe('pending');
  });

  it('cannot edit the action', async () => {
    const { cookie, csrf } = await redeem(await mint());
    const res = await form(app, `/console/approvals/${approval.id}`, { _csrf: csrf, action: 'edit', arguments: '{"order_id":"1182","amount_cents":1,"currency":"EUR","reason":"x"}', reason: 'x' }, { cookie });
    expect(res.status).toBe(403);
  });

  it('decides the approval as shown, recorded as an email-link login of that mailbox, and the run goes on', async () => {
    const { cookie, csrf } = await redeem(await mint());
    const res = await form(app, `/console/approvals/${approval.id}`, { _csrf: csrf, action: 'approve', reason: 'matches the ticket' }, { cookie, origin: ORIGIN });
    expect(res.status).toBeLessThan(400);
    const decided = (await airlock.store.getApproval(approval.id))!;
    expect(decided.decisions[0]).toMatchObject({ approver: 'user:dana', decision: 'approve', authMethod: 'email-link', issuer: 'airlock:email', subject: 'dana@acme.example' });
    expect((await airlock.store.getRun(approval.runId))?.status).toBe('verified');
  });
});
