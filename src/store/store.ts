// The one store interface: every query Airlock makes goes through it.
// Implementations: sqlite.ts (embedded default, in the workspace's .airlock/) and postgres.ts. The records it keeps are
// typed beside it (*-records.ts) and re-exported here.
// The shared suite in test/store/store-suite.ts runs against every implementation.
import type { HaltLift, HaltRecord, HaltStatus } from './halt-records.js';
import type { PilotEvent, PilotEventKind } from './pilot-records.js';
import type { PolicyEventHead, PolicyLane, PolicySetEvent } from './policy-records.js';
import type { ChunkVector, ContextChanges, ContextCited, ContextDocumentQuery, ContextDocumentState, ContextHit, ContextQuery, UnembeddedChunk } from './context-records.js';
import type { ApprovalId, ApprovalStatus, Classification, Json, RunId, RunStatus, Sha256Hex, UsageDelta } from '../types.js';

/** What a caller hands the audit log; the store assigns seq, time order and the chain hashes. */
export interface AuditDraft {
  /** Record kind: run lifecycle, intent, decision, approval, execution, verification, non-execution... */
  readonly type: string;
  readonly time: string; // ISO-8601 UTC, set by the caller (the clock is an edge dependency)
  readonly runId: string | null;
  /** Principal as `kind:id`, e.g. `agent:refund-bot`. */
  readonly principal: string | null;
  readonly onBehalfOf: string | null;
  /** Everything else that record type carries (tool, hashes, decision, policy ids, outcome...). */
  readonly body: { readonly [k: string]: Json };
  /** Large or sensitive payloads kept apart, addressed by hash; retention may delete them. */
  readonly payloads?: readonly AuditPayload[];
}

export interface AuditPayload {
  readonly hash: Sha256Hex;
  readonly data: string;
  /** Confidential or restricted content (its hash is keyed): the store keeps it sealed, or only its hash (`store.sensitivePayloads`). */
  readonly sensitive?: boolean;
}

/** A stored, chained audit record. `leafHash` covers the record; `chainHash` links it to `prevHash`. */
export interface AuditRecord extends Omit<AuditDraft, 'payloads'> {
  readonly seq: number;
  readonly schemaVersion: number;
  readonly prevHash: Sha256Hex;
  readonly leafHash: Sha256Hex;
  readonly chainHash: Sha256Hex;
}

/** An audit row exactly as stored: the leaf text its hash covers, and its chain hashes. */
export interface StoredAuditRow {
  readonly seq: number;
  readonly text: string;
  readonly prevHash: string;
  readonly leafHash: string;
  readonly chainHash: string;
}

/**
 * One step of a run, kept beside it (an external agent's call, or its result): appended with the run
 * save that made it, numbered from 1 per run, never rewritten, so saving a long run stays small.
 */
/** One amount to count against a value budget: in which sum (`bucket`), over which window (`since`), under which limit (null: none, a person approved it). */
export interface ValueEntry {
  readonly budget: string;
  readonly bucket: string;
  readonly amount: number;
  readonly since: string;
  readonly limit: number | null;
}

/** One model turn's usage, added to each scope's daily sum (types.ts). */
export type { UsageDelta };
export type { HaltLift, HaltRecord, HaltScopeKind, HaltStatus } from './halt-records.js';
export { HALT_SCOPE_KINDS, HALT_STATUSES } from './halt-records.js';
export type { PilotEvent, PilotEventKind } from './pilot-records.js';
import type { StoredCheckpoint } from './checkpoint-records.js';
export type { StoredCheckpoint } from './checkpoint-records.js';
export { PILOT_EVENT_KINDS } from './pilot-records.js';
export type { PolicyEventHead, PolicyEventKind, PolicyFileText, PolicyLane, PolicySetEvent } from './policy-records.js';
export { POLICY_EVENT_KINDS } from './policy-records.js';
export type { ChunkVector, ContextChanges, ContextCited, ContextDocumentDraft, ContextDocumentQuery, ContextDocumentState, ContextHit, ContextLabels, ContextQuery, UnembeddedChunk } from './context-records.js';
import type { ApprovalExpectation, ApprovalRecord, ApprovalUpdate } from './approval-records.js';
export type { ApprovalExpectation, ApprovalRecord, ApprovalUpdate, ApprovalVote } from './approval-records.js';
import type { GrantRecord } from './grant-records.js';
export type { GrantBound, GrantRecord } from './grant-records.js';
import type { DeliveryRecord, NotificationRecord } from './notification-records.js';
export type { DeliveryRecord, NotificationRecord } from './notification-records.js';
import type { IncidentRecord, IncidentStatus, IncidentUpdate } from './incident-records.js';
export type { IncidentKind, IncidentRecord, IncidentStatus, IncidentUpdate } from './incident-records.js';
export { INCIDENT_KINDS, INCIDENT_STATUSES } from './incident-records.js';

/** A scope's usage on one day in one currency. */
export type UsageRow = Omit<UsageDelta, 'scopes'> & { readonly scope: string };

/** What a run save appends beside the run, in its transaction: steps, and model usage. */
export interface RunSaveExtras {
  readonly steps?: readonly RunStep[];
  readonly usage?: readonly UsageDelta[];
}

export interface RunStep {
  readonly n: number;
  readonly item: Json;
}

export interface RunRecord {
  readonly id: RunId;
  readonly workflow: string;
  readonly status: RunStatus;
  /** Optimistic concurrency: each save must name the version it read. */
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The whole serialisable run state (orchestration owns its shape). */
  readonly state: Json;
}

/** An ended span as kept locally (telemetry/local-exporter.ts writes them, the console reads them). */
export interface StoredSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly name: string;
  /** ISO-8601 UTC, millisecond precision. */
  readonly startTime: string;
  readonly endTime: string;
  readonly durationMs: number;
  /** `ok`, `error` (with its message) or `unset`. */
  readonly status: { readonly code: 'unset' | 'ok' | 'error'; readonly message?: string };
  readonly attributes: { readonly [k: string]: Json };
  /** The run it names (`airlock.run.id`), if it names one. */
  readonly runId: string | null;
}

/**
 * A live Airlock process that drives runs (a server, `airlock mcp`, an embedder), holding a lease it
 * renews while it lives. A run whose driver's lease is gone (or whose process is gone) is an orphan:
 * the next process to look ends it for review (orchestration/recovery.ts).
 */
export interface InstanceLease {
  /** Random per process start. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: string;
  /** Past this time (ISO-8601) the instance counts as gone unless it renewed. */
  readonly expiresAt: string;
}

/** A page size as the stores take it: a whole number from 1 to 1,000 (what is asked past that is 1,000). */
export function pageLimit(limit: number): number {
  return Math.max(1, Math.min(1000, Math.floor(Number.isFinite(limit) ? limit : 1000)));
}

/** The most grants `liveGrants` returns: a grant lasts a week at most, and people make them by hand. */
export const MAX_LIVE_GRANTS = 1000;

/** The most run ids one list of approvals or incidents may name. */
export const MAX_RUN_IDS = 1000;

/** A run without its state: what reports over many runs read (run state stays sealed where it is). */
export interface RunSummary {
  readonly id: RunId;
  readonly workflow: string;
  readonly status: RunStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The person it acts for, `user:<id>`, if any. */
  readonly onBehalfOf: string | null;
  /** Its model cost so far, in micro-units of `currency` (0 and null when it made no model call). */
  readonly costMicros: number;
  readonly currency: string | null;
}

/** A store's listener for due runs (`Store.watchDueRuns`): `ready` once it listens, `stop` to end it. */
export interface DueRunsWatch {
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The cap on runs an external agent holds open (`server.limits.openRunsPerPrincipal`): its runs counted are
 * those running whose state names it as `agent` and an external `driver` (`driver: 'agent'`).
 */
export interface OpenRunsCap {
  /** The agent's id (the run state's `agent`). */
  readonly agent: string;
  readonly max: number;
}

/** A page of a list read newest first: every filter given must hold; `before` is the last one of the page before. */
export interface NewestPage<S extends string> {
  readonly status?: S;
  /** Only those past their first status (approvals: decided, any but `pending`; incidents: `resolved`). */
  readonly decided?: boolean;
  readonly runId?: RunId;
  readonly before?: { readonly createdAt: string; readonly id: string };
  /** At most this many (1 to 1,000). */
  readonly limit: number;
}

/** A page of `pageGrants`: grants belong to no run. */
export type GrantPage = Omit<NewestPage<GrantRecord['status']>, 'runId'>;

/** A page of `pageApprovals`. */
export type ApprovalPage = NewestPage<ApprovalStatus>;

/** Which runs `listRuns` returns: every option given must hold. */
export interface RunQuery {
  /** Only these runs (at most `MAX_RUN_IDS`). */
  readonly ids?: readonly string[];
  readonly status?: RunStatus;
  readonly workflow?: string;
  /** A principal ref (`agent:refund-bot`, `user:lena`): the run's agent or the person it acts for. */
  readonly principal?: string;
  /** createdAt >= since (ISO-8601, or a prefix of one such as `2026-01-31`). */
  readonly since?: string;
  /** createdAt on or before `until` (compared on `until`'s length: `2026-12-31` takes the whole day). */
  readonly until?: string;
  /** Paging: only runs after this one in the list's order (older, or as old with a smaller id). */
  readonly after?: { readonly createdAt: string; readonly id: string };
  readonly limit?: number;
}

export interface Store {
  /** Appends records atomically and in order; concurrent callers are group-committed. */
  appendAudit(drafts: readonly AuditDraft[]): Promise<readonly AuditRecord[]>;
  /** Records with seq >= fromSeq, in order, at most `limit`. */
  readAudit(fromSeq: number, limit: number): Promise<readonly AuditRecord[]>;
  /** Every record of one run, in order (an index beside the chain; the chain is the truth). */
  readAuditForRun(runId: string): Promise<readonly AuditRecord[]>;
  auditHead(): Promise<{ seq: number; chainHash: Sha256Hex } | null>;
  getPayload(hash: Sha256Hex): Promise<string | null>;
  /** Retention: payloads may go; the chain still verifies without them. */
  deletePayload(hash: Sha256Hex): Promise<void>;

  /** The sum of the amounts counted against value budget `budget` in `bucket` after `since` (ISO time). */
  valueSpent(budget: string, bucket: string, since: string): Promise<number>;
  /**
   * Counts `entries` for one action under `meta.countId`, all or none, in one transaction: when an
   * entry's bucket's sum after its `since` is not what the caller decided on (`expected`, when
   * given), or plus its amount would pass its `limit`, nothing is written and the sums found (one
   * per entry) come back. Concurrent callers are serialised by the write lock, so no two decide on
   * the same sum and both count.
   */
  addValue(
    entries: readonly ValueEntry[],
    meta: { readonly at: string; readonly runId: RunId; readonly actionHash: string; readonly countId: string },
    expected?: readonly number[],
  ): Promise<{ readonly ok: true } | { readonly ok: false; readonly spent: readonly number[] }>;
  /** Takes back what `countId` counted (the action provably did not run). */
  uncountValue(countId: string): Promise<void>;

  /** Inserts a new run with the records that say it started (one transaction: both or neither); an existing id is a `conflict` error. */
  createRun(run: RunRecord, drafts?: readonly AuditDraft[]): Promise<readonly AuditRecord[]>;
  /**
   * `createRun` for a run an external agent opens, while that agent holds fewer than `cap.max` such runs
   * running in the store (every instance on it counted): the records, or how many it holds (nothing written).
   * Concurrent callers are serialised, so no two pass the cap together.
   */
  createRunWithin(run: RunRecord, drafts: readonly AuditDraft[], cap: OpenRunsCap): Promise<{ readonly records: readonly AuditRecord[] } | { readonly held: number }>;
  /** Saves `run` if the stored version is `run.version - 1`; else throws a `conflict` error (`not-found` if absent). */
  saveRun(run: RunRecord): Promise<void>;
  /**
   * `saveRun` and `appendAudit` as one: the records are appended only if the save applies, in the
   * same transaction (a status change and the records saying so land together or not at all).
   */
  saveRunWithAudit(run: RunRecord, drafts: readonly AuditDraft[], extras?: RunSaveExtras): Promise<readonly AuditRecord[]>;
  /** Usage per scope and day (and currency) from `sinceDay` on (`YYYY-MM-DD`), for the scopes given (none: all), oldest day first. */
  usageSince(sinceDay: string, scopes?: readonly string[]): Promise<readonly UsageRow[]>;
  /** A run's steps (appended with its saves), in order: the last `limit` (default 200) before step `before`, if given. */
  listRunSteps(runId: RunId, opts?: { readonly before?: number; readonly limit?: number }): Promise<readonly RunStep[]>;
  getRun(id: RunId): Promise<RunRecord | null>;
  /** Newest first (createdAt descending, then id descending), filtered by every option given (see `RunQuery`). */
  listRuns(opts?: RunQuery): Promise<readonly RunRecord[]>;
  /** What `listRuns` lists, without the run state: who it acts for and its model cost (what reports read, for many runs). */
  listRunSummaries(opts?: RunQuery): Promise<readonly RunSummary[]>;

  /** Inserts a new approval; an existing id is a `conflict` error. */
  createApproval(a: ApprovalRecord): Promise<void>;
  getApproval(id: ApprovalId): Promise<ApprovalRecord | null>;
  /** Oldest first (createdAt ascending, then id), filtered by every option given. */
  /** `runIds`: the approvals of any of these runs (at most `MAX_RUN_IDS`; one query for a page of runs). */
  listApprovals(opts?: { status?: ApprovalStatus; runId?: RunId; runIds?: readonly RunId[] }): Promise<readonly ApprovalRecord[]>;
  /** One page of approvals, newest first (created, then id, descending): a long list read a page at a time. */
  pageApprovals(q: ApprovalPage): Promise<readonly ApprovalRecord[]>;
  /** One page of incidents, newest first, as `pageApprovals`. */
  pageIncidents(q: NewestPage<IncidentStatus>): Promise<readonly IncidentRecord[]>;
  /**
   * Compare-and-set on status: applies `update` only if the stored status is `expected` (and,
   * when `expected` gives `votes`, the stored record holds exactly that many decisions).
   * Returns the new record, or null if someone else changed it first (exactly one of
   * concurrent approve/reject wins; a concurrent step-up vote is never overwritten).
   * An unknown id is a `not-found` error. `drafts` (the records saying what changed) are appended
   * in the same transaction only when the update applies: both land or neither.
   */
  updateApproval(id: ApprovalId, expected: ApprovalExpectation, update: ApprovalUpdate, drafts?: readonly AuditDraft[]): Promise<ApprovalRecord | null>;

  /** Inserts a new standing grant; an existing id is a `conflict` error. */
  createGrant(g: GrantRecord): Promise<void>;
  getGrant(id: string): Promise<GrantRecord | null>;
  /**
   * The active grants of `tool` in `workflow` that expire after `now` (ISO-8601), oldest first, at most
   * `MAX_LIVE_GRANTS`: what the gateway may cover a call with. Grants that expired or were revoked are never read.
   */
  liveGrants(workflow: string, tool: string, now: string): Promise<readonly GrantRecord[]>;
  /** One page of grants, newest first, as `pageApprovals` (`decided`: revoked). */
  pageGrants(q: GrantPage): Promise<readonly GrantRecord[]>;
  /**
   * Compare-and-set on the use count: counts one use if the grant is active and has exactly
   * `expectedUses` uses. Returns the updated grant, or null if it changed first. Unknown id: `not-found`.
   */
  useGrant(id: string, expectedUses: number): Promise<GrantRecord | null>;
  /** Revokes an active grant; null if it was not active. Unknown id: `not-found`. */
  revokeGrant(id: string): Promise<GrantRecord | null>;

  /** Adds notifications to the outbox (ids unique; an existing id is left as it is). */
  enqueueNotifications(n: readonly NotificationRecord[]): Promise<void>;
  /** Pending notifications due at `now` (nextAttemptAt <= now), oldest first, at most `limit`. */
  dueNotifications(now: string, limit: number): Promise<readonly NotificationRecord[]>;
  /**
   * Takes a due notification for one attempt: compare-and-set on (pending, `expectedAttempts`),
   * counting the attempt and leasing it until `leaseUntil`. Null if another process took it first.
   */
  claimNotification(id: string, expectedAttempts: number, leaseUntil: string): Promise<NotificationRecord | null>;
  /** Records an attempt's outcome: the delivery log row, and (if `delivery.attempt` still holds the claim) the notification's new state, atomically. */
  finishNotification(
    id: string,
    update: { status: NotificationRecord['status']; nextAttemptAt: string; lastError: string | null },
    delivery: DeliveryRecord,
  ): Promise<void>;
  /** Newest first, at most `limit` (default 100). */
  listNotifications(opts?: { status?: NotificationRecord['status']; limit?: number }): Promise<readonly NotificationRecord[]>;
  /** The delivery log, oldest first: of one notification, or all. */
  listDeliveries(notificationId?: string): Promise<readonly DeliveryRecord[]>;

  /**
   * Inserts a new incident, unless an open one with the same (runId, kind, key) exists: then nothing
   * is inserted and that one is returned (compare the ids to tell). An existing id is a `conflict` error.
   */
  createIncident(i: IncidentRecord): Promise<IncidentRecord>;
  getIncident(id: string): Promise<IncidentRecord | null>;
  /** Oldest first (createdAt ascending, then id), filtered by every option given. */
  /** `runIds`: the incidents of any of these runs (at most `MAX_RUN_IDS`). */
  listIncidents(opts?: { status?: IncidentStatus; runId?: RunId; runIds?: readonly RunId[] }): Promise<readonly IncidentRecord[]>;
  /**
   * Compare-and-set on status (and, when `expectedAssignee` is given, on the assignee: null for none):
   * applies `update` only if the stored incident matches; returns the new record, or null if it
   * changed first. An unknown id is a `not-found` error.
   */
  updateIncident(id: string, expected: IncidentStatus, update: IncidentUpdate, expectedAssignee?: string | null): Promise<IncidentRecord | null>;

  /**
   * Starts halt `h` (active) with the records saying so, in one transaction: unless a halt is already
   * active on its scope, then nothing is written and that one comes back (compare the ids). An
   * existing id is a `conflict` error.
   */
  startHalt(h: HaltRecord, drafts?: readonly AuditDraft[]): Promise<HaltRecord>;
  /**
   * Lifts an active halt with the records saying so, in one transaction (compare-and-set on `active`):
   * the lifted halt, or null (and no record) when it was not active. An unknown id is a `not-found` error.
   */
  liftHalt(id: string, lift: HaltLift, drafts?: readonly AuditDraft[]): Promise<HaltRecord | null>;
  /**
   * The oldest active halt on any of `scopes` (keys as `HaltRecord.scope`), or null. One indexed read
   * of the stored table every time, never a cached answer: a halt another process committed applies
   * to the very next check.
   */
  activeHalt(scopes: readonly string[]): Promise<HaltRecord | null>;
  getHalt(id: string): Promise<HaltRecord | null>;
  /** Newest first (stoppedAt descending, then id), filtered by status when given, at most `limit` (default 100). */
  listHalts(opts?: { status?: HaltStatus; limit?: number }): Promise<readonly HaltRecord[]>;

  /**
   * Records a pilot event with the audit records that say so, in one transaction (an existing id:
   * `conflict`, no record). With `after`, only when the newest event of its kind for its workflow is that
   * one (null: none), else nothing is written and false comes back (compare-and-set, across processes).
   */
  addPilotEvent(e: PilotEvent, drafts?: readonly AuditDraft[], after?: string | null): Promise<boolean>;
  /** The newest `limit` (default 100) events of `workflow`, of these kinds (every kind when empty), newest first in the order written. */
  listPilotEvents(workflow: string, kinds?: readonly PilotEventKind[], limit?: number): Promise<readonly PilotEvent[]>;

  /**
   * Records a policy event (a deployment, a shadow started or cleared) with the audit records that say
   * so, in one transaction, only when the newest event of its lane is `expected` (its id; null for an
   * empty lane): null then. Otherwise nothing is written and that newest event comes back (compare-and-set
   * across processes). An existing id is a `conflict` error.
   */
  addPolicyEvent(e: PolicySetEvent, expected: string | null, drafts?: readonly AuditDraft[]): Promise<PolicySetEvent | null>;
  /**
   * The newest event of `lane`, without the policy texts, or null: one read of an index every time,
   * never cached, so a shadow another process set applies to the next call here.
   */
  latestPolicyEvent(lane: PolicyLane): Promise<PolicyEventHead | null>;
  getPolicyEvent(id: string): Promise<PolicySetEvent | null>;
  /** The newest `limit` (default 100) events of `lane`, newest first (in the order they were recorded). */
  listPolicyEvents(lane: PolicyLane, limit?: number): Promise<readonly PolicySetEvent[]>;

  /** Creates or renews an instance's lease (upsert by id). */
  renewLease(lease: InstanceLease): Promise<void>;
  /** Every lease on record, expired ones too (oldest start first). */
  listLeases(): Promise<readonly InstanceLease[]>;
  /** Removes a lease (a clean shutdown, or an orphan's lease once its runs are ended). */
  dropLease(id: string): Promise<void>;

  /**
   * Takes run `runId` for instance `holder` to drive now (the work queue of Airlock's own runs): when no
   * live instance holds it (no claim, or a claim whose holder has no lease unexpired at `now`, or is in
   * `gone`, or is `holder` itself). The claim is due at once should its holder die. True when `holder`
   * holds it now; false when another live instance does (and nothing changes).
   */
  claimRun(runId: RunId, holder: string, now: string, gone?: readonly string[]): Promise<boolean>;
  /**
   * Gives back a run `holder` holds: with `due` (ISO), any instance takes it again from then on (the run
   * waits on a deadline); with null, nothing is left to do (the row goes). When the run was woken since
   * it was claimed (`wakeRun`), it stays due as woken, whatever `due` says: the wake is never lost.
   * A claim held by another instance is left alone.
   */
  releaseRun(runId: RunId, holder: string, due: string | null): Promise<void>;
  /**
   * Marks run `runId` due at `at` (people decided its approval): any instance may take it from then on
   * (`claimDueRuns`); a live holder keeps it, and its release leaves it due.
   */
  wakeRun(runId: RunId, at: string): Promise<void>;
  /**
   * Takes up to `limit` runs due at `now` that no live instance holds (free, or held by an instance whose
   * lease expired or that is in `gone`) for `holder`, oldest due first; concurrent callers never take the
   * same run (row locks skipped, or the write lock). Their ids.
   */
  claimDueRuns(holder: string, now: string, limit: number, gone?: readonly string[]): Promise<readonly RunId[]>;
  /**
   * Calls `listener` soon after a run becomes due now on any instance (a holder released a run woken while
   * it held it), and once whenever it starts listening; failures go to `onError`. Absent where the store
   * cannot announce (the embedded store): instances find due runs by polling (`claimDueRuns`) only.
   */
  watchDueRuns?(listener: () => void, onError: (e: unknown) => void): DueRunsWatch;
  /**
   * Counts `count` calls under `key` at `nowMs` when the calls counted there in the last `windowMs` plus
   * `count` stay within `limit` (a sliding window, shared by every instance on the store): true, counted;
   * false, nothing counted. Concurrent callers are serialised, so no two pass the limit together.
   */
  takeRate(key: string, count: number, limit: number, windowMs: number, nowMs: number): Promise<boolean>;

  /** Keeps ended spans locally for the console (bounded: per trace and in all, the oldest pruned first). */
  appendSpans(spans: readonly StoredSpan[]): Promise<void>;
  /** Marks approval link `jti` used (until `expiresAt`); true only the first time, for any number of processes on the store. */
  redeemLink(jti: string, usedAt: string, expiresAt: string): Promise<boolean>;
  /** The spans of the traces that run `runId` belongs to (one trace across its pauses and restarts), oldest first, at most `limit` (default 2000). */
  spansForRun(runId: RunId, limit?: number): Promise<readonly StoredSpan[]>;

  /** The documents stored for `source` (context from declared sources), to compare with its files. */
  contextDocuments(source: string): Promise<readonly ContextDocumentState[]>;
  /** Every source that has documents stored. */
  contextSources(): Promise<readonly string[]>;
  /** Stores new versions (their chunks replacing the old), new labels and removals of one source, in one transaction. */
  changeContext(changes: ContextChanges): Promise<void>;
  /** Full-text search (BM25), the entitlement filter inside the query: chunks of documents not granted to every set are never read. */
  searchContext(query: ContextQuery): Promise<readonly ContextHit[]>;
  /**
   * One document's chunks in order (the first `maxChunks`), read for a caller: empty when the document
   * does not exist or is not granted to every entitlement set alike (the filter is inside the query, and
   * the two cases are not told apart: whether a document one may not read exists is not told either).
   */
  readContextDocument(query: ContextDocumentQuery): Promise<readonly ContextHit[]>;
  /** Up to `limit` chunks of `source`, of these classifications, with no embedding vector of `model` yet (ingest embeds them). */
  contextUnembedded(source: string, model: string, classifications: readonly Classification[], limit: number): Promise<readonly UnembeddedChunk[]>;
  /** Keeps embedding vectors of `model` (unit length), each only while its chunk still holds the text it was computed from. */
  putContextVectors(model: string, rows: readonly ChunkVector[]): Promise<void>;
  /**
   * The text at [start, end) of a stored document's current version, when one chunk holds it (the
   * citation check; never shown), read only if the document is granted to every entitlement set (the
   * run's agent, and the person it acts for): one not granted reads as one that does not exist.
   */
  contextCited(source: string, path: string, start: number, end: number, entitlements: readonly (readonly string[])[]): Promise<ContextCited>;

  /**
   * The leaf hashes of records fromSeq.. (at most `limit`), 32 bytes each, concatenated in seq order:
   * what Merkle tree heads and proofs are computed from (audit/checkpoints.ts).
   */
  readLeafHashes(fromSeq: number, limit: number): Promise<Uint8Array>;
  /**
   * Keeps a checkpoint if it is larger than the newest one kept (compare-and-set on the size): false when
   * one of its size or larger is there already (another instance made it first), and nothing changes.
   */
  addCheckpoint(c: StoredCheckpoint): Promise<boolean>;
  /** The largest checkpoint kept, or null. */
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  /** The checkpoint of exactly `size` records, or null. */
  getCheckpoint(size: number): Promise<StoredCheckpoint | null>;
  /** Checkpoints smaller than `beforeSize` (default: all), largest first, at most `limit` (default 100). */
  listCheckpoints(opts?: { readonly beforeSize?: number; readonly limit?: number }): Promise<readonly StoredCheckpoint[]>;

  /**
   * The fingerprint kept for the workspace key `name` (one every instance on this store must share): the one
   * kept first, or `fingerprint` when none was (it is kept now). Compare-and-set: racing instances keep one.
   */
  keyFingerprint(name: string, fingerprint: string): Promise<string>;

  /** Commits appends already accepted, then releases the store; later calls fail. Idempotent. */
  close(): Promise<void>;
}
