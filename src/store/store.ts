// The one store interface: every query Airlock makes goes through it.
// Implementations: sqlite.ts (embedded default, in the workspace's .airlock/); PostgreSQL later.
// The shared suite in test/store/store-suite.ts runs against every implementation.
import type { ApprovalId, ApprovalLevel, ApprovalStatus, Json, RunId, RunStatus, Sha256Hex } from '../types.js';

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

export interface ApprovalRecord {
  readonly id: ApprovalId;
  readonly runId: RunId;
  readonly actionHash: Sha256Hex;
  readonly tool: string;
  readonly requester: string;
  readonly level: ApprovalLevel;
  readonly status: ApprovalStatus;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** What the approver is shown: tool, arguments, reasons, evidence. */
  readonly summary: Json;
  readonly decisions: readonly ApprovalVote[];
}

export interface ApprovalVote {
  readonly approver: string;
  readonly decision: 'approve' | 'reject';
  readonly reason: string | null;
  readonly time: string;
}

/** What `updateApproval` expects to find: a status, or a status and the number of votes already cast. */
export type ApprovalExpectation = ApprovalStatus | { readonly status: ApprovalStatus; readonly votes: number };

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

  /** Inserts a new run; an existing id is a `conflict` error. */
  createRun(run: RunRecord): Promise<void>;
  /** Saves `run` if the stored version is `run.version - 1`; else throws a `conflict` error (`not-found` if absent). */
  saveRun(run: RunRecord): Promise<void>;
  getRun(id: RunId): Promise<RunRecord | null>;
  /** Newest first (createdAt descending, then id descending). */
  listRuns(opts?: { status?: RunStatus; limit?: number }): Promise<readonly RunRecord[]>;

  /** Inserts a new approval; an existing id is a `conflict` error. */
  createApproval(a: ApprovalRecord): Promise<void>;
  getApproval(id: ApprovalId): Promise<ApprovalRecord | null>;
  /** Oldest first (createdAt ascending, then id), filtered by every option given. */
  listApprovals(opts?: { status?: ApprovalStatus; runId?: RunId }): Promise<readonly ApprovalRecord[]>;
  /**
   * Compare-and-set on status: applies `update` only if the stored status is `expected` (and,
   * when `expected` gives `votes`, the stored record holds exactly that many decisions).
   * Returns the new record, or null if someone else changed it first (exactly one of
   * concurrent approve/reject wins; a concurrent step-up vote is never overwritten).
   * An unknown id is a `not-found` error.
   */
  updateApproval(
    id: ApprovalId,
    expected: ApprovalExpectation,
    update: { status: ApprovalStatus; decisions: readonly ApprovalVote[] },
  ): Promise<ApprovalRecord | null>;

  /** Commits appends already accepted, then releases the store; later calls fail. Idempotent. */
  close(): Promise<void>;
}
