// JWT verification against the identity provider's JWKS (remote URL or a file in the workspace), with jose.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type FetchImplementation,
  type JSONWebKeySet,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { JwtConfig } from '../config/schema.js';
import { AirlockError } from '../errors.js';

/** What verifying one token came to: verified claims, or why the token is not a credential. */
export type JwtVerification =
  | { readonly ok: true; readonly payload: JWTPayload; readonly header: JWTHeaderParameters }
  | { readonly ok: false; readonly reason: 'malformed' | 'invalid' | 'expired'; readonly error: string; readonly hint?: string };

/** Verifies compact JWS tokens; never throws for a bad token (only when the key set cannot be reached). */
export interface JwtVerifier {
  verify(token: string): Promise<JwtVerification>;
}

export interface JwtVerifierDeps {
  readonly now: () => Date;
  readonly fetch?: typeof fetch;
}

/** Members of a JWK that only a private or symmetric key has: a JWKS for verification must not carry them. */
const SECRET_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;

/** Raised inside the key resolver when the key set itself failed (network, bad JWKS), not the token. */
class KeySetUnavailable extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/**
 * Builds the verifier for `identity.jwt`. A JWKS file (relative to `workspaceDir`) is read and
 * checked now, so a missing or private key set fails at startup (`AirlockError`, code `config`).
 */
export function createJwtVerifier(config: JwtConfig, workspaceDir: string, deps: JwtVerifierDeps): JwtVerifier {
  const source = 'url' in config.jwks ? `JWKS \`${config.jwks.url}\`` : `JWKS file \`${config.jwks.file}\``;
  const keySet: JWTVerifyGetKey =
    'url' in config.jwks
      ? createRemoteJWKSet(new URL(config.jwks.url), {
          timeoutDuration: 5_000,
          cooldownDuration: 30_000,
          cacheMaxAge: 10 * 60_000,
          ...(deps.fetch ? { [customFetch]: deps.fetch as unknown as FetchImplementation } : {}),
        })
      : createLocalJWKSet(readJwksFile(path.resolve(workspaceDir, config.jwks.file), config.jwks.file));

  // INVARIANT: only a key-set failure escapes as KeySetUnavailable; "no key for this kid" is the token's problem.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await keySet(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported) throw err;
      throw new KeySetUnavailable(err);
    }
  };

  const allowed = new Set(config.algorithms);
  const requiredClaims = [...new Set(['exp', config.principalClaim])];

  return {
    async verify(token: string): Promise<JwtVerification> {
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(token);
      } catch {
        return { ok: false, reason: 'malformed', error: 'the bearer token is not a well-formed JWT' };
      }
      // Checked here for a clear message; jose enforces the same list below.
      const alg = header.alg;
      if (typeof alg !== 'string' || !allowed.has(alg)) {
        return {
          ok: false,
          reason: 'invalid',
          error: `token algorithm \`${String(alg)}\` is not allowed`,
          hint: `accepted: ${config.algorithms.join(', ')}`,
        };
      }
      // RFC 7515 §4.1.11: a token marking header parameters critical must be refused unless each is
      // understood; Airlock understands none, and says so rather than blaming the algorithm.
      if (header.crit !== undefined) {
        // The header is untrusted JSON: only strings are shown, and only the first few (no walk into nested values).
        const names = Array.isArray(header.crit)
          ? header.crit.slice(0, 8).map((c: unknown) => (typeof c === 'string' ? `\`${c.slice(0, 64)}\`` : '(not a string)')).join(', ')
          : '(malformed)';
        return {
          ok: false,
          reason: 'invalid',
          error: `the token marks header parameters critical (\`crit\`: ${names}) that Airlock does not understand`,
          hint: 'issue tokens without a `crit` header for this audience',
        };
      }
      try {
        const res = await jwtVerify(token, getKey, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: [...allowed],
          clockTolerance: config.clockToleranceSeconds,
          currentDate: deps.now(),
          requiredClaims,
        });
        return { ok: true, payload: res.payload, header: res.protectedHeader };
      } catch (err) {
        if (err instanceof KeySetUnavailable) {
          throw new AirlockError('connector', `cannot verify the token: the ${source} is unavailable: ${err.message}`, {
            hint: 'check that the identity provider serves its JWKS, and that `identity.jwt.jwks` points at it',
            retryable: true,
            cause: err.cause,
          });
        }
        return describeFailure(err);
      }
    },
  };
}

/** Turns a jose verification error into a 401 reason and message (no token content is echoed). */
function describeFailure(err: unknown): JwtVerification & { ok: false } {
  if (err instanceof errors.JWTExpired) return { ok: false, reason: 'expired', error: 'the token has expired', hint: 'get a fresh token from the identity provider' };
  if (err instanceof errors.JWTClaimValidationFailed) {
    const claim = err.claim;
    if (claim === 'nbf') return { ok: false, reason: 'invalid', error: 'the token is not valid yet (`nbf` is in the future)', hint: 'check the clocks of the identity provider and this host' };
    if (claim === 'iss') return { ok: false, reason: 'invalid', error: 'the token was issued by an issuer this workspace does not trust' };
    if (claim === 'aud') return { ok: false, reason: 'invalid', error: 'the token is not meant for this audience', hint: 'request a token whose `aud` is the audience configured in `identity.jwt.audience`' };
    if (err.reason === 'missing') return { ok: false, reason: 'invalid', error: `the token has no \`${claim}\` claim` };
    return { ok: false, reason: 'invalid', error: `the token's \`${claim}\` claim is invalid` };
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: 'invalid', error: 'the token signature does not verify' };
  if (err instanceof errors.JWKSNoMatchingKey) return { ok: false, reason: 'invalid', error: 'no key in the JWKS matches the token (`kid`/`alg`)' };
  if (err instanceof errors.JWKSMultipleMatchingKeys) return { ok: false, reason: 'invalid', error: 'several keys in the JWKS match the token', hint: 'tokens must carry a `kid` that names one key' };
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return { ok: false, reason: 'invalid', error: 'the token algorithm is not allowed' };
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return { ok: false, reason: 'malformed', error: 'the bearer token is not a well-formed JWT' };
  return { ok: false, reason: 'invalid', error: 'the token could not be verified' };
}

/** Reads a JWKS file and checks it holds only public signature keys. */
function readJwksFile(abs: string, shown: string): JSONWebKeySet {
  const fail = (message: string, hint?: string, cause?: unknown): never => {
    throw new AirlockError('config', message, { location: { file: abs }, ...(hint ? { hint } : {}), cause });
  };
  let text = '';
  try {
    text = readFileSync(abs, 'utf8');
  } catch (cause) {
    fail(`cannot read the JWKS file \`${shown}\`: ${cause instanceof Error ? cause.message : String(cause)}`, 'the path is relative to the workspace folder', cause);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    fail(`the JWKS file \`${shown}\` is not valid JSON`, 'it must be a JSON Web Key Set: `{ "keys": [ ... ] }`', cause);
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (typeof value !== 'object' || value === null || !Array.isArray(keys)) {
    return fail(`the JWKS file \`${shown}\` is not a JSON Web Key Set`, 'expected `{ "keys": [ ... ] }`');
  }
  keys.forEach((k: unknown, i) => {
    if (typeof k !== 'object' || k === null) fail(`\`keys[${i}]\` in \`${shown}\` is not a JSON Web Key`);
    const jwk = k as Record<string, unknown>;
    const secret = SECRET_JWK_MEMBERS.find((m) => m in jwk);
    if (secret !== undefined) {
      fail(
        `\`keys[${i}]\` in \`${shown}\` holds private or symmetric key material (\`${secret}\`)`,
        'publish only public keys: remove the private key from the workspace and rotate it, it may have leaked',
      );
    }
    if (!['RSA', 'EC', 'OKP'].includes(String(jwk['kty']))) fail(`\`keys[${i}]\` in \`${shown}\` has key type \`${String(jwk['kty'])}\``, 'only RSA, EC and OKP public keys verify tokens');
  });
  try {
    createLocalJWKSet(value as JSONWebKeySet);
  } catch (cause) {
    fail(`the JWKS file \`${shown}\` is malformed: ${cause instanceof Error ? cause.message : String(cause)}`, undefined, cause);
  }
  return value as JSONWebKeySet;
}
