// The one enforcement point: every proposed tool call, from any door, goes through `Gateway.propose`.
// Sequence: resolve contract → validate args → decide → write-ahead audit → [approval] → call → audit → verify.
import type { Span } from '@opentelemetry/api';
import { withSpan } from '../telemetry/spans.js';
import { decide } from '../policy/decide.js';
import type { CompiledPolicies } from '../policy/compile.js';
import type { ApprovalRecord, ApprovalVote, AuditRecord, Store } from '../store/store.js';
import type { ToolContract, WorkflowConfig, Workspace } from '../config/schema.js';
import type {
  ApprovalId,
  ApprovalLevel,
  Decision,
  Json,
  JsonObject,
  Labels,
  Principal,
  RunId,
  Sha256Hex,
} from '../types.js';
import { canonicalJson, hashJson, sha256Hex } from '../util/hash.js';
import { joinLabels } from '../context/labels.js';
import { compileCelCached, evalCel } from '../verification/cel.js';
import { checkVerification, type CheckOutcome } from '../verification/checks.js';
import { resolveTemplate } from '../tools/template.js';
import { jsonProblem } from '../util/json.js';
import type { DriftGuard } from '../tools/drift.js';
import type { Connector, ConnectorResult } from '../tools/connector.js';
import { expandTemplate } from '../tools/uri-template.js';
import { upstreamNameOf } from '../tools/import.js';
import type { ConnectorPool } from '../tools/connectors/pool.js';
import { ArgumentValidator } from '../tools/validate.js';
import type { AuditWriter} from '../audit/writer.js';
import { principalRef, type AuditItem } from '../audit/writer.js';
import { approvalEventData, latestRevision, obligationMet, recordedAuth, type Notify } from './approvals/decide.js';
import { decideApprover } from '../policy/approver.js';

/** Who is calling, inside which run. */
export interface CallContext {
  readonly runId: RunId;
  readonly workflow: WorkflowConfig;
  readonly principal: Principal;
  readonly onBehalfOf?: Principal | undefined;
  /** The run's labels before this call (the join of everything read so far). */
  readonly labels: Labels;
  /** Step number within the run, for the audit trail and idempotency keys. */
  readonly step: number;
  /**
   * `execute` (default): Airlock calls the tool. `authorize`: the caller executes it itself (an API
   * gateway, an in-process SDK tool) and only asks; an allowed action is recorded as authorized.
   */
  readonly mode?: 'execute' | 'authorize';
  /**
   * When true, an executed outcome is returned before its audit record is durable; the caller must
   * await `outcome.committed` (it lets the record share one commit with the caller's run save).
   */
  readonly deferOutcomeCommit?: boolean;
}

/** A tool call the agent wants to make. Only data: nothing here is trusted. */
export interface Proposal {
  readonly tool: string;
  readonly args: JsonObject;
  /** The agent's stated reason, recorded (truncated) with the intent for reviewers. */
  readonly reasoning?: string | undefined;
}

export interface VerificationResult {
  readonly probe: string;
  readonly outcome: CheckOutcome | { readonly status: 'error'; readonly message: string };
}

/** What the second path of a high-risk step said, as recorded. */
export interface SecondPathResult {
  readonly status: 'passed' | 'failed' | 'error';
  readonly check: string;
  readonly message: string;
}

/** Everything that can come of a proposal. None of these is thrown. */
export type GatewayOutcome =
  | {
      readonly kind: 'executed';
      readonly result: Json;
      readonly labels: Labels;
      readonly actionHash: Sha256Hex;
      readonly decision: Decision;
      readonly verification: VerificationResult | null;
      readonly approvalId: ApprovalId | null;
      /** The standing grant that stood in for an approval, if one did. */
      readonly grantId?: string;
      /** When an approver edited the arguments: what was executed instead of what was proposed. */
      readonly revisedArgs?: JsonObject;
      /** Only with `deferOutcomeCommit`: settles when the outcome record is durable. */
      readonly committed?: Promise<void>;
    }
  | { readonly kind: 'denied'; readonly reasons: readonly string[]; readonly policyIds: readonly string[]; readonly actionHash: Sha256Hex | null }
  | { readonly kind: 'invalid'; readonly errors: readonly string[] }
  | { readonly kind: 'suggested'; readonly actionHash: Sha256Hex; readonly decision: Decision }
  | {
      readonly kind: 'pending-approval';
      readonly approvalId: ApprovalId;
      readonly level: ApprovalLevel;
      readonly actionHash: Sha256Hex;
      readonly decision: Decision;
    }
  | { readonly kind: 'failed'; readonly failure: string; readonly message: string; readonly actionHash: Sha256Hex }
  | {
      /** `authorize` mode: the caller may now execute this exact action itself, once. */
      readonly kind: 'authorized';
      readonly actionHash: Sha256Hex;
      readonly decision: Decision;
      readonly approvalId: ApprovalId | null;
      readonly grantId?: string;
      /** For a contract with `idempotencyKey`: the key the caller must send upstream, so a retry never repeats the effect. */
      readonly idempotencyKey?: string;
      /** The run's labels once the caller has the result. */
      readonly labels: Labels;
    };

export interface GatewayDeps {
  readonly workspace: Workspace;
  readonly policies: CompiledPolicies;
  readonly store: Store;
  readonly connectors: ConnectorPool;
  readonly audit: AuditWriter;
  readonly now: () => Date;
  readonly newApprovalId: () => ApprovalId;
  /** Compares reviewed upstream definitions with the live ones (tool drift); absent: no check. */
  readonly driftGuard?: Pick<DriftGuard, 'checkContract' | 'invalidate'>;
  /** Builds what an approver is shown (citations, reasoning, diff against ground truth); absent: arguments only. */
  readonly evidence?: (input: { runId: RunId; contract: ToolContract; args: JsonObject; reasoning: string | null }) => Promise<JsonObject>;
  /** Standing grants: an owner's pre-approval that may cover a `single` obligation; absent: none. */
  readonly grants?: GrantCover;
  /** Queues approval notifications (webhooks); absent: none. */
  readonly notify?: Notify | undefined;
}

/** What the gateway asks of standing grants: whether one covers this action now, counting the use if so. */
export interface GrantCover {
  cover(ctx: CallContext, contract: ToolContract, args: JsonObject, hash: Sha256Hex): Promise<{ readonly grantId: string; readonly uses: number } | null>;
}

/**
 * The canonical action an approval binds to: SHA-256 over RFC 8785 JSON of
 * (tool, arguments, run, requester). Any change to any of them is a different action.
 */
export function actionHash(tool: string, args: JsonObject, runId: RunId, requester: Principal): Sha256Hex {
  return hashJson({ tool, args, run: runId, requester: principalRef(requester) });
}

/**
 * The idempotency key of one execution: derived from the run, the step and the action hash, so a
 * retry or a resumed run sends the same key and the upstream does the effect once.
 */
export function idempotencyKey(runId: RunId, step: number, hash: Sha256Hex): string {
  return `airlock-${hashJson({ run: runId, step, action: hash }).slice(0, 40)}`;
}

export class Gateway {
  private readonly validator: ArgumentValidator;
  /** Contracts do not change while a workspace is open: each is hashed once, not on every call. */
  private readonly contractHashes = new WeakMap<ToolContract, Sha256Hex>();

  private toolDefHash(contract: ToolContract): Sha256Hex {
    let h = this.contractHashes.get(contract);
    if (!h) {
      h = hashJson(contract);
      this.contractHashes.set(contract, h);
    }
    return h;
  }

  constructor(private readonly deps: GatewayDeps) {
    this.validator = new ArgumentValidator(deps.workspace.tools);
  }

  /** Governs one proposed call; returns what happened. Never executes before the decision allows it. */
  async propose(ctx: CallContext, proposal: Proposal): Promise<GatewayOutcome> {
    return withSpan(`execute_tool ${proposal.tool}`, async (span) => {
      const out = await this.proposeInner(ctx, proposal, span);
      span.setAttribute('airlock.outcome', out.kind);
      return out;
    });
  }

  private async proposeInner(ctx: CallContext, proposal: Proposal, span: Span): Promise<GatewayOutcome> {
    const { audit } = this.deps;
    span.setAttributes({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': proposal.tool,
      'gen_ai.tool.type': 'function',
      'airlock.run.id': ctx.runId,
      'airlock.workflow': ctx.workflow.name,
    });
    // Values JSON cannot hold (only an in-process model can send them) are refused before anything hashes them.
    const notJson = jsonProblem(proposal.args);
    if (notJson) {
      await audit.append(ctx, [
        { type: 'action.intent', body: { tool: String(proposal.tool), step: ctx.step, argsHash: null } },
        { type: 'action.not-executed', body: { tool: String(proposal.tool), step: ctx.step, why: 'invalid-arguments', reasons: [notJson] } },
      ]);
      span.setAttribute('airlock.decision', 'invalid');
      return { kind: 'invalid', errors: [notJson] };
    }
    const contract = this.deps.workspace.tools.get(proposal.tool);
    // Deny by default: an undeclared tool, or one outside the workflow, is unreachable.
    if (!contract || !ctx.workflow.tools.includes(proposal.tool)) {
      const shown = String(proposal.tool).slice(0, 200);
      const reason = !contract
        ? `tool \`${shown}\` is not declared in the workspace (deny by default)`
        : `tool \`${shown}\` is not part of workflow \`${ctx.workflow.name}\` (deny by default)`;
      await audit.append(ctx, [
        { type: 'action.intent', body: { tool: shown, step: ctx.step, ...refusedArgs(proposal.args) } },
        { type: 'action.not-executed', body: { tool: shown, step: ctx.step, why: 'unknown-tool', reasons: [reason] } },
      ]);
      span.setAttribute('airlock.decision', 'deny');
      return { kind: 'denied', reasons: [reason], policyIds: [], actionHash: null };
    }
    const toolDefHash = this.toolDefHash(contract);
    const errors = this.validator.validate(contract.name, proposal.args);
    if (errors.length > 0) {
      await audit.append(ctx, [
        { type: 'action.intent', body: { tool: contract.name, step: ctx.step, toolDefHash, ...refusedArgs(proposal.args) } },
        { type: 'action.not-executed', body: { tool: contract.name, step: ctx.step, why: 'invalid-arguments', reasons: errors } },
      ]);
      span.setAttribute('airlock.decision', 'invalid');
      return { kind: 'invalid', errors };
    }
    const argsRef = audit.payloadRef(proposal.args, ctx.labels.classification);
    // A tool whose upstream definition changed since review is denied before anyone is asked to approve it.
    const drift = await this.deps.driftGuard?.checkContract(contract);
    if (drift && !drift.ok) {
      await audit.append(ctx, [
        { type: 'action.intent', body: { tool: contract.name, step: ctx.step, toolDefHash, argsHash: argsRef.hash }, payloads: [argsRef] },
        {
          type: 'action.not-executed',
          body: { tool: contract.name, step: ctx.step, why: 'tool-drift', code: drift.code, reasons: [drift.reason], reviewedUpstream: drift.reviewed ?? null, liveUpstream: drift.live ?? null },
        },
      ]);
      span.setAttribute('airlock.decision', 'deny');
      return { kind: 'denied', reasons: [drift.reason], policyIds: [], actionHash: null };
    }
    const hash = actionHash(contract.name, proposal.args, ctx.runId, ctx.principal);
    const decision = this.decideFor(ctx, contract, proposal.args);
    span.setAttributes({
      'airlock.decision': decision.kind,
      'airlock.policy.ids': [...decision.basis.policyIds],
      'airlock.policy_set.hash': decision.basis.policySetHash,
    });
    const intent = {
      type: 'action.intent',
      body: {
        tool: contract.name,
        step: ctx.step,
        toolDefHash,
        argsHash: argsRef.hash,
        actionHash: hash,
        labels: labelsJson(ctx.labels),
        ...(contract.idempotencyKey ? { idempotencyKey: idempotencyKey(ctx.runId, ctx.step, hash) } : {}),
        ...(proposal.reasoning ? { reasoning: proposal.reasoning.slice(0, 500) } : {}),
      },
      payloads: [argsRef],
    };
    const decisionRecord = { type: 'action.decision', body: { tool: contract.name, actionHash: hash, ...decisionJson(decision) } };

    switch (decision.kind) {
      case 'deny':
        await audit.append(ctx, [
          intent,
          decisionRecord,
          { type: 'action.not-executed', body: { tool: contract.name, actionHash: hash, why: 'denied', reasons: [...decision.basis.reasons] } },
        ]);
        return { kind: 'denied', reasons: decision.basis.reasons, policyIds: decision.basis.policyIds, actionHash: hash };
      case 'suggest':
        await audit.append(ctx, [
          intent,
          decisionRecord,
          { type: 'action.not-executed', body: { tool: contract.name, actionHash: hash, why: 'suggested', reasons: [...decision.basis.reasons] } },
        ]);
        return { kind: 'suggested', actionHash: hash, decision };
      case 'approval': {
        // The same canonical action proposed again (an external agent re-calling after approval, or a retry):
        // an approved one executes once, a pending one is the same approval, a rejected one stays refused.
        // An approver's edit replaced the action: what they chose is what executes (or waits).
        const found = await this.latestApproval(ctx.runId, hash);
        const prior = found ? await latestRevision(this.deps.store, found) : null;
        const revised = prior && prior.id !== found?.id ? (prior.summary as { args: JsonObject }).args : undefined;
        if (prior?.status === 'approved') {
          await audit.append(ctx, [intent]);
          const out = await this.executeApprovedInner(ctx, revised ? { tool: proposal.tool, args: revised } : proposal, prior.id, span);
          return out.kind === 'executed' && revised ? { ...out, revisedArgs: revised } : out;
        }
        if (prior?.status === 'pending') {
          await audit.append(ctx, [intent, decisionRecord]);
          return { kind: 'pending-approval', approvalId: prior.id, level: prior.level, actionHash: prior.actionHash, decision };
        }
        if (prior?.status === 'rejected') {
          const why = prior.decisions.find((d) => d.decision === 'reject');
          const reason = `this exact action was rejected by \`${why?.approver ?? 'an approver'}\`${why?.reason ? `: ${why.reason}` : ''}; change course instead of retrying`;
          await audit.append(ctx, [
            intent,
            decisionRecord,
            { type: 'action.not-executed', body: { tool: contract.name, actionHash: hash, approvalId: prior.id, why: 'rejected', reasons: [reason] } },
          ]);
          return { kind: 'denied', reasons: [reason], policyIds: [], actionHash: hash };
        }
        // A standing grant may stand in for one person's approval (never for step-up or re-authentication).
        if (decision.level === 'single' && this.deps.grants) {
          await audit.append(ctx, [intent, decisionRecord]);
          const grant = await this.deps.grants.cover(ctx, contract, proposal.args, hash);
          if (grant) return this.execute(ctx, contract, proposal.args, hash, decision, null, grant.grantId);
          const id = await this.requestApproval(ctx, contract, proposal.args, hash, decision, [], proposal.reasoning ?? null);
          return { kind: 'pending-approval', approvalId: id, level: decision.level, actionHash: hash, decision };
        }
        const id = await this.requestApproval(ctx, contract, proposal.args, hash, decision, [intent, decisionRecord], proposal.reasoning ?? null);
        return { kind: 'pending-approval', approvalId: id, level: decision.level, actionHash: hash, decision };
      }
      case 'allow':
        // INVARIANT: intent and decision are durable before the connector is called (write-ahead).
        await audit.append(ctx, [intent, decisionRecord]);
        return this.execute(ctx, contract, proposal.args, hash, decision, null);
    }
  }

  /**
   * Executes an approved action. Recomputes the action hash from the real call, checks the
   * approval (approved, same hash, same run, not expired, not used), re-decides with today's
   * policy, then consumes the approval exactly once and calls the tool.
   */
  async executeApproved(ctx: CallContext, proposal: Proposal, approvalId: ApprovalId): Promise<GatewayOutcome> {
    return withSpan(`execute_tool ${proposal.tool}`, async (span) => {
      span.setAttributes({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': proposal.tool, 'airlock.run.id': ctx.runId });
      const out = await this.executeApprovedInner(ctx, proposal, approvalId, span);
      span.setAttribute('airlock.outcome', out.kind);
      return out;
    });
  }

  private async executeApprovedInner(
    ctx: CallContext,
    proposal: Proposal,
    approvalId: ApprovalId,
    span: Span,
  ): Promise<GatewayOutcome> {
    const { audit, store } = this.deps;
    const refuse = async (why: string, reason: string): Promise<GatewayOutcome> => {
      await audit.append(ctx, [
        { type: 'action.not-executed', body: { tool: proposal.tool, approvalId, why, reasons: [reason] } },
      ]);
      span.setAttribute('airlock.decision', 'deny');
      return { kind: 'denied', reasons: [reason], policyIds: [], actionHash: null };
    };
    const contract = this.deps.workspace.tools.get(proposal.tool);
    if (!contract || !ctx.workflow.tools.includes(proposal.tool)) {
      return refuse('unknown-tool', `tool \`${proposal.tool}\` is not available to workflow \`${ctx.workflow.name}\``);
    }
    const errors = this.validator.validate(contract.name, proposal.args);
    if (errors.length > 0) return refuse('invalid-arguments', errors.join('; '));
    const hash = actionHash(contract.name, proposal.args, ctx.runId, ctx.principal);
    const approval = await store.getApproval(approvalId);
    if (!approval) return refuse('approval-missing', `approval \`${approvalId}\` does not exist`);
    if (approval.actionHash !== hash || approval.runId !== ctx.runId) {
      return refuse('approval-mismatch', `approval \`${approvalId}\` was given for a different action; the action changed, so it needs a new approval`);
    }
    if (approval.status !== 'approved') {
      return refuse('approval-not-approved', `approval \`${approvalId}\` is ${approval.status}, not approved`);
    }
    if (Date.parse(approval.expiresAt) <= this.deps.now().getTime()) {
      const expired = await store.updateApproval(approvalId, 'approved', { status: 'expired' });
      if (expired) {
        await audit.append(ctx, [{ type: 'approval.expired', body: { approvalId, actionHash: approval.actionHash, expiresAt: approval.expiresAt, votes: approval.decisions.length, unused: true } }]);
        await this.deps.notify?.('approval.expired', approvalEventData(expired));
      }
      return refuse('approval-expired', `approval \`${approvalId}\` expired at ${approval.expiresAt}`);
    }
    // No time-of-check to time-of-use gap: the policy or the facts may have changed since approval.
    const decision = this.decideFor(ctx, contract, proposal.args);
    const decisionRecord = { type: 'action.decision', body: { tool: contract.name, actionHash: hash, approvalId, recheck: true, ...decisionJson(decision) } };
    if (decision.kind === 'deny' || decision.kind === 'suggest') {
      await audit.append(ctx, [
        decisionRecord,
        { type: 'action.not-executed', body: { tool: contract.name, actionHash: hash, approvalId, why: 'denied-at-execution', reasons: [...decision.basis.reasons] } },
      ]);
      return { kind: 'denied', reasons: decision.basis.reasons, policyIds: decision.basis.policyIds, actionHash: hash };
    }
    // The approvers must still be eligible (roles and `approve` policies may have changed since they
    // voted), and their votes must meet the obligation the action has now, which may differ.
    const needed = decision.kind === 'approval' ? decision.level : approval.level;
    const standing = approval.decisions.filter((v) => v.decision === 'approve' && this.stillEligible(ctx, contract, proposal.args, approval, v));
    if (!obligationMet(needed, standing, ctx.workflow.approvals)) {
      const why =
        standing.length < approval.decisions.filter((v) => v.decision === 'approve').length
          ? `an approver of \`${approvalId}\` is no longer eligible to approve \`${contract.name}\`; it needs a new approval`
          : `the action now needs \`${needed}\` approval; the votes on \`${approvalId}\` (\`${approval.level}\`) do not meet it`;
      await audit.append(ctx, [
        decisionRecord,
        { type: 'action.not-executed', body: { tool: contract.name, actionHash: hash, approvalId, why: 'approval-insufficient', reasons: [why] } },
      ]);
      return { kind: 'denied', reasons: [why], policyIds: decision.basis.policyIds, actionHash: hash };
    }
    // The second path runs again at execution: it may disagree now although it agreed when people approved.
    const second = await this.secondPath(ctx, contract, proposal.args, hash);
    const seen = (approval.summary as { secondPath?: { status?: Json } }).secondPath?.status;
    if (second && second.status !== 'passed' && seen !== 'failed' && seen !== 'error') {
      const why = `the second path disagrees at execution (${second.message}), and the approvers did not see a disagreement: a person must look again; propose it again for a new approval`;
      // The approval is void: proposing the same action again asks people afresh, showing the disagreement.
      const voided = await store.updateApproval(approvalId, 'approved', { status: 'expired' });
      await audit.append(ctx, [
        decisionRecord,
        { type: 'action.not-executed', body: { tool: contract.name, actionHash: hash, approvalId, why: 'second-path-disagreed', reasons: [why] } },
        ...(voided ? [{ type: 'approval.expired', body: { approvalId, actionHash: hash, expiresAt: approval.expiresAt, votes: approval.decisions.length, voided: 'second-path-disagreed' } }] : []),
      ]);
      return { kind: 'denied', reasons: [why], policyIds: decision.basis.policyIds, actionHash: hash };
    }
    // INVARIANT: an approval is single-use; compare-and-set makes concurrent executions race to one winner.
    // Write-ahead: the consumption is on record before it takes effect (a loser's refusal follows it).
    const consumedAt = this.deps.now().toISOString();
    await audit.append(ctx, [
      decisionRecord,
      {
        type: 'approval.consumed',
        body: {
          approvalId,
          actionHash: hash,
          tool: contract.name,
          step: ctx.step,
          consumedAt,
          ...(contract.idempotencyKey ? { idempotencyKey: idempotencyKey(ctx.runId, ctx.step, hash) } : {}),
        },
      },
    ]);
    const consumed = await store.updateApproval(approvalId, 'approved', { status: 'consumed', consumedAt });
    if (!consumed) return refuse('approval-used', `approval \`${approvalId}\` was already used (the consumption above did not take effect)`);
    return this.execute(ctx, contract, proposal.args, hash, decision, approvalId);
  }

  /**
   * Records what a caller that executes itself (authorize mode) says happened. Only an action this
   * run was authorized for can be reported, once; the report is audited as the caller's word.
   */
  async reportOutcome(
    ctx: CallContext,
    report: { readonly actionHash: Sha256Hex; readonly outcome: 'ok' | 'error'; readonly result?: Json; readonly message?: string },
  ): Promise<{ ok: true; verification: VerificationResult | null } | { ok: false; reason: string }> {
    const records = await this.deps.store.readAuditForRun(ctx.runId);
    const grants = records.filter((r) => r.type === 'action.authorized' && r.body['actionHash'] === report.actionHash);
    if (grants.length === 0) return { ok: false, reason: `action \`${report.actionHash}\` was not authorized in run \`${ctx.runId}\`` };
    // Each authorization covers one execution: the same action done twice is authorized (and reported) twice.
    const reported = records.filter((r) => r.type === 'action.executed' && r.body['actionHash'] === report.actionHash && r.body['reportedBy'] === 'caller').length;
    if (reported >= grants.length) return { ok: false, reason: `the outcome of action \`${report.actionHash}\` was already reported` };
    const tool = String(grants[grants.length - 1]?.body['tool'] ?? '');
    const contract = this.deps.workspace.tools.get(tool);
    const classification = contract?.classification ?? ctx.labels.classification;
    const resultRef = report.result === undefined ? null : this.deps.audit.payloadRef(report.result, classification);
    await this.deps.audit.append(ctx, [
      {
        type: 'action.executed',
        body: {
          tool,
          actionHash: report.actionHash,
          outcome: report.outcome,
          reportedBy: 'caller',
          resultHash: resultRef?.hash ?? null,
          ...(report.message ? { message: report.message.slice(0, 2000) } : {}),
        },
        ...(resultRef ? { payloads: [resultRef] } : {}),
      },
    ]);
    // "Done" needs evidence on this door too: the contract's probe checks what the caller says it did.
    if (report.outcome !== 'ok' || !contract?.verify) return { ok: true, verification: null };
    const args = await this.authorizedArgs(records, report.actionHash);
    if (!args) return { ok: true, verification: null };
    const verification = await this.verify(ctx, contract, args, report.result ?? null, report.actionHash);
    return { ok: true, verification };
  }

  /** The arguments of an authorized action, from its intent record's stored payload. */
  private async authorizedArgs(records: readonly AuditRecord[], hash: Sha256Hex): Promise<JsonObject | null> {
    const intent = [...records].reverse().find((r) => r.type === 'action.intent' && r.body['actionHash'] === hash);
    const argsHash = intent?.body['argsHash'];
    if (typeof argsHash !== 'string') return null;
    const data = await this.deps.store.getPayload(argsHash as Sha256Hex);
    return data === null ? null : (JSON.parse(data) as JsonObject);
  }

  /**
   * The second path of a high-risk step at tier `execute-high`: the contract's independent rule over
   * the arguments and a ground-truth probe. Null when it does not apply. Audited either way.
   */
  private async secondPath(ctx: CallContext, contract: ToolContract, args: JsonObject, hash: Sha256Hex): Promise<SecondPathResult | null> {
    const spec = contract.secondPath;
    if (!spec || ctx.workflow.tier !== 'execute-high' || contract.risk !== 'high') return null;
    let probe: Json = null;
    let result: SecondPathResult;
    const compiled = compileCelCached(spec.check, spec.probe === undefined ? ['args'] : ['args', 'probe'], { result: 'bool' });
    if (!compiled.ok) {
      result = { status: 'error', check: spec.check, message: compiled.message };
    } else {
      let failed: string | null = null;
      if (spec.probe !== undefined) {
        const probeArgs = resolveTemplate(spec.args, { args });
        if (!probeArgs.ok) failed = `probe argument ${probeArgs.missing} is missing`;
        else {
          const res = await this.readProbe(spec.probe, probeArgs.value as JsonObject);
          if (res.ok) probe = res.content;
          else failed = res.message;
        }
      }
      if (failed !== null) result = { status: 'error', check: spec.check, message: failed };
      else {
        const value = evalCel(compiled.program, { args, probe });
        result = !value.ok
          ? { status: 'error', check: spec.check, message: value.message }
          : { status: value.value === true ? 'passed' : 'failed', check: spec.check, message: value.value === true ? 'the second path agrees' : 'the second path disagrees with the proposed action' };
      }
    }
    await this.deps.audit.append(ctx, [
      { type: 'action.second-path', body: { tool: contract.name, actionHash: hash, ...result, ...(spec.probe ? { probe: spec.probe } : {}) } },
    ]);
    return result;
  }

  /** Whether the person behind a recorded vote may still approve this action, as they authenticated then. */
  private stillEligible(ctx: CallContext, contract: ToolContract, args: JsonObject, approval: ApprovalRecord, v: ApprovalVote): boolean {
    const [kind, id] = v.approver.split(':', 2);
    const declared = this.deps.workspace.file.identity.principals.find((p) => p.kind === kind && p.id === id);
    if (!declared) return false;
    const auth = recordedAuth(v);
    const age = auth.authTime === null ? null : Math.max(0, (Date.parse(v.time) - Date.parse(auth.authTime)) / 1000);
    return decideApprover(this.deps.policies, {
      approver: { kind: declared.kind, id: declared.id, roles: declared.roles },
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

  /** The most recent approval of this exact action in this run, if any. */
  private async latestApproval(runId: RunId, hash: Sha256Hex): Promise<ApprovalRecord | null> {
    const all = await this.deps.store.listApprovals({ runId });
    let latest: ApprovalRecord | null = null;
    for (const a of all) if (a.actionHash === hash && (!latest || a.createdAt >= latest.createdAt)) latest = a;
    return latest;
  }

  /** The pure decision, fed with the contract and the run's labels. */
  private decideFor(ctx: CallContext, contract: ToolContract, args: JsonObject): Decision {
    return decide(this.deps.policies, {
      principal: ctx.principal,
      ...(ctx.onBehalfOf ? { onBehalfOf: ctx.onBehalfOf } : {}),
      tool: contract,
      workflow: ctx.workflow.name,
      tier: ctx.workflow.tier,
      args,
      labels: ctx.labels,
    });
  }

  private async requestApproval(
    ctx: CallContext,
    contract: ToolContract,
    args: JsonObject,
    hash: Sha256Hex,
    decision: Extract<Decision, { kind: 'approval' }>,
    before: readonly AuditItem[],
    reasoning: string | null,
    edit: { readonly from: ApprovalRecord; readonly by: string } | null = null,
  ): Promise<ApprovalId> {
    const editedFrom = edit?.from ?? null;
    const now = this.deps.now();
    const id = this.deps.newApprovalId();
    const policy = ctx.workflow.approvals;
    const expiresAt = new Date(now.getTime() + policy.ttlMinutes * 60_000).toISOString();
    // Validation came first (schema, drift, policy): nobody is asked to approve a call that would fail anyway.
    const evidence = this.deps.evidence
      ? await this.deps.evidence({ runId: ctx.runId, contract, args, reasoning })
      : { args, reasoning: reasoning?.slice(0, 1000) ?? null, citations: [], diff: null };
    const summary: JsonObject = {
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
      labels: labelsJson(ctx.labels),
      reasons: [...decision.basis.reasons],
      policyIds: [...decision.basis.policyIds],
      ...(ctx.onBehalfOf ? { onBehalfOf: principalRef(ctx.onBehalfOf) } : {}),
      evidence,
    };
    // High risk at `execute-high`: the approvers see whether the independent second path agrees
    // (its read is audited after the intent and decision it belongs to).
    let pendingRecords = before;
    if (contract.secondPath && ctx.workflow.tier === 'execute-high' && contract.risk === 'high' && before.length > 0) {
      await this.deps.audit.append(ctx, before);
      pendingRecords = [];
    }
    const second = await this.secondPath(ctx, contract, args, hash);
    if (second) (summary as Record<string, Json>)['secondPath'] = { ...second };
    // Routed to the first owner named for approvals; escalates to the next after `escalateAfterMinutes`.
    const owners = policy.escalateTo.map((b) => ctx.workflow.owners[b]).filter((o): o is string => typeof o === 'string');
    const escalateAt =
      policy.escalateAfterMinutes !== undefined && owners.length > 1
        ? new Date(now.getTime() + policy.escalateAfterMinutes * 60_000).toISOString()
        : null;
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
      summary,
      decisions: [],
      workflow: ctx.workflow.name,
      assignee: owners[0] ?? null,
      escalations: 0,
      escalateAt,
      editedFrom: editedFrom?.id ?? null,
      editedBy: edit?.by ?? null,
      supersededBy: null,
      consumedAt: null,
    };
    // INVARIANT: the intent, the decision and the approval request are durable before the approval exists.
    await this.deps.audit.append(ctx, [
      ...pendingRecords,
      {
        type: 'approval.requested',
        body: {
          approvalId: id,
          actionHash: hash,
          tool: contract.name,
          level: decision.level,
          expiresAt,
          summaryHash: hashJson(summary),
          assignee: record.assignee,
          ...(edit ? { editedFrom: edit.from.id, editedBy: edit.by } : {}),
        },
      },
    ]);
    await this.deps.store.createApproval(record);
    await this.deps.notify?.('approval.requested', approvalEventData(record));
    return id;
  }

  /**
   * An approver's edit: the same tool in the same run with the arguments the approver chose. It is a
   * new action (new hash) decided afresh with the agent as requester; the decision may escalate, or
   * deny. Returns the new approval, or why the edit cannot stand. The caller records the override.
   */
  async reviseAction(
    original: ApprovalRecord,
    args: JsonObject,
    ctx: CallContext,
    edit: { readonly by: string; readonly reason: string },
  ): Promise<{ kind: 'created'; approval: ApprovalRecord } | { kind: 'invalid'; errors: readonly string[] } | { kind: 'denied'; reasons: readonly string[] }> {
    const contract = this.deps.workspace.tools.get(original.tool);
    if (!contract || !ctx.workflow.tools.includes(original.tool)) return { kind: 'denied', reasons: [`tool \`${original.tool}\` is no longer part of workflow \`${ctx.workflow.name}\``] };
    const notJson = jsonProblem(args);
    const errors = notJson ? [notJson] : this.validator.validate(contract.name, args);
    if (errors.length > 0) return { kind: 'invalid', errors };
    const hash = actionHash(contract.name, args, ctx.runId, ctx.principal);
    if (hash === original.actionHash) return { kind: 'invalid', errors: ['the edited arguments are the same as the proposed ones: approve it as it is instead'] };
    const decision = this.decideFor(ctx, contract, args);
    const argsRef = this.deps.audit.payloadRef(args, ctx.labels.classification);
    const intent: AuditItem = {
      type: 'action.intent',
      body: {
        tool: contract.name,
        step: ctx.step,
        toolDefHash: this.toolDefHash(contract),
        argsHash: argsRef.hash,
        actionHash: hash,
        labels: labelsJson(ctx.labels),
        revisionOf: original.id,
        revisedBy: edit.by,
      },
      payloads: [argsRef],
    };
    const decisionRecord: AuditItem = { type: 'action.decision', body: { tool: contract.name, actionHash: hash, ...decisionJson(decision) } };
    if (decision.kind === 'deny' || decision.kind === 'suggest') {
      await this.deps.audit.append(ctx, [
        intent,
        decisionRecord,
        { type: 'action.not-executed', body: { tool: contract.name, actionHash: hash, why: 'edit-denied', reasons: [...decision.basis.reasons] } },
      ]);
      return { kind: 'denied', reasons: decision.basis.reasons };
    }
    // An edit is a human choice: even an action policy would allow outright is approved by someone.
    const asApproval: Extract<Decision, { kind: 'approval' }> =
      decision.kind === 'approval' ? decision : { kind: 'approval', level: 'single', basis: decision.basis };
    // The evidence says who wrote these arguments and why; the agent's reasoning was about its own proposal.
    const why = `edited by ${edit.by} (was approval ${original.id}): ${edit.reason}`;
    const id = await this.requestApproval(ctx, contract, args, hash, asApproval, [intent, decisionRecord], why, { from: original, by: edit.by });
    const created = await this.deps.store.getApproval(id);
    if (!created) throw new Error(`approval ${id} vanished after it was created`);
    return { kind: 'created', approval: created };
  }

  private async execute(
    ctx: CallContext,
    contract: ToolContract,
    args: JsonObject,
    hash: Sha256Hex,
    decision: Decision,
    approvalId: ApprovalId | null,
    grantId: string | null = null,
  ): Promise<GatewayOutcome> {
    const { audit, connectors } = this.deps;
    const authority: JsonObject = grantId ? { approvalId, grantId } : { approvalId };
    // INVARIANT: the upstream's idempotency key is Airlock's, derived from run, step and action: never the agent's.
    const key = contract.idempotencyKey ? idempotencyKey(ctx.runId, ctx.step, hash) : null;
    const keyRecord: JsonObject = key ? { idempotencyKey: key } : {};
    // Checked again closest to the call: this also covers approved actions executed later.
    const drift = await this.deps.driftGuard?.checkContract(contract);
    if (drift && !drift.ok) {
      await audit.append(ctx, [
        { type: 'action.not-executed', body: { tool: contract.name, actionHash: hash, approvalId, why: 'tool-drift', code: drift.code, reasons: [drift.reason] } },
      ]);
      return { kind: 'denied', reasons: [drift.reason], policyIds: [], actionHash: hash };
    }
    if (ctx.mode === 'authorize') {
      await audit.append(ctx, [
        { type: 'action.authorized', body: { tool: contract.name, actionHash: hash, ...authority, ...keyRecord, executor: 'caller' } },
      ]);
      // The caller will read what the contract returns: the run is labelled as if Airlock had executed it.
      const labels = joinLabels(ctx.labels, { classification: contract.classification, trust: contract.trust });
      return {
        kind: 'authorized',
        actionHash: hash,
        decision,
        approvalId,
        labels,
        ...(grantId ? { grantId } : {}),
        ...(key ? { idempotencyKey: key } : {}),
      };
    }
    const connector = connectors.get(contract.connector);
    const upstream = upstreamNameOf(contract);
    const timeoutMs = contract.timeoutMs ?? this.connectorTimeout(contract.connector);
    const callArgs = key && contract.idempotencyKey ? { ...args, [contract.idempotencyKey]: key } : args;
    const res = await this.callUpstream(connector, contract, upstream, callArgs, timeoutMs);
    if (!res.ok) {
      // A restarted process may be a new version of the server: list its tools afresh next time.
      if (res.failure !== 'tool-error') this.deps.driftGuard?.invalidate(contract.connector);
      await audit.append(ctx, [
        { type: 'action.executed', body: { tool: contract.name, actionHash: hash, ...authority, ...keyRecord, outcome: 'error', failure: res.failure, message: res.message } },
      ]);
      return { kind: 'failed', failure: res.failure, message: res.message, actionHash: hash };
    }
    const outLabels: Labels = { classification: contract.classification, trust: contract.trust };
    const resultRef = audit.payloadRef(res.content, contract.classification);
    const compensation = this.compensationFor(contract, args, res.content);
    const committed = audit.append(ctx, [
      {
        type: 'action.executed',
        body: {
          tool: contract.name,
          actionHash: hash,
          ...authority,
          ...keyRecord,
          outcome: 'ok',
          resultHash: resultRef.hash,
          compensation,
          irreversible: contract.irreversible,
        },
        payloads: [resultRef],
      },
    ]);
    // The intent was durable before the call (write-ahead). The outcome record may share its commit
    // with the caller's run save when the caller asks to, and awaits `committed` before answering.
    if (ctx.deferOutcomeCommit) committed.catch(() => undefined);
    else await committed;
    const labels = joinLabels(ctx.labels, outLabels);
    const verification = await this.verify(ctx, contract, args, res.content, hash);
    return {
      kind: 'executed',
      result: res.content,
      labels,
      actionHash: hash,
      decision,
      verification,
      approvalId,
      ...(grantId ? { grantId } : {}),
      ...(ctx.deferOutcomeCommit ? { committed: committed.then(() => undefined) } : {}),
    };
  }

  /** One upstream request: a tool call, a resource read or a prompt, as the contract says. */
  private async callUpstream(connector: Connector, contract: ToolContract, upstream: string, args: JsonObject, timeoutMs: number) {
    const retryable = contract.effect === 'read';
    if (contract.resource) {
      if (!connector.readResource) return unsupported(connector.name, 'resources');
      return connector.readResource(expandTemplate(contract.resource, args), { timeoutMs, retryable });
    }
    if (contract.prompt) {
      if (!connector.getPrompt) return unsupported(connector.name, 'prompts');
      const strings: Record<string, string> = {};
      for (const [k, v] of Object.entries(args)) strings[k] = typeof v === 'string' ? v : JSON.stringify(v);
      return connector.getPrompt(contract.prompt, strings, { timeoutMs, retryable });
    }
    return connector.call(upstream, args, { timeoutMs, retryable });
  }

  /** The concrete compensating action for an executed effect, or null for reads and irreversible effects. */
  private compensationFor(contract: ToolContract, args: JsonObject, result: Json): Json {
    if (!contract.compensation) return null;
    const resolved = resolveTemplate(contract.compensation.args, { args, result });
    return resolved.ok
      ? { tool: contract.compensation.tool, args: resolved.value }
      : { tool: contract.compensation.tool, unresolved: resolved.missing };
  }

  /** Reads ground truth through the contract's probe and checks the expectations and the CEL check. */
  private async verify(
    ctx: CallContext,
    contract: ToolContract,
    args: JsonObject,
    result: Json,
    hash: Sha256Hex,
  ): Promise<VerificationResult | null> {
    const spec = contract.verify;
    if (!spec) return null;
    let outcome: VerificationResult['outcome'];
    const probeArgs = resolveTemplate(spec.args, { args, result });
    if (!probeArgs.ok) {
      outcome = { status: 'error', message: `probe argument ${probeArgs.missing} is missing from the result` };
    } else {
      const res = await this.readProbe(spec.probe, probeArgs.value as JsonObject);
      outcome = res.ok
        ? checkVerification(spec, { args, result, probe: res.content })
        : { status: 'error', message: res.message };
    }
    await this.deps.audit.append(ctx, [
      {
        type: 'action.verified',
        body: { tool: contract.name, actionHash: hash, probe: spec.probe, status: outcome.status, evidence: outcome as unknown as Json },
      },
    ]);
    return { probe: spec.probe, outcome };
  }

  /**
   * Reads ground truth through a declared read tool (a verification, second-path, preview or
   * run-check probe): its connector, its upstream name, its timeout. Never throws for the tool's
   * failure; an undeclared probe is a failure value too.
   */
  readProbe(name: string, args: JsonObject): Promise<ConnectorResult> {
    const probe = this.deps.workspace.tools.get(name);
    if (!probe) return Promise.resolve({ ok: false, failure: 'tool-error', message: `probe tool \`${name}\` is not declared` });
    return this.deps.connectors
      .get(probe.connector)
      .call(upstreamNameOf(probe), args, { timeoutMs: probe.timeoutMs ?? this.connectorTimeout(probe.connector), retryable: probe.effect === 'read' });
  }

  private connectorTimeout(name: string): number {
    const cfg = this.deps.workspace.file.connectors[name];
    return cfg && 'timeoutMs' in cfg ? cfg.timeoutMs : 10_000;
  }
}




/** How much of refused arguments the trail keeps: their hash, their size and this many characters. */
const REFUSED_PREVIEW_CHARS = 256;

/**
 * What the trail keeps of arguments refused before any decision (unknown tool, invalid): a hash
 * and a bounded preview, never the whole payload (a refused request must not cost its size in storage).
 */
export function refusedArgs(args: JsonObject): JsonObject {
  const text = canonicalJson(args);
  return { argsHash: sha256Hex(text), argsBytes: text.length, argsPreview: text.slice(0, REFUSED_PREVIEW_CHARS) };
}

function labelsJson(l: Labels): JsonObject {
  return { classification: l.classification, trust: l.trust };
}

/** The audit body of a decision: kind, level, policy ids, policy-set hash, reasons. */
export function decisionJson(d: Decision): JsonObject {
  return {
    decision: d.kind,
    ...(d.kind === 'approval' ? { level: d.level } : {}),
    policyIds: [...d.basis.policyIds],
    policySetHash: d.basis.policySetHash,
    reasons: [...d.basis.reasons],
  };
}

function unsupported(connector: string, what: string): ConnectorResult {
  return { ok: false, failure: 'tool-error', message: `connector \`${connector}\` does not serve ${what}` };
}
