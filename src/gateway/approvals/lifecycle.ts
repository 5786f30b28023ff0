// The end of an approval nobody decided or nobody will use: expiry (one path, audited and announced,
// whoever notices), withdrawal when its run ended first, and the chain of approver edits.
import { AirlockError } from '../../errors.js';
import type { ApprovalRecord, Store } from '../../store/store.js';
import type { ApprovalId, RunId } from '../../types.js';
import type { AuditItem, AuditSubject, AuditWriter } from '../../audit/writer.js';
import { rec } from '../../audit/records.js';
import { approvalEventData, type Notify } from './events.js';

/** What expiring and withdrawing need: the store, the trail, the webhooks. */
export interface LifecycleDeps {
  readonly store: Store;
  readonly audit: AuditWriter;
  readonly notify?: Notify | undefined;
}

/**
 * The one way an approval expires, whoever notices: a compare-and-set from `from` (`pending`: its
 * deadline passed undecided; `approved`: it came too late to be used, or was voided at execution),
 * then `approval.expired` on the trail (after `before`, in the same append, as `subject`) and the
 * webhook. Returns the expired approval, or null when it had left `from` (another process won).
 */
export async function expireApproval(
  deps: LifecycleDeps,
  a: ApprovalRecord,
  opts: { readonly from?: 'pending' | 'approved'; readonly unused?: boolean; readonly voided?: string; readonly before?: readonly AuditItem[]; readonly subject?: AuditSubject } = {},
): Promise<ApprovalRecord | null> {
  const subject = opts.subject ?? { runId: a.runId, principal: null };
  // The expiry and its record (after `before`) land together, or neither does.
  const updated = await deps.audit.commitApproval(a.id, opts.from ?? 'pending', { status: 'expired', escalateAt: null }, subject, [
    ...(opts.before ?? []),
    rec('approval.expired', {
      approvalId: a.id,
      actionHash: a.actionHash,
      expiresAt: a.expiresAt,
      votes: a.decisions.length,
      ...(opts.unused ? { unused: true } : {}),
      ...(opts.voided ? { voided: opts.voided } : {}),
    }),
  ]);
  if (!updated) {
    if (opts.before && opts.before.length > 0) await deps.audit.append(subject, opts.before);
    return null;
  }
  await deps.notify?.('approval.expired', approvalEventData(updated));
  return updated;
}

/**
 * Withdraws the approvals of run `runId` that nobody will use any more because the run ended first
 * (its session closed, its process died): pending ones (people are no longer asked) and approved
 * ones not yet used. Each is a compare-and-set, audited `approval.withdrawn` with the reason and
 * announced to webhooks. Returns the ids withdrawn.
 */
export async function withdrawApprovals(deps: LifecycleDeps, runId: RunId, reason: string): Promise<ApprovalId[]> {
  const out: ApprovalId[] = [];
  for (const listed of await deps.store.listApprovals({ runId })) {
    // A vote may move it (pending → approved) between reading and withdrawing: read again and retry.
    let a: ApprovalRecord | null = listed;
    let updated: ApprovalRecord | null = null;
    for (let attempt = 0; attempt < 3 && a && (a.status === 'pending' || a.status === 'approved'); attempt++) {
      // The withdrawal and its record land together, or neither does.
      const item = rec('approval.withdrawn', { approvalId: a.id, actionHash: a.actionHash, was: a.status, votes: a.decisions.length, reason });
      updated = await deps.audit.commitApproval(a.id, a.status, { status: 'withdrawn', escalateAt: null }, { runId, principal: null }, [item]);
      if (updated) break;
      a = await deps.store.getApproval(a.id);
    }
    if (!updated || !a) continue;
    await deps.notify?.('approval.withdrawn', { ...approvalEventData(updated), reason });
    out.push(a.id);
  }
  return out;
}

/**
 * The approval that finally stands for `a`: follows approver edits (`supersededBy`) to the last one.
 * A chain longer than `limit` or a missing link is corrupt.
 */
export async function latestRevision(store: Store, a: ApprovalRecord, limit = 20): Promise<ApprovalRecord> {
  let cur = a;
  for (let i = 0; cur.status === 'edited'; i++) {
    if (i >= limit || cur.supersededBy === null) {
      throw new AirlockError('store-corrupt', `approval \`${a.id}\` has a broken chain of edits at \`${cur.id}\``, { hint: 'review it with `airlock show`' });
    }
    const next = await store.getApproval(cur.supersededBy);
    if (!next) throw new AirlockError('store-corrupt', `approval \`${cur.id}\` was replaced by \`${cur.supersededBy}\`, which does not exist`);
    cur = next;
  }
  return cur;
}

