// API keys: generation, constant-time lookup, expiry, undeclared principals, and the Authorization header variants.
import { describe, expect, it } from 'vitest';
import { AirlockError, AirlockErrors, formatError } from '../../src/errors.js';
import { API_KEY_PREFIX, createApiKeyTable, generateApiKey, hashApiKey, isApiKeyFormat } from '../../src/identity/api-keys.js';
import { createAuthenticator, parseAuthorization, wwwAuthenticate, type AuthResult } from '../../src/identity/authenticate.js';
import { identityIssues } from '../../src/identity/config-check.js';
import { NOW, now, workspaceWith } from './fixtures.js';

const bot = generateApiKey();
const ops = generateApiKey();
const old = generateApiKey();
const future = generateApiKey();

const keysWorkspace = () =>
  workspaceWith({
    apiKeys: [
      { id: 'refund-bot-prod', principal: 'agent:refund-bot', sha256: bot.sha256 },
      { id: 'ops', principal: 'service:ops-service', sha256: ops.sha256 },
      { id: 'old', principal: 'agent:refund-bot', sha256: old.sha256, expires: '2026-02-01T00:00:00Z' },
      { id: 'future', principal: 'agent:refund-bot', sha256: future.sha256, expires: '2027-01-01T00:00:00Z' },
    ],
  });

const auth = createAuthenticator(keysWorkspace(), { now });

function failure(r: AuthResult): Extract<AuthResult, { ok: false }> {
  if (r.ok) throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
  return r;
}

describe('generateApiKey', () => {
  it('makes `alk_` + 32 random bytes in base64url, with its SHA-256', () => {
    const { key, sha256 } = generateApiKey();
    expect(key.startsWith(API_KEY_PREFIX)).toBe(true);
    expect(isApiKeyFormat(key)).toBe(true);
    expect(Buffer.from(key.slice(4), 'base64url')).toHaveLength(32);
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256).toBe(hashApiKey(key));
  });

  it('never repeats a key', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey().key));
    expect(keys.size).toBe(200);
  });

  it('the lookup table finds the matching entry wherever it is, and nothing else', () => {
    const table = createApiKeyTable([
      { id: 'a', principal: 'agent:refund-bot', sha256: ops.sha256 },
      { id: 'b', principal: 'agent:refund-bot', sha256: bot.sha256 },
    ]);
    expect(table.find(bot.key)?.id).toBe('b');
    expect(table.find(ops.key)?.id).toBe('a');
    expect(table.find(generateApiKey().key)).toBeUndefined();
    expect(table.find('')).toBeUndefined();
  });
});

describe('API key authentication', () => {
  it('a configured key proves its declared principal, with the roles from the workspace', async () => {
    const r = await auth.authenticate(`Bearer ${bot.key}`);
    expect(r).toEqual({
      ok: true,
      principal: { kind: 'agent', id: 'refund-bot', roles: ['support-agent'] },
      method: 'api-key',
      credentialId: 'api-key:refund-bot-prod',
      issuer: 'airlock',
      subject: 'refund-bot-prod',
      amr: [],
    });
    const s = await auth.authenticate(`Bearer ${ops.key}`);
    expect(s.ok && s.principal).toEqual({ kind: 'service', id: 'ops-service', roles: ['platform'] });
  });

  it('a key that is not configured: 401 unknown-key, the key is not echoed', async () => {
    const stranger = generateApiKey().key;
    const r = failure(await auth.authenticate(`Bearer ${stranger}`));
    expect(r).toMatchObject({ status: 401, reason: 'unknown-key' });
    expect(JSON.stringify(r)).not.toContain(stranger);
  });

  it('a key one character off is refused', async () => {
    const last = bot.key.at(-1) === 'A' ? 'B' : 'A';
    const r = failure(await auth.authenticate(`Bearer ${bot.key.slice(0, -1)}${last}`));
    expect(r).toMatchObject({ status: 401, reason: 'unknown-key' });
  });

  it('the hash itself is not a key', async () => {
    expect(failure(await auth.authenticate(`Bearer ${bot.sha256}`))).toMatchObject({ status: 401 });
    expect(failure(await auth.authenticate(`Bearer alk_${bot.sha256}`))).toMatchObject({ status: 401, reason: 'malformed' });
  });

  it('an expired key: 401 expired; a key expiring later still works', async () => {
    expect(failure(await auth.authenticate(`Bearer ${old.key}`))).toMatchObject({ status: 401, reason: 'expired' });
    expect((await auth.authenticate(`Bearer ${future.key}`)).ok).toBe(true);
    // Expiry follows the injected clock: the same key fails once its time has come.
    const later = createAuthenticator(keysWorkspace(), { now: () => new Date('2027-01-01T00:00:00Z') });
    expect(failure(await later.authenticate(`Bearer ${future.key}`))).toMatchObject({ status: 401, reason: 'expired' });
  });

  it('a key naming an undeclared principal: the authenticator refuses to start, naming the key and the path', () => {
    const ws = workspaceWith({ apiKeys: [{ id: 'ghost-key', principal: 'agent:ghost', sha256: bot.sha256 }] });
    let err: unknown;
    try {
      createAuthenticator(ws, { now });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AirlockErrors);
    const errs = (err as AirlockErrors).errors;
    expect(errs).toHaveLength(1);
    expect(errs[0]?.code).toBe('config');
    expect(errs[0]?.location?.path).toBe('identity.apiKeys[0].principal');
    expect(formatError(errs[0] as AirlockError)).toMatch(/api key `ghost-key` names principal `agent:ghost`, which is not declared/);
    expect(errs[0]?.hint).toMatch(/agent:refund-bot/);
  });

  it('a key naming a declared principal with the wrong kind is a config error too', () => {
    const issues = identityIssues(workspaceWith({ apiKeys: [{ id: 'k', principal: 'user:refund-bot', sha256: bot.sha256 }] }).file);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/`refund-bot` is declared with kind `agent`/);
  });

  it('duplicate key ids and duplicate hashes are config errors', () => {
    const issues = identityIssues(
      workspaceWith({
        apiKeys: [
          { id: 'k', principal: 'agent:refund-bot', sha256: bot.sha256 },
          { id: 'k', principal: 'agent:refund-bot', sha256: ops.sha256 },
          { id: 'j', principal: 'agent:other-bot', sha256: bot.sha256 },
        ],
      }).file,
    );
    expect(issues.map((i) => i.path.join('.'))).toEqual(['identity.apiKeys.1.id', 'identity.apiKeys.2.sha256']);
  });

  it('an undeclared `server.stdioPrincipal` is reported', () => {
    const issues = identityIssues(workspaceWith({}, { server: { stdioPrincipal: 'agent:ghost' } }).file);
    expect(issues.map((i) => i.path.join('.'))).toEqual(['server.stdioPrincipal']);
  });
});

describe('the Authorization header', () => {
  it('missing or blank: 401 missing, with a hint and a bare Bearer challenge', async () => {
    for (const h of [undefined, '', '   ']) {
      const r = failure(await auth.authenticate(h));
      expect(r).toMatchObject({ status: 401, reason: 'missing', error: 'authentication required' });
      expect(r.hint).toMatch(/Authorization: Bearer/);
      expect(wwwAuthenticate(r)).toBe('Bearer realm="airlock"');
    }
  });

  it('another scheme (Basic): 401 malformed, invalid_request challenge', async () => {
    const r = failure(await auth.authenticate(`Basic ${Buffer.from(`refund-bot:${bot.key}`).toString('base64')}`));
    expect(r).toMatchObject({ status: 401, reason: 'malformed' });
    expect(r.error).toMatch(/scheme `Basic` is not supported/);
    expect(wwwAuthenticate(r)).toMatch(/^Bearer realm="airlock", error="invalid_request"/);
  });

  it('the bare key without a scheme is refused', async () => {
    expect(failure(await auth.authenticate(bot.key))).toMatchObject({ status: 401, reason: 'malformed' });
  });

  it('`Bearer` with no token, or with an empty one: 401 malformed', async () => {
    for (const h of ['Bearer', 'Bearer ', 'Bearer    ']) {
      expect(failure(await auth.authenticate(h))).toMatchObject({ status: 401, reason: 'malformed' });
    }
  });

  it('extra spaces around and between are tolerated; the scheme is case-insensitive', async () => {
    for (const h of [`Bearer  ${bot.key}`, `  Bearer ${bot.key}  `, `bearer ${bot.key}`, `BEARER\t${bot.key}`]) {
      const r = await auth.authenticate(h);
      expect(r.ok, h).toBe(true);
    }
  });

  it('two tokens, or characters a token cannot hold: 401 malformed', async () => {
    for (const h of [`Bearer ${bot.key} ${ops.key}`, `Bearer ${bot.key},x`, `Bearer "${bot.key}"`, `Bearer ${bot.key}\u0000`]) {
      expect(failure(await auth.authenticate(h))).toMatchObject({ status: 401, reason: 'malformed' });
    }
  });

  it('a huge header is refused before any work', async () => {
    expect(failure(await auth.authenticate(`Bearer ${'a'.repeat(20_000)}`))).toMatchObject({ status: 401, reason: 'malformed' });
  });

  it('a token that is neither a key nor a JWT: 401 malformed', async () => {
    expect(failure(await auth.authenticate('Bearer hello'))).toMatchObject({ status: 401, reason: 'malformed' });
  });

  it('a JWT when the workspace configures none: 401 invalid, with a hint', async () => {
    const r = failure(await auth.authenticate('Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkYW5hIn0.c2ln'));
    expect(r).toMatchObject({ status: 401, reason: 'invalid' });
    expect(r.error).toMatch(/JWT authentication is not configured/);
  });

  it('parseAuthorization returns the token as sent', () => {
    expect(parseAuthorization(`Bearer ${bot.key}`)).toEqual({ kind: 'bearer', token: bot.key });
    expect(NOW.getTime()).toBeGreaterThan(0);
  });
});
