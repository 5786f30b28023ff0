// Console sign-in with OIDC (authorization code + PKCE) against a fake provider on loopback (node:http):
// discovery, JWKS (a jose RS256 key), an authorization endpoint that redirects back with a code, a token
// endpoint that checks the PKCE verifier and returns an ID token signed by its key. The flow is driven in
// process through the console (`app.request`), following redirects by hand; the clock is the test's.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { createConsole } from '../../src/console/app.js';
import { OidcSignIn, oidcConfigProblems } from '../../src/console/oidc.js';
import { consoleOidcSchema } from '../../src/config/schema.js';
import type { ApprovalRecord } from '../../src/store/store.js';
import { copyAcme } from '../helpers/workspace.js';
import { form, ORIGIN } from './helpers.js';
import { CLIENT_ID, CLIENT_SECRET, FakeProvider, type Behaviour } from './oidc-provider.js';

const REDIRECT = `${ORIGIN}/console/oidc/callback`;

/** The cookie named `name` from a response's Set-Cookie headers (`name=value`), or undefined. */
function cookieFrom(res: Response, name: string): string | undefined {
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(';')[0] ?? '';
    if (pair.startsWith(`${name}=`) && pair.length > name.length + 1) return pair;
  }
  return undefined;
}

describe('console sign-in with OIDC', () => {
  const provider = new FakeProvider();
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let app: Hono;
  let clock = Date.parse('2026-06-01T12:00:00Z');
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];

  beforeAll(async () => {
    await provider.start();
    provider.now = () => new Date(clock);
    ws = copyAcme();
    const file = path.join(ws.dir, 'airlock.yaml');
    const oidc = { issuer: provider.issuer, clientId: CLIENT_ID, clientSecretEnv: 'TEST_OIDC_SECRET', redirectUrl: REDIRECT };
    writeFileSync(file, readFileSync(file, 'utf8').replace('console:\n  users:', `console:\n  oidc: ${JSON.stringify(oidc)}\n  users:`));
    // The demo's one-approver refund becomes a step-up by re-authentication (judged on the ID token's auth_time).
    const policy = path.join(ws.dir, 'policies', 'refunds.cedar');
    writeFileSync(policy, readFileSync(policy, 'utf8').replace('@approval("single")', '@approval("reauth")'));
    airlock = await openAirlock(ws.dir, { now: () => new Date(clock) });
    app = new Hono().route('/console', createConsole(airlock, { env: { TEST_OIDC_SECRET: CLIENT_SECRET }, warn: (fields, message) => warnings.push({ fields, message }) }));
  });
  afterAll(async () => {
    await airlock?.close();
    ws?.cleanup();
    await provider.close();
  });
  beforeEach(() => {
    provider.behaviour = {};
    clock += 60_000; // each case a minute later (the provider's cache of nothing depends on it)
  });

  /** Starts a sign-in: the redirect to the provider and the state cookie. */
  async function start(query = 'next=%2Fconsole%2Fapprovals'): Promise<{ authorize: URL; stateCookie: string }> {
    const res = await app.request(`/console/oidc/start?${query}`);
    expect(res.status).toBe(302);
    const setCookie = res.headers.getSetCookie().join('\n');
    expect(setCookie).toMatch(/airlock_oidc=[^;]+; Max-Age=600; Path=\/console\/oidc; HttpOnly; SameSite=Lax/);
    return { authorize: new URL(res.headers.get('location') ?? ''), stateCookie: cookieFrom(res, 'airlock_oidc') ?? '' };
  }

  /** The provider's answer to the authorization request: the callback URL it redirects to. */
  async function authorize(url: URL): Promise<string> {
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location') ?? '');
    expect(back.origin + back.pathname).toBe(REDIRECT);
    return back.pathname + back.search;
  }

  /** The whole flow: start, the provider, the callback with the state cookie. */
  async function signInWithOidc(query?: string): Promise<{ res: Response; callback: string; stateCookie: string }> {
    const { authorize: url, stateCookie } = await start(query);
    const callback = await authorize(url);
    const res = await app.request(callback, { headers: { cookie: stateCookie } });
    return { res, callback, stateCookie };
  }

  it('shows a "Sign in with" button for the provider on the sign-in page', async () => {
    const page = await (await app.request('/console/sign-in?next=%2Fconsole%2Fruns')).text();
    expect(page).toContain(`Sign in with ${new URL(provider.issuer).host}`);
    expect(page).toContain('href="/console/oidc/start?next=%2Fconsole%2Fruns"');
  });

  it('redirects to the provider with PKCE (S256), state and nonce, and keeps them only in the encrypted state cookie', async () => {
    const { authorize: url, stateCookie } = await start();
    expect(url.origin + url.pathname).toBe(`${provider.issuer}/authorize`);
    const p = url.searchParams;
    expect(Object.fromEntries(p)).toMatchObject({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: REDIRECT, scope: 'openid email profile', code_challenge_method: 'S256' });
    expect(p.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(p.get('prompt')).toBeNull();
    // Neither the state nor the nonce can be read from the cookie (encrypted, not just signed).
    expect(stateCookie).not.toContain(p.get('state') ?? '-');
    expect(Buffer.from(stateCookie.split('.')[1] ?? '', 'base64url').toString()).not.toContain(p.get('nonce') ?? '-');
  });

  let approval: ApprovalRecord;

  it('signs a declared person in (session method jwt, issuer and subject from the token), and their vote records method jwt', async () => {
    const run = await airlock.runner.start('refund-desk', { ticket_id: 'T-311' });
    [approval] = (await airlock.store.listApprovals({ status: 'pending', runId: run.id })) as [ApprovalRecord];
    const { res } = await signInWithOidc(`next=${encodeURIComponent(`/console/approvals/${approval.id}`)}`);
    expect(res.status).toBe(200);
    const sessionCookie = cookieFrom(res, 'airlock_console');
    expect(sessionCookie).toBeDefined();
    expect(res.headers.getSetCookie().join('\n')).toMatch(/airlock_console=[^;]+; Max-Age=\d+; Path=\/console; HttpOnly; SameSite=Strict/);
    expect(res.headers.getSetCookie().join('\n')).toMatch(/airlock_oidc=; Max-Age=0; Path=\/console\/oidc/);
    // A page that moves on by itself (same-site, so the Strict cookie goes along), not a redirect.
    const html = await res.text();
    expect(html).toContain(`<meta http-equiv="refresh" content="0;url=/console/approvals/${approval.id}"/>`);
    expect(html).toContain('Signed in as user:priya');
    // The token endpoint got the code with the client secret (Basic) and the PKCE verifier.
    const sent = provider.tokenRequests.at(-1);
    expect(sent?.authorization).toMatch(/^Basic /);
    expect(sent?.body.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sent?.body.get('client_secret')).toBeNull();

    const page = await (await app.request(`/console/approvals/${approval.id}`, { headers: { cookie: sessionCookie ?? '' } })).text();
    expect(page).toContain('user:priya');
    // A `reauth` action: a person signed in with OIDC is offered the provider again, not a password field.
    expect(page).toContain(`sign in again with ${new URL(provider.issuer).host}`);
    expect(page).not.toContain('Your password again');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const voted = await form(app, `/console/approvals/${approval.id}`, { _csrf: csrf, action: 'approve', reason: 'matches the ticket' }, { cookie: sessionCookie ?? '' });
    expect(voted.status).toBe(200);
    const vote = (await airlock.store.getApproval(approval.id))?.decisions[0];
    expect(vote).toMatchObject({ approver: 'user:priya', decision: 'approve', issuer: provider.issuer, subject: 'priya', authMethod: 'jwt' });
    // The login time is the ID token's auth_time (two minutes before the sign-in), not the time of the callback.
    expect(Date.parse(vote?.authTime ?? '')).toBe(Math.floor(clock / 1000) * 1000 - 120_000);
  });

  it('refuses a reauth vote on a stale provider login; signing in again (prompt=login, max_age=0) records the fresh auth_time', async () => {
    const run = await airlock.runner.start('refund-desk', { ticket_id: 'T-311' });
    const [pending] = await airlock.store.listApprovals({ status: 'pending', runId: run.id });
    if (!pending) throw new Error('no pending approval');
    expect(pending.level).toBe('reauth');
    provider.behaviour = { claims: { auth_time: Math.floor(clock / 1000) - 3600 } };
    const stale = cookieFrom((await signInWithOidc()).res, 'airlock_console') ?? '';
    const page = await (await app.request(`/console/approvals/${pending.id}`, { headers: { cookie: stale } })).text();
    const link = `/console/oidc/start?reauth=1&amp;next=${encodeURIComponent(`/console/approvals/${pending.id}`)}`;
    expect(page).toContain(`href="${link}"`);
    const csrf = (text: string) => /name="_csrf" value="([^"]+)"/.exec(text)?.[1] ?? '';
    const refused = await form(app, `/console/approvals/${pending.id}`, { _csrf: csrf(page), action: 'approve', reason: 'checked' }, { cookie: stale });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('needs a recent re-authentication');
    expect((await airlock.store.getApproval(pending.id))?.decisions).toHaveLength(0);

    // The link: the provider is asked for a fresh login, and its auth_time becomes the session's.
    provider.behaviour = {};
    const { authorize: url, stateCookie } = await start(link.replace('/console/oidc/start?', '').replace('&amp;', '&'));
    expect(url.searchParams.get('prompt')).toBe('login');
    expect(url.searchParams.get('max_age')).toBe('0');
    const res = await app.request(await authorize(url), { headers: { cookie: stateCookie } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`url=/console/approvals/${pending.id}`);
    const fresh = cookieFrom(res, 'airlock_console') ?? '';
    const again = await (await app.request(`/console/approvals/${pending.id}`, { headers: { cookie: fresh } })).text();
    const ok = await form(app, `/console/approvals/${pending.id}`, { _csrf: csrf(again), action: 'approve', reason: 'checked the photo' }, { cookie: fresh });
    expect(ok.status).toBe(200);
    const vote = (await airlock.store.getApproval(pending.id))?.decisions[0];
    expect(vote).toMatchObject({ approver: 'user:priya', issuer: provider.issuer, subject: 'priya', authMethod: 'jwt' });
    expect(Date.parse(vote?.authTime ?? '')).toBe(Math.floor(clock / 1000) * 1000);

    // A provider that answers a reauth with an old login is refused at the callback.
    provider.behaviour = { claims: { auth_time: Math.floor(clock / 1000) - 3600 } };
    const { authorize: url2, stateCookie: cookie2 } = await start('reauth=1');
    const old = await app.request(await authorize(url2), { headers: { cookie: cookie2 } });
    expect(old.status).toBe(401);
    expect(await old.text()).toContain('you were asked to sign in again, but the provider did not');
  });

  it('refuses a callback whose state is not the cookie\'s, and one with no state cookie', async () => {
    const { authorize: url, stateCookie } = await start();
    const callback = await authorize(url);
    const forged = callback.replace(/state=[^&]+/, `state=${randomBytes(32).toString('base64url')}`);
    const wrong = await app.request(forged, { headers: { cookie: stateCookie } });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain('state mismatch');
    expect(cookieFrom(wrong, 'airlock_console')).toBeUndefined();
    const none = await app.request(callback);
    expect(none.status).toBe(400);
    expect(await none.text()).toContain('no sign-in is in progress in this browser');
    const tampered = await app.request(callback, { headers: { cookie: `${stateCookie.slice(0, -4)}AAAA` } });
    expect(tampered.status).toBe(400);
  });

  it('refuses a replayed callback (the same state cookie and code again), and a state cookie past its ten minutes', async () => {
    const { res, callback, stateCookie } = await signInWithOidc();
    expect(res.status).toBe(200);
    const again = await app.request(callback, { headers: { cookie: stateCookie } });
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('this sign-in was already used');
    expect(cookieFrom(again, 'airlock_console')).toBeUndefined();

    const late = await start();
    const lateCallback = await authorize(late.authorize);
    clock += 11 * 60_000;
    const expired = await app.request(lateCallback, { headers: { cookie: late.stateCookie } });
    expect(expired.status).toBe(400);
    expect(await expired.text()).toContain('no sign-in is in progress');
  });

  const refusedTokens: [string, Behaviour, string][] = [
    ['another audience', { claims: { aud: 'some-other-client' } }, 'its `aud` claim is wrong'],
    ['another nonce', { claims: { nonce: 'not-the-nonce' } }, "its `nonce` is not this sign-in's"],
    ['no nonce', { claims: { nonce: undefined } }, 'its `nonce` claim is missing'],
    ['an expired token', { claims: { exp: Math.floor(Date.parse('2026-06-01T11:00:00Z') / 1000) } }, 'it has expired'],
    ['a token signed by another key', { foreignKey: true }, 'its signature does not verify'],
    ['an unsigned token (alg: none)', { unsigned: true }, 'its algorithm `none` is not allowed'],
    ['another issuer', { claims: { iss: 'https://evil.example' } }, 'its `iss` claim is wrong'],
  ];
  for (const [what, behaviour, message] of refusedTokens) {
    it(`refuses ${what} with a clear message and no session`, async () => {
      provider.behaviour = behaviour;
      const { res } = await signInWithOidc();
      expect(res.status).toBe(401);
      const page = await res.text();
      expect(page).toContain(`the sign-in provider&#39;s ID token was refused: ${message.replace(/'/g, '&#39;')}`);
      expect(page).not.toMatch(/at .*\.ts:\d+|Error:/); // no stack
      expect(cookieFrom(res, 'airlock_console')).toBeUndefined();
    });
  }

  it('refuses a person the workspace does not declare, and logs it without the token or the code', async () => {
    provider.behaviour = { claims: { sub: 'mallory' } };
    warnings.length = 0;
    const { res, callback } = await signInWithOidc();
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('`mallory` (the ID token&#39;s `sub`) is not a person declared in this workspace');
    expect(cookieFrom(res, 'airlock_console')).toBeUndefined();
    expect(warnings).toEqual([{ fields: { reason: 'undeclared', issuer: new URL(provider.issuer).host }, message: 'console OIDC sign-in failed' }]);
    const code = new URL(callback, ORIGIN).searchParams.get('code') ?? '-';
    expect(JSON.stringify(warnings)).not.toContain(code);
    // An agent is declared, but is not a person.
    provider.behaviour = { claims: { sub: 'refund-bot' } };
    expect((await signInWithOidc()).res.status).toBe(403);
  });

  it('shows a token endpoint failure and a declined consent on the sign-in page', async () => {
    provider.behaviour = { tokenStatus: 500 };
    const failed = (await signInWithOidc()).res;
    expect(failed.status).toBe(502);
    expect(await failed.text()).toContain('token endpoint refused the code: HTTP 500 (`server_error`)');
    provider.behaviour = { deny: true };
    const denied = (await signInWithOidc()).res;
    expect(denied.status).toBe(401);
    expect(await denied.text()).toContain('did not sign you in: you (or the provider) declined the sign-in (The user declined.)');
  });

  it('maps a claim through principalClaim.map, and refuses an unverified email', async () => {
    const config = consoleOidcSchema.parse({ issuer: provider.issuer, clientId: CLIENT_ID, redirectUrl: REDIRECT, principalClaim: { claim: 'email', map: { 'priya@acme.example': 'user:priya' } } });
    expect(oidcConfigProblems(config, airlock.workspace.file.identity.principals, '/console')).toEqual([]);
    const signIn = new OidcSignIn(config, { now: () => new Date(clock), key: randomBytes(32), principals: airlock.workspace.file.identity.principals, clientSecret: CLIENT_SECRET });
    const run = async () => {
      const started = await signIn.start('/console/runs');
      if (!started.ok) throw new Error(started.message);
      const back = new URL(await authorize(new URL(started.location)), ORIGIN);
      return signIn.finish(Object.fromEntries(back.searchParams), started.cookie);
    };
    expect(await run()).toMatchObject({ ok: true, principal: 'user:priya', subject: 'priya', next: '/console/runs' });
    provider.behaviour = { claims: { email_verified: false } };
    expect(await run()).toMatchObject({ ok: false, status: 403, reason: 'email-unverified' });
    provider.behaviour = { claims: { email: 'someone@else.example' } };
    expect(await run()).toMatchObject({ ok: false, status: 403, reason: 'undeclared' });
  });

  it('refuses a configuration with a plain-http issuer off loopback, HMAC algorithms, a foreign callback path or an undeclared mapping', () => {
    const config = consoleOidcSchema.parse({
      issuer: 'http://idp.example',
      clientId: 'c',
      redirectUrl: 'https://airlock.example/elsewhere',
      allowedAlgorithms: ['RS256', 'HS256', 'none'],
      principalClaim: { claim: 'email', map: { 'x@y': 'user:nobody' } },
    });
    const problems = oidcConfigProblems(config, airlock.workspace.file.identity.principals, '/console').join('\n');
    expect(problems).toContain('console.oidc.issuer `http://idp.example` is not https');
    expect(problems).toContain('must end in `/console/oidc/callback`');
    expect(problems).toContain('`HS256` is not allowed');
    expect(problems).toContain('`none` is not allowed');
    expect(problems).toContain('`user:nobody` is not a declared person');
    // The client secret's variable must be set when a confidential client is configured.
    expect(() => createConsole(airlock, { env: {} })).toThrow(/TEST_OIDC_SECRET` is not set/);
  });
});
