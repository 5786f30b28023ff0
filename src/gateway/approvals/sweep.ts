// Deadlines of pending approvals: an approval untouched past its escalation time is routed to the
// workflow's next owner; past its final deadline it expires and the step is denied. `airlock serve`
// sweeps on a timer; `airlock approvals sweep` does one pass (for cron). Any process may sweep:
// every change is a compare-and-set, so two sweepers never escalate or expire one approval twice.
import type { WorkflowConfig } from '../../config/schema.js';
import type { ApprovalRecord } from '../../store/store.js';
import type { ApprovalId } from '../../types.js';
import { approvalEventData } from './events.js';
import { expireApproval } from './lifecycle.js';
import { type ApprovalDeps } from './vote.js';
import { rec } from '../../audit/records.js';

/** The next routing of an approval due to escalate, or null when it is not due or nobody is left. Pure. */
export function escalationStep(
  a: Pick<ApprovalRecord, 'status' | 'escalations' | 'escalateAt' | 'expiresAt'>,
  wf: Pick<WorkflowConfig, 'owners' | 'approvals'>,
  now: Date,
): { readonly assignee: string; readonly escalations: number; readonly escalateAt: string | null } | null {
  if (a.status !== 'pending' || a.escalateAt === null || Date.parse(a.escalateAt) > now.getTime()) return null;
  const chain = wf.approvals.escalateTo.map((b) => wf.owners[b]).filter((o): o is string => typeof o === 'string');
  const next = a.escalations + 1;
  const assignee = chain[next];
  if (assignee === undefined) return null;
  const after = wf.approvals.escalateAfterMinutes;
  const later = after === undefined || next + 1 >= chain.length ? null : new Date(now.getTime() + after * 60_000);
  // Never schedule an escalation past the final deadline.
  const escalateAt = later && later.getTime() < Date.parse(a.expiresAt) ? later.toISOString() : null;
  return { assignee, escalations: next, escalateAt };
}

export interface SweepResult {
  readonly expired: readonly ApprovalId[];
  readonly escalated: readonly { readonly approvalId: ApprovalId; readonly to: string }[];
}

/**
 * One pass over pending approvals: expires those past their deadline (and hands each to `after`,
 * which moves its run on: orchestration/after-decision.ts), escalates those past their escalation time.
 */
export async function sweepApprovals(deps: ApprovalDeps & { readonly after?: (approval: ApprovalRecord) => Promise<unknown> }): Promise<SweepResult> {
  const now = deps.now();
  const expired: ApprovalId[] = [];
  const escalated: { approvalId: ApprovalId; to: string }[] = [];
  for (const a of await deps.store.listApprovals({ status: 'pending' })) {
    if (Date.parse(a.expiresAt) <= now.getTime()) {
      const gone = await expireApproval(deps, a);
      if (gone) {
        expired.push(a.id);
        // Airlock's own run waiting on it records the denial and goes on (the agent hears why);
        // an external agent's run hears it on its next call.
        await deps.after?.(gone);
      }
      continue;
    }
    const wf = deps.workspace.workflows.get(a.workflow);
    const step = wf ? escalationStep(a, wf, now) : null;
    if (!step) continue;
    // The escalation and its record land together, or neither does.
    const updated = await deps.audit.commitApproval(a.id, { status: 'pending', votes: a.decisions.length, escalations: a.escalations }, { status: 'pending', ...step }, { runId: a.runId, principal: null }, [
      rec('approval.escalated', { approvalId: a.id, actionHash: a.actionHash, from: a.assignee, to: step.assignee, escalations: step.escalations }),
    ]);
    if (!updated) continue; // decided or escalated by someone else meanwhile
    await deps.notify?.('approval.escalated', approvalEventData(updated));
    escalated.push({ approvalId: a.id, to: step.assignee });
  }
  return { expired, escalated };
}
