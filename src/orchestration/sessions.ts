// Runs driven by external agents (over MCP, the HTTP API or the SDK): the same gateway, budgets,
// labels and audit as Airlock's own loop, with the agent's calls recorded instead of a model's.
import { AirlockError } from '../errors.js';
import type { ToolContract, WorkflowConfig, Workspace } from '../config/schema.js';
import type { RunRecord, Store } from '../store/store.js';
import type { Json, Principal, RunId } from '../types.js';
import { hashJson } from '../util/hash.js';
import { INITIAL_LABELS } from '../context/labels.js';
import type { Gateway, GatewayOutcome, Proposal, VerificationResult } from '../tools/gateway.js';
import type { AuditWriter } from '../audit/writer.js';
import { principalRef } from '../identity/principal.js';
import type { Visibility } from '../policy/visibility.js';
import type { ToolView } from './model.js';
import { exhaustedBudget, initialState, type ExternalDoor, type RunState } from './run-machine.js';
import { conclusionOf, type Conclusion } from './conclude.js';
import { toResult } from './results.js';

/** A call the session layer refused before the gateway saw it (not your run, budget, too many at once). */
export interface SessionRefusal {
  readonly kind: 'refused';
  /** HTTP-style status: 403 not yours, 404 no such run, 409 run not running, 429 limits. */
  readonly status: 403 | 404 | 409 | 429;
  readonly reason: string;
}

export type SessionCallResult = GatewayOutcome | SessionRefusal;

export interface SessionDeps {
  readonly workspace: Workspace;
  readonly store: Store;
  readonly gateway: Gateway;
  readonly audit: AuditWriter;
  readonly visibility: Visibility;
  readonly now: () => Date;
  readonly newRunId: () => RunId;
  readonly policySetHash: string;
  readonly concurrentCallsPerRun: number;
  /** Ends a run the agent closes: run-level checks and incidents (orchestration/conclude.ts); absent: per-action verifications only. */
  readonly conclude?: (runId: RunId, state: RunState, agent: Principal) => Promise<Conclusion>;
}

const MAX_STORED_RESULT = 4096;
const SAVE_ATTEMPTS = 8;
/** History items an externally driven run keeps (the audit trail keeps them all). */
const MAX_EXTERNAL_HISTORY = 200;

/** Opens, drives and closes externally driven runs. One instance per process; state lives in the store. */
export class Sessions {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly deps: SessionDeps) {}

  /** The workflows `principal` may drive: those whose agent it is. */
  workflowsFor(principal: Principal): WorkflowConfig[] {
    return [...this.deps.workspace.workflows.values()].filter((w) => principal.kind === 'agent' && w.agent === principal.id);
  }

  /** Picks the workflow: the named one (which must be the principal's), or its only one. */
  resolveWorkflow(principal: Principal, name: string | undefined): WorkflowConfig | SessionRefusal {
    const mine = this.workflowsFor(principal);
    if (name) {
      const wf = this.deps.workspace.workflows.get(name);
      if (!wf) return { kind: 'refused', status: 404, reason: `workflow \`${name}\` is not declared` };
      if (!mine.includes(wf)) return { kind: 'refused', status: 403, reason: `\`${principalRef(principal)}\` is not the agent of workflow \`${name}\`` };
      return wf;
    }
    if (mine.length === 1) return mine[0] as WorkflowConfig;
    if (mine.length === 0) return { kind: 'refused', status: 403, reason: `\`${principalRef(principal)}\` is the agent of no workflow` };
    return { kind: 'refused', status: 409, reason: `\`${principalRef(principal)}\` drives several workflows (${mine.map((w) => w.name).join(', ')}): name one` };
  }

  /** Opens a run for an external agent and records it. */
  async open(workflow: WorkflowConfig, principal: Principal, door: ExternalDoor, onBehalfOf?: Principal): Promise<RunRecord> {
    if (principal.kind !== 'agent' || workflow.agent !== principal.id) {
      throw new AirlockError('input', `\`${principalRef(principal)}\` is not the agent of workflow \`${workflow.name}\``);
    }
    const id = this.deps.newRunId();
    const t = this.deps.now().toISOString();
    const state: RunState = {
      ...initialState(workflow.name, {}, principal.id, onBehalfOf ? principalRef(onBehalfOf) : null, INITIAL_LABELS),
      door,
    };
    const record: RunRecord = { id, workflow: workflow.name, status: 'running', version: 1, createdAt: t, updatedAt: t, state: state as unknown as Json };
    await this.deps.audit.append({ runId: id, principal, onBehalfOf }, [
      {
        type: 'run.started',
        body: { workflow: workflow.name, tier: workflow.tier, door, inputHash: hashJson({}), policySetHash: this.deps.policySetHash, owners: workflow.owners as Json },
      },
    ]);
    await this.deps.store.createRun(record);
    return record;
  }

  /** The contracts of `workflow` that `principal` may see (policy scope), tools, resources and prompts alike. */
  visibleContracts(workflow: WorkflowConfig, principal: Principal): ToolContract[] {
    return workflow.tools.flatMap((name) => {
      const c = this.deps.workspace.tools.get(name);
      return c && this.deps.visibility.visible(principal, c, workflow.name, workflow.tier) ? [c] : [];
    });
  }

  /** The tools this run's agent may see: its workflow's, filtered by policy scope, described by the reviewed contracts. */
  tools(workflow: WorkflowConfig, principal: Principal): ToolView[] {
    return this.visibleContracts(workflow, principal)
      .filter((c) => !c.resource && !c.prompt)
      // Tool poisoning: agents see the reviewed contract's description, never what an upstream says today.
      .map((c) => ({ name: c.name, description: c.description, inputSchema: c.inputSchema as Json }));
  }

  /** Loads a run and checks that `principal` drives it and it is still running. */
  async owned(runId: RunId, principal: Principal): Promise<{ run: RunRecord; state: RunState; workflow: WorkflowConfig } | SessionRefusal> {
    const run = await this.deps.store.getRun(runId);
    if (!run) return { kind: 'refused', status: 404, reason: `run \`${runId}\` does not exist` };
    const state = run.state as unknown as RunState;
    // A rollback run is Airlock's own (compensations on a person's request): no agent drives it.
    if (!state.door || (state.door as string) === 'rollback' || principal.kind !== 'agent' || state.agent !== principal.id) {
      return { kind: 'refused', status: 403, reason: `run \`${runId}\` is not driven by \`${principalRef(principal)}\`` };
    }
    if (run.status !== 'running') return { kind: 'refused', status: 409, reason: `run \`${runId}\` is ${run.status}` };
    const workflow = this.deps.workspace.workflows.get(run.workflow);
    if (!workflow) return { kind: 'refused', status: 409, reason: `workflow \`${run.workflow}\` is no longer declared` };
    return { run, state, workflow };
  }

  /** Sends one proposal through the gateway for an external run and records it in the run. */
  async call(runId: RunId, principal: Principal, proposal: Proposal, mode: 'execute' | 'authorize' = 'execute'): Promise<SessionCallResult> {
    const loaded = await this.owned(runId, principal);
    if ('kind' in loaded) return loaded;
    const { run, state, workflow } = loaded;
    const elapsed = this.deps.now().getTime() - Date.parse(run.createdAt);
    const exhausted = exhaustedBudget({ ...state, activeMs: elapsed }, workflow.budgets);
    if (exhausted) {
      await this.finish(run, { ...state, reason: exhausted }, 'failed', [{ type: 'run.budget-exhausted', body: { reason: exhausted, steps: state.steps } }]);
      return { kind: 'refused', status: 429, reason: `${exhausted}; the run is over` };
    }
    const busy = this.inFlight.get(runId) ?? 0;
    if (busy >= this.deps.concurrentCallsPerRun) {
      await this.deps.audit.append({ runId, principal }, [
        { type: 'action.not-executed', body: { tool: String(proposal.tool), why: 'concurrency-limit', reasons: [`more than ${this.deps.concurrentCallsPerRun} calls at once in one run`] } },
      ]);
      return { kind: 'refused', status: 429, reason: `at most ${this.deps.concurrentCallsPerRun} calls at once in one run` };
    }
    this.inFlight.set(runId, busy + 1);
    try {
      const onBehalfOf = state.onBehalfOf ? this.principalOf(state.onBehalfOf) : undefined;
      const ctx = { runId, workflow, principal, onBehalfOf, labels: state.labels, step: state.steps, mode, deferOutcomeCommit: true };
      const outcome = await this.deps.gateway.propose(ctx, proposal);
      // The run save is queued in the same tick as the outcome record: one commit, one fsync for both.
      const saved = this.record(run, proposal, outcome);
      await Promise.all([outcome.kind === 'executed' ? outcome.committed : undefined, saved]);
      return outcome;
    } finally {
      const n = (this.inFlight.get(runId) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(runId);
      else this.inFlight.set(runId, n);
    }
  }

  /** Records the outcome of an action the caller executed itself (after an `authorize` call). */
  async report(
    runId: RunId,
    principal: Principal,
    report: Parameters<Gateway['reportOutcome']>[1],
  ): Promise<{ ok: true; verification: VerificationResult | null } | { ok: false; reason: string } | SessionRefusal> {
    const loaded = await this.owned(runId, principal);
    if ('kind' in loaded) return loaded;
    const { state, workflow } = loaded;
    const onBehalfOf = state.onBehalfOf ? this.principalOf(state.onBehalfOf) : undefined;
    const res = await this.deps.gateway.reportOutcome({ runId, workflow, principal, onBehalfOf, labels: state.labels, step: state.steps }, report);
    if (res.ok && res.verification) {
      const v = res.verification;
      await this.update(runId, (st) => ({
        ...st,
        verifications: [...st.verifications, { callId: `r${st.verifications.length + 1}`, tool: v.probe, status: v.outcome.status }],
      }));
    }
    return res;
  }

  /** Applies `change` to the stored run state; compare-and-set, retried when calls race. */
  private async update(runId: RunId, change: (state: RunState) => RunState, loaded?: RunRecord): Promise<void> {
    let known = loaded;
    for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
      // The first attempt may use the run the caller already loaded; a conflict means it moved on.
      const run = known ?? (await this.deps.store.getRun(runId));
      known = undefined;
      if (!run) return;
      const next = change(run.state as unknown as RunState);
      try {
        await this.deps.store.saveRun({ ...run, version: run.version + 1, updatedAt: this.deps.now().toISOString(), state: next as unknown as Json });
        return;
      } catch (err) {
        if (err instanceof AirlockError && err.code === 'conflict') continue;
        throw err;
      }
    }
    throw new AirlockError('conflict', `run \`${runId}\` is being changed by too many calls at once`, { retryable: true });
  }

  /** Ends an external run: verified when every probe passed, unverified when one failed. */
  async close(runId: RunId, principal: Principal): Promise<RunRecord | SessionRefusal> {
    const loaded = await this.owned(runId, principal);
    if ('kind' in loaded) return loaded;
    let state: RunState = { ...loaded.state, final: { text: 'session closed by the agent', claim: 'done' } };
    // Closing is the external agent's "done": the workflow's run-level checks read ground truth first.
    const concluded = this.deps.conclude ? await this.deps.conclude(runId, state, principal) : conclusionOf(state, []);
    if (concluded.reason) state = { ...state, reason: concluded.reason };
    return this.finish(loaded.run, state, concluded.status, []);
  }

  private principalOf(ref: string): Principal {
    const [kind, id] = ref.split(':', 2) as [Principal['kind'], string];
    const p = this.deps.workspace.file.identity.principals.find((x) => x.kind === kind && x.id === id);
    return { kind, id, roles: p?.roles ?? [] };
  }

  /** Appends the call and its result to the run; compare-and-set, retried when calls race. */
  private async record(loaded: RunRecord, proposal: Proposal, outcome: GatewayOutcome): Promise<void> {
    const { status, content } = toResult(outcome);
    const text = JSON.stringify(content) ?? 'null';
    const stored: Json = text.length > MAX_STORED_RESULT ? { truncated: true, bytes: text.length, resultHash: hashJson(content) } : content;
    await this.update(loaded.id, (state) => {
      const callId = `c${state.steps + 1}`;
      const v = outcome.kind === 'executed' ? outcome.verification : null;
      return {
        ...state,
        steps: state.steps + 1,
        // The audit trail holds every call; the run keeps the recent ones, so each call costs the same.
        history: [
          ...state.history.slice(-(MAX_EXTERNAL_HISTORY - 2)),
          { kind: 'tool_call', id: callId, tool: String(proposal.tool), args: typeof proposal.args === 'object' && proposal.args !== null ? proposal.args : {} },
          { kind: 'tool_result', id: callId, tool: String(proposal.tool), status, content: stored },
        ],
        labels: outcome.kind === 'executed' || outcome.kind === 'authorized' ? outcome.labels : state.labels,
        verifications: v ? [...state.verifications, { callId, tool: String(proposal.tool), status: v.outcome.status }] : state.verifications,
      };
    }, loaded);
  }

  private async finish(run: RunRecord, state: RunState, status: RunRecord['status'], extra: { type: string; body: { [k: string]: Json } }[]): Promise<RunRecord> {
    const next: RunRecord = { ...run, status, version: run.version + 1, updatedAt: this.deps.now().toISOString(), state: state as unknown as Json };
    await this.deps.store.saveRun(next);
    const principal = this.principalOf(`agent:${state.agent}`);
    await this.deps.audit.append({ runId: run.id, principal }, [
      ...extra,
      { type: 'run.status', body: { from: run.status, to: status, reason: state.reason } },
      {
        type: 'run.finished',
        body: { status, reason: state.reason, steps: state.steps, activeMs: null, claim: state.final?.claim ?? null, verifications: state.verifications.map((v) => ({ ...v })) },
      },
    ]);
    return next;
  }
}
