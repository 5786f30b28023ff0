// Slack's interactivity endpoint: a click on Approve or Reject in an approval message. Nothing in the
// body is read before Slack's signature holds (and the request is fresh); the Slack user must be a
// declared person (`notifications.slack.people`); the button names the summary hash the message
// showed, so a click can never approve an edited action or a different one. It ends in the same
// `vote` as every other door, and the message is updated to say what came of it.
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Airlock } from '../airlock.js';
import { slackRequestProblem } from '../notify/slack-signature.js';
import { decideApproval } from './approval-decisions.js';
import { SLACK_IDS, type SlackButtonValue } from '../gateway/approvals/slack.js';
import { approvalDigest, neutral } from '../gateway/approvals/channels.js';
import { requestProblem } from '../util/json.js';
import type { ApprovalId } from '../types.js';

/** Slack's interactivity payloads are small; anything larger is not one. */
const MAX_BODY = 64 * 1024;

const id = z.string().min(1).max(64);
const payloadSchema = z.object({
  type: z.string().max(64),
  user: z.object({ id }),
  team: z.object({ id }).nullish(),
  actions: z.array(z.object({ action_id: z.string().max(255), value: z.string().max(2000).optional() })).max(5),
  response_url: z.string().max(2000).optional(),
  state: z.object({ values: z.record(z.string().max(255), z.record(z.string().max(255), z.object({ value: z.string().max(2000).nullish() }))) }).optional(),
});
const buttonSchema = z.strictObject({ approvalId: z.string().min(1).max(100), summaryHash: z.string().regex(/^[0-9a-f]{64}$/) });

/** Mounts `POST /channels/slack/actions` when the workspace declares Slack; `settled()` waits for the work clicks started (tests). */
export function mountSlackActions(app: Hono, airlock: Airlock, opts: { env?: NodeJS.ProcessEnv; fetch?: typeof fetch; log?: Logger; nowSeconds?: () => number } = {}): { settled(): Promise<void> } {
  const cfg = airlock.workspace.file.notifications.slack;
  const inFlight = new Set<Promise<void>>();
  const settled = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  if (!cfg) return { settled };
  const env = opts.env ?? process.env;
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const nowSeconds = opts.nowSeconds ?? (() => Math.floor(Date.now() / 1000));

  /** Tells the clicker (and, with `replace`, everyone in the channel) what came of the click. */
  const answer = async (responseUrl: string | undefined, text: string, replace: boolean): Promise<void> => {
    // Only Slack's own hooks: a response URL is never an address of the payload's choosing elsewhere.
    if (!responseUrl || !underPrefix(responseUrl, cfg.responseUrlPrefix)) return;
    const body = replace ? { replace_original: true, text } : { replace_original: false, response_type: 'ephemeral', text };
    await doFetch(responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), redirect: 'manual', signal: AbortSignal.timeout(cfg.timeoutMs) })
      .then((r) => r.body?.cancel())
      .catch((e: unknown) => opts.log?.warn({ err: e instanceof Error ? e.message : String(e) }, 'slack: could not update the message'));
  };

  app.post('/channels/slack/actions', bodyLimit({ maxSize: MAX_BODY, onError: (c) => c.text(`larger than ${MAX_BODY} bytes: not a Slack interaction`, 413) }), async (c) => {
    const secret = env[cfg.signingSecretEnv];
    if (!secret) return c.text(`Slack is not set up: the environment variable \`${cfg.signingSecretEnv}\` (the signing secret) is not set`, 503);
    const raw = await c.req.text();
    const problem = slackRequestProblem(secret, { timestamp: c.req.header('x-slack-request-timestamp'), signature: c.req.header('x-slack-signature') }, raw, nowSeconds());
    if (problem) {
      opts.log?.warn({ problem }, 'slack: refused an unsigned or stale request');
      return c.text(problem, 401);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new URLSearchParams(raw).get('payload') ?? 'null');
    } catch {
      return c.text('the `payload` field is not JSON', 400);
    }
    if (requestProblem(parsed)) return c.text('the payload is nested too deep', 400);
    const payload = payloadSchema.safeParse(parsed);
    if (!payload.success) return c.text(`not a Slack block_actions payload: ${payload.error.issues[0]?.message ?? 'unreadable'}`, 400);
    const p = payload.data;
    const action = p.actions[0];
    const decision = action?.action_id === SLACK_IDS.approve ? 'approve' : action?.action_id === SLACK_IDS.reject ? 'reject' : null;
    // Other interactions (the link button) need nothing from Airlock.
    if (p.type !== 'block_actions' || !decision || !action) return c.body(null, 200);
    let button: SlackButtonValue;
    try {
      const b = buttonSchema.safeParse(JSON.parse(action.value ?? ''));
      if (!b.success) return c.text('the button does not name an approval', 400);
      button = { approvalId: b.data.approvalId as ApprovalId, summaryHash: b.data.summaryHash };
    } catch {
      return c.text('the button does not name an approval', 400);
    }
    // A user id means a person only in the Slack workspace that `people` describes.
    if (p.team?.id !== cfg.teamId) {
      await answer(p.response_url, `Not recorded: this click comes from Slack team ${p.team?.id ?? '(none)'}, not the one Airlock trusts.`, false);
      return c.body(null, 200);
    }
    const person = cfg.people[p.user.id];
    if (!person) {
      await answer(p.response_url, `Not recorded: your Slack account (${p.user.id}) is not a person of workspace \`${airlock.workspace.file.name}\` (\`notifications.slack.people\`).`, false);
      return c.body(null, 200);
    }
    const reason = p.state?.values[SLACK_IDS.reasonBlock]?.[SLACK_IDS.reason]?.value?.trim() || null;
    const approver = { principal: airlock.principal(person), auth: { issuer: `slack:${p.team?.id ?? 'unknown'}`, subject: p.user.id, method: 'slack' as const, amr: [], authTime: null } };
    // Slack wants an answer within 3 seconds: the vote is recorded now, the run goes on after the answer.
    const work = (async () => {
      // A click approves only what its message showed whole (withheld or too long: decide it in the console).
      const shown = decision === 'approve' ? await airlock.store.getApproval(button.approvalId) : null;
      if (shown && !approvalDigest(shown, cfg).complete) {
        await answer(p.response_url, 'Not recorded: this message did not show the whole action, so it cannot approve it; open it in Airlock.', false);
        return;
      }
      const result = await decideApproval(airlock, button.approvalId, approver, decision, reason, undefined, { summaryHash: button.summaryHash });
      if (result.kind === 'refused') {
        await answer(p.response_url, `Not recorded: ${result.reason}`, false);
        return;
      }
      if (result.kind !== 'voted') return;
      if (!result.decided) await answer(p.response_url, 'Your approval is recorded; it needs another eligible person.', false);
      else await answer(p.response_url, `${result.approval.tool}: ${decision === 'approve' ? 'approved' : 'rejected'} by ${person} (via Slack)${reason ? `: ${slackEscape(reason)}` : ''}.`, true);
    })().catch((e: unknown) => opts.log?.error({ err: e instanceof Error ? e.message : String(e), approvalId: button.approvalId }, 'slack: the decision could not be completed'));
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    return c.body(null, 200);
  });
  return { settled };
}

/** Whether `url` is under `prefix`: the same origin, the path below it, no credentials in it. */
function underPrefix(url: string, prefix: string): boolean {
  if (!URL.canParse(url)) return false;
  const u = new URL(url);
  const p = new URL(prefix);
  return u.origin === p.origin && u.pathname.startsWith(p.pathname) && u.username === '' && u.password === '';
}

/** Text a person wrote, shown in a Slack message as text: no mentions, links or markup (`&`, `<`, `>` escaped), no hidden controls. */
function slackEscape(text: string): string {
  return neutral(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
