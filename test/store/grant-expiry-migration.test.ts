// Stores made before grants had an expiry column (SQLite schema 20, PostgreSQL schema 5) are migrated: the
// column is filled from each grant's record, so the gateway's read of the live grants of a tool finds the
// same grants it found when it read them all and skipped the expired ones.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openConnection } from '../../src/store/sqlite-file.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { grant } from './store-suite.js';

const NOW = '2025-01-01T00:30:00.000Z';

/** Grants of every kind: live, expired, revoked, another tool's. */
async function fill(store: Store): Promise<void> {
  await store.createGrant(grant('grt_live', { expiresAt: '2025-01-01T01:00:00.000Z' }));
  await store.createGrant(grant('grt_later', { createdAt: '2025-01-01T00:10:00.000Z', expiresAt: '2025-01-02T00:00:00.000Z' }));
  await store.createGrant(grant('grt_expired', { expiresAt: '2025-01-01T00:20:00.000Z' }));
  await store.createGrant(grant('grt_revoked', { status: 'revoked' }));
  await store.createGrant(grant('grt_mail', { tool: 'mail.send' }));
}

/** A grant as an instance from before the column writes it (a rolling upgrade): every column but expires_at. */
const OLD_INSERT = "INSERT INTO grants (id, workflow, tool, status, uses, created_at, record) VALUES ('grt_old_writer', 'refund-desk', 'payments.refund', 'active', 0, '2025-01-01T00:25:00.000Z', $1)";
const oldRecord = (): string => JSON.stringify(grant('grt_old_writer', { createdAt: '2025-01-01T00:25:00.000Z', expiresAt: '2025-01-01T02:00:00.000Z' }));

async function expectMigrated(store: Store, insertAsOld: (sql: string, record: string) => Promise<void>): Promise<void> {
  expect((await store.liveGrants('refund-desk', 'payments.refund', NOW)).map((g) => g.id)).toEqual(['grt_live', 'grt_later']);
  expect((await store.liveGrants('refund-desk', 'mail.send', NOW)).map((g) => g.id)).toEqual(['grt_mail']);
  // A grant made after the migration is found beside the migrated ones.
  await store.createGrant(grant('grt_new', { createdAt: '2025-01-01T00:20:00.000Z', expiresAt: '2025-01-01T00:40:00.000Z' }));
  expect((await store.liveGrants('refund-desk', 'payments.refund', NOW)).map((g) => g.id)).toEqual(['grt_live', 'grt_later', 'grt_new']);
  // One an older instance writes meanwhile is read too (the gateway checks its expiry from the record).
  await insertAsOld(OLD_INSERT, oldRecord());
  expect((await store.liveGrants('refund-desk', 'payments.refund', NOW)).map((g) => g.id)).toEqual(['grt_live', 'grt_later', 'grt_new', 'grt_old_writer']);
}

describe('grants of a store from before their expiry column', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-grant-expiry-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('SQLite (schema 20): fills the column from the records', async () => {
    const file = path.join(tmp, 'old.db');
    const store = await openSqliteStore(file);
    await fill(store);
    await store.close();
    const db = openConnection(file, 1000);
    db.exec(`DROP INDEX grants_live; DROP INDEX grants_by_created; ALTER TABLE grants DROP COLUMN expires_at; CREATE INDEX grants_by_tool ON grants (workflow, tool, status);
      UPDATE meta SET value = '20' WHERE key = 'schema_version';`);
    db.close();
    const reopened = await openSqliteStore(file);
    try {
      await expectMigrated(reopened, async (sql, record) => {
        const raw = openConnection(file, 1000);
        try {
          raw.prepare(sql.replace('$1', '?')).run(record);
        } finally {
          raw.close();
        }
      });
    } finally {
      await reopened.close();
    }
  });

  it('PostgreSQL (schema 5): fills the column from the records', async () => {
    const db = await createTestDatabase();
    try {
      const store = await openPostgresStore(db.url);
      await fill(store);
      await store.close();
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query(`DROP INDEX grants_live; DROP INDEX grants_by_created; ALTER TABLE grants DROP COLUMN expires_at; CREATE INDEX grants_by_tool ON grants (workflow, tool, status);
          DELETE FROM schema_migrations WHERE version > 5`);
      } finally {
        await c.end();
      }
      const reopened = await openPostgresStore(db.url);
      try {
        await expectMigrated(reopened, async (sql, record) => {
          const raw = new pg.Client({ connectionString: db.url });
          await raw.connect();
          try {
            await raw.query(sql, [record]);
          } finally {
            await raw.end();
          }
        });
      } finally {
        await reopened.close();
      }
    } finally {
      await db.drop();
    }
  });
});
