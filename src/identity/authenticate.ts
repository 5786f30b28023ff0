// Authentication at the HTTP boundary: an `Authorization` header in, the declared principal it proves out.
// The principal is what the credential proves, never what a request body claims; roles come from the workspace.
import path from 'node:path';
import { WORKSPACE_FILE } from '../config/load.js';
import { formatPath } from '../config/locate.js';
import type { PrincipalConfig, Workspace } from '../config/schema.js';
import { AirlockError, AirlockErrors } from '../errors.js';
import type { Principal } from '../types.js';
import { sha256Hex } from '../util/hash.js';
import { API_KEY_PREFIX, createApiKeyTable, isApiKeyFormat } from './api-keys.js';
import { identityIssues, type IdentityIssue } from './config-check.js';
import { resolvePrincipal } from './principal.js';
import { createJwtVerifier, type JwtVerifier } from './jwt.js';

/** How the caller proved who they are. */
export type AuthMethod = 'api-key' | 'jwt';

/**
 * Why authentication failed. 401: `missing` (no header), `malformed` (not `Bearer <token>`, or a
 * token of no known shape), `unknown-key`, `expired`, `invalid` (bad signature, issuer, audience,
 * claims, or JWT not configured). 403: the credential is valid but names a principal that is not
 * declared (`undeclared`) or not allowed in that role (`forbidden`, e.g. an actor that is not an agent).
 */
export type AuthFailureReason = 'missing' | 'malformed' | 'unknown-key' | 'expired' | 'invalid' | 'undeclared' | 'forbidden';

/** The outcome of authenticating one request: a value, never an exception, for any credential. */
export type AuthResult =
  | {
      readonly ok: true;
      /** Who acts: the declared principal, with the roles the workspace gives it. */
      readonly principal: Principal;
      /** RFC 8693 delegation: the declared user the agent acts for (the token's subject). */
      readonly onBehalfOf?: Principal;
      readonly method: AuthMethod;
      /** When the user last authenticated (`auth_time`, ISO-8601), for step-up re-authentication. */
      readonly authTime?: string;
      /** Names the credential in audit records: `api-key:<id>`, or `jwt:<jti>` (`jwt:sha256:<prefix>` without a `jti`). */
      readonly credentialId: string;
      /** Who vouched for the caller: the JWT `iss`, or `airlock` for an Airlock API key. */
      readonly issuer: string;
      /** The subject the issuer named: the JWT subject claim, or the API key's id. */
      readonly subject: string;
      /** The JWT `amr` claim (how the identity provider authenticated the user), if any. */
      readonly amr: readonly string[];
    }
  | {
      readonly ok: false;
      readonly status: 401 | 403;
      /** Lowercase, safe to return to the client: never echoes a secret. */
      readonly error: string;
      readonly hint?: string;
      readonly reason: AuthFailureReason;
    };

/** Turns `Authorization` header values into principals for one workspace. */
export interface Authenticator {
  /** Never throws for a bad credential; throws `AirlockError` (`connector`, retryable) only when the JWKS cannot be fetched. */
  authenticate(authorizationHeader: string | undefined): Promise<AuthResult>;
}

export interface AuthenticatorDeps {
  /** The clock for key expiry and token `exp`/`nbf` (default: the system clock). */
  readonly now?: () => Date;
  /** The fetch used for a remote JWKS (default: global fetch). */
  readonly fetch?: typeof fetch;
}

/** Longest `Authorization` header considered (large tokens are refused before any parsing or crypto). */
const MAX_HEADER_LENGTH = 16 * 1024;

/** RFC 6750 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Compact JWS: three base64url segments (the signature may be empty, which `alg: none` uses and we refuse). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

const AUTH_HINT = 'send `Authorization: Bearer <token>` with an Airlock API key (`alk_...`, from `airlock keys create`) or a JWT from the configured identity provider';

/** The parsed `Authorization` header: a bearer token, or why there is none. */
export type ParsedAuthorization =
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'malformed'; readonly error: string; readonly hint?: string };

/**
 * Parses `Authorization: Bearer <token>` (RFC 6750). The scheme is case-insensitive and
 * surrounding or repeated spaces are tolerated; anything else is malformed.
 */
export function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (header === undefined || header.trim() === '') return { kind: 'missing' };
  if (header.length > MAX_HEADER_LENGTH) return { kind: 'malformed', error: 'the `Authorization` header is too long' };
  const parts = header.trim().split(/[ \t]+/);
  const scheme = parts[0] ?? '';
  if (scheme.toLowerCase() !== 'bearer') {
    return { kind: 'malformed', error: `authorization scheme \`${printable(scheme, 20)}\` is not supported`, hint: AUTH_HINT };
  }
  if (parts.length === 1) return { kind: 'malformed', error: 'the `Bearer` authorization carries no token', hint: AUTH_HINT };
  if (parts.length > 2) return { kind: 'malformed', error: 'the `Authorization` header must be `Bearer <token>` with one token', hint: AUTH_HINT };
  const token = parts[1] ?? '';
  if (!B64TOKEN.test(token)) return { kind: 'malformed', error: 'the bearer token has characters a token cannot contain', hint: AUTH_HINT };
  return { kind: 'bearer', token };
}

/**
 * Builds the authenticator for `workspace`. Checks the identity configuration first and throws
 * `AirlockErrors` (code `config`) listing every problem: API keys naming undeclared principals,
 * duplicate key ids or hashes, disallowed JWT algorithms, a JWKS url over plain http to another
 * host, a JWKS file that is missing or holds private keys.
 */
export function createAuthenticator(workspace: Workspace, deps: AuthenticatorDeps = {}): Authenticator {
  const file = workspace.file;
  const issues = identityIssues(file);
  if (issues.length > 0) throw new AirlockErrors(issues.map((i) => issueError(workspace.dir, i)));

  const now = deps.now ?? (() => new Date());
  const principals: readonly PrincipalConfig[] = file.identity.principals;
  const apiKeys = createApiKeyTable(file.identity.apiKeys);
  const jwtConfig = file.identity.jwt;
  const jwt: JwtVerifier | undefined = jwtConfig
    ? createJwtVerifier(jwtConfig, workspace.dir, { now, ...(deps.fetch ? { fetch: deps.fetch } : {}) })
    : undefined;

  const fail = (status: 401 | 403, reason: AuthFailureReason, error: string, hint?: string): AuthResult =>
    hint === undefined ? { ok: false, status, reason, error } : { ok: false, status, reason, error, hint };

  function withApiKey(key: string): AuthResult {
    if (!isApiKeyFormat(key)) return fail(401, 'malformed', 'the bearer token is not a well-formed Airlock API key', AUTH_HINT);
    const config = apiKeys.find(key);
    if (config === undefined) return fail(401, 'unknown-key', 'the API key is not recognised', 'check the key, or create one with `airlock keys create`');
    if (config.expires !== undefined && now().getTime() >= Date.parse(config.expires)) {
      return fail(401, 'expired', 'the API key has expired', 'ask an operator for a new key (`airlock keys create`)');
    }
    const resolved = resolvePrincipal(principals, config.principal);
    // Unreachable when the config check passed; kept so a key can never prove an undeclared principal.
    if (!resolved.ok) return fail(403, 'undeclared', `the API key names principal \`${config.principal}\`, which is not declared`);
    return { ok: true, principal: resolved.principal, method: 'api-key', credentialId: `api-key:${config.id}`, issuer: 'airlock', subject: config.id, amr: [] };
  }

  async function withJwt(token: string, verifier: JwtVerifier, config: NonNullable<typeof jwtConfig>): Promise<AuthResult> {
    const verified = await verifier.verify(token);
    if (!verified.ok) return fail(401, verified.reason, verified.error, verified.hint);
    const claims = verified.payload;

    const subject = claims[config.principalClaim];
    if (typeof subject !== 'string' || subject === '') return fail(401, 'invalid', `the token's \`${config.principalClaim}\` claim is not a principal id`);
    const credentialId = typeof claims.jti === 'string' && claims.jti !== '' ? `jwt:${printable(claims.jti, 128)}` : `jwt:sha256:${sha256Hex(token).slice(0, 32)}`;
    const authTime = authTimeOf(claims['auth_time'], now(), config.clockToleranceSeconds);
    const amr = Array.isArray(claims['amr']) ? claims['amr'].filter((m): m is string => typeof m === 'string').slice(0, 10).map((m) => printable(m, 40)) : [];
    const extra = {
      issuer: typeof claims.iss === 'string' ? printable(claims.iss, 200) : 'unknown',
      subject: printable(subject, 200),
      amr,
      ...(authTime === undefined ? {} : { authTime }),
    };

    const actorClaim = claims[config.actorClaim];
    if (actorClaim === undefined) {
      const who = resolvePrincipal(principals, subject);
      if (!who.ok) return fail(403, 'undeclared', `token subject \`${printable(subject)}\` is not a declared principal`, `declare it under \`identity.principals\`, or map another claim with \`identity.jwt.principalClaim\``);
      return { ok: true, principal: who.principal, method: 'jwt', credentialId, ...extra };
    }

    // RFC 8693 delegation: the actor (an agent) acts on behalf of the subject (a user).
    const actorSub = typeof actorClaim === 'object' && actorClaim !== null && !Array.isArray(actorClaim) ? (actorClaim as { sub?: unknown }).sub : undefined;
    if (typeof actorSub !== 'string' || actorSub === '') {
      return fail(401, 'invalid', `the token's \`${config.actorClaim}\` claim is malformed`, `expected RFC 8693 \`${config.actorClaim}: { sub: <agent id> }\``);
    }
    const actor = resolvePrincipal(principals, actorSub);
    if (!actor.ok) return fail(403, 'undeclared', `token actor \`${printable(actorSub)}\` is not a declared principal`, 'declare the agent under `identity.principals` with `kind: agent`');
    if (actor.principal.kind !== 'agent') return fail(403, 'forbidden', `token actor \`${printable(actorSub)}\` is a \`${actor.principal.kind}\`, not an agent`, 'only a declared agent can act on behalf of a user');
    const user = resolvePrincipal(principals, subject);
    if (!user.ok) return fail(403, 'undeclared', `token subject \`${printable(subject)}\` is not a declared principal`, 'declare the user under `identity.principals` with `kind: user`');
    if (user.principal.kind !== 'user') return fail(403, 'forbidden', `token subject \`${printable(subject)}\` is a \`${user.principal.kind}\`, not a user`, 'an agent can act only on behalf of a declared user');
    return { ok: true, principal: actor.principal, onBehalfOf: user.principal, method: 'jwt', credentialId, ...extra };
  }

  return {
    async authenticate(authorizationHeader: string | undefined): Promise<AuthResult> {
      const parsed = parseAuthorization(authorizationHeader);
      if (parsed.kind === 'missing') return fail(401, 'missing', 'authentication required', AUTH_HINT);
      if (parsed.kind === 'malformed') return fail(401, 'malformed', parsed.error, parsed.hint);
      const token = parsed.token;
      if (token.startsWith(API_KEY_PREFIX)) return withApiKey(token);
      if (COMPACT_JWS.test(token)) {
        if (jwt === undefined || jwtConfig === undefined) {
          return fail(401, 'invalid', 'JWT authentication is not configured in this workspace', 'use an Airlock API key, or configure `identity.jwt`');
        }
        try {
          return await withJwt(token, jwt, jwtConfig);
        } catch (err) {
          // Only an unreachable key set is the server's problem; anything else this token caused is the token's.
          if (err instanceof AirlockError) throw err;
          return fail(401, 'malformed', 'the bearer token could not be read as a JWT', AUTH_HINT);
        }
      }
      return fail(401, 'malformed', 'the bearer token is neither an Airlock API key nor a JWT', AUTH_HINT);
    },
  };
}

/**
 * The RFC 6750 `WWW-Authenticate` challenge to send with a 401 (undefined for success and 403,
 * where asking for other credentials would not help).
 */
export function wwwAuthenticate(result: AuthResult): string | undefined {
  if (result.ok || result.status !== 401) return undefined;
  if (result.reason === 'missing') return 'Bearer realm="airlock"';
  const error = result.reason === 'malformed' ? 'invalid_request' : 'invalid_token';
  return `Bearer realm="airlock", error="${error}", error_description="${result.error.replace(/["\\]/g, "'")}"`;
}

/** `auth_time` (seconds since the epoch) as ISO-8601; dropped when absent, not a number, or in the future. */
function authTimeOf(value: unknown, now: Date, toleranceSeconds: number): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return undefined;
  const ms = value * 1000;
  if (ms > now.getTime() + toleranceSeconds * 1000) return undefined;
  return new Date(ms).toISOString();
}

/** A claim value fit for an error message: printable ASCII, bounded length. */
function printable(text: string, max = 64): string {
   
  const clean = text.replace(/[^\x20-\x7e]/g, '?').replace(/`/g, "'");
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

function issueError(dir: string, issue: IdentityIssue): AirlockError {
  return new AirlockError('config', issue.message, {
    location: { file: path.join(dir, WORKSPACE_FILE), path: formatPath(issue.path) },
    ...(issue.hint === undefined ? {} : { hint: issue.hint }),
  });
}
