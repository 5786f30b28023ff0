// JWT authentication against a JWKS served over loopback HTTP and from a workspace file, with RS256 and ES256 keys.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError, AirlockErrors } from '../../src/errors.js';
import { createAuthenticator, wwwAuthenticate, type AuthResult, type Authenticator } from '../../src/identity/authenticate.js';
import { NOW, now, workspaceWith } from './fixtures.js';

const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'airlock';
const T = Math.floor(NOW.getTime() / 1000);

type Alg = 'RS256' | 'ES256';
interface SigningKey {
  readonly alg: Alg;
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: JWK;
}

const signing = new Map<Alg, SigningKey>();
let rogue: SigningKey; // not in the JWKS
let jwks: { keys: JWK[] };
let server: Server;
let jwksUrl: string;
let jwksHits = 0;
let dir: string;

async function makeKey(alg: Alg, kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, jwk };
}

beforeAll(async () => {
  signing.set('RS256', await makeKey('RS256', 'rsa-1'));
  signing.set('ES256', await makeKey('ES256', 'ec-1'));
  rogue = await makeKey('RS256', 'rogue-1');
  jwks = { keys: [...signing.values()].map((k) => k.jwk) };

  server = createServer((req, res) => {
    jwksHits++;
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;

  dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-identity-'));
  writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify(jwks));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  rmSync(dir, { recursive: true, force: true });
});

const jwtConfig = (jwksSource: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  issuer: ISSUER,
  audience: AUDIENCE,
  jwks: jwksSource,
  ...extra,
});

async function sign(key: SigningKey, claims: JWTPayload, opts: { header?: Record<string, unknown>; omit?: readonly string[] } = {}): Promise<string> {
  const payload: JWTPayload = { iss: ISSUER, aud: AUDIENCE, iat: T, exp: T + 300, jti: 'tok-1', ...claims };
  for (const o of opts.omit ?? []) delete payload[o];
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...opts.header }).sign(key.privateKey);
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

function failure(r: AuthResult): Extract<AuthResult, { ok: false }> {
  if (r.ok) throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
  return r;
}

function success(r: AuthResult): Extract<AuthResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected success, got ${JSON.stringify(r)}`);
  return r;
}

const sources = [
  { name: 'a JWKS url (loopback HTTP server)', source: () => ({ url: jwksUrl }) },
  { name: 'a JWKS file in the workspace', source: () => ({ file: 'jwks.json' }) },
] as const;

describe.each(sources)('JWT verified against $name', ({ source }) => {
  let auth: Authenticator;
  beforeAll(() => {
    auth = createAuthenticator(workspaceWith({ jwt: jwtConfig(source()) }, { dir }), { now });
  });
  const bearer = (token: string) => auth.authenticate(`Bearer ${token}`);

  describe.each(['RS256', 'ES256'] as const)('%s', (alg) => {
    const key = () => signing.get(alg) as SigningKey;

    it('a valid token proves its declared subject, with the roles from the workspace', async () => {
      const r = success(await bearer(await sign(key(), { sub: 'refund-bot' })));
      expect(r).toEqual({
        ok: true,
        principal: { kind: 'agent', id: 'refund-bot', roles: ['support-agent'] },
        method: 'jwt',
        credentialId: 'jwt:tok-1',
        issuer: ISSUER,
        subject: 'refund-bot',
        amr: [],
      });
      // How the identity provider authenticated the user travels with the principal (recorded with approvals).
      const mfa = success(await bearer(await sign(key(), { sub: 'dana', amr: ['pwd', 'otp'], auth_time: T - 60 })));
      expect(mfa).toMatchObject({ subject: 'dana', amr: ['pwd', 'otp'], authTime: new Date((T - 60) * 1000).toISOString() });
    });

    it('wrong issuer: 401', async () => {
      const r = failure(await bearer(await sign(key(), { sub: 'refund-bot', iss: 'https://evil.example/' })));
      expect(r).toMatchObject({ status: 401, reason: 'invalid' });
      expect(r.error).toMatch(/issuer/);
      expect(wwwAuthenticate(r)).toMatch(/error="invalid_token"/);
    });

    it('wrong audience: 401', async () => {
      const r = failure(await bearer(await sign(key(), { sub: 'refund-bot', aud: 'some-other-api' })));
      expect(r).toMatchObject({ status: 401, reason: 'invalid' });
      expect(r.error).toMatch(/audience/);
    });

    it('expired beyond the clock tolerance: 401 expired; within it: accepted', async () => {
      expect(failure(await bearer(await sign(key(), { sub: 'refund-bot', exp: T - 31 })))).toMatchObject({ status: 401, reason: 'expired' });
      expect((await bearer(await sign(key(), { sub: 'refund-bot', exp: T - 10 }))).ok).toBe(true);
    });

    it('not yet valid (nbf in the future beyond tolerance): 401', async () => {
      const r = failure(await bearer(await sign(key(), { sub: 'refund-bot', nbf: T + 120 })));
      expect(r).toMatchObject({ status: 401, reason: 'invalid' });
      expect(r.error).toMatch(/not valid yet/);
    });

    it('a token without `exp` is refused', async () => {
      expect(failure(await bearer(await sign(key(), { sub: 'refund-bot' }, { omit: ['exp'] })))).toMatchObject({ status: 401 });
    });

    it('a tampered payload (subject swapped, signature kept): 401', async () => {
      const [h, , s] = (await sign(key(), { sub: 'refund-bot' })).split('.');
      const forged = `${h}.${b64({ iss: ISSUER, aud: AUDIENCE, iat: T, exp: T + 300, sub: 'dana' })}.${s}`;
      const r = failure(await bearer(forged));
      expect(r).toMatchObject({ status: 401, reason: 'invalid' });
      expect(r.error).toMatch(/signature/);
    });

    it('a token signed by a key outside the JWKS under a known kid: 401', async () => {
      const impostor = { ...rogue, alg: 'RS256' as const, kid: 'rsa-1' };
      expect(failure(await bearer(await sign(impostor, { sub: 'refund-bot' })))).toMatchObject({ status: 401, reason: 'invalid' });
    });

    it('tokens naming roles or groups do not get them: roles come from the workspace', async () => {
      const r = success(await bearer(await sign(key(), { sub: 'sam', roles: ['finance-approver', 'admin'], groups: ['admin'], scope: 'admin' })));
      expect(r.principal).toEqual({ kind: 'user', id: 'sam', roles: ['support-lead'] });
    });
  });

  it('alg `none` (unsigned token): 401', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: ISSUER, aud: AUDIENCE, iat: T, exp: T + 300, sub: 'dana' })}.`;
    const r = failure(await bearer(token));
    expect(r).toMatchObject({ status: 401, reason: 'invalid' });
    expect(r.error).toMatch(/algorithm `none` is not allowed/);
  });

  it('algorithm confusion: HS256 signed with the RSA public key bytes (PEM and JWK): 401', async () => {
    const rsa = signing.get('RS256') as SigningKey;
    const pem = await exportSPKI(rsa.publicKey);
    for (const secret of [pem, JSON.stringify(rsa.jwk), rsa.jwk.n ?? '']) {
      const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: T, exp: T + 300, sub: 'dana' })
        .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
        .sign(new TextEncoder().encode(secret));
      const r = failure(await bearer(token));
      expect(r).toMatchObject({ status: 401, reason: 'invalid' });
      expect(r.error).toMatch(/algorithm `HS256` is not allowed/);
    }
  });

  it('a token with a critical header parameter Airlock does not understand: 401 saying so, not blaming the algorithm', async () => {
    const ec = signing.get('ES256') as SigningKey;
    const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, iat: T, exp: T + 300, sub: 'dana' })
      .setProtectedHeader({ alg: ec.alg, kid: ec.kid, crit: ['urn:example:policy'], 'urn:example:policy': 'strict' })
      .sign(ec.privateKey, { crit: { 'urn:example:policy': true } });
    const r = failure(await bearer(token));
    expect(r).toMatchObject({ status: 401, reason: 'invalid' });
    expect(r.error).toBe('the token marks header parameters critical (`crit`: `urn:example:policy`) that Airlock does not understand');
  });

  it('a token header nested thousands of levels deep is refused with 401, never a stack overflow', async () => {
    let crit = '"x"';
    for (let i = 0; i < 5000; i++) crit = `[${crit}]`;
    const header = Buffer.from(`{"alg":"ES256","kid":"ec-1","crit":${crit}}`).toString('base64url');
    const r = failure(await bearer(`${header}.${b64({ sub: 'dana' })}.c2ln`));
    expect(r.status).toBe(401);
  });

  it('an unknown kid: 401', async () => {
    expect(failure(await bearer(await sign(rogue, { sub: 'refund-bot' })))).toMatchObject({ status: 401, reason: 'invalid' });
  });

  it('a token header naming a key type the kid does not have (ES256 under an RSA kid): 401', async () => {
    const ec = signing.get('ES256') as SigningKey;
    expect(failure(await bearer(await sign({ ...ec, kid: 'rsa-1' }, { sub: 'refund-bot' })))).toMatchObject({ status: 401 });
  });

  it('an undeclared subject: 403 undeclared (the credential is valid, the principal is not)', async () => {
    const r = failure(await bearer(await sign(signing.get('ES256') as SigningKey, { sub: 'mallory' })));
    expect(r).toMatchObject({ status: 403, reason: 'undeclared' });
    expect(r.error).toMatch(/`mallory` is not a declared principal/);
    expect(wwwAuthenticate(r)).toBeUndefined();
  });

  it('a subject with no principal claim: 401', async () => {
    expect(failure(await bearer(await sign(signing.get('ES256') as SigningKey, {})))).toMatchObject({ status: 401 });
  });

  it('a subject written `kind:id` must have that kind', async () => {
    const key = signing.get('RS256') as SigningKey;
    expect(success(await bearer(await sign(key, { sub: 'user:dana' }))).principal.id).toBe('dana');
    expect(failure(await bearer(await sign(key, { sub: 'agent:dana' })))).toMatchObject({ status: 403 });
  });

  it('on behalf of: `act.sub` (a declared agent) acts for `sub` (a declared user)', async () => {
    const r = success(await bearer(await sign(signing.get('RS256') as SigningKey, { sub: 'dana', act: { sub: 'refund-bot' }, auth_time: T - 60 })));
    expect(r.principal).toEqual({ kind: 'agent', id: 'refund-bot', roles: ['support-agent'] });
    expect(r.onBehalfOf).toEqual({ kind: 'user', id: 'dana', roles: ['support-lead', 'finance-approver'] });
    expect(r.authTime).toBe(new Date((T - 60) * 1000).toISOString());
  });

  it('an actor that is not a declared agent: 403 (a user, a service, an unknown id)', async () => {
    const key = signing.get('RS256') as SigningKey;
    expect(failure(await bearer(await sign(key, { sub: 'dana', act: { sub: 'sam' } })))).toMatchObject({ status: 403, reason: 'forbidden' });
    expect(failure(await bearer(await sign(key, { sub: 'dana', act: { sub: 'ops-service' } })))).toMatchObject({ status: 403, reason: 'forbidden' });
    expect(failure(await bearer(await sign(key, { sub: 'dana', act: { sub: 'ghost-bot' } })))).toMatchObject({ status: 403, reason: 'undeclared' });
  });

  it('an agent acting for something that is not a declared user: 403', async () => {
    const key = signing.get('RS256') as SigningKey;
    expect(failure(await bearer(await sign(key, { sub: 'other-bot', act: { sub: 'refund-bot' } })))).toMatchObject({ status: 403, reason: 'forbidden' });
    expect(failure(await bearer(await sign(key, { sub: 'mallory', act: { sub: 'refund-bot' } })))).toMatchObject({ status: 403, reason: 'undeclared' });
  });

  it('a malformed actor claim: 401', async () => {
    const key = signing.get('RS256') as SigningKey;
    for (const act of ['refund-bot', { client_id: 'refund-bot' }, ['refund-bot'], null]) {
      expect(failure(await bearer(await sign(key, { sub: 'dana', act })))).toMatchObject({ status: 401, reason: 'invalid' });
    }
  });

  it('auth_time in the future is dropped (never trusted for step-up); a token without jti gets a hash id', async () => {
    const r = success(await bearer(await sign(signing.get('ES256') as SigningKey, { sub: 'dana', auth_time: T + 3600 }, { omit: ['jti'] })));
    expect(r.authTime).toBeUndefined();
    expect(r.credentialId).toMatch(/^jwt:sha256:[0-9a-f]{32}$/);
  });

  it('garbage in JWT shape: 401 malformed', async () => {
    expect(failure(await bearer('eyJub3Q.anNvbg.c2ln'))).toMatchObject({ status: 401, reason: 'malformed' });
  });
});

describe('remote JWKS plumbing', () => {
  it('uses the injected fetch', async () => {
    let calls = 0;
    const countingFetch: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const auth = createAuthenticator(workspaceWith({ jwt: jwtConfig({ url: jwksUrl }) }), { now, fetch: countingFetch });
    const r = await auth.authenticate(`Bearer ${await sign(signing.get('ES256') as SigningKey, { sub: 'dana' })}`);
    expect(r.ok).toBe(true);
    expect(calls).toBe(1);
  });

  it('the JWKS cannot be fetched: throws a retryable connector error (not a 401 for a possibly good token)', async () => {
    const hitsBefore = jwksHits;
    const auth = createAuthenticator(workspaceWith({ jwt: jwtConfig({ url: jwksUrl.replace('/.well-known/jwks.json', '/missing') }) }), { now });
    const token = await sign(signing.get('ES256') as SigningKey, { sub: 'dana' });
    const err = await auth.authenticate(`Bearer ${token}`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AirlockError);
    expect((err as AirlockError).code).toBe('connector');
    expect((err as AirlockError).retryable).toBe(true);
    expect(jwksHits).toBe(hitsBefore + 1);
  });

  it('rejected algorithms never reach the JWKS endpoint', async () => {
    const auth = createAuthenticator(workspaceWith({ jwt: jwtConfig({ url: jwksUrl }) }), { now });
    const hitsBefore = jwksHits;
    const token = `${b64({ alg: 'HS256', kid: 'rsa-1' })}.${b64({ sub: 'dana' })}.c2ln`;
    expect((await auth.authenticate(`Bearer ${token}`)).ok).toBe(false);
    expect(jwksHits).toBe(hitsBefore);
  });
});

describe('JWT configuration is checked when the authenticator starts', () => {
  const startErrors = (jwt: Record<string, unknown>, wsDir = dir): AirlockError[] => {
    try {
      createAuthenticator(workspaceWith({ jwt }, { dir: wsDir }), { now });
    } catch (e) {
      if (e instanceof AirlockErrors) return [...e.errors];
      if (e instanceof AirlockError) return [e];
      throw e;
    }
    return [];
  };

  it('HS256 and none are refused as allowed algorithms', () => {
    const errs = startErrors(jwtConfig({ file: 'jwks.json' }, { algorithms: ['RS256', 'HS256', 'none'] }));
    expect(errs.map((e) => e.location?.path)).toEqual(['identity.jwt.algorithms[1]', 'identity.jwt.algorithms[2]']);
    expect(errs[0]?.message).toMatch(/HMAC/);
  });

  it('a JWKS url over plain http to another host is refused; https and loopback http are fine', () => {
    expect(startErrors(jwtConfig({ url: 'http://idp.example.com/jwks.json' }))[0]?.message).toMatch(/is not https/);
    expect(startErrors(jwtConfig({ url: 'https://idp.example.com/jwks.json' }))).toEqual([]);
    expect(startErrors(jwtConfig({ url: 'http://localhost:9/jwks.json' }))).toEqual([]);
  });

  it('a missing JWKS file, one that is not a key set, or one holding a private key is refused', async () => {
    expect(startErrors(jwtConfig({ file: 'nope.json' }))[0]?.message).toMatch(/cannot read the JWKS file `nope.json`/);
    writeFileSync(path.join(dir, 'bad.json'), '{"kes": []}');
    expect(startErrors(jwtConfig({ file: 'bad.json' }))[0]?.message).toMatch(/not a JSON Web Key Set/);
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(path.join(dir, 'private.json'), JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    const errs = startErrors(jwtConfig({ file: 'private.json' }));
    expect(errs[0]?.message).toMatch(/private or symmetric key material/);
    writeFileSync(path.join(dir, 'oct.json'), JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
    expect(startErrors(jwtConfig({ file: 'oct.json' }))[0]?.message).toMatch(/private or symmetric/);
  });
});
