// Slack as an approval channel, end to end without the network: the demo's refund pauses, the
// approval request goes out through the outbox as a Block Kit message (to a loopback stand-in for
// Slack's Web API), and clicks come back to the interactivity endpoint signed as Slack signs them.
// A click proves nothing unless Slack's signature holds, the request is fresh, the Slack user is a
// declared person, that person may decide, and the button names the action they were shown.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { mountSlackActions } from '../../src/server/slack-actions.js';
import { slackSignature } from '../../src/notify/slack-signature.js';
import { recordsOf } from '../../src/audit/records.js';
import type { ApprovalId, RunId } from '../../src/types.js';
import { copyAcme, groundTruth } from '../helpers/workspace.js';
import { postSlackAction, signedSlackClick, slackApprovalPosted, slackStandIn, type SlackButton, type SlackClick } from '../helpers/slack.js';

const SECRET = 'slack-signing-secret-for-tests';
const TOKEN = 'xoxb-test-token-Zq8vN3kL';
const env = { AIRLOCK_TEST_SLACK_SECRET: SECRET, AIRLOCK_TEST_SLACK_TOKEN: TOKEN };

describe('approvals in Slack', () => {
  const slack = slackStandIn(env);
  let ws: ReturnType<typeof copyAcme>;
  let a: Airlock;
  let runId: RunId;
  let approvalId: ApprovalId;
  let button: SlackButton;
  let actions: ReturnType<typeof mountSlackActions>;
  let app: Hono;
  let now = Math.floor(Date.now() / 1000);

  beforeEach(async () => {
    const { delivery, posted, ...opened } = await slackApprovalPosted(slack, {
      botTokenEnv: 'AIRLOCK_TEST_SLACK_TOKEN',
      signingSecretEnv: 'AIRLOCK_TEST_SLACK_SECRET',
      people: { U0DANA: 'user:dana', U0SAM: 'user:sam' },
    });
    ({ ws, a, runId, approvalId, button } = opened);
    expect(delivery).toMatchObject({ delivered: 1 });
    expect(posted?.auth).toBe(`Bearer ${TOKEN}`);
    expect(posted?.body.channel).toBe('C0APPROVALS');
    app = new Hono();
    now = Math.floor(Date.now() / 1000);
    actions = mountSlackActions(app, a, { nowSeconds: () => now });
  });
  afterEach(async () => {
    await actions.settled();
    await a.close();
    ws.cleanup();
  });

  /** A click as Slack sends it: form-encoded `payload`, signed with the app's secret at `ts`. */
  async function click(over: SlackClick & { ts?: number; secret?: string } = {}) {
    const c = signedSlackClick(over, { button, slackUrl: slack.url, secret: over.secret ?? SECRET, ts: over.ts ?? now });
    const res = await postSlackAction(app, c.body, c.ts, c.sig);
    await actions.settled();
    return res;
  }
  const hookTexts = () => slack.seen.filter((s) => s.path.startsWith('/api/hooks/')).map((s) => s.body as { text: string; replace_original: boolean });

  it('posts the request with the summary, withholds confidential arguments, and binds its buttons to the summary shown', async () => {
    // Re-send to look at the message itself.
    const approval = (await a.store.getApproval(approvalId))!;
    const { slackApprovalMessage } = await import('../../src/gateway/approvals/slack.js');
    const m = slackApprovalMessage(approval, { channel: 'C0APPROVALS', clearance: 'internal', publicUrl: 'https://airlock.acme.example' });
    const text = JSON.stringify(m.blocks);
    expect(m.text).toContain('payments.refund');
    expect(text).toContain('withheld: the run has read confidential content');
    expect(text).not.toContain('amount_cents');
    expect(text).toContain('https://airlock.acme.example/console/approvals/');
    expect(text).not.toContain('"type":"mrkdwn"');
    const cleared = JSON.stringify(slackApprovalMessage(approval, { channel: 'C0APPROVALS', clearance: 'confidential' }).blocks);
    expect(cleared).toContain('amount_cents');
    expect(button.approvalId).toBe(approvalId);
  });

  it('a click by the finance approver is their vote: recorded as a Slack login, the run resumes and ends verified', async () => {
    const res = await click();
    expect(res.status).toBe(200);
    const approval = (await a.store.getApproval(approvalId))!;
    expect(approval.status).toBe('consumed');
    expect(approval.decisions[0]).toMatchObject({ approver: 'user:dana', decision: 'approve', reason: 'matches the ticket', issuer: 'slack:T0ACME', subject: 'U0DANA', authMethod: 'slack' });
    expect((await a.store.getRun(runId))?.status).toBe('verified');
    expect(hookTexts()).toEqual([{ replace_original: true, text: 'payments.refund: approved by user:dana (via Slack): matches the ticket.' }]);
    expect(groundTruth(ws.acmeDb).refunds.filter((r) => r['order_id'] === '1182')).toHaveLength(1);
  });

  it.each([
    ['a forged signature', { secret: 'not-the-secret' }, /signature does not match/],
    ['a replayed click (older than five minutes)', { ts: Math.floor(Date.now() / 1000) - 301 }, /more than 300 s old/],
  ])('%s is refused before anything is read: nothing recorded', async (_, over, why) => {
    const res = await click(over);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(why);
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
    expect(recordsOf(await a.store.readAuditForRun(runId), 'approval.refused')).toHaveLength(0);
    expect(hookTexts()).toEqual([]);
  });

  it('a Slack user who is nobody in the workspace is told so, and nothing is recorded', async () => {
    await click({ user: 'U0STRANGER' });
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
    expect(hookTexts()).toEqual([{ replace_original: false, response_type: 'ephemeral', text: expect.stringMatching(/^Not recorded: your Slack account \(U0STRANGER\) is not a person/) }]);
  });

  it('a person who may not decide is refused by policy, on record with the Slack login', async () => {
    await click({ user: 'U0SAM' });
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
    const refused = recordsOf(await a.store.readAuditForRun(runId), 'approval.refused');
    expect(refused.map((r) => [r.principal, r.body.authMethod, r.body.issuer])).toEqual([['user:sam', 'slack', 'slack:T0ACME']]);
    expect(hookTexts()[0]?.text).toMatch(/^Not recorded: /);
    expect(groundTruth(ws.acmeDb).refunds.filter((r) => r['order_id'] === '1182')).toEqual([]);
  });

  it('a channel not cleared for the arguments offers no Approve, and an approve click on it is refused', async () => {
    const approval = (await a.store.getApproval(approvalId))!;
    const { slackApprovalMessage } = await import('../../src/gateway/approvals/slack.js');
    const actionsOf = (clearance: 'internal' | 'confidential') =>
      (slackApprovalMessage(approval, { channel: 'C', clearance }).blocks.find((b) => (b as { type: string }).type === 'actions') as { elements: { action_id: string }[] }).elements.map((e) => e.action_id);
    expect(actionsOf('internal')).toEqual(['reject']);
    expect(actionsOf('confidential')).toEqual(['approve', 'reject']);
    // The workspace's channel loses its clearance: a click on an (old) Approve button no longer counts.
    await a.close();
    const file = path.join(ws.dir, 'airlock.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('clearance: confidential', 'clearance: internal'));
    a = await openAirlock(ws.dir);
    app = new Hono();
    actions = mountSlackActions(app, a, { nowSeconds: () => now });
    await click();
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
    expect(hookTexts()[0]?.text).toMatch(/did not show the whole action/);
  });

  it('a click from another Slack team is not the mapped person', async () => {
    const payloadTeam = 'T0OTHER';
    const payload = { type: 'block_actions', user: { id: 'U0DANA' }, team: { id: payloadTeam }, actions: [{ action_id: 'approve', value: JSON.stringify(button) }], response_url: `${slack.url}/hooks/1` };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const ts = String(now);
    await postSlackAction(app, body, ts, slackSignature(SECRET, ts, body));
    await actions.settled();
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
    expect(hookTexts()[0]?.text).toMatch(/comes from Slack team T0OTHER/);
  });

  it('a button for another summary never approves this action', async () => {
    await click({ value: { ...button, summaryHash: 'f'.repeat(64) } });
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
    expect(hookTexts()[0]?.text).toMatch(/is not the action you were shown/);
  });

  it('a rejection needs a reason; with one, the run is told and nothing executes', async () => {
    await click({ action: 'reject', reason: ' ' });
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
    expect(hookTexts()[0]?.text).toMatch(/needs a reason/);
    await click({ action: 'reject', reason: 'wrong order' });
    expect((await a.store.getApproval(approvalId))?.status).toBe('rejected');
    expect(groundTruth(ws.acmeDb).refunds.filter((r) => r['order_id'] === '1182')).toEqual([]);
  });

  it('never answers to a response URL outside Slack’s hooks', async () => {
    await click({ responseUrl: 'http://127.0.0.1:1/elsewhere' });
    expect((await a.store.getApproval(approvalId))?.status).toBe('consumed');
    expect(slack.seen.filter((s) => s.path.startsWith('/api/hooks/'))).toHaveLength(0);
  });

  it('a Slack user mapped to someone who is not a declared person is a config error naming the entry', async () => {
    const file = path.join(ws.dir, 'airlock.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace("U0SAM: user:sam", "U0SAM: user:samuel"));
    const { loadWorkspace } = await import('../../src/config/load.js');
    await expect(loadWorkspace(ws.dir)).rejects.toThrow(/airlock\.yaml:\d+:\d+ at `notifications\.slack\.people\.U0SAM`: Slack user `U0SAM` stands for `user:samuel`, who is not a declared person/);
  });

  it('refuses a payload that is not one, and ignores the link button', async () => {
    const body = 'payload=%7B%22type%22%3A1%7D';
    const ts = String(now);
    const res = await postSlackAction(app, body, ts, slackSignature(SECRET, ts, body));
    expect(res.status).toBe(400);
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
  });
});
