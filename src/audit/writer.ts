// Writes audit records for the gateway and the runner: payloads apart, by hash (keyed when sensitive).
import type { ApprovalExpectation, ApprovalRecord, ApprovalUpdate, AuditDraft, AuditPayload, AuditRecord, HaltLift, HaltRecord, OpenRunsCap, PilotEvent, PolicySetEvent, RunRecord, RunSaveExtras, Store } from '../store/store.js';
import type { ApprovalId, Classification, Json, Principal, RunId } from '../types.js';
import { isSensitive } from '../context/labels.js';
import { principalRef } from '../identity/principal.js';
import { payloadOf } from './payload.js';
import { AirlockError } from '../errors.js';
import { recordableJson } from '../util/json.js';

export { principalRef };

/** Who a batch of records is about. */
export interface AuditSubject {
  readonly runId: RunId | null;
  readonly principal: Principal | null;
  readonly onBehalfOf?: Principal | undefined;
}

/** Who watches the trail being written (metrics, the wait-for-a-person span); never affects what is written. */
export interface AuditObserver {
  /** Records committed durably by one call, and how long the call took (ms). */
  readonly appended?: (drafts: readonly AuditDraft[], ms: number) => void;
  /** A pending approval left `pending` (decided, edited, expired or withdrawn) at `at`. */
  readonly waitEnded?: (approval: ApprovalRecord, at: Date) => void;
}

/** One record to append: its type, its body, and payloads it refers to by hash. */
export interface AuditItem {
  readonly type: string;
  readonly body: { readonly [k: string]: Json };
  readonly payloads?: readonly AuditPayload[];
}

/**
 * The one way audit records are written: stamps each with the subject (run, principal,
 * on-behalf-of) and the time, and builds payload refs with `payloadOf`. Verification and export
 * are the free functions of log.ts.
 */
export class AuditWriter {
  constructor(
    private readonly store: Store,
    private readonly key: Uint8Array,
    private readonly now: () => Date,
    private readonly observer: AuditObserver = {},
  ) {}

  /**
   * A payload stored apart from the chain. Confidential and restricted data is hashed with the
   * workspace's audit key, so the hash alone reveals nothing guessable.
   */
  payloadRef(value: Json, classification: Classification): AuditPayload {
    try {
      return payloadOf(this.key, value, isSensitive(classification));
    } catch {
      // Data from outside (an upstream, a caller's report) is recorded whatever it is: escaped and bounded.
      return payloadOf(this.key, recordableJson(value).value, isSensitive(classification));
    }
  }

  /**
   * Appends the items in order, atomically and durably. A body that canonical JSON cannot hold
   * (a lone surrogate or a depth from outside data that reached a message) is recorded escaped and
   * bounded rather than lost: the record exists either way.
   */
  async append(subject: AuditSubject | null, items: readonly AuditItem[]): Promise<readonly AuditRecord[]> {
    return this.recorded(this.drafts(subject, items), (drafts) => this.store.appendAudit(drafts));
  }

  /**
   * Saves `run` (compare-and-set on its version) with the items that say what changed, in one
   * transaction: both land or neither (a refused save is a `conflict` and writes no record).
   */
  async commitRun(run: RunRecord, subject: AuditSubject | null, items: readonly AuditItem[], extras: RunSaveExtras = {}): Promise<readonly AuditRecord[]> {
    return this.recorded(this.drafts(subject, items), (drafts) => this.store.saveRunWithAudit(run, drafts, extras));
  }

  /** Creates `run` with the items that say it started, in one transaction (an existing id: `conflict`, no record). */
  async createRun(run: RunRecord, subject: AuditSubject | null, items: readonly AuditItem[]): Promise<readonly AuditRecord[]> {
    return this.recorded(this.drafts(subject, items), (drafts) => this.store.createRun(run, drafts));
  }

  /** `createRun` for an external agent's run within its cap on open runs (`Store.createRunWithin`): over it, how many it holds, and no record. */
  async createRunWithin(run: RunRecord, subject: AuditSubject | null, items: readonly AuditItem[], cap: OpenRunsCap): Promise<{ readonly records: readonly AuditRecord[] } | { readonly held: number }> {
    return this.recorded(this.drafts(subject, items), (drafts) => this.store.createRunWithin(run, drafts, cap), (out) => 'records' in out);
  }

  /**
   * An approval's compare-and-set (`Store.updateApproval`) with the items that say what changed:
   * the records land only if the update does, in the same transaction. Null: it had moved on.
   */
  async commitApproval(
    id: ApprovalId,
    expected: ApprovalExpectation,
    update: ApprovalUpdate,
    subject: AuditSubject | null,
    items: readonly AuditItem[],
  ): Promise<ApprovalRecord | null> {
    const updated = await this.recorded(this.drafts(subject, items), (drafts) => this.store.updateApproval(id, expected, update, drafts));
    // A wait for a person ends when a pending approval leaves `pending` (decided, edited, expired, withdrawn).
    const from = typeof expected === 'string' ? expected : expected.status;
    if (updated && from === 'pending' && updated.status !== 'pending') this.observer.waitEnded?.(updated, this.now());
    return updated;
  }

  /** Starts halt `h` with the items saying so, in one transaction; the halt already active on its scope (and no record) when there is one. */
  async commitHalt(h: HaltRecord, subject: AuditSubject | null, items: readonly AuditItem[]): Promise<HaltRecord> {
    return this.recorded(this.drafts(subject, items), (drafts) => this.store.startHalt(h, drafts));
  }

  /** Lifts active halt `id` with the items saying so, in one transaction; null (and no record) when it was not active. */
  async commitLift(id: string, lift: HaltLift, subject: AuditSubject | null, items: readonly AuditItem[]): Promise<HaltRecord | null> {
    return this.recorded(this.drafts(subject, items), (drafts) => this.store.liftHalt(id, lift, drafts));
  }

  /** Records policy event `e` with the items saying so, in one transaction, if its lane's newest event is `expected` (else that one comes back, nothing written). */
  async commitPolicyEvent(e: PolicySetEvent, expected: string | null, subject: AuditSubject | null, items: readonly AuditItem[]): Promise<PolicySetEvent | null> {
    return this.recorded(this.drafts(subject, items), (drafts) => this.store.addPolicyEvent(e, expected, drafts));
  }

  /** Records pilot event `e` with the items saying so, in one transaction; with `after`, compare-and-set (false: nothing written). */
  async commitPilotEvent(e: PilotEvent, subject: AuditSubject | null, items: readonly AuditItem[], after?: string | null): Promise<boolean> {
    return this.recorded(this.drafts(subject, items), (drafts) => this.store.addPilotEvent(e, drafts, after));
  }

  private drafts(subject: AuditSubject | null, items: readonly AuditItem[]): AuditDraft[] {
    const time = this.now().toISOString();
    return items.map((it) => ({
      type: it.type,
      time,
      runId: subject?.runId ?? null,
      principal: subject?.principal ? principalRef(subject.principal) : null,
      onBehalfOf: subject?.onBehalfOf ? principalRef(subject.onBehalfOf) : null,
      body: it.body,
      ...(it.payloads ? { payloads: it.payloads } : {}),
    }));
  }

  private async recorded<T>(drafts: AuditDraft[], write: (drafts: readonly AuditDraft[]) => Promise<T>, wrote: (out: T) => boolean = () => true): Promise<T> {
    let current = drafts;
    const started = performance.now();
    for (;;) {
      try {
        const out = await write(current);
        if (wrote(out)) this.observer.appended?.(current, performance.now() - started);
        return out;
      } catch (e) {
        if (!(e instanceof AirlockError)) throw e;
        // `input` from the store: a draft had no canonical form (checked before queueing); nothing was written.
        if (e.code === 'input' && /^audit draft/.test(e.message) && current === drafts) {
          current = drafts.map(recordable);
          continue;
        }
        // (A lock held by another process is waited out by the store's busy timeout before it says so.)
        throw e;
      }
    }
  }
}

/** A draft whose body is escaped and bounded (`recordableJson`); the envelope strings too. */
function recordable(d: AuditDraft): AuditDraft {
  const text = (s: string | null): string | null => (s === null ? null : (recordableJson(s).value as string));
  return {
    ...d,
    type: text(d.type) ?? '',
    runId: text(d.runId),
    principal: text(d.principal),
    onBehalfOf: text(d.onBehalfOf),
    body: recordableJson(d.body).value as AuditDraft['body'],
  };
}
