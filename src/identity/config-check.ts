// Pure checks of the workspace's identity section, and resolving a `kind:id` or bare id to a declared principal.
import type { WorkspaceFile } from '../config/schema.js';
import { resolvePrincipal } from './principal.js';

/** One problem in the identity configuration, with the path inside airlock.yaml it is about. */
export interface IdentityIssue {
  /** Path inside airlock.yaml, e.g. `['identity', 'apiKeys', 0, 'principal']`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly hint?: string;
}

/**
 * JWS algorithms Airlock accepts for tokens: asymmetric signatures only. `none` and the HMAC
 * family (HS256/384/512) are never allowed: a JWKS holds public keys, and an HMAC "verified"
 * with a public key is forgeable by anyone (algorithm confusion).
 */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** True for hosts that never leave the machine (a JWKS there may be served over plain http). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Every problem in `identity` (and `server.stdioPrincipal`) that the schema alone cannot see:
 * API keys naming undeclared principals, duplicate key ids or hashes, disallowed JWT algorithms,
 * a JWKS URL over plain http to another machine. Pure: the JWKS file itself is read by
 * `createAuthenticator`. `loadWorkspace` can turn each issue into a located error.
 */
export function identityIssues(file: WorkspaceFile): IdentityIssue[] {
  const issues: IdentityIssue[] = [];
  const { principals, apiKeys, jwt } = file.identity;
  const declaredList = principals.map((p) => `${p.kind}:${p.id}`).join(', ');

  const refIssue = (path: readonly (string | number)[], what: string, ref: string): void => {
    const r = resolvePrincipal(principals, ref);
    if (r.ok) return;
    if (r.reason === 'wrong-kind') {
      issues.push({
        path,
        message: `${what} names \`${ref}\`, but \`${ref.slice(ref.indexOf(':') + 1)}\` is declared with kind \`${r.declaredKind ?? '?'}\``,
        hint: `write \`${r.declaredKind ?? 'kind'}:${ref.slice(ref.indexOf(':') + 1)}\`, or declare the principal you meant`,
      });
    } else {
      issues.push({
        path,
        message: `${what} names principal \`${ref}\`, which is not declared`,
        hint: `declare it under \`identity.principals\` (declared: ${declaredList})`,
      });
    }
  };

  // INVARIANT: one id names one principal (bare ids are how people and keys refer to principals).
  const ids = new Map<string, number>();
  principals.forEach((p, i) => {
    const first = ids.get(p.id);
    if (first === undefined) ids.set(p.id, i);
    else issues.push({ path: ['identity', 'principals', i, 'id'], message: `principal id \`${p.id}\` is declared twice (also at \`identity.principals[${first}]\`)`, hint: 'give each principal its own id: `--as`, API keys and tokens name principals by id' });
  });

  const keyIds = new Map<string, number>();
  const hashes = new Map<string, number>();
  apiKeys.forEach((k, i) => {
    refIssue(['identity', 'apiKeys', i, 'principal'], `api key \`${k.id}\``, k.principal);
    const sameId = keyIds.get(k.id);
    if (sameId !== undefined) {
      issues.push({ path: ['identity', 'apiKeys', i, 'id'], message: `duplicate api key id \`${k.id}\` (also at \`identity.apiKeys[${sameId}]\`)`, hint: 'give each key a unique `id`: audit records name the key by it' });
    } else keyIds.set(k.id, i);
    const sameHash = hashes.get(k.sha256);
    if (sameHash !== undefined) {
      issues.push({ path: ['identity', 'apiKeys', i, 'sha256'], message: `api key \`${k.id}\` has the same hash as \`identity.apiKeys[${sameHash}]\``, hint: 'one key proves one principal: create a separate key with `airlock keys create`' });
    } else hashes.set(k.sha256, i);
  });

  if (jwt !== undefined) {
    if (jwt.algorithms.length === 0) {
      issues.push({ path: ['identity', 'jwt', 'algorithms'], message: 'no JWT algorithm is allowed', hint: `list the algorithms your identity provider signs with, e.g. [RS256, ES256]` });
    }
    jwt.algorithms.forEach((alg, j) => {
      if (ASYMMETRIC_ALGORITHMS.includes(alg)) return;
      const why = alg.toLowerCase() === 'none' ? 'unsigned tokens are never accepted' : /^HS/i.test(alg) ? 'HMAC algorithms would let anyone holding the public JWKS forge tokens' : 'it is not an asymmetric JWS algorithm Airlock supports';
      issues.push({ path: ['identity', 'jwt', 'algorithms', j], message: `JWT algorithm \`${alg}\` is not allowed: ${why}`, hint: `use one of: ${ASYMMETRIC_ALGORITHMS.join(', ')}` });
    });
    if (jwt.principalClaim === jwt.actorClaim) {
      issues.push({ path: ['identity', 'jwt', 'actorClaim'], message: `\`actorClaim\` and \`principalClaim\` are both \`${jwt.principalClaim}\``, hint: 'the actor claim is RFC 8693 `act` (an object with `sub`); the principal claim is usually `sub`' });
    }
    if ('url' in jwt.jwks) {
      const url = new URL(jwt.jwks.url);
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
        issues.push({
          path: ['identity', 'jwt', 'jwks', 'url'],
          message: `JWKS url \`${jwt.jwks.url}\` is not https`,
          hint: 'signing keys fetched over plain http can be replaced in transit: use https (plain http only to 127.0.0.1 or localhost)',
        });
      }
    }
  }

  const stdio = file.server.stdioPrincipal;
  if (stdio !== undefined) refIssue(['server', 'stdioPrincipal'], '`server.stdioPrincipal`', stdio);
  return issues;
}
