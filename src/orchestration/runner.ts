// The agent loop: loads a run, asks the model, sends proposals through the gateway, saves, repeats.
// Pauses are states (awaiting-approval), never exceptions; resuming in another process is the same loop.
import type { Span } from '@opentelemetry/api';
import { contextFromTraceparent, traceparentOf, withSpan } from '../telemetry/spans.js';
import { AIRLOCK, GEN_AI } from '../telemetry/attributes.js';
import { ContentCapture } from '../telemetry/capture.js';
import { AirlockError } from '../errors.js';
import type { WorkflowConfig, Workspace } from '../config/schema.js';
import type { RunRecord, Store } from '../store/store.js';
import type { Json, JsonObject, Principal, RunId } from '../types.js';
import { hashJson } from '../util/hash.js';
import { INITIAL_LABELS, joinLabels } from '../context/labels.js';
import { NOTHING_SEEN } from '../context/provenance.js';
import type { Gateway } from '../gateway/gateway.js';
import type { GatewayOutcome } from '../gateway/types.js';
import type { AuditWriter } from '../audit/writer.js';
import { principalRef } from '../audit/writer.js';
import { costMicros, TurnError, type Model, type ModelTurn, type ModelUsage, type SetAsideAnswer, type ToolResultStatus, type ToolView, type TurnRoute } from './model.js';
import { storableArgs, toResult } from './results.js';
import { canTransition, exhaustedBudget, initialState, nextWork, type RunState } from './run-machine.js';
import { transition, type RunEvent } from './run-transition.js';
import { conclusionOf, type Conclusion } from './conclude.js';
import { expireApproval, latestRevision } from '../gateway/approvals/lifecycle.js';
import { type Notify } from '../gateway/approvals/events.js';
import { openUnknownOutcomes } from './recovery.js';
import { isRepairTurn, malformedEvent, unusableReason } from './repair.js';
import { rec } from '../audit/records.js';
import { dailyBudgetReached, runStateOf, saveRunState } from './run-state.js';
import { noteFlagged } from './incidents.js';
import { haltedReason, haltOn } from '../gateway/halts.js';
import type { HaltRecord } from '../store/store.js';
import type { InstanceLease } from './instance.js';
import { TERMINAL_RUN_STATUSES } from '../types.js';

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
  /**
   * This process's lease (instance.ts). With it, a run is driven only while this instance holds it in
   * the store's queue of runs to drive (`claimRun`): two instances never drive one run at once, and a
   * dead instance's runs are taken over by the others (`driveDue`). Absent: one process, no claims.
   */
  readonly lease?: InstanceLease;
}

/** What continuing a stored run came to: driven here, or held by another live instance (which sees what changed). */
export interface Continued {
  readonly run: RunRecord;
  readonly here: boolean;
}

/** When a run left running by a fault (not a pause) is tried again, by any instance. */
const RETRY_AFTER_MS = 30_000;

/** Drives runs forward until they pause for a human or end. */
export class Runner {
  private readonly capture: ContentCapture;
  /** The runs this instance holds and drives now. */
  private readonly driving = new Set<RunId>();
  /** Runs asked for while this instance was driving them (a decision, the queue): driven again once that drive ends. */
  private readonly askedWhileDriving = new Set<RunId>();

  constructor(private readonly deps: RunnerDeps) {
    this.capture = new ContentCapture(deps.workspace.file.telemetry.capture, deps.workspace.file);
  }

  /** Starts a run of `workflowName` on `input` and drives it until it pauses or ends. */
  async start(workflowName: string, input: JsonObject, opts: { onBehalfOf?: string } = {}): Promise<RunRecord> {
    const { workspace, now } = this.deps;
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
    // No run starts in a halted scope: refused, and the refusal is on record.
    const halt = await haltOn(this.deps.store, { workflow: workflow.name, principal: principalRef(agent), onBehalfOf: onBehalfOf ? principalRef(onBehalfOf) : null });
    if (halt) {
      const reason = haltedReason(halt);
      await this.deps.audit.append({ runId: null, principal: agent, onBehalfOf }, [rec('request.refused', { door: 'runner', why: 'halted', reason })]);
      throw new AirlockError('conflict', `no run of workflow \`${workflow.name}\` starts now: ${reason}`, { hint: 'see `airlock halts`; an owner lifts it with `airlock resume`' });
    }
    const id = this.deps.newRunId();
    // INVARIANT: claimed before it exists, so no instance ever finds it in the store unclaimed while it is driven here.
    await this.claim(id);
    // The run's first span begins its trace; the trace is stored with the run, so every later segment continues it.
    return this.holding(id, () => withSpan(`invoke_agent ${workflow.name}`, async (span) => {
      const t = now().toISOString();
      // The input is the first thing the run has read: its labels start at the input's classification.
      const labels = joinLabels(INITIAL_LABELS, { classification: workflow.inputClassification, trust: 'trusted' });
      const traceparent = traceparentOf(span);
      const state = { ...initialState(workflow.name, input, agent.id, onBehalfOf ? principalRef(onBehalfOf) : null, labels), ...(traceparent ? { trace: { traceparent } } : {}) };
      const record: RunRecord = { id, workflow: workflow.name, status: 'queued', version: 1, createdAt: t, updatedAt: t, state: state as unknown as Json };
      // The run and its `run.started` record land together, or neither does.
      await this.deps.audit.createRun(record, { runId: id, principal: agent, onBehalfOf }, [
        rec('run.started', { workflow: workflow.name, tier: workflow.tier, inputHash: hashJson(input), policySetHash: this.deps.policySetHash, owners: workflow.owners as Json }),
      ]);
      return this.segment(span, record, workflow, model);
    }));
  }

  /** Continues a run from the store: after an approval decision, a restart or a crash. As stored when another instance drives it now. */
  async resume(runId: RunId): Promise<RunRecord> {
    return (await this.resumeHere(runId)).run;
  }

  /**
   * Continues a run from the store here, unless another live instance drives it now (then it is
   * returned as stored, `here` false: that instance sees whatever changed, or the store hands the run
   * on once it releases it). Only Airlock's own runs: an external agent's or a rollback's are returned as they are.
   */
  async resumeHere(runId: RunId): Promise<Continued> {
    if (!(await this.claim(runId))) {
      const stored = await this.deps.store.getRun(runId);
      if (!stored) throw new AirlockError('not-found', `run \`${runId}\` does not exist`, { hint: 'list runs with `airlock runs`' });
      return { run: stored, here: false };
    }
    return this.holding(runId, async () => {
      const record = await this.deps.store.getRun(runId);
      if (!record) throw new AirlockError('not-found', `run \`${runId}\` does not exist`, { hint: 'list runs with `airlock runs`' });
      if (runStateOf(record).driver !== 'model') return record;
      return this.drive(record);
    }).then((run) => ({ run, here: true }));
  }

  /** Marks an own run due in the store's queue (people decided its approval): any instance may take it from now on. */
  async wake(runId: RunId): Promise<void> {
    if (this.deps.lease) await this.deps.store.wakeRun(runId, this.deps.now().toISOString());
  }

  /**
   * Takes up to `limit` runs due in the store's queue that no live instance holds (woken by a decision
   * whose instance did not go on, a deadline reached, a dead instance's runs) and drives each on, a
   * few at a time. The housekeeping of `airlock serve` calls it; without a lease it does nothing.
   */
  async driveDue(limit = 8): Promise<{ readonly driven: readonly RunId[]; readonly failed: readonly { readonly runId: RunId; readonly error: string }[] }> {
    const lease = this.deps.lease;
    if (!lease) return { driven: [], failed: [] };
    await lease.keep();
    const ids = await this.deps.store.claimDueRuns(lease.identity.id, this.deps.now().toISOString(), limit, await lease.gone());
    const failed: { runId: RunId; error: string }[] = [];
    await Promise.all(
      ids.map((id) =>
        this.resumeHere(id).catch((err: unknown) => {
          failed.push({ runId: id, error: err instanceof Error ? err.message : String(err) });
        }),
      ),
    );
    return { driven: ids, failed };
  }

  /**
   * Takes `runId` for this instance (always true without a lease): false while another live instance
   * holds it, or while this one drives it already (a decision and the queue may reach one run at once).
   */
  private async claim(runId: RunId): Promise<boolean> {
    const lease = this.deps.lease;
    if (!lease) return true;
    if (this.driving.has(runId)) {
      this.askedWhileDriving.add(runId);
      return false;
    }
    // INVARIANT: marked before the first await, so two callers in this process never both hold it.
    this.driving.add(runId);
    try {
      await lease.keep();
      const held = await this.deps.store.claimRun(runId, lease.identity.id, this.deps.now().toISOString(), await lease.gone());
      if (!held) this.letGo(runId);
      return held;
    } catch (err) {
      this.letGo(runId);
      throw err;
    }
  }

  /** Forgets a run this instance did not get to hold (another holds it, or the store failed): an ask meanwhile is answered by that. */
  private letGo(runId: RunId): void {
    this.driving.delete(runId);
    this.askedWhileDriving.delete(runId);
  }

  /**
   * Runs `drive` while holding `runId`, then gives it back: for good once it ended (or cannot go on
   * without a person: a halt, a workflow gone), until its approval's deadline while it waits for one,
   * and for a retry by any instance when a fault stopped it mid-way.
   */
  private async holding(runId: RunId, drive: () => Promise<RunRecord>): Promise<RunRecord> {
    const lease = this.deps.lease;
    if (!lease) return drive();
    let end: RunRecord | null = null;
    let fault: unknown = null;
    try {
      end = await drive();
      return end;
    } catch (err) {
      fault = err;
      throw err;
    } finally {
      const due = await this.dueAgain(runId, end, fault).catch(() => new Date(this.deps.now().getTime() + RETRY_AFTER_MS).toISOString());
      await this.deps.store.releaseRun(runId, lease.identity.id, due).catch(() => undefined);
      this.driving.delete(runId);
      // Asked for while it ended (even by the queue, which may have handed it to this instance again in the
      // instant after the release): taken and driven again here, or by whichever instance holds it now.
      if (this.askedWhileDriving.delete(runId)) void this.resumeHere(runId).catch(() => undefined);
    }
  }

  /** When a run given back is due again: null when nothing is left for an instance to do. */
  private async dueAgain(runId: RunId, end: RunRecord | null, fault: unknown): Promise<string | null> {
    if (fault instanceof AirlockError && (fault.code === 'config' || fault.code === 'not-found' || fault.code === 'input')) return null;
    const run = end ?? (await this.deps.store.getRun(runId));
    if (!run || TERMINAL_RUN_STATUSES.includes(run.status)) return null;
    const state = runStateOf(run);
    if (state.driver !== 'model' || state.halt) return null; // a person lifting the halt drives it on
    if (run.status === 'awaiting-approval' && state.pending && end) {
      const approval = await this.deps.store.getApproval(state.pending.approvalId);
      return approval?.status === 'pending' ? approval.expiresAt : this.deps.now().toISOString();
    }
    return new Date(this.deps.now().getTime() + RETRY_AFTER_MS).toISOString();
  }

  /** Cancels a run that has not ended; a pending approval is left to expire unused. */
  async cancel(runId: RunId, by: string, reason: string): Promise<RunRecord> {
    const record = await this.deps.store.getRun(runId);
    if (!record) throw new AirlockError('not-found', `run \`${runId}\` does not exist`);
    if (!canTransition(record.status, 'cancelled') || record.status === 'cancelled') {
      throw new AirlockError('conflict', `run \`${runId}\` is ${record.status} and cannot be cancelled`);
    }
    return this.save(record, { type: 'ended', status: 'cancelled', reason: `cancelled by ${by}: ${reason}` });
  }

  /** A later segment of a stored run (after a pause, a restart or a crash): a span in the run's own trace, under its first span. */
  private async drive(start: RunRecord): Promise<RunRecord> {
    const workflow = this.deps.workspace.workflows.get(start.workflow);
    if (!workflow) throw new AirlockError('config', `run \`${start.id}\` belongs to workflow \`${start.workflow}\`, which is no longer declared`);
    const model = this.deps.modelFor(workflow);
    const traceparent = runStateOf(start).trace?.traceparent;
    return withSpan(
      `invoke_agent ${workflow.name}`,
      (span) => this.segment(span, start, workflow, model),
      traceparent ? { parent: contextFromTraceparent(traceparent), attributes: { [AIRLOCK.runResumed]: 1 } } : {},
    );
  }

  /** Drives the run inside its span `span`, which ends up saying how the run stands, why, and what it cost so far. */
  private async segment(span: Span, start: RunRecord, workflow: WorkflowConfig, model: Model): Promise<RunRecord> {
    span.setAttributes({
      [GEN_AI.operationName]: 'invoke_agent',
      [GEN_AI.agentName]: workflow.name,
      [GEN_AI.agentId]: workflow.agent,
      [AIRLOCK.runId]: start.id,
      [AIRLOCK.workflow]: workflow.name,
      [AIRLOCK.tier]: workflow.tier,
    });
    const end = await this.loop(start, workflow, model);
    span.setAttribute(AIRLOCK.runStatus, end.status);
    const state = runStateOf(end);
    span.setAttributes({ [AIRLOCK.labelClassification]: state.labels.classification, [AIRLOCK.labelTrust]: state.labels.trust });
    // The run's cost, rolled up by the one rule: the sum of its model calls' costs (each on its leaf `chat` span), as run state counts it.
    if (state.usage.currency !== null) span.setAttributes({ [AIRLOCK.runCost]: state.usage.costMicros / 1_000_000, [AIRLOCK.costCurrency]: state.usage.currency });
    // An unverified "done" is visible in the trace too: the run's reason and its open incidents.
    if (state.reason) span.setAttribute(AIRLOCK.runReason, state.reason);
    if (end.status === 'unverified' || end.status === 'failed') {
      const incidents = await this.deps.store.listIncidents({ runId: end.id, status: 'open' });
      if (incidents.length > 0) span.setAttribute(AIRLOCK.incidentIds, incidents.map((i) => i.id));
    }
    return end;
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

    /** Applies `events` to the run as loaded, saves it with the records saying what changed, and reloads. */
    // Active time counted between saves rides on the next one.
    let carried: RunEvent[] = [];
    const step = async (...events: RunEvent[]): Promise<RunRecord> => {
      record = await this.save(record, ...carried, ...events);
      carried = [];
      state = runStateOf(record);
      return record;
    };

    for (;;) {
      const work = nextWork(record.status, state);
      if (work === 'none') return record;

      // The kill switch, before every step: a run in a halted scope stops here and waits for an owner.
      if (work !== 'recover-in-flight') {
        const halt = await this.haltFor(workflow, state);
        if (halt) return state.halt?.id === halt.id ? record : step(...carried, haltedEvent(halt));
        if (state.halt) {
          await step({ type: 'halt-lifted' });
          continue;
        }
      }

      if (work === 'recover-in-flight') {
        // A call was handed to the gateway and the process died before its result was saved.
        // Whether the effect happened is unknown here: stop and ask for a review, never guess.
        const tool = state.inFlight?.tool ?? '?';
        await step({ type: 'ended', status: 'failed', reason: `interrupted during \`${tool}\`; review the audit trail and ground truth before retrying` });
        // Each call that may have reached an upstream with no outcome on record is an incident naming it.
        await openUnknownOutcomes(this.deps, record.id);
        return record;
      }

      if (work === 'check-approval') {
        const pending = state.pending;
        if (!pending) return step({ type: 'ended', status: 'failed', reason: 'awaiting approval without a pending action' });
        const asked = await this.deps.store.getApproval(pending.approvalId);
        if (!asked) throw new AirlockError('store', `approval \`${pending.approvalId}\` of run \`${record.id}\` is missing`);
        // An approver may have edited the arguments: the latest revision is what stands.
        const approval = await latestRevision(this.deps.store, asked);
        const revisedArgs = approval.id === asked.id ? null : (approval.summary as { args: JsonObject }).args;
        let answer: RunEvent & { type: 'call-returned' };
        const refused = (status: ToolResultStatus, content: Json): RunEvent & { type: 'call-returned' } => ({ type: 'call-returned', id: pending.callId, tool: pending.tool, status, content });
        if (approval.status === 'pending') {
          if (Date.parse(approval.expiresAt) > this.deps.now().getTime()) return record; // still waiting
          await expireApproval(this.deps, approval);
          await this.deps.audit.append(subject, [
            rec('action.not-executed', { tool: pending.tool, approvalId: approval.id, why: 'expired', reasons: ['the approval expired before anyone decided'] }),
          ]);
          answer = refused('expired', { error: 'approval expired before anyone decided; the action was not executed' });
        } else if (approval.status === 'rejected') {
          const why = approval.decisions.find((d) => d.decision === 'reject');
          await this.deps.audit.append(subject, [
            rec('action.not-executed', { tool: pending.tool, approvalId: approval.id, why: 'rejected', reasons: [why?.reason ?? 'rejected'] }),
          ]);
          answer = refused('rejected', { error: 'rejected by an approver', reason: why?.reason ?? null, approver: why?.approver ?? null });
        } else if (approval.status === 'approved') {
          await step({ type: 'approved-call-sent' });
          const ctx = this.ctx(record.id, workflow, agent, onBehalfOf, state);
          const outcome = await this.deps.gateway.executeApproved(ctx, { tool: pending.tool, args: revisedArgs ?? pending.args }, approval.id);
          // Halted as it was about to execute: the approval was not used, and waits with the run.
          if (outcome.kind === 'denied' && outcome.halt) return step({ type: 'halted', haltId: outcome.halt, reason: outcome.reasons[0] ?? 'halted' });
          await noteFlagged(this.deps, record.id, pending.tool, outcome);
          answer = returned(pending.callId, pending.tool, outcome.kind === 'executed' && revisedArgs ? { ...outcome, revisedArgs } : outcome);
        } else {
          if (approval.status === 'expired') {
            // Expired while nobody resumed the run (a late vote marks it): the non-execution is still audited.
            await this.deps.audit.append(subject, [
              rec('action.not-executed', { tool: pending.tool, approvalId: approval.id, why: 'expired', reasons: [`the approval expired at ${approval.expiresAt} before it was used`] }),
            ]);
          }
          answer = refused('expired', { error: `approval is ${approval.status}; the action was not executed` });
        }
        await step(answer);
        continue;
      }

      // work === 'call-model'
      carried = [...carried, { type: 'time', ms: elapsed() }];
      const exhausted = exhaustedBudget(transition({ status: record.status, state }, ...carried).state, workflow.budgets) ?? (await dailyBudgetReached(this.deps.store, this.deps.now(), state, workflow.budgets));
      if (exhausted) return step({ type: 'budget-exhausted', reason: exhausted });
      if (record.status === 'queued') await step({ type: 'started' });

      let turn: ModelTurn;
      try {
        turn = await this.askModel(model, workflow, state, tools);
      } catch (e) {
        // Answers set aside before the turn failed are still on record, their usage spent.
        const spent = e instanceof TurnError ? e.setAside.map((a) => this.answered(model, workflow, a.route, a.usage, a)) : [];
        // No route may take the turn (clearance, or routing on risk): the run ends, and the refusal is on record.
        if (e instanceof AirlockError && e.code === 'policy') return step(...spent, { type: 'model-refused', reason: e.message }, { type: 'ended', status: 'failed', reason: e.message });
        // The provider failed after its retries (and any fallback), or answered what could not be read:
        // the run ends here, saying why (no call was in flight), never left running with an answer unrecorded.
        if (!(e instanceof TurnError) && (!(e instanceof AirlockError) || (e.code !== 'connector' && e.code !== 'connector-timeout'))) throw e;
        return step(...spent, { type: 'ended', status: 'failed', reason: e.message });
      }

      const answered: RunEvent[] = [...(turn.setAside ?? []).map((a) => this.answered(model, workflow, a.route, a.usage, a)), this.answered(model, workflow, turn.route, turn.usage)];
      // A reply that cannot be used is never acted on: the model is told why once, and a second in a row ends the run.
      const repairing = isRepairTurn(state.history);
      if (turn.kind === 'malformed') {
        const bad = malformedEvent(turn, repairing);
        if (repairing) return step(...answered, bad, { type: 'ended', status: 'failed', reason: unusableReason(bad) });
        await step(...answered, bad, { type: 'time', ms: elapsed() });
        continue;
      }
      if (turn.kind === 'final') {
        // "Done" needs evidence: the workflow's run-level checks read ground truth before the run ends.
        const claimed: RunEvent[] = [...answered, { type: 'claimed', text: turn.text, claim: turn.claim }, { type: 'time', ms: elapsed() }];
        const claimedState = transition({ status: record.status, state }, ...carried, ...claimed).state;
        const concluded = this.deps.conclude ? await this.deps.conclude(record.id, claimedState, agent) : conclusionOf(claimedState, []);
        return step(...claimed, { type: 'ended', status: concluded.status, reason: concluded.reason });
      }

      const callId = `c${state.history.filter((h) => h.kind === 'tool_call').length + 1}`;
      const tool = String(turn.tool);
      // The run state is stored as JSON: arguments JSON cannot hold are kept as a note, and the
      // gateway (which gets the originals) refuses and audits them.
      await step(...answered, { type: 'call-sent', id: callId, tool, args: storableArgs(turn.args), ...(turn.reasoning ? { reasoning: String(turn.reasoning) } : {}), at: this.deps.now().toISOString() });

      const ctx = this.ctx(record.id, workflow, agent, onBehalfOf, state);
      const outcome = await this.deps.gateway.propose(ctx, { tool: turn.tool, args: turn.args, reasoning: turn.reasoning });
      await noteFlagged(this.deps, record.id, turn.tool, outcome);
      if (outcome.kind === 'pending-approval') {
        return step({ type: 'approval-awaited', approvalId: outcome.approvalId, id: callId, tool: turn.tool, args: turn.args }, { type: 'time', ms: elapsed() });
      }
      const result = returned(callId, turn.tool, outcome);
      // Halted under this call (a halt on its connector, or one committed since the last step): the model
      // hears the refusal, and the run waits for an owner before it takes another turn.
      if (outcome.kind === 'denied' && outcome.halt) return step(result, { type: 'halted', haltId: outcome.halt, reason: outcome.reasons[0] ?? 'halted' }, { type: 'time', ms: elapsed() });
      // A tool it was not offered: the gateway refused and audited it; the model is also told, as for any unusable reply.
      if (tools.some((t) => t.name === turn.tool)) {
        await step(result);
        continue;
      }
      const bad = malformedEvent({ problem: 'unknown-tool', detail: `\`${turn.tool.slice(0, 100)}\` is not one of the tools offered`, tool: turn.tool }, repairing);
      if (repairing) return step(result, bad, { type: 'ended', status: 'failed', reason: unusableReason(bad) });
      await step(result, bad);
    }
  }


  /** The active halt on the run's scopes (and on the connector of the call it waits on), read from the store now. */
  private haltFor(workflow: WorkflowConfig, state: RunState): Promise<HaltRecord | null> {
    const connector = state.pending ? this.deps.workspace.tools.get(state.pending.tool)?.connector : undefined;
    return haltOn(this.deps.store, { workflow: workflow.name, principal: `agent:${state.agent}`, onBehalfOf: state.onBehalfOf, connector });
  }

  /** A model's answer as the run records it: the route that gave it (or the workflow's model), its usage, and whether it was set aside. */
  private answered(model: Model, workflow: WorkflowConfig, r: TurnRoute | undefined, usage: ModelUsage | undefined, setAside?: SetAsideAnswer): RunEvent {
    const at = this.deps.now().toISOString();
    const aside = setAside ? { setAside: { tool: setAside.tool, risk: setAside.risk, to: setAside.to } } : {};
    return r
      ? { type: 'model-answered', route: r.name, provider: r.provider, model: r.model, usage, price: r.price, why: r.why, at, ...aside }
      : { type: 'model-answered', route: model.route ?? workflow.model ?? model.model, provider: model.provider, model: model.model, usage, price: model.price, at, ...aside };
  }

  /** One model turn, in a `chat` span with the GenAI attributes. */
  private askModel(model: Model, workflow: WorkflowConfig, state: RunState, tools: ToolView[]): Promise<ModelTurn> {
    return withSpan(`chat ${model.model}`, async (span) => {
      span.setAttributes({
        [GEN_AI.operationName]: 'chat',
        [GEN_AI.providerName]: model.provider,
        [GEN_AI.requestModel]: model.model,
        [AIRLOCK.modelRoute]: model.route ?? workflow.model ?? model.model,
      });
      // Content capture (off by default): what the model was given, only as the run's classification allows.
      const prompt = this.capture.content(state.history.slice(-8), state.labels.classification);
      if (prompt !== null) span.setAttribute(GEN_AI.inputMessages, prompt);
      const t = await model.next({ workflow: workflow.name, input: state.input, tools, history: state.history, labels: state.labels });
      if (t.route) span.setAttributes({ [AIRLOCK.modelRoute]: t.route.name, [AIRLOCK.modelRouteWhy]: t.route.why, [GEN_AI.responseModel]: t.route.model });
      if (t.setAside?.length) span.setAttribute(AIRLOCK.modelSetAside, t.setAside.map((a) => `${a.route.name}: ${a.tool} (${a.risk} risk) -> ${a.to}`));
      if (t.usage) {
        span.setAttributes({ [GEN_AI.usageInputTokens]: t.usage.inputTokens, [GEN_AI.usageOutputTokens]: t.usage.outputTokens });
      }
      // Cost on this leaf span only: this turn's answers (set-aside ones included), priced as the run counts them.
      const cost = turnCost(model, t);
      if (cost) span.setAttributes({ [AIRLOCK.cost]: cost.micros / 1_000_000, [AIRLOCK.costCurrency]: cost.currency });
      span.setAttribute(GEN_AI.responseFinishReasons, [t.kind === 'final' ? 'stop' : 'tool_calls']);
      const answer = this.capture.content(t.kind === 'final' ? { final: t.text } : t.kind === 'tool_call' ? { tool: t.tool, args: t.args } : { malformed: t.kind }, state.labels.classification);
      if (answer !== null) span.setAttribute(GEN_AI.outputMessages, answer);
      return t;
    });
  }

  private ctx(runId: RunId, workflow: WorkflowConfig, agent: Principal, onBehalfOf: Principal | undefined, state: RunState) {
    return { runId, workflow, principal: agent, onBehalfOf, labels: state.labels, seen: state.seen ?? NOTHING_SEEN, step: state.steps };
  }

  /** Applies `events` to `prev` in the one state machine and commits the change with its records, or nothing. */
  private async save(prev: RunRecord, ...events: RunEvent[]): Promise<RunRecord> {
    const next = transition({ status: prev.status, state: runStateOf(prev) }, ...events);
    // INVARIANT: a status change and its audit records commit in one transaction, or neither does.
    return saveRunState(this.deps, prev, next, { subject: { runId: prev.id, principal: this.deps.principal(`agent:${next.state.agent}`) }, items: next.records }, { steps: next.steps, usage: next.usage });
  }
}

/** The run held by halt `h`. */
function haltedEvent(h: HaltRecord): RunEvent {
  return { type: 'halted', haltId: h.id, reason: haltedReason(h) };
}

/** The answer to a call as the model is told it, with what it read or did (labels, verification). */
function returned(id: string, tool: string, outcome: GatewayOutcome): RunEvent & { type: 'call-returned' } {
  const { status, content } = toResult(outcome);
  if (outcome.kind !== 'executed') return { type: 'call-returned', id, tool, status, content };
  const v = outcome.verification;
  return { type: 'call-returned', id, tool, status, content, labels: outcome.labels, source: outcome.source, sightings: outcome.sightings, ...(v ? { verification: v.outcome.status } : {}) };
}

/** What one model turn cost (its set-aside answers too), by the prices the run counts it with; null when unpriced. */
function turnCost(model: Model, t: ModelTurn): { micros: number; currency: string } | null {
  let micros = 0;
  let currency: string | null = null;
  const add = (usage: ModelUsage | undefined, price: Model['price']): void => {
    const c = costMicros(usage, price);
    if (c === null || !price) return;
    micros += c;
    currency ??= price.currency;
  };
  for (const a of t.setAside ?? []) add(a.usage, a.route.price);
  add(t.usage, t.route ? t.route.price : model.price);
  return currency === null ? null : { micros, currency };
}
