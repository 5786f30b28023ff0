// Using an approval, once: the approved action as it is executed now must be the one approved (same
// hash, same run), still approved and in time, still allowed by today's policy, still covered by
// votes of people who may still approve it, and the second path must not have turned against it.
// Then it is consumed (written ahead, compare-and-set) and the call may go ahead.
import type { ToolContract } from '../../config/schema.js';
import type { ApprovalRecord, ApprovalVote } from '../../store/store.js';
import type { ApprovalId, Decision, JsonObject, Sha256Hex } from '../../types.js';
import { principalRef, resolvePrincipal } from '../../identity/principal.js';
import type { CompiledPolicies } from '../../policy/compile.js';
import { decideApprover } from '../../policy/approver.js';
import type { Workspace } from '../../config/schema.js';
import { rec, type NotExecutedReason, type TypedItem } from '../../audit/records.js';
import { decisionRecord, idempotencyKey, notExecuted } from '../action.js';
import { runSecondPath, type VerifyDeps } from '../verify.js';
import type { CallContext, GatewayDeps } from '../types.js';
import { expireApproval } from './lifecycle.js';
import { obligationMet, recordedAuth } from './rules.js';

/** What consuming needs. */
export type ConsumeDeps = Pick<GatewayDeps, 'store' | 'audit' | 'now' | 'notify' | 'policies' | 'workspace'> & VerifyDeps;

/** Consumed (the call may go ahead under `decision`), or refused with the reason (already audited). */
export type Consumption =
  | { readonly ok: true; readonly decision: Decision }
  | { readonly ok: false; readonly refusal: { readonly reasons: readonly string[]; readonly policyIds: readonly string[]; readonly actionHash: Sha256Hex | null } };

/**
 * Checks approval `approvalId` against the action about to run (`hash` of `contract` with `args`),
 * re-decides it with today's policy (`decide`), and consumes it. Every refusal is audited as
 * `action.not-executed` with its reason.
 */
export async function consumeApproval(
  deps: ConsumeDeps,
  ctx: CallContext,
  action: { readonly contract: ToolContract; readonly args: JsonObject; readonly hash: Sha256Hex; readonly tool: string },
  approvalId: ApprovalId,
  decide: () => Decision,
): Promise<Consumption> {
  const { audit, store } = deps;
  const { contract, args, hash } = action;
  const refuse = async (why: NotExecutedReason, reason: string | readonly string[], records: readonly TypedItem[] = [], about: { actionHash?: Sha256Hex; policyIds?: readonly string[] } = {}): Promise<Consumption> => {
    const reasons = typeof reason === 'string' ? [reason] : [...reason];
    await audit.append(ctx, [...records, notExecuted(why, reasons, { tool: action.tool, ...(about.actionHash ? { actionHash: about.actionHash } : {}), approvalId })]);
    return { ok: false, refusal: { reasons, policyIds: about.policyIds ?? [], actionHash: about.actionHash ?? null } };
  };
  const approval = await store.getApproval(approvalId);
  if (!approval) return refuse('approval-missing', `approval \`${approvalId}\` does not exist`);
  if (approval.actionHash !== hash || approval.runId !== ctx.runId) {
    return refuse('approval-mismatch', `approval \`${approvalId}\` was given for a different action; the action changed, so it needs a new approval`);
  }
  if (approval.status !== 'approved') return refuse('approval-not-approved', `approval \`${approvalId}\` is ${approval.status}, not approved`);
  if (Date.parse(approval.expiresAt) <= deps.now().getTime()) {
    await expireApproval(deps, approval, { from: 'approved', unused: true, subject: ctx });
    return refuse('approval-expired', `approval \`${approvalId}\` expired at ${approval.expiresAt}`);
  }
  // No time-of-check to time-of-use gap: the policy or the facts may have changed since approval.
  const decision = decide();
  const recheck = decisionRecord(contract.name, hash, decision, { approvalId, recheck: true });
  if (decision.kind === 'deny' || decision.kind === 'suggest') {
    return refuse('denied-at-execution', decision.basis.reasons, [recheck], { actionHash: hash, policyIds: decision.basis.policyIds });
  }
  // The approvers must still be eligible (roles and `approve` policies may have changed since they
  // voted), and their votes must meet the obligation the action has now, which may differ.
  const needed = decision.kind === 'approval' ? decision.level : approval.level;
  const approves = approval.decisions.filter((v) => v.decision === 'approve');
  const standing = approves.filter((v) => stillEligible(deps, ctx, contract, args, approval, v));
  if (!obligationMet(needed, standing, ctx.workflow.approvals)) {
    const why =
      standing.length < approves.length
        ? `an approver of \`${approvalId}\` is no longer eligible to approve \`${contract.name}\`; it needs a new approval`
        : `the action now needs \`${needed}\` approval; the votes on \`${approvalId}\` (\`${approval.level}\`) do not meet it`;
    return refuse('approval-insufficient', why, [recheck], { actionHash: hash, policyIds: decision.basis.policyIds });
  }
  // The second path runs again at execution: it may disagree now although it agreed when people approved.
  const second = await runSecondPath(deps, ctx, contract, args, hash);
  const seen = (approval.summary as { secondPath?: { status?: unknown } }).secondPath?.status;
  if (second && second.status !== 'passed' && seen !== 'failed' && seen !== 'error') {
    const why = `the second path disagrees at execution (${second.message}), and the approvers did not see a disagreement: a person must look again; propose it again for a new approval`;
    // The approval is void: proposing the same action again asks people afresh, showing the disagreement.
    const records = [recheck, notExecuted('second-path-disagreed', [why], { tool: contract.name, actionHash: hash, approvalId })];
    await expireApproval(deps, approval, { from: 'approved', voided: 'second-path-disagreed', before: records, subject: ctx });
    return { ok: false, refusal: { reasons: [why], policyIds: decision.basis.policyIds, actionHash: hash } };
  }
  // INVARIANT: an approval is single-use; compare-and-set makes concurrent executions race to one winner.
  // Write-ahead: the consumption is on record before it takes effect (a loser's refusal follows it).
  const consumedAt = deps.now().toISOString();
  await audit.append(ctx, [
    recheck,
    rec('approval.consumed', {
      approvalId,
      actionHash: hash,
      tool: contract.name,
      step: ctx.step,
      consumedAt,
      ...(contract.idempotencyKey ? { idempotencyKey: idempotencyKey(ctx.runId, ctx.step, hash) } : {}),
    }),
  ]);
  const consumed = await store.updateApproval(approvalId, 'approved', { status: 'consumed', consumedAt });
  if (!consumed) return refuse('approval-used', `approval \`${approvalId}\` was already used (the consumption above did not take effect)`);
  return { ok: true, decision };
}

/** Whether the person behind a recorded vote may still approve this action, as they authenticated then. */
function stillEligible(
  deps: { readonly workspace: Workspace; readonly policies: CompiledPolicies },
  ctx: CallContext,
  contract: ToolContract,
  args: JsonObject,
  approval: ApprovalRecord,
  v: ApprovalVote,
): boolean {
  const declared = resolvePrincipal(deps.workspace.file.identity.principals, v.approver);
  if (!declared.ok) return false;
  const auth = recordedAuth(v);
  const age = auth.authTime === null ? null : Math.max(0, (Date.parse(v.time) - Date.parse(auth.authTime)) / 1000);
  return decideApprover(deps.policies, {
    approver: declared.principal,
    auth,
    authAgeSeconds: Number.isFinite(age) ? age : null,
    tool: contract,
    workflow: ctx.workflow.name,
    tier: ctx.workflow.tier,
    args,
    labels: ctx.labels,
    requester: approval.requester,
    onBehalfOf: ctx.onBehalfOf ? principalRef(ctx.onBehalfOf) : null,
    editedBy: approval.editedBy,
    level: approval.level,
  }).allowed;
}
