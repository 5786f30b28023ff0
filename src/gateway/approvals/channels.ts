// What the approval channels (Slack, email) share: the outbox plumbing of an approval request (read
// the approval the notification names; one decided meanwhile needs nobody), and what every channel
// says of a pending approval.
import type { ApprovalRecord, NotificationRecord, Store } from '../../store/store.js';
import { CLASSIFICATIONS, type ApprovalId, type Classification } from '../../types.js';
import type { Channel, Outcome } from '../../notify/notifier.js';
import { summaryView } from './rules.js';

/** How one attempt to reach people went: delivered, or why not (with the HTTP status when there was one). */
export type Delivery = { readonly ok: true } | { readonly ok: false; readonly error: string; readonly httpStatus?: number | null };

/** A notifier channel for `approval.requested`: `deliver` is asked only for an approval still pending. */
export function approvalRequestChannel(name: `@${string}`, cfg: { maxAttempts: number; timeoutMs: number }, store: Store, deliver: (approval: ApprovalRecord) => Promise<Delivery>): Channel {
  return {
    name,
    events: ['approval.requested'],
    maxAttempts: cfg.maxAttempts,
    timeoutMs: cfg.timeoutMs,
    async send(n: NotificationRecord): Promise<Outcome> {
      const t0 = performance.now();
      const done = (d: Delivery): Outcome => ({ ok: d.ok, httpStatus: d.ok ? null : (d.httpStatus ?? null), error: d.ok ? null : d.error, durationMs: Math.round(performance.now() - t0) });
      const id = (JSON.parse(n.body) as { data?: { approvalId?: unknown } }).data?.approvalId;
      const approval = typeof id === 'string' ? await store.getApproval(id as ApprovalId) : null;
      if (!approval) return done({ ok: false, error: `approval \`${String(id)}\` does not exist; not sent` });
      // Decided (or gone) before its turn in the outbox: there is nothing left to ask.
      if (approval.status !== 'pending') return done({ ok: true });
      return done(await deliver(approval));
    },
  };
}

/** The most a channel shows of what the agent wrote (arguments, reasoning); longer is not shown at all, never cut. */
export const MAX_SHOWN = 2800;

/**
 * Text from the agent (or anything it read) made safe to show a person: control characters and the
 * invisible ones that reorder or hide text (bidirectional overrides and isolates, marks, zero-width)
 * are written as `\uXXXX` escapes, so what the approver reads is what the text holds.
 */
export function neutral(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * What every channel says of a pending approval (pure): labelled lines, the console link, and what
 * the agent wrote (arguments and reasoning) only when the channel's `clearance` covers what the run
 * has read, neutralised, and whole or not at all. `complete` is false when the arguments are not
 * shown (withheld or too long): a channel must not offer to approve what it did not show.
 */
export function approvalDigest(a: ApprovalRecord, cfg: { clearance: Classification; publicUrl?: string | undefined }): { lines: [string, string][]; reasoning: string | null; args: string; complete: boolean; link: string | null } {
  const s = summaryView(a);
  // INVARIANT: one clearance gate for everything the agent wrote: it wrote it after reading what the run read.
  const cleared = CLASSIFICATIONS.indexOf(s.labels.classification) <= CLASSIFICATIONS.indexOf(cfg.clearance);
  const level = a.level === 'step-up' ? 'step-up: two different people' : a.level === 'reauth' ? 'a fresh sign-in: decide it in the console' : 'one person';
  const args = neutral(JSON.stringify(s.args, null, 2));
  const reasoning = s.reasoning === null ? null : neutral(s.reasoning);
  const withheld = `withheld: the run has read ${s.labels.classification} content, above this channel's clearance (${cfg.clearance})`;
  const tooLong = (what: string, n: number) => `too long to show here (${n} characters): open it in Airlock to read ${what} whole`;
  return {
    lines: [
      ['Workflow', s.workflow],
      ['Requested by', a.requester],
      ['On behalf of', s.onBehalfOf ?? 'nobody'],
      ['Needs', level],
      ['Expires', a.expiresAt],
      ['Run', a.runId],
    ],
    reasoning: !cleared || reasoning === null ? null : reasoning.length > MAX_SHOWN ? tooLong('the reasoning', reasoning.length) : reasoning,
    args: !cleared ? withheld : args.length > MAX_SHOWN ? tooLong('the arguments', args.length) : args,
    complete: cleared && args.length <= MAX_SHOWN,
    link: cfg.publicUrl ? `${cfg.publicUrl.replace(/\/$/, '')}/console/approvals/${encodeURIComponent(a.id)}` : null,
  };
}
