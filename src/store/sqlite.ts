// The embedded store: one SQLite file (better-sqlite3, WAL, every commit fsynced), group-committed audit appends.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { prepareLeaf, sealLeaf, AUDIT_SCHEMA_VERSION, GENESIS_HASH, type PreparedLeaf } from '../audit/chain.js';
import { AirlockError } from '../errors.js';
import { APPROVAL_LEVELS, APPROVAL_STATUSES, OWNER_BOUNDARIES, type ApprovalId, type ApprovalStatus, type Json, type RunId, type RunStatus, type Sha256Hex } from '../types.js';
import type {
  ApprovalExpectation,
  ApprovalRecord,
  ApprovalUpdate,
  DeliveryRecord,
  GrantRecord,
  IncidentRecord,
  IncidentStatus,
  IncidentUpdate,
  InstanceLease,
  NotificationRecord,
  AuditDraft,
  AuditPayload,
  AuditRecord,
  RunRecord,
  StoredAuditRow,
  Store,
} from './store.js';
import { INCIDENT_KINDS, INCIDENT_STATUSES } from './store.js';


/** Tuning for `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** How long to wait for another process's write lock before `store-locked` (default 5000 ms). */
  readonly busyTimeoutMs?: number;
}


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
];

/** The schema version this code writes; `meta.schema_version` in the file. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

// Stored JSON is a trust boundary: rows are validated when read back.
const RUN_STATUSES = [
  'queued',
  'running',
  'awaiting-approval',
  'completed',
  'verified',
  'unverified',
  'failed',
  'cancelled',
] as const satisfies readonly RunStatus[];
const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);
const runRowSchema = z.object({
  id: z.string().min(1),
  workflow: z.string(),
  status: z.enum(RUN_STATUSES),
  version: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
  // The state came out of JSON.parse, so it is JSON; its shape is orchestration's to check, and a
  // deep z.json() walk here cost ~0.3 ms per load on the hot path (bench/doors.ts).
  state: z.unknown(),
});
// Fields added after schema version 3 default, so approvals written by an older Airlock still read.
const nullableText = z.string().nullable().default(null);
const voteSchema = z.object({
  approver: z.string(),
  decision: z.enum(['approve', 'reject']),
  reason: z.string().nullable(),
  time: z.string(),
  issuer: nullableText,
  subject: nullableText,
  authMethod: nullableText,
  authTime: nullableText,
  summaryHash: nullableText,
});
const approvalSchema = z.object({
  id: z.string().min(1),
  runId: z.string().min(1),
  actionHash: sha256Schema,
  tool: z.string(),
  requester: z.string(),
  level: z.enum(APPROVAL_LEVELS),
  status: z.enum(APPROVAL_STATUSES),
  createdAt: z.string(),
  expiresAt: z.string(),
  summary: z.json(),
  decisions: z.array(voteSchema),
  workflow: z.string().default(''),
  assignee: nullableText,
  escalations: z.number().int().nonnegative().default(0),
  escalateAt: nullableText,
  editedFrom: nullableText,
  editedBy: nullableText,
  supersededBy: nullableText,
  consumedAt: nullableText,
});
const grantSchema = z.object({
  id: z.string().min(1),
  workflow: z.string(),
  tool: z.string(),
  bounds: z.record(
    z.string(),
    z.object({ max: z.number().optional(), equals: z.union([z.string(), z.number(), z.boolean()]).optional() }),
  ),
  grantor: z.string(),
  grantorAuth: z.json(),
  reason: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  maxUses: z.number().int().positive().nullable(),
  uses: z.number().int().nonnegative(),
  status: z.enum(['active', 'revoked']),
  policyIds: z.array(z.string()),
});
const notificationSchema = z.object({
  id: z.string().min(1),
  webhook: z.string(),
  event: z.string(),
  body: z.string(),
  createdAt: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int().nonnegative(),
  nextAttemptAt: z.string(),
  lastError: z.string().nullable(),
});
const deliverySchema = z.object({
  notificationId: z.string(),
  webhook: z.string(),
  attempt: z.number().int().positive(),
  time: z.string(),
  ok: z.boolean(),
  httpStatus: z.number().int().nullable(),
  error: z.string().nullable(),
  durationMs: z.number().nonnegative(),
});

const leaseSchema = z.object({
  id: z.string().min(1),
  host: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  expiresAt: z.string(),
});
const incidentSchema = z.object({
  id: z.string().min(1),
  runId: z.string().min(1),
  kind: z.enum(INCIDENT_KINDS),
  key: z.string(),
  title: z.string(),
  evidence: z.json(),
  boundary: z.enum(OWNER_BOUNDARIES),
  owner: z.string().nullable(),
  status: z.enum(INCIDENT_STATUSES),
  createdAt: z.string(),
  resolvedAt: z.string().nullable(),
  resolvedBy: z.string().nullable(),
  resolution: z.string().nullable(),
});

/** A row of the `audit` table as SQLite returns it. */
export interface AuditRow {
  seq: number;
  leaf: string;
  prev_hash: string;
  leaf_hash: string;
  chain_hash: string;
}
interface RunRow {
  id: string;
  workflow: string;
  status: string;
  version: number;
  created_at: string;
  updated_at: string;
  state: string;
}
interface ApprovalRow {
  id: string;
  status: string;
  record: string;
}

/** One caller's share of a group commit. */
interface PendingAppend {
  readonly kind: 'audit';
  readonly leaves: readonly PreparedLeaf[];
  readonly payloads: readonly (readonly AuditPayload[])[];
  readonly resolve: (records: readonly AuditRecord[]) => void;
  readonly reject: (e: unknown) => void;
}

/** A run save waiting for the next group commit (its compare-and-set is checked inside it), with the records that go with it. */
interface PendingSave {
  readonly kind: 'run';
  readonly run: RunRecord;
  /** The state as stored, serialised before queueing: a bad state fails its own caller, never the batch. */
  readonly stateText: string;
  /** Audit records written only if the save applies (same savepoint). */
  readonly leaves: readonly PreparedLeaf[];
  readonly payloads: readonly (readonly AuditPayload[])[];
  readonly resolve: (records: readonly AuditRecord[]) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Opens (creating on first use: the folder, the file, the schema) the SQLite store at `file`.
 * Throws `store-locked` if another process holds the file past the busy timeout, `store-corrupt`
 * if the file is not an Airlock database.
 */
export async function openSqliteStore(file: string, opts: SqliteStoreOptions = {}): Promise<Store> {
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw new AirlockError('store', `cannot create the folder for the store \`${file}\``, {
      hint: 'check the path and its permissions (store.path in airlock.yaml)',
      location: { file },
      cause: e,
    });
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    // FULL in WAL mode: the WAL is fsynced at every commit, so an acknowledged append survives power loss.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (e) {
    db?.close();
    throw storeError(e, file, 'open');
  }
  return Promise.resolve(new SqliteStore(db, file));
}

function migrate(db: Database.Database, file: string): void {
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
function storeError(e: unknown, file: string, doing: string): AirlockError {
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

class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly file: string;
  private queue: (PendingAppend | PendingSave)[] = [];
  /** Settles when the scheduled group commit has run; null when none is scheduled. */
  private flushDone: Promise<void> | null = null;
  private closed = false;
  private readonly stmt: {
    head: Database.Statement<[], { seq: number; chain_hash: string }>;
    insertAudit: Database.Statement<[number, string, string, string, string]>;
    insertPayload: Database.Statement<[string, string, number]>;
    insertRunStart: Database.Statement<[string, number]>;
    readAudit: Database.Statement<[number, number], AuditRow>;
    readAuditByRun: Database.Statement<[{ run: string }], AuditRow>;
    readAuditRows: Database.Statement<[number, number], StoredAuditRow>;
    getPayload: Database.Statement<[string], { data: string }>;
    deletePayload: Database.Statement<[string]>;
    insertRun: Database.Statement<[string, string, string, number, string, string, string]>;
    updateRun: Database.Statement<[string, string, number, string, string, string, number]>;
    getRun: Database.Statement<[string], RunRow>;
    insertApproval: Database.Statement<[string, string, string, string, string]>;
    getApproval: Database.Statement<[string], ApprovalRow>;
    casApproval: Database.Statement<[string, string, string, string]>;
  };

  /** `applyOneUnwrapped` as a nested transaction: a savepoint per queued item. */
  private readonly applyOne: (p: PendingAppend | PendingSave, chain: { seq: number; prev: Sha256Hex }, fresh: Set<string>) => AuditRecord[] | AirlockError;

  constructor(db: Database.Database, file: string) {
    this.db = db;
    this.file = file;
    this.applyOne = db.transaction(this.applyOneUnwrapped.bind(this));
    this.stmt = {
      head: db.prepare('SELECT seq, chain_hash FROM audit ORDER BY seq DESC LIMIT 1'),
      insertAudit: db.prepare('INSERT INTO audit (seq, leaf, prev_hash, leaf_hash, chain_hash) VALUES (?, ?, ?, ?, ?)'),
      insertPayload: db.prepare('INSERT OR IGNORE INTO audit_payloads (hash, data, seq) VALUES (?, ?, ?)'),
      insertRunStart: db.prepare('INSERT OR IGNORE INTO audit_run_start (run_id, first_seq) VALUES (?, ?)'),
      readAuditRows: db.prepare(
        'SELECT seq, leaf AS text, prev_hash AS prevHash, leaf_hash AS leafHash, chain_hash AS chainHash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?',
      ),
      readAuditByRun: db.prepare(
        "SELECT seq, leaf, prev_hash, leaf_hash, chain_hash FROM audit WHERE seq >= (SELECT first_seq FROM audit_run_start WHERE run_id = @run) AND json_extract(leaf, '$.runId') = @run ORDER BY seq",
      ),
      readAudit: db.prepare(
        'SELECT seq, leaf, prev_hash, leaf_hash, chain_hash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?',
      ),
      getPayload: db.prepare('SELECT data FROM audit_payloads WHERE hash = ?'),
      deletePayload: db.prepare('DELETE FROM audit_payloads WHERE hash = ?'),
      insertRun: db.prepare(
        'INSERT INTO runs (id, workflow, status, version, created_at, updated_at, state) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      updateRun: db.prepare(
        'UPDATE runs SET workflow = ?, status = ?, version = ?, updated_at = ?, state = ? WHERE id = ? AND version = ?',
      ),
      getRun: db.prepare('SELECT * FROM runs WHERE id = ?'),
      insertApproval: db.prepare(
        'INSERT INTO approvals (id, run_id, status, created_at, record) VALUES (?, ?, ?, ?, ?)',
      ),
      getApproval: db.prepare('SELECT id, status, record FROM approvals WHERE id = ?'),
      casApproval: db.prepare('UPDATE approvals SET status = ?, record = ? WHERE id = ? AND status = ?'),
    };
  }

  // --- audit -------------------------------------------------------------------------------

  appendAudit(drafts: readonly AuditDraft[]): Promise<readonly AuditRecord[]> {
    if (this.closed) return Promise.reject(this.closedError());
    if (drafts.length === 0) return Promise.resolve([]);
    let leaves: PreparedLeaf[];
    try {
      // Canonicalized here, outside the write lock; a bad draft fails only its own caller.
      leaves = drafts.map((d, i) => prepareDraft(d, i));
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'audit', leaves, payloads: drafts.map((d) => d.payloads ?? []), resolve, reject });
    });
  }

  /** Queues work for the next group commit, scheduling it if none is. */
  private enqueue(item: PendingAppend | PendingSave): void {
    this.queue.push(item);
    // INVARIANT: one flush per macrotask; every append and run save queued before it shares one transaction and one fsync.
    this.flushDone ??= new Promise<void>((done) =>
      setImmediate(() => {
        this.flushDone = null;
        this.flush();
        done();
      }),
    );
  }

  /** Runs whose start is already indexed (bounded: forgetting one only costs an INSERT OR IGNORE). */
  private knownRuns = new Set<string>();

  private rememberRun(runId: string): void {
    if (this.knownRuns.size >= 10_000) this.knownRuns = new Set();
    this.knownRuns.add(runId);
  }

  /** A run save's compare-and-set inside the group commit: null when it applied, else why not. */
  private applySave(run: RunRecord, stateText: string): AirlockError | null {
    const changed = this.stmt.updateRun.run(run.workflow, run.status, run.version, run.updatedAt, stateText, run.id, run.version - 1).changes;
    if (changed === 1) return null;
    const stored = this.stmt.getRun.get(run.id);
    if (!stored) return new AirlockError('not-found', `run \`${run.id}\` does not exist`, { hint: 'create it with createRun first' });
    return new AirlockError('conflict', `run \`${run.id}\` is at version ${stored.version}; this save expected version ${run.version - 1}`, {
      hint: 'someone else saved the run first: reload it, re-apply the transition, save again',
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const results: (AuditRecord[] | AirlockError)[] = [];
    // Runs first seen in this commit; remembered only once it has committed.
    const fresh = new Set<string>();
    try {
      this.db
        .transaction(() => {
          // The head is read inside the write transaction: other processes' appends are already in it.
          const head = this.stmt.head.get();
          const chain = { seq: head?.seq ?? 0, prev: (head?.chain_hash ?? GENESIS_HASH) as Sha256Hex };
          fresh.clear();
          results.length = 0;
          for (const p of batch) {
            // INVARIANT: one caller's item never fails another's: each item is its own savepoint, and
            // the chain position advances only when the item applied.
            try {
              results.push(this.applyOne(p, chain, fresh));
            } catch (e) {
              results.push(storeError(e, this.file, p.kind === 'run' ? 'save a run' : 'append audit records'));
            }
          }
        })
        .immediate();
    } catch (e) {
      const err = storeError(e, this.file, 'append audit records');
      for (const p of batch) p.reject(err);
      return;
    }
    for (const r of fresh) this.rememberRun(r);
    batch.forEach((p, i) => {
      const r = results[i];
      if (r instanceof AirlockError) p.reject(r);
      else p.resolve(r as AuditRecord[]);
    });
  }

  /**
   * One queued item inside the group commit, under a savepoint of its own (better-sqlite3 nests a
   * transaction as a savepoint): a failure rolls back this item only and leaves `chain` as it was.
   */
  private applyOneUnwrapped(p: PendingAppend | PendingSave, chain: { seq: number; prev: Sha256Hex }, fresh: Set<string>): AuditRecord[] | AirlockError {
    if (p.kind === 'run') {
      const refused = this.applySave(p.run, p.stateText);
      if (refused) return refused;
    }
    let { seq, prev } = chain;
    const runs: string[] = [];
    const records = p.leaves.map((leaf, i) => {
      seq += 1;
      const s = sealLeaf(leaf, seq, prev);
      prev = s.chainHash;
      this.stmt.insertAudit.run(seq, s.text, s.prevHash, s.leafHash, s.chainHash);
      if (leaf.runId && !this.knownRuns.has(leaf.runId) && !fresh.has(leaf.runId) && !runs.includes(leaf.runId)) {
        this.stmt.insertRunStart.run(leaf.runId, seq);
        runs.push(leaf.runId);
      }
      for (const pl of p.payloads[i] ?? []) this.stmt.insertPayload.run(pl.hash, pl.data, seq);
      return {
        seq,
        schemaVersion: AUDIT_SCHEMA_VERSION,
        type: leaf.type,
        time: leaf.time,
        runId: leaf.runId,
        principal: leaf.principal,
        onBehalfOf: leaf.onBehalfOf,
        body: leaf.body,
        prevHash: s.prevHash,
        leafHash: s.leafHash,
        chainHash: s.chainHash,
      };
    });
    chain.seq = seq;
    chain.prev = prev;
    for (const r of runs) fresh.add(r);
    return records;
  }

  /** The stored rows as written (the exact leaf text), so verification can hash them without rebuilding records. */
  readAuditRows(fromSeq: number, limit: number): Promise<readonly StoredAuditRow[]> {
    return this.run('read audit rows', () => this.stmt.readAuditRows.all(fromSeq, limit));
  }

  readAuditForRun(runId: string): Promise<readonly AuditRecord[]> {
    return this.run('read audit records of a run', () => this.stmt.readAuditByRun.all({ run: runId }).map((row) => auditRecord(row)));
  }

  readAudit(fromSeq: number, limit: number): Promise<readonly AuditRecord[]> {
    return this.run('read audit records', () => this.stmt.readAudit.all(fromSeq, limit).map((row) => auditRecord(row)));
  }

  auditHead(): Promise<{ seq: number; chainHash: Sha256Hex } | null> {
    return this.run('read the audit head', () => {
      const h = this.stmt.head.get();
      return h ? { seq: h.seq, chainHash: h.chain_hash as Sha256Hex } : null;
    });
  }

  getPayload(hash: Sha256Hex): Promise<string | null> {
    return this.run('read a payload', () => this.stmt.getPayload.get(hash)?.data ?? null);
  }

  deletePayload(hash: Sha256Hex): Promise<void> {
    return this.run('delete a payload', () => {
      this.stmt.deletePayload.run(hash);
    });
  }

  // --- runs ---------------------------------------------------------------------------------

  createRun(run: RunRecord): Promise<void> {
    return this.run('create a run', () => {
      try {
        this.stmt.insertRun.run(
          run.id,
          run.workflow,
          run.status,
          run.version,
          run.createdAt,
          run.updatedAt,
          JSON.stringify(run.state),
        );
      } catch (e) {
        if (isConstraint(e)) {
          throw new AirlockError('conflict', `run \`${run.id}\` already exists`, {
            hint: 'run ids are unique; create the run under a new id',
          });
        }
        throw e;
      }
    });
  }

  saveRun(run: RunRecord): Promise<void> {
    return this.saveRunWithAudit(run, []).then(() => undefined);
  }

  saveRunWithAudit(run: RunRecord, drafts: readonly AuditDraft[]): Promise<readonly AuditRecord[]> {
    if (this.closed) return Promise.reject(this.closedError());
    let stateText: string;
    let leaves: PreparedLeaf[];
    try {
      // Serialised here, outside the write lock: a state that cannot be stored fails only its own caller.
      stateText = serialiseState(run);
      leaves = drafts.map((d, i) => prepareDraft(d, i));
    } catch (e) {
      return Promise.reject(e);
    }
    // Joins the group commit: a run save and the audit records beside it share one fsync.
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'run', run, stateText, leaves, payloads: drafts.map((d) => d.payloads ?? []), resolve, reject });
    });
  }

  getRun(id: RunId): Promise<RunRecord | null> {
    return this.run('read a run', () => {
      const row = this.stmt.getRun.get(id);
      return row ? this.runRecord(row) : null;
    });
  }

  listRuns(opts: { status?: RunStatus; limit?: number } = {}): Promise<readonly RunRecord[]> {
    return this.run('list runs', () => {
      const limit = opts.limit ?? -1; // -1: no limit in SQLite
      const rows = opts.status
        ? (this.db
            .prepare('SELECT * FROM runs WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?')
            .all(opts.status, limit) as RunRow[])
        : (this.db.prepare('SELECT * FROM runs ORDER BY created_at DESC, id DESC LIMIT ?').all(limit) as RunRow[]);
      return rows.map((r) => this.runRecord(r));
    });
  }

  // --- approvals ----------------------------------------------------------------------------

  createApproval(a: ApprovalRecord): Promise<void> {
    return this.run('create an approval', () => {
      try {
        this.stmt.insertApproval.run(a.id, a.runId, a.status, a.createdAt, JSON.stringify(a));
      } catch (e) {
        if (isConstraint(e)) {
          throw new AirlockError('conflict', `approval \`${a.id}\` already exists`, {
            hint: 'approval ids are unique; create it under a new id',
          });
        }
        throw e;
      }
    });
  }

  getApproval(id: ApprovalId): Promise<ApprovalRecord | null> {
    return this.run('read an approval', () => {
      const row = this.stmt.getApproval.get(id);
      return row ? this.approvalRecord(row) : null;
    });
  }

  listApprovals(opts: { status?: ApprovalStatus; runId?: RunId } = {}): Promise<readonly ApprovalRecord[]> {
    return this.run('list approvals', () => {
      const where: string[] = [];
      const args: string[] = [];
      if (opts.status !== undefined) {
        where.push('status = ?');
        args.push(opts.status);
      }
      if (opts.runId !== undefined) {
        where.push('run_id = ?');
        args.push(opts.runId);
      }
      const sql = `SELECT id, status, record FROM approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, id`;
      return (this.db.prepare(sql).all(...args) as ApprovalRow[]).map((r) => this.approvalRecord(r));
    });
  }

  updateApproval(id: ApprovalId, expected: ApprovalExpectation, update: ApprovalUpdate): Promise<ApprovalRecord | null> {
    const want: { status: ApprovalStatus; votes?: number | undefined; escalations?: number | undefined } =
      typeof expected === 'string' ? { status: expected } : expected;
    return this.run('update an approval', () =>
      this.db
        .transaction((): ApprovalRecord | null => {
          const row = this.stmt.getApproval.get(id);
          if (!row) {
            throw new AirlockError('not-found', `approval \`${id}\` does not exist`, {
              hint: 'list pending approvals with `airlock approvals`',
            });
          }
          if (row.status !== want.status) return null;
          const current = this.approvalRecord(row);
          // A vote counted against a stale list of votes would overwrite a concurrent one (a lost step-up vote).
          if (want.votes !== undefined && current.decisions.length !== want.votes) return null;
          // Two sweepers escalating the same approval: only the first one's escalation counts.
          if (want.escalations !== undefined && current.escalations !== want.escalations) return null;
          const next: ApprovalRecord = { ...current, ...definedFields(update) };
          // INVARIANT: the WHERE on status (and the vote count, read inside this IMMEDIATE
          // transaction) makes this a compare-and-set even across processes.
          const changed = this.stmt.casApproval.run(update.status, JSON.stringify(next), id, want.status).changes;
          return changed === 1 ? next : null;
        })
        .immediate(),
    );
  }

  // --- standing grants -----------------------------------------------------------------------

  createGrant(g: GrantRecord): Promise<void> {
    return this.run('create a grant', () => {
      try {
        this.db
          .prepare('INSERT INTO grants (id, workflow, tool, status, uses, created_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(g.id, g.workflow, g.tool, g.status, g.uses, g.createdAt, JSON.stringify(g));
      } catch (e) {
        if (isConstraint(e)) throw new AirlockError('conflict', `grant \`${g.id}\` already exists`, { hint: 'grant ids are unique' });
        throw e;
      }
    });
  }

  getGrant(id: string): Promise<GrantRecord | null> {
    return this.run('read a grant', () => {
      const row = this.db.prepare('SELECT id, record FROM grants WHERE id = ?').get(id) as IdRecordRow | undefined;
      return row ? this.rowRecord('grants', row, grantSchema) : null;
    });
  }

  listGrants(opts: { workflow?: string; tool?: string; status?: GrantRecord['status'] } = {}): Promise<readonly GrantRecord[]> {
    return this.run('list grants', () => {
      const { where, args } = filters({ workflow: opts.workflow, tool: opts.tool, status: opts.status });
      const rows = this.db.prepare(`SELECT id, record FROM grants ${where} ORDER BY created_at, id`).all(...args) as IdRecordRow[];
      return rows.map((r) => this.rowRecord('grants', r, grantSchema));
    });
  }

  useGrant(id: string, expectedUses: number): Promise<GrantRecord | null> {
    return this.changeGrant(id, 'use a grant', (g) => (g.status === 'active' && g.uses === expectedUses ? { ...g, uses: g.uses + 1 } : null));
  }

  revokeGrant(id: string): Promise<GrantRecord | null> {
    return this.changeGrant(id, 'revoke a grant', (g) => (g.status === 'active' ? { ...g, status: 'revoked' } : null));
  }

  /** Read-modify-write of one grant inside an IMMEDIATE transaction (a compare-and-set across processes). */
  private changeGrant(id: string, doing: string, change: (g: GrantRecord) => GrantRecord | null): Promise<GrantRecord | null> {
    return this.run(doing, () =>
      this.db
        .transaction((): GrantRecord | null => {
          const row = this.db.prepare('SELECT id, record FROM grants WHERE id = ?').get(id) as IdRecordRow | undefined;
          if (!row) throw new AirlockError('not-found', `grant \`${id}\` does not exist`, { hint: 'list grants with `airlock grants`' });
          const next = change(this.rowRecord('grants', row, grantSchema));
          if (!next) return null;
          this.db.prepare('UPDATE grants SET status = ?, uses = ?, record = ? WHERE id = ?').run(next.status, next.uses, JSON.stringify(next), id);
          return next;
        })
        .immediate(),
    );
  }

  // --- webhook outbox -----------------------------------------------------------------------

  enqueueNotifications(list: readonly NotificationRecord[]): Promise<void> {
    return this.run('queue notifications', () => {
      const insert = this.db.prepare(
        'INSERT OR IGNORE INTO notifications (id, status, attempts, next_attempt_at, created_at, record) VALUES (?, ?, ?, ?, ?, ?)',
      );
      this.db.transaction(() => {
        for (const n of list) insert.run(n.id, n.status, n.attempts, n.nextAttemptAt, n.createdAt, JSON.stringify(n));
      })();
    });
  }

  dueNotifications(now: string, limit: number): Promise<readonly NotificationRecord[]> {
    return this.run('read due notifications', () => {
      const rows = this.db
        .prepare("SELECT id, record FROM notifications WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY created_at, id LIMIT ?")
        .all(now, limit) as IdRecordRow[];
      return rows.map((r) => this.rowRecord('notifications', r, notificationSchema));
    });
  }

  claimNotification(id: string, expectedAttempts: number, leaseUntil: string): Promise<NotificationRecord | null> {
    return this.run('claim a notification', () =>
      this.db
        .transaction((): NotificationRecord | null => {
          const row = this.db.prepare('SELECT id, record FROM notifications WHERE id = ?').get(id) as IdRecordRow | undefined;
          if (!row) return null;
          const n = this.rowRecord('notifications', row, notificationSchema);
          if (n.status !== 'pending' || n.attempts !== expectedAttempts) return null;
          const next: NotificationRecord = { ...n, attempts: n.attempts + 1, nextAttemptAt: leaseUntil };
          this.db
            .prepare('UPDATE notifications SET attempts = ?, next_attempt_at = ?, record = ? WHERE id = ?')
            .run(next.attempts, next.nextAttemptAt, JSON.stringify(next), id);
          return next;
        })
        .immediate(),
    );
  }

  finishNotification(
    id: string,
    update: { status: NotificationRecord['status']; nextAttemptAt: string; lastError: string | null },
    delivery: DeliveryRecord,
  ): Promise<void> {
    return this.run('record a delivery', () =>
      this.db
        .transaction(() => {
          const row = this.db.prepare('SELECT id, record FROM notifications WHERE id = ?').get(id) as IdRecordRow | undefined;
          if (!row) throw new AirlockError('not-found', `notification \`${id}\` does not exist`);
          const current = this.rowRecord('notifications', row, notificationSchema);
          // Only the attempt that holds the claim may settle it: a late finisher (paused past its lease
          // while another process took over) only adds its row to the delivery log.
          if (current.attempts === delivery.attempt) {
            const next: NotificationRecord = { ...current, ...update };
            this.db
              .prepare('UPDATE notifications SET status = ?, next_attempt_at = ?, record = ? WHERE id = ?')
              .run(next.status, next.nextAttemptAt, JSON.stringify(next), id);
          }
          this.db.prepare('INSERT INTO deliveries (notification_id, record) VALUES (?, ?)').run(id, JSON.stringify(delivery));
        })
        .immediate(),
    );
  }

  listNotifications(opts: { status?: NotificationRecord['status']; limit?: number } = {}): Promise<readonly NotificationRecord[]> {
    return this.run('list notifications', () => {
      const { where, args } = filters({ status: opts.status });
      const rows = this.db
        .prepare(`SELECT id, record FROM notifications ${where} ORDER BY created_at DESC, id DESC LIMIT ?`)
        .all(...args, opts.limit ?? 100) as IdRecordRow[];
      return rows.map((r) => this.rowRecord('notifications', r, notificationSchema));
    });
  }

  listDeliveries(notificationId?: string): Promise<readonly DeliveryRecord[]> {
    return this.run('read the delivery log', () => {
      const rows = (
        notificationId === undefined
          ? this.db.prepare('SELECT id, record FROM deliveries ORDER BY id').all()
          : this.db.prepare('SELECT id, record FROM deliveries WHERE notification_id = ? ORDER BY id').all(notificationId)
      ) as { id: number; record: string }[];
      return rows.map((r) => this.rowRecord('deliveries', { id: String(r.id), record: r.record }, deliverySchema, false));
    });
  }

  // --- incidents ----------------------------------------------------------------------------

  createIncident(i: IncidentRecord): Promise<IncidentRecord> {
    return this.run('open an incident', () =>
      this.db
        .transaction((): IncidentRecord => {
          if (this.db.prepare('SELECT 1 FROM incidents WHERE id = ?').get(i.id)) {
            throw new AirlockError('conflict', `incident \`${i.id}\` already exists`, { hint: 'incident ids are unique' });
          }
          // INVARIANT: the partial unique index keeps one open incident per (run, kind, key), across processes too.
          const open = this.db
            .prepare("SELECT id, record FROM incidents WHERE run_id = ? AND kind = ? AND dedupe_key = ? AND status = 'open'")
            .get(i.runId, i.kind, i.key) as IdRecordRow | undefined;
          if (open) return this.rowRecord('incidents', open, incidentSchema) as IncidentRecord;
          this.db
            .prepare('INSERT INTO incidents (id, run_id, kind, dedupe_key, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)')
            .run(i.id, i.runId, i.kind, i.key, i.status, i.createdAt, JSON.stringify(i));
          return i;
        })
        .immediate(),
    );
  }

  getIncident(id: string): Promise<IncidentRecord | null> {
    return this.run('read an incident', () => {
      const row = this.db.prepare('SELECT id, record FROM incidents WHERE id = ?').get(id) as IdRecordRow | undefined;
      return row ? (this.rowRecord('incidents', row, incidentSchema) as IncidentRecord) : null;
    });
  }

  listIncidents(opts: { status?: IncidentStatus; runId?: RunId } = {}): Promise<readonly IncidentRecord[]> {
    return this.run('list incidents', () => {
      const { where, args } = filters({ status: opts.status, run_id: opts.runId });
      const rows = this.db.prepare(`SELECT id, record FROM incidents ${where} ORDER BY created_at, id`).all(...args) as IdRecordRow[];
      return rows.map((r) => this.rowRecord('incidents', r, incidentSchema) as IncidentRecord);
    });
  }

  updateIncident(id: string, expected: IncidentStatus, update: IncidentUpdate): Promise<IncidentRecord | null> {
    return this.run('update an incident', () =>
      this.db
        .transaction((): IncidentRecord | null => {
          const row = this.db.prepare('SELECT id, record FROM incidents WHERE id = ?').get(id) as IdRecordRow | undefined;
          if (!row) throw new AirlockError('not-found', `incident \`${id}\` does not exist`, { hint: 'list incidents with `airlock incidents --all`' });
          const current = this.rowRecord('incidents', row, incidentSchema) as IncidentRecord;
          if (current.status !== expected) return null;
          const next: IncidentRecord = { ...current, ...definedFields(update) };
          // Reopening would break the one-open-per-key rule if a newer one is open: the index refuses it.
          try {
            this.db.prepare('UPDATE incidents SET status = ?, record = ? WHERE id = ? AND status = ?').run(next.status, JSON.stringify(next), id, expected);
          } catch (e) {
            if (isConstraint(e)) return null;
            throw e;
          }
          return next;
        })
        .immediate(),
    );
  }

  // --- instance leases -----------------------------------------------------------------------

  renewLease(lease: InstanceLease): Promise<void> {
    return this.run('renew an instance lease', () => {
      this.db
        .prepare('INSERT INTO leases (id, started_at, record) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record')
        .run(lease.id, lease.startedAt, JSON.stringify(lease));
    });
  }

  listLeases(): Promise<readonly InstanceLease[]> {
    return this.run('list instance leases', () => {
      const rows = this.db.prepare('SELECT id, record FROM leases ORDER BY started_at, id').all() as IdRecordRow[];
      return rows.map((r) => this.rowRecord('leases', r, leaseSchema) as InstanceLease);
    });
  }

  dropLease(id: string): Promise<void> {
    return this.run('drop an instance lease', () => {
      this.db.prepare('DELETE FROM leases WHERE id = ?').run(id);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Appends already accepted are committed before the file closes.
    if (this.flushDone) await this.flushDone;
    this.db.close();
  }

  // --- helpers ------------------------------------------------------------------------------

  /** Runs a synchronous statement, mapping SQLite failures to the error tree. */
  private run<T>(doing: string, fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(storeError(e, this.file, doing));
    }
  }

  private closedError(): AirlockError {
    return new AirlockError('store', `store \`${this.file}\` is closed`, {
      hint: 'this is a bug: the store was used after close()',
    });
  }

  private runRecord(row: RunRow): RunRecord {
    const parsed = runRowSchema.safeParse({
      id: row.id,
      workflow: row.workflow,
      status: row.status,
      version: row.version,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      state: parseJson(row.state),
    });
    if (!parsed.success) throw this.corruptRow('runs', row.id, parsed.error.issues[0]?.message);
    return parsed.data as unknown as RunRecord;
  }

  private approvalRecord(row: ApprovalRow): ApprovalRecord {
    const json = parseJson(row.record);
    const parsed = approvalSchema.safeParse(
      typeof json === 'object' && json !== null ? { ...json, status: row.status } : json,
    );
    if (!parsed.success || parsed.data.id !== row.id) {
      throw this.corruptRow('approvals', row.id, parsed.error?.issues[0]?.message ?? 'the id does not match its row');
    }
    return parsed.data as unknown as ApprovalRecord;
  }

  /** A JSON `record` column read back through its schema (stored JSON is a trust boundary). */
  private rowRecord<T>(table: string, row: IdRecordRow, schema: z.ZodType<T>, checkId = true): T {
    const parsed = schema.safeParse(parseJson(row.record));
    if (!parsed.success) throw this.corruptRow(table, row.id, parsed.error.issues[0]?.message);
    if (checkId && (parsed.data as { id?: unknown }).id !== row.id) throw this.corruptRow(table, row.id, 'the id does not match its row');
    return parsed.data;
  }

  private corruptRow(table: string, id: string, why: string | undefined): AirlockError {
    return new AirlockError('store-corrupt', `row \`${id}\` of table \`${table}\` in \`${this.file}\` is invalid: ${why ?? 'unreadable JSON'}`, {
      hint: 'the file was edited outside Airlock; restore it from a backup',
      location: { file: this.file, path: `${table}[${id}]` },
    });
  }
}

/** A run's state as stored (JSON text); an `input` error naming the run when it has no JSON form. */
function serialiseState(run: RunRecord): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(run.state);
  } catch (e) {
    throw new AirlockError('input', `the state of run \`${run.id}\` cannot be stored: ${(e as Error).message}`, {
      hint: 'run state holds JSON only (bounded in depth); bound or refuse untrusted values before saving them',
      cause: e,
    });
  }
  if (text === undefined) throw new AirlockError('input', `the state of run \`${run.id}\` has no JSON form`);
  return text;
}

function prepareDraft(d: AuditDraft, i: number): PreparedLeaf {
  try {
    return prepareLeaf(d);
  } catch (e) {
    throw new AirlockError('input', `audit draft ${i} (\`${String(d.type)}\`) cannot be recorded: ${(e as Error).message}`, {
      hint: 'audit records hold JSON only: strings, finite numbers, booleans, null, arrays and plain objects',
      location: { path: `drafts[${i}]` },
      cause: e,
    });
  }
}

/**
 * A stored audit row as a record. Its seq is the row's; a row whose text is not a readable record
 * (edited outside Airlock) comes back with schemaVersion 0 and the raw text in `body.unreadable`.
 * Either way a tampered row's leaf hash cannot match, so verification names it instead of crashing.
 */
export function auditRecord(row: AuditRow): AuditRecord {
  const hashes = {
    prevHash: row.prev_hash as Sha256Hex,
    leafHash: row.leaf_hash as Sha256Hex,
    chainHash: row.chain_hash as Sha256Hex,
  };
  const v = parseJson(row.leaf) as Partial<Record<keyof AuditRecord, unknown>> | undefined;
  // JSON.parse yields JSON values only, so checking the top-level shape is enough (and fast on long chains).
  if (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Number.isSafeInteger(v.schemaVersion) &&
    typeof v.type === 'string' &&
    typeof v.time === 'string' &&
    nullableString(v.runId) &&
    nullableString(v.principal) &&
    nullableString(v.onBehalfOf) &&
    typeof v.body === 'object' &&
    v.body !== null &&
    !Array.isArray(v.body)
  ) {
    return {
      seq: row.seq,
      schemaVersion: v.schemaVersion as number,
      type: v.type,
      time: v.time,
      runId: v.runId as string | null,
      principal: v.principal as string | null,
      onBehalfOf: v.onBehalfOf as string | null,
      body: v.body as { readonly [k: string]: Json },
      ...hashes,
    };
  }
  return {
    seq: row.seq,
    schemaVersion: 0,
    type: '',
    time: '',
    runId: null,
    principal: null,
    onBehalfOf: null,
    body: { unreadable: row.leaf },
    ...hashes,
  };
}

interface IdRecordRow {
  id: string;
  record: string;
}

/** A WHERE clause over the options given (undefined ones are left out); column names are the keys. */
function filters(opts: Readonly<Record<string, string | undefined>>): { where: string; args: string[] } {
  const where: string[] = [];
  const args: string[] = [];
  for (const [col, v] of Object.entries(opts)) {
    if (v === undefined) continue;
    where.push(`${col} = ?`);
    args.push(v);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

/** The fields of an update that were given (undefined ones leave the stored value alone). */
function definedFields<T extends object>(update: T): Partial<T> {
  return Object.fromEntries(Object.entries(update).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function nullableString(v: unknown): boolean {
  return v === null || typeof v === 'string';
}

function parseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

function isConstraint(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT');
}
