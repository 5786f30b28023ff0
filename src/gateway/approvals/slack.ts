// Slack as an approval channel: each approval request becomes a Block Kit message in the configured
// channel (the summary, the arguments when the channel is cleared for them, a reason box, Approve and
// Reject buttons bound to the exact summary hash). Sent through the notifier's durable outbox; the
// clicks come back through the signed interactivity endpoint (server/slack-actions.ts), which ends in
// the same `vote` as every other door.
import type { Workspace, WorkspaceFile } from '../../config/schema.js';
import type { Store, ApprovalRecord } from '../../store/store.js';
import type { ApprovalId, Json } from '../../types.js';
import { fetchError, snippet, type Channel } from '../../notify/notifier.js';
import { approvalDigest, approvalRequestChannel } from './channels.js';
import { summaryHash, summaryView } from './rules.js';

export type SlackConfig = NonNullable<WorkspaceFile['notifications']['slack']>;

/** The outbox name of the Slack channel (no webhook can be named so). */
export const SLACK_CHANNEL = '@slack';
/** The button and input ids the interactivity endpoint reads back. */
export const SLACK_IDS = { decide: 'airlock_decide', approve: 'approve', reject: 'reject', reasonBlock: 'airlock_reason', reason: 'reason' } as const;

/** What a button carries: the approval and the hash of the summary the message showed. */
export interface SlackButtonValue {
  readonly approvalId: ApprovalId;
  readonly summaryHash: string;
}

/** Slack's limit on one text object (3,000), less a margin. */
const MAX_TEXT = 2950;

/** A plain-text object; what it holds is already bounded (channels.ts `MAX_SHOWN`), this only keeps Slack's own limit. */
const plain = (text: string) => ({ type: 'plain_text' as const, text: text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 20)} (cut at Slack's limit)` : text || ' ', emoji: false });

/** The message for one pending approval (pure). Everything the agent or its tools wrote goes out as plain text, never markup. */
export function slackApprovalMessage(a: ApprovalRecord, cfg: Pick<SlackConfig, 'clearance' | 'channel'> & { publicUrl?: string | undefined }): { channel: string; text: string; blocks: Json[] } {
  const d = approvalDigest(a, cfg);
  const value: SlackButtonValue = { approvalId: a.id, summaryHash: summaryHash(a) };
  const buttons: Json[] = [
    // Approve only what the message showed whole, and never where a fresh sign-in is needed.
    ...(a.level === 'reauth' || !d.complete ? [] : [{ type: 'button', action_id: SLACK_IDS.approve, style: 'primary', text: plain('Approve'), value: JSON.stringify(value) }]),
    { type: 'button', action_id: SLACK_IDS.reject, style: 'danger', text: plain('Reject'), value: JSON.stringify(value) },
    ...(d.link ? [{ type: 'button', action_id: 'open', text: plain('Open in Airlock'), url: d.link }] : []),
  ];
  const blocks: Json[] = [
    { type: 'header', text: plain(`Approval needed: ${a.tool}`) },
    { type: 'section', fields: d.lines.map(([k, v]) => plain(`${k}: ${v}`)) },
    ...(d.reasoning ? [{ type: 'section', text: plain(`The agent says: ${d.reasoning}`) }] : []),
    { type: 'section', text: plain(`Arguments:\n${d.args}`) },
    {
      type: 'input',
      block_id: SLACK_IDS.reasonBlock,
      optional: true,
      label: plain('Reason (needed to reject, and to approve a high-risk action)'),
      element: { type: 'plain_text_input', action_id: SLACK_IDS.reason, multiline: true, max_length: 1000 },
    },
    { type: 'actions', block_id: SLACK_IDS.decide, elements: buttons },
  ];
  return { channel: cfg.channel, text: `Approval needed: ${a.tool} in ${summaryView(a).workflow} (${a.id})`, blocks };
}

/** The Slack channel for the notifier: posts each approval request with `chat.postMessage`. */
export function slackChannel(cfg: SlackConfig, deps: { store: Store; publicUrl?: string | undefined; env?: NodeJS.ProcessEnv; fetch?: typeof fetch }): Channel {
  const env = deps.env ?? process.env;
  const doFetch = deps.fetch ?? ((input, init) => fetch(input, init));
  return approvalRequestChannel(SLACK_CHANNEL, cfg, deps.store, async (approval) => {
    const token = env[cfg.botTokenEnv];
    if (!token) return { ok: false, error: `the bot token is missing: set the environment variable \`${cfg.botTokenEnv}\`; not sent` };
    let res: Response;
    try {
      res = await doFetch(`${cfg.apiUrl.replace(/\/$/, '')}/chat.postMessage`, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
        body: JSON.stringify(slackApprovalMessage(approval, { ...cfg, publicUrl: deps.publicUrl })),
        redirect: 'manual',
        signal: AbortSignal.timeout(cfg.timeoutMs),
      });
    } catch (e) {
      return { ok: false, error: fetchError(e, cfg.timeoutMs) };
    }
    if (res.status !== 200) {
      const after = res.headers.get('retry-after');
      return { ok: false, httpStatus: res.status, error: `Slack answered HTTP ${res.status}${after ? ` (retry after ${after} s)` : ''}: ${await snippet(res)}` };
    }
    // The Web API answers 200 with `ok: false` and an error code for refusals (a bad token, an unknown channel).
    const said = (await res.json().catch(() => null)) as { ok?: unknown; error?: unknown } | null;
    if (said?.ok !== true) return { ok: false, httpStatus: 200, error: `Slack refused the message: ${typeof said?.error === 'string' ? said.error.slice(0, 100) : 'no reason given'}` };
    return { ok: true };
  });
}

/** The Slack channel of a workspace, when it declares one. */
export function slackChannels(workspace: Workspace, deps: { store: Store; env?: NodeJS.ProcessEnv; fetch?: typeof fetch }): Channel[] {
  const cfg = workspace.file.notifications.slack;
  return cfg ? [slackChannel(cfg, { ...deps, publicUrl: workspace.file.server.publicUrl })] : [];
}
