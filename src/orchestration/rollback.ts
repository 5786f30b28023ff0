// Rollback: undoes a finished run's side effects in reverse order, each compensation proposed through
// the same gateway (policy, approvals and audit apply to it), in a rollback run of its own. Safe to re-run:
// it continues where the last attempt stopped and never repeats an undo.
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../errors.js';
import type { Workspace } from '../config/schema.js';
import type { AuditRecord, RunRecord, Store } from '../store/store.js';
import type { ApprovalId, Json, JsonObject, Principal, RunId, RunStatus } from '../types.js';
import { TERMINAL_RUN_STATUSES } from '../types.js';
import { hashJson } from '../util/hash.js';
import type { AuditItem, AuditWriter } from '../audit/writer.js';
import { principalRef } from '../audit/writer.js';
import type { Gateway } from '../gateway/gateway.js';
import type { GatewayOutcome } from '../gateway/types.js';
import { initialState, type RollbackMeta, type RollbackRunState } from './run-machine.js';
import { transition, type RunEvent } from './run-transition.js';
import { runStateOf, saveRunState } from './run-state.js';
import { openIncident } from './incidents.js';
import { isRecord, rec, recordsOf } from '../audit/records.js';
import { resolvePrincipal } from '../identity/principal.js';
import { haltedReason, haltOn } from '../gateway/halts.js';

/** What a rollback needs (an `Airlock` has all of it). */
export interface RollbackDeps {
  readonly workspace: Workspace;
  readonly store: Store;
  readonly audit: AuditWriter;
  readonly gateway: Pick<Gateway, 'propose'>;
  readonly now: () => Date;
  readonly policies: { readonly policySetHash: string };
}

/**
 * What became of one effect. `undone`: its compensation executed now; `already-undone`: an earlier
 * attempt undid it; `irreversible`: nothing Airlock holds can undo it (reported, not blocking);
 * `pending-approval`, `denied`, `failed`: the rollback stopped here; `not-attempted`: waits for an
 * earlier step (later undos may depend on it).
 */
export type RollbackOutcome = 'undone' | 'already-undone' | 'irreversible' | 'pending-approval' | 'denied' | 'failed' | 'not-attempted';

/** One effect of the run and what the rollback did about it. */
export interface RollbackStep {
  /** 1 is the run's last effect: steps go in reverse order of execution. */
  readonly step: number;
  /** The audit seq of the effect's `action.executed` record in the original run. */
  readonly effectSeq: number;
  /** The tool that had the effect. */
  readonly tool: string;
  /** The compensating call, with the concrete arguments taken from the effect's result; null when there is none. */
  readonly compensation: { readonly tool: string; readonly args: JsonObject } | null;
  readonly outcome: RollbackOutcome;
  /** In words: the reasons, the failure, what is waiting. */
  readonly detail: string;
  /** The approval the compensation waits for (`pending-approval`), or the one it used. */
  readonly approvalId: ApprovalId | null;
  /** The rollback run in which it was undone (`undone`, `already-undone`). */
  readonly undoneIn: RunId | null;
}

/** `completed`: every reversible effect is undone (irreversible ones are reported); otherwise it stopped. */
export type RollbackStatus = 'completed' | 'awaiting-approval' | 'failed';

/** What `rollbackRun` did and what is left. */
export interface RollbackReport {
  readonly runId: RunId;
  /** The rollback run whose trail holds the compensations of this attempt (or of the finished rollback). */
  readonly rollbackRunId: RunId;
  readonly status: RollbackStatus;
  readonly steps: readonly RollbackStep[];
  /** The `rollback-failed` incident when a step failed or was denied. */
  readonly incidentId: string | null;
  /** True when the rollback had already finished: nothing was proposed or written. */
  readonly noop: boolean;
}

/** A rollback run's state and its rollback part (run-machine.ts has them with the other drivers). */
export type { RollbackMeta, RollbackRunState };

/** How long one process holds a rollback run before another may take it over. */
export const ROLLBACK_LEASE_MS = 5 * 60_000;

/** The id of the `n`th rollback run of `runId` (deterministic: two processes cannot both open it). */
export function rollbackRunId(runId: RunId, n: number): RunId {
  return `${runId}-rollback-${n}` as RunId;
}

/** The rollback part of a run's state, or null when the run is not a rollback run. */
export function rollbackMeta(run: RunRecord): RollbackMeta | null {
  const st = runStateOf(run);
  return st.driver === 'rollback' ? st.rollback : null;
}

/** One executed effect of the original run, as its `action.executed` record describes it. */
interface Effect {
  readonly seq: number;
  readonly tool: string;
  readonly kind: 'compensable' | 'unresolved' | 'irreversible' | 'caller';
  readonly compensation: { readonly tool: string; readonly args: JsonObject } | null;
  /** For `unresolved`: what the compensation template needed and the result lacked. */
  readonly missing: string | null;
}

/**
 * Undoes the side effects of run `runId` in reverse order. Rules:
 * - Only a person declared in the workspace may ask (agents and services are an `input` error), and
 *   only for a run that has ended and is not itself a rollback.
 * - Each compensation is proposed through the gateway in a rollback run linked to the original, by the
 *   workflow's agent on behalf of the requester: policy decides it, and the requester cannot approve it.
 * - Strict reverse order: the rollback stops at the first step not undone (pending approval, denied,
 *   failed, unresolved compensation), since an earlier effect's undo may depend on a later one's.
 *   Irreversible effects are reported and passed (nothing can change them).
 * - Re-running continues where it stopped: an effect undone by any earlier attempt is `already-undone`;
 *   an attempt that stopped at an approval is re-used (same run, same action hash, so the approval
 *   given since is used); one that ended failed is followed by a new rollback run. A finished rollback
 *   re-run is a no-op. A failed or denied step opens a `rollback-failed` incident (to the platform owner).
 */
export async function rollbackRun(deps: RollbackDeps, runId: RunId, requestedBy: Principal): Promise<RollbackReport> {
  const requester = declaredPerson(deps.workspace, requestedBy);
  const run = await deps.store.getRun(runId);
  if (!run) throw new AirlockError('not-found', `run \`${runId}\` does not exist`, { hint: 'list runs with `airlock runs`' });
  const meta = rollbackMeta(run);
  if (meta) {
    throw new AirlockError('input', `run \`${runId}\` is a rollback of run \`${meta.of}\`; a rollback is not rolled back`, {
      hint: `to continue it, run \`airlock rollback ${meta.of} --as USER\``,
    });
  }
  if (!TERMINAL_RUN_STATUSES.includes(run.status)) {
    throw new AirlockError('input', `run \`${runId}\` is ${run.status}; only a run that has ended can be rolled back`, {
      hint: `cancel it first: \`airlock runs cancel ${runId} --as USER --reason "..."\``,
    });
  }
  const workflow = deps.workspace.workflows.get(run.workflow);
  if (!workflow) throw new AirlockError('config', `run \`${runId}\` belongs to workflow \`${run.workflow}\`, which is no longer declared`);
  const state = runStateOf(run);
  const agent = declared(deps.workspace, 'agent', state.agent);
  if (!agent) throw new AirlockError('config', `the agent \`agent:${state.agent}\` of run \`${runId}\` is no longer declared`);

  const effects = effectsOf(deps.workspace, await deps.store.readAuditForRun(runId)).reverse();
  const attempts = await attemptsOf(deps.store, runId);
  const undone = await undoneEffects(deps.store, attempts);
  const latest = attempts.at(-1);

  // A finished rollback: report it, write nothing.
  if (latest?.status === 'completed') {
    const steps = effects.map((e, i) => plannedStep(e, i + 1, undone) ?? notAttempted(e, i + 1, 'not undone by the finished rollback'));
    return { runId, rollbackRunId: latest.id, status: 'completed', steps, incidentId: null, noop: true };
  }

  // Undoing is acting too: not while the run's scope is halted (each compensation would be refused anyway).
  const halt = await haltOn(deps.store, { workflow: run.workflow, principal: `agent:${state.agent}`, onBehalfOf: principalRef(requester) });
  if (halt) throw new AirlockError('conflict', `run \`${runId}\` is not rolled back now: ${haltedReason(halt)}`, { hint: 'see `airlock halts`; roll it back once an owner has resumed it' });

  const holder = randomBytes(8).toString('hex');
  const lease = () => ({ holder, until: new Date(deps.now().getTime() + ROLLBACK_LEASE_MS).toISOString() });
  const who = principalRef(requester);
  let rb: RunRecord;
  let resumed: boolean;
  if (latest && !TERMINAL_RUN_STATUSES.includes(latest.status)) {
    // Stopped at an approval, or interrupted: the same run continues, so the same compensation keeps its action hash.
    const st = rollbackStateOf(latest);
    if (latest.status === 'running' && st.rollback.lease && Date.parse(st.rollback.lease.until) > deps.now().getTime()) {
      throw new AirlockError('conflict', `a rollback of run \`${runId}\` is in progress (rollback run \`${latest.id}\`, held until ${st.rollback.lease.until})`, {
        hint: 'wait for it to finish, then re-run to see where it stands',
        retryable: true,
      });
    }
    rb = await saveRollback(deps, latest, requester, { type: 'started', clearReason: true }, { type: 'leased', lease: lease() });
    resumed = true;
  } else {
    const attempt = attempts.length + 1;
    const t = deps.now().toISOString();
    const rbState: RollbackRunState = {
      ...initialState(workflow.name, { rollbackOf: runId }, agent.id, who, state.labels),
      driver: 'rollback',
      door: 'rollback',
      rollback: { of: runId, attempt, requestedBy: who, lease: lease() },
    };
    rb = { id: rollbackRunId(runId, attempt), workflow: workflow.name, status: 'running', version: 1, createdAt: t, updatedAt: t, state: rbState as unknown as Json };
    try {
      // The rollback run and its `run.started` record land together, or neither does.
      await deps.audit.createRun(rb, { runId: rb.id, principal: agent, onBehalfOf: requester }, [
        rec('run.started', {
          workflow: workflow.name,
          tier: workflow.tier,
          door: 'rollback',
          rollbackOf: runId,
          inputHash: hashJson({ rollbackOf: runId }),
          policySetHash: deps.policies.policySetHash,
          owners: workflow.owners as Json,
        }),
      ]);
    } catch (e) {
      if (e instanceof AirlockError && e.code === 'conflict') {
        throw new AirlockError('conflict', `another rollback of run \`${runId}\` started at the same time`, { hint: 're-run to continue it', retryable: true });
      }
      throw e;
    }
    resumed = false;
  }
  const rbMeta = rollbackStateOf(rb).rollback;
  const both = async (items: readonly AuditItem[]): Promise<void> => {
    await deps.audit.append({ runId: rb.id, principal: requester }, items);
    await deps.audit.append({ runId, principal: requester }, items);
  };
  await both([
    rec('rollback.started', { rollbackOf: runId, rollbackRunId: rb.id, attempt: rbMeta.attempt, resumed, requestedBy: who, effects: effects.length }),
  ]);

  const steps: RollbackStep[] = [];
  let stopped: { status: Exclude<RollbackStatus, 'completed'>; step: RollbackStep } | null = null;
  try {
    for (const [i, e] of effects.entries()) {
      const n = i + 1;
      if (stopped) {
        steps.push(notAttempted(e, n, `waits for step ${stopped.step.step} (reverse order is kept: later undos may depend on it)`));
        continue;
      }
      const planned = plannedStep(e, n, undone);
      let step: RollbackStep;
      if (planned) {
        step = planned;
      } else {
        // A compensation to propose. The run's version moves first: a process that lost its lease stops here.
        const compensation = e.compensation as { readonly tool: string; readonly args: JsonObject };
        rb = await saveRollback(deps, rb, requester, { type: 'step' }, { type: 'leased', lease: lease() });
        await deps.audit.append({ runId: rb.id, principal: requester }, [
          rec('rollback.compensating', { rollbackOf: runId, effectSeq: e.seq, tool: e.tool, compensation: compensation.tool }),
        ]);
        const outcome = await deps.gateway.propose(
          // The step is the effect's place in the rollback, the same in every attempt: a retry in this run
          // carries the same idempotency key upstream.
          { runId: rb.id, workflow, principal: agent, onBehalfOf: requester, labels: state.labels, step: n },
          { tool: compensation.tool, args: compensation.args, reasoning: `rollback of run ${runId}, requested by ${who}: undo \`${e.tool}\` (audit #${e.seq})` },
        );
        step = stepFor(e, n, compensation, outcome, rb.id);
      }
      steps.push(step);
      if (step.outcome !== 'already-undone') {
        await both([
          rec('rollback.step', {
              rollbackOf: runId,
              rollbackRunId: rb.id,
              step: n,
              effectSeq: e.seq,
              tool: e.tool,
              compensation: step.compensation as Json,
              outcome: step.outcome,
              detail: step.detail,
              approvalId: step.approvalId,
              // An executed compensation is never proposed again, whatever came of its verification.
              executed: step.undoneIn === rb.id,
            }),
        ]);
      }
      if (step.outcome === 'pending-approval') stopped = { status: 'awaiting-approval', step };
      else if (step.outcome === 'denied' || step.outcome === 'failed') stopped = { status: 'failed', step };
    }
  } catch (e) {
    // This process cannot go on (the store or a connector failed under it): let the next re-run take over
    // at once instead of waiting for the lease. A process that dies here leaves the lease to run out.
    await saveRollback(deps, rb, requester, { type: 'noted', reason: `interrupted: ${e instanceof Error ? e.message : String(e)}` }, { type: 'leased', lease: null }).catch(() => undefined);
    throw e;
  }

  const status: RollbackStatus = stopped?.status ?? 'completed';
  let incidentId: string | null = null;
  if (stopped?.status === 'failed') {
    const s = stopped.step;
    const { incident } = await openIncident(deps, {
      runId,
      kind: 'rollback-failed',
      key: `effect-${s.effectSeq}`,
      title: `rollback of run ${runId} stopped: could not undo \`${s.tool}\` (audit #${s.effectSeq}): ${s.outcome}`,
      evidence: { rollbackRunId: rb.id, step: s.step, effectSeq: s.effectSeq, tool: s.tool, compensation: s.compensation as Json, outcome: s.outcome, detail: s.detail },
      openedBy: requester,
    });
    incidentId = incident.id;
  }
  const rbStatus: RunStatus = status;
  const reason =
    status === 'completed'
      ? null
      : status === 'awaiting-approval'
        ? `waiting for approval \`${stopped?.step.approvalId ?? '?'}\` of step ${stopped?.step.step ?? '?'}`
        : `step ${stopped?.step.step ?? '?'} (${stopped?.step.tool ?? '?'}) ${stopped?.step.outcome ?? 'failed'}: ${stopped?.step.detail ?? ''}`;
  // The rollback run's end and its `run.status` / `run.finished` records commit together, or none of them.
  const end: RunEvent = rbStatus === 'awaiting-approval' ? { type: 'paused', reason: reason ?? '' } : { type: 'ended', status: rbStatus, reason };
  rb = await saveRollback(deps, rb, requester, { type: 'leased', lease: null }, end);
  const summary = steps.map((s) => ({ step: s.step, effectSeq: s.effectSeq, tool: s.tool, outcome: s.outcome }));
  await both([rec('rollback.finished', { rollbackOf: runId, rollbackRunId: rb.id, attempt: rbMeta.attempt, status, reason, incidentId, steps: summary })]);
  return { runId, rollbackRunId: rb.id, status, steps, incidentId, noop: false };
}

/** The requester as declared: a person (kind `user`) the workspace names; anything else is an `input` error. */
function declaredPerson(workspace: Workspace, p: Principal): Principal {
  if (p.kind !== 'user') {
    throw new AirlockError('input', `\`${principalRef(p)}\` is not a person: only a person declared in the workspace may request a rollback`, {
      hint: 'name a declared user with --as',
    });
  }
  const found = declared(workspace, 'user', p.id);
  if (!found) throw new AirlockError('input', `\`${principalRef(p)}\` is not declared in the workspace`, { hint: 'name a declared user with --as' });
  return found;
}

function declared(workspace: Workspace, kind: Principal['kind'], id: string): Principal | null {
  const r = resolvePrincipal(workspace.file.identity.principals, `${kind}:${id}`);
  return r.ok ? r.principal : null;
}

/** The run's executed effects in order, from its `action.executed` records (reads left out). */
function effectsOf(workspace: Workspace, records: readonly AuditRecord[]): Effect[] {
  const out: Effect[] = [];
  for (const r of recordsOf(records, 'action.executed')) {
    if (r.body.outcome !== 'ok') continue;
    const tool = r.body.tool;
    if (r.body.reportedBy === 'caller') {
      // Authorize mode: the caller executed it; Airlock recorded no compensation and holds no connector for it.
      const contract = workspace.tools.get(tool);
      if (contract?.effect !== 'read') out.push({ seq: r.seq, tool, kind: 'caller', compensation: null, missing: null });
      continue;
    }
    const comp = r.body.compensation;
    if (isObject(comp) && typeof comp['tool'] === 'string') {
      const args = comp['args'];
      if (isObject(args)) out.push({ seq: r.seq, tool, kind: 'compensable', compensation: { tool: comp['tool'], args }, missing: null });
      else out.push({ seq: r.seq, tool, kind: 'unresolved', compensation: null, missing: typeof comp['unresolved'] === 'string' ? comp['unresolved'] : 'an argument' });
    } else if (r.body.irreversible === true) {
      out.push({ seq: r.seq, tool, kind: 'irreversible', compensation: null, missing: null });
    }
    // Neither a compensation nor irreversible: a read (configuration requires one of them for every other effect).
  }
  return out;
}

/** The rollback runs of `runId`, oldest first. */
async function attemptsOf(store: Store, runId: RunId): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (let n = 1; ; n++) {
    const r = await store.getRun(rollbackRunId(runId, n));
    if (!r) return out;
    out.push(r);
  }
}

/**
 * The effects (by audit seq) that earlier attempts undid, and in which rollback run. Read from their
 * `rollback.step` records, and, where a process died between executing a compensation and recording
 * the step, from the `action.executed` that followed its `rollback.compensating` marker.
 */
async function undoneEffects(store: Store, attempts: readonly RunRecord[]): Promise<Map<number, RunId>> {
  const undone = new Map<number, RunId>();
  for (const rb of attempts) {
    const records = await store.readAuditForRun(rb.id);
    for (const [i, r] of records.entries()) {
      if (isRecord(r, 'rollback.step') && (r.body.outcome === 'undone' || r.body.executed === true)) undone.set(r.body.effectSeq, rb.id);
      if (!isRecord(r, 'rollback.compensating')) continue;
      const seq = r.body.effectSeq;
      // Everything up to the next marker is this compensation's: the gateway's records, then the step record.
      const end = records.findIndex((x, j) => j > i && x.type === 'rollback.compensating');
      const window = records.slice(i + 1, end === -1 ? undefined : end);
      const recorded = recordsOf(window, 'rollback.step').some((x) => x.body.effectSeq === seq);
      if (!recorded && recordsOf(window, 'action.executed').some((x) => x.body.outcome === 'ok' && x.body.tool === r.body.compensation)) {
        undone.set(seq, rb.id);
      }
    }
  }
  return undone;
}

/** The step for an effect that needs no proposal (already undone, irreversible, unresolved), or null. */
function plannedStep(e: Effect, n: number, undone: ReadonlyMap<number, RunId>): RollbackStep | null {
  const base = { step: n, effectSeq: e.seq, tool: e.tool, compensation: e.compensation, approvalId: null };
  const doneIn = undone.get(e.seq);
  if (doneIn) return { ...base, outcome: 'already-undone', detail: `undone earlier, in rollback run ${doneIn}`, undoneIn: doneIn };
  switch (e.kind) {
    case 'irreversible':
      return { ...base, outcome: 'irreversible', detail: `the contract marks \`${e.tool}\` irreversible: nothing can undo it`, undoneIn: null };
    case 'caller':
      return { ...base, outcome: 'irreversible', detail: 'executed by the caller (authorize mode): Airlock holds no compensation for it; undo it where it ran', undoneIn: null };
    case 'unresolved':
      return { ...base, outcome: 'failed', detail: `its compensation needs ${e.missing ?? 'an argument'}, which the result did not carry; undo it by hand`, undoneIn: null };
    case 'compensable':
      return null;
  }
}

function notAttempted(e: Effect, n: number, detail: string): RollbackStep {
  return { step: n, effectSeq: e.seq, tool: e.tool, compensation: e.compensation, outcome: 'not-attempted', detail, approvalId: null, undoneIn: null };
}

/** The step for what the gateway answered to a compensation. */
function stepFor(e: Effect, n: number, compensation: { readonly tool: string; readonly args: JsonObject }, outcome: GatewayOutcome, rb: RunId): RollbackStep {
  const base = { step: n, effectSeq: e.seq, tool: e.tool, compensation, approvalId: null, undoneIn: null };
  const call = `${compensation.tool} ${JSON.stringify(compensation.args)}`;
  switch (outcome.kind) {
    case 'executed': {
      const v = outcome.verification;
      const used = { ...base, approvalId: outcome.approvalId, undoneIn: rb };
      if (v && v.outcome.status !== 'passed') {
        const why = v.outcome.status === 'error' ? v.outcome.message : `verification by \`${v.probe}\` failed`;
        return { ...used, outcome: 'failed', detail: `${call} executed, but ground truth disagrees: ${why}` };
      }
      return { ...used, outcome: 'undone', detail: call };
    }
    case 'pending-approval':
      return { ...base, outcome: 'pending-approval', approvalId: outcome.approvalId, detail: `${call} waits for approval ${outcome.approvalId} (${outcome.level})` };
    case 'denied':
      return { ...base, outcome: 'denied', detail: `${call} denied: ${outcome.reasons.join('; ')}` };
    case 'suggested':
      return { ...base, outcome: 'denied', detail: `${call} only suggested: the workflow's tier executes no side effect` };
    case 'invalid':
      return { ...base, outcome: 'failed', detail: `${call} has invalid arguments: ${outcome.errors.join('; ')}` };
    case 'failed':
      return { ...base, outcome: 'failed', detail: `${call} failed (${outcome.failure}): ${outcome.message}` };
    case 'authorized':
      return { ...base, outcome: 'failed', detail: `${call} was only authorized, not executed` };
  }
}

/** Saves a rollback run's new state without changing its status; a conflict means another process took it over. */
/**
 * Applies `events` to a rollback run in the one state machine and commits it with the records that
 * say what changed. The run's version moves on each save: a process that lost the run stops here.
 */
async function saveRollback(deps: RollbackDeps, rb: RunRecord, requester: Principal, ...events: RunEvent[]): Promise<RunRecord> {
  const next = transition({ status: rb.status, state: rollbackStateOf(rb) }, ...events);
  const records = next.records.length === 0 ? null : { subject: { runId: rb.id, principal: declared(deps.workspace, 'agent', next.state.agent), onBehalfOf: requester }, items: next.records };
  try {
    return await saveRunState(deps, rb, next, records);
  } catch (e) {
    if (e instanceof AirlockError && e.code === 'conflict') {
      throw new AirlockError('conflict', `another process took over rollback run \`${rb.id}\``, { hint: 're-run to see where it stands', retryable: true });
    }
    throw e;
  }
}

/** The state of a rollback run; any other run here is a store inconsistency. */
function rollbackStateOf(run: RunRecord): RollbackRunState {
  const st = runStateOf(run);
  if (st.driver !== 'rollback') throw new AirlockError('store-corrupt', `run \`${run.id}\` is not a rollback run`, { hint: 'rollback runs are named RUN-rollback-N; restore the store from a backup' });
  return st;
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
