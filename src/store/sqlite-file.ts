// The SQLite file itself: opening a connection (WAL, every commit fsynced), the schema migrations, and SQLite failures as store errors.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { AirlockError } from '../errors.js';

// Migrations by version: MIGRATIONS[n] takes the file from version n to n + 1.
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  -- leaf: the canonical JSON of the record without its hashes, exactly what leaf_hash covers.
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    leaf TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    leaf_hash TEXT NOT NULL,
    chain_hash TEXT NOT NULL
  ) STRICT;
  CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only: UPDATE is refused'); END;
  CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit records are append-only: DELETE is refused'); END;
  -- Payloads live apart from the chain (retention may delete them); seq: the record that first referred to it.
  CREATE TABLE audit_payloads (hash TEXT PRIMARY KEY, data TEXT NOT NULL, seq INTEGER NOT NULL) STRICT;
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    state TEXT NOT NULL
  ) STRICT;
  CREATE INDEX runs_by_status ON runs (status, created_at);
  CREATE INDEX runs_by_created ON runs (created_at);
  -- record: the whole ApprovalRecord as JSON; status is kept in its own column for compare-and-set.
  CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX approvals_by_status ON approvals (status, created_at);
  CREATE INDEX approvals_by_run ON approvals (run_id, created_at);
  `,
  // 2: an index of audit records by run (the chain itself is untouched), backfilled from the leaves.
  `
  CREATE TABLE audit_by_run (run_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (run_id, seq)) STRICT, WITHOUT ROWID;
  INSERT INTO audit_by_run (run_id, seq)
    SELECT json_extract(leaf, '$.runId'), seq FROM audit WHERE json_extract(leaf, '$.runId') IS NOT NULL;
  `,
  // 3: the run index is where each run starts (one row per run, not per record: a row per record
  // cost ~40% of group-commit throughput); a run's records are read from there by their runId.
  `
  CREATE TABLE audit_run_start (run_id TEXT PRIMARY KEY, first_seq INTEGER NOT NULL) STRICT, WITHOUT ROWID;
  INSERT INTO audit_run_start (run_id, first_seq) SELECT run_id, min(seq) FROM audit_by_run GROUP BY run_id;
  DROP TABLE audit_by_run;
  `,
  // 4: standing grants, and the webhook outbox with its delivery log.
  `
  CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    tool TEXT NOT NULL,
    status TEXT NOT NULL,
    uses INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX grants_by_tool ON grants (workflow, tool, status);
  CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
  CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    notification_id TEXT NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX deliveries_by_notification ON deliveries (notification_id, id);
  `,
  // 5: incidents; at most one open incident per (run, kind, key), so a re-run never opens a duplicate.
  `
  CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    record TEXT NOT NULL
  ) STRICT;
  CREATE INDEX incidents_by_status ON incidents (status, created_at);
  CREATE INDEX incidents_by_run ON incidents (run_id, created_at);
  CREATE UNIQUE INDEX incidents_open_once ON incidents (run_id, kind, dedupe_key) WHERE status = 'open';
  `,
  // 6: instance leases: which processes drive runs, so a dead one's runs are found and ended.
  `
  CREATE TABLE leases (id TEXT PRIMARY KEY, started_at TEXT NOT NULL, record TEXT NOT NULL) STRICT;
  `,
  // 7: the steps of a run, one row each, appended with the run's save: a long run's saves stay small.
  `
  CREATE TABLE run_steps (run_id TEXT NOT NULL, n INTEGER NOT NULL, item TEXT NOT NULL, PRIMARY KEY (run_id, n)) STRICT, WITHOUT ROWID;
  `,
  // 8: the value ledger: amounts counted against value budgets, summed over a window per bucket.
  `
  CREATE TABLE value_ledger (id INTEGER PRIMARY KEY, budget TEXT NOT NULL, bucket TEXT NOT NULL, amount INTEGER NOT NULL, at TEXT NOT NULL, run_id TEXT NOT NULL, action_hash TEXT NOT NULL, count_id TEXT NOT NULL) STRICT;
  CREATE INDEX value_ledger_window ON value_ledger (budget, bucket, at);
  CREATE INDEX value_ledger_count ON value_ledger (count_id);
  `,
  // 9: model usage per scope (workflow, principal, route) and UTC day, added with each run save.
  `
  CREATE TABLE usage_daily (scope TEXT NOT NULL, day TEXT NOT NULL, currency TEXT NOT NULL, model_calls INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_micros INTEGER NOT NULL, tool_calls INTEGER NOT NULL, PRIMARY KEY (scope, day, currency)) STRICT, WITHOUT ROWID;
  CREATE INDEX usage_daily_by_day ON usage_daily (day);
  `,
  // 10: spans kept locally for the console (telemetry with no collector), bounded (sqlite-spans.ts).
  `
  CREATE TABLE spans (id INTEGER PRIMARY KEY, trace_id TEXT NOT NULL, span_id TEXT NOT NULL, run_id TEXT, record TEXT NOT NULL) STRICT;
  CREATE INDEX spans_by_trace ON spans (trace_id, id);
  CREATE INDEX spans_by_run ON spans (run_id) WHERE run_id IS NOT NULL;
  `,
  // 11: approval links redeemed (each works once), kept until they would have expired.
  `
  CREATE TABLE used_links (jti TEXT PRIMARY KEY, used_at TEXT NOT NULL, expires_at TEXT NOT NULL) STRICT, WITHOUT ROWID;
  CREATE INDEX used_links_by_expiry ON used_links (expires_at);
  `,
  // 12: a run's records are found by the pages of 1,024 seqs they lie in (a row per run and page, written
  // once per page: reading one run's records costs its pages, not the trail after its start); and the
  // runs list filters on a principal (the agent, the person acted for) through an index.
  `
  CREATE TABLE audit_run_pages (run_id TEXT NOT NULL, page INTEGER NOT NULL, PRIMARY KEY (run_id, page)) STRICT, WITHOUT ROWID;
  INSERT OR IGNORE INTO audit_run_pages (run_id, page)
    SELECT json_extract(leaf, '$.runId'), seq >> 10 FROM audit WHERE json_extract(leaf, '$.runId') IS NOT NULL;
  DROP TABLE audit_run_start;
  CREATE INDEX runs_by_agent ON runs (json_extract(state, '$.agent'), created_at);
  CREATE INDEX runs_by_on_behalf_of ON runs (json_extract(state, '$.onBehalfOf'), created_at);
  `,
  // 13: context from declared sources (sqlite-context.ts): documents with their labels, who may read each
  // (ctx_access, joined inside every search), chunks with exact offsets, their full-text index (FTS5,
  // kept in step by triggers), and each document version's content hash.
  `
  CREATE TABLE ctx_documents (id INTEGER PRIMARY KEY, source TEXT NOT NULL, path TEXT NOT NULL, version_hash TEXT NOT NULL, modified_at TEXT NOT NULL, ingested_at TEXT NOT NULL, labels TEXT NOT NULL, classification TEXT NOT NULL, trust TEXT NOT NULL, owner TEXT NOT NULL, max_age_days REAL NOT NULL, UNIQUE (source, path)) STRICT;
  CREATE TABLE ctx_access (doc_id INTEGER NOT NULL REFERENCES ctx_documents (id) ON DELETE CASCADE, grantee TEXT NOT NULL, PRIMARY KEY (doc_id, grantee)) STRICT, WITHOUT ROWID;
  CREATE TABLE ctx_chunks (id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL REFERENCES ctx_documents (id) ON DELETE CASCADE, n INTEGER NOT NULL, start_at INTEGER NOT NULL, end_at INTEGER NOT NULL, text TEXT NOT NULL) STRICT;
  CREATE INDEX ctx_chunks_by_doc ON ctx_chunks (doc_id, n);
  CREATE TABLE ctx_versions (source TEXT NOT NULL, path TEXT NOT NULL, version_hash TEXT NOT NULL, ingested_at TEXT NOT NULL, PRIMARY KEY (source, path, version_hash)) STRICT, WITHOUT ROWID;
  CREATE VIRTUAL TABLE ctx_fts USING fts5 (text, content = 'ctx_chunks', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
  CREATE TRIGGER ctx_chunks_indexed AFTER INSERT ON ctx_chunks BEGIN INSERT INTO ctx_fts (rowid, text) VALUES (new.id, new.text); END;
  CREATE TRIGGER ctx_chunks_unindexed AFTER DELETE ON ctx_chunks BEGIN INSERT INTO ctx_fts (ctx_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
  `,
  // 14: embedding vectors of chunks (sqlite-vectors.ts; optional): one per chunk, named by its model, gone
  // with its chunk; an epoch every change moves on, so a process holding vectors in memory knows to reload.
  `
  CREATE TABLE ctx_vectors (chunk_id INTEGER PRIMARY KEY REFERENCES ctx_chunks (id) ON DELETE CASCADE, model TEXT NOT NULL, vec BLOB NOT NULL) STRICT;
  CREATE TABLE ctx_vector_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL) STRICT;
  INSERT INTO ctx_vector_epoch (id, n) VALUES (1, 0);
  CREATE TRIGGER ctx_vectors_added AFTER INSERT ON ctx_vectors BEGIN UPDATE ctx_vector_epoch SET n = n + 1 WHERE id = 1; END;
  CREATE TRIGGER ctx_vectors_changed AFTER UPDATE ON ctx_vectors BEGIN UPDATE ctx_vector_epoch SET n = n + 1 WHERE id = 1; END;
  CREATE TRIGGER ctx_vectors_removed AFTER DELETE ON ctx_vectors BEGIN UPDATE ctx_vector_epoch SET n = n + 1 WHERE id = 1; END;
  `,
  // 15: halts, the kill switch (sqlite-halts.ts): at most one active halt per scope; every governed call
  // reads the active ones on its scopes through the partial index, so the check stays one small lookup.
  `
  CREATE TABLE halts (id TEXT PRIMARY KEY, scope TEXT NOT NULL, status TEXT NOT NULL, stopped_at TEXT NOT NULL, record TEXT NOT NULL) STRICT;
  CREATE UNIQUE INDEX halts_active ON halts (scope) WHERE status = 'active';
  CREATE INDEX halts_by_start ON halts (stopped_at);
  `,
  // 16: pilot events (sqlite-pilot.ts): decisions that end a pilot and their sign-offs, promotion
  // sign-offs, tier changes; read newest first per workflow and kind.
  `
  CREATE TABLE pilot_events (id TEXT PRIMARY KEY, workflow TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, record TEXT NOT NULL) STRICT;
  CREATE INDEX pilot_events_by_workflow ON pilot_events (workflow, kind, at);
  `,
  // 17: the policy lifecycle (sqlite-policy.ts): deployed policy sets and the shadow set, in two lanes
  // ordered by insertion (n), not by clocks; a lane's head is read from the covering index alone.
  `
  CREATE TABLE policy_events (n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, lane TEXT NOT NULL, kind TEXT NOT NULL, set_hash TEXT NOT NULL, at TEXT NOT NULL, record TEXT NOT NULL) STRICT;
  CREATE INDEX policy_events_head ON policy_events (lane, n, id, kind, set_hash);
  `,
  // 18: signed checkpoints of the audit trail (sqlite-checkpoints.ts), one per tree size.
  `
  CREATE TABLE audit_checkpoints (size INTEGER PRIMARY KEY, record TEXT NOT NULL) STRICT;
  `,
  // 19: work shared by the instances on one store (sqlite-claims.ts): Airlock's own runs to drive, each
  // claimed by one live instance (a lease in `leases`) at a time, and calls counted per key for rate limits.
  `
  CREATE TABLE run_claims (run_id TEXT PRIMARY KEY, holder TEXT, due_at TEXT NOT NULL, woken INTEGER NOT NULL) STRICT;
  CREATE INDEX run_claims_due ON run_claims (due_at);
  CREATE TABLE rate_calls (key TEXT NOT NULL, at_ms INTEGER NOT NULL, n INTEGER NOT NULL) STRICT;
  CREATE INDEX rate_calls_by_key ON rate_calls (key, at_ms);
  CREATE INDEX rate_calls_by_time ON rate_calls (at_ms);
  `,
  // 20: the run index's newest rows first go to a table in page order, where a commit's rows for many
  // runs land together, and move to audit_run_pages (run order) a group of pages at a time (sqlite-writer.ts):
  // with many runs appending at once, each commit no longer dirties an index page per run.
  `
  CREATE TABLE audit_run_pages_recent (page INTEGER NOT NULL, run_id TEXT NOT NULL, PRIMARY KEY (page, run_id)) STRICT, WITHOUT ROWID;
  `,
  // 21: standing grants read by what they cover and when they expire (the gateway reads only the live ones
  // of a tool, never every grant made), and listed newest first a page at a time. A process from before this
  // column still writes grants (its insert gets ''): liveGrants reads those too.
  `
  ALTER TABLE grants ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
  UPDATE grants SET expires_at = json_extract(record, '$.expiresAt');
  DROP INDEX grants_by_tool;
  CREATE INDEX grants_live ON grants (workflow, tool, status, expires_at);
  CREATE INDEX grants_by_created ON grants (created_at, id);
  `,
];

/** Seqs per page of the run index (`audit_run_pages`): a page is `seq >> AUDIT_PAGE_BITS`. */
export const AUDIT_PAGE_BITS = 10;

/**
 * Pages per group of the run index's newest rows (`audit_run_pages_recent`): once a record lands in a new
 * group, the rows of the groups before it move to `audit_run_pages`.
 */
export const RECENT_GROUP_BITS = 4;

/** The schema version this code writes; `meta.schema_version` in the file. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens a connection to `file` with the store's durable settings (WAL, `synchronous=FULL`), waiting
 * up to `busyTimeoutMs` for another connection's write lock. Each connection sets its own
 * `synchronous`, so every connection that writes must be opened here. SQLite failures are thrown raw.
 */
export function openConnection(file: string, busyTimeoutMs: number): Database.Database {
  const db = new Database(file, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    // FULL in WAL mode: the WAL is fsynced at every commit, so an acknowledged append survives power loss.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Creates the folder that will hold the store file; a `store` error naming it when that fails. */
export function makeStoreFolder(file: string): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw new AirlockError('store', `cannot create the folder for the store \`${file}\``, {
      hint: 'check the path and its permissions (store.path in airlock.yaml)',
      location: { file },
      cause: e,
    });
  }
}

/** Brings the file to `SQLITE_SCHEMA_VERSION` (creating the schema on first use) under the write lock; a no-op, without the lock, when it is there already. */
export function migrate(db: Database.Database, file: string): void {
  // Read-only first: an up-to-date store needs no write lock, so readers work while a writer runs.
  try {
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
    if (row && Number(row.value) === MIGRATIONS.length) return;
  } catch {
    // no meta table yet: a new store, migrated below under the write lock
  }
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
    const row = db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get() as { value: string } | undefined;
    const current = row ? Number(row.value) : 0;
    if (!Number.isInteger(current) || current < 0) {
      throw new AirlockError('store-corrupt', `store \`${file}\` has an unreadable schema version \`${row?.value}\``, {
        hint: 'restore the file from a backup',
        location: { file },
      });
    }
    if (current > MIGRATIONS.length) {
      throw new AirlockError(
        'store',
        `store \`${file}\` has schema version ${current}; this Airlock knows up to ${MIGRATIONS.length}`,
        { hint: 'upgrade Airlock to open this store', location: { file } },
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v] as string);
    db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)`).run(String(MIGRATIONS.length));
  }).immediate();
}

/** Maps a SQLite failure to the error tree: locked and corrupt files get their own codes and hints. */
export function storeError(e: unknown, file: string, doing: string): AirlockError {
  if (e instanceof AirlockError) return e;
  const code = (e as { code?: unknown }).code;
  const detail = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || (typeof code === 'string' && code.startsWith('SQLITE_BUSY'))) {
    return new AirlockError('store-locked', `store \`${file}\` is locked by another process (${doing})`, {
      hint: 'another Airlock process is holding a write lock; wait for it to finish, or stop it, then retry',
      location: { file },
      retryable: true,
      cause: e,
    });
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || (typeof code === 'string' && code.startsWith('SQLITE_CORRUPT'))) {
    return new AirlockError('store-corrupt', `store \`${file}\` is not a valid Airlock database: ${detail}`, {
      hint: 'point store.path in airlock.yaml at another file, or restore this one from a backup (never edit it by hand)',
      location: { file },
      cause: e,
    });
  }
  return new AirlockError('store', `store \`${file}\` failed to ${doing}: ${detail}`, {
    hint: 'check free disk space and file permissions',
    location: { file },
    cause: e,
  });
}

/** True for a SQLite constraint failure (a unique key, a CHECK). */
export function isConstraint(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT');
}
