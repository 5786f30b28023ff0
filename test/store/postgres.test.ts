// The PostgreSQL store: the shared Store suite on a fresh database per test, plus what only a shared server shows:
// concurrent appends from separate instances (separate pools, as separate processes would have), group commit with
// failing writes in it, migrations under the advisory lock, a newer schema refused, the statement timeout, retries.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain-verifier.js';
import { verifyStore, type AuditTextSource } from '../../src/audit/log.js';
import { GroupCommit, type GroupItem } from '../../src/store/postgres-audit.js';
import { openPostgresStore, type PostgresStoreOptions } from '../../src/store/postgres.js';
import { openPool, pgError, shownUrl, transaction, withRetry } from '../../src/store/postgres-connection.js';
import { migratePostgres, POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres-migrations.js';
import type { Store } from '../../src/store/store.js';
import type { ApprovalId, RunId } from '../../src/types.js';
import { ADMIN_URL, createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { approval, draft, rejection, run, storeSuite } from './store-suite.js';
import { uncaughtDuring } from '../helpers/uncaught.js';

/** A store on a database of its own, which is dropped when the store closes. */
async function freshStore(opts: PostgresStoreOptions = {}): Promise<Store> {
  const db = await createTestDatabase();
  let store: Store;
  try {
    store = await openPostgresStore(db.url, { max: 4, ...opts });
  } catch (e) {
    await db.drop();
    throw e;
  }
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'close') return () => target.close().then(() => db.drop());
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

storeSuite('postgres', () => freshStore());

/** Databases a test made and drops afterwards (with every connection still open to them). */
const made: TestDatabase[] = [];
async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  made.push(db);
  return db;
}
afterAll(async () => {
  await Promise.all(made.map((db) => db.drop()));
});

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

describe('postgres store: many instances on one database', () => {
  it('keeps one gap-free chain that verifies under concurrent appends from four separate instances', async () => {
    const db = await database();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(db.url, { max: 2 })));
    try {
      // Each instance: 25 waves of 8 concurrent callers, each appending 3 records; the instances run interleaved.
      const results = await Promise.all(
        stores.map(async (s, k) => {
          const mine: (readonly { seq: number; body: unknown }[])[] = [];
          for (let wave = 0; wave < 25; wave++) {
            const calls = Array.from({ length: 8 }, (_, c) => s.appendAudit([0, 1, 2].map((part) => draft(c, { runId: `run_${k}`, body: { instance: k, wave, caller: c, part } }))));
            mine.push(...(await Promise.all(calls)));
          }
          return mine;
        }),
      );
      // Every caller's records are contiguous and in its order, whichever instance it used.
      for (const recs of results.flat()) expect(recs.map((r) => r.seq)).toEqual([recs[0]!.seq, recs[0]!.seq + 1, recs[0]!.seq + 2]);
      const all = await stores[0]!.readAudit(1, 10_000);
      expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 4 * 25 * 8 * 3 }, (_, i) => i + 1));
      expect(await verifyStore(stores[1]!)).toMatchObject({ ok: true, count: 2400 });
      expect((await verifyChain(all)).ok).toBe(true);
      expect((await stores[2]!.readAuditForRun('run_3')).length).toBe(600);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('keeps one chain when separate processes append at once', async () => {
    const db = await database();
    await migratePostgres(db.url, 'db');
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-pg-'));
    const go = path.join(tmp, 'go');
    // Each child: its own Node process and pool, 20 waves of 10 concurrent callers. A barrier: each says it is
    // ready (its store open), and all begin once the go file exists, written when all three are ready.
    const script = `import { existsSync, writeFileSync } from 'node:fs';
      import { openPostgresStore } from ${JSON.stringify(pathToFileURL(path.resolve(import.meta.dirname, '../../dist/src/store/postgres.js')).href)};
      const [url, go, who] = process.argv.slice(1);
      const s = await openPostgresStore(url, { max: 2 });
      writeFileSync(go + '.' + who, '');
      while (!existsSync(go)) await new Promise((r) => setTimeout(r, 2));
      for (let w = 0; w < 20; w++) {
        await Promise.all(Array.from({ length: 10 }, (_, i) => s.appendAudit([{ type: 'action.intent', time: '2025-01-01T00:00:00.000Z', runId: null, principal: 'agent:' + who, onBehalfOf: null, body: { w, i } }])));
        await new Promise((r) => setTimeout(r, 2));
      }
      await s.close();`;
    const children = ['p1', 'p2', 'p3'].map(
      (who) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script, db.url, go, who], { stdio: ['ignore', 'ignore', 'inherit'] });
          child.on('exit', resolve);
        }),
    );
    const ready = (): boolean => ['p1', 'p2', 'p3'].every((who) => existsSync(`${go}.${who}`));
    let exited = false;
    void Promise.all(children).then(() => (exited = true));
    while (!ready() && !exited) await new Promise((r) => setTimeout(r, 5));
    writeFileSync(go, '');
    const codes = await Promise.all(children);
    rmSync(tmp, { recursive: true, force: true });
    expect(codes).toEqual([0, 0, 0]);
    const s = await openPostgresStore(db.url, { max: 2 });
    try {
      const all = await s.readAudit(1, 10_000);
      expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
      expect(await verifyStore(s)).toMatchObject({ ok: true, count: 600 });
      // The processes really interleaved (else this would prove nothing).
      expect(all.filter((r, i) => i > 0 && r.principal !== all[i - 1]?.principal).length).toBeGreaterThan(2);
    } finally {
      await s.close();
    }
  });

  it('commits every good write of a group commit beside the ones that fail, with records only for what applied', async () => {
    const db = await database();
    const s = await openPostgresStore(db.url, { max: 2 });
    const other = await openPostgresStore(db.url, { max: 2 });
    try {
      await s.createRun(run('run_a'));
      await s.createApproval(approval('apr_1'));
      // Queued together: one transaction, a savepoint each.
      const outcomes = await Promise.allSettled([
        s.appendAudit([draft(1, { body: { n: 'first' } })]),
        s.createRun(run('run_a'), [draft(2, { body: { n: 'duplicate run' } })]),
        s.saveRunWithAudit(run('run_a', { version: 5 }), [draft(3, { body: { n: 'stale save' } })]),
        s.updateApproval('apr_missing' as ApprovalId, 'pending', { status: 'approved', decisions: [] }, [draft(4, { body: { n: 'missing approval' } })]),
        s.saveRunWithAudit(run('run_a', { version: 2 }), [draft(5, { body: { n: 'good save' } })], { steps: [{ n: 1, item: 'x' }] }),
        s.saveRunWithAudit(run('run_a', { version: 3 }), [draft(6, { body: { n: 'step twice' } })], { steps: [{ n: 1, item: 'again' }] }),
        other.appendAudit([draft(7, { body: { n: 'other instance' } })]),
        s.appendAudit([draft(8, { body: { n: 'last' } })]),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect(outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as { code: string }).code] : []))).toEqual(['conflict', 'conflict', 'not-found', 'conflict']);
      const bodies = (await s.readAudit(1, 100)).map((r) => r.body['n']);
      expect(bodies.sort()).toEqual(['first', 'good save', 'last', 'other instance']);
      expect(await verifyStore(other)).toMatchObject({ ok: true, count: 4 });
      expect((await s.getRun('run_a' as RunId))?.version).toBe(2);
      expect(await s.listRunSteps('run_a' as RunId)).toEqual([{ n: 1, item: 'x' }]);
    } finally {
      await Promise.all([s.close(), other.close()]);
    }
  });

  it('lets exactly one of concurrent compare-and-set writes from separate instances win, and counts caps once', async () => {
    const db = await database();
    const stores = await Promise.all(Array.from({ length: 3 }, () => openPostgresStore(db.url, { max: 2 })));
    try {
      await stores[0]!.createRun(run('run_a'));
      await stores[0]!.createApproval(approval('apr_1'));
      const saves = await Promise.allSettled(stores.flatMap((s, k) => [0, 1].map((i) => s.saveRunWithAudit(run('run_a', { version: 2, state: { by: `${k}.${i}` } }), [draft(k, { body: { save: `${k}.${i}` } })]))));
      expect(saves.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
      const votes = await Promise.all(stores.map((s, k) => s.updateApproval('apr_1' as ApprovalId, 'pending', { status: k % 2 ? 'approved' : 'rejected', decisions: [] }, [draft(k, { body: { vote: k } })])));
      expect(votes.filter((v) => v !== null)).toHaveLength(1);
      const limit = { budget: 'b', bucket: 'k', amount: 6, since: '2025-01-01T00:00:00.000Z', limit: 15 };
      const counted = await Promise.all(stores.flatMap((s, k) => [0, 1, 2].map((i) => s.addValue([limit], { at: '2025-01-02T00:00:00.000Z', runId: `run_${k}` as RunId, actionHash: 'h', countId: `c${k}.${i}` }))));
      expect(counted.filter((c) => c.ok)).toHaveLength(2);
      // An agent's cap on open runs holds across instances: of nine opened at once on three, two more than it held.
      const ext = (id: string) => run(id, { state: { driver: 'agent', agent: 'refund-bot', door: 'mcp' } });
      await stores[0]!.createRunWithin(ext('run_x'), [], { agent: 'refund-bot', max: 3 });
      // (Without records: a write with records is serialised by the audit chain's lock already.)
      const opened = await Promise.all(stores.flatMap((s, k) => [0, 1, 2].map((i) => s.createRunWithin(ext(`run_${k}${i}`), [], { agent: 'refund-bot', max: 3 }))));
      expect(opened.filter((o) => 'records' in o)).toHaveLength(2);
      // One record each for the save and the vote that won.
      expect(await stores[1]!.readAudit(1, 100)).toHaveLength(2);
      expect(await verifyStore(stores[2]!)).toMatchObject({ ok: true, count: 2 });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe('postgres store: the trail at rest', () => {
  it('refuses to change or delete a record, and verification (in ranges, on verifier threads) names the one edited behind its back', async () => {
    const db = await database();
    const s = await openPostgresStore(db.url, { max: 2 });
    try {
      for (let i = 0; i < 30; i++) await s.appendAudit(Array.from({ length: 100 }, (_, k) => draft(i * 100 + k)));
      expect(await verifyStore(s, { batchSize: 256 })).toMatchObject({ ok: true, count: 3000 });
      // The range verification reads is the stored rows exactly: texts a line each, each hash column comma-separated.
      const rows = await (s as unknown as AuditTextSource).readAuditRows(11, 5);
      const range = await (s as unknown as Required<AuditTextSource>).readAuditRange(11, 5);
      expect(range.rows).toBe(5);
      expect(range.lastSeq).toBe(15);
      expect(Buffer.from(range.leaves).toString('utf8')).toBe(rows.map((r) => r.text).join('\n'));
      expect(Buffer.from(range.prevs).toString('utf8')).toBe(rows.map((r) => r.prevHash).join(','));
      expect(Buffer.from(range.leafHashes).toString('utf8')).toBe(rows.map((r) => r.leafHash).join(','));
      expect(Buffer.from(range.chains).toString('utf8')).toBe(rows.map((r) => r.chainHash).join(','));
      expect((s as unknown as Required<AuditTextSource>).auditRangeReader()).toMatchObject({ module: expect.stringContaining('postgres-audit-ranges') });
      for (const sql of ["UPDATE audit SET leaf = leaf WHERE seq = 5", 'DELETE FROM audit WHERE seq = 3000', 'TRUNCATE audit']) {
        await expect(query(db.url, sql)).rejects.toThrow(/append-only/);
      }
      // Someone with the rights to switch the trigger off edits record 1234: the chain no longer holds there.
      await query(db.url, `ALTER TABLE audit DISABLE TRIGGER audit_no_change; UPDATE audit SET leaf = replace(leaf, '"i":1233', '"i":4321') WHERE seq = 1234; ALTER TABLE audit ENABLE TRIGGER audit_no_change`);
      expect(await verifyStore(s, { batchSize: 256 })).toMatchObject({ ok: false, seq: 1234 });
    } finally {
      await s.close();
    }
  });
});

describe('postgres store: migrations', () => {
  it('migrates a fresh database once when two instances start at the same time', async () => {
    const db = await database();
    const [a, b] = await Promise.all([migratePostgres(db.url, 'db'), migratePostgres(db.url, 'db')]);
    expect([a.applied.length, b.applied.length].sort()).toEqual([0, POSTGRES_SCHEMA_VERSION]);
    const rows = await query<{ version: number }>(db.url, 'SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
    // Two stores opening together on an up-to-date database: nothing to do.
    const stores = await Promise.all([openPostgresStore(db.url, { max: 1 }), openPostgresStore(db.url, { max: 1 })]);
    await Promise.all(stores.map((s) => s.close()));
    expect(await migratePostgres(db.url, 'db')).toEqual({ from: POSTGRES_SCHEMA_VERSION, to: POSTGRES_SCHEMA_VERSION, applied: [] });
  });

  it('waits for the advisory lock another session holds before it migrates', async () => {
    const db = await database();
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [0x6169726c6f636bn.toString()]);
      let settled = false;
      const migrating = migratePostgres(db.url, 'db').finally(() => {
        settled = true;
      });
      // The migration is queued behind the lock (PostgreSQL shows it waiting), and has written nothing.
      for (;;) {
        const waiting = await holder.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
        if (waiting.rows[0]!.n === 1) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(settled).toBe(false);
      expect((await holder.query(`SELECT to_regclass('schema_migrations') AS t`)).rows[0]).toEqual({ t: null });
      await holder.query('SELECT pg_advisory_unlock($1)', [0x6169726c6f636bn.toString()]);
      expect((await migrating).applied).toHaveLength(POSTGRES_SCHEMA_VERSION);
    } finally {
      await holder.end();
    }
  });

  it('refuses a database whose schema is newer than it knows, and one that is behind when told not to migrate', async () => {
    const db = await database();
    const behind = await rejection(openPostgresStore(db.url, { migrate: false }));
    expect(behind.message).toContain(`has schema version 0; this Airlock needs ${POSTGRES_SCHEMA_VERSION}`);
    expect(behind.hint).toContain('airlock migrate');
    await migratePostgres(db.url, 'db');
    await query(db.url, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')", [POSTGRES_SCHEMA_VERSION + 1]);
    const newer = await rejection(openPostgresStore(db.url));
    expect(newer.code).toBe('store');
    expect(newer.message).toContain(`has schema version ${POSTGRES_SCHEMA_VERSION + 1}; this Airlock knows up to ${POSTGRES_SCHEMA_VERSION}`);
    expect(newer.hint).toContain('upgrade');
  });

  it('never shows the password of the URL', async () => {
    const db = await database();
    const url = new URL(db.url);
    url.password = 's3cret-pw';
    url.pathname = '/no_such_database_here';
    expect(shownUrl(url.toString())).not.toContain('s3cret-pw');
    expect(shownUrl('postgres://u@h/db?password=s3cret-pw&sslmode=require')).toBe('postgres://u@h/db?sslmode=require');
    const e = await rejection(openPostgresStore(url.toString()));
    expect(e.message).toContain('no_such_database_here');
    expect(`${e.message} ${e.hint ?? ''} ${JSON.stringify(e.location)}`).not.toContain('s3cret-pw');
  });
});

describe('postgres store: timeouts and retries', () => {
  it('fails appends with a retryable error past the statement timeout while another session holds the audit lock, then goes on', async () => {
    const db = await database();
    const s = await openPostgresStore(db.url, { max: 2, statementTimeoutMs: 300 });
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await s.appendAudit([draft(1)]);
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM audit_head FOR UPDATE');
      const e = await rejection(s.appendAudit([draft(2)]));
      expect(e.code).toBe('store-locked');
      expect(e.retryable).toBe(true);
      expect(e.message).toContain('statement timeout');
      await holder.query('ROLLBACK');
      expect((await s.appendAudit([draft(3)])).map((r) => r.seq)).toEqual([2]);
      expect(await verifyStore(s)).toMatchObject({ ok: true, count: 2 });
    } finally {
      await holder.end();
      await s.close();
    }
  });

  it('runs a transaction PostgreSQL chose as a deadlock victim again, and it commits', async () => {
    const db = await database();
    await query(db.url, 'CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0), (2, 0)');
    const a = new pg.Client({ connectionString: db.url });
    const b = new pg.Client({ connectionString: db.url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      let tries = 0;
      // Two transactions lock the two rows in opposite orders: PostgreSQL ends one with 40P01.
      const txn = (c: pg.Client, first: number, second: number) =>
        withRetry(async () => {
          tries++;
          await c.query('BEGIN');
          try {
            await c.query('UPDATE t SET v = v + 1 WHERE id = $1', [first]);
            await c.query('SELECT pg_sleep(0.2)');
            await c.query('UPDATE t SET v = v + 1 WHERE id = $1', [second]);
            await c.query('COMMIT');
          } catch (e) {
            await c.query('ROLLBACK');
            throw e;
          }
        });
      await Promise.all([txn(a, 1, 2), txn(b, 2, 1)]);
      expect(tries).toBe(3);
      expect(await query(db.url, 'SELECT id, v FROM t ORDER BY id')).toEqual([
        { id: 1, v: 2 },
        { id: 2, v: 2 },
      ]);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });
});

describe('postgres store: connections', () => {
  it("raises nothing when its database is dropped while the pool's connections are still closing", async () => {
    // pg's pool.end() resolves before its sockets close; a database dropped at once (WITH FORCE) ends those
    // sessions, and each says goodbye with an error. Without the pool's error listener that error is uncaught
    // and takes the process down (it did, in CI). Twenty rounds: the race is lost in about half of them.
    // The admin session is open before the pool ends, so the drop follows the end by a round trip only.
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    try {
      const uncaught = await uncaughtDuring(async () => {
        for (let i = 0; i < 20; i++) {
          const name = `airlock_bye_${i}_${process.pid}`;
          await admin.query(`CREATE DATABASE ${name}`);
          const url = new URL(ADMIN_URL);
          url.pathname = `/${name}`;
          const pool = openPool(url.toString(), { max: 4 });
          await Promise.all([1, 2, 3, 4].map(() => pool.query('SELECT pg_sleep(0.005)')));
          await pool.end();
          await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
        }
      });
      expect(uncaught).toEqual([]);
    } finally {
      await admin.end();
    }
  });

  it('runs a transaction again when the server ended its session before COMMIT (between statements, or during one): it commits once, nothing uncaught', async () => {
    const db = await database();
    await query(db.url, 'CREATE TABLE t (k text PRIMARY KEY)');
    const pool = openPool(db.url, { max: 1 });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const end = (pid: number): Promise<unknown> => admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const pidOf = async (c: pg.PoolClient): Promise<number> => (await c.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
    try {
      const tries = { between: 0, during: 0 };
      const uncaught = await uncaughtDuring(async () => {
        // Between statements: the loss arrives while the transaction holds the connection and waits on nothing.
        await transaction(pool, async (c) => {
          await c.query("INSERT INTO t VALUES ('between')");
          if (tries.between++ === 0) {
            await end(await pidOf(c));
            await new Promise((r) => setTimeout(r, 200));
          }
          await c.query('SELECT 1');
        });
        // During a statement.
        await transaction(pool, async (c) => {
          await c.query("INSERT INTO t VALUES ('during')");
          if (tries.during++ > 0) return;
          const pid = await pidOf(c);
          const ending = new Promise((r) => setTimeout(r, 100)).then(() => end(pid));
          await Promise.all([c.query('SELECT pg_sleep(5)'), ending]);
        });
      });
      expect(uncaught).toEqual([]);
      expect(tries).toEqual({ between: 2, during: 2 });
      // The first tries were rolled back with their sessions: each row once.
      expect(await query(db.url, 'SELECT k FROM t ORDER BY k')).toEqual([{ k: 'between' }, { k: 'during' }]);
    } finally {
      await admin.end();
      await pool.end();
    }
  });

  it('reads again a read whose connection the server ended: every read right after its session ended answers', async () => {
    const db = await database();
    const s = await openPostgresStore(db.url, { max: 2 });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await s.appendAudit([draft(1)]);
      const answers: unknown[] = [];
      const uncaught = await uncaughtDuring(async () => {
        for (let i = 0; i < 20; i++) {
          await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'airlock'");
          answers.push((await s.auditHead().catch((e: unknown) => e)) as unknown);
        }
      });
      expect(uncaught).toEqual([]);
      expect(answers.filter((a) => a instanceof Error)).toEqual([]);
      expect(answers).toHaveLength(20);
    } finally {
      await admin.end();
      await s.close();
    }
  });

  it("runs a group commit again when its connection is lost in one write's own rows: every write applies once", async () => {
    const db = await database();
    await migratePostgres(db.url, 'db');
    await query(db.url, 'CREATE TABLE t (k text PRIMARY KEY)');
    const pool = openPool(db.url, { max: 1 });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const group = new GroupCommit(pool, 'db');
      const runs: Record<string, number> = { a: 0, b: 0, c: 0 };
      const item = (k: string): GroupItem<string> => ({
        doing: `write ${k}`,
        leaves: [],
        payloads: [],
        apply: async (c) => {
          runs[k] = (runs[k] ?? 0) + 1;
          await c.query('INSERT INTO t VALUES ($1)', [k]);
          if (k === 'b' && runs[k] === 1) {
            const pid = (await c.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
            await admin.query('SELECT pg_terminate_backend($1)', [pid]);
            await new Promise((r) => setTimeout(r, 100));
            await c.query('SELECT 1');
          }
          return { value: k, append: false };
        },
      });
      let values: string[] = [];
      const uncaught = await uncaughtDuring(async () => {
        values = (await Promise.all(['a', 'b', 'c'].map((k) => group.submit(item(k))))).map((r) => r.value);
      });
      expect(uncaught).toEqual([]);
      expect(values).toEqual(['a', 'b', 'c']);
      // One batch, run twice: the first try died with its session, before any of it committed.
      expect(runs).toEqual({ a: 2, b: 2, c: 1 });
      expect(await query(db.url, 'SELECT k FROM t ORDER BY k')).toEqual([{ k: 'a' }, { k: 'b' }, { k: 'c' }]);
    } finally {
      await admin.end();
      await pool.end();
    }
  });

  it('fails a transaction whose session is ended at every try with a retryable store error, nothing uncaught; the next runs on a new connection', async () => {
    const db = await database();
    const pool = openPool(db.url, { max: 1 });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      let tries = 0;
      let failure: unknown;
      const uncaught = await uncaughtDuring(async () => {
        failure = await transaction(
          pool,
          async (c) => {
            tries++;
            const pid = (await c.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
            await admin.query('SELECT pg_terminate_backend($1)', [pid]);
            await new Promise((r) => setTimeout(r, 100));
            await c.query('SELECT 1');
          },
          { attempts: 3, baseDelayMs: 1 },
        ).catch((e: unknown) => e);
      });
      expect(uncaught).toEqual([]);
      expect(tries).toBe(3);
      // A store error a caller may retry (the HTTP API answers 503 with Retry-After), never an internal one.
      expect(pgError(failure, 'db', 'write')).toMatchObject({ code: 'store', retryable: true });
      // The broken connections were dropped: with one connection at most, the pool opened a new one.
      expect((await transaction(pool, (c) => c.query<{ one: number }>('SELECT 1 AS one'))).rows).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await pool.end();
    }
  });
});

describe('postgres store: failures as errors', () => {
  const pgFailure = (message: string, code?: string): Error => Object.assign(new Error(message), code === undefined ? {} : { code });
  it.each([
    ['a restart (admin shutdown)', pgFailure('terminating connection due to administrator command', '57P01')],
    ['a crash of another backend', pgFailure('terminating connection because of crash of another server process', '57P02')],
    ['a server shutting down or starting up', pgFailure('the database system is shutting down', '57P03')],
    ['a connection failure (class 08)', pgFailure('connection failure', '08006')],
    ['a socket the server closed', pgFailure('Connection terminated unexpectedly')],
    ['a client that lost its connection', pgFailure('Client has encountered a connection error and is not queryable')],
    ['a reset socket', pgFailure('read ECONNRESET', 'ECONNRESET')],
    ['a broken pipe', pgFailure('write EPIPE', 'EPIPE')],
    ['a refused connection', pgFailure('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['too many connections', pgFailure('sorry, too many clients already', '53300')],
    ['a serialisation failure', pgFailure('could not serialize access', '40001')],
  ])('calls %s a retryable store failure', (_what, e) => {
    expect(pgError(e, 'postgres://db/x', 'read runs')).toMatchObject({ code: 'store', retryable: true });
  });

  it('calls a statement timeout retryable (store-locked), and a failed statement not retryable', () => {
    expect(pgError(pgFailure('canceling statement due to statement timeout', '57014'), 'db', 'read')).toMatchObject({ code: 'store-locked', retryable: true });
    const bad = pgError(pgFailure('relation "runs" does not exist', '42P01'), 'postgres://db/x', 'read runs');
    expect(bad).toMatchObject({ code: 'store', retryable: false });
    expect(bad.message).toBe('store `postgres://db/x` failed to read runs: relation "runs" does not exist');
  });
});
