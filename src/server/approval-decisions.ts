// People deciding approvals, the one code path of the JSON API and the web console: who may see an
// approval, the vote or the edit, and what becomes of the run afterwards.
import type { Airlock } from '../airlock.js';
import { principalRef } from '../identity/principal.js';
import { summaryView } from '../gateway/approvals/rules.js';
import { editApproval, eligibility, vote, type Approver } from '../gateway/approvals/vote.js';
import { beforeDecision, type RunFate } from '../orchestration/after-decision.js';
import type { ApprovalRecord } from '../store/store.js';
import type { ApprovalId, JsonObject, Principal } from '../types.js';

/** Who looks at an approval: the authenticated principal, the person an agent acts for, and how they proved it. */
export interface Viewer {
  readonly principal: Principal;
  readonly onBehalfOf?: Principal | undefined;
  readonly approver: Approver;
}

/**
 * Who may read an approval (its arguments and evidence): people eligible to decide it, people who took
 * part (voted or edited), and the requesting agent in its own run. Evidence may hold confidential data.
 */
export function mayViewApproval(airlock: Pick<Airlock, 'approvalDeps' | 'now'>, a: ApprovalRecord, viewer: Viewer): boolean {
  const who = principalRef(viewer.principal);
  if (viewer.principal.kind !== 'user') return a.requester === who && (viewer.onBehalfOf ? principalRef(viewer.onBehalfOf) : null) === (summaryView(a).onBehalfOf ?? null);
  if (a.editedBy === who || a.decisions.some((d) => d.approver === who)) return true;
  return eligibility(airlock.approvalDeps, a, viewer.approver, airlock.now()).allowed;
}

/** What came of a person's decision. */
export type DecisionResult =
  | { readonly kind: 'refused'; readonly reason: string; readonly status: 403 | 409 | 422 }
  /** The person wrote new arguments: a new pending approval another eligible person decides. */
  | { readonly kind: 'revised'; readonly original: ApprovalRecord; readonly revised: ApprovalRecord }
  /** The vote counted; `fate` says what became of the run (orchestration/after-decision.ts). */
  | { readonly kind: 'voted'; readonly approval: ApprovalRecord; readonly decided: boolean; readonly fate: RunFate };

/**
 * Approves, rejects or edits approval `id` as `approver`: `vote()` / `editApproval()` check
 * eligibility and audit every refused attempt; a counted vote moves the run on through
 * `airlock.afterDecision`, and the webhooks due are delivered.
 */
export async function decideApproval(
  airlock: Airlock,
  id: ApprovalId,
  approver: Approver,
  decision: 'approve' | 'reject',
  reason: string | null,
  edit?: JsonObject,
  /** What the person was shown (a Slack message, a mailed link): a vote on anything else is refused. */
  shown: { readonly summaryHash?: string } = {},
): Promise<DecisionResult> {
  if (edit) {
    const revised = await editApproval(airlock.approvalDeps, id, approver, edit, reason);
    if (revised.kind === 'refused') return { kind: 'refused', reason: revised.reason, status: revised.status };
    void airlock.notifier.deliverDue().catch(() => undefined);
    return { kind: 'revised', original: revised.original, revised: revised.revised };
  }
  // The run is due in the store before the vote counts: should this instance die before it goes on, another takes it.
  await beforeDecision({ store: airlock.store, wake: (runId) => airlock.runner.wake(runId) }, id);
  const outcome = await vote(airlock.approvalDeps, id, approver, decision, reason, shown);
  if (outcome.kind === 'refused') return { kind: 'refused', reason: outcome.reason, status: outcome.status };
  let approval = outcome.approval;
  // What becomes of the run is decided in one place (orchestration/after-decision.ts).
  const fate = await airlock.afterDecision(approval, outcome.decided);
  if (fate.kind === 'resumed') approval = (await airlock.store.getApproval(approval.id)) ?? approval; // the resumed run may have consumed it
  void airlock.notifier.deliverDue().catch(() => undefined);
  return { kind: 'voted', approval, decided: outcome.decided, fate };
}
