// People deciding pending approvals: who may (Cedar's `approve` action), votes and step-up (two
// people, or one freshly re-authenticated), justifications, approver edits (overrides), and the
// audit of every attempt. The gateway creates approvals and consumes them; this decides them.
import { userInfo, hostname } from 'node:os';
import { AirlockError } from '../../errors.js';
import { APPROVAL_DEFAULTS, type ApprovalPolicy, type Workspace } from '../../config/schema.js';
import type { ApprovalRecord, ApprovalVote, HaltRecord, Store } from '../../store/store.js';
import type { ApprovalId, JsonObject, Principal } from '../../types.js';
import type { AuditWriter } from '../../audit/writer.js';
import { principalRef, type AuditItem } from '../../audit/writer.js';
import type { CompiledPolicies } from '../../policy/compile.js';
import { decideApprover, type ApproverAuth, type Eligibility } from '../../policy/approver.js';
import type { Reviser } from '../types.js';
import { approvalEventData, type Notify } from './events.js';
import { expireApproval } from './lifecycle.js';
import { approvalsNeeded, authAgeSeconds, authBody, needsJustification, reauthRefusal, stateRefusal, summaryHash, summaryView } from './rules.js';
import { rec } from '../../audit/records.js';
import { haltedReason, haltOn } from '../halts.js';

/** A person deciding, with how they proved it. */
export interface Approver {
  readonly principal: Principal;
  readonly auth: ApproverAuth;
}

export interface ApprovalDeps {
  readonly store: Store;
  readonly audit: AuditWriter;
  readonly now: () => Date;
  readonly policies: CompiledPolicies;
  readonly workspace: Workspace;
  readonly notify?: Notify | undefined;
}

/**
 * What came of a decision attempt. Refusals are values, audited like everything else; `status` is
 * how the HTTP API answers: 403 not eligible, 409 the approval's state, 422 something missing.
 */
export type VoteOutcome =
  | { readonly kind: 'recorded'; readonly approval: ApprovalRecord; readonly decided: boolean }
  | { readonly kind: 'refused'; readonly reason: string; readonly status: 403 | 409 | 422; readonly policyIds: readonly string[] };

/** The CLI's approver: the declared person named with `--as`, vouched for by the local OS account. */
export function localApprover(principal: Principal): Approver {
  let subject: string;
  try {
    subject = userInfo().username;
  } catch {
    subject = 'unknown';
  }
  return { principal, auth: { issuer: `local:${hostname()}`, subject, method: 'local', amr: [], authTime: null } };
}

/** The approval policy of the approval's workflow (the defaults when the workflow is gone). */
function approvalPolicy(deps: ApprovalDeps, a: ApprovalRecord): ApprovalPolicy {
  return deps.workspace.workflows.get(summaryView(a).workflow)?.approvals ?? APPROVAL_DEFAULTS;
}

/** Whether `approver` may decide this approval now: eligibility by policy, with the policy ids. Pure given its inputs. */
export function eligibility(deps: Pick<ApprovalDeps, 'policies' | 'workspace'>, a: ApprovalRecord, approver: Approver, now: Date): Eligibility {
  const tool = deps.workspace.tools.get(a.tool);
  if (!tool) return { allowed: false, policyIds: [], reasons: [`tool \`${a.tool}\` is no longer declared in the workspace`] };
  const s = summaryView(a);
  return decideApprover(deps.policies, {
    approver: approver.principal,
    auth: approver.auth,
    authAgeSeconds: authAgeSeconds(approver.auth, now),
    tool,
    workflow: s.workflow,
    tier: s.tier,
    args: s.args,
    labels: s.labels,
    requester: a.requester,
    onBehalfOf: s.onBehalfOf,
    editedBy: a.editedBy,
    level: a.level,
  });
}

/** How often a vote is re-applied after losing a race to a concurrent vote before it gives up. */
const VOTE_ATTEMPTS = 5;

/**
 * Records one person's approve or reject. Eligibility is policy (Cedar's `approve` action) behind
 * fixed rules; high-risk and step-up approvals need a justification; a `reauth` approval needs a
 * fresh login. Exactly one outcome wins when votes race, and a concurrent step-up vote by someone
 * else is counted, never overwritten (compare-and-set on the status and the number of votes).
 */
export async function vote(
  deps: ApprovalDeps,
  id: ApprovalId,
  approver: Approver,
  decision: 'approve' | 'reject',
  reason: string | null,
  /** What the voter was shown (a Slack button, a signed link): a vote on anything else is refused. */
  shown: { readonly summaryHash?: string } = {},
): Promise<VoteOutcome> {
  const who = principalRef(approver.principal);
  for (let attempt = 1; ; attempt++) {
    const approval = await deps.store.getApproval(id);
    if (!approval) throw new AirlockError('not-found', `approval \`${id}\` does not exist`, { hint: 'list pending approvals with `airlock approvals`' });
    const now = deps.now();
    const refused = async (status: 403 | 409 | 422, why: string, policyIds: readonly string[] = []): Promise<VoteOutcome> => {
      await deps.audit.append({ runId: approval.runId, principal: approver.principal }, [
        rec('approval.refused', { approvalId: id, actionHash: approval.actionHash, attempted: decision, reason: why, policyIds: [...policyIds], ...authBody(approver.auth) }),
      ]);
      return { kind: 'refused', reason: why, status, policyIds };
    };
    // A person who may never decide hears that first, whatever the approval's state.
    const eligible = eligibility(deps, approval, approver, now);
    if (!eligible.allowed) return refused(403, eligible.reasons.join('; '), eligible.policyIds);
    const stateWhy = stateRefusal(approval, now);
    if (stateWhy) {
      if (approval.status === 'pending') await expireApproval(deps, approval);
      return refused(409, stateWhy);
    }
    // While its scope is halted an approval is not approved (it stays pending for after); saying no is always possible.
    const halt = decision === 'approve' ? await haltOf(deps, approval) : null;
    if (halt) return refused(409, haltedReason(halt));
    // INVARIANT: a vote is for the action the voter saw; one edited or replaced since is not it.
    if (shown.summaryHash !== undefined && shown.summaryHash !== summaryHash(approval)) {
      return refused(409, `approval \`${id}\` is not the action you were shown (its summary changed since): open it again and decide what it is now`);
    }
    if (approval.decisions.some((d) => d.approver === who)) {
      return refused(403, `\`${who}\` has already voted on approval \`${id}\`; step-up needs a different person`);
    }
    // Four eyes means two logins: one account naming two people (`--as dana`, then `--as priya`) is one person.
    const sameLogin = approval.decisions.find((d) => d.decision === 'approve' && d.issuer === approver.auth.issuer && d.subject === approver.auth.subject);
    if (decision === 'approve' && sameLogin) {
      return refused(
        403,
        `the login that approved as \`${sameLogin.approver}\` (${approver.auth.issuer} / ${approver.auth.subject}) cannot approve again as \`${who}\`: four eyes need two different logins; the second approver uses their own credential (\`airlock approve ${id} --key <their API key>\`, or the HTTP API)`,
      );
    }
    const policy = approvalPolicy(deps, approval);
    if (decision === 'reject' && !reason?.trim()) return refused(422, 'a rejection needs a reason (it goes back to the agent)');
    if (decision === 'approve' && !reason?.trim() && needsJustification(policy, deps.workspace.tools.get(approval.tool), approval.level)) {
      return refused(422, `approving \`${approval.tool}\` (${approval.level === 'single' ? 'high risk' : approval.level}) needs a written justification: say why with --reason`);
    }
    if (decision === 'approve' && approval.level === 'reauth') {
      const why = reauthRefusal(policy, approver.auth, now);
      if (why) return refused(403, why);
    }
    const v: ApprovalVote = {
      approver: who,
      decision,
      reason: reason?.trim() || null,
      time: now.toISOString(),
      issuer: approver.auth.issuer,
      subject: approver.auth.subject,
      authMethod: [approver.auth.method, ...approver.auth.amr].join('+'),
      authTime: approver.auth.authTime,
      summaryHash: summaryHash(approval),
    };
    const decisions = [...approval.decisions, v];
    const approvals = decisions.filter((d) => d.decision === 'approve').length;
    const status = decision === 'reject' ? 'rejected' : approvals >= approvalsNeeded(approval.level) ? 'approved' : 'pending';
    const items: AuditItem[] = [
      rec('approval.decided', {
          approvalId: id,
          actionHash: approval.actionHash,
          vote: decision,
          reason: v.reason,
          status,
          votes: decisions.length,
          needed: approvalsNeeded(approval.level),
          policyIds: [...eligible.policyIds],
          summaryHash: v.summaryHash,
          decisionSeconds: Math.max(0, (now.getTime() - Date.parse(approval.createdAt)) / 1000),
          ...authBody(approver.auth),
        }),
    ];
    // A rejection is the human overriding the agent: counted with edits in the pilot's override rate.
    if (decision === 'reject') {
      items.push(rec('override.recorded', { kind: 'rejected', approvalId: id, proposedActionHash: approval.actionHash, by: who, reason: v.reason }));
    }
    // INVARIANT: the vote and its record land in one transaction, or neither does: no decided approval
    // nobody can trace, and no recorded vote that never counted. Compare-and-set on the status and
    // the votes read, so a concurrent vote is never lost.
    const updated = await deps.audit.commitApproval(id, { status: 'pending', votes: approval.decisions.length }, { status, decisions }, { runId: approval.runId, principal: approver.principal }, items);
    if (!updated) {
      if (attempt < VOTE_ATTEMPTS) continue; // someone else voted first: re-read and re-check
      const latest = await deps.store.getApproval(id);
      return refused(409, `approval \`${id}\` kept changing under concurrent votes (now ${latest?.status ?? 'gone'}); vote again`);
    }
    if (status !== 'pending') await deps.notify?.('approval.decided', approvalEventData(updated));
    return { kind: 'recorded', approval: updated, decided: status !== 'pending' };
  }
}

/** What came of an approver's edit. */
export type ReviseOutcome =
  | { readonly kind: 'refused'; readonly reason: string; readonly status: 403 | 409 | 422; readonly policyIds: readonly string[] }
  | {
      readonly kind: 'revised';
      /** The approval of what the agent proposed, now `edited`. */
      readonly original: ApprovalRecord;
      /** The approval of what the approver chose: pending, for another eligible person to decide. */
      readonly revised: ApprovalRecord;
    };

/** The slice of the gateway an edit needs (type-only, so orchestration does not depend on tools at load). */
export interface ReviseDeps extends ApprovalDeps {
  readonly gateway: Reviser;
  readonly principal: (ref: string) => Principal;
}

/**
 * An approver changes the arguments instead of approving them as proposed. The edited call is a
 * new action (new hash, new policy decision, which may escalate or deny) with its own approval; the
 * original becomes `edited` and an override record links what the agent proposed to what the human
 * chose. The editor wrote these arguments, so like a requester they cannot approve them: another
 * eligible person decides the edited action (four eyes on every human-authored action).
 */
export async function editApproval(
  deps: ReviseDeps,
  id: ApprovalId,
  approver: Approver,
  args: JsonObject,
  reason: string | null,
): Promise<ReviseOutcome> {
  const approval = await deps.store.getApproval(id);
  if (!approval) throw new AirlockError('not-found', `approval \`${id}\` does not exist`, { hint: 'list pending approvals with `airlock approvals`' });
  const now = deps.now();
  const refused = async (status: 403 | 409 | 422, why: string, policyIds: readonly string[] = []): Promise<ReviseOutcome> => {
    await deps.audit.append({ runId: approval.runId, principal: approver.principal }, [
      rec('approval.refused', { approvalId: id, actionHash: approval.actionHash, attempted: 'edit', reason: why, policyIds: [...policyIds], ...authBody(approver.auth) }),
    ]);
    return { kind: 'refused', reason: why, status, policyIds };
  };
  const eligible = eligibility(deps, approval, approver, now);
  if (!eligible.allowed) return refused(403, eligible.reasons.join('; '), eligible.policyIds);
  const stateWhy = stateRefusal(approval, now);
  if (stateWhy) return refused(409, stateWhy);
  if (!reason?.trim()) return refused(422, 'an edit overrides the agent: say why with --reason');
  // An edit proposes a new action: not while the scope is halted.
  const halt = await haltOf(deps, approval);
  if (halt) return refused(409, haltedReason(halt));
  const s = summaryView(approval);
  const workflow = deps.workspace.workflows.get(s.workflow);
  if (!workflow) return refused(409, `workflow \`${s.workflow}\` is no longer declared`);
  const ctx = {
    runId: approval.runId,
    workflow,
    principal: deps.principal(approval.requester),
    onBehalfOf: s.onBehalfOf ? deps.principal(s.onBehalfOf) : undefined,
    labels: s.labels,
    step: s.step,
  };
  const chainDepth = await editDepth(deps.store, approval);
  if (chainDepth >= MAX_EDITS) return refused(409, `approval \`${id}\` was already edited ${chainDepth} times; reject it and let the agent propose again`);
  const made = await deps.gateway.reviseAction(approval, args, ctx, { by: principalRef(approver.principal), reason: reason.trim() });
  if (made.kind === 'invalid') return refused(422, `the edited arguments are invalid: ${made.errors.join('; ')}`);
  if (made.kind === 'denied') return refused(403, `policy denies the edited action: ${made.reasons.join('; ')}`);
  // INVARIANT: the original can be replaced only while nobody decided it (compare-and-set on status and votes).
  // The replacement and the override record land together, or neither does.
  const changed = Object.keys({ ...s.args, ...args }).filter((k) => JSON.stringify(s.args[k]) !== JSON.stringify(args[k])).sort();
  const replaced = await deps.audit.commitApproval(id, { status: 'pending', votes: approval.decisions.length }, { status: 'edited', supersededBy: made.approval.id, escalateAt: null }, { runId: approval.runId, principal: approver.principal }, [
    rec('override.recorded', {
        kind: 'edited',
        approvalId: id,
        revisedApprovalId: made.approval.id,
        proposedActionHash: approval.actionHash,
        chosenActionHash: made.approval.actionHash,
        changedFields: changed,
        by: principalRef(approver.principal),
        reason: reason.trim(),
        ...authBody(approver.auth),
      }),
  ]);
  if (!replaced) {
    await expireApproval(deps, made.approval);
    return refused(409, `approval \`${id}\` changed while it was being edited; look at it again`);
  }
  await deps.notify?.('approval.decided', approvalEventData(replaced));
  // INVARIANT: whoever wrote the arguments cannot also approve them: another eligible person decides the edit.
  return { kind: 'revised', original: replaced, revised: made.approval };
}

/** The active halt on an approval's scopes (its workflow, the agent that asked, the person it acts for, the tool's connector), or null. */
function haltOf(deps: ApprovalDeps, a: ApprovalRecord): Promise<HaltRecord | null> {
  const s = summaryView(a);
  return haltOn(deps.store, { workflow: s.workflow, principal: a.requester, onBehalfOf: s.onBehalfOf, connector: deps.workspace.tools.get(a.tool)?.connector });
}

/** How many edits deep an approval is (0: what the agent proposed). */
async function editDepth(store: Store, a: ApprovalRecord): Promise<number> {
  let depth = 0;
  for (let cur: ApprovalRecord | null = a; cur?.editedFrom && depth < MAX_EDITS; depth++) cur = await store.getApproval(cur.editedFrom);
  return depth;
}

/** Edits of one proposal, at most: past that, rejecting it and letting the agent propose again is clearer. */
const MAX_EDITS = 5;
