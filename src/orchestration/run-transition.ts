// The run's one state machine (pure): every change of a run's status and state, whoever drives it
// (Airlock's model loop, an external agent, a rollback), is an event applied here. The result says
// what to save (status, state), what to append beside the run (an external agent's calls) and which
// audit records say what changed; saveRunState commits all three together, or none of them.
import { AirlockError } from '../errors.js';
import { rec } from '../audit/records.js';
import type { AuditItem } from '../audit/writer.js';
import { TERMINAL_RUN_STATUSES, type ApprovalId, type Json, type JsonObject, type Labels, type Risk, type RunStatus, type UsageDelta } from '../types.js';
import { canTransition, type RunState } from './run-machine.js';
import { costMicros, type HistoryItem, type ModelPrice, type ModelUsage, type ToolResultStatus } from './model.js';
import { repairNotice, type MalformedEvent } from './repair.js';
import { addSightings, NOTHING_SEEN, type Sighting } from '../context/provenance.js';

/** Where a run stands: its status (stored on the run) and its state. */
export interface RunPoint {
  readonly status: RunStatus;
  readonly state: RunState;
}

/** A history item appended beside a run, numbered per run (the store's `AppendedStep`). */
export interface AppendedStep {
  readonly n: number;
  readonly item: Json;
}

/** One model turn's usage, added to the daily sums of its scopes. */
export type UsageAdded = UsageDelta;

/** A run after one or more events: where it stands now, the steps to append, the records and the usage to commit with it. */
export interface Transition extends RunPoint {
  readonly steps: readonly AppendedStep[];
  readonly records: readonly AuditItem[];
  readonly usage: readonly UsageAdded[];
}

type Verdict = 'passed' | 'failed' | 'error';

/** What can happen to a run. */
export type RunEvent =
  /** Work began on a queued run (or a stopped rollback is resumed): `running`, any earlier reason cleared when asked. */
  | { readonly type: 'started'; readonly clearReason?: boolean }
  /** Active time spent (never time waiting for a person). */
  | { readonly type: 'time'; readonly ms: number }
  /** A step taken: a compensation proposed. An external agent's steps are its calls (`call-sent`). */
  | { readonly type: 'step' }
  /** Airlock's own model answered a turn: a step, its usage and cost counted, and `model.called` on record. */
  | {
      readonly type: 'model-answered';
      readonly route: string;
      readonly provider: string;
      readonly model: string;
      readonly usage?: ModelUsage | undefined;
      readonly price?: ModelPrice | undefined;
      readonly why?: string | undefined;
      /** When it answered (ISO): the day its usage counts on. */
      readonly at: string;
      /** Its proposal was set aside for the route its risk plans (`to`): usage counted, no step taken. */
      readonly setAside?: { readonly tool: string; readonly risk: Risk; readonly to: string } | undefined;
    }
  /** No model route may take the turn (the run has read content above every route's clearance): on record. */
  | { readonly type: 'model-refused'; readonly reason: string }
  /** The model's reply cannot be used (repair.ts): on record, never acted on. */
  | MalformedEvent
  /** A call handed to the gateway: counted against the tool-call budget, in flight until its result. */
  | { readonly type: 'call-sent'; readonly id: string; readonly tool: string; readonly args: JsonObject; readonly reasoning?: string; readonly at?: string }
  /** The gateway's answer to the call in flight or waiting for a person; what it read or did may raise the labels. */
  | {
      readonly type: 'call-returned';
      readonly id: string;
      readonly tool: string;
      readonly status: ToolResultStatus;
      readonly content: Json;
      readonly labels?: Labels;
      /** The result's own labels, kept with it in the history so the model is told where it comes from. */
      readonly source?: Labels;
      readonly verification?: Verdict;
      /** The values in the result, with their sources: added to what the run has seen. */
      readonly sightings?: readonly Sighting[];
    }
  /** Values the agent has seen outside a call Airlock executed (a result an external agent reports). */
  | { readonly type: 'seen'; readonly sightings: readonly Sighting[] }
  /** The call needs a person: the run waits (`awaiting-approval`) with the call kept aside. */
  | { readonly type: 'approval-awaited'; readonly approvalId: ApprovalId; readonly id: string; readonly tool: string; readonly args: JsonObject }
  /** The waiting call was approved and is handed to the gateway: `running`, in flight. */
  | { readonly type: 'approved-call-sent' }
  /** A rollback stopped at a person's approval of one of its compensations. */
  | { readonly type: 'paused'; readonly reason: string }
  /**
   * A person stopped the run's scope (the kill switch): the run waits for an owner (`awaiting-approval`,
   * held by `haltId`), nothing in flight; a call waiting for a person stays waiting.
   */
  | { readonly type: 'halted'; readonly haltId: string; readonly reason: string }
  /** The halt holding the run was lifted: it goes on (`running`), or keeps waiting on its call's approval. */
  | { readonly type: 'halt-lifted' }
  /** An external agent reported the verification of an action it executed itself. */
  | { readonly type: 'verified'; readonly tool: string; readonly status: Verdict }
  /** The agent says it is finished. */
  | { readonly type: 'claimed'; readonly text: string; readonly claim: 'done' | 'gave-up' }
  /** A budget ran out: the run fails, and the record says which budget. */
  | { readonly type: 'budget-exhausted'; readonly reason: string; readonly endedBy?: 'session' | 'recovery' }
  /** The run ends with a terminal `status`; `reason` (when given) says why. */
  | { readonly type: 'ended'; readonly status: RunStatus; readonly reason?: string | null; readonly endedBy?: 'session' | 'recovery' }
  /** A rollback run's lease: who works on it until when (`null`: released). */
  | { readonly type: 'leased'; readonly lease: { readonly holder: string; readonly until: string } | null }
  /** Why a run stopped, without a change of status (an interrupted rollback). */
  | { readonly type: 'noted'; readonly reason: string | null };

/** Applies `events` in order to `from`. Throws `internal` on an illegal status change: a bug, never input. */
export function transition(from: RunPoint, ...events: readonly RunEvent[]): Transition {
  let point: Transition = { status: from.status, state: from.state, steps: [], records: [], usage: [] };
  for (const e of events) point = apply(point, e);
  return point;
}

function apply(at: Transition, e: RunEvent): Transition {
  const s = at.state;
  switch (e.type) {
    case 'started':
      return move(at, 'running', e.clearReason ? { ...s, reason: null } : s);
    case 'time':
      return { ...at, state: { ...s, activeMs: s.activeMs + Math.max(0, e.ms) } };
    case 'step':
      return { ...at, state: { ...s, steps: s.steps + 1 } };
    case 'model-answered': {
      const inTok = e.usage?.inputTokens ?? 0;
      const outTok = e.usage?.outputTokens ?? 0;
      const cost = costMicros(e.usage, e.price);
      const u = s.usage;
      const usage = {
        modelCalls: u.modelCalls + 1,
        inputTokens: u.inputTokens + inTok,
        outputTokens: u.outputTokens + outTok,
        costMicros: u.costMicros + (cost ?? 0),
        currency: u.currency ?? e.price?.currency ?? null,
      };
      const record = rec('model.called', {
        route: e.route,
        provider: e.provider,
        model: e.model,
        inputTokens: e.usage ? inTok : null,
        outputTokens: e.usage ? outTok : null,
        cost: cost === null ? null : cost / 1_000_000,
        currency: cost === null ? null : (e.price?.currency ?? null),
        priceVersion: e.price?.version ?? null,
        ...(e.why ? { why: e.why } : {}),
        ...(e.setAside ? { setAside: e.setAside } : {}),
      });
      // Daily sums per workflow, per principal (the agent, and the person it acts for) and per route.
      const scopes = [...principalScopes(s), `route:${e.route}`];
      const added: UsageAdded = {
        scopes,
        day: e.at.slice(0, 10),
        currency: cost === null ? '' : (e.price?.currency ?? ''),
        modelCalls: 1,
        inputTokens: inTok,
        outputTokens: outTok,
        costMicros: cost ?? 0,
        toolCalls: 0,
      };
      return { ...at, state: { ...s, steps: s.steps + (e.setAside ? 0 : 1), usage }, records: [...at.records, record], usage: [...at.usage, added] };
    }
    case 'call-sent': {
      const item: HistoryItem = { kind: 'tool_call', id: e.id, tool: e.tool, args: e.args, ...(e.reasoning ? { reasoning: e.reasoning } : {}) };
      const counted = { ...s, toolCalls: s.toolCalls + 1, inFlight: { callId: e.id, tool: e.tool } };
      // A dated call also counts in the daily sums of its workflow and principals (daily tool-call budgets).
      const daily: UsageAdded[] = e.at ? [{ ...NO_TURN, scopes: principalScopes(s), day: e.at.slice(0, 10), toolCalls: 1 }] : [];
      at = { ...at, usage: [...at.usage, ...daily] };
      // An external agent's calls are its steps, and go beside the run (appended, never rewritten), so
      // each call saves the same small state; Airlock's own model is handed its whole conversation.
      if (s.driver === 'agent') {
        const steps = s.steps + 1;
        return { ...at, state: { ...counted, steps }, steps: [...at.steps, stepOf(2 * steps - 1, item)] };
      }
      return { ...at, state: { ...counted, history: [...s.history, item] } };
    }
    case 'call-returned': {
      const item: HistoryItem = { kind: 'tool_result', id: e.id, tool: e.tool, status: e.status, content: e.content, ...(e.source ? { source: e.source } : {}) };
      const answered = {
        ...s,
        inFlight: null,
        pending: null,
        labels: e.labels ?? s.labels,
        ...(e.sightings && e.sightings.length > 0 ? { seen: addSightings(s.seen ?? NOTHING_SEEN, e.sightings) } : {}),
        verifications: e.verification ? [...s.verifications, { callId: e.id, tool: e.tool, status: e.verification }] : s.verifications,
      };
      if (s.driver === 'agent') return { ...at, state: answered, steps: [...at.steps, stepOf(2 * s.steps, item)] };
      return move(at, 'running', { ...answered, history: [...s.history, item] });
    }
    case 'approval-awaited':
      return move(at, 'awaiting-approval', { ...s, inFlight: null, pending: { approvalId: e.approvalId, callId: e.id, tool: e.tool, args: e.args } });
    case 'approved-call-sent': {
      if (!s.pending) throw new AirlockError('internal', 'an approved call was sent for a run with no call waiting');
      return move(at, 'running', { ...s, inFlight: { callId: s.pending.callId, tool: s.pending.tool } });
    }
    case 'paused':
      return move(at, 'awaiting-approval', { ...s, reason: e.reason });
    case 'halted': {
      // A queued run is started first: the state machine's one way out of `queued` that is not an end.
      const from = at.status === 'queued' ? move(at, 'running', s) : at;
      return move(from, 'awaiting-approval', { ...s, inFlight: null, halt: { id: e.haltId }, reason: e.reason });
    }
    case 'halt-lifted': {
      const state: RunState = { ...s, halt: undefined, reason: null };
      return s.pending ? { ...at, state } : move(at, 'running', state);
    }
    case 'seen':
      return { ...at, state: { ...s, seen: addSightings(s.seen ?? NOTHING_SEEN, e.sightings) } };
    case 'verified':
      return { ...at, state: { ...s, verifications: [...s.verifications, { callId: `r${s.verifications.length + 1}`, tool: e.tool, status: e.status }] } };
    case 'model-malformed': {
      const record = rec('model.malformed', { problem: e.problem, detail: e.detail, tool: e.tool, excerpt: e.excerpt, repair: e.repair });
      const history: HistoryItem[] = e.repair ? [...s.history, { kind: 'notice', text: repairNotice(e.problem) }] : [...s.history];
      return { ...at, state: { ...s, history }, records: [...at.records, record] };
    }
    case 'model-refused':
      return { ...at, records: [...at.records, rec('model.refused', { classification: s.labels.classification, reason: e.reason })] };
    case 'claimed': {
      const final = { text: e.text, claim: e.claim };
      const history: readonly HistoryItem[] = s.driver === 'model' ? [...s.history, { kind: 'final', ...final }] : s.history;
      return { ...at, state: { ...s, final, history } };
    }
    case 'budget-exhausted': {
      const noted: Transition = { ...at, records: [...at.records, rec('run.budget-exhausted', { reason: e.reason, steps: s.steps, activeMs: s.activeMs })] };
      return apply(noted, { type: 'ended', status: 'failed', reason: e.reason, ...(e.endedBy ? { endedBy: e.endedBy } : {}) });
    }
    case 'ended': {
      if (!TERMINAL_RUN_STATUSES.includes(e.status)) throw new AirlockError('internal', `a run cannot end as ${e.status}`);
      const ended: RunState = { ...s, inFlight: null, reason: e.reason === undefined || e.reason === null ? s.reason : e.reason };
      const moved = move(at, e.status, ended);
      return { ...moved, records: [...moved.records, finished(e.status, ended, e.endedBy)] };
    }
    case 'leased': {
      if (s.driver !== 'rollback') throw new AirlockError('internal', 'only a rollback run holds a lease');
      return { ...at, state: { ...s, rollback: { ...s.rollback, lease: e.lease } } };
    }
    case 'noted':
      return { ...at, state: { ...s, reason: e.reason } };
  }
}

/** A move to `status` with `state`, recorded as `run.status` when the status changes. */
function move(at: Transition, status: RunStatus, state: RunState): Transition {
  if (!canTransition(at.status, status)) throw new AirlockError('internal', `illegal run transition ${at.status} → ${status}`);
  if (status === at.status) return { ...at, state };
  return { ...at, status, state, records: [...at.records, rec('run.status', { from: at.status, to: status, reason: state.reason })] };
}

/** The `run.finished` record of a run ending in `status`. */
function finished(status: RunStatus, state: RunState, endedBy: 'session' | 'recovery' | undefined): AuditItem {
  return rec('run.finished', {
    status,
    reason: state.reason,
    steps: state.steps,
    // A rollback's time is its steps' time, recorded on each; it has no active time of its own.
    activeMs: state.driver === 'rollback' ? null : state.activeMs,
    claim: state.final?.claim ?? null,
    verifications: state.verifications.map((v) => ({ ...v })),
    ...(endedBy ? { endedBy } : {}),
  });
}

/** The daily scopes every use by a run counts in: its workflow, its agent, the person it acts for. */
function principalScopes(s: RunState): string[] {
  return [`workflow:${s.workflow}`, `principal:agent:${s.agent}`, ...(s.onBehalfOf ? [`principal:${s.onBehalfOf}`] : [])];
}

const NO_TURN = { currency: '', modelCalls: 0, inputTokens: 0, outputTokens: 0, costMicros: 0, toolCalls: 0 };

/** One history item as a stored step (history items are JSON by construction; the type only lacks the index signature). */
function stepOf(n: number, item: HistoryItem): AppendedStep {
  return { n, item: item as unknown as Json };
}
