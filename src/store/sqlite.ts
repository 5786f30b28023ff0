// The embedded store: one SQLite file (better-sqlite3, WAL, every commit fsynced); writes group-committed on this thread or by a writer thread, reads on this thread.
import type { PreparedLeaf } from '../audit/chain.js';
import { AirlockError } from '../errors.js';
import type { ApprovalId, ApprovalStatus, Classification, RunId, Sha256Hex } from '../types.js';
import type Database from 'better-sqlite3';
import type {
  ApprovalExpectation,
  ApprovalRecord,
  ApprovalUpdate,
  DeliveryRecord,
  GrantPage,
  GrantRecord,
  HaltLift,
  HaltRecord,
  IncidentRecord,
  IncidentStatus,
  IncidentUpdate,
  InstanceLease,
  NotificationRecord,
  OpenRunsCap,
  ApprovalPage,
  NewestPage,
  AuditDraft,
  AuditPayload,
  AuditRecord,
  RunQuery,
  RunRecord,
  RunStep,
  RunSummary,
  StoredAuditRow,
  StoredSpan,
  Store,
  RunSaveExtras,
  UsageRow,
  ValueEntry,
} from './store.js';
import { MAX_LIVE_GRANTS, MAX_RUN_IDS } from './store.js';
import { AUDIT_PAGE_BITS, makeStoreFolder, migrate, openConnection, storeError } from './sqlite-file.js';
import {
  auditRecord,
  deliverySchema,
  filters,
  grantSchema,
  incidentSchema,
  leaseSchema,
  notificationSchema,
  RowReader,
  type ApprovalRow,
  type AuditRow,
  type IdRecordRow,
  type RunRow,
} from './sqlite-rows.js';
import { keptFingerprint, SqliteWriter } from './sqlite-writer.js';
import { DOING, type RunColumns, type WireLeaf, type WriteOp, type WriteResult } from './sqlite-write-ops.js';
import { writerModule } from './sqlite-thread.js';
import { InlineWrites, ThreadWrites, type WriteChannel } from './sqlite-writes.js';
import { SPANS_PER_TRACE, spansOfRun } from './sqlite-spans.js';
import { RUN_SUMMARY_COLUMNS, runQuerySql } from './sqlite-queries.js';
import { LIVE_GRANTS_SQL } from './live-grants.js';
import { newestPageSql } from './newest-page.js';
import { runSummaryOf } from './run-summary.js';
import { openPayload, openRunState, openStep, sealPayloads, sealStep, type PayloadSealing } from './sealed-payloads.js';
import { appendedRecords, prepareDraft, runColumns, serialiseStep } from './write-input.js';
import { ContextReads } from './sqlite-context.js';
import { HaltReads } from './sqlite-halts.js';
import { PilotReads } from './sqlite-pilot.js';
import type { PilotEvent, PilotEventKind } from './pilot-records.js';
import { PolicyReads, policyEventColumns } from './sqlite-policy.js';
import { CheckpointReads } from './sqlite-checkpoints.js';
import { auditRangeStatement, readAuditRange } from './sqlite-audit-ranges.js';
import { builtModule } from '../util/package-root.js';
import type { AuditRangeBytes, AuditRangeReaderSpec } from '../audit/store-scan.js';
import type { StoredCheckpoint } from './checkpoint-records.js';
import type { PolicyEventHead, PolicyLane, PolicySetEvent } from './policy-records.js';
import type { ChunkVector, UnembeddedChunk, ContextChanges, ContextCited, ContextDocumentQuery, ContextDocumentState, ContextHit, ContextQuery } from './context-records.js';

export { SQLITE_SCHEMA_VERSION } from './sqlite-file.js';
export { auditRecord, type AuditRow } from './sqlite-rows.js';

/** Tuning for `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** How long to wait for another process's write lock before `store-locked` (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /**
   * Where writes commit. `inline` (the default): on this thread; each group commit blocks the event
   * loop for its fsync. `thread`: in the process's writer thread, which owns the write connection,
   * so fsync waits never block this thread, at about 0.1 ms more per durable commit and more CPU per
   * write (docs/benchmarks.md, `store-writes`: it pays off with many concurrent sessions that keep
   * this thread busy, or a disk with slow fsync).
   */
  readonly writer?: 'inline' | 'thread';
  /** Told how many writes each group commit carries (the `/metrics` histogram). */
  readonly onGroupCommit?: (writes: number) => void;
  /** How confidential and restricted payloads are kept at rest (sealed with the payload key, or not at all); absent: as given. */
  readonly sealing?: PayloadSealing;
}

/**
 * Opens (creating on first use: the folder, the file, the schema) the SQLite store at `file`.
 * Throws `store-locked` if another process holds the file past the busy timeout, `store-corrupt`
 * if the file is not an Airlock database.
 */
export async function openSqliteStore(file: string, opts: SqliteStoreOptions = {}): Promise<Store> {
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  makeStoreFolder(file);
  let db: Database.Database | undefined;
  try {
    db = openConnection(file, busyTimeoutMs);
    migrate(db, file);
  } catch (e) {
    db?.close();
    throw storeError(e, file, 'open');
  }
  if ((opts.writer ?? 'inline') === 'inline') return new SqliteStore(db, file, new InlineWrites(new SqliteWriter(db, file), opts.onGroupCommit), opts.sealing);
  try {
    const writes = await ThreadWrites.start(writerModule(), { file, busyTimeoutMs }, opts.onGroupCommit);
    // INVARIANT: this thread's connection only reads; every write goes through the writer thread.
    db.pragma('query_only = ON');
    return new SqliteStore(db, file, writes, opts.sealing);
  } catch (e) {
    db.close();
    throw e;
  }
}

class SqliteStore implements Store {
  private readonly rows: RowReader;
  private readonly context: ContextReads;
  private readonly halts: HaltReads;
  private readonly pilot: PilotReads;
  private readonly policy: PolicyReads;
  private readonly checkpoints: CheckpointReads;
  private closed = false;
  private rangeStmt: ReturnType<typeof auditRangeStatement> | undefined;
  private readonly stmt: {
    head: Database.Statement<[], { seq: number; chain_hash: string }>;
    readAudit: Database.Statement<[number, number], AuditRow>;
    readAuditByRun: Database.Statement<[{ run: string }], AuditRow>;
    readAuditRows: Database.Statement<[number, number], StoredAuditRow>;
    getPayload: Database.Statement<[string], { data: string }>;
    getRun: Database.Statement<[string], RunRow>;
    listRunSteps: Database.Statement<[string, number, number], { n: number; item: string }>;
    valueSpent: Database.Statement<[string, string, string], { s: number }>;
    getApproval: Database.Statement<[string], ApprovalRow>;
  };

  /**
   * `db` serves the reads; `writes` commits the writes. Read-your-writes holds: a write settles only
   * after its transaction committed, and each read here starts a fresh WAL snapshot.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    private readonly writes: WriteChannel,
    private readonly sealing?: PayloadSealing,
  ) {
    this.rows = new RowReader(file);
    this.context = new ContextReads(db);
    this.halts = new HaltReads(db, file);
    this.pilot = new PilotReads(db, file);
    this.policy = new PolicyReads(db, file);
    this.checkpoints = new CheckpointReads(db, file);
    this.stmt = {
      head: db.prepare('SELECT seq, chain_hash FROM audit ORDER BY seq DESC LIMIT 1'),
      readAuditRows: db.prepare(
        'SELECT seq, leaf AS text, prev_hash AS prevHash, leaf_hash AS leafHash, chain_hash AS chainHash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?',
      ),
      readAuditByRun: db.prepare(
        // The run's pages in both parts of the index (the newest rows are in page order: a scan of a few groups).
        `SELECT a.seq, a.leaf, a.prev_hash, a.leaf_hash, a.chain_hash
         FROM (SELECT page FROM audit_run_pages WHERE run_id = @run UNION SELECT page FROM audit_run_pages_recent WHERE run_id = @run) p
         JOIN audit a ON a.seq BETWEEN p.page << ${AUDIT_PAGE_BITS} AND ((p.page + 1) << ${AUDIT_PAGE_BITS}) - 1
         WHERE json_extract(a.leaf, '$.runId') = @run ORDER BY a.seq`,
      ),
      readAudit: db.prepare('SELECT seq, leaf, prev_hash, leaf_hash, chain_hash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?'),
      getPayload: db.prepare('SELECT data FROM audit_payloads WHERE hash = ?'),
      getRun: db.prepare('SELECT * FROM runs WHERE id = ?'),
      listRunSteps: db.prepare('SELECT n, item FROM run_steps WHERE run_id = ? AND n < ? ORDER BY n DESC LIMIT ?'),
      valueSpent: db.prepare('SELECT COALESCE(SUM(amount), 0) AS s FROM value_ledger WHERE budget = ? AND bucket = ? AND at > ?'),
      getApproval: db.prepare('SELECT id, status, record FROM approvals WHERE id = ?'),
    };
  }

  // --- audit -------------------------------------------------------------------------------

  appendAudit(drafts: readonly AuditDraft[]): Promise<readonly AuditRecord[]> {
    if (this.closed) return Promise.reject(this.closedError());
    if (drafts.length === 0) return Promise.resolve([]);
    let leaves: PreparedLeaf[];
    try {
      // Canonicalized here, before it is queued; a bad draft fails only its own caller.
      leaves = drafts.map((d, i) => prepareDraft(d, i));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.writes
      .submit({ op: 'append', leaves: leaves.map(wireLeaf), payloads: drafts.map((d) => sealPayloads(d.payloads ?? [], this.sealing)) })
      .then((sealed) => appendedRecords(leaves, sealed));
  }

  /** The stored rows as written (the exact leaf text), so verification can hash them without rebuilding records. */
  readAuditRows(fromSeq: number, limit: number): Promise<readonly StoredAuditRow[]> {
    return this.read('read audit rows', () => this.stmt.readAuditRows.all(fromSeq, limit));
  }

  /** Rows as bytes in one read (audit/store-scan.ts), for verification. */
  readAuditRange(fromSeq: number, count: number): Promise<AuditRangeBytes> {
    return this.read('read audit rows', () => readAuditRange((this.rangeStmt ??= auditRangeStatement(this.db)), fromSeq, count));
  }

  /** How verifier threads read ranges of this file on their own read-only connections (none for an in-memory database). */
  auditRangeReader(): AuditRangeReaderSpec | null {
    const module = builtModule('store/sqlite-audit-ranges');
    return module === undefined || this.file === ':memory:' || this.file === '' ? null : { module, init: { file: this.file } };
  }

  readAuditForRun(runId: string): Promise<readonly AuditRecord[]> {
    return this.read('read audit records of a run', () => this.stmt.readAuditByRun.all({ run: runId }).map((row) => auditRecord(row)));
  }

  readAudit(fromSeq: number, limit: number): Promise<readonly AuditRecord[]> {
    return this.read('read audit records', () => this.stmt.readAudit.all(fromSeq, limit).map((row) => auditRecord(row)));
  }

  auditHead(): Promise<{ seq: number; chainHash: Sha256Hex } | null> {
    return this.read('read the audit head', () => {
      const h = this.stmt.head.get();
      return h ? { seq: h.seq, chainHash: h.chain_hash as Sha256Hex } : null;
    });
  }

  getPayload(hash: Sha256Hex): Promise<string | null> {
    return this.read('read a payload', () => {
      const data = this.stmt.getPayload.get(hash)?.data;
      return data === undefined ? null : openPayload(data, hash, this.sealing, this.file);
    });
  }

  deletePayload(hash: Sha256Hex): Promise<void> {
    return this.write('delete-payload', () => ({ op: 'delete-payload', hash })).then(() => undefined);
  }

  // --- runs ---------------------------------------------------------------------------------

  createRun(run: RunRecord, drafts: readonly AuditDraft[] = []): Promise<readonly AuditRecord[]> {
    return this.insertRun(run, drafts, undefined).then((r) => ('records' in r ? r.records : []));
  }

  createRunWithin(run: RunRecord, drafts: readonly AuditDraft[], cap: OpenRunsCap): Promise<{ readonly records: readonly AuditRecord[] } | { readonly held: number }> {
    return this.insertRun(run, drafts, cap);
  }

  private insertRun(run: RunRecord, drafts: readonly AuditDraft[], within: OpenRunsCap | undefined): Promise<{ readonly records: readonly AuditRecord[] } | { readonly held: number }> {
    if (this.closed) return Promise.reject(this.closedError());
    let columns: RunColumns;
    let leaves: PreparedLeaf[];
    try {
      columns = runColumns(run, this.sealing);
      leaves = drafts.map((d, i) => prepareDraft(d, i));
    } catch (e) {
      return Promise.reject(e);
    }
    // The run and the records that say it started land together, or neither does.
    return this.writes
      .submit({ op: 'create-run', run: columns, leaves: leaves.map(wireLeaf), payloads: drafts.map((d) => sealPayloads(d.payloads ?? [], this.sealing)), ...(within && { within }) })
      .then((r) => ('held' in r ? r : { records: appendedRecords(leaves, r.sealed) }));
  }

  saveRun(run: RunRecord): Promise<void> {
    return this.saveRunWithAudit(run, []).then(() => undefined);
  }

  saveRunWithAudit(run: RunRecord, drafts: readonly AuditDraft[], extras: RunSaveExtras = {}): Promise<readonly AuditRecord[]> {
    const steps = extras.steps ?? [];
    const usage = extras.usage ?? [];
    if (this.closed) return Promise.reject(this.closedError());
    let columns: RunColumns;
    let leaves: PreparedLeaf[];
    let stepRows: { n: number; item: string }[];
    try {
      // Serialised here, before it is queued: a state that cannot be stored fails only its own caller.
      columns = runColumns(run, this.sealing);
      leaves = drafts.map((d, i) => prepareDraft(d, i));
      stepRows = steps.map((s) => ({ n: s.n, item: sealStep(run.id, s.n, serialiseStep(run.id, s), this.sealing) }));
    } catch (e) {
      return Promise.reject(e);
    }
    // Joins the group commit: a run save, its steps and the audit records beside it share one fsync, and apply together or not at all.
    return this.writes
      .submit({
        op: 'save-run',
        run: columns,
        leaves: leaves.map(wireLeaf),
        payloads: drafts.map((d) => sealPayloads(d.payloads ?? [], this.sealing)),
        ...(stepRows.length > 0 ? { steps: stepRows } : {}),
        ...(usage.length > 0 ? { usage: usage.map((u) => ({ ...u, scopes: [...u.scopes] })) } : {}),
      })
      .then((sealed) => appendedRecords(leaves, sealed));
  }

  listRunSteps(runId: RunId, opts: { readonly before?: number; readonly limit?: number } = {}): Promise<readonly RunStep[]> {
    return this.read('read the steps of a run', () => {
      const rows = this.stmt.listRunSteps.all(runId, opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit ?? 200);
      return rows.reverse().map((r) => ({ n: r.n, item: this.rows.json('run_steps', `${runId}#${r.n}`, openStep(runId, r.n, r.item, this.sealing, this.file)) }));
    });
  }

  getRun(id: RunId): Promise<RunRecord | null> {
    return this.read('read a run', () => {
      const row = this.stmt.getRun.get(id);
      return row ? this.runOf(row) : null;
    });
  }

  listRuns(opts: RunQuery = {}): Promise<readonly RunRecord[]> {
    return this.read('list runs', () => {
      const { sql, params } = runQuerySql(opts);
      return (this.db.prepare(sql).all(params) as RunRow[]).map((r) => this.runOf(r));
    });
  }

  listRunSummaries(opts: RunQuery = {}): Promise<readonly RunSummary[]> {
    return this.read('list runs', () => {
      const { sql, params } = runQuerySql(opts, RUN_SUMMARY_COLUMNS);
      return (this.db.prepare(sql).all(params) as SummaryRow[]).map((r) => {
        const [onBehalfOf, costMicros, currencyOf] = summaryValues(r.extracted);
        let cost = costMicros;
        let currency = currencyOf;
        // A state sealed before its usage was kept plain: open it for the cost.
        if (cost === null && r.sealed === 1) {
          const row = this.stmt.getRun.get(r.id);
          const usage = row ? ((this.runOf(row).state as { usage?: { costMicros?: unknown; currency?: unknown } }).usage ?? {}) : {};
          cost = typeof usage.costMicros === 'number' ? usage.costMicros : null;
          currency = typeof usage.currency === 'string' ? usage.currency : null;
        }
        return runSummaryOf({ ...r, on_behalf_of: onBehalfOf, cost_micros: cost, currency });
      });
    });
  }

  usageSince(sinceDay: string, scopes?: readonly string[]): Promise<readonly UsageRow[]> {
    return this.read('read model usage', () => {
      const rows = this.db
        .prepare('SELECT scope, day, currency, model_calls AS modelCalls, input_tokens AS inputTokens, output_tokens AS outputTokens, cost_micros AS costMicros, tool_calls AS toolCalls FROM usage_daily WHERE day >= ? ORDER BY day, scope, currency')
        .all(sinceDay) as UsageRow[];
      return scopes === undefined ? rows : rows.filter((r) => scopes.includes(r.scope));
    });
  }

  // --- value budgets ------------------------------------------------------------------------

  valueSpent(budget: string, bucket: string, since: string): Promise<number> {
    return this.read('sum a value budget', () => (this.stmt.valueSpent.get(budget, bucket, since)?.s ?? 0));
  }

  addValue(
    entries: readonly ValueEntry[],
    meta: { readonly at: string; readonly runId: RunId; readonly actionHash: string; readonly countId: string },
    expected?: readonly number[],
  ): Promise<{ readonly ok: true } | { readonly ok: false; readonly spent: readonly number[] }> {
    if (entries.length === 0) return Promise.resolve({ ok: true });
    return this.write('add-value', () => ({ op: 'add-value', entries: entries.map((e) => ({ ...e })), ...meta, expected: expected ? [...expected] : null })).then((spent) =>
      spent === null ? { ok: true } : { ok: false, spent },
    );
  }

  uncountValue(countId: string): Promise<void> {
    return this.write('uncount-value', () => ({ op: 'uncount-value', countId })).then(() => undefined);
  }

  // --- approvals ----------------------------------------------------------------------------

  createApproval(a: ApprovalRecord): Promise<void> {
    return this.write('create-approval', () => ({ op: 'create-approval', id: a.id, runId: a.runId, status: a.status, createdAt: a.createdAt, record: JSON.stringify(a) })).then(
      () => undefined,
    );
  }

  getApproval(id: ApprovalId): Promise<ApprovalRecord | null> {
    return this.read('read an approval', () => {
      const row = this.stmt.getApproval.get(id);
      return row ? this.rows.approval(row) : null;
    });
  }

  listApprovals(opts: { status?: ApprovalStatus; runId?: RunId; runIds?: readonly RunId[] } = {}): Promise<readonly ApprovalRecord[]> {
    return this.read('list approvals', () => {
      const { where, args } = byRuns(filters({ status: opts.status, run_id: opts.runId }), opts.runIds);
      const rows = this.db.prepare(`SELECT id, status, record FROM approvals ${where} ORDER BY created_at, id`).all(...args) as ApprovalRow[];
      return rows.map((r) => this.rows.approval(r));
    });
  }

  pageApprovals(q: ApprovalPage): Promise<readonly ApprovalRecord[]> {
    return this.read('list approvals', () => {
      const args: (string | number)[] = [];
      const sql = newestPageSql('approvals', 'id, status, record', 'pending', q, (v) => (args.push(v), '?'));
      return (this.db.prepare(sql).all(...args) as ApprovalRow[]).map((r) => this.rows.approval(r));
    });
  }

  updateApproval(id: ApprovalId, expected: ApprovalExpectation, update: ApprovalUpdate, drafts: readonly AuditDraft[] = []): Promise<ApprovalRecord | null> {
    if (this.closed) return Promise.reject(this.closedError());
    const want = typeof expected === 'string' ? { status: expected } : expected;
    let leaves: PreparedLeaf[];
    try {
      leaves = drafts.map((d, i) => prepareDraft(d, i));
    } catch (e) {
      return Promise.reject(e);
    }
    // JSON leaves out the fields not given, so they keep their stored values.
    return this.write('update-approval', () => ({ op: 'update-approval', id, want, update: JSON.stringify(update), leaves: leaves.map(wireLeaf), payloads: drafts.map((d) => sealPayloads(d.payloads ?? [], this.sealing)) })).then(
      (r) => r?.approval ?? null,
    );
  }

  // --- standing grants -----------------------------------------------------------------------

  createGrant(g: GrantRecord): Promise<void> {
    return this.write('create-grant', () => ({ op: 'create-grant',
      id: g.id,
      workflow: g.workflow,
      tool: g.tool,
      status: g.status,
      uses: g.uses,
      createdAt: g.createdAt,
      expiresAt: g.expiresAt,
      record: JSON.stringify(g),
    })).then(() => undefined);
  }

  getGrant(id: string): Promise<GrantRecord | null> {
    return this.read('read a grant', () => {
      const row = this.db.prepare('SELECT id, record FROM grants WHERE id = ?').get(id) as IdRecordRow | undefined;
      return row ? this.rows.record('grants', row, grantSchema) : null;
    });
  }

  liveGrants(workflow: string, tool: string, now: string): Promise<readonly GrantRecord[]> {
    return this.read('list live grants', () => {
      const rows = this.db.prepare(LIVE_GRANTS_SQL.replace(/\$\d/g, '?')).all(workflow, tool, now, MAX_LIVE_GRANTS) as IdRecordRow[];
      return rows.map((r) => this.rows.record('grants', r, grantSchema));
    });
  }

  pageGrants(q: GrantPage): Promise<readonly GrantRecord[]> {
    return this.read('list grants', () => {
      const args: (string | number)[] = [];
      const sql = newestPageSql('grants', 'id, record', 'active', q, (v) => (args.push(v), '?'));
      return (this.db.prepare(sql).all(...args) as IdRecordRow[]).map((r) => this.rows.record('grants', r, grantSchema));
    });
  }

  useGrant(id: string, expectedUses: number): Promise<GrantRecord | null> {
    return this.write('use-grant', () => ({ op: 'use-grant', id, expectedUses }));
  }

  revokeGrant(id: string): Promise<GrantRecord | null> {
    return this.write('revoke-grant', () => ({ op: 'revoke-grant', id }));
  }

  // --- webhook outbox -----------------------------------------------------------------------

  enqueueNotifications(list: readonly NotificationRecord[]): Promise<void> {
    return this.write('enqueue-notifications', () => ({ op: 'enqueue-notifications',
      rows: list.map((n) => ({ id: n.id, status: n.status, attempts: n.attempts, nextAttemptAt: n.nextAttemptAt, createdAt: n.createdAt, record: JSON.stringify(n) })),
    })).then(() => undefined);
  }

  dueNotifications(now: string, limit: number): Promise<readonly NotificationRecord[]> {
    return this.read('read due notifications', () => {
      const rows = this.db
        .prepare("SELECT id, record FROM notifications WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY created_at, id LIMIT ?")
        .all(now, limit) as IdRecordRow[];
      return rows.map((r) => this.rows.record('notifications', r, notificationSchema));
    });
  }

  claimNotification(id: string, expectedAttempts: number, leaseUntil: string): Promise<NotificationRecord | null> {
    return this.write('claim-notification', () => ({ op: 'claim-notification', id, expectedAttempts, leaseUntil }));
  }

  finishNotification(
    id: string,
    update: { status: NotificationRecord['status']; nextAttemptAt: string; lastError: string | null },
    delivery: DeliveryRecord,
  ): Promise<void> {
    return this.write('finish-notification', () => ({ op: 'finish-notification', id, attempt: delivery.attempt, update: JSON.stringify(update), delivery: JSON.stringify(delivery) })).then(
      () => undefined,
    );
  }

  listNotifications(opts: { status?: NotificationRecord['status']; limit?: number } = {}): Promise<readonly NotificationRecord[]> {
    return this.read('list notifications', () => {
      const { where, args } = filters({ status: opts.status });
      const rows = this.db
        .prepare(`SELECT id, record FROM notifications ${where} ORDER BY created_at DESC, id DESC LIMIT ?`)
        .all(...args, opts.limit ?? 100) as IdRecordRow[];
      return rows.map((r) => this.rows.record('notifications', r, notificationSchema));
    });
  }

  listDeliveries(notificationId?: string): Promise<readonly DeliveryRecord[]> {
    return this.read('read the delivery log', () => {
      const rows = (
        notificationId === undefined
          ? this.db.prepare('SELECT id, record FROM deliveries ORDER BY id').all()
          : this.db.prepare('SELECT id, record FROM deliveries WHERE notification_id = ? ORDER BY id').all(notificationId)
      ) as { id: number; record: string }[];
      return rows.map((r) => this.rows.record('deliveries', { id: String(r.id), record: r.record }, deliverySchema, false));
    });
  }

  // --- incidents ----------------------------------------------------------------------------

  createIncident(i: IncidentRecord): Promise<IncidentRecord> {
    return this.write('create-incident', () => ({ op: 'create-incident',
      id: i.id,
      runId: i.runId,
      kind: i.kind,
      key: i.key,
      status: i.status,
      createdAt: i.createdAt,
      record: JSON.stringify(i),
    })).then((open) => open ?? i);
  }

  getIncident(id: string): Promise<IncidentRecord | null> {
    return this.read('read an incident', () => {
      const row = this.db.prepare('SELECT id, record FROM incidents WHERE id = ?').get(id) as IdRecordRow | undefined;
      return row ? (this.rows.record('incidents', row, incidentSchema) as IncidentRecord) : null;
    });
  }

  listIncidents(opts: { status?: IncidentStatus; runId?: RunId; runIds?: readonly RunId[] } = {}): Promise<readonly IncidentRecord[]> {
    return this.read('list incidents', () => {
      const { where, args } = byRuns(filters({ status: opts.status, run_id: opts.runId }), opts.runIds);
      const rows = this.db.prepare(`SELECT id, record FROM incidents ${where} ORDER BY created_at, id`).all(...args) as IdRecordRow[];
      return rows.map((r) => this.rows.record('incidents', r, incidentSchema) as IncidentRecord);
    });
  }

  pageIncidents(q: NewestPage<IncidentStatus>): Promise<readonly IncidentRecord[]> {
    return this.read('list incidents', () => {
      const args: (string | number)[] = [];
      const sql = newestPageSql('incidents', 'id, record', 'open', q, (v) => (args.push(v), '?'));
      return (this.db.prepare(sql).all(...args) as IdRecordRow[]).map((r) => this.rows.record('incidents', r, incidentSchema) as IncidentRecord);
    });
  }

  updateIncident(id: string, expected: IncidentStatus, update: IncidentUpdate, expectedAssignee?: string | null): Promise<IncidentRecord | null> {
    return this.write('update-incident', () => ({ op: 'update-incident', id, expected, update: JSON.stringify(update), ...(expectedAssignee !== undefined ? { expectedAssignee } : {}) }));
  }

  // --- pilot events -------------------------------------------------------------------------

  addPilotEvent(e: PilotEvent, drafts: readonly AuditDraft[] = [], after?: string | null): Promise<boolean> {
    return this.withRecords('add-pilot-event', drafts, (leaves, payloads) => ({ op: 'add-pilot-event', event: e, ...(after !== undefined ? { after } : {}), leaves, payloads }));
  }

  listPilotEvents(workflow: string, kinds: readonly PilotEventKind[] = [], limit = 100): Promise<readonly PilotEvent[]> {
    return this.read('read pilot events', () => this.pilot.list(workflow, kinds, Math.max(1, Math.min(10_000, Math.floor(limit)))));
  }

  // --- the policy lifecycle -------------------------------------------------------------------

  addPolicyEvent(e: PolicySetEvent, expected: string | null, drafts: readonly AuditDraft[] = []): Promise<PolicySetEvent | null> {
    return this.withRecords('add-policy-event', drafts, (leaves, payloads) => ({ op: 'add-policy-event', event: policyEventColumns(e), expected, leaves, payloads }));
  }

  latestPolicyEvent(lane: PolicyLane): Promise<PolicyEventHead | null> {
    return this.read('read the newest policy event', () => this.policy.latest(lane));
  }

  getPolicyEvent(id: string): Promise<PolicySetEvent | null> {
    return this.read('read a policy event', () => this.policy.get(id));
  }

  listPolicyEvents(lane: PolicyLane, limit = 100): Promise<readonly PolicySetEvent[]> {
    return this.read('list policy events', () => this.policy.list(lane, Math.max(1, Math.min(10_000, Math.floor(limit)))));
  }

  // --- halts (the kill switch) ----------------------------------------------------------------

  startHalt(h: HaltRecord, drafts: readonly AuditDraft[] = []): Promise<HaltRecord> {
    return this.withRecords('start-halt', drafts, (leaves, payloads) => ({ op: 'start-halt', halt: { id: h.id, scope: h.scope, stoppedAt: h.stoppedAt, record: JSON.stringify(h) }, leaves, payloads })).then(
      (active) => active ?? h,
    );
  }

  liftHalt(id: string, lift: HaltLift, drafts: readonly AuditDraft[] = []): Promise<HaltRecord | null> {
    return this.withRecords('lift-halt', drafts, (leaves, payloads) => ({ op: 'lift-halt', id, lift: JSON.stringify(lift), leaves, payloads }));
  }

  activeHalt(scopes: readonly string[]): Promise<HaltRecord | null> {
    return this.read('read the active halts', () => this.halts.active(scopes));
  }

  getHalt(id: string): Promise<HaltRecord | null> {
    return this.read('read a halt', () => this.halts.get(id));
  }

  listHalts(opts: { status?: HaltRecord['status']; limit?: number } = {}): Promise<readonly HaltRecord[]> {
    return this.read('list halts', () => this.halts.list(opts.status, opts.limit ?? 100));
  }

  // --- instance leases -----------------------------------------------------------------------

  renewLease(lease: InstanceLease): Promise<void> {
    return this.write('renew-lease', () => ({ op: 'renew-lease', id: lease.id, startedAt: lease.startedAt, record: JSON.stringify(lease) })).then(() => undefined);
  }

  listLeases(): Promise<readonly InstanceLease[]> {
    return this.read('list instance leases', () => {
      const rows = this.db.prepare('SELECT id, record FROM leases ORDER BY started_at, id').all() as IdRecordRow[];
      return rows.map((r) => this.rows.record('leases', r, leaseSchema) as InstanceLease);
    });
  }

  dropLease(id: string): Promise<void> {
    return this.write('drop-lease', () => ({ op: 'drop-lease', id })).then(() => undefined);
  }

  // --- work shared by instances: runs to drive, rate limits ----------------------------------

  claimRun(runId: RunId, holder: string, now: string, gone: readonly string[] = []): Promise<boolean> {
    return this.write('claim-run', () => ({ op: 'claim-run', runId, holder, now, gone: [...gone] }));
  }

  releaseRun(runId: RunId, holder: string, due: string | null): Promise<void> {
    return this.write('release-run', () => ({ op: 'release-run', runId, holder, due })).then(() => undefined);
  }

  wakeRun(runId: RunId, at: string): Promise<void> {
    return this.write('wake-run', () => ({ op: 'wake-run', runId, at })).then(() => undefined);
  }

  claimDueRuns(holder: string, now: string, limit: number, gone: readonly string[] = []): Promise<readonly RunId[]> {
    return this.write('claim-due-runs', () => ({ op: 'claim-due-runs', holder, now, limit: Math.max(1, Math.min(1000, Math.floor(limit))), gone: [...gone] })) as Promise<readonly RunId[]>;
  }

  takeRate(key: string, count: number, limit: number, windowMs: number, nowMs: number): Promise<boolean> {
    return this.write('take-rate', () => ({ op: 'take-rate', key, count, limit, windowMs, nowMs }));
  }

  // --- signed checkpoints of the audit trail ---------------------------------------------------

  readLeafHashes(fromSeq: number, limit: number): Promise<Uint8Array> {
    return this.read('read leaf hashes', () => this.checkpoints.leafHashes(Math.max(1, Math.floor(fromSeq)), Math.max(0, Math.min(1_000_000, Math.floor(limit)))));
  }

  addCheckpoint(c: StoredCheckpoint): Promise<boolean> {
    return this.write('add-checkpoint', () => ({ op: 'add-checkpoint', checkpoint: c }));
  }

  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return this.read('read the latest checkpoint', () => this.checkpoints.latest());
  }

  async keyFingerprint(name: string, fingerprint: string): Promise<string> {
    // Read first: a write (and its fsync) only the first time.
    const kept = await this.read("read a workspace key's fingerprint", () => keptFingerprint(this.db, name));
    return kept ?? this.write('key-fingerprint', () => ({ op: 'key-fingerprint', name, fingerprint }));
  }

  getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    return this.read('read a checkpoint', () => this.checkpoints.get(size));
  }

  listCheckpoints(opts: { readonly beforeSize?: number; readonly limit?: number } = {}): Promise<readonly StoredCheckpoint[]> {
    return this.read('list checkpoints', () => this.checkpoints.list(opts.beforeSize, Math.max(1, Math.min(10_000, Math.floor(opts.limit ?? 100)))));
  }

  // --- spans kept locally ------------------------------------------------------------------

  redeemLink(jti: string, usedAt: string, expiresAt: string): Promise<boolean> {
    return this.write('redeem-link', () => ({ op: 'redeem-link', jti, usedAt, expiresAt }));
  }

  appendSpans(spans: readonly StoredSpan[]): Promise<void> {
    if (spans.length === 0) return Promise.resolve();
    return this.write('add-spans', () => ({ op: 'add-spans', rows: spans.map((s) => ({ traceId: s.traceId, spanId: s.spanId, runId: s.runId, record: JSON.stringify(s) })) })).then(() => undefined);
  }

  spansForRun(runId: RunId, limit = SPANS_PER_TRACE): Promise<readonly StoredSpan[]> {
    // Written by this store from spans it was given: plain JSON, not a trust boundary for decisions.
    return this.read('read the spans of a run', () => spansOfRun(this.db, runId, limit).map((r) => JSON.parse(r) as StoredSpan));
  }

  // --- context from declared sources --------------------------------------------------------

  contextDocuments(source: string): Promise<readonly ContextDocumentState[]> {
    return this.read('read the documents of a source', () => this.context.documentsOf(source));
  }

  contextSources(): Promise<readonly string[]> {
    return this.read('list the sources with documents', () => this.context.sourceNames());
  }

  changeContext(changes: ContextChanges): Promise<void> {
    return this.write('change-context', () => ({ op: 'change-context', changes })).then(() => undefined);
  }

  searchContext(query: ContextQuery): Promise<readonly ContextHit[]> {
    return this.read('search the context', () => this.context.search(query));
  }

  readContextDocument(query: ContextDocumentQuery): Promise<readonly ContextHit[]> {
    return this.read('read a document', () => this.context.readDocument(query));
  }

  contextUnembedded(source: string, model: string, classifications: readonly Classification[], limit: number): Promise<readonly UnembeddedChunk[]> {
    return this.read('find chunks to embed', () => this.context.unembeddedChunks(source, model, classifications, limit));
  }

  putContextVectors(model: string, rows: readonly ChunkVector[]): Promise<void> {
    return this.write('put-context-vectors', () => ({ op: 'put-context-vectors', model, rows })).then(() => undefined);
  }

  contextCited(source: string, path: string, start: number, end: number, entitlements: readonly (readonly string[])[]): Promise<ContextCited> {
    return this.read('read a cited place', () => this.context.citedText(source, path, start, end, entitlements));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Writes already accepted are committed before the file closes.
    await this.writes.close();
    this.db.close();
  }

  // --- helpers ------------------------------------------------------------------------------

  /** A `runs` row as a run record, its state opened when it was sealed. */
  private runOf(row: RunRow): RunRecord {
    return this.rows.run({ ...row, state: openRunState(row.id, row.state, this.sealing, this.file) });
  }

  /** Runs a read on this thread's connection, mapping SQLite failures to the error tree. */
  private read<T>(doing: string, fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(storeError(e, this.file, doing));
    }
  }

  /** A write that carries audit records (canonicalised and sealed here, before it is queued: a bad draft fails only its caller). */
  private withRecords<K extends 'start-halt' | 'lift-halt' | 'add-pilot-event' | 'add-policy-event'>(
    kind: K,
    drafts: readonly AuditDraft[],
    build: (leaves: WireLeaf[], payloads: AuditPayload[][]) => Extract<WriteOp, { op: K }>,
  ): Promise<WriteResult[K]> {
    if (this.closed) return Promise.reject(this.closedError());
    let leaves: PreparedLeaf[];
    try {
      leaves = drafts.map((d, i) => prepareDraft(d, i));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.write(kind, () => build(leaves.map(wireLeaf), drafts.map((d) => sealPayloads(d.payloads ?? [], this.sealing))));
  }

  /**
   * Builds a write here (serialising its records: one that cannot be serialised fails only its
   * caller) and queues it for the next group commit.
   */
  private write<K extends WriteOp['op']>(kind: K, build: () => Extract<WriteOp, { op: K }>): Promise<WriteResult[K]> {
    if (this.closed) return Promise.reject(this.closedError());
    let op: Extract<WriteOp, { op: K }>;
    try {
      op = build();
    } catch (e) {
      return Promise.reject(storeError(e, this.file, DOING[kind]));
    }
    return this.writes.submit(op);
  }

  private closedError(): AirlockError {
    return new AirlockError('store', `store \`${this.file}\` is closed`, {
      hint: 'this is a bug: the store was used after close()',
    });
  }
}

/** A leaf without its body object: the writer needs only the canonical text. */
function wireLeaf(l: PreparedLeaf): WireLeaf {
  return { type: l.type, time: l.time, runId: l.runId, principal: l.principal, onBehalfOf: l.onBehalfOf, bodyText: l.bodyText };
}

/** A summary row as `RUN_SUMMARY_COLUMNS` reads it. */
interface SummaryRow {
  id: string;
  workflow: string;
  status: string;
  created_at: string;
  updated_at: string;
  /** JSON: `[onBehalfOf, usage.costMicros, usage.currency]`, each null when absent. */
  extracted: string | null;
  sealed: number;
}

/** The extracted `[onBehalfOf, costMicros, currency]` (nulls for what is absent or unreadable). */
function summaryValues(extracted: string | null): [unknown, number | null, unknown] {
  let v: unknown;
  try {
    v = extracted === null ? null : JSON.parse(extracted);
  } catch {
    v = null;
  }
  const a = Array.isArray(v) ? v : [];
  return [a[0] ?? null, typeof a[1] === 'number' ? a[1] : null, a[2] ?? null];
}

/** `f` narrowed to the runs `runIds` names (bounded: at most `MAX_RUN_IDS`, else an `input` error). */
function byRuns(f: { where: string; args: string[] }, runIds: readonly RunId[] | undefined): { where: string; args: string[] } {
  if (runIds === undefined) return f;
  if (runIds.length > MAX_RUN_IDS) throw new AirlockError('input', `at most ${MAX_RUN_IDS} runs per list, not ${runIds.length}`, { hint: 'this is a bug: list them a page at a time' });
  const clause = 'run_id IN (SELECT value FROM json_each(?))';
  return { where: f.where === '' ? `WHERE ${clause}` : `${f.where} AND ${clause}`, args: [...f.args, JSON.stringify(runIds)] };
}
