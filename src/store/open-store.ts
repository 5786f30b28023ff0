// The store a workspace names, opened through one function: the embedded SQLite file (the default), or PostgreSQL
// (`store: postgres://...`, or `store.kind: postgres`). `AIRLOCK_STORE_URL` in the environment overrides the
// workspace with a PostgreSQL URL, so a deployment keeps the password out of airlock.yaml.
import path from 'node:path';
import { AirlockError } from '../errors.js';
import type { WorkspaceFile } from '../config/schema.js';
import { openPostgresStore } from './postgres.js';
import { DEFAULT_POOL_MAX, DEFAULT_STATEMENT_TIMEOUT_MS, shownUrl } from './postgres-connection.js';
import type { PayloadSealing } from './sealed-payloads.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

/** The environment variable that names a PostgreSQL store for every workspace opened in this process. */
export const STORE_URL_ENV = 'AIRLOCK_STORE_URL';

/** Where a workspace's store lies: a SQLite file, or a PostgreSQL database (its URL, and the URL as shown: no password). */
export type StoreTarget =
  | { readonly kind: 'sqlite'; readonly file: string; readonly shown: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly shown: string; readonly poolMax: number; readonly statementTimeoutMs: number };

/** The store the workspace in `dir` uses, `AIRLOCK_STORE_URL` (in `env`) first. */
export function storeTarget(dir: string, store: WorkspaceFile['store'], env: NodeJS.ProcessEnv = process.env): StoreTarget {
  const fromEnv = env[STORE_URL_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^postgres(ql)?:\/\//.test(fromEnv)) {
      throw new AirlockError('config', `${STORE_URL_ENV} is not a PostgreSQL URL`, { hint: 'set it to `postgres://user:password@host:5432/database`, or unset it to use the workspace store' });
    }
    const pg = store.kind === 'postgres' ? store : undefined;
    return { kind: 'postgres', url: fromEnv, shown: shownUrl(fromEnv), poolMax: pg?.pool.max ?? DEFAULT_POOL_MAX, statementTimeoutMs: pg?.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS };
  }
  if (store.kind === 'postgres') return { kind: 'postgres', url: store.url, shown: shownUrl(store.url), poolMax: store.pool.max, statementTimeoutMs: store.statementTimeoutMs };
  const file = path.resolve(dir, store.path);
  return { kind: 'sqlite', file, shown: file };
}

/** How `openStore` opens it. */
export interface OpenStoreOptions {
  /** How confidential and restricted payloads are kept at rest. */
  readonly sealing?: PayloadSealing;
  /** Told how many writes each group commit carries (the `/metrics` histogram). */
  readonly onGroupCommit?: (writes: number) => void;
  /** Defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Opens the store of the workspace in `dir` (a PostgreSQL database is migrated first, under its advisory lock). */
export function openStore(dir: string, store: WorkspaceFile['store'], opts: OpenStoreOptions = {}): Promise<Store> {
  const target = storeTarget(dir, store, opts.env);
  const common = { ...(opts.sealing ? { sealing: opts.sealing } : {}), ...(opts.onGroupCommit ? { onGroupCommit: opts.onGroupCommit } : {}) };
  if (target.kind === 'sqlite') return openSqliteStore(target.file, common);
  return openPostgresStore(target.url, { ...common, max: target.poolMax, statementTimeoutMs: target.statementTimeoutMs });
}
