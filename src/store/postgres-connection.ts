// PostgreSQL connections for the store: the pool (its size, a statement timeout on every connection), the URL as
// shown in messages (never its password), PostgreSQL failures as store errors, and transactions retried with a
// bounded backoff when PostgreSQL gives up on one for a serialisation failure or a deadlock (SQLSTATE 40001, 40P01).
import pg from 'pg';
import { AirlockError } from '../errors.js';

/** Tuning of the connections (`store.pool.max`, `store.statementTimeoutMs`). */
export interface PgConnectionOptions {
  /** At most this many connections per store (default 10). */
  readonly max?: number;
  /** Every statement on every connection is cancelled past this (default 30,000 ms). */
  readonly statementTimeoutMs?: number;
}

export const DEFAULT_POOL_MAX = 10;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/** Something that runs SQL: the pool, or one connection inside a transaction. */
export type Sql = Pick<pg.PoolClient, 'query'>;

/**
 * `url` as it may be shown (errors, logs, the CLI): the password, and a `password` parameter, left out.
 * A URL that does not parse is never echoed at all.
 */
export function shownUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'postgres://(an unreadable URL)';
  }
  u.password = '';
  u.searchParams.delete('password');
  return u.toString();
}

/** The pool of a store at `url`: every connection with the statement timeout, and idle transactions ended. */
export function openPool(url: string, opts: PgConnectionOptions = {}): pg.Pool {
  const statementTimeout = opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? DEFAULT_POOL_MAX,
    statement_timeout: statementTimeout,
    // A transaction left open by a stalled process would hold the audit lock: the server ends it.
    idle_in_transaction_session_timeout: Math.max(statementTimeout * 2, 10_000),
    connectionTimeoutMillis: Math.max(statementTimeout, 5_000),
    application_name: 'airlock',
  });
  // An idle connection the server closed (a restart, a dropped database) must not crash the process: the
  // pool drops it, and the next query opens another.
  pool.on('error', () => undefined);
  return pool;
}

/** The SQLSTATE of a PostgreSQL error (undefined for anything else). */
export function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True for a unique-key violation. */
export function isUniqueViolation(e: unknown): boolean {
  return sqlState(e) === '23505';
}

/** True when PostgreSQL gave up on a transaction that may succeed if run again: a serialisation failure or a deadlock. */
export function isRetryable(e: unknown): boolean {
  const s = sqlState(e);
  return s === '40001' || s === '40P01';
}

/** How often, and how patiently, a transaction is run again (`isRetryable`). */
export interface RetryPolicy {
  /** Tries in all, the first included (default 6). */
  readonly attempts?: number;
  /** The first pause (default 5 ms); each later one doubles, with jitter, up to `maxDelayMs` (default 250 ms). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * Runs `fn`, again after a growing pause while it fails with a retryable error (`retryable`, by default a
 * serialisation failure or a deadlock), at most `attempts` times in all.
 */
export async function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy = {}, retryable: (e: unknown) => boolean = isRetryable): Promise<T> {
  const attempts = Math.max(1, policy.attempts ?? 6);
  const base = policy.baseDelayMs ?? 5;
  const max = policy.maxDelayMs ?? 250;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !retryable(e)) throw e;
      const pause = Math.min(max, base * 2 ** (i - 1));
      await new Promise((r) => setTimeout(r, pause / 2 + Math.random() * (pause / 2)));
    }
  }
}

/**
 * Runs `fn` in one transaction on a connection of `pool` (READ COMMITTED: compare-and-set is done with row
 * locks, `SELECT ... FOR UPDATE`, and advisory locks), committed when it returns, rolled back when it throws,
 * and run again from the start on a serialisation failure or a deadlock, and when the connection was lost
 * (or could not be had) before COMMIT was sent: the server rolled that transaction back with its session. A
 * loss during COMMIT leaves the outcome unknown: that one is never run again.
 */
export function transaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>, policy?: RetryPolicy): Promise<T> {
  // The failures of tries the server rolled back (a lost connection before COMMIT): those are run again.
  const rolledBack = new WeakSet<object>();
  const rolledBackWith = (e: unknown): void => void (typeof e === 'object' && e !== null && rolledBack.add(e));
  const again = (e: unknown): boolean => isRetryable(e) || (typeof e === 'object' && e !== null && rolledBack.has(e));
  return withRetry(async () => {
    let committing = false;
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      if (isLostConnection(e)) rolledBackWith(e);
      throw e;
    }
    let broken: Error | undefined;
    // A session the server ends mid-transaction (a restart, a terminated backend, the idle-in-transaction
    // timeout) fails the query waiting on it; pg also emits the loss as an event on the checked-out client,
    // which no listener of the pool's hears, and which would be uncaught and end the process.
    const lost = (e: Error): void => {
      broken = e;
    };
    client.on('error', lost);
    try {
      await client.query('BEGIN');
      const value = await fn(client);
      // A session that ended before COMMIT was sent certainly rolled back (run again below), whatever fn made of it.
      if (broken) throw broken;
      committing = true;
      await client.query('COMMIT');
      return value;
    } catch (e) {
      if (!committing && (broken !== undefined || isLostConnection(e))) rolledBackWith(e);
      // A connection that cannot even roll back is broken: the pool drops it.
      await client.query('ROLLBACK').catch((err: unknown) => {
        broken = err instanceof Error ? err : new Error(String(err));
      });
      if (committing && isLost(e)) {
        // Sent, and no answer: the server may have committed it. Never run again, and never "retry" to a caller.
        throw new AirlockError('store-unknown', `the connection to the database was lost while a change was committed (${e instanceof Error ? e.message : String(e)}): it may or may not have been applied`, {
          hint: 'read it back before repeating it',
          cause: e,
        });
      }
      throw e;
    } finally {
      client.removeListener('error', lost);
      client.release(broken);
    }
  }, policy, again);
}

/**
 * Runs `fn` under a savepoint of the transaction `c` is in: what it wrote is undone when it throws (and the
 * transaction goes on), so one failed statement does not end the transaction around it.
 */
export async function underSavepoint<T>(c: Sql, fn: () => Promise<T>): Promise<T> {
  await c.query('SAVEPOINT airlock_item');
  try {
    const value = await fn();
    await c.query('RELEASE SAVEPOINT airlock_item');
    return value;
  } catch (e) {
    await c.query('ROLLBACK TO SAVEPOINT airlock_item');
    throw e;
  }
}

/** True when `e` says the connection is gone (see `isConnectionLoss`). */
function isLost(e: unknown): boolean {
  return isConnectionLoss(sqlState(e), e instanceof Error ? e.message : String(e));
}

/**
 * True when `e` says the connection was lost or refused at once (a restart, a terminated session): worth
 * trying again for work that changed nothing. Not a connection attempt that timed out (each try would wait
 * as long again), nor a login refused or a database missing (each try would be refused again).
 */
export function isLostConnection(e: unknown): boolean {
  const state = sqlState(e);
  if (state === '28000' || state === '28P01' || state === '3D000') return false;
  return isLost(e) && !/timeout|ETIMEDOUT/i.test(e instanceof Error ? e.message : String(e));
}

/**
 * True when the database could not be reached or let go of the session: the server refused or dropped the
 * connection (SQLSTATE class 08), it is shutting down, restarting or starting up (57P01-57P03), the login or
 * database is wrong (28000, 28P01, 3D000), or the socket failed. Such a failure may pass: it is retryable.
 */
function isConnectionLoss(state: string | undefined, detail: string): boolean {
  if (state !== undefined && (state.startsWith('08') || ['57P01', '57P02', '57P03', '28000', '28P01', '3D000'].includes(state))) return true;
  return /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|timeout exceeded when trying to connect|Connection terminated|not queryable/.test(detail);
}

/** Maps a PostgreSQL (or connection) failure to the error tree, naming the database as `shown` (no password). */
export function pgError(e: unknown, shown: string, doing: string): AirlockError {
  if (e instanceof AirlockError) return e;
  const state = sqlState(e);
  const detail = e instanceof Error ? e.message : String(e);
  const where = { location: { file: shown }, cause: e };
  if (state === '40001' || state === '40P01') {
    return new AirlockError('store', `store \`${shown}\` failed to ${doing}: the database kept refusing the transaction (${detail})`, {
      hint: 'many instances are writing the same rows at once; retry',
      retryable: true,
      ...where,
    });
  }
  if (state === '57014' || state === '55P03') {
    return new AirlockError('store-locked', `store \`${shown}\` failed to ${doing}: the statement timed out (${detail})`, {
      hint: 'the database is overloaded or another session holds a lock; retry, or raise store.statementTimeoutMs',
      retryable: true,
      ...where,
    });
  }
  if (state === '53300' || state === '53200') {
    return new AirlockError('store', `store \`${shown}\` failed to ${doing}: the database is out of resources (${detail})`, {
      hint: 'too many connections or too little memory on the database server; retry, or lower store.pool.max across the instances',
      retryable: true,
      ...where,
    });
  }
  if (isConnectionLoss(state, detail)) {
    return new AirlockError('store', `store \`${shown}\` cannot be reached to ${doing}: ${detail}`, {
      hint: 'check store.url in airlock.yaml (or AIRLOCK_STORE_URL), that the server is up, and the credentials',
      retryable: true,
      ...where,
    });
  }
  return new AirlockError('store', `store \`${shown}\` failed to ${doing}: ${detail}`, {
    hint: 'check the database server and its logs',
    ...where,
  });
}
