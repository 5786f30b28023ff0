// Writes audit records for the gateway and the runner: payloads apart, by hash (keyed when sensitive).
import type { AuditDraft, AuditPayload, AuditRecord, Store } from '../store/store.js';
import type { Classification, Json, Principal, RunId } from '../types.js';
import { isSensitive } from '../context/labels.js';
import { principalRef } from '../identity/principal.js';
import { payloadOf } from './log.js';

export { principalRef };

/** Who a batch of records is about. */
export interface AuditSubject {
  readonly runId: RunId | null;
  readonly principal: Principal | null;
  readonly onBehalfOf?: Principal | undefined;
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
  ) {}

  /**
   * A payload stored apart from the chain. Confidential and restricted data is hashed with the
   * workspace's audit key, so the hash alone reveals nothing guessable.
   */
  payloadRef(value: Json, classification: Classification): AuditPayload {
    return payloadOf(this.key, value, isSensitive(classification));
  }

  /** Appends the items in order, atomically and durably. */
  async append(subject: AuditSubject | null, items: readonly AuditItem[]): Promise<readonly AuditRecord[]> {
    const time = this.now().toISOString();
    const drafts: AuditDraft[] = items.map((it) => ({
      type: it.type,
      time,
      runId: subject?.runId ?? null,
      principal: subject?.principal ? principalRef(subject.principal) : null,
      onBehalfOf: subject?.onBehalfOf ? principalRef(subject.onBehalfOf) : null,
      body: it.body,
      ...(it.payloads ? { payloads: it.payloads } : {}),
    }));
    return this.store.appendAudit(drafts);
  }
}
