// The web console of `airlock serve` (mounted at /console): sign-in with local passwords, sessions in
// signed cookies, CSRF and same-origin checks on every state-changing request, security headers on
// every response; the pages (approvals, runs, incidents, audit, policy) live in their own files.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Airlock } from '../airlock.js';
import { AirlockError } from '../errors.js';
import { resolvePrincipal } from '../identity/principal.js';
import { Notice, Page, type PageContext } from './layout.js';
import { hashPassword, parseHash, verifyPassword } from './passwords.js';
import { consoleKey, csrfMatches, SESSION_COOKIE, Sessions } from './session.js';
import { crossOriginRefusal, SECURITY_HEADERS, SignInLimiter } from './security.js';
import { issuerLabel, OIDC_STATE_COOKIE, oidcConfigProblems, OidcSignIn } from './oidc.js';
import type { ConsoleDeps, ConsoleEnv } from './context.js';
import { mountApprovalPages } from './approvals.js';
import { mountRunPages } from './runs.js';
import { mountOpsPages } from './ops.js';
import { mountPilotPages } from './pilot.js';
import { assetFile } from './assets.js';
import { mountApprovalLinks } from './links.js';
import { linksKey } from '../gateway/approvals/links.js';

/** Options of the console. */
export interface ConsoleOptions {
  /** Where it is mounted (default `/console`): links and redirects start with it. */
  readonly base?: string;
  /** Failed sign-ins and refusals (never a password); default: nowhere. */
  readonly warn?: (fields: Record<string, unknown>, message: string) => void;
  /** Where `console.oidc.clientSecretEnv` is read (default: `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The largest console form accepted (arguments edited by hand included). */
const MAX_FORM_BYTES = 64 * 1024;
/** The what-if form's limit: a draft policy set of up to 256 KB, form-encoded (which may near triple it). */
const MAX_DRAFT_FORM_BYTES = 1024 * 1024;

/**
 * The console's routes, to mount under `opts.base`. Throws `AirlockError` (config) when a console user
 * names a principal that is not a declared person or carries a malformed hash.
 */
export function createConsole(airlock: Airlock, opts: ConsoleOptions = {}): Hono {
  const base = opts.base ?? '/console';
  const config = airlock.workspace.file.console;
  const users = new Map<string, string>();
  for (const [i, u] of (config?.users ?? []).entries()) {
    const r = resolvePrincipal(airlock.workspace.file.identity.principals, u.principal);
    if (!r.ok || r.principal.kind !== 'user') {
      throw new AirlockError('config', `console.users[${i}]: \`${u.principal}\` is not a declared person`, { hint: 'declare it under identity.principals with kind `user`' });
    }
    if (!parseHash(u.password)) throw new AirlockError('config', `console.users[${i}].password is not a usable scrypt hash`, { hint: 'make one with `airlock console hash-password`' });
    users.set(`user:${r.principal.id}`, u.password);
  }
  const key = consoleKey(path.join(airlock.workspace.dir, '.airlock'));
  const sessions = new Sessions(key, airlock.now, config?.sessionMinutes ?? 480);
  const oidcConfig = config?.oidc;
  let oidc: OidcSignIn | null = null;
  if (oidcConfig) {
    const problems = oidcConfigProblems(oidcConfig, airlock.workspace.file.identity.principals, base);
    const secretEnv = oidcConfig.clientSecretEnv;
    const secret = secretEnv === undefined ? undefined : (opts.env ?? process.env)[secretEnv];
    if (secretEnv !== undefined && !secret) problems.push(`console.oidc.clientSecretEnv: the environment variable \`${secretEnv}\` is not set`);
    if (problems.length > 0) throw new AirlockError('config', problems.join('; '), { hint: 'fix console.oidc in airlock.yaml (see README, "The web console")' });
    oidc = new OidcSignIn(oidcConfig, { now: airlock.now, key, principals: airlock.workspace.file.identity.principals, clientSecret: secret });
  }
  const limiter = new SignInLimiter(airlock.now);
  const warn = opts.warn ?? (() => undefined);
  // Unknown names are checked against a hash of the same cost, so a wrong name takes as long as a wrong password.
  const decoy = hashPassword('decoy password, never valid');

  /** Checks a password, counting failures per person; false when wrong or while the person is rate-limited. */
  const checkPassword = async (principal: string, password: string): Promise<boolean> => {
    if (limiter.blockedMinutes(principal) > 0) return false;
    const stored = users.get(principal);
    const ok = (await verifyPassword(password, stored ?? (await decoy))) && stored !== undefined;
    if (ok) limiter.succeed(principal);
    else limiter.fail(principal);
    return ok;
  };
  const deps: ConsoleDeps = { airlock, sessions, limiter, checkPassword, warn };

  const app = new Hono<ConsoleEnv>();
  app.use('*', async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(k, v);
  });
  // Forms are small: a larger body is refused before anything reads it. The policy page's what-if form
  // carries a whole draft policy set (its text is bounded again, by `WHAT_IF_LIMITS.maxDraftBytes`).
  const formLimit = bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => c.text(`the form is larger than ${MAX_FORM_BYTES} bytes`, 413) });
  const draftLimit = bodyLimit({ maxSize: MAX_DRAFT_FORM_BYTES, onError: (c) => c.text(`the form is larger than ${MAX_DRAFT_FORM_BYTES} bytes`, 413) });
  app.use('*', (c, next) => (c.req.method === 'POST' && c.req.path === `${base}/policy/what-if` ? draftLimit : formLimit)(c, next));

  app.get('/static/:file', (c) => {
    const file = assetFile(c.req.param('file'));
    if (!file) return c.text('not found', 404);
    return c.body(readFileSync(file.path), 200, { 'Content-Type': file.type });
  });

  const anonymous: PageContext = { base, principal: null, csrf: null };
  app.get('/sign-in', async (c) => {
    const next = safeNext(c.req.query('next'), base);
    return c.html(signInPageHtml(anonymous, next));
  });
  function signInPageHtml(ctx: PageContext, next: string, error?: string) {
    return (
      <Page ctx={ctx} title="Sign in">
        {error ? <Notice kind="error">{error}</Notice> : null}
        <form method="post" action={`${base}/sign-in`} class="card narrow">
          <input type="hidden" name="next" value={next} />
          <label>
            Person <input name="user" autocomplete="username" placeholder="dana" required />
          </label>
          <label>
            Password <input name="password" type="password" autocomplete="current-password" required />
          </label>
          <button type="submit">Sign in</button>
          {users.size === 0 && !oidcConfig ? <p class="muted">No console users are declared: add console.users to airlock.yaml (airlock console hash-password).</p> : null}
        </form>
        {oidcConfig ? (
          <p class="card narrow">
            <a class="button" href={`${base}/oidc/start?next=${encodeURIComponent(next)}`}>{`Sign in with ${issuerLabel(oidcConfig)}`}</a>
          </p>
        ) : null}
      </Page>
    );
  }

  app.post('/sign-in', async (c) => {
    const refused = crossOriginRefusal({ origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site') }, new URL(c.req.url).origin);
    if (refused) {
      warn({ reason: refused }, 'console sign-in refused');
      return c.html(signInPageHtml(anonymous, base, refused), 403);
    }
    const form = await readForm(c.req.raw.clone());
    const name = (form['user'] ?? '').trim().slice(0, 200);
    const principal = name.startsWith('user:') ? name : `user:${name}`;
    const next = safeNext(form['next'], base);
    const wait = limiter.blockedMinutes(principal);
    if (wait > 0) {
      warn({ principal, reason: 'rate-limited' }, 'console sign-in refused');
      return c.html(signInPageHtml(anonymous, next, `too many failed sign-ins for ${principal}: try again in ${wait} minute${wait === 1 ? '' : 's'}`), 429);
    }
    if (!(await checkPassword(principal, form['password'] ?? ''))) {
      // Logged without the password; the same answer whether the name or the password was wrong.
      warn({ principal, reason: 'bad-credentials' }, 'console sign-in failed');
      return c.html(signInPageHtml(anonymous, next, 'wrong name or password'), 401);
    }
    const issued = await sessions.issue({ principal, method: 'password', issuer: 'airlock-console', subject: principal });
    setCookie(c, SESSION_COOKIE, issued.token, { httpOnly: true, sameSite: 'Strict', path: base, maxAge: issued.maxAgeSeconds, secure: new URL(c.req.url).protocol === 'https:' });
    return c.redirect(next, 303);
  });

  // OIDC sign-in (src/console/oidc.ts): out to the provider with PKCE, state and nonce; back with a code.
  const oidcCookie = { httpOnly: true, sameSite: 'Lax', path: `${base}/oidc` } as const;
  app.get('/oidc/start', async (c) => {
    const next = safeNext(c.req.query('next'), base);
    if (!oidc) return c.html(signInPageHtml(anonymous, next, 'sign-in with an identity provider is not configured here'), 404);
    const started = await oidc.start(next, { reauth: c.req.query('reauth') === '1' });
    if (!started.ok) {
      warn({ reason: started.reason }, 'console OIDC sign-in could not start');
      return c.html(signInPageHtml(anonymous, next, started.message), started.status);
    }
    setCookie(c, OIDC_STATE_COOKIE, started.cookie, { ...oidcCookie, maxAge: started.maxAgeSeconds, secure: new URL(c.req.url).protocol === 'https:' });
    return c.redirect(started.location, 302);
  });
  app.get('/oidc/callback', async (c) => {
    if (!oidc) return c.html(signInPageHtml(anonymous, base, 'sign-in with an identity provider is not configured here'), 404);
    const q = c.req.query();
    const result = await oidc.finish({ state: q['state'], code: q['code'], error: q['error'], error_description: q['error_description'] }, getCookie(c, OIDC_STATE_COOKIE));
    // The flow's cookie is spent whatever happened; a new sign-in starts over.
    deleteCookie(c, OIDC_STATE_COOKIE, { path: `${base}/oidc` });
    if (!result.ok) {
      // Logged with the reason only: never the code, a token or the state.
      warn({ reason: result.reason, issuer: issuerLabel(oidcConfig as NonNullable<typeof oidcConfig>) }, 'console OIDC sign-in failed');
      return c.html(signInPageHtml(anonymous, base, result.message), result.status);
    }
    const issued = await sessions.issue({ principal: result.principal, method: 'jwt', issuer: result.issuer, subject: result.subject, authTime: result.authTime });
    setCookie(c, SESSION_COOKIE, issued.token, { httpOnly: true, sameSite: 'Strict', path: base, maxAge: issued.maxAgeSeconds, secure: new URL(c.req.url).protocol === 'https:' });
    // A page, not a redirect: a browser that judges SameSite by the whole redirect chain (RFC 6265bis;
    // Chromium has it behind a flag) would not send the Strict session cookie on a redirect that began
    // at the provider; a refresh from this page is a same-site navigation in every browser.
    return c.html(<SignedIn base={base} principal={result.principal} next={result.next} />);
  });

  // Everything below needs a signed-in person.
  // Approval links from email are redeemed before any sign-in (console/links.tsx).
  mountApprovalLinks(app as unknown as Hono, { airlock, sessions, base, linksKey: linksKey(path.join(airlock.workspace.dir, '.airlock')), warn, readForm });

  app.use('*', async (c, next) => {
    const session = await sessions.read(getCookie(c, SESSION_COOKIE));
    const r = session ? resolvePrincipal(airlock.workspace.file.identity.principals, session.principal) : null;
    if (!session || !r?.ok || r.principal.kind !== 'user') {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return c.redirect(`${base}/sign-in?next=${encodeURIComponent(new URL(c.req.url).pathname + new URL(c.req.url).search)}`, 303);
      return c.html(signInPageHtml(anonymous, base, 'your session has ended: sign in again'), 401);
    }
    // A session from an approval link reaches its one approval (and signing out), nothing else.
    if (session.scope && !inScope(c.req.path, base, session.scope.approvalId)) {
      return c.html(
        <Page ctx={{ base, principal: session.principal, csrf: session.csrf }} title="Not with this link">
          <Notice kind="error">{`this sign-in came from a link for approval ${session.scope.approvalId} and opens that approval only: sign in to see more`}</Notice>
          <p>
            <a href={`${base}/approvals/${encodeURIComponent(session.scope.approvalId)}`}>Back to the approval</a>
          </p>
        </Page>,
        403,
      );
    }
    c.set('session', session);
    c.set('principal', r.principal);
    // The kill switch is on every page while it holds (one small read of the active halts).
    c.set('page', { base, principal: session.principal, csrf: session.csrf, halts: await airlock.store.listHalts({ status: 'active', limit: 20 }) });
    c.set('form', {});
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      // INVARIANT: nothing changes state unless the request comes from the console's own page (same
      // origin) and carries the session's CSRF token.
      const refused = crossOriginRefusal({ origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site') }, new URL(c.req.url).origin);
      const form = refused ? {} : await readForm(c.req.raw.clone());
      const why = refused ?? (csrfMatches(session, form['_csrf']) ? null : 'the form is stale or did not come from this console (CSRF token missing or wrong): reload the page and try again');
      if (why) {
        warn({ principal: session.principal, path: c.req.path, reason: why }, 'console request refused');
        return c.html(
          <Page ctx={c.get('page')} title="Refused">
            <Notice kind="error">{why}</Notice>
          </Page>,
          403,
        );
      }
      c.set('form', form);
    }
    await next();
    return undefined;
  });

  app.post('/sign-out', (c) => {
    sessions.revoke(c.get('session'));
    deleteCookie(c, SESSION_COOKIE, { path: base });
    return c.redirect(`${base}/sign-in`, 303);
  });
  app.get('/', (c) => c.redirect(`${base}/approvals`, 303));

  mountApprovalPages(app, deps);
  mountRunPages(app, deps);
  mountOpsPages(app, deps);
  mountPilotPages(app, deps);

  app.notFound((c) => c.html(<Page ctx={{ base, principal: null, csrf: null }} title="Not found"><Notice kind="error">{`nothing at ${c.req.path.slice(0, 200)}`}</Notice><p><a href={`${base}/approvals`}>Approvals</a></p></Page>, 404));
  return app as unknown as Hono;
}

/** The page after an OIDC sign-in: it moves on to `next` by itself (a same-site navigation, so the Strict session cookie goes along). */
function SignedIn({ base, principal, next }: { base: string; principal: string; next: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="refresh" content={`0;url=${next}`} />
        <title>Signed in · Airlock</title>
        <link rel="stylesheet" href={`${base}/static/console.css`} />
      </head>
      <body>
        <main>
          <p>
            {`Signed in as ${principal}. `}
            <a href={next}>Continue</a>
          </p>
        </main>
      </body>
    </html>
  );
}

/** Whether `path` is the scoped approval's page (or signing out). */
function inScope(path: string, base: string, approvalId: string): boolean {
  return path === `${base}/approvals/${encodeURIComponent(approvalId)}` || path === `${base}/approvals/${approvalId}` || path === `${base}/sign-out`;
}

/** Where to go after signing in: a path inside the console only (never another site). */
function safeNext(next: string | undefined, base: string): string {
  if (!next || !next.startsWith(`${base}/`) || next.startsWith('//') || /[\\\r\n]/.test(next) || next.startsWith(`${base}/sign-`) || next.startsWith(`${base}/oidc/`)) return `${base}/approvals`;
  return next.slice(0, 500);
}

/** A form body (urlencoded or multipart) as strings; files are ignored. */
async function readForm(req: Request): Promise<Record<string, string>> {
  const type = req.headers.get('content-type') ?? '';
  if (!type.includes('application/x-www-form-urlencoded') && !type.includes('multipart/form-data')) return {};
  const out: Record<string, string> = {};
  try {
    const data = await req.formData();
    for (const [k, v] of data.entries()) if (typeof v === 'string' && !(k in out)) out[k] = v;
  } catch {
    return {};
  }
  return out;
}
