// Console sign-in with an OpenID Connect provider: the authorization code flow with PKCE (S256), state
// and nonce. What the flow keeps between the redirect out and the callback (state, nonce, verifier, where
// to go next) rides in a short-lived, encrypted and authenticated HttpOnly SameSite=Lax cookie; a state is
// used once in this process. The ID token is verified with jose against the issuer's JWKS (issuer,
// audience, times, nonce, algorithm allow-list) and its claim must name a declared person: roles come
// from the workspace, never the token. Discovery, token and JWKS responses are bounded in size and time.
import { createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  EncryptJWT,
  errors,
  jwtDecrypt,
  jwtVerify,
  type FetchImplementation,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { ConsoleOidcConfig, PrincipalConfig } from '../config/schema.js';
import { ASYMMETRIC_ALGORITHMS, isLoopbackHost } from '../identity/config-check.js';
import { resolvePrincipal } from '../identity/principal.js';

/** The cookie that carries a sign-in in progress (path `<base>/oidc`, SameSite=Lax: it must come back on the provider's redirect). */
export const OIDC_STATE_COOKIE = 'airlock_oidc';

/** How long a sign-in may take between the redirect out and the callback. */
export const OIDC_STATE_MINUTES = 10;

/** Bounds on what the provider sends back, and how long it may take. */
export const OIDC_LIMITS = { discoveryBytes: 64 * 1024, tokenBytes: 64 * 1024, jwksBytes: 64 * 1024, timeoutMs: 5_000, discoveryCacheMs: 10 * 60_000, maxIdTokenAgeSeconds: 10 * 60 } as const;

/** The claims value an unknown `auth_time` is recorded as: never fresh enough for a re-authentication. */
const UNKNOWN_AUTH_TIME = new Date(0).toISOString();

const STATE_ISSUER = 'airlock-console-oidc';

/** What the provider's discovery document says (the parts used). */
interface Discovery {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly basicAuth: boolean;
}

/** A signed-in person, as the provider vouched for them. */
export interface OidcSignedIn {
  readonly ok: true;
  /** `user:<id>`, a declared person. */
  readonly principal: string;
  /** The ID token's `iss` and `sub`. */
  readonly issuer: string;
  readonly subject: string;
  /** The ID token's `auth_time` (ISO-8601), or the epoch when it has none (never fresh enough for reauth). */
  readonly authTime: string;
  /** Where to go now (a console path, checked when the flow started). */
  readonly next: string;
}

/** Why a sign-in failed: a message fit for the sign-in page (no token, no stack), and a short reason for the log. */
export interface OidcFailed {
  readonly ok: false;
  readonly status: 400 | 401 | 403 | 502;
  readonly reason: string;
  readonly message: string;
}

export interface OidcDeps {
  readonly now: () => Date;
  /** The console's key (`.airlock/console.key`); the state cookie's key is derived from it. */
  readonly key: Uint8Array;
  readonly principals: readonly PrincipalConfig[];
  /** The client secret (read from `clientSecretEnv`), or undefined for a public client. */
  readonly clientSecret?: string | undefined;
  readonly fetch?: typeof fetch;
}

/** Raised inside the flow; turned into an `OidcFailed` at its edge. */
class Refusal extends Error {
  constructor(
    readonly status: OidcFailed['status'],
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Every problem in `console.oidc` (with `base`, where the console is mounted): issuer and redirect
 * URL over https (plain http only on loopback), the redirect URL pointing at this console's callback,
 * asymmetric algorithms only, mapped people declared. Pure.
 */
export function oidcConfigProblems(config: ConsoleOidcConfig, principals: readonly PrincipalConfig[], base: string): string[] {
  const problems: string[] = [];
  for (const [name, value] of [['issuer', config.issuer], ['redirectUrl', config.redirectUrl]] as const) {
    const url = new URL(value);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) problems.push(`console.oidc.${name} \`${value}\` is not https (plain http only to 127.0.0.1 or localhost)`);
  }
  const callback = `${base}/oidc/callback`;
  if (new URL(config.redirectUrl).pathname !== callback) problems.push(`console.oidc.redirectUrl must end in \`${callback}\`, the console's callback`);
  if (config.allowedAlgorithms.length === 0) problems.push('console.oidc.allowedAlgorithms is empty');
  for (const alg of config.allowedAlgorithms) if (!ASYMMETRIC_ALGORITHMS.includes(alg)) problems.push(`console.oidc.allowedAlgorithms: \`${alg}\` is not allowed (asymmetric only: ${ASYMMETRIC_ALGORITHMS.join(', ')})`);
  if (typeof config.principalClaim !== 'string') {
    for (const [value, ref] of Object.entries(config.principalClaim.map)) {
      const r = resolvePrincipal(principals, ref);
      if (!r.ok || r.principal.kind !== 'user') problems.push(`console.oidc.principalClaim.map[${JSON.stringify(value)}]: \`${ref}\` is not a declared person`);
    }
  }
  return problems;
}

/** The provider's host, for the sign-in button. */
export function issuerLabel(config: ConsoleOidcConfig): string {
  return new URL(config.issuer).host;
}

/** The OIDC sign-in of one console: starts flows and finishes them. */
export class OidcSignIn {
  private discovery: { value: Discovery; until: number } | null = null;
  private jwks: { uri: string; keys: JWTVerifyGetKey } | null = null;
  private readonly used = new Map<string, number>();
  private readonly stateKey: Uint8Array;
  private readonly fetch: typeof fetch;

  constructor(
    private readonly config: ConsoleOidcConfig,
    private readonly deps: OidcDeps,
  ) {
    // A key of its own for the state cookie: the session key signs, this one encrypts (A256GCM).
    this.stateKey = new Uint8Array(hkdfSync('sha256', deps.key, new Uint8Array(0), 'airlock console oidc state', 32));
    this.fetch = deps.fetch ?? fetch;
  }

  /**
   * Where to send the browser, and the state cookie to set. `reauth` asks the provider to sign the
   * person in again now (`prompt=login`, `max_age=0`); the callback then insists on a fresh `auth_time`.
   */
  async start(next: string, opts: { reauth?: boolean } = {}): Promise<{ ok: true; location: string; cookie: string; maxAgeSeconds: number } | OidcFailed> {
    try {
      const d = await this.discover();
      const state = randomBytes(32).toString('base64url');
      const nonce = randomBytes(32).toString('base64url');
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const nowS = Math.floor(this.deps.now().getTime() / 1000);
      const cookie = await new EncryptJWT({ st: state, n: nonce, v: verifier, nx: next, ...(opts.reauth ? { ra: 1 } : {}) })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
        .setIssuer(STATE_ISSUER)
        .setIssuedAt(nowS)
        .setExpirationTime(nowS + OIDC_STATE_MINUTES * 60)
        .encrypt(this.stateKey);
      const url = new URL(d.authorizationEndpoint);
      const scopes = [...new Set(['openid', ...this.config.scopes])];
      const params: Record<string, string> = {
        response_type: 'code',
        client_id: this.config.clientId,
        redirect_uri: this.config.redirectUrl,
        scope: scopes.join(' '),
        state,
        nonce,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...(opts.reauth ? { prompt: 'login', max_age: '0' } : {}),
      };
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      return { ok: true, location: url.toString(), cookie, maxAgeSeconds: OIDC_STATE_MINUTES * 60 };
    } catch (err) {
      return failed(err);
    }
  }

  /** Finishes a flow: the callback's query and the state cookie in, the person or why not out. Never throws. */
  async finish(query: Readonly<Record<string, string | undefined>>, cookie: string | undefined): Promise<OidcSignedIn | OidcFailed> {
    try {
      const st = await this.readState(cookie);
      if (!sameText(query['state'], st.state)) throw new Refusal(400, 'state-mismatch', 'this sign-in does not match the one this browser started (state mismatch): start again');
      if (!this.consume(st.state, st.exp)) throw new Refusal(400, 'state-replayed', 'this sign-in was already used: start again');
      const error = query['error'];
      if (error !== undefined) {
        const description = query['error_description'];
        const why = error === 'access_denied' ? 'you (or the provider) declined the sign-in' : `the provider answered \`${printable(error, 60)}\``;
        throw new Refusal(401, `provider-${printable(error, 40)}`, `${issuerLabel(this.config)} did not sign you in: ${why}${description ? ` (${printable(description, 200)})` : ''}`);
      }
      const code = query['code'];
      if (!code || code.length > 4096) throw new Refusal(400, 'no-code', 'the provider sent no authorization code: start again');
      const d = await this.discover();
      const idToken = await this.exchange(d, code, st.verifier);
      const claims = await this.verifyIdToken(d, idToken, st.nonce);
      const authTime = this.authTimeOf(claims, st);
      const principal = this.personOf(claims);
      return { ok: true, principal, issuer: printable(String(claims.iss), 200), subject: printable(String(claims.sub), 200), authTime, next: st.next };
    } catch (err) {
      return failed(err);
    }
  }

  /** The state cookie's contents; refused when missing, forged, expired or not this kind of cookie. */
  private async readState(cookie: string | undefined): Promise<{ state: string; nonce: string; verifier: string; next: string; reauth: boolean; iat: number; exp: number }> {
    const gone = new Refusal(400, 'no-state', 'no sign-in is in progress in this browser (it took too long, or started elsewhere): start again');
    if (!cookie || cookie.length > 4096) throw gone;
    try {
      const { payload } = await jwtDecrypt(cookie, this.stateKey, { issuer: STATE_ISSUER, currentDate: this.deps.now(), keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      const { st, n, v, nx, ra, iat, exp } = payload;
      if (typeof st !== 'string' || typeof n !== 'string' || typeof v !== 'string' || typeof nx !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') throw gone;
      return { state: st, nonce: n, verifier: v, next: nx, reauth: ra === 1, iat, exp };
    } catch {
      throw gone;
    }
  }

  /** Marks a state used; false when it was used before (a replayed callback). Expired entries go. */
  private consume(state: string, exp: number): boolean {
    const nowS = Math.floor(this.deps.now().getTime() / 1000);
    for (const [s, e] of this.used) if (e < nowS) this.used.delete(s);
    if (this.used.has(state)) return false;
    // Bounded: past 10,000 the oldest is forgotten rather than refusing everybody (a replay of it still
    // needs its authorization code again, which the provider redeems once).
    if (this.used.size >= 10_000) this.used.delete(this.used.keys().next().value ?? '');
    this.used.set(state, exp);
    return true;
  }

  /** The discovery document, cached for a while; its issuer must be the configured one. */
  private async discover(): Promise<Discovery> {
    const now = this.deps.now().getTime();
    if (this.discovery && this.discovery.until > now) return this.discovery.value;
    const issuer = this.config.issuer.replace(/\/$/, '');
    const res = await this.request(`${issuer}/.well-known/openid-configuration`, { method: 'GET', headers: { accept: 'application/json' } }, OIDC_LIMITS.discoveryBytes, 'discovery');
    if (res.status !== 200) throw new Refusal(502, 'discovery-failed', `the sign-in provider's discovery document answered HTTP ${res.status}: try again later, or ask an operator`);
    const doc = res.json;
    const str = (k: string): string => {
      const v = doc[k];
      if (typeof v !== 'string' || v === '') throw new Refusal(502, 'discovery-invalid', `the sign-in provider's discovery document has no \`${k}\``);
      return v;
    };
    if (str('issuer').replace(/\/$/, '') !== issuer) throw new Refusal(502, 'discovery-issuer', `the sign-in provider's discovery document names another issuer (\`${printable(str('issuer'), 200)}\`)`);
    const endpoint = (k: string): string => {
      const v = str(k);
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        throw new Refusal(502, 'discovery-invalid', `the sign-in provider's \`${k}\` is not a URL`);
      }
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) throw new Refusal(502, 'discovery-insecure', `the sign-in provider's \`${k}\` is not https`);
      return v;
    };
    const methods = doc['code_challenge_methods_supported'];
    if (Array.isArray(methods) && !methods.includes('S256')) throw new Refusal(502, 'no-pkce', 'the sign-in provider does not support PKCE with S256');
    const auth = doc['token_endpoint_auth_methods_supported'];
    const basicAuth = !Array.isArray(auth) || auth.includes('client_secret_basic') || !auth.includes('client_secret_post');
    const value: Discovery = { issuer: str('issuer'), authorizationEndpoint: endpoint('authorization_endpoint'), tokenEndpoint: endpoint('token_endpoint'), jwksUri: endpoint('jwks_uri'), basicAuth };
    this.discovery = { value, until: now + OIDC_LIMITS.discoveryCacheMs };
    return value;
  }

  /** The code for tokens at the token endpoint (client secret when configured, the PKCE verifier always); the ID token. */
  private async exchange(d: Discovery, code: string, verifier: string): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.config.redirectUrl, code_verifier: verifier });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const secret = this.deps.clientSecret;
    if (secret !== undefined && d.basicAuth) {
      // RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic.
      headers['authorization'] = `Basic ${Buffer.from(`${encodeURIComponent(this.config.clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
    } else {
      body.set('client_id', this.config.clientId);
      if (secret !== undefined) body.set('client_secret', secret);
    }
    const res = await this.request(d.tokenEndpoint, { method: 'POST', headers, body: body.toString() }, OIDC_LIMITS.tokenBytes, 'token endpoint');
    if (res.status !== 200) {
      const error = typeof res.json['error'] === 'string' ? ` (\`${printable(res.json['error'], 60)}\`)` : '';
      throw new Refusal(502, 'token-endpoint', `the sign-in provider's token endpoint refused the code: HTTP ${res.status}${error}; start again`);
    }
    const idToken = res.json['id_token'];
    if (typeof idToken !== 'string' || idToken === '') throw new Refusal(502, 'no-id-token', "the sign-in provider's token endpoint sent no ID token (is `openid` among the client's scopes?)");
    return idToken;
  }

  /** The ID token's claims once every check passed: algorithm, signature (JWKS), issuer, audience, times, nonce. */
  private async verifyIdToken(d: Discovery, idToken: string, nonce: string): Promise<JWTPayload> {
    const bad = (reason: string, what: string): Refusal => new Refusal(401, `id-token-${reason}`, `the sign-in provider's ID token was refused: ${what}`);
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(idToken).alg;
    } catch {
      throw bad('malformed', 'it is not a well-formed JWT');
    }
    // Checked here for a clear message (and `none` never gets further); jose enforces the same list.
    if (typeof alg !== 'string' || !this.config.allowedAlgorithms.includes(alg) || !ASYMMETRIC_ALGORITHMS.includes(alg)) throw bad('alg', `its algorithm \`${printable(String(alg), 20)}\` is not allowed`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, this.keysFor(d.jwksUri), {
        issuer: d.issuer,
        audience: this.config.clientId,
        algorithms: this.config.allowedAlgorithms,
        clockTolerance: this.config.clockToleranceSeconds,
        currentDate: this.deps.now(),
        maxTokenAge: OIDC_LIMITS.maxIdTokenAgeSeconds,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'nonce'],
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw bad('expired', 'it has expired (check the clocks of the provider and this host)');
      if (err instanceof errors.JWTClaimValidationFailed) throw bad(`claim-${err.claim}`, `its \`${err.claim}\` claim is ${err.reason === 'missing' ? 'missing' : 'wrong'}`);
      if (err instanceof errors.JWSSignatureVerificationFailed) throw bad('signature', 'its signature does not verify');
      if (err instanceof errors.JWKSNoMatchingKey) throw bad('no-key', "no key in the provider's JWKS matches it");
      if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) throw bad('alg', 'its algorithm is not allowed');
      if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) throw bad('malformed', 'it is not a well-formed JWT');
      if (err instanceof Refusal) throw err;
      throw new Refusal(502, 'jwks', "the sign-in provider's signing keys (JWKS) could not be read: try again later");
    }
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload['azp'] !== this.config.clientId) throw bad('claim-azp', 'it names several audiences and another authorized party (`azp`)');
    if (!sameText(typeof payload['nonce'] === 'string' ? payload['nonce'] : undefined, nonce)) throw bad('claim-nonce', 'its `nonce` is not this sign-in\'s');
    return payload;
  }

  /** `auth_time` as ISO-8601; after a re-authentication it must be present and no older than the flow. */
  private authTimeOf(claims: JWTPayload, st: { reauth: boolean; iat: number }): string {
    const raw = claims['auth_time'];
    const tolerance = this.config.clockToleranceSeconds;
    const nowS = this.deps.now().getTime() / 1000;
    const t = typeof raw === 'number' && Number.isFinite(raw) ? raw : 0;
    const known = t > 0 && t <= nowS + tolerance;
    if (st.reauth && (!known || t < st.iat - tolerance)) {
      throw new Refusal(401, 'reauth-stale', 'you were asked to sign in again, but the provider did not (its `auth_time` is missing or older than this sign-in)');
    }
    return known ? new Date(t * 1000).toISOString() : UNKNOWN_AUTH_TIME;
  }

  /** The declared person the ID token names, by `principalClaim` (a claim, or a claim and a map). */
  private personOf(claims: JWTPayload): string {
    const pc = this.config.principalClaim;
    const claim = typeof pc === 'string' ? pc : pc.claim;
    const value = claims[claim];
    if (typeof value !== 'string' || value === '' || value.length > 500) throw new Refusal(403, 'no-principal-claim', `the sign-in provider's ID token has no \`${printable(claim, 60)}\` claim naming a person`);
    // An email the provider has not verified names nobody.
    if (claim === 'email' && claims['email_verified'] === false) throw new Refusal(403, 'email-unverified', `the email address \`${printable(value, 100)}\` is not verified by the sign-in provider`);
    const ref = typeof pc === 'string' ? value : Object.hasOwn(pc.map, value) ? pc.map[value] : undefined;
    const r = ref === undefined ? null : resolvePrincipal(this.deps.principals, ref);
    if (!r?.ok || r.principal.kind !== 'user') {
      throw new Refusal(403, 'undeclared', `\`${printable(value, 100)}\` (the ID token's \`${printable(claim, 60)}\`) is not a person declared in this workspace: ask an operator to declare you`);
    }
    return `user:${r.principal.id}`;
  }

  /** The key set of a JWKS URI (fetched through the bounded fetch, cached by jose). */
  private keysFor(uri: string): JWTVerifyGetKey {
    if (this.jwks?.uri !== uri) {
      const bounded: FetchImplementation = async (url, options) => {
        const res = await this.request(url, { method: 'GET', headers: options.headers, signal: options.signal }, OIDC_LIMITS.jwksBytes, 'JWKS', true);
        return new Response(res.text, { status: res.status, headers: { 'content-type': 'application/json' } });
      };
      this.jwks = { uri, keys: createRemoteJWKSet(new URL(uri), { timeoutDuration: OIDC_LIMITS.timeoutMs, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, [customFetch]: bounded }) };
    }
    return this.jwks.keys;
  }

  /** One bounded request (size, time, no redirects); a JSON object body. */
  private async request(url: string, init: RequestInit, maxBytes: number, what: string, raw = false): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
    const unreachable = (detail: string) => new Refusal(502, 'provider-unreachable', `the sign-in provider's ${what} could not be read (${detail}): try again later, or ask an operator`);
    let res: Response;
    try {
      const signal = init.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(OIDC_LIMITS.timeoutMs)]) : AbortSignal.timeout(OIDC_LIMITS.timeoutMs);
      res = await this.fetch(url, { ...init, redirect: 'error', signal });
    } catch (err) {
      throw unreachable(err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : 'no answer');
    }
    const text = await readBounded(res, maxBytes).catch(() => null);
    if (text === null) throw unreachable(`the answer is larger than ${maxBytes} bytes, or broke off`);
    if (raw) return { status: res.status, json: {}, text };
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      if (res.status === 200) throw unreachable('the answer is not JSON');
    }
    return { status: res.status, json: typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {}, text };
  }
}

/** A body as text, refused past `maxBytes` (the rest is not read). */
async function readBounded(res: Response, maxBytes: number): Promise<string> {
  const length = Number(res.headers.get('content-length') ?? '0');
  if (length > maxBytes) {
    await res.body?.cancel();
    throw new Error('too large');
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new Error('too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Two strings equal, in constant time for equal lengths; undefined never matches. */
function sameText(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A refusal as the sign-in page shows it; anything unexpected becomes a plain message (no stack, no token). */
function failed(err: unknown): OidcFailed {
  if (err instanceof Refusal) return { ok: false, status: err.status, reason: err.reason, message: err.message };
  return { ok: false, status: 502, reason: 'internal', message: 'the sign-in could not be completed: try again, or ask an operator' };
}

/** Text from the provider or the browser, fit for a page and a log: printable ASCII, bounded. */
function printable(text: string, max: number): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?').replace(/`/g, "'");
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
