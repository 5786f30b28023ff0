// The agent loop: loads a run, asks the model, sends proposals through the gateway, saves, repeats.
// Pauses are states (awaiting-approval), never exceptions; resuming in another process is the same loop.
import { withSpan } from '../telemetry/spans.js';
import { AirlockError } from '../errors.js';
import type { WorkflowConfig, Workspace } from '../config/schema.js';
import type { RunRecord, Store } from '../store/store.js';
import type { Json, JsonObject, Principal, RunId, RunStatus } from '../types.js';
import { hashJson } from '../util/hash.js';
import { INITIAL_LABELS } from '../context/labels.js';
import type { Gateway } from '../gateway/gateway.js';
import type { GatewayOutcome } from '../gateway/types.js';
import type { AuditItem, AuditWriter } from '../audit/writer.js';
import { principalRef } from '../audit/writer.js';
import type { HistoryItem, Model, ToolResultStatus, ToolView } from './model.js';
import { storableArgs, toResult } from './results.js';
import { canTransition, exhaustedBudget, initialState, nextWork, type RunState } from './run-machine.js';
import { conclusionOf, type Conclusion } from './conclude.js';
import { expireApproval, latestRevision } from '../gateway/approvals/lifecycle.js';
import { type Notify } from '../gateway/approvals/events.js';
import { openUnknownOutcomes } from './recovery.js';
import { rec } from '../audit/records.js';
import { runStateOf, saveRunState } from './run-state.js';

export interface RunnerDeps {
  readonly workspace: Workspace;
  readonly store: Store;
  readonly gateway: Gateway;
  readonly audit: AuditWriter;
  readonly modelFor: (workflow: WorkflowConfig) => Model;
  readonly principal: (ref: string) => Principal;
  readonly now: () => Date;
  readonly newRunId: () => RunId;
  readonly policySetHash: string;
  /** Queues approval notifications (webhooks); absent: none. */
  readonly notify?: Notify | undefined;
  /** Ends a run that claims to be done: run-level checks, incidents (orchestration/conclude.ts); absent: per-action verifications only. */
  readonly conclude?: (runId: RunId, state: RunState, agent: Principal) => Promise<Conclusion>;
}

/** Drives runs forward until they pause for a human or end. */
export class Runner {
  constructor(private readonly deps: RunnerDeps) {}

  /** Starts a run of `workflowName` on `input` and drives it until it pauses or ends. */
  async start(workflowName: string, input: JsonObject, opts: { onBehalfOf?: string } = {}): Promise<RunRecord> {
    const { workspace, store, now } = this.deps;
    const workflow = workspace.workflows.get(workflowName);
    if (!workflow) {
      throw new AirlockError('not-found', `workflow \`${workflowName}\` is not declared`, {
        hint: `declared workflows: ${[...workspace.workflows.keys()].join(', ') || '(none)'}`,
      });
    }
    const agent = this.deps.principal(`agent:${workflow.agent}`);
    const onBehalfOf = opts.onBehalfOf ? this.deps.principal(opts.onBehalfOf) : undefined;
    // A workflow with no model for Airlock's own loop is refused before anything is recorded.
    const model = this.deps.modelFor(workflow);
    const id = this.deps.newRunId();
    const t = now().toISOString();
    const state = initialState(workflow.name, input, agent.id, onBehalfOf ? principalRef(onBehalfOf) : null, INITIAL_LABELS);
    const record: RunRecord = { id, workflow: workflow.name, status: 'queued', version: 1, createdAt: t, updatedAt: t, state: state as unknown as Json };
    await this.deps.audit.append({ runId: id, principal: agent, onBehalfOf }, [
      rec('run.started', { workflow: workflow.name, tier: workflow.tier, inputHash: hashJson(input), policySetHash: this.deps.policySetHash, owners: workflow.owners as Json }),
    ]);
    await store.createRun(record);
    return this.drive(record, model);
  }

  /** Continues a run from the store: after an approval decision, a restart or a crash. */
  async resume(runId: RunId): Promise<RunRecord> {
    const record = await this.deps.store.getRun(runId);
    if (!record) throw new AirlockError('not-found', `run \`${runId}\` does not exist`, { hint: 'list runs with `airlock runs`' });
    return this.drive(record);
  }

  /** Cancels a run that has not ended; a pending approval is left to expire unused. */
  async cancel(runId: RunId, by: string, reason: string): Promise<RunRecord> {
    const record = await this.deps.store.getRun(runId);
    if (!record) throw new AirlockError('not-found', `run \`${runId}\` does not exist`);
    if (!canTransition(record.status, 'cancelled') || record.status === 'cancelled') {
      throw new AirlockError('conflict', `run \`${runId}\` is ${record.status} and cannot be cancelled`);
    }
    const state = { ...runStateOf(record), reason: `cancelled by ${by}: ${reason}` };
    const saved = await this.save(record, 'cancelled', state, true);
    return saved;
  }

  private async drive(start: RunRecord, resolved?: Model): Promise<RunRecord> {
    const workflow = this.deps.workspace.workflows.get(start.workflow);
    if (!workflow) throw new AirlockError('config', `run \`${start.id}\` belongs to workflow \`${start.workflow}\`, which is no longer declared`);
    const model = resolved ?? this.deps.modelFor(workflow);
    return withSpan(`invoke_agent ${workflow.name}`, async (span) => {
      span.setAttributes({
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': workflow.name,
        'gen_ai.agent.id': workflow.agent,
        'airlock.run.id': start.id,
        'airlock.tier': workflow.tier,
      });
      const end = await this.loop(start, workflow, model);
      span.setAttribute('airlock.run.status', end.status);
      // An unverified "done" is visible in the trace too: the run's reason and its open incidents.
      const reason = runStateOf(end).reason;
      if (reason) span.setAttribute('airlock.run.reason', reason);
      if (end.status === 'unverified' || end.status === 'failed') {
        const incidents = await this.deps.store.listIncidents({ runId: end.id, status: 'open' });
        if (incidents.length > 0) span.setAttribute('airlock.incident.ids', incidents.map((i) => i.id));
      }
      return end;
    });
  }

  private async loop(start: RunRecord, workflow: WorkflowConfig, model: Model): Promise<RunRecord> {
    let record = start;
    let state = runStateOf(record);
    const agent = this.deps.principal(`agent:${state.agent}`);
    const onBehalfOf = state.onBehalfOf ? this.deps.principal(state.onBehalfOf) : undefined;
    const tools: ToolView[] = workflow.tools.flatMap((name) => {
      const c = this.deps.workspace.tools.get(name);
      return c ? [{ name: c.name, description: c.description, inputSchema: c.inputSchema as Json }] : [];
    });
    const subject = { runId: record.id, principal: agent, onBehalfOf };
    let segmentStart = Date.now();
    const elapsed = (): number => {
      const t = Date.now();
      const d = t - segmentStart;
      segmentStart = t;
      return d;
    };

    for (;;) {
      const work = nextWork(record.status, state);
      if (work === 'none') return record;

      if (work === 'recover-in-flight') {
        // A call was handed to the gateway and the process died before its result was saved.
        // Whether the effect happened is unknown here: stop and ask for a review, never guess.
        const inflight = state.inFlight;
        state = { ...state, inFlight: null, reason: `interrupted during \`${inflight?.tool ?? '?'}\`; review the audit trail and ground truth before retrying` };
        record = await this.save(record, 'failed', state, true);
        // Each call that may have reached an upstream with no outcome on record is an incident naming it.
        await openUnknownOutcomes(this.deps, record.id);
        return record;
      }

      if (work === 'check-approval') {
        const pending = state.pending;
        if (!pending) {
          state = { ...state, reason: 'awaiting approval without a pending action' };
          record = await this.save(record, 'failed', state);
          return record;
        }
        const asked = await this.deps.store.getApproval(pending.approvalId);
        if (!asked) throw new AirlockError('store', `approval \`${pending.approvalId}\` of run \`${record.id}\` is missing`);
        // An approver may have edited the arguments: the latest revision is what stands.
        const approval = await latestRevision(this.deps.store, asked);
        const revisedArgs = approval.id === asked.id ? null : (approval.summary as { args: JsonObject }).args;
        let status: ToolResultStatus;
        let content: Json;
        if (approval.status === 'pending') {
          if (Date.parse(approval.expiresAt) > this.deps.now().getTime()) return record; // still waiting
          await expireApproval(this.deps, approval);
          await this.deps.audit.append(subject, [
            rec('action.not-executed', { tool: pending.tool, approvalId: approval.id, why: 'expired', reasons: ['the approval expired before anyone decided'] }),
          ]);
          status = 'expired';
          content = { error: 'approval expired before anyone decided; the action was not executed' };
        } else if (approval.status === 'rejected') {
          const why = approval.decisions.find((d) => d.decision === 'reject');
          await this.deps.audit.append(subject, [
            rec('action.not-executed', { tool: pending.tool, approvalId: approval.id, why: 'rejected', reasons: [why?.reason ?? 'rejected'] }),
          ]);
          status = 'rejected';
          content = { error: 'rejected by an approver', reason: why?.reason ?? null, approver: why?.approver ?? null };
        } else if (approval.status === 'approved') {
          state = { ...state, inFlight: { callId: pending.callId, tool: pending.tool } };
          record = await this.save(record, 'running', state);
          const ctx = this.ctx(record.id, workflow, agent, onBehalfOf, state);
          const outcome = await this.deps.gateway.executeApproved(ctx, { tool: pending.tool, args: revisedArgs ?? pending.args }, approval.id);
          ({ status, content } = toResult(outcome.kind === 'executed' && revisedArgs ? { ...outcome, revisedArgs } : outcome));
          state = this.absorb(state, pending.callId, pending.tool, outcome);
        } else {
          if (approval.status === 'expired') {
            // Expired while nobody resumed the run (a late vote marks it): the non-execution is still audited.
            await this.deps.audit.append(subject, [
              rec('action.not-executed', { tool: pending.tool, approvalId: approval.id, why: 'expired', reasons: [`the approval expired at ${approval.expiresAt} before it was used`] }),
            ]);
          }
          status = 'expired';
          content = { error: `approval is ${approval.status}; the action was not executed` };
        }
        state = {
          ...state,
          inFlight: null,
          pending: null,
          history: [...state.history, { kind: 'tool_result', id: pending.callId, tool: pending.tool, status, content }],
        };
        record = await this.save(record, 'running', state);
        continue;
      }

      // work === 'call-model'
      state = { ...state, activeMs: state.activeMs + elapsed() };
      const exhausted = exhaustedBudget(state, workflow.budgets);
      if (exhausted) {
        state = { ...state, reason: exhausted };
        await this.deps.audit.append(subject, [rec('run.budget-exhausted', { reason: exhausted, steps: state.steps, activeMs: state.activeMs })]);
        record = await this.save(record, 'failed', state, true);
        return record;
      }
      if (record.status === 'queued') record = await this.save(record, 'running', state);

      const turn = await withSpan(`chat ${model.model}`, async (span) => {
        span.setAttributes({
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': model.provider,
          'gen_ai.request.model': model.model,
        });
        const t = await model.next({ workflow: workflow.name, input: state.input, tools, history: state.history });
        if (t.usage) {
          span.setAttributes({ 'gen_ai.usage.input_tokens': t.usage.inputTokens, 'gen_ai.usage.output_tokens': t.usage.outputTokens });
        }
        span.setAttribute('gen_ai.response.finish_reasons', [t.kind === 'final' ? 'stop' : 'tool_calls']);
        return t;
      });
      state = { ...state, steps: state.steps + 1 };

      if (turn.kind === 'final') {
        state = {
          ...state,
          final: { text: turn.text, claim: turn.claim },
          history: [...state.history, { kind: 'final', text: turn.text, claim: turn.claim }],
          activeMs: state.activeMs + elapsed(),
        };
        // "Done" needs evidence: the workflow's run-level checks read ground truth before the run ends.
        const concluded = this.deps.conclude ? await this.deps.conclude(record.id, state, agent) : conclusionOf(state, []);
        if (concluded.reason) state = { ...state, reason: concluded.reason };
        const status = concluded.status;
        record = await this.save(record, status, state, true);
        return record;
      }

      const callId = `c${state.history.filter((h) => h.kind === 'tool_call').length + 1}`;
      // The run state is stored as JSON: arguments JSON cannot hold are kept as a note, and the
      // gateway (which gets the originals) refuses and audits them.
      const call: HistoryItem = { kind: 'tool_call', id: callId, tool: String(turn.tool), args: storableArgs(turn.args), ...(turn.reasoning ? { reasoning: String(turn.reasoning) } : {}) };
      state = { ...state, history: [...state.history, call], toolCalls: state.toolCalls + 1, inFlight: { callId, tool: String(turn.tool) } };
      record = await this.save(record, 'running', state);

      const ctx = this.ctx(record.id, workflow, agent, onBehalfOf, state);
      const outcome = await this.deps.gateway.propose(ctx, { tool: turn.tool, args: turn.args, reasoning: turn.reasoning });
      if (outcome.kind === 'pending-approval') {
        state = {
          ...state,
          inFlight: null,
          pending: { approvalId: outcome.approvalId, callId, tool: turn.tool, args: turn.args },
          activeMs: state.activeMs + elapsed(),
        };
        record = await this.save(record, 'awaiting-approval', state);
        return record;
      }
      const { status, content } = toResult(outcome);
      state = this.absorb(state, callId, turn.tool, outcome);
      state = { ...state, inFlight: null, history: [...state.history, { kind: 'tool_result', id: callId, tool: turn.tool, status, content }] };
      record = await this.save(record, 'running', state);
    }
  }

  private ctx(runId: RunId, workflow: WorkflowConfig, agent: Principal, onBehalfOf: Principal | undefined, state: RunState) {
    return { runId, workflow, principal: agent, onBehalfOf, labels: state.labels, step: state.steps };
  }

  /** Folds an outcome's labels and verification into the run state. */
  private absorb(state: RunState, callId: string, tool: string, outcome: GatewayOutcome): RunState {
    if (outcome.kind !== 'executed') return state;
    const v = outcome.verification;
    return {
      ...state,
      labels: outcome.labels,
      verifications: v ? [...state.verifications, { callId, tool, status: v.outcome.status }] : state.verifications,
    };
  }

  private async save(prev: RunRecord, status: RunStatus, state: RunState, finished = false): Promise<RunRecord> {
    if (!canTransition(prev.status, status)) {
      throw new AirlockError('internal', `illegal run transition ${prev.status} → ${status} for run \`${prev.id}\``);
    }
    const items = [
      ...(status !== prev.status ? [rec('run.status', { from: prev.status, to: status, reason: state.reason })] : []),
      ...(finished ? [finishItem(status, state)] : []),
    ];
    // INVARIANT: a status change and its audit records commit in one transaction, or neither does.
    return saveRunState(this.deps, prev, { status, state }, { subject: { runId: prev.id, principal: this.deps.principal(`agent:${state.agent}`) }, items });
  }

}

/** The `run.finished` record of a run ending in `status`. */
function finishItem(status: RunStatus, state: RunState): AuditItem {
  return rec('run.finished', {
      status,
      reason: state.reason,
      steps: state.steps,
      activeMs: state.activeMs,
      claim: state.final?.claim ?? null,
      verifications: state.verifications.map((v) => ({ ...v })),
    });
}
