// Human decisions on pending approvals: who may vote, step-up counting, and the audit of every attempt.
import { AirlockError } from '../errors.js';
import type { ApprovalRecord, ApprovalVote, Store } from '../store/store.js';
import type { ApprovalId, Principal } from '../types.js';
import type { AuditWriter} from '../audit/writer.js';
import { principalRef } from '../audit/writer.js';

/** What came of a vote. Refusals are values and are audited like everything else. */
export type VoteOutcome =
  | { readonly kind: 'recorded'; readonly approval: ApprovalRecord; readonly decided: boolean }
  | { readonly kind: 'refused'; readonly reason: string };

/** Approvals a level needs from distinct eligible people. */
export function approvalsNeeded(level: ApprovalRecord['level']): number {
  return level === 'step-up' ? 2 : 1;
}

/**
 * Why `approver` may not vote on `approval`, or null if they may. Pure.
 * The requester, the person the agent acts for, and any agent or service can never approve.
 */
export function voteRefusal(approval: ApprovalRecord, approver: Principal, onBehalfOf: string | null, now: Date): string | null {
  const who = principalRef(approver);
  if (approver.kind !== 'user') return `\`${who}\` is not a person: agents and services can never approve`;
  if (who === approval.requester) return `\`${who}\` requested this action and cannot approve it`;
  if (onBehalfOf !== null && who === onBehalfOf) return `the agent acts for \`${who}\`, who therefore cannot approve it`;
  if (approval.status !== 'pending') return `approval \`${approval.id}\` is already ${approval.status}`;
  if (Date.parse(approval.expiresAt) <= now.getTime()) return `approval \`${approval.id}\` expired at ${approval.expiresAt}`;
  if (approval.decisions.some((d) => d.approver === who)) return `\`${who}\` has already voted on approval \`${approval.id}\`; step-up needs a different person`;
  return null;
}

/** How often a vote is re-applied after losing a race to a concurrent vote before it gives up. */
const VOTE_ATTEMPTS = 5;

/**
 * Records one person's approve or reject. Exactly one outcome wins when votes race, and a
 * concurrent step-up vote by someone else is counted, never overwritten: the store's
 * compare-and-set covers the number of votes, and a vote that lost the race is re-checked
 * and re-applied on top of the winner's.
 */
export async function vote(
  deps: { store: Store; audit: AuditWriter; now: () => Date },
  id: ApprovalId,
  approver: Principal,
  decision: 'approve' | 'reject',
  reason: string | null,
): Promise<VoteOutcome> {
  for (let attempt = 1; ; attempt++) {
    const approval = await deps.store.getApproval(id);
    if (!approval) throw new AirlockError('not-found', `approval \`${id}\` does not exist`, { hint: 'list pending approvals with `airlock approvals`' });
    const run = await deps.store.getRun(approval.runId);
    const onBehalfOf = (run?.state as { onBehalfOf?: string | null } | undefined)?.onBehalfOf ?? null;
    const subject = { runId: approval.runId, principal: approver };
    const now = deps.now();
    const refusal = voteRefusal(approval, approver, onBehalfOf, now);
    if (refusal) {
      if (approval.status === 'pending' && Date.parse(approval.expiresAt) <= now.getTime()) {
        await deps.store.updateApproval(id, 'pending', { status: 'expired', decisions: approval.decisions });
      }
      await deps.audit.append(subject, [
        { type: 'approval.refused', body: { approvalId: id, actionHash: approval.actionHash, attempted: decision, reason: refusal } },
      ]);
      return { kind: 'refused', reason: refusal };
    }
    if (decision === 'reject' && !reason) {
      return { kind: 'refused', reason: 'a rejection needs a reason (it goes back to the agent)' };
    }
    const v: ApprovalVote = { approver: principalRef(approver), decision, reason, time: now.toISOString() };
    const decisions = [...approval.decisions, v];
    const approvals = decisions.filter((d) => d.decision === 'approve').length;
    const status = decision === 'reject' ? 'rejected' : approvals >= approvalsNeeded(approval.level) ? 'approved' : 'pending';
    // INVARIANT: compare-and-set on the status and the votes read, so a concurrent vote is never lost.
    const updated = await deps.store.updateApproval(id, { status: 'pending', votes: approval.decisions.length }, { status, decisions });
    if (!updated) {
      // Someone else voted first. Re-read: they may have decided it, or be this same person.
      if (attempt < VOTE_ATTEMPTS) continue;
      const now2 = await deps.store.getApproval(id);
      const reasonLost = `approval \`${id}\` kept changing under concurrent votes (now ${now2?.status ?? 'gone'}); vote again`;
      await deps.audit.append(subject, [
        { type: 'approval.refused', body: { approvalId: id, actionHash: approval.actionHash, attempted: decision, reason: reasonLost } },
      ]);
      return { kind: 'refused', reason: reasonLost };
    }
    await deps.audit.append(subject, [
      {
        type: 'approval.decided',
        body: {
          approvalId: id,
          actionHash: approval.actionHash,
          vote: decision,
          reason,
          status,
          votes: decisions.length,
          needed: approvalsNeeded(approval.level),
        },
      },
    ]);
    return { kind: 'recorded', approval: updated, decided: status !== 'pending' };
  }
}
