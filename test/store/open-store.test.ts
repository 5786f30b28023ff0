// Choosing the store: the workspace's `store` section (SQLite by default, `postgres://...` or `kind: postgres`),
// AIRLOCK_STORE_URL over it, `airlock migrate`, and the Acme demo run end to end on PostgreSQL.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { verifyStore } from '../../src/audit/log.js';
import { main } from '../../src/cli/main.js';
import { loadWorkspace } from '../../src/config/load.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres-migrations.js';
import { STORE_URL_ENV, storeTarget } from '../../src/store/open-store.js';
import { AirlockError } from '../../src/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { copyAcme, openWorkspaceStore } from '../helpers/workspace.js';

const made: TestDatabase[] = [];
const cleanups: (() => void)[] = [];
afterAll(async () => {
  for (const c of cleanups) c();
  await Promise.all(made.map((db) => db.drop()));
});

/** A copy of the Acme demo whose airlock.yaml names `store` (YAML text after `store: `). */
function acmeWithStore(store: string): ReturnType<typeof copyAcme> {
  const ws = copyAcme();
  cleanups.push(ws.cleanup);
  const file = path.join(ws.dir, 'airlock.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^name: (.*)$/m, `name: $1\nstore: ${store}`));
  return ws;
}

describe('choosing the store', () => {
  it('reads the shorthand URL, the long form, the default, and AIRLOCK_STORE_URL over all of them (never showing a password)', async () => {
    const short = await loadWorkspace(acmeWithStore('postgres://airlock@db.internal:5432/airlock').dir);
    expect(short.file.store).toEqual({ kind: 'postgres', url: 'postgres://airlock@db.internal:5432/airlock', pool: { max: 10 }, statementTimeoutMs: 30_000, sensitivePayloads: 'encrypt' });
    const long = await loadWorkspace(acmeWithStore('{ kind: postgres, url: "postgres://a@h/db", pool: { max: 3 }, statementTimeoutMs: 5000, sensitivePayloads: hash-only }').dir);
    expect(storeTarget(long.dir, long.file.store, {})).toEqual({ kind: 'postgres', url: 'postgres://a@h/db', shown: 'postgres://a@h/db', poolMax: 3, statementTimeoutMs: 5000 });
    const plainWs = copyAcme();
    cleanups.push(plainWs.cleanup);
    const plain = await loadWorkspace(plainWs.dir);
    expect(storeTarget(plain.dir, plain.file.store, {})).toMatchObject({ kind: 'sqlite', file: path.join(plain.dir, '.airlock', 'airlock.db') });
    const env = { [STORE_URL_ENV]: 'postgres://u:pw-secret@h:5432/db' };
    expect(storeTarget(plain.dir, plain.file.store, env)).toEqual({ kind: 'postgres', url: env[STORE_URL_ENV], shown: 'postgres://u@h:5432/db', poolMax: 10, statementTimeoutMs: 30_000 });
    expect(storeTarget(long.dir, long.file.store, env)).toMatchObject({ poolMax: 3, statementTimeoutMs: 5000 });
    expect(() => storeTarget(plain.dir, plain.file.store, { [STORE_URL_ENV]: 'mysql://h/db' })).toThrow(AirlockError);
  });

  it('refuses a store that is neither a postgres URL nor a known kind, at its line', async () => {
    for (const bad of ['mysql://h/db', '{ kind: oracle }', '{ kind: postgres }', '{ kind: postgres, url: "postgres://h/db", pool: { max: 0 } }']) {
      const e = await loadWorkspace(acmeWithStore(bad).dir).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e, bad).toBeInstanceOf(AirlockError);
      expect((e as AirlockError).message).toContain('airlock.yaml:');
      expect((e as AirlockError).message).toContain('store');
    }
  });
});

describe('the demo on PostgreSQL', () => {
  it('migrates with `airlock migrate`, runs the refund desk, and verifies its trail', async () => {
    const db = await createTestDatabase();
    made.push(db);
    const ws = acmeWithStore(db.url);
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    try {
      expect(await main(['migrate', '-w', ws.dir])).toBe(0);
      expect(await main(['migrate', '-w', ws.dir])).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(lines.join('')).toContain(`at schema version ${POSTGRES_SCHEMA_VERSION} (was 0)`);
    expect(lines.join('')).toContain('(already up to date)');

    const a = await openAirlock(ws.dir);
    try {
      const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
      expect(run.status).toBe('awaiting-approval');
      expect(await verifyStore(a.store)).toMatchObject({ ok: true });
    } finally {
      await a.close();
    }
    // Another process's view: the same database, the workspace's payload key for the sealed state.
    const other = await openWorkspaceStore(ws.dir);
    try {
      const [stored] = await other.listRuns({ limit: 1 });
      expect(stored?.status).toBe('awaiting-approval');
      expect((stored?.state as { agent?: string }).agent).toBeTruthy();
      expect((await other.readAuditForRun(stored!.id)).length).toBeGreaterThan(2);
      expect(await other.listApprovals({ status: 'pending' })).toHaveLength(1);
    } finally {
      await other.close();
    }
  });
});
