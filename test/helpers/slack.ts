// Test helper: Slack as the Acme demo's approval channel on loopback: a stand-in for Slack's Web API, the refund awaiting approval with its message posted, and clicks signed as Slack signs them.
import { afterAll, beforeAll } from 'vitest';
import type { Hono } from 'hono';
import { slackSignature } from '../../src/notify/slack-signature.js';
import { acmeAwaitingApproval } from './workspace.js';
import { FakeEndpoint, startedForSuite } from './fake-model-endpoint.js';

/** What an approval message's button carries: the approval and the hash of the summary it showed. */
export interface SlackButton {
  approvalId: string;
  summaryHash: string;
}

/** Slack's Web API on loopback (under `/api`): started before the suite's tests with `env` set, stopped after with `env` unset. */
export function slackStandIn(env: Record<string, string>): FakeEndpoint {
  beforeAll(() => {
    Object.assign(process.env, env);
  });
  afterAll(() => {
    for (const k of Object.keys(env)) delete process.env[k];
  });
  return startedForSuite(new FakeEndpoint('/api'));
}

/**
 * The demo's refund awaiting approval, with Slack (team T0ACME, channel C0APPROVALS, cleared for
 * confidential content, answering on `slack`) as its channel and the request delivered: what the
 * delivery reported, the `chat.postMessage` request and the approve button it carried. The stand-in
 * is cleared afterwards, answering `{ ok: true }`.
 */
export async function slackApprovalPosted(slack: FakeEndpoint, config: { botTokenEnv: string; signingSecretEnv: string; people: Record<string, string> }) {
  slack.reset();
  slack.otherwise = { status: 200, body: { ok: true } };
  const { ws, a, runId, approvalId } = await acmeAwaitingApproval('slack', {
    channel: 'C0APPROVALS',
    teamId: 'T0ACME',
    clearance: 'confidential',
    ...config,
    apiUrl: slack.url,
    responseUrlPrefix: `${slack.url}/hooks/`,
  });
  const delivery = await a.notifier.deliverDue();
  const posted = slack.seen.find((s) => s.path === '/api/chat.postMessage');
  const elements = posted?.body.blocks.find((b: { type: string }) => b.type === 'actions').elements;
  const button = JSON.parse(elements[0].value) as SlackButton;
  slack.reset();
  slack.otherwise = { status: 200, body: { ok: true } };
  return { ws, a, runId, approvalId, delivery, posted, button };
}

/** What a click changes from the default one: U0DANA of team T0ACME approving `button` with a reason. */
export interface SlackClick {
  user?: string;
  team?: string;
  action?: string;
  value?: unknown;
  reason?: string;
  responseUrl?: string;
}

/** A click as Slack sends it: the form-encoded `payload` of a button click, its timestamp and its signature with `secret`. */
export function signedSlackClick(over: SlackClick, on: { button: SlackButton; slackUrl: string; secret: string; ts: number }): { body: string; ts: string; sig: string } {
  const payload = {
    type: 'block_actions',
    user: { id: over.user ?? 'U0DANA' },
    team: { id: over.team ?? 'T0ACME' },
    actions: [{ action_id: over.action ?? 'approve', value: JSON.stringify(over.value ?? on.button) }],
    response_url: over.responseUrl ?? `${on.slackUrl}/hooks/1`,
    state: { values: { airlock_reason: { reason: { type: 'plain_text_input', value: over.reason ?? 'matches the ticket' } } } },
  };
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const ts = String(on.ts);
  return { body, ts, sig: slackSignature(on.secret, ts, body) };
}

/** Posts `body` to the interactivity endpoint with Slack's timestamp and signature headers. */
export function postSlackAction(app: Hono, body: string, ts: string, sig: string, contentType = 'application/x-www-form-urlencoded') {
  return app.request('/channels/slack/actions', { method: 'POST', headers: { 'content-type': contentType, 'x-slack-request-timestamp': ts, 'x-slack-signature': sig }, body });
}
