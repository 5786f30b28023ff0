// `airlock keys create` and `airlock keys hash`: the key is printed once, the YAML holds only its hash, and it authenticates.
import path from 'node:path';
import { Command } from 'commander';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { registerKeysCommand } from '../../src/cli/commands/keys.js';
import { apiKeySchema } from '../../src/config/schema.js';
import { AirlockError } from '../../src/errors.js';
import { generateApiKey, hashApiKey, isApiKeyFormat } from '../../src/identity/api-keys.js';
import { createAuthenticator } from '../../src/identity/authenticate.js';
import { now, workspaceWith } from './fixtures.js';

const ACME = path.resolve(import.meta.dirname, '../../examples/acme');

async function run(argv: string[], stdin = ''): Promise<{ lines: string[] }> {
  const lines: string[] = [];
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerKeysCommand(program, { out: (l) => lines.push(l), workspaceDir: () => ACME, readStdin: () => Promise.resolve(stdin), now });
  await program.parseAsync(argv, { from: 'user' });
  return { lines };
}

async function runError(argv: string[], stdin = ''): Promise<AirlockError> {
  const err = await run(argv, stdin).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AirlockError);
  return err as AirlockError;
}

describe('airlock keys create', () => {
  it('prints a fresh key once and a YAML entry with only its hash; the entry authenticates the key', async () => {
    const { lines } = await run(['keys', 'create', '--principal', 'agent:refund-bot', '--id', 'refund-bot-ci', '--expires', '2026-12-31T23:59:59Z']);
    const text = lines.join('\n');
    const keys = text.match(/alk_[A-Za-z0-9_-]+/g) ?? [];
    expect(keys).toHaveLength(1);
    const key = keys[0] as string;
    expect(isApiKeyFormat(key)).toBe(true);

    const snippet = text.slice(text.indexOf('    - id:'));
    expect(snippet).not.toContain(key);
    const entries = parse(`apiKeys:\n${snippet}`) as { apiKeys: unknown[] };
    const entry = apiKeySchema.parse(entries.apiKeys[0]);
    expect(entry).toEqual({ id: 'refund-bot-ci', principal: 'agent:refund-bot', sha256: hashApiKey(key), expires: '2026-12-31T23:59:59Z' });

    const auth = createAuthenticator(workspaceWith({ apiKeys: [entry] }), { now });
    const r = await auth.authenticate(`Bearer ${key}`);
    expect(r.ok && r.principal.id).toBe('refund-bot');
    expect(r.ok && r.credentialId).toBe('api-key:refund-bot-ci');
  });

  it('--json gives the same fields for scripts', async () => {
    const { lines } = await run(['keys', 'create', '--principal', 'service:ops-service', '--id', 'ops', '--json']);
    const v = JSON.parse(lines.join('\n')) as { key: string; sha256: string; id: string; principal: string };
    expect(v.sha256).toBe(hashApiKey(v.key));
    expect(v).toMatchObject({ id: 'ops', principal: 'service:ops-service' });
  });

  it('refuses a principal the workspace does not declare, or declares with another kind', async () => {
    const e = await runError(['keys', 'create', '--principal', 'agent:ghost', '--id', 'g']);
    expect(e.code).toBe('input');
    expect(e.message).toMatch(/principal `agent:ghost` is not declared/);
    expect(e.hint).toMatch(/agent:refund-bot/);
    expect((await runError(['keys', 'create', '--principal', 'user:refund-bot', '--id', 'g'])).message).toMatch(/not declared/);
  });

  it('refuses a bad --id, --principal or --expires, and an expiry in the past', async () => {
    expect((await runError(['keys', 'create', '--principal', 'agent:refund-bot', '--id', 'Bad Id'])).message).toMatch(/--id/);
    expect((await runError(['keys', 'create', '--principal', 'refund-bot', '--id', 'k'])).message).toMatch(/kind:id/);
    expect((await runError(['keys', 'create', '--principal', 'agent:refund-bot', '--id', 'k', '--expires', 'tomorrow'])).message).toMatch(/ISO-8601/);
    expect((await runError(['keys', 'create', '--principal', 'agent:refund-bot', '--id', 'k', '--expires', '2020-01-01T00:00:00Z'])).message).toMatch(/in the past/);
  });
});

describe('airlock keys hash', () => {
  it('prints the SHA-256 of the key on stdin (trailing newline ignored)', async () => {
    const { key, sha256 } = generateApiKey();
    expect((await run(['keys', 'hash'], `${key}\n`)).lines).toEqual([sha256]);
  });

  it('refuses empty input and anything that is not one Airlock key', async () => {
    expect((await runError(['keys', 'hash'], '\n')).message).toMatch(/no API key on stdin/);
    expect((await runError(['keys', 'hash'], 'hunter2')).message).toMatch(/does not hold one Airlock API key/);
    expect((await runError(['keys', 'hash'], `${generateApiKey().key}\n${generateApiKey().key}`)).message).toMatch(/does not hold one/);
  });
});
