// Human decisions on pending approvals: who may decide (Cedar's `approve` action), step-up (two
// people, or one freshly re-authenticated), justifications, approver edits (overrides), expiry, and
// the audit of every attempt. The gateway creates approvals and consumes them; this decides them.
import { userInfo, hostname } from 'node:os';
import { AirlockError } from '../../errors.js';
import { APPROVAL_DEFAULTS, type ApprovalPolicy, type ToolContract, type Workspace } from '../../config/schema.js';
import type { ApprovalRecord, ApprovalVote, Store } from '../../store/store.js';
import type { ApprovalId, ApprovalLevel, Json, JsonObject, Labels, Principal, RunId, Tier } from '../../types.js';
import { RISKS } from '../../types.js';
import type { AuditWriter } from '../../audit/writer.js';
import { principalRef, type AuditItem } from '../../audit/writer.js';
import type { CompiledPolicies } from '../../policy/compile.js';
import { decideApprover, type ApproverAuth, type Eligibility } from '../../policy/approver.js';
import { hashJson } from '../../util/hash.js';
import type { Gateway } from '../gateway.js';

/** A person deciding, with how they proved it. */
export interface Approver {
  readonly principal: Principal;
  readonly auth: ApproverAuth;
}

/** Approval lifecycle events, as webhooks carry them. */
export type ApprovalEvent = 'approval.requested' | 'approval.decided' | 'approval.expired' | 'approval.escalated' | 'approval.withdrawn';

/** Queues a notification (webhooks); never throws for delivery problems. */
export type Notify = (event: ApprovalEvent, data: JsonObject) => Promise<void>;

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

/** Approvals a level needs from distinct eligible people. */
export function approvalsNeeded(level: ApprovalLevel): number {
  return level === 'step-up' ? 2 : 1;
}

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

/** The fields of an approval's summary that decisions read (the summary is what the approver saw). */
export interface SummaryView {
  readonly args: JsonObject;
  readonly workflow: string;
  readonly tier: Tier;
  readonly labels: Labels;
  readonly onBehalfOf: string | null;
  readonly step: number;
  readonly reasoning: string | null;
}

/** Reads the decision-relevant fields of a summary; a summary that lacks them is corrupt. */
export function summaryView(a: ApprovalRecord): SummaryView {
  const s = a.summary as { [k: string]: Json };
  const labels = s['labels'] as { classification?: string; trust?: string } | undefined;
  if (typeof s !== 'object' || s === null || typeof s['args'] !== 'object' || !labels || typeof s['tier'] !== 'string') {
    throw new AirlockError('store-corrupt', `approval \`${a.id}\` has an unreadable summary`, { hint: 'restore the store from a backup' });
  }
  const evidence = s['evidence'] as { reasoning?: Json } | undefined;
  return {
    args: s['args'] as JsonObject,
    workflow: typeof s['workflow'] === 'string' ? s['workflow'] : a.workflow,
    tier: s['tier'] as Tier,
    labels: labels as Labels,
    onBehalfOf: typeof s['onBehalfOf'] === 'string' ? s['onBehalfOf'] : null,
    step: typeof s['step'] === 'number' ? s['step'] : 0,
    reasoning: typeof evidence?.reasoning === 'string' ? evidence.reasoning : null,
  };
}

/** The hash of what an approver is shown: recorded with each vote. */
export function summaryHash(a: ApprovalRecord): string {
  return hashJson(a.summary);
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

/** Seconds since the approver authenticated, or null when the credential does not say. */
export function authAgeSeconds(auth: ApproverAuth, now: Date): number | null {
  if (auth.authTime === null) return null;
  const t = Date.parse(auth.authTime);
  return Number.isFinite(t) ? Math.max(0, (now.getTime() - t) / 1000) : null;
}

/**
 * Why this approval's state refuses any decision now (409), or null. Pure.
 */
export function stateRefusal(a: ApprovalRecord, now: Date): string | null {
  if (a.status === 'edited') return `approval \`${a.id}\` was replaced by an edited action (\`${a.supersededBy ?? '?'}\`); decide that one`;
  if (a.status !== 'pending') return `approval \`${a.id}\` is already ${a.status}`;
  if (Date.parse(a.expiresAt) <= now.getTime()) return `approval \`${a.id}\` expired at ${a.expiresAt}`;
  return null;
}

/** Whether approving `tool` needs a written justification under the workflow's approval policy. Pure. */
export function needsJustification(policy: ApprovalPolicy, tool: Pick<ToolContract, 'risk'> | undefined, level: ApprovalLevel): boolean {
  if (level !== 'single') return true;
  return tool !== undefined && RISKS.indexOf(tool.risk) >= RISKS.indexOf(policy.justifyFrom);
}

/**
 * Why this approver's credential does not satisfy a `reauth` obligation, or null if it does. Pure.
 * Only an identity provider's login counts (a JWT with `auth_time`), and it must be recent.
 */
export function reauthRefusal(policy: ApprovalPolicy, auth: ApproverAuth, now: Date): string | null {
  const maxSeconds = policy.reauthMaxAgeMinutes * 60;
  if (auth.method !== 'jwt' || auth.authTime === null) {
    return `this action needs step-up by re-authentication: sign in again with the identity provider and approve with that token (its \`auth_time\` must be under ${policy.reauthMaxAgeMinutes} minutes old); ${auth.method === 'jwt' ? 'the token carries no `auth_time`' : `a \`${auth.method}\` credential cannot re-authenticate`}`;
  }
  const age = authAgeSeconds(auth, now);
  if (age === null || age > maxSeconds) {
    return `this action needs a recent re-authentication: the login behind this token is ${age === null ? 'of unknown age' : `${Math.round(age / 60)} minutes old`}, at most ${policy.reauthMaxAgeMinutes} allowed; sign in again and retry`;
  }
  return null;
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
): Promise<VoteOutcome> {
  const who = principalRef(approver.principal);
  for (let attempt = 1; ; attempt++) {
    const approval = await deps.store.getApproval(id);
    if (!approval) throw new AirlockError('not-found', `approval \`${id}\` does not exist`, { hint: 'list pending approvals with `airlock approvals`' });
    const now = deps.now();
    const refused = async (status: 403 | 409 | 422, why: string, policyIds: readonly string[] = []): Promise<VoteOutcome> => {
      await deps.audit.append({ runId: approval.runId, principal: approver.principal }, [
        {
          type: 'approval.refused',
          body: { approvalId: id, actionHash: approval.actionHash, attempted: decision, reason: why, policyIds: [...policyIds], ...authBody(approver.auth) },
        },
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
      {
        type: 'approval.decided',
        body: {
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
        },
      },
    ];
    // A rejection is the human overriding the agent: counted with edits in the pilot's override rate.
    if (decision === 'reject') {
      items.push({ type: 'override.recorded', body: { kind: 'rejected', approvalId: id, proposedActionHash: approval.actionHash, by: who, reason: v.reason } });
    }
    // INVARIANT: write-ahead: the decision is on record before it takes effect, so a crash between the
    // two can leave a recorded vote that never landed (said so below when it loses a race), never a
    // decided approval nobody can trace.
    await deps.audit.append({ runId: approval.runId, principal: approver.principal }, items);
    // INVARIANT: compare-and-set on the status and the votes read, so a concurrent vote is never lost.
    const updated = await deps.store.updateApproval(id, { status: 'pending', votes: approval.decisions.length }, { status, decisions });
    if (!updated) {
      await deps.audit.append({ runId: approval.runId, principal: approver.principal }, [
        { type: 'approval.vote-lost', body: { approvalId: id, vote: decision, reason: 'another decision landed first; the vote is re-checked and re-applied' } },
      ]);
      if (attempt < VOTE_ATTEMPTS) continue; // someone else voted first: re-read and re-check
      const latest = await deps.store.getApproval(id);
      return refused(409, `approval \`${id}\` kept changing under concurrent votes (now ${latest?.status ?? 'gone'}); vote again`);
    }
    if (status !== 'pending') await deps.notify?.('approval.decided', approvalEventData(updated));
    return { kind: 'recorded', approval: updated, decided: status !== 'pending' };
  }
}

/**
 * Whether recorded votes meet an obligation (pure): `single` one approval; `step-up` two by
 * different people with different logins; `reauth` one whose identity-provider login was at most
 * `reauthMaxAgeMinutes` old when they voted. Used again at execution, when the obligation may have
 * changed since the approval was given.
 */
export function obligationMet(level: ApprovalLevel, votes: readonly ApprovalVote[], policy: Pick<ApprovalPolicy, 'reauthMaxAgeMinutes'>): boolean {
  const approves = votes.filter((v) => v.decision === 'approve');
  switch (level) {
    case 'single':
      return approves.length >= 1;
    case 'step-up': {
      const people = new Set(approves.map((v) => v.approver));
      const logins = new Set(approves.map((v) => `${v.issuer ?? '?'}\u0000${v.subject ?? '?'}`));
      return people.size >= 2 && logins.size >= 2;
    }
    case 'reauth':
      return approves.some((v) => {
        if (!v.authMethod?.startsWith('jwt') || v.authTime === null) return false;
        const age = (Date.parse(v.time) - Date.parse(v.authTime)) / 1000;
        return Number.isFinite(age) && age <= policy.reauthMaxAgeMinutes * 60;
      });
  }
}

/** A recorded authentication (a vote's, a grant's `grantorAuth`) as the approver policy saw it. */
export function recordedAuth(r: { readonly issuer?: Json; readonly subject?: Json; readonly authMethod?: Json; readonly authTime?: Json }): ApproverAuth {
  const [method, ...amr] = (typeof r.authMethod === 'string' ? r.authMethod : 'local').split('+');
  return {
    issuer: typeof r.issuer === 'string' ? r.issuer : 'unknown',
    subject: typeof r.subject === 'string' ? r.subject : 'unknown',
    method: method === 'jwt' || method === 'api-key' ? method : 'local',
    amr,
    authTime: typeof r.authTime === 'string' ? r.authTime : null,
  };
}

/** The audit fields naming how a person authenticated (never the credential itself). */
export function authBody(auth: ApproverAuth): JsonObject {
  return { issuer: auth.issuer, subject: auth.subject, authMethod: [auth.method, ...auth.amr].join('+'), authTime: auth.authTime };
}

/**
 * Marks a pending approval expired (compare-and-set), audits it and notifies. Returns false if it
 * was no longer pending (decided or expired meanwhile by another process).
 */
export async function expireApproval(deps: Pick<ApprovalDeps, 'store' | 'audit' | 'notify'>, a: ApprovalRecord): Promise<boolean> {
  const updated = await deps.store.updateApproval(a.id, 'pending', { status: 'expired', escalateAt: null });
  if (!updated) return false;
  await deps.audit.append({ runId: a.runId, principal: null }, [
    { type: 'approval.expired', body: { approvalId: a.id, actionHash: a.actionHash, expiresAt: a.expiresAt, votes: a.decisions.length } },
  ]);
  await deps.notify?.('approval.expired', approvalEventData(updated));
  return true;
}

/**
 * Withdraws the approvals of run `runId` that nobody will use any more because the run ended first
 * (its session closed, its process died): pending ones (people are no longer asked) and approved
 * ones not yet used. Each is a compare-and-set, audited `approval.withdrawn` with the reason and
 * announced to webhooks. Returns the ids withdrawn.
 */
export async function withdrawApprovals(deps: Pick<ApprovalDeps, 'store' | 'audit' | 'notify'>, runId: RunId, reason: string): Promise<ApprovalId[]> {
  const out: ApprovalId[] = [];
  for (const a of await deps.store.listApprovals({ runId })) {
    if (a.status !== 'pending' && a.status !== 'approved') continue;
    const updated = await deps.store.updateApproval(a.id, a.status, { status: 'withdrawn', escalateAt: null });
    if (!updated) continue;
    await deps.audit.append({ runId, principal: null }, [
      { type: 'approval.withdrawn', body: { approvalId: a.id, actionHash: a.actionHash, was: a.status, votes: a.decisions.length, reason } },
    ]);
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

/** What a webhook says about an approval: ids, tool, state, routing; never the arguments (fetch them, authenticated). */
export function approvalEventData(a: ApprovalRecord): JsonObject {
  return {
    approvalId: a.id,
    runId: a.runId,
    workflow: a.workflow,
    tool: a.tool,
    level: a.level,
    status: a.status,
    requester: a.requester,
    assignee: a.assignee,
    escalations: a.escalations,
    expiresAt: a.expiresAt,
    summaryHash: summaryHash(a),
    votes: a.decisions.map((d) => ({ approver: d.approver, decision: d.decision, time: d.time })),
    ...(a.supersededBy ? { supersededBy: a.supersededBy } : {}),
    ...(a.editedFrom ? { editedFrom: a.editedFrom } : {}),
  };
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
  readonly gateway: Pick<Gateway, 'reviseAction'>;
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
      { type: 'approval.refused', body: { approvalId: id, actionHash: approval.actionHash, attempted: 'edit', reason: why, policyIds: [...policyIds], ...authBody(approver.auth) } },
    ]);
    return { kind: 'refused', reason: why, status, policyIds };
  };
  const eligible = eligibility(deps, approval, approver, now);
  if (!eligible.allowed) return refused(403, eligible.reasons.join('; '), eligible.policyIds);
  const stateWhy = stateRefusal(approval, now);
  if (stateWhy) return refused(409, stateWhy);
  if (!reason?.trim()) return refused(422, 'an edit overrides the agent: say why with --reason');
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
  const replaced = await deps.store.updateApproval(
    id,
    { status: 'pending', votes: approval.decisions.length },
    { status: 'edited', supersededBy: made.approval.id, escalateAt: null },
  );
  if (!replaced) {
    await expireApproval(deps, made.approval);
    return refused(409, `approval \`${id}\` changed while it was being edited; look at it again`);
  }
  const changed = Object.keys({ ...s.args, ...args }).filter((k) => JSON.stringify(s.args[k]) !== JSON.stringify(args[k])).sort();
  await deps.audit.append({ runId: approval.runId, principal: approver.principal }, [
    {
      type: 'override.recorded',
      body: {
        kind: 'edited',
        approvalId: id,
        revisedApprovalId: made.approval.id,
        proposedActionHash: approval.actionHash,
        chosenActionHash: made.approval.actionHash,
        changedFields: changed,
        by: principalRef(approver.principal),
        reason: reason.trim(),
        ...authBody(approver.auth),
      },
    },
  ]);
  await deps.notify?.('approval.decided', approvalEventData(replaced));
  // INVARIANT: whoever wrote the arguments cannot also approve them: another eligible person decides the edit.
  return { kind: 'revised', original: replaced, revised: made.approval };
}

/** How many edits deep an approval is (0: what the agent proposed). */
async function editDepth(store: Store, a: ApprovalRecord): Promise<number> {
  let depth = 0;
  for (let cur: ApprovalRecord | null = a; cur?.editedFrom && depth < MAX_EDITS; depth++) cur = await store.getApproval(cur.editedFrom);
  return depth;
}

/** Edits of one proposal, at most: past that, rejecting it and letting the agent propose again is clearer. */
const MAX_EDITS = 5;
