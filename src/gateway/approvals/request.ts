// Asking people: an action whose decision needs an approval becomes a pending approval bound to its
// hash, with the evidence approvers see (and the second path's verdict for a high-risk step),
// routed to the workflow's first owner for approvals. Finding the approval that stands for an action.
import type { ToolContract } from '../../config/schema.js';
import type { AuditItem } from '../../audit/writer.js';
import { rec } from '../../audit/records.js';
import type { ApprovalRecord, Store } from '../../store/store.js';
import type { ApprovalId, Decision, Json, JsonObject, RunId, Sha256Hex } from '../../types.js';
import { hashJson } from '../../util/hash.js';
import { recordableJson } from '../../util/json.js';
import { principalRef } from '../../identity/principal.js';
import { labelsBody, provenanceFor } from '../action.js';
import { runSecondPath, secondPathApplies, type VerifyDeps } from '../verify.js';
import type { CallContext, GatewayDeps } from '../types.js';
import { approvalEventData } from './events.js';
import { traceparentOf } from '../../telemetry/spans.js';

/** What asking needs: the gateway's deps and a probe reader for the second path. */
export type RequestDeps = Pick<GatewayDeps, 'store' | 'audit' | 'now' | 'newApprovalId' | 'evidence' | 'notify'> & VerifyDeps;

/** An approval request: the action, the decision that asks for people, and what goes with it. */
export interface ApprovalAsk {
  readonly contract: ToolContract;
  readonly args: JsonObject;
  readonly hash: Sha256Hex;
  readonly decision: Extract<Decision, { kind: 'approval' }>;
  /** Records of this action not yet appended (intent, decision): written ahead of the request. */
  readonly before: readonly AuditItem[];
  /** The agent's reasoning (or, for an edit, who edited and why). */
  readonly reasoning: string | null;
  /** When an approver's edit made this action: the approval it replaces and who edited. */
  readonly edit?: { readonly from: ApprovalRecord; readonly by: string } | null;
}

/**
 * Creates a pending approval for the action. INVARIANT: the intent, the decision and the
 * `approval.requested` record are durable before the approval exists. Returns its id.
 */
export async function requestApproval(deps: RequestDeps, ctx: CallContext, ask: ApprovalAsk): Promise<ApprovalId> {
  const { contract, args, hash, decision, edit } = ask;
  const provenance = provenanceFor(ctx, contract, args);
  const now = deps.now();
  const id = deps.newApprovalId();
  const policy = ctx.workflow.approvals;
  const expiresAt = new Date(now.getTime() + policy.ttlMinutes * 60_000).toISOString();
  // Validation came first (schema, drift, policy): nobody is asked to approve a call that would fail anyway.
  const evidence = deps.evidence
    ? await deps.evidence({ runId: ctx.runId, contract, args, reasoning: ask.reasoning })
    : { args, reasoning: ask.reasoning?.slice(0, 1000) ?? null, citations: [], diff: null };
  const summary: Record<string, Json> = {
    tool: contract.name,
    description: contract.description,
    effect: contract.effect,
    risk: contract.risk,
    irreversible: contract.irreversible,
    args,
    workflow: ctx.workflow.name,
    tier: ctx.workflow.tier,
    step: ctx.step,
    requester: principalRef(ctx.principal),
    labels: labelsBody(ctx.labels),
    reasons: [...decision.basis.reasons],
    policyIds: [...decision.basis.policyIds],
    ...(ctx.onBehalfOf ? { onBehalfOf: principalRef(ctx.onBehalfOf) } : {}),
    // Where each exposed argument's value came from: an amount seen only in a customer's text is shown as such.
    ...(provenance && Object.keys(provenance).length > 0 ? { provenance: provenance as unknown as Json } : {}),
    evidence,
  };
  // High risk at `execute-high`: the approvers see whether the independent second path agrees
  // (its read is audited after the intent and decision it belongs to).
  let pending = ask.before;
  if (secondPathApplies(contract, ctx) && pending.length > 0) {
    await deps.audit.append(ctx, pending);
    pending = [];
  }
  const second = await runSecondPath(deps, ctx, contract, args, hash);
  if (second) summary['secondPath'] = { ...second };
  // Routed to the first owner named for approvals; escalates to the next after `escalateAfterMinutes`.
  const owners = policy.escalateTo.map((b) => ctx.workflow.owners[b]).filter((o): o is string => typeof o === 'string');
  const escalateAt = policy.escalateAfterMinutes !== undefined && owners.length > 1 ? new Date(now.getTime() + policy.escalateAfterMinutes * 60_000).toISOString() : null;
  // What people are shown is hashed and stored: anything that came from outside is recordable by now,
  // and this makes sure of it (a summary that cannot be hashed must not lose the records before it).
  const shown = recordableJson(summary).value as Record<string, Json>;
  const record: ApprovalRecord = {
    id,
    runId: ctx.runId,
    actionHash: hash,
    tool: contract.name,
    requester: principalRef(ctx.principal),
    level: decision.level,
    status: 'pending',
    createdAt: now.toISOString(),
    expiresAt,
    summary: shown,
    decisions: [],
    workflow: ctx.workflow.name,
    assignee: owners[0] ?? null,
    escalations: 0,
    escalateAt,
    editedFrom: edit?.from.id ?? null,
    editedBy: edit?.by ?? null,
    supersededBy: null,
    consumedAt: null,
    // The wait for a person becomes a span of the run's trace when it ends (telemetry/approval-span.ts).
    ...traceOf(edit?.from),
  };
  await deps.audit.append(ctx, [
    ...pending,
    rec('approval.requested', {
      approvalId: id,
      actionHash: hash,
      tool: contract.name,
      level: decision.level,
      expiresAt,
      summaryHash: hashJson(shown),
      assignee: record.assignee,
      ...(edit ? { editedFrom: edit.from.id, editedBy: edit.by } : {}),
    }),
  ]);
  await deps.store.createApproval(record);
  await deps.notify?.('approval.requested', approvalEventData(record));
  return id;
}

/** The most recent approval of this exact action in this run, if any. */
export async function latestApprovalOf(store: Store, runId: RunId, hash: Sha256Hex): Promise<ApprovalRecord | null> {
  let latest: ApprovalRecord | null = null;
  for (const a of await store.listApprovals({ runId })) if (a.actionHash === hash && (!latest || a.createdAt >= latest.createdAt)) latest = a;
  return latest;
}

/** The trace an approval belongs to: its original's (an edit keeps the run's trace), else the span asking now. */
function traceOf(from: ApprovalRecord | undefined): { traceparent?: string } {
  const tp = from?.traceparent ?? traceparentOf();
  return tp ? { traceparent: tp } : {};
}
