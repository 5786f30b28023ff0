// Adversarial tests (from a security review): Slack approvals (src/server/slack-actions.ts,
// src/notify/slack-signature.ts, src/gateway/approvals/slack.ts, vote's `shown.summaryHash`).
// Forged, replayed, duplicated and concurrent clicks against the interactivity endpoint, and what
// the Block Kit message shows. Each FINDING below failed before its fix and is kept as a regression test.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import type { Airlock } from '../../src/airlock.js';
import { mountSlackActions } from '../../src/server/slack-actions.js';
import { slackRequestProblem, slackSignature } from '../../src/notify/slack-signature.js';
import { slackApprovalMessage } from '../../src/gateway/approvals/slack.js';
import { recordsOf } from '../../src/audit/records.js';
import type { ApprovalRecord } from '../../src/store/store.js';
import type { ApprovalId, Json, RunId } from '../../src/types.js';
import { copyAcme, groundTruth } from '../helpers/workspace.js';
import { postSlackAction, signedSlackClick, slackApprovalPosted, slackStandIn, type SlackButton, type SlackClick } from '../helpers/slack.js';

const SECRET = 'slack-signing-secret-for-review';
const TOKEN = 'xoxb-review-token-Zq8vN3kL';
const env = { AIRLOCK_REVIEW_SLACK_SECRET: SECRET, AIRLOCK_REVIEW_SLACK_TOKEN: TOKEN };

/** `a` with a different summary (what the agent's proposal could have put there). */
function withSummary(a: ApprovalRecord, change: (s: { [k: string]: Json }) => { [k: string]: Json }): ApprovalRecord {
  return { ...a, summary: change(a.summary as { [k: string]: Json }) };
}
const blocksText = (m: { blocks: Json[] }) =>
  m.blocks
    .flatMap((b) => {
      const o = b as { text?: { text?: string }; fields?: { text: string }[] };
      return [o.text?.text ?? '', ...(o.fields ?? []).map((f) => f.text)];
    })
    .join('\n');

describe('Slack approvals', () => {
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
    ({ ws, a, runId, approvalId, button } = await slackApprovalPosted(slack, {
      botTokenEnv: 'AIRLOCK_REVIEW_SLACK_TOKEN',
      signingSecretEnv: 'AIRLOCK_REVIEW_SLACK_SECRET',
      people: { U0DANA: 'user:dana', U0SAM: 'user:sam', U0PRIYA: 'user:priya' },
    }));
    app = new Hono();
    now = Math.floor(Date.now() / 1000);
    actions = mountSlackActions(app, a, { nowSeconds: () => now });
  });
  afterEach(async () => {
    await actions.settled();
    await a.close();
    ws.cleanup();
  });

  const signedClick = (over: SlackClick = {}) => signedSlackClick(over, { button, slackUrl: slack.url, secret: SECRET, ts: now });
  const send = (body: string, ts: string, sig: string) => postSlackAction(app, body, ts, sig);
  const hookBodies = () => slack.seen.filter((s) => s.path.startsWith('/api/hooks/')).map((s) => s.body as { text: string; replace_original: boolean });
  const refunds = () => groundTruth(ws.acmeDb).refunds.filter((r) => r['order_id'] === '1182');

  // ---- findings -------------------------------------------------------------------------------

  // FINDING: the agent's reasoning is shown whatever the channel's clearance. The run has read
  // confidential content (the arguments are withheld for that reason), yet the model's free text,
  // written after reading it, goes to the channel verbatim: the same content leaks through it.
  it("the agent's reasoning, written after reading confidential content, is withheld like the arguments", async () => {
    const approval = (await a.store.getApproval(approvalId))!;
    const leaky = withSummary(approval, (s) => ({ ...s, evidence: { ...((s['evidence'] as object) ?? {}), reasoning: 'Refunding; the customer card on file is 4111 1111 1111 1111, exp 09/29.' } }));
    const m = slackApprovalMessage(leaky, { channel: 'C0APPROVALS', clearance: 'internal' });
    const text = blocksText(m);
    expect(text).toContain('withheld: the run has read confidential content');
    expect(text).not.toContain('4111 1111 1111 1111');
  });

  // FINDING: arguments longer than one text object are silently cut at 2,900 characters, with no mark.
  // The agent orders the keys: a long harmless field first pushes the one that matters out of sight,
  // and the approver approves (by summary hash) arguments they were never shown.
  it('arguments too long to show are never silently cut: the approver sees all of them, or is told some are not shown', async () => {
    const approval = (await a.store.getApproval(approvalId))!;
    const padded = withSummary(approval, (s) => ({ ...s, args: { order_id: '1182', memo: 'Customer was polite and patient. '.repeat(100), amount_cents: 9_999_900 } }));
    const m = slackApprovalMessage(padded, { channel: 'C0APPROVALS', clearance: 'restricted' });
    const text = blocksText(m);
    const showsAll = text.includes('amount_cents') && text.includes('9999900');
    const saysCut = /truncat|not shown|cut|open it in|too long/i.test(text.split('Arguments:')[1] ?? '');
    expect(showsAll || saysCut).toBe(true);
  });

  // FINDING (low): bidirectional controls in agent-written arguments or reasoning are passed through to
  // Slack's plain text, where they reorder what the approver reads (`‮` makes `moc.live@kcatta` read
  // as `attack@evil.com` and vice versa). Plain text stops markup, not this.
  it('bidirectional control characters in agent text are neutralised before they reach the approver', async () => {
    const approval = (await a.store.getApproval(approvalId))!;
    const tricky = withSummary(approval, (s) => ({ ...s, args: { order_id: '1182', note: 'refund to \u202Egnp.lave\u202C account' }, evidence: { ...((s['evidence'] as object) ?? {}), reasoning: 'safe \u2066hidden\u2069 \u202Eesrever' } }));
    const text = blocksText(slackApprovalMessage(tricky, { channel: 'C0APPROVALS', clearance: 'restricted' }));
    expect(/[\u202A-\u202E\u2066-\u2069\u200E\u200F]/.test(text)).toBe(false);
  });

  // FINDING (low, hardening): the team of the click is recorded but never checked. A Slack app installed
  // in a second workspace (or a Slack Connect channel) delivers clicks from other teams signed with the
  // same secret; a user id in `people` is taken to be the declared person whichever team it comes from.
  it('a click from another Slack team is not counted as the mapped person', async () => {
    const c = signedClick({ team: 'T0OTHERORG' });
    await send(c.body, c.ts, c.sig);
    await actions.settled();
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
  });

  // FINDING (low): the result posted to the whole channel (`replace_original`) is a mrkdwn `text`
  // holding the approver's reason verbatim: `<!channel>` pings everyone, `<url|label>` renders a link.
  it("the channel-wide result renders the approver's reason as plain text, not mrkdwn", async () => {
    const c = signedClick({ reason: 'ok <!channel> see <https://evil.example/login|the Airlock console>' });
    await send(c.body, c.ts, c.sig);
    await actions.settled();
    const replaced = hookBodies().find((b) => b.replace_original);
    expect(replaced).toBeDefined();
    const raw = JSON.stringify(replaced);
    expect(raw.includes('<!channel>') || raw.includes('<https://evil.example')).toBe(false);
  });

  // ---- withstood ------------------------------------------------------------------------------

  it('withstands: a signature over a different body, a future timestamp, uppercase hex, a fractional timestamp', async () => {
    const c = signedClick();
    const other = signedClick({ user: 'U0PRIYA' });
    expect((await send(other.body, c.ts, c.sig)).status).toBe(401);
    const future = String(now + 301);
    expect((await send(c.body, future, slackSignature(SECRET, future, c.body))).status).toBe(401);
    expect((await send(c.body, c.ts, c.sig.toUpperCase().replace('V0=', 'v0='))).status).toBe(401);
    expect((await send(c.body, `${c.ts}.0`, slackSignature(SECRET, `${c.ts}.0`, c.body))).status).toBe(401);
    expect(slackRequestProblem('', { timestamp: c.ts, signature: slackSignature('', c.ts, c.body) }, c.body, now)).toBeNull(); // pure check; the endpoint refuses an unset secret first (503)
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
  });

  it('withstands: a captured click replayed inside the window, and the same click sent twice at once, count once', async () => {
    const c = signedClick();
    const [r1, r2] = await Promise.all([send(c.body, c.ts, c.sig), send(c.body, c.ts, c.sig)]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    await actions.settled();
    const r3 = await send(c.body, c.ts, c.sig);
    expect(r3.status).toBe(200);
    await actions.settled();
    const decided = recordsOf(await a.store.readAuditForRun(runId), 'approval.decided');
    expect(decided).toHaveLength(1);
    expect(refunds()).toHaveLength(1);
  });

  it('withstands: an approve and a reject racing from two people: one outcome, at most one refund', async () => {
    const yes = signedClick({ user: 'U0DANA' });
    const no = signedClick({ user: 'U0PRIYA', action: 'reject', reason: 'wrong order' });
    await Promise.all([send(yes.body, yes.ts, yes.sig), send(no.body, no.ts, no.sig)]);
    await actions.settled();
    const status = (await a.store.getApproval(approvalId))?.status;
    expect(['consumed', 'rejected']).toContain(status);
    expect(refunds().length).toBe(status === 'consumed' ? 1 : 0);
    expect(recordsOf(await a.store.readAuditForRun(runId), 'approval.decided')).toHaveLength(1);
  });

  it('withstands: a button naming another approval id with this summary hash, or a hash in another case, decides nothing', async () => {
    for (const value of [{ ...button, approvalId: 'APR-does-not-exist' }, { ...button, summaryHash: button.summaryHash.toUpperCase() }, { ...button, extra: 1 }, { approvalId: [approvalId], summaryHash: button.summaryHash }]) {
      const c = signedClick({ value });
      await send(c.body, c.ts, c.sig);
      await actions.settled();
    }
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
    expect(refunds()).toHaveLength(0);
  });

  it('withstands: an oversized or deeply nested signed payload is refused before it is read', async () => {
    const big = `payload=${'a'.repeat(70 * 1024)}`;
    expect((await send(big, String(now), slackSignature(SECRET, String(now), big))).status).toBe(413);
    let nested = '"x"';
    for (let i = 0; i < 5000; i++) nested = `[${nested}]`;
    const deep = new URLSearchParams({ payload: `{"type":"block_actions","user":{"id":"U0DANA"},"actions":${nested}}` }).toString();
    expect((await send(deep, String(now), slackSignature(SECRET, String(now), deep))).status).toBe(400);
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
  });

  it('withstands: response URLs that only look like Slack’s (userinfo, encoded host, other scheme) are never fetched', async () => {
    for (const responseUrl of [`http://evil.example/${slack.url}/hooks/1`, `${slack.url.replace('127.0.0.1', '127.0.0.1@evil.example')}/hooks/1`, `javascript:${slack.url}/hooks/`]) {
      const c = signedClick({ user: 'U0SAM', responseUrl });
      await send(c.body, c.ts, c.sig);
      await actions.settled();
    }
    expect(hookBodies()).toHaveLength(0);
  });

  it('withstands: a mapped person without eligibility cannot approve by a click', async () => {
    const c = signedClick({ user: 'U0SAM' });
    await send(c.body, c.ts, c.sig);
    await actions.settled();
    expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
    expect(recordsOf(await a.store.readAuditForRun(runId), 'approval.refused').map((r) => r.principal)).toEqual(['user:sam']);
  });
});
