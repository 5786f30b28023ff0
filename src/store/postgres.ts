// The PostgreSQL store (issue #15): many Airlock instances on one database. Writes that carry audit records are
// group-committed (postgres-audit.ts) under one lock on the chain's head, so the trail stays one verifiable order;
// other writes are transactions of their own, compare-and-set by row and advisory locks; reads go to the pool.
// Sensitive payloads and run state are sealed as the SQLite store seals them (sealed-payloads.ts).
import type pg from 'pg';
import type { PreparedLeaf } from '../audit/chain.js';
import { AirlockError } from '../errors.js';
import type { ApprovalId, ApprovalStatus, Classification, RunId, Sha256Hex } from '../types.js';
import type { StoredCheckpoint } from './checkpoint-records.js';
import type { ChunkVector, ContextChanges, ContextCited, ContextDocumentQuery, ContextDocumentState, ContextHit, ContextQuery, UnembeddedChunk } from './context-records.js';
import type { HaltLift, HaltRecord } from './halt-records.js';
import type { PilotEvent, PilotEventKind } from './pilot-records.js';
import type { PolicyEventHead, PolicyLane, PolicySetEvent } from './policy-records.js';
import { GroupCommit, type GroupItem } from './postgres-audit.js';
import { addCheckpoint, CheckpointReads } from './postgres-checkpoints.js';
import { claimDueRuns, claimRun, releaseRun, takeRate, wakeRun } from './postgres-claims.js';
import { listenForDueRuns } from './postgres-due-runs.js';
import { DEFAULT_STATEMENT_TIMEOUT_MS, isLostConnection, openPool, pgError, shownUrl, transaction, withRetry, type PgConnectionOptions } from './postgres-connection.js';
import { readAuditRange } from './postgres-audit-ranges.js';
import type { AuditRangeBytes, AuditRangeReaderSpec } from '../audit/store-scan.js';
import { builtModule } from '../util/package-root.js';
import { PgContext } from './postgres-context.js';
import { addPilotEvent, addPolicyEvent, EventReads, liftHalt, startHalt } from './postgres-events.js';
import { addSpans, addValue, redeemLink } from './postgres-ledgers.js';
import { migratePostgres } from './postgres-migrations.js';
import { bounded, PgReads } from './postgres-reads.js';
import { summaryColumns } from './postgres-rows.js';
import { changeGrant, claimNotification, createIncident, enqueueNotifications, finishNotification, insertApproval, insertGrant, insertRun, openRunsOf, renewLease, saveRun, updateApproval, updateIncident, type PgRun } from './postgres-writes.js';
import { sealPayloads, sealStep, type PayloadSealing } from './sealed-payloads.js';
import { SPANS_KEPT, SPANS_PER_TRACE } from './sqlite-spans.js';
import { RowReader } from './sqlite-rows.js';
import { policyEventColumns } from './sqlite-policy.js';
import type {
  ApprovalExpectation, ApprovalPage, ApprovalRecord, ApprovalUpdate, AuditDraft, AuditRecord, DeliveryRecord, DueRunsWatch, GrantPage, GrantRecord, IncidentRecord, IncidentStatus, IncidentUpdate, InstanceLease,
  NewestPage, NotificationRecord, OpenRunsCap, RunQuery, RunRecord, RunSaveExtras, RunStep, RunSummary, Store, StoredAuditRow, StoredSpan, UsageRow, ValueEntry,
} from './store.js';
import { appendedRecords, prepareDraft, runColumns, serialiseStep } from './write-input.js';

/** Tuning for `openPostgresStore`. */
export interface PostgresStoreOptions extends PgConnectionOptions {
  /** How confidential and restricted payloads are kept at rest (sealed with the payload key, or not at all); absent: as given. */
  readonly sealing?: PayloadSealing;
  /** Told how many writes each group commit carries (the `/metrics` histogram). */
  readonly onGroupCommit?: (writes: number) => void;
  /** Apply pending migrations at start-up (default true); false: refuse a database that is behind (`airlock migrate`). */
  readonly migrate?: boolean;
}

/**
 * Opens the store on the PostgreSQL database at `url` (`postgres://user:password@host:port/db`), migrating its
 * schema first (under an advisory lock: instances starting together migrate once). A database whose schema is
 * newer than this Airlock is refused. Errors name the database without its password.
 */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Store> {
  const shown = shownUrl(url);
  await migratePostgres(url, shown, { apply: opts.migrate ?? true });
  return new PostgresStore(openPool(url, opts), url, shown, opts);
}

class PostgresStore implements Store {
  private readonly rows: RowReader;
  private readonly group: GroupCommit;
  private readonly events: EventReads;
  private readonly checkpoints: CheckpointReads;
  private readonly reads: PgReads;
  private readonly context: PgContext;
  private readonly sealing: PayloadSealing | undefined;
  private closed = false;

  private readonly statementTimeoutMs: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    private readonly shown: string,
    opts: PostgresStoreOptions,
  ) {
    this.statementTimeoutMs = opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
    this.rows = new RowReader(shown);
    this.sealing = opts.sealing;
    this.group = new GroupCommit(pool, shown, opts.onGroupCommit);
    this.events = new EventReads(pool, this.rows);
    this.checkpoints = new CheckpointReads(pool, this.rows);
    this.reads = new PgReads(pool, this.rows, shown, opts.sealing);
    this.context = new PgContext(pool);
  }

  // --- audit -------------------------------------------------------------------------------

  appendAudit(drafts: readonly AuditDraft[]): Promise<readonly AuditRecord[]> {
    if (drafts.length === 0 && !this.closed) return Promise.resolve([]);
    return this.withRecords('append audit records', drafts, undefined).then((r) => r.records);
  }

  /** The stored rows as written (the exact leaf text), so verification hashes them without rebuilding records. */
  readAuditRows(fromSeq: number, limit: number): Promise<readonly StoredAuditRow[]> {
    return this.read('read audit rows', () => this.reads.auditRows(fromSeq, limit));
  }

  /** Rows as bytes in one read (audit/store-scan.ts), for verification. */
  readAuditRange(fromSeq: number, count: number): Promise<AuditRangeBytes> {
    return this.read('read audit rows', () => readAuditRange(this.pool, fromSeq, count));
  }

  /** How verifier threads read ranges on connections of their own. */
  auditRangeReader(): AuditRangeReaderSpec | null {
    const module = builtModule('store/postgres-audit-ranges');
    return module === undefined ? null : { module, init: { url: this.url, statementTimeoutMs: this.statementTimeoutMs } };
  }

  readAudit(fromSeq: number, limit: number): Promise<readonly AuditRecord[]> {
    return this.read('read audit records', () => this.reads.audit(fromSeq, limit));
  }

  readAuditForRun(runId: string): Promise<readonly AuditRecord[]> {
    return this.read('read audit records of a run', () => this.reads.auditOfRun(runId));
  }

  auditHead(): Promise<{ seq: number; chainHash: Sha256Hex } | null> {
    return this.read('read the audit head', () => this.reads.auditHead());
  }

  getPayload(hash: Sha256Hex): Promise<string | null> {
    return this.read('read a payload', () => this.reads.payload(hash));
  }

  deletePayload(hash: Sha256Hex): Promise<void> {
    return this.direct('delete a payload', (c) => c.query('DELETE FROM audit_payloads WHERE hash = $1', [hash])).then(() => undefined);
  }

  readLeafHashes(fromSeq: number, limit: number): Promise<Uint8Array> {
    return this.read('read leaf hashes', () => this.checkpoints.leafHashes(fromSeq, limit));
  }

  addCheckpoint(c: StoredCheckpoint): Promise<boolean> {
    return this.direct('keep a checkpoint', (sql) => addCheckpoint(sql, c));
  }

  keyFingerprint(name: string, fingerprint: string): Promise<string> {
    return this.direct("keep a workspace key's fingerprint", async (sql) => {
      await sql.query('INSERT INTO key_fingerprints (name, fingerprint) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, fingerprint]);
      const { rows } = await sql.query<{ fingerprint: string }>('SELECT fingerprint FROM key_fingerprints WHERE name = $1', [name]);
      return (rows[0] as { fingerprint: string }).fingerprint;
    });
  }

  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return this.read('read the latest checkpoint', () => this.checkpoints.latest());
  }

  getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    return this.read('read a checkpoint', () => this.checkpoints.get(size));
  }

  listCheckpoints(opts: { readonly beforeSize?: number; readonly limit?: number } = {}): Promise<readonly StoredCheckpoint[]> {
    return this.read('list checkpoints', () => this.checkpoints.list(opts.beforeSize, bounded(opts.limit ?? 100)));
  }

  // --- runs ---------------------------------------------------------------------------------

  createRun(run: RunRecord, drafts: readonly AuditDraft[] = []): Promise<readonly AuditRecord[]> {
    // The run and the records that say it started land together, or neither does.
    return this.withRecords('create a run', drafts, () => {
      const row = this.runRow(run);
      return async (c) => ({ value: await insertRun(c, row), append: true });
    }).then((r) => r.records);
  }

  createRunWithin(run: RunRecord, drafts: readonly AuditDraft[], cap: OpenRunsCap): Promise<{ readonly records: readonly AuditRecord[] } | { readonly held: number }> {
    return this.withRecords('create a run', drafts, () => {
      const row = this.runRow(run);
      return async (c) => {
        const held = await openRunsOf(c, cap.agent);
        if (held >= cap.max) return { value: held, append: false };
        await insertRun(c, row);
        return { value: null, append: true };
      };
    }).then((r) => (r.value === null ? { records: r.records } : { held: r.value }));
  }

  saveRun(run: RunRecord): Promise<void> {
    return this.saveRunWithAudit(run, []).then(() => undefined);
  }

  saveRunWithAudit(run: RunRecord, drafts: readonly AuditDraft[], extras: RunSaveExtras = {}): Promise<readonly AuditRecord[]> {
    // A run save, its steps, usage and records apply together or not at all, in the group commit.
    return this.withRecords('save a run', drafts, () => {
      const row = this.runRow(run);
      const steps = (extras.steps ?? []).map((s) => ({ n: s.n, item: sealStep(run.id, s.n, serialiseStep(run.id, s), this.sealing) }));
      const usage = extras.usage ?? [];
      return async (c) => ({ value: await saveRun(c, row, steps, usage), append: true });
    }).then((r) => r.records);
  }

  listRunSteps(runId: RunId, opts: { readonly before?: number; readonly limit?: number } = {}): Promise<readonly RunStep[]> {
    return this.read('read the steps of a run', () => this.reads.runSteps(runId, opts.before, opts.limit ?? 200));
  }

  getRun(id: RunId): Promise<RunRecord | null> {
    return this.read('read a run', () => this.reads.run(id));
  }

  listRuns(opts: RunQuery = {}): Promise<readonly RunRecord[]> {
    return this.read('list runs', () => this.reads.runs(opts));
  }

  listRunSummaries(opts: RunQuery = {}): Promise<readonly RunSummary[]> {
    return this.read('list runs', () => this.reads.runSummaries(opts));
  }

  usageSince(sinceDay: string, scopes?: readonly string[]): Promise<readonly UsageRow[]> {
    return this.read('read model usage', () => this.reads.usageSince(sinceDay, scopes));
  }

  // --- value budgets ------------------------------------------------------------------------

  valueSpent(budget: string, bucket: string, since: string): Promise<number> {
    return this.read('sum a value budget', () => this.reads.valueSpent(budget, bucket, since));
  }

  addValue(
    entries: readonly ValueEntry[],
    meta: { readonly at: string; readonly runId: RunId; readonly actionHash: string; readonly countId: string },
    expected?: readonly number[],
  ): Promise<{ readonly ok: true } | { readonly ok: false; readonly spent: readonly number[] }> {
    if (entries.length === 0) return Promise.resolve({ ok: true });
    return this.direct('count an amount against a value budget', (c) => addValue(c, { entries, ...meta, expected: expected ? [...expected] : null })).then((spent) =>
      spent === null ? { ok: true } : { ok: false, spent },
    );
  }

  uncountValue(countId: string): Promise<void> {
    return this.direct('take back an amount counted against a value budget', (c) => c.query('DELETE FROM value_ledger WHERE count_id = $1', [countId])).then(() => undefined);
  }

  // --- approvals ----------------------------------------------------------------------------

  createApproval(a: ApprovalRecord): Promise<void> {
    return this.direct('create an approval', (c) => insertApproval(c, a));
  }

  getApproval(id: ApprovalId): Promise<ApprovalRecord | null> {
    return this.read('read an approval', () => this.reads.approval(id));
  }

  listApprovals(opts: { status?: ApprovalStatus; runId?: RunId; runIds?: readonly RunId[] } = {}): Promise<readonly ApprovalRecord[]> {
    return this.read('list approvals', () => this.reads.approvals(opts));
  }

  pageApprovals(q: ApprovalPage): Promise<readonly ApprovalRecord[]> {
    return this.read('list approvals', () => this.reads.approvalPage(q));
  }

  pageIncidents(q: NewestPage<IncidentStatus>): Promise<readonly IncidentRecord[]> {
    return this.read('list incidents', () => this.reads.incidentPage(q));
  }

  updateApproval(id: ApprovalId, expected: ApprovalExpectation, update: ApprovalUpdate, drafts: readonly AuditDraft[] = []): Promise<ApprovalRecord | null> {
    const want = typeof expected === 'string' ? { status: expected } : expected;
    // JSON leaves out the fields not given, so they keep their stored values; the records land only when it applies.
    const text = JSON.stringify(update);
    return this.withRecords('update an approval', drafts, () => async (c) => {
      const next = await updateApproval(c, this.rows, id, want, text);
      return { value: next, append: next !== null };
    }).then((r) => r.value);
  }

  // --- standing grants -----------------------------------------------------------------------

  createGrant(g: GrantRecord): Promise<void> {
    return this.direct('create a grant', (c) => insertGrant(c, g));
  }

  getGrant(id: string): Promise<GrantRecord | null> {
    return this.read('read a grant', () => this.reads.grant(id));
  }

  liveGrants(workflow: string, tool: string, now: string): Promise<readonly GrantRecord[]> {
    return this.read('list live grants', () => this.reads.liveGrants(workflow, tool, now));
  }

  pageGrants(q: GrantPage): Promise<readonly GrantRecord[]> {
    return this.read('list grants', () => this.reads.grantPage(q));
  }

  useGrant(id: string, expectedUses: number): Promise<GrantRecord | null> {
    return this.direct('use a grant', (c) => changeGrant(c, this.rows, id, (g) => (g.status === 'active' && g.uses === expectedUses ? { ...g, uses: g.uses + 1 } : null)));
  }

  revokeGrant(id: string): Promise<GrantRecord | null> {
    return this.direct('revoke a grant', (c) => changeGrant(c, this.rows, id, (g) => (g.status === 'active' ? { ...g, status: 'revoked' } : null)));
  }

  // --- webhook outbox -----------------------------------------------------------------------

  enqueueNotifications(list: readonly NotificationRecord[]): Promise<void> {
    return list.length === 0 ? Promise.resolve() : this.direct('queue notifications', (c) => enqueueNotifications(c, list));
  }

  dueNotifications(now: string, limit: number): Promise<readonly NotificationRecord[]> {
    return this.read('read due notifications', () => this.reads.dueNotifications(now, limit));
  }

  claimNotification(id: string, expectedAttempts: number, leaseUntil: string): Promise<NotificationRecord | null> {
    return this.direct('claim a notification', (c) => claimNotification(c, this.rows, id, expectedAttempts, leaseUntil));
  }

  finishNotification(id: string, update: { status: NotificationRecord['status']; nextAttemptAt: string; lastError: string | null }, delivery: DeliveryRecord): Promise<void> {
    return this.direct('record a delivery', (c) => finishNotification(c, this.rows, id, delivery.attempt, JSON.stringify(update), JSON.stringify(delivery)));
  }

  listNotifications(opts: { status?: NotificationRecord['status']; limit?: number } = {}): Promise<readonly NotificationRecord[]> {
    return this.read('list notifications', () => this.reads.notifications(opts.status, opts.limit ?? 100));
  }

  listDeliveries(notificationId?: string): Promise<readonly DeliveryRecord[]> {
    return this.read('read the delivery log', () => this.reads.deliveries(notificationId));
  }

  // --- incidents ----------------------------------------------------------------------------

  createIncident(i: IncidentRecord): Promise<IncidentRecord> {
    return this.direct('open an incident', (c) => createIncident(c, this.rows, i)).then((open) => open ?? i);
  }

  getIncident(id: string): Promise<IncidentRecord | null> {
    return this.read('read an incident', () => this.reads.incident(id));
  }

  listIncidents(opts: { status?: IncidentStatus; runId?: RunId; runIds?: readonly RunId[] } = {}): Promise<readonly IncidentRecord[]> {
    return this.read('list incidents', () => this.reads.incidents(opts));
  }

  updateIncident(id: string, expected: IncidentStatus, update: IncidentUpdate, expectedAssignee?: string | null): Promise<IncidentRecord | null> {
    return this.direct('update an incident', (c) => updateIncident(c, this.rows, id, expected, JSON.stringify(update), expectedAssignee));
  }

  // --- pilot and policy events, halts ---------------------------------------------------------

  addPilotEvent(e: PilotEvent, drafts: readonly AuditDraft[] = [], after?: string | null): Promise<boolean> {
    return this.withRecords('record a pilot event', drafts, () => async (c) => {
      const added = await addPilotEvent(c, e, after);
      return { value: added, append: added };
    }, true).then((r) => r.value);
  }

  listPilotEvents(workflow: string, kinds: readonly PilotEventKind[] = [], limit = 100): Promise<readonly PilotEvent[]> {
    return this.read('read pilot events', () => this.events.pilotEvents(workflow, kinds, Math.max(1, bounded(limit))));
  }

  addPolicyEvent(e: PolicySetEvent, expected: string | null, drafts: readonly AuditDraft[] = []): Promise<PolicySetEvent | null> {
    return this.withRecords('record a policy event', drafts, () => {
      const cols = policyEventColumns(e);
      return async (c) => {
        const moved = await addPolicyEvent(c, this.rows, cols, expected);
        return { value: moved, append: moved === null };
      };
    }, true).then((r) => r.value);
  }

  latestPolicyEvent(lane: PolicyLane): Promise<PolicyEventHead | null> {
    return this.read('read the newest policy event', () => this.events.latestPolicy(lane));
  }

  getPolicyEvent(id: string): Promise<PolicySetEvent | null> {
    return this.read('read a policy event', () => this.events.policy(id));
  }

  listPolicyEvents(lane: PolicyLane, limit = 100): Promise<readonly PolicySetEvent[]> {
    return this.read('list policy events', () => this.events.policyEvents(lane, Math.max(1, bounded(limit))));
  }

  startHalt(h: HaltRecord, drafts: readonly AuditDraft[] = []): Promise<HaltRecord> {
    return this.withRecords('start a halt', drafts, () => {
      const cols = { id: h.id, scope: h.scope, stoppedAt: h.stoppedAt, record: JSON.stringify(h) };
      return async (c) => {
        const active = await startHalt(c, this.rows, cols);
        return { value: active, append: active === null };
      };
    }, true).then((r) => r.value ?? h);
  }

  liftHalt(id: string, lift: HaltLift, drafts: readonly AuditDraft[] = []): Promise<HaltRecord | null> {
    const text = JSON.stringify(lift);
    return this.withRecords('lift a halt', drafts, () => async (c) => {
      const lifted = await liftHalt(c, this.rows, id, text);
      return { value: lifted, append: lifted !== null };
    }, true).then((r) => r.value);
  }

  activeHalt(scopes: readonly string[]): Promise<HaltRecord | null> {
    return this.read('read the active halts', () => this.events.activeHalt(scopes));
  }

  getHalt(id: string): Promise<HaltRecord | null> {
    return this.read('read a halt', () => this.events.halt(id));
  }

  listHalts(opts: { status?: HaltRecord['status']; limit?: number } = {}): Promise<readonly HaltRecord[]> {
    return this.read('list halts', () => this.events.halts(opts.status, bounded(opts.limit ?? 100)));
  }

  // --- instance leases, spans, links -----------------------------------------------------------

  renewLease(lease: InstanceLease): Promise<void> {
    return this.direct('renew an instance lease', (c) => renewLease(c, lease));
  }

  listLeases(): Promise<readonly InstanceLease[]> {
    return this.read('list instance leases', () => this.reads.leases());
  }

  dropLease(id: string): Promise<void> {
    return this.direct('drop an instance lease', (c) => c.query('DELETE FROM leases WHERE id = $1', [id])).then(() => undefined);
  }

  // --- work shared by the instances (postgres-claims.ts) ----------------------------------------

  claimRun(runId: RunId, holder: string, now: string, gone: readonly string[] = []): Promise<boolean> {
    return this.direct('claim a run', (c) => claimRun(c, runId, holder, now, gone));
  }

  releaseRun(runId: RunId, holder: string, due: string | null): Promise<void> {
    return this.direct('release a run', (c) => releaseRun(c, runId, holder, due));
  }

  wakeRun(runId: RunId, at: string): Promise<void> {
    return this.direct('wake a run', (c) => wakeRun(c, runId, at));
  }

  watchDueRuns(listener: () => void, onError: (e: unknown) => void): DueRunsWatch {
    return listenForDueRuns(this.url, listener, onError);
  }

  claimDueRuns(holder: string, now: string, limit: number, gone: readonly string[] = []): Promise<readonly RunId[]> {
    return this.direct('claim due runs', (c) => claimDueRuns(c, holder, now, bounded(limit), gone)).then((ids) => ids as RunId[]);
  }

  takeRate(key: string, count: number, limit: number, windowMs: number, nowMs: number): Promise<boolean> {
    return this.direct('count calls against a rate limit', (c) => takeRate(c, key, count, limit, windowMs, nowMs));
  }

  appendSpans(spans: readonly StoredSpan[]): Promise<void> {
    if (spans.length === 0) return Promise.resolve();
    const rows = spans.map((s) => ({ traceId: s.traceId, spanId: s.spanId, runId: s.runId, record: JSON.stringify(s) }));
    return this.direct('keep spans', (c) => addSpans(c, rows, { perTrace: SPANS_PER_TRACE, kept: SPANS_KEPT }));
  }

  spansForRun(runId: RunId, limit?: number): Promise<readonly StoredSpan[]> {
    return this.read('read the spans of a run', () => this.reads.spansOfRun(runId, limit));
  }

  redeemLink(jti: string, usedAt: string, expiresAt: string): Promise<boolean> {
    return this.direct('redeem an approval link', (c) => redeemLink(c, jti, usedAt, expiresAt));
  }

  // --- context from declared sources (postgres-context.ts) -------------------------------------

  contextDocuments(source: string): Promise<readonly ContextDocumentState[]> {
    return this.read('read the documents of a source', () => this.context.contextDocuments(source));
  }

  contextSources(): Promise<readonly string[]> {
    return this.read('list the sources with documents', () => this.context.contextSources());
  }

  changeContext(changes: ContextChanges): Promise<void> {
    return this.own('store ingested documents', () => this.context.changeContext(changes));
  }

  searchContext(query: ContextQuery): Promise<readonly ContextHit[]> {
    return this.read('search the context', () => this.context.searchContext(query));
  }

  readContextDocument(query: ContextDocumentQuery): Promise<readonly ContextHit[]> {
    return this.read('read a document', () => this.context.readContextDocument(query));
  }

  contextUnembedded(source: string, model: string, classifications: readonly Classification[], limit: number): Promise<readonly UnembeddedChunk[]> {
    return this.read('find chunks to embed', () => this.context.contextUnembedded(source, model, classifications, limit));
  }

  putContextVectors(model: string, rows: readonly ChunkVector[]): Promise<void> {
    return this.own('store embedding vectors', () => this.context.putContextVectors(model, rows));
  }

  contextCited(source: string, path: string, start: number, end: number, entitlements: readonly (readonly string[])[]): Promise<ContextCited> {
    return this.read('read a cited place', () => this.context.contextCited(source, path, start, end, entitlements));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Writes already accepted are committed before the pool closes.
    await this.group.flush();
    await this.pool.end();
  }

  // --- helpers ------------------------------------------------------------------------------

  /** A run's row: its columns (state serialised and sealed), and its summary columns read from the plain state. */
  private runRow(run: RunRecord): PgRun {
    return { ...runColumns(run, this.sealing), summary: summaryColumns(run.state) };
  }

  /**
   * A write that carries audit records, in the group commit: the drafts canonicalised and sealed here, and `build`
   * (its own rows, if any) called here too, so a value that cannot be stored fails only its own caller.
   */
  private withRecords<T>(doing: string, drafts: readonly AuditDraft[], build: (() => NonNullable<GroupItem<T>['apply']>) | undefined, serialise = false): Promise<{ value: T; records: readonly AuditRecord[] }> {
    if (this.closed) return Promise.reject(this.closedError());
    let item: GroupItem<T>;
    let leaves: PreparedLeaf[];
    try {
      leaves = drafts.map((d, i) => prepareDraft(d, i));
      const apply = build?.();
      item = { doing, leaves, payloads: drafts.map((d) => sealPayloads(d.payloads ?? [], this.sealing)), ...(apply ? { apply } : {}), serialise };
    } catch (e) {
      return Promise.reject(pgError(e, this.shown, doing));
    }
    // A compare-and-set that did not apply appended none of its records.
    return this.group.submit(item).then((r) => ({ value: r.value, records: r.sealed.length === 0 ? [] : appendedRecords(leaves, r.sealed) }));
  }

  /** A write in a transaction of its own (run again on a serialisation failure or a deadlock). */
  private direct<T>(doing: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    return transaction(this.pool, fn).catch((e: unknown) => Promise.reject(pgError(e, this.shown, doing)));
  }

  /** A read on the pool, its failures mapped to the error tree; a read whose connection was lost is read again (it changed nothing). */
  private read<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    return this.own(doing, () => withRetry(fn, {}, isLostConnection));
  }

  /** Writes that run their own transactions (`transaction`, which runs them again where that is safe), failures mapped. */
  private own<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    return fn().catch((e: unknown) => Promise.reject(pgError(e, this.shown, doing)));
  }

  private closedError(): AirlockError {
    return new AirlockError('store', `store \`${this.shown}\` is closed`, { hint: 'this is a bug: the store was used after close()' });
  }
}
