// The store's writes as data (what sqlite-writer.ts applies): each kind of write, what it answers, and how it is named
// in errors. Plain strings and numbers, records already serialised, so a batch can cross to the writer thread.
import type { PreparedLeaf } from '../audit/chain.js';
import type { AirlockError } from '../errors.js';
import type { ApprovalStatus, Sha256Hex } from '../types.js';
import type { ApprovalRecord, AuditPayload, GrantRecord, HaltRecord, IncidentRecord, IncidentStatus, NotificationRecord, OpenRunsCap, UsageDelta } from './store.js';
import type { ValueCount } from './sqlite-ledgers.js';
import type { SpanRow } from './sqlite-spans.js';
import type { PilotEvent } from './pilot-records.js';
import type { HaltColumns } from './sqlite-halts.js';
import type { PolicyEventColumns } from './sqlite-policy.js';
import type { StoredCheckpoint } from './checkpoint-records.js';
import type { PolicySetEvent } from './policy-records.js';
import type { ChunkVector, ContextChanges } from './context-records.js';

/** An audit leaf as it crosses to the writer: canonicalised already, without the body object (its text is `bodyText`). */
export type WireLeaf = Omit<PreparedLeaf, 'body'>;

/** A run's columns, its state serialised already. */
export interface RunColumns {
  readonly id: string;
  readonly workflow: string;
  readonly status: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly stateText: string;
}

/** What an approval's compare-and-set expects to find. */
export interface ApprovalWant {
  readonly status: ApprovalStatus;
  readonly votes?: number | undefined;
  readonly escalations?: number | undefined;
}

/** One write, as data. Records are JSON text (`record`, `update`), serialised by the caller before it is queued. */
export type WriteOp =
  | { readonly op: 'append'; readonly leaves: readonly WireLeaf[]; readonly payloads: readonly (readonly AuditPayload[])[] }
  | {
      readonly op: 'save-run';
      readonly run: RunColumns;
      readonly leaves: readonly WireLeaf[];
      readonly payloads: readonly (readonly AuditPayload[])[];
      /** Steps appended with the save (their items serialised already). */
      readonly steps?: readonly { readonly n: number; readonly item: string }[];
      /** Model usage added to daily sums with the save. */
      readonly usage?: readonly UsageDelta[];
    }
  | {
      readonly op: 'create-run';
      readonly run: RunColumns;
      readonly leaves: readonly WireLeaf[];
      readonly payloads: readonly (readonly AuditPayload[])[];
      /** Created only while the agent holds fewer open runs (`Store.createRunWithin`). */
      readonly within?: OpenRunsCap;
    }
  | { readonly op: 'delete-payload'; readonly hash: string }
  | { readonly op: 'create-approval'; readonly id: string; readonly runId: string; readonly status: string; readonly createdAt: string; readonly record: string }
  | {
      readonly op: 'update-approval';
      readonly id: string;
      readonly want: ApprovalWant;
      readonly update: string;
      /** Records appended only when the compare-and-set applies, in the same savepoint. */
      readonly leaves: readonly WireLeaf[];
      readonly payloads: readonly (readonly AuditPayload[])[];
    }
  | {
      readonly op: 'create-grant';
      readonly id: string;
      readonly workflow: string;
      readonly tool: string;
      readonly status: string;
      readonly uses: number;
      readonly createdAt: string;
      readonly expiresAt: string;
      readonly record: string;
    }
  | { readonly op: 'use-grant'; readonly id: string; readonly expectedUses: number }
  | { readonly op: 'revoke-grant'; readonly id: string }
  | { readonly op: 'enqueue-notifications'; readonly rows: readonly NotificationColumns[] }
  | { readonly op: 'claim-notification'; readonly id: string; readonly expectedAttempts: number; readonly leaseUntil: string }
  | { readonly op: 'finish-notification'; readonly id: string; readonly attempt: number; readonly update: string; readonly delivery: string }
  | {
      readonly op: 'create-incident';
      readonly id: string;
      readonly runId: string;
      readonly kind: string;
      readonly key: string;
      readonly status: string;
      readonly createdAt: string;
      readonly record: string;
    }
  | { readonly op: 'update-incident'; readonly id: string; readonly expected: IncidentStatus; readonly update: string; readonly expectedAssignee?: string | null }
  | { readonly op: 'renew-lease'; readonly id: string; readonly startedAt: string; readonly record: string }
  | { readonly op: 'drop-lease'; readonly id: string }
  | ({ readonly op: 'add-value' } & ValueCount)
  | { readonly op: 'uncount-value'; readonly countId: string }
  | { readonly op: 'add-spans'; readonly rows: readonly SpanRow[] }
  | { readonly op: 'redeem-link'; readonly jti: string; readonly usedAt: string; readonly expiresAt: string }
  | { readonly op: 'add-checkpoint'; readonly checkpoint: StoredCheckpoint }
  | { readonly op: 'key-fingerprint'; readonly name: string; readonly fingerprint: string }
  | { readonly op: 'claim-run'; readonly runId: string; readonly holder: string; readonly now: string; readonly gone: readonly string[] }
  | { readonly op: 'release-run'; readonly runId: string; readonly holder: string; readonly due: string | null }
  | { readonly op: 'wake-run'; readonly runId: string; readonly at: string }
  | { readonly op: 'claim-due-runs'; readonly holder: string; readonly now: string; readonly limit: number; readonly gone: readonly string[] }
  | { readonly op: 'take-rate'; readonly key: string; readonly count: number; readonly limit: number; readonly windowMs: number; readonly nowMs: number }
  | { readonly op: 'change-context'; readonly changes: ContextChanges }
  | { readonly op: 'put-context-vectors'; readonly model: string; readonly rows: readonly ChunkVector[] }
  | { readonly op: 'add-pilot-event'; readonly event: PilotEvent; readonly after?: string | null; readonly leaves: readonly WireLeaf[]; readonly payloads: readonly (readonly AuditPayload[])[] }
  // A halt's records are appended only when it is started (or lifted), in the same savepoint.
  | { readonly op: 'start-halt'; readonly halt: HaltColumns; readonly leaves: readonly WireLeaf[]; readonly payloads: readonly (readonly AuditPayload[])[] }
  | { readonly op: 'lift-halt'; readonly id: string; readonly lift: string; readonly leaves: readonly WireLeaf[]; readonly payloads: readonly (readonly AuditPayload[])[] }
  // A policy event's records are appended only when its lane's head is the one expected, in the same savepoint.
  | {
      readonly op: 'add-policy-event';
      readonly event: PolicyEventColumns;
      readonly expected: string | null;
      readonly leaves: readonly WireLeaf[];
      readonly payloads: readonly (readonly AuditPayload[])[];
    };

/** A queued notification's columns. */
export interface NotificationColumns {
  readonly id: string;
  readonly status: string;
  readonly attempts: number;
  readonly nextAttemptAt: string;
  readonly createdAt: string;
  readonly record: string;
}

/** Where one appended record landed: its seq and hashes (the caller still holds the rest of it). */
export interface SealedHashes {
  readonly seq: number;
  readonly prevHash: Sha256Hex;
  readonly leafHash: Sha256Hex;
  readonly chainHash: Sha256Hex;
}

/** What each kind of write answers. `null`: done; a record or null for a compare-and-set; an incident already open. */
export interface WriteResult {
  readonly append: readonly SealedHashes[];
  readonly 'save-run': readonly SealedHashes[];
  /** The records sealed; or, over its cap, how many open runs the agent holds (nothing written). */
  readonly 'create-run': { readonly sealed: readonly SealedHashes[] } | { readonly held: number };
  readonly 'delete-payload': null;
  readonly 'create-approval': null;
  /** The approval as it now stands, with the records sealed beside it; null (and no records) when it had moved on. */
  readonly 'update-approval': { readonly approval: ApprovalRecord; readonly sealed: readonly SealedHashes[] } | null;
  readonly 'create-grant': null;
  readonly 'use-grant': GrantRecord | null;
  readonly 'revoke-grant': GrantRecord | null;
  readonly 'enqueue-notifications': null;
  readonly 'claim-notification': NotificationRecord | null;
  readonly 'finish-notification': null;
  /** null: inserted as given; else the incident already open for its (run, kind, key). */
  readonly 'create-incident': IncidentRecord | null;
  readonly 'update-incident': IncidentRecord | null;
  readonly 'renew-lease': null;
  readonly 'drop-lease': null;
  /** null: counted; else the sums found, one per entry, when one would pass its limit (nothing written). */
  readonly 'add-value': readonly number[] | null;
  readonly 'uncount-value': null;
  readonly 'add-spans': null;
  /** Whether this was the link's first use. */
  readonly 'redeem-link': boolean;
  readonly 'add-checkpoint': boolean;
  /** The fingerprint kept (this one, if none was). */
  readonly 'key-fingerprint': string;
  readonly 'claim-run': boolean;
  readonly 'release-run': null;
  readonly 'wake-run': null;
  readonly 'claim-due-runs': readonly string[];
  /** Whether the calls were counted (within the limit). */
  readonly 'take-rate': boolean;
  readonly 'change-context': null;
  readonly 'put-context-vectors': null;
  readonly 'add-pilot-event': boolean;
  /** null: started as given; else the halt already active on its scope (and no record written). */
  readonly 'start-halt': HaltRecord | null;
  /** The lifted halt; null (and no record) when it was not active. */
  readonly 'lift-halt': HaltRecord | null;
  /** null: recorded; else the lane's newest event, which was not the one expected (and no record written). */
  readonly 'add-policy-event': PolicySetEvent | null;
}

/** How each write is named in its error messages ("store `x` failed to <doing>"). */
export const DOING: Readonly<Record<WriteOp['op'], string>> = {
  append: 'append audit records',
  'save-run': 'save a run',
  'create-run': 'create a run',
  'delete-payload': 'delete a payload',
  'create-approval': 'create an approval',
  'update-approval': 'update an approval',
  'create-grant': 'create a grant',
  'use-grant': 'use a grant',
  'revoke-grant': 'revoke a grant',
  'enqueue-notifications': 'queue notifications',
  'claim-notification': 'claim a notification',
  'finish-notification': 'record a delivery',
  'create-incident': 'open an incident',
  'update-incident': 'update an incident',
  'renew-lease': 'renew an instance lease',
  'drop-lease': 'drop an instance lease',
  'add-value': 'count an amount against a value budget',
  'uncount-value': 'take back an amount counted against a value budget',
  'add-spans': 'keep spans',
  'redeem-link': 'redeem an approval link',
  'add-checkpoint': 'keep a signed checkpoint',
  'key-fingerprint': "keep a workspace key's fingerprint",
  'claim-run': 'claim a run',
  'release-run': 'release a run',
  'wake-run': 'wake a run',
  'claim-due-runs': 'claim due runs',
  'take-rate': 'count calls against a rate limit',
  'change-context': 'store ingested documents',
  'put-context-vectors': 'store embedding vectors',
  'add-pilot-event': 'record a pilot event',
  'start-halt': 'start a halt',
  'lift-halt': 'lift a halt',
  'add-policy-event': 'record a policy event',
};

/** One write's outcome. */
export type WriteOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: AirlockError };
