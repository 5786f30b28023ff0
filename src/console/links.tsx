// Approval links from email (gateway/approvals/links.ts), redeemed: opening one shows what it is for
// and asks for a click (mail scanners and link previews open links; nothing changes on a GET); the
// click redeems it once (the store remembers it until it would have expired) and signs its person in
// for that one approval only, as shown in the mail (its summary hash), for a few minutes.
import type { Context, Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import type { Airlock } from '../airlock.js';
import { readApprovalLink } from '../gateway/approvals/links.js';
import type { ApprovalId } from '../types.js';
import { Notice, Page, type PageContext } from './layout.js';
import { crossOriginRefusal } from './security.js';
import { SESSION_COOKIE, type Sessions } from './session.js';

/** How long a session from a link lasts: enough to read the evidence and decide. */
export const LINK_SESSION_MINUTES = 15;

/** What the link routes need. */
export interface LinkDeps {
  readonly airlock: Airlock;
  readonly sessions: Sessions;
  readonly base: string;
  readonly linksKey: Uint8Array;
  readonly warn: (fields: Record<string, unknown>, message: string) => void;
  readonly readForm: (req: Request) => Promise<Record<string, string>>;
}

/** `GET /link?t=…` (what the link is, and a button) and `POST /link` (redeem it): before any sign-in. */
export function mountApprovalLinks(app: Hono, deps: LinkDeps): void {
  const { airlock, sessions, base } = deps;
  const anonymous: PageContext = { base, principal: null, csrf: null };
  const refuse = (c: Context, text: string, status: 400 | 403 | 409 | 410) =>
    c.html(
      <Page ctx={anonymous} title="Approval link">
        <Notice kind="error">{text}</Notice>
        <p>
          <a href={`${base}/sign-in`}>Sign in</a> to open the approval from the console instead.
        </p>
      </Page>,
      status,
    );

  /** The link's person and approval, when its token holds and both still stand (the mailbox still theirs). */
  const check = async (token: string) => {
    const read = await readApprovalLink(deps.linksKey, token, airlock.now());
    if (!read.ok) return { ok: false as const, why: read.problem, status: 400 as const };
    const l = read.link;
    const mailbox = airlock.workspace.file.notifications.email?.people[l.person];
    if (!mailbox) return { ok: false as const, why: `${l.person} is no longer mailed approvals here`, status: 403 as const };
    const approval = await airlock.store.getApproval(l.approvalId as ApprovalId);
    if (!approval) return { ok: false as const, why: `approval ${l.approvalId} does not exist`, status: 410 as const };
    return { ok: true as const, link: l, mailbox, approval };
  };

  app.get('/link', async (c) => {
    const token = c.req.query('t') ?? '';
    const r = await check(token);
    if (!r.ok) return refuse(c, r.why, r.status);
    return c.html(
      <Page ctx={anonymous} title="Approval link">
        <p>{`This link opens approval ${r.approval.id} (${r.approval.tool}) for ${r.link.person}, once.`}</p>
        <form method="post" action={`${base}/link`} class="card narrow">
          <input type="hidden" name="t" value={token} />
          <button type="submit">{`Open it as ${r.link.person}`}</button>
        </form>
      </Page>,
    );
  });

  app.post('/link', async (c) => {
    const refused = crossOriginRefusal({ origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site') }, new URL(c.req.url).origin);
    if (refused) return refuse(c, refused, 403);
    const form = await deps.readForm(c.req.raw.clone());
    const r = await check(form['t'] ?? '');
    if (!r.ok) return refuse(c, r.why, r.status);
    // INVARIANT: a link works once, in every process on this store.
    if (!(await airlock.store.redeemLink(r.link.jti, airlock.now().toISOString(), new Date(r.link.exp * 1000).toISOString()))) {
      deps.warn({ person: r.link.person, approvalId: r.link.approvalId, reason: 'link-reused' }, 'an approval link was used again');
      return refuse(c, 'this link was already used: each works once', 409);
    }
    const issued = await sessions.issue(
      { principal: r.link.person, method: 'email-link', issuer: 'airlock:email', subject: r.mailbox, scope: { approvalId: r.link.approvalId, summaryHash: r.link.summaryHash } },
      LINK_SESSION_MINUTES,
    );
    setCookie(c, SESSION_COOKIE, issued.token, { httpOnly: true, sameSite: 'Strict', path: base, maxAge: issued.maxAgeSeconds, secure: new URL(c.req.url).protocol === 'https:' });
    return c.redirect(`${base}/approvals/${encodeURIComponent(r.link.approvalId)}`, 303);
  });
}
