// Runs driven by external agents (over MCP, the HTTP API or the SDK): the same gateway, budgets,
// labels and audit as Airlock's own loop, with the agent's calls recorded instead of a model's.
// Each process keeps a register of the runs it serves (idle ends) and a lease (instance.ts), so that when it
// dies another process ends its runs for review (recovery.ts). The cap on a principal's open runs is counted
// in the store, across every instance on it.
import { beginTrace, underTrace } from '../telemetry/spans.js';
import { AIRLOCK, GEN_AI } from '../telemetry/attributes.js';
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../errors.js';
import type { ToolContract, WorkflowConfig, Workspace } from '../config/schema.js';
import type { RunRecord, Store } from '../store/store.js';
import type { Json, Principal, RunId } from '../types.js';
import { hashJson } from '../util/hash.js';
import { INITIAL_LABELS } from '../context/labels.js';
import { NOTHING_SEEN } from '../context/provenance.js';
import type { Gateway } from '../gateway/gateway.js';
import type { GatewayOutcome, Proposal, VerificationResult } from '../gateway/types.js';
import type { AuditWriter } from '../audit/writer.js';
import { principalRef } from '../identity/principal.js';
import type { Visibility } from '../policy/visibility.js';
import type { ToolView } from './model.js';
import { exhaustedBudget, initialState, type AgentRunState, type ExternalDoor, type RunState } from './run-machine.js';
import { transition, type RunEvent } from './run-transition.js';
import { dailyBudgetReached, runStateOf, saveRunState } from './run-state.js';
import { conclusionOf, type Conclusion } from './conclude.js';
import { storableArgs, toResult } from './results.js';
import { withdrawApprovals } from '../gateway/approvals/lifecycle.js';
import { type Notify } from '../gateway/approvals/events.js';
import { checkRefusals, noteFlagged } from './incidents.js';
import { openUnknownOutcomes, recoverOrphans, thisInstance, type InstanceIdentity, type RecoveryReport } from './recovery.js';
import { InstanceLease } from './instance.js';
import { rec } from '../audit/records.js';
import { haltedReason, haltOn } from '../gateway/halts.js';

/** A call the session layer refused before the gateway saw it (not your run, budget, too many at once). */
export interface SessionRefusal {
  readonly kind: 'refused';
  /** HTTP-style status: 403 not yours, 404 no such run, 409 run not running or its scope halted, 429 limits. */
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
  /** Queues approval notifications (an approval withdrawn when its run ends); absent: none. */
  readonly notify?: Notify | undefined;
  /** This process as a lease holder (default: a fresh id on this host and pid). */
  readonly instance?: InstanceIdentity;
  /** This process's lease, shared with the runner (instance.ts); default: one kept here for `instance`. */
  readonly lease?: InstanceLease;
  /** The declared principal for a reference (identity/principal.ts); an undeclared one is an error. */
  readonly principal: (ref: string) => Principal;
}

const MAX_STORED_RESULT = 4096;
const SAVE_ATTEMPTS = 8;
/** Runs ended at once when many end together (shutdown, an idle sweep). */
const END_CONCURRENCY = 16;

/** A run this process serves: who drives it, through which door, and when it was last used. */
interface LiveRun {
  readonly principal: string;
  readonly door: ExternalDoor;
  lastSeen: number;
}

/** Opens, drives and closes externally driven runs. One instance per process; state lives in the store. */
export class Sessions {
  private readonly inFlight = new Map<string, number>();
  /** The last state change queued for each run by this process: the next one waits for it. */
  private readonly updating = new Map<RunId, Promise<void>>();
  private readonly live = new Map<RunId, LiveRun>();
  private readonly lease: InstanceLease;
  /** This process's lease id: the runs it opens carry it. */
  readonly instance: InstanceIdentity;

  constructor(private readonly deps: SessionDeps) {
    this.instance = deps.lease?.identity ?? deps.instance ?? thisInstance(`ins_${randomBytes(6).toString('hex')}`);
    this.lease = deps.lease ?? new InstanceLease({ store: deps.store, now: deps.now, identity: this.instance });
  }

  /** The workflows `principal` may drive: those whose agent it is. */
  workflowsFor(principal: Principal): WorkflowConfig[] {
    return [...this.deps.workspace.workflows.values()].filter((w) => principal.kind === 'agent' && w.agent === principal.id);
  }

  /** Picks the workflow: the named one (which must be the principal's), or its only one. */
  resolveWorkflow(principal: Principal, name: string | undefined): WorkflowConfig | SessionRefusal {
    const mine = this.workflowsFor(principal);
    if (name) {
      const wf = this.deps.workspace.workflows.get(name);
      if (!wf) return { kind: 'refused', status: 404, reason: `workflow \`${name.slice(0, 200)}\` is not declared` };
      if (!mine.includes(wf)) return { kind: 'refused', status: 403, reason: `\`${principalRef(principal)}\` is not the agent of workflow \`${name}\`` };
      return wf;
    }
    if (mine.length === 1) return mine[0] as WorkflowConfig;
    if (mine.length === 0) return { kind: 'refused', status: 403, reason: `\`${principalRef(principal)}\` is the agent of no workflow` };
    return { kind: 'refused', status: 409, reason: `\`${principalRef(principal)}\` drives several workflows (${mine.map((w) => w.name).join(', ')}): name one` };
  }

  /**
   * Opens a run for an external agent and records it; refused (audited) when its scope is halted
   * (409), or when the principal already holds `server.limits.openRunsPerPrincipal` runs open, on any
   * instance on the store (429).
   */
  async tryOpen(workflow: WorkflowConfig, principal: Principal, door: ExternalDoor, onBehalfOf?: Principal): Promise<RunRecord | SessionRefusal> {
    if (principal.kind !== 'agent' || workflow.agent !== principal.id) {
      throw new AirlockError('input', `\`${principalRef(principal)}\` is not the agent of workflow \`${workflow.name}\``);
    }
    const who = principalRef(principal);
    // No run starts in a halted scope (the kill switch): refused, on record, before a slot is taken.
    const halt = await haltOn(this.deps.store, { workflow: workflow.name, principal: who, onBehalfOf: onBehalfOf ? principalRef(onBehalfOf) : null });
    if (halt) {
      const reason = haltedReason(halt);
      await this.deps.audit.append({ runId: null, principal, onBehalfOf }, [rec('request.refused', { door, why: 'halted', reason })]);
      return { kind: 'refused', status: 409, reason };
    }
    const id = this.deps.newRunId();
    this.live.set(id, { principal: who, door, lastSeen: this.deps.now().getTime() });
    try {
      await this.lease.keep();
      const t = this.deps.now().toISOString();
      // The run's trace begins when it opens; each call continues it unless the caller sends a trace of its own.
      const traceparent = beginTrace(`invoke_agent ${workflow.name}`, { [GEN_AI.operationName]: 'invoke_agent', [GEN_AI.agentName]: workflow.name, [AIRLOCK.runId]: id, [AIRLOCK.workflow]: workflow.name });
      const state: AgentRunState = {
        ...initialState(workflow.name, {}, principal.id, onBehalfOf ? principalRef(onBehalfOf) : null, INITIAL_LABELS),
        driver: 'agent',
        door,
        instance: this.instance.id,
        ...(traceparent ? { trace: { traceparent } } : {}),
      };
      const record: RunRecord = { id, workflow: workflow.name, status: 'running', version: 1, createdAt: t, updatedAt: t, state: state as unknown as Json };
      // The run and its `run.started` record land together, or neither does; and only while the agent holds
      // fewer than the cap's open runs, counted in the store, so the cap holds across every instance on it.
      const cap = this.deps.workspace.file.server.limits.openRunsPerPrincipal;
      const created = await this.deps.audit.createRunWithin(
        record,
        { runId: id, principal, onBehalfOf },
        [rec('run.started', { workflow: workflow.name, tier: workflow.tier, door, inputHash: hashJson({}), policySetHash: this.deps.policySetHash, owners: workflow.owners as Json, instance: this.instance.id })],
        { agent: principal.id, max: cap },
      );
      if ('held' in created) {
        this.forget(id);
        const reason = `\`${who}\` already holds ${created.held} open runs (at most ${cap}); close one (DELETE its MCP session, or POST /v1/runs/{id}/close) or let idle ones end`;
        await this.deps.audit.append({ runId: null, principal }, [rec('request.refused', { door, why: 'open-runs-limit', reason })]);
        return { kind: 'refused', status: 429, reason };
      }
      return record;
    } catch (err) {
      this.forget(id);
      throw err;
    }
  }

  /** `tryOpen`, for callers with no way to answer a refusal: it is thrown (a retryable `conflict`). */
  async open(workflow: WorkflowConfig, principal: Principal, door: ExternalDoor, onBehalfOf?: Principal): Promise<RunRecord> {
    const opened = await this.tryOpen(workflow, principal, door, onBehalfOf);
    if ('kind' in opened) throw new AirlockError('conflict', opened.reason, { retryable: true });
    return opened;
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
    const state = runStateOf(run);
    // A rollback run is Airlock's own (compensations on a person's request): no agent drives it.
    if (state.driver !== 'agent' || principal.kind !== 'agent' || state.agent !== principal.id) {
      return { kind: 'refused', status: 403, reason: `run \`${runId}\` is not driven by \`${principalRef(principal)}\`` };
    }
    if (run.status !== 'running') return { kind: 'refused', status: 409, reason: `run \`${runId}\` is ${run.status}` };
    const workflow = this.deps.workspace.workflows.get(run.workflow);
    if (!workflow) return { kind: 'refused', status: 409, reason: `workflow \`${run.workflow}\` is no longer declared` };
    const mine = this.live.get(runId);
    if (mine) mine.lastSeen = this.deps.now().getTime();
    return { run, state, workflow };
  }

  /** Sends one proposal through the gateway for an external run and records it in the run. */
  async call(runId: RunId, principal: Principal, proposal: Proposal, mode: 'execute' | 'authorize' = 'execute'): Promise<SessionCallResult> {
    const loaded = await this.owned(runId, principal);
    if ('kind' in loaded) return loaded;
    const { run, state, workflow } = loaded;
    const elapsed = this.deps.now().getTime() - Date.parse(run.createdAt);
    const exhausted = exhaustedBudget({ ...state, activeMs: elapsed }, workflow.budgets) ?? (await dailyBudgetReached(this.deps.store, this.deps.now(), state, workflow.budgets));
    if (exhausted) {
      await this.finish(run, [{ type: 'budget-exhausted', reason: exhausted, endedBy: 'session' }]);
      return { kind: 'refused', status: 429, reason: `${exhausted}; the run is over` };
    }
    const busy = this.inFlight.get(runId) ?? 0;
    if (busy >= this.deps.concurrentCallsPerRun) {
      await this.deps.audit.append({ runId, principal }, [
        rec('action.not-executed', { tool: String(proposal.tool).slice(0, 200), why: 'concurrency-limit', reasons: [`more than ${this.deps.concurrentCallsPerRun} calls at once in one run`] }),
      ]);
      await checkRefusals(this.deps, runId);
      return { kind: 'refused', status: 429, reason: `at most ${this.deps.concurrentCallsPerRun} calls at once in one run` };
    }
    this.inFlight.set(runId, busy + 1);
    try {
      const onBehalfOf = state.onBehalfOf ? this.principalOf(state.onBehalfOf) : undefined;
      const ctx = { runId, workflow, principal, onBehalfOf, labels: state.labels, seen: state.seen ?? NOTHING_SEEN, step: state.steps, mode, deferOutcomeCommit: true };
      const outcome = await underTrace(state.trace?.traceparent, () => this.deps.gateway.propose(ctx, proposal));
      // The run save is queued in the same tick as the outcome record: one commit, one fsync for both.
      const saved = this.record(run, proposal, outcome);
      // Awaited below, after the outcome's commit: a failure meanwhile is not an unhandled rejection.
      saved.catch(() => undefined);
      if (outcome.kind === 'executed') {
        try {
          await outcome.committed;
        } catch (err) {
          // The call ran upstream and its outcome could not be recorded: never "retry", and a person is told.
          await saved.catch(() => undefined);
          await openUnknownOutcomes(this.deps, runId).catch(() => undefined);
          const why = err instanceof Error ? err.message : String(err);
          return { kind: 'failed', failure: 'unrecorded', message: `the call ran, but its outcome could not be recorded (${why}); do not retry it: an incident asks a person to check`, actionHash: outcome.actionHash };
        }
      }
      await saved;
      // Repeated refusals of any kind (policy, contract, unknown tools) open an incident as they happen.
      if (outcome.kind === 'denied' || outcome.kind === 'invalid') await checkRefusals(this.deps, runId);
      await noteFlagged(this.deps, runId, proposal.tool, outcome);
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
    if (res.ok && (res.verification || res.sightings.length > 0)) {
      const v = res.verification;
      // What the caller reports it got back is what the agent has seen: its values join the run's.
      await this.update(runId, () => [...(res.sightings.length > 0 ? [{ type: 'seen' as const, sightings: res.sightings }] : []), ...(v ? [{ type: 'verified' as const, tool: v.probe, status: v.outcome.status }] : [])]);
    }
    return res;
  }

  /**
   * Applies `change` to the stored run state. Changes to one run from this process go one after
   * another (so calls in flight together never exhaust the retries, whatever `concurrentCallsPerRun`
   * is); the compare-and-set still settles races with other processes.
   */
  private update(runId: RunId, change: (state: RunState) => readonly RunEvent[], loaded?: RunRecord): Promise<void> {
    const before = this.updating.get(runId) ?? Promise.resolve();
    const mine = before.then(() => this.updateNow(runId, change, loaded));
    const settled = mine.catch(() => undefined);
    this.updating.set(runId, settled);
    void settled.then(() => {
      if (this.updating.get(runId) === settled) this.updating.delete(runId);
    });
    return mine;
  }

  /** One compare-and-set of the run state, retried when another process changed the run first. */
  private async updateNow(runId: RunId, change: (state: RunState) => readonly RunEvent[], loaded?: RunRecord): Promise<void> {
    let known = loaded;
    for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
      // The first attempt may use the run the caller already loaded; a conflict means it moved on.
      const run = known ?? (await this.deps.store.getRun(runId));
      known = undefined;
      if (!run) return;
      const state = runStateOf(run);
      const next = transition({ status: run.status, state }, ...change(state));
      try {
        await saveRunState(this.deps, run, next, null, { steps: next.steps, usage: next.usage });
        return;
      } catch (err) {
        if (err instanceof AirlockError && err.code === 'conflict') continue;
        throw err;
      }
    }
    throw new AirlockError('conflict', `run \`${runId}\` is being changed by too many calls at once`, { retryable: true });
  }

  /** The agent ends its run (an MCP DELETE, `POST /v1/runs/{id}/close`, the SDK's close, stdio EOF): its "done". */
  async close(runId: RunId, principal: Principal): Promise<RunRecord | SessionRefusal> {
    const loaded = await this.owned(runId, principal);
    if ('kind' in loaded) {
      if (loaded.status === 409) this.forget(runId);
      return loaded;
    }
    return this.conclude(loaded.run, loaded.state, 'session closed by the agent');
  }

  /**
   * Airlock ends a run whose session ended without the agent closing it (idle, the client gone, the
   * server stopping): concluded like a close, against ground truth, with `why` on record. A run
   * that is not running any more is only forgotten. Never throws for a run that moved on. `loaded`: the run
   * as the caller just read it (its end is still a compare-and-set).
   */
  async endSession(runId: RunId, why: string, loaded?: RunRecord): Promise<RunRecord | null> {
    const run = loaded ?? (await this.deps.store.getRun(runId));
    if (!run || run.status !== 'running') {
      this.forget(runId);
      return run;
    }
    return this.conclude(run, runStateOf(run), `session ended by Airlock: ${why}`);
  }

  /** Whether this process still serves run `runId` (it opened it and it has not ended). */
  serving(runId: RunId): boolean {
    return this.live.has(runId);
  }

  /**
   * Ends a run that never really began (its door refused the request that opened it): `cancelled`,
   * with `why`, and its slot is free again. Never throws for a run that moved on.
   */
  async discard(runId: RunId, why: string): Promise<void> {
    const run = await this.deps.store.getRun(runId);
    if (!run || run.status !== 'running') return this.forget(runId);
    await this.commitEnd(run, [{ type: 'ended', status: 'cancelled', reason: why, endedBy: 'session' }]).catch(() => this.forget(runId));
  }

  /**
   * Ends every run served through `doors` whose last request is `idleMs` or more ago, here and on every
   * other instance: a run's calls may reach another instance (a load balancer in front of the HTTP API),
   * and each call saves the run, so one saved within `idleMs` is in use and stays. Returns the runs ended.
   */
  async endIdle(idleMs: number, doors: readonly ExternalDoor[]): Promise<RunId[]> {
    const now = this.deps.now().getTime();
    const due = [...this.live].filter(([, r]) => doors.includes(r.door) && now - r.lastSeen >= idleMs).map(([id]) => id);
    const ended: RunId[] = [];
    await inBatches(due, async (id) => {
      const run = await this.deps.store.getRun(id).catch(() => null);
      const saved = run ? Date.parse(run.updatedAt) : Number.NaN;
      const mine = this.live.get(id);
      // A request may have come in while the run was read: the newest of the two says when it was last used.
      const last = Math.max(mine?.lastSeen ?? Number.NEGATIVE_INFINITY, Number.isNaN(saved) ? Number.NEGATIVE_INFINITY : saved);
      if (run?.status === 'running' && now - last < idleMs) {
        if (mine) mine.lastSeen = last;
        return;
      }
      ended.push(id);
      await this.endSession(id, `idle for ${Math.round(idleMs / 60_000)} minutes`, run ?? undefined).catch(() => null);
    });
    return ended;
  }

  /** Ends every run this process serves (the server stopping), many at once, then gives up the lease. */
  async endAll(why: string): Promise<void> {
    await inBatches([...this.live.keys()], (id) => this.endSession(id, why).catch(() => null));
    await this.stop();
  }

  /** Stops renewing this process's lease and removes it (its runs are ended or another process will end them). */
  async stop(): Promise<void> {
    await this.lease.stop();
  }

  /**
   * Ends the runs of processes that are gone (recovery.ts), and this process's own runs still running in the
   * store that it no longer serves (an end that failed when their session ended: they would hold a place in
   * their agent's cap on open runs). `airlock serve` and `airlock mcp` call it at start and on a timer.
   */
  async recover(): Promise<RecoveryReport> {
    // INVARIANT (recovery.ts): the runs are read before the leases.
    const running = await this.deps.store.listRuns({ status: 'running' });
    const report = await recoverOrphans({ ...this.deps, self: this.instance, endRun: (run, reason) => this.endOrphan(run, reason) }, running);
    const left = running.filter((r) => {
      const s = runStateOf(r);
      return s.driver === 'agent' && s.instance === this.instance.id && !this.live.has(r.id);
    });
    const ended: RunId[] = [];
    for (const r of left) if ((await this.endSession(r.id, 'its session had ended, and ending the run then failed', r).catch(() => null))?.status !== 'running') ended.push(r.id);
    return { ended: [...report.ended, ...ended], incidents: report.incidents };
  }

  /** How many runs this process serves now, per principal (`kind:id`). */
  openRuns(): ReadonlyMap<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.live.values()) counts.set(r.principal, (counts.get(r.principal) ?? 0) + 1);
    return counts;
  }

  private async conclude(run: RunRecord, current: RunState, how: string): Promise<RunRecord> {
    // The end of a session is the external agent's "done": the workflow's run-level checks read ground truth first.
    const claimed: RunEvent = { type: 'claimed', text: how, claim: 'done' };
    const state = transition({ status: run.status, state: current }, claimed).state;
    const agent = this.principalOf(`agent:${state.agent}`);
    const concluded = this.deps.conclude ? await this.deps.conclude(run.id, state, agent) : conclusionOf(state, []);
    return this.finish(run, [claimed, { type: 'ended', status: concluded.status, reason: concluded.reason, endedBy: 'session' }]);
  }

  /** Ends an orphaned run for review: failed, its approvals withdrawn. Throws `conflict` when it moved on. */
  private async endOrphan(run: RunRecord, reason: string): Promise<void> {
    await this.commitEnd(run, [{ type: 'ended', status: 'failed', reason, endedBy: 'recovery' }]);
    await withdrawApprovals(this.deps, run.id, 'the run ended when the process serving it stopped');
  }

  private principalOf(ref: string): Principal {
    return this.deps.principal(ref);
  }

  /** Appends the call and its result to the run; compare-and-set, retried when calls race. */
  private async record(loaded: RunRecord, proposal: Proposal, outcome: GatewayOutcome): Promise<void> {
    const { status, content } = toResult(outcome);
    const text = JSON.stringify(content) ?? 'null';
    const stored: Json = text.length > MAX_STORED_RESULT ? { truncated: true, bytes: text.length, resultHash: hashJson(content) } : content;
    const tool = String(proposal.tool).slice(0, 200);
    // INVARIANT: what a request carried reaches the run's state only validated and bounded.
    const args = storableArgs(proposal.args, MAX_STORED_RESULT);
    const v = outcome.kind === 'executed' ? outcome.verification : null;
    const labels = outcome.kind === 'executed' || outcome.kind === 'authorized' ? outcome.labels : undefined;
    await this.update(loaded.id, (state) => {
      const id = `c${state.steps + 1}`;
      return [
        { type: 'call-sent', id, tool, args, at: this.deps.now().toISOString() },
        { type: 'call-returned', id, tool, status, content: stored, ...(labels ? { labels } : {}), ...(v ? { verification: v.outcome.status } : {}), ...(outcome.kind === 'executed' ? { sightings: outcome.sightings } : {}) },
      ];
    }, loaded);
  }

  /**
   * Ends a run with `events` (the last an `ended`): its status, `run.status` and `run.finished` in
   * one commit, then its approvals withdrawn. A call that raced this end may have saved the run
   * meanwhile: its steps stand, and the end is applied again to what it saved.
   */
  private async finish(run: RunRecord, events: readonly RunEvent[]): Promise<RunRecord> {
    let current = run;
    for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
      try {
        const ended = await this.commitEnd(current, events);
        await withdrawApprovals(this.deps, run.id, `the run ended (${ended.status}) before the action was used`);
        return ended;
      } catch (err) {
        if (!(err instanceof AirlockError && err.code === 'conflict')) throw err;
        const fresh = await this.deps.store.getRun(run.id);
        if (!fresh || fresh.status !== 'running') {
          this.forget(run.id);
          if (fresh) return fresh;
          throw err;
        }
        current = fresh;
      }
    }
    throw new AirlockError('conflict', `run \`${run.id}\` is being changed by too many calls at once`, { retryable: true });
  }

  /** The run's end as one commit: the saved status and the records saying so, or neither. */
  private async commitEnd(run: RunRecord, events: readonly RunEvent[]): Promise<RunRecord> {
    const state = runStateOf(run);
    // One meaning of wall time for every driver: how long the run was open, not waiting for a person.
    const open = Math.max(0, this.deps.now().getTime() - Date.parse(run.createdAt));
    const next = transition({ status: run.status, state }, { type: 'time', ms: open - state.activeMs }, ...events);
    const saved = await saveRunState(this.deps, run, next, { subject: { runId: run.id, principal: this.principalOf(`agent:${state.agent}`) }, items: next.records }, { steps: next.steps, usage: next.usage });
    this.forget(run.id);
    return saved;
  }

  /** Drops a run from this process's register (it no longer serves it). */
  private forget(runId: RunId): void {
    const r = this.live.get(runId);
    if (!r) return;
    this.live.delete(runId);
  }

}

/** Runs `fn` over `items`, at most END_CONCURRENCY at once. */
async function inBatches<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(END_CONCURRENCY, items.length) }, worker));
}
