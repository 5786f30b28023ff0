// The one enforcement point: every proposed tool call, from any door, goes through `Gateway.propose`.
// Sequencing only: admit (admit.ts) → drift → decide → write-ahead audit → [approval (approvals/)]
// → execute (execute.ts: call, outcome, verification). Each step's rules live in its own file.
import type { Span } from '@opentelemetry/api';
import { withSpan } from '../telemetry/spans.js';
import { AIRLOCK, GEN_AI } from '../telemetry/attributes.js';
import { ContentCapture } from '../telemetry/capture.js';
import { decideAtTiers, type ValueStanding } from '../policy/decide.js';
import { principalRef } from '../identity/principal.js';
import { crossesValue, valueClaims, valueEntries, valueStandings, type ValueClaim, type ValueStandings } from './value.js';
import { randomUUID } from 'node:crypto';
import type { ApprovalRecord, AuditRecord, HaltRecord } from '../store/store.js';
import type { ToolContract } from '../config/schema.js';
import type { ApprovalId, Decision, Json, JsonObject, Sha256Hex } from '../types.js';
import { hashJson } from '../util/hash.js';
import { escapeLoneSurrogates, hasLoneSurrogate, jsonProblem } from '../util/json.js';
import { ArgumentValidator } from '../tools/validate.js';
import { isRecord, rec, recordsOf } from '../audit/records.js';
import { sightingsOf, type Sighting } from '../context/provenance.js';
import { actionHash, decisionInputs, decisionRecord, intentRecord, notExecuted, provenanceFor } from './action.js';
import { admit } from './admit.js';
import { Dispatcher, type ReadProbe } from './dispatch.js';
import { executeAction, type Authority } from './execute.js';
import { verifyExecution } from './verify.js';
import { haltedReason, haltOn } from './halts.js';
import { asRunning } from './tier.js';
import { ShadowPolicies } from './shadow.js';
import type { CompiledPolicies } from '../policy/compile.js';
import { consumeApproval } from './approvals/consume.js';
import { latestRevision } from './approvals/lifecycle.js';
import { latestApprovalOf, requestApproval } from './approvals/request.js';
import type { CallContext, GatewayDeps, GatewayOutcome, Proposal, RevisedAction, Reviser, VerificationResult } from './types.js';

export class Gateway implements Reviser {
  private readonly validator: ArgumentValidator;
  private readonly dispatch: Dispatcher;
  /** Contracts do not change while a workspace is open: each is hashed once, not on every call. */
  private readonly contractHashes = new WeakMap<ToolContract, Sha256Hex>();
  /** Reads ground truth for Airlock's own checks (verification, second path, evidence, run checks), audited as reads. */
  readonly probe: ReadProbe;

  /** What of arguments and results the tool span may hold (off by default). */
  private readonly capture: ContentCapture;
  /** The shadow policy set, decided beside the enforced one and recorded, never enforced. */
  private readonly shadow: ShadowPolicies;

  constructor(private readonly deps: GatewayDeps) {
    this.capture = new ContentCapture(deps.workspace.file.telemetry.capture, deps.workspace.file);
    this.validator = new ArgumentValidator(deps.workspace.tools);
    this.dispatch = new Dispatcher(deps);
    this.probe = this.dispatch.probe;
    this.shadow = new ShadowPolicies(deps);
  }

  /** Governs one proposed call; returns what happened. Never executes before the decision allows it. */
  async propose(given: CallContext, proposal: Proposal): Promise<GatewayOutcome> {
    return withSpan(`execute_tool ${proposal.tool}`, async (span) => {
      // The tier the workflow runs at now (a demotion lowers it at once, in every process).
      const ctx = await this.running(given);
      const out = await this.proposeInner(ctx, proposal, span);
      this.describe(span, ctx, proposal, out);
      return out;
    });
  }

  private async proposeInner(ctx: CallContext, proposal: Proposal, span: Span): Promise<GatewayOutcome> {
    const { audit } = this.deps;
    span.setAttributes({
      [GEN_AI.operationName]: 'execute_tool',
      [GEN_AI.toolName]: proposal.tool,
      [GEN_AI.toolType]: 'function',
      [AIRLOCK.runId]: ctx.runId,
      [AIRLOCK.workflow]: ctx.workflow.name,
      [AIRLOCK.labelClassification]: ctx.labels.classification,
      [AIRLOCK.labelTrust]: ctx.labels.trust,
    });
    // A halted scope refuses everything, before any decision, approval or record of intent.
    const halt = await this.haltFor(ctx, this.deps.workspace.tools.get(proposal.tool)?.connector);
    if (halt) return this.refuseHalted(ctx, halt, span, { tool: String(proposal.tool).slice(0, 200), step: ctx.step });
    const admitted = admit(ctx, proposal, this.rules);
    if (!admitted.ok) {
      await audit.append(ctx, admitted.records);
      span.setAttribute(AIRLOCK.decision, admitted.outcome.kind === 'invalid' ? 'invalid' : 'deny');
      return admitted.outcome;
    }
    const { contract, toolDefHash } = admitted;
    // The agent's reasoning is free text from outside: recorded, shown to people and hashed, so made recordable first.
    const reasoning = reasoningText(proposal.reasoning);
    const argsRef = audit.payloadRef(proposal.args, ctx.labels.classification);
    // A tool whose upstream definition changed since review is denied before anyone is asked to approve it.
    const drift = await this.deps.driftGuard?.checkContract(contract);
    if (drift && !drift.ok) {
      await audit.append(ctx, [
        rec('action.intent', { tool: contract.name, step: ctx.step, toolDefHash, argsHash: argsRef.hash }, [argsRef]),
        notExecuted('tool-drift', [drift.reason], { tool: contract.name, step: ctx.step, code: drift.code, reviewedUpstream: drift.reviewed ?? null, liveUpstream: drift.live ?? null }),
      ]);
      span.setAttribute(AIRLOCK.decision, 'deny');
      return { kind: 'denied', reasons: [drift.reason], policyIds: [], actionHash: null };
    }
    const hash = actionHash(contract.name, proposal.args, ctx.runId, ctx.principal);
    // The policy decision is a span of its own, a child of the tool's: what was decided, by which policies, obliging what.
    const { decision, claims, standing, countId } = await withSpan(`decide ${contract.name}`, async (d) => {
      const out = await this.decideCounting(ctx, contract, proposal.args, hash);
      d.setAttributes(decisionAttributes(out.decision));
      return out;
    });
    span.setAttributes(decisionAttributes(decision));
    const intent = intentRecord(contract, ctx, hash, toolDefHash, argsRef, { reasoning });
    const decidedAlone = decisionRecord(contract.name, hash, decision, { inputs: audit.payloadRef(decisionInputs(ctx, standing, provenanceFor(ctx, contract, proposal.args)), ctx.labels.classification) });
    // The shadow set's verdict on the same request travels with the decision, wherever it is appended; never enforced.
    const shadowed = await this.shadow.verdict(contract.name, hash, decision, (set) => this.decideFor(ctx, contract, proposal.args, standing, set));
    const decided = [decidedAlone, ...shadowed];

    switch (decision.kind) {
      case 'deny':
        await audit.append(ctx, [intent, ...decided, notExecuted('denied', decision.basis.reasons, { tool: contract.name, actionHash: hash })]);
        return { kind: 'denied', reasons: decision.basis.reasons, policyIds: decision.basis.policyIds, actionHash: hash };
      case 'suggest':
        await audit.append(ctx, [intent, ...decided, notExecuted('suggested', decision.basis.reasons, { tool: contract.name, actionHash: hash })]);
        return { kind: 'suggested', actionHash: hash, decision };
      case 'approval': {
        // The same canonical action proposed again (an external agent re-calling after approval, or a retry):
        // an approved one executes once, a pending one is the same approval, a rejected one stays refused.
        // An approver's edit replaced the action: what they chose is what executes (or waits).
        const found = await latestApprovalOf(this.deps.store, ctx.runId, hash);
        const prior = found ? await latestRevision(this.deps.store, found) : null;
        const revised = prior && prior.id !== found?.id ? (prior.summary as { args: JsonObject }).args : undefined;
        if (prior?.status === 'approved') {
          await audit.append(ctx, [intent]);
          const out = await this.executeApprovedInner(ctx, revised ? { tool: proposal.tool, args: revised } : proposal, prior.id, span);
          return out.kind === 'executed' && revised ? { ...out, revisedArgs: revised } : out;
        }
        if (prior?.status === 'pending') {
          await audit.append(ctx, [intent, ...decided]);
          return { kind: 'pending-approval', approvalId: prior.id, level: prior.level, actionHash: prior.actionHash, decision };
        }
        if (prior?.status === 'rejected') {
          const why = prior.decisions.find((d) => d.decision === 'reject');
          const reason = `this exact action was rejected by \`${why?.approver ?? 'an approver'}\`${why?.reason ? `: ${why.reason}` : ''}; change course instead of retrying`;
          await audit.append(ctx, [intent, ...decided, notExecuted('rejected', [reason], { tool: contract.name, actionHash: hash, approvalId: prior.id })]);
          return { kind: 'denied', reasons: [reason], policyIds: [], actionHash: hash };
        }
        const ask = { contract, args: proposal.args, hash, decision, reasoning: reasoning ?? null };
        // A standing grant may stand in for one person's approval (never for step-up or re-authentication),
        // and never for a call past a value budget: whoever granted it did not see that sum.
        if (decision.level === 'single' && this.deps.grants && !crossesValue(standing)) {
          await audit.append(ctx, [intent, ...decided]);
          // Counted on the sums decided on, before the grant's use is taken; given back if no grant covers it.
          const counted = await this.countOn(ctx, claims, standing, hash, true);
          const grant = counted === false ? null : await this.deps.grants.cover(ctx, contract, proposal.args, hash);
          if (grant) return this.executeCounted(ctx, contract, proposal.args, hash, decision, { approvalId: null, grantId: grant.grantId }, counted || null);
          if (counted) await this.deps.store.uncountValue(counted);
          const id = await requestApproval(this.asking, ctx, { ...ask, before: [] });
          return { kind: 'pending-approval', approvalId: id, level: decision.level, actionHash: hash, decision };
        }
        const id = await requestApproval(this.asking, ctx, { ...ask, before: [intent, ...decided] });
        return { kind: 'pending-approval', approvalId: id, level: decision.level, actionHash: hash, decision };
      }
      case 'allow':
        // INVARIANT: intent and decision are durable before the connector is called (write-ahead).
        await audit.append(ctx, [intent, ...decided]);
        return this.executeCounted(ctx, contract, proposal.args, hash, decision, { approvalId: null }, countId);
    }
  }

  /** The tool span's outcome: what happened, the approval it waits on or used, the verification; content only as capture allows. */
  private describe(span: Span, ctx: CallContext, proposal: Proposal, out: GatewayOutcome): void {
    span.setAttribute(AIRLOCK.outcome, out.kind);
    // The proposed arguments whatever became of them (a refused call is what one debugs), as the run's labels allow.
    const args = this.capture.content(out.kind === 'executed' && out.revisedArgs ? out.revisedArgs : proposal.args, ctx.labels.classification);
    if (args !== null) span.setAttribute(GEN_AI.toolCallArguments, args);
    if (out.kind === 'pending-approval') span.setAttribute(AIRLOCK.approvalId, out.approvalId);
    if (out.kind !== 'executed') return;
    if (out.approvalId) span.setAttribute(AIRLOCK.approvalId, out.approvalId);
    if (out.verification) span.setAttribute(AIRLOCK.verification, out.verification.outcome.status);
    if (out.flagged) span.setAttributes({ [AIRLOCK.injectionSignals]: [...new Set(out.flagged.signals.map((s) => s.kind))], [AIRLOCK.injectionQuarantined]: out.flagged.quarantined });
    const result = this.capture.content(out.result, out.labels.classification);
    if (result !== null) span.setAttribute(GEN_AI.toolCallResult, result);
  }

  /** Executes, and takes back what was counted for the action when it provably never ran (denied at the call for drift). */
  private async executeCounted(ctx: CallContext, contract: ToolContract, args: JsonObject, hash: Sha256Hex, decision: Decision, authority: Authority, countId: string | null): Promise<GatewayOutcome> {
    const out = await executeAction(this.executing, ctx, contract, args, hash, decision, authority);
    if (out.kind === 'denied' && countId) await this.deps.store.uncountValue(countId);
    return out;
  }

  /**
   * Executes an approved action. Recomputes the action hash from the real call, checks the
   * approval (approved, same hash, same run, not expired, not used), re-decides with today's
   * policy, then consumes the approval exactly once and calls the tool.
   */
  async executeApproved(given: CallContext, proposal: Proposal, approvalId: ApprovalId): Promise<GatewayOutcome> {
    return withSpan(`execute_tool ${proposal.tool}`, async (span) => {
      const ctx = await this.running(given);
      span.setAttributes({ [GEN_AI.operationName]: 'execute_tool', [GEN_AI.toolName]: proposal.tool, [GEN_AI.toolType]: 'function', [AIRLOCK.runId]: ctx.runId, [AIRLOCK.approvalId]: approvalId });
      const out = await this.executeApprovedInner(ctx, proposal, approvalId, span);
      this.describe(span, ctx, proposal, out);
      return out;
    });
  }

  private async executeApprovedInner(ctx: CallContext, proposal: Proposal, approvalId: ApprovalId, span: Span): Promise<GatewayOutcome> {
    const contract = this.deps.workspace.tools.get(proposal.tool);
    // INVARIANT: an approval given before a halt is not used while it holds: it stays approved, unused, for after.
    const halt = await this.haltFor(ctx, contract?.connector);
    if (halt) return this.refuseHalted(ctx, halt, span, { tool: String(proposal.tool).slice(0, 200), approvalId });
    const refuse = async (why: 'unknown-tool' | 'invalid-arguments', reason: string): Promise<GatewayOutcome> => {
      await this.deps.audit.append(ctx, [notExecuted(why, [reason], { tool: proposal.tool, approvalId })]);
      span.setAttribute(AIRLOCK.decision, 'deny');
      return { kind: 'denied', reasons: [reason], policyIds: [], actionHash: null };
    };
    if (!contract || !ctx.workflow.tools.includes(proposal.tool)) {
      return refuse('unknown-tool', `tool \`${proposal.tool}\` is not available to workflow \`${ctx.workflow.name}\``);
    }
    const errors = this.validator.validate(contract.name, proposal.args);
    if (errors.length > 0) return refuse('invalid-arguments', errors.join('; '));
    const hash = actionHash(contract.name, proposal.args, ctx.runId, ctx.principal);
    // A person approved it: its amount counts whatever the limit, on the sums today's policy re-decides
    // with (so a hard cap a policy wrote holds against approved calls running at once too).
    const { standing, countId } = await this.countApproved(ctx, contract, proposal.args, hash);
    const used = await consumeApproval(this.consuming, ctx, { contract, args: proposal.args, hash, tool: proposal.tool }, approvalId, () =>
      this.decideFor(ctx, contract, proposal.args, standing),
    );
    if (!used.ok) {
      if (countId) await this.deps.store.uncountValue(countId);
      span.setAttribute(AIRLOCK.decision, 'deny');
      return { kind: 'denied', ...used.refusal };
    }
    return this.executeCounted(ctx, contract, proposal.args, hash, used.decision, { approvalId }, countId);
  }

  /**
   * Records what a caller that executes itself (authorize mode) says happened. Only an action this
   * run was authorized for can be reported, once; the report is audited as the caller's word.
   */
  async reportOutcome(
    ctx: CallContext,
    report: { readonly actionHash: Sha256Hex; readonly outcome: 'ok' | 'error'; readonly result?: Json; readonly message?: string },
  ): Promise<{ ok: true; verification: VerificationResult | null; sightings: readonly Sighting[] } | { ok: false; reason: string }> {
    const records = await this.deps.store.readAuditForRun(ctx.runId);
    const grants = recordsOf(records, 'action.authorized').filter((r) => r.body.actionHash === report.actionHash);
    if (grants.length === 0) return { ok: false, reason: `action \`${report.actionHash}\` was not authorized in run \`${ctx.runId}\`` };
    // Each authorization covers one execution: the same action done twice is authorized (and reported) twice.
    const reported = recordsOf(records, 'action.executed').filter((r) => r.body.actionHash === report.actionHash && r.body.reportedBy === 'caller').length;
    if (reported >= grants.length) return { ok: false, reason: `the outcome of action \`${report.actionHash}\` was already reported` };
    const tool = String(grants[grants.length - 1]?.body.tool ?? '');
    const contract = this.deps.workspace.tools.get(tool);
    const classification = contract?.classification ?? ctx.labels.classification;
    const resultRef = report.result === undefined ? null : this.deps.audit.payloadRef(report.result, classification);
    await this.deps.audit.append(ctx, [
      rec(
        'action.executed',
        {
          tool,
          actionHash: report.actionHash,
          outcome: report.outcome,
          reportedBy: 'caller',
          resultHash: resultRef?.hash ?? null,
          ...(report.message ? { message: report.message.slice(0, 2000) } : {}),
        },
        resultRef ? [resultRef] : [],
      ),
    ]);
    // The caller's word on what came back: its values are what the agent has seen, as untrusted as any report.
    const sightings = report.outcome === 'ok' && report.result !== undefined && contract ? sightingsOf(report.result, `${contract.name} (reported)`, 'untrusted') : [];
    // "Done" needs evidence on this door too: the contract's probe checks what the caller says it did.
    if (report.outcome !== 'ok' || !contract?.verify) return { ok: true, verification: null, sightings };
    const args = await this.authorizedArgs(records, report.actionHash);
    if (!args) return { ok: true, verification: null, sightings };
    const verification = await verifyExecution({ probe: this.probe, audit: this.deps.audit }, ctx, contract, args, report.result ?? null, report.actionHash);
    return { ok: true, verification, sightings };
  }

  /**
   * An approver's edit: the same tool in the same run with the arguments the approver chose. It is a
   * new action (new hash) decided afresh with the agent as requester; the decision may escalate, or
   * deny. Returns the new approval, or why the edit cannot stand. The caller records the override.
   */
  async reviseAction(original: ApprovalRecord, args: JsonObject, ctx: CallContext, edit: { readonly by: string; readonly reason: string }): Promise<RevisedAction> {
    const contract = this.deps.workspace.tools.get(original.tool);
    if (!contract || !ctx.workflow.tools.includes(original.tool)) return { kind: 'denied', reasons: [`tool \`${original.tool}\` is no longer part of workflow \`${ctx.workflow.name}\``] };
    const notJson = jsonProblem(args);
    const errors = notJson ? [notJson] : this.validator.validate(contract.name, args);
    if (errors.length > 0) return { kind: 'invalid', errors };
    const hash = actionHash(contract.name, args, ctx.runId, ctx.principal);
    if (hash === original.actionHash) return { kind: 'invalid', errors: ['the edited arguments are the same as the proposed ones: approve it as it is instead'] };
    const decision = this.decideFor(ctx, contract, args);
    const argsRef = this.deps.audit.payloadRef(args, ctx.labels.classification);
    const intent = intentRecord(contract, ctx, hash, this.toolDefHash(contract), argsRef, { revisionOf: original.id, revisedBy: edit.by });
    const decided = decisionRecord(contract.name, hash, decision, { inputs: this.deps.audit.payloadRef(decisionInputs(ctx, undefined, provenanceFor(ctx, contract, args)), ctx.labels.classification) });
    if (decision.kind === 'deny' || decision.kind === 'suggest') {
      await this.deps.audit.append(ctx, [intent, decided, notExecuted('edit-denied', decision.basis.reasons, { tool: contract.name, actionHash: hash })]);
      return { kind: 'denied', reasons: decision.basis.reasons };
    }
    // An edit is a human choice: even an action policy would allow outright is approved by someone.
    const asApproval: Extract<Decision, { kind: 'approval' }> = decision.kind === 'approval' ? decision : { kind: 'approval', level: 'single', basis: decision.basis };
    // The evidence says who wrote these arguments and why; the agent's reasoning was about its own proposal.
    const why = `edited by ${edit.by} (was approval ${original.id}): ${edit.reason}`;
    const id = await requestApproval(this.asking, ctx, { contract, args, hash, decision: asApproval, before: [intent, decided], reasoning: why, edit: { from: original, by: edit.by } });
    const created = await this.deps.store.getApproval(id);
    if (!created) throw new Error(`approval ${id} vanished after it was created`);
    return { kind: 'created', approval: created };
  }

  /** `ctx` with its workflow at the tier it runs at now (gateway/tier.ts). */
  private async running(ctx: CallContext): Promise<CallContext> {
    const workflow = await asRunning(this.deps.store, ctx.workflow);
    return workflow === ctx.workflow ? ctx : { ...ctx, workflow, declaredTier: ctx.workflow.tier };
  }

  /** The active halt on the call's scopes (its workflow, principals and connector, or everything), read from the store now. */
  private haltFor(ctx: CallContext, connector: string | undefined): Promise<HaltRecord | null> {
    return haltOn(this.deps.store, { workflow: ctx.workflow.name, principal: principalRef(ctx.principal), onBehalfOf: ctx.onBehalfOf ? principalRef(ctx.onBehalfOf) : null, connector });
  }

  /** A call refused because its scope is halted: audited `action.not-executed` (`halted`), nothing else happens. */
  private async refuseHalted(ctx: CallContext, halt: HaltRecord, span: Span, about: { tool: string; step?: number; actionHash?: Sha256Hex; approvalId?: ApprovalId }): Promise<GatewayOutcome> {
    const reason = haltedReason(halt);
    await this.deps.audit.append(ctx, [notExecuted('halted', [reason], { ...about, code: halt.id })]);
    span.setAttribute(AIRLOCK.decision, 'deny');
    return { kind: 'denied', reasons: [reason], policyIds: [], actionHash: about.actionHash ?? null, halt: halt.id };
  }

  /** The arguments of an authorized action, from its intent record's stored payload. */
  private async authorizedArgs(records: readonly AuditRecord[], hash: Sha256Hex): Promise<JsonObject | null> {
    const intent = [...records].reverse().find((r) => isRecord(r, 'action.intent') && r.body.actionHash === hash);
    const argsHash = intent?.body['argsHash'];
    if (typeof argsHash !== 'string') return null;
    const data = await this.deps.store.getPayload(argsHash as Sha256Hex);
    return data === null ? null : (JSON.parse(data) as JsonObject);
  }

  /** The pure decision (by the enforced set, or `policies`), fed with the contract, the run's labels, where the call's value budgets stand and where its arguments came from. */
  private decideFor(ctx: CallContext, contract: ToolContract, args: JsonObject, value?: Record<string, ValueStanding>, policies: CompiledPolicies = this.deps.policies): Decision {
    const provenance = provenanceFor(ctx, contract, args);
    return decideAtTiers(
      policies,
      {
        principal: ctx.principal,
        ...(ctx.onBehalfOf ? { onBehalfOf: ctx.onBehalfOf } : {}),
        tool: contract,
        workflow: ctx.workflow.name,
        tier: ctx.workflow.tier,
        args,
        labels: ctx.labels,
        ...(value ? { value } : {}),
        ...(provenance ? { provenance } : {}),
      },
      ctx.declaredTier,
    );
  }

  /**
   * The decision on a call a value budget counts, with its amount counted when it is allowed without
   * a person. INVARIANT: the count is made on the very sums the decision saw (one store write compares
   * them and checks each budget's limit), so concurrent calls cannot slip together under a limit, or
   * under a threshold a policy wrote; a call that lost the race is decided again on the new sums.
   */
  private async decideCounting(
    ctx: CallContext,
    contract: ToolContract,
    args: JsonObject,
    hash: Sha256Hex,
  ): Promise<{ decision: Decision; claims: ValueClaim[]; standing: ValueStandings | undefined; countId: string | null }> {
    const claims = this.claimsOf(ctx, contract, args);
    if (claims.length === 0) return { decision: this.decideFor(ctx, contract, args), claims, standing: undefined, countId: null };
    let spent = await this.sums(claims);
    for (let attempt = 0; attempt < 3; attempt++) {
      const standing = valueStandings(claims, spent);
      const decision = this.decideFor(ctx, contract, args, standing);
      if (decision.kind !== 'allow') return { decision, claims, standing, countId: null };
      const countId = randomUUID();
      const counted = await this.deps.store.addValue(valueEntries(claims, true), this.countMeta(ctx, hash, countId), spent);
      if (counted.ok) return { decision, claims, standing, countId };
      spent = [...counted.spent];
    }
    // Still racing after three tries: nobody can say which sum the call would be counted on, so a person decides.
    const standing = valueStandings(claims, spent);
    const decision = this.decideFor(ctx, contract, args, standing);
    if (decision.kind !== 'allow') return { decision, claims, standing, countId: null };
    const reasons = [...decision.basis.reasons, 'the value budget could not be counted under concurrent calls: a person decides'];
    return { decision: { kind: 'approval', level: 'single', basis: { ...decision.basis, reasons } }, claims, standing, countId: null };
  }

  /**
   * Counts a call on the sums `standing` was decided on, under each budget's limit (`limited`) or past
   * it. Returns the count's id, null when nothing is counted (no budget applies), false when the sums moved.
   */
  private async countOn(ctx: CallContext, claims: readonly ValueClaim[], standing: ValueStandings | undefined, hash: Sha256Hex, limited: boolean): Promise<string | null | false> {
    if (claims.length === 0 || !standing) return null;
    const countId = randomUUID();
    const spent = claims.map((c) => standing[c.budget.name]?.spent ?? 0);
    const counted = await this.deps.store.addValue(valueEntries(claims, limited), this.countMeta(ctx, hash, countId), spent);
    return counted.ok ? countId : false;
  }

  /**
   * An approved call's count, past any limit, made on the sums today's policy re-decides it with. A
   * call policy now denies is not counted (its approval will be refused on the same sums).
   */
  private async countApproved(ctx: CallContext, contract: ToolContract, args: JsonObject, hash: Sha256Hex): Promise<{ standing: ValueStandings | undefined; countId: string | null }> {
    const claims = this.claimsOf(ctx, contract, args);
    if (claims.length === 0) return { standing: undefined, countId: null };
    let standing = valueStandings(claims, await this.sums(claims));
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.decideFor(ctx, contract, args, standing).kind === 'deny') return { standing, countId: null };
      const countId = await this.countOn(ctx, claims, standing, hash, false);
      if (countId !== false) return { standing, countId };
      standing = valueStandings(claims, await this.sums(claims));
    }
    // Still racing: the sums can only have grown, so a hard cap is checked on what stands now; counted as it is.
    const countId = randomUUID();
    await this.deps.store.addValue(valueEntries(claims, false), this.countMeta(ctx, hash, countId));
    return { standing: valueStandings(claims, await this.sums(claims)), countId };
  }

  /** The value-budget sums a call counts against (none for a contract without `value`). */
  private claimsOf(ctx: CallContext, contract: ToolContract, args: JsonObject): ValueClaim[] {
    const budgets = this.deps.workspace.file.valueBudgets;
    return budgets.length === 0 ? [] : valueClaims(budgets, contract, args, { principal: principalRef(ctx.principal), workflow: ctx.workflow.name }, this.deps.now());
  }

  private sums(claims: readonly ValueClaim[]): Promise<number[]> {
    return Promise.all(claims.map((c) => this.deps.store.valueSpent(c.budget.name, c.bucket, c.since)));
  }

  private countMeta(ctx: CallContext, hash: Sha256Hex, countId: string) {
    return { at: this.deps.now().toISOString(), runId: ctx.runId, actionHash: hash, countId };
  }

  private toolDefHash(contract: ToolContract): Sha256Hex {
    let h = this.contractHashes.get(contract);
    if (!h) {
      h = hashJson(contract);
      this.contractHashes.set(contract, h);
    }
    return h;
  }

  /** What admission looks things up in. */
  private get rules() {
    return { tools: this.deps.workspace.tools, toolDefHash: (c: ToolContract) => this.toolDefHash(c), validate: (name: string, args: unknown) => this.validator.validate(name, args) };
  }

  /** Every tool's name and upstream name (those that read as identifiers, `get_ticket`, never a plain word like `refund`): their mention in untrusted content is an injection signal. */
  private get toolNames(): readonly string[] {
    this.names ??= [...this.deps.workspace.tools.values()].flatMap((t) => [t.name, t.upstream ?? t.name.slice(t.name.indexOf('.') + 1)]).filter((n) => /[._]/.test(n) && n.length >= 6);
    return this.names;
  }
  private names: readonly string[] | undefined;

  /** The deps of each step, from the gateway's own. */
  private get executing() {
    const injection = this.deps.workspace.file.injection;
    return { audit: this.deps.audit, dispatch: this.dispatch, driftGuard: this.deps.driftGuard, injection: { ...injection, toolNames: this.toolNames }, halted: (ctx: CallContext, c: ToolContract) => this.haltFor(ctx, c.connector) };
  }

  private get asking() {
    return { ...this.deps, probe: this.probe };
  }

  private get consuming() {
    return { ...this.deps, probe: this.probe };
  }
}

/** The agent's stated reason as Airlock keeps it: text only, lone surrogates written out, at most 4,000 characters. */
function reasoningText(r: unknown): string | undefined {
  if (typeof r !== 'string' || r === '') return undefined;
  const text = r.length > 4000 ? r.slice(0, 4000) : r;
  return hasLoneSurrogate(text) ? escapeLoneSurrogates(text) : text;
}

/** A decision as span attributes: its kind, the policies that produced it, and what it obliges before the action runs. */
function decisionAttributes(decision: Decision): Record<string, string | string[]> {
  return {
    [AIRLOCK.decision]: decision.kind,
    [AIRLOCK.policyIds]: [...decision.basis.policyIds],
    [AIRLOCK.policySetHash]: decision.basis.policySetHash,
    [AIRLOCK.obligation]: decision.kind === 'approval' ? decision.level : decision.kind === 'allow' ? 'none' : decision.kind,
  };
}
