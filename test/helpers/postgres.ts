// A throwaway PostgreSQL database per test file: created on the local server (AIRLOCK_TEST_PG, default
// postgres://postgres@127.0.0.1:5432/postgres, trust auth) and dropped with everything in it afterwards.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';

/** The server the tests use: a maintenance database on it, from which test databases are created. */
export const ADMIN_URL = process.env['AIRLOCK_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A database made for one test (or file): its URL, and how to drop it. */
export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Drops the database, closing any connection still open to it. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database named `airlock_t_<random>` and returns its URL. */
export async function createTestDatabase(prefix = 'airlock_t'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Whether this test run puts workspaces on PostgreSQL (`AIRLOCK_TEST_STORE=postgres`): the second pass of `npm test`. */
export const ON_POSTGRES = process.env['AIRLOCK_TEST_STORE'] === 'postgres';

/** Runs one admin statement in a child process: for helpers that must stay synchronous (copyAcme). */
function adminSync(sql: string): void {
  const script = `import pg from 'pg'; const c = new pg.Client({ connectionString: ${JSON.stringify(ADMIN_URL)} }); await c.connect(); try { await c.query(${JSON.stringify(sql)}); } finally { await c.end(); }`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'ignore', 'inherit'] });
}

/** `createTestDatabase`, synchronously; `drop` too. */
export function createTestDatabaseSync(prefix = 'airlock_t'): { readonly url: string; readonly name: string; drop(): void } {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  adminSync(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), name, drop: () => adminSync(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
