// Email as an approval channel: each approval request is mailed to every person of
// `notifications.email.people` who may decide it, each with a personal link (links.ts) to the
// approval in the console. Plain text only. Sent through the notifier's durable outbox (SMTP via
// nodemailer), so a failed attempt is retried and logged like a webhook's; a retry mails every
// recipient again, each with a fresh link (at least once, like every notification).
import nodemailer from 'nodemailer';
import type { Workspace, WorkspaceFile } from '../../config/schema.js';
import type { ApprovalRecord, Store } from '../../store/store.js';
import type { Principal } from '../../types.js';
import type { CompiledPolicies } from '../../policy/compile.js';
import type { Channel } from '../../notify/notifier.js';
import { approvalDigest, approvalRequestChannel } from './channels.js';
import { eligibility } from './vote.js';
import { mintApprovalLink } from './links.js';
import { summaryHash } from './rules.js';

export type EmailConfig = NonNullable<WorkspaceFile['notifications']['email']>;

/** The outbox name of the email channel (no webhook can be named so). */
export const EMAIL_CHANNEL = '@email';

/** What the email channel needs from the rest of Airlock. */
export interface EmailDeps {
  readonly store: Store;
  readonly workspace: Workspace;
  readonly policies: CompiledPolicies;
  readonly principal: (ref: string) => Principal;
  readonly now: () => Date;
  /** Where people reach the console (`server.publicUrl`): links point there. */
  readonly publicUrl: string;
  /** The links key (links.ts `linksKey`). */
  readonly linksKey: Uint8Array;
  readonly env?: NodeJS.ProcessEnv;
}

/** The auth a link gives its reader: what eligibility is judged on before anyone is mailed. */
export function linkAuth(address: string, now: Date): { issuer: string; subject: string; method: 'email-link'; amr: string[]; authTime: string } {
  return { issuer: 'airlock:email', subject: address, method: 'email-link', amr: [], authTime: now.toISOString() };
}

/** The mail for one person (pure): subject and plain-text body with their link. */
export function approvalEmail(a: ApprovalRecord, cfg: Pick<EmailConfig, 'clearance'> & { publicUrl: string }, link: { token: string; expiresAt: string }): { subject: string; text: string } {
  const d = approvalDigest(a, cfg);
  // The console redeems it (console/links.tsx): the token is the whole of the query, on a path of its own.
  const url = `${cfg.publicUrl.replace(/\/$/, '')}/console/link?t=${encodeURIComponent(link.token)}`;
  const text = [
    `An agent asks to run ${a.tool}, and you are one of the people who may decide.`,
    '',
    ...d.lines.map(([k, v]) => `${k}: ${v}`),
    ...(d.reasoning ? ['', `The agent says: ${d.reasoning}`] : []),
    '',
    'Arguments:',
    d.args,
    '',
    `Open it to decide (this link is yours alone, works once, until ${link.expiresAt}):`,
    url,
    '',
    'If you did not expect this, do nothing: the request expires on its own.',
  ].join('\n');
  return { subject: `Approval needed: ${a.tool} (${d.lines[0]?.[1] ?? a.workflow})`, text };
}

/** The email channel for the notifier. */
export function emailChannel(cfg: EmailConfig, deps: EmailDeps): Channel {
  const env = deps.env ?? process.env;
  return approvalRequestChannel(EMAIL_CHANNEL, cfg, deps.store, async (approval) => {
    const now = deps.now();
    // Only the people who may decide it hear of it, judged as they would be when they open the link.
    const recipients = Object.entries(cfg.people).filter(([person, address]) => {
      const who = { principal: deps.principal(person), auth: linkAuth(address, now) };
      return eligibility(deps, approval, who, now).allowed && approval.requester !== person && approval.editedBy !== person;
    });
    if (recipients.length === 0) return { ok: true };
    const user = cfg.smtp.userEnv ? env[cfg.smtp.userEnv] : undefined;
    const pass = cfg.smtp.passwordEnv ? env[cfg.smtp.passwordEnv] : undefined;
    if (cfg.smtp.passwordEnv && !pass) return { ok: false, error: `the SMTP password is missing: set the environment variable \`${cfg.smtp.passwordEnv}\`; not sent` };
    const transport = nodemailer.createTransport({
      host: cfg.smtp.host,
      port: cfg.smtp.port,
      secure: cfg.smtp.secure,
      requireTLS: cfg.smtp.requireTls && !cfg.smtp.secure,
      ignoreTLS: !cfg.smtp.requireTls && !cfg.smtp.secure,
      ...(user || pass ? { auth: { user: user ?? '', pass: pass ?? '' } } : {}),
      connectionTimeout: cfg.timeoutMs,
      greetingTimeout: cfg.timeoutMs,
      socketTimeout: cfg.timeoutMs,
    });
    try {
      // INVARIANT: a link never outlives its approval.
      const seconds = Math.min(cfg.linkMinutes * 60, Math.floor((Date.parse(approval.expiresAt) - now.getTime()) / 1000));
      if (seconds < 1) return { ok: true };
      for (const [person, address] of recipients) {
        const { token, link } = await mintApprovalLink(deps.linksKey, { person, approvalId: approval.id, summaryHash: summaryHash(approval) }, now, seconds);
        const mail = approvalEmail(approval, { clearance: cfg.clearance, publicUrl: deps.publicUrl }, { token, expiresAt: new Date(link.exp * 1000).toISOString() });
        await transport.sendMail({ from: cfg.from, to: address, subject: mail.subject, text: mail.text });
      }
      return { ok: true };
    } catch (e) {
      return { ok: false, error: `SMTP: ${(e instanceof Error ? e.message : String(e)).slice(0, 200)}` };
    } finally {
      transport.close();
    }
  });
}
