// The run's rules (pure): its serialisable state by driver, legal status changes, budgets and the next work. The events that change a run are applied in run-transition.ts.
import type { ApprovalId, JsonObject, Labels, RunId, RunStatus, UsageDelta } from '../types.js';
import type { Budgets } from '../config/schema.js';
import type { HistoryItem } from './model.js';
import { addSightings, NOTHING_SEEN, sightingsOf, type SeenValues } from '../context/provenance.js';

/** What every run's state holds, whoever drives it. Versioned for stored-state upgrades (run-state.ts). */
export interface RunStateBase {
  readonly schema: 2;
  readonly workflow: string;
  readonly input: JsonObject;
  /** The agent principal's id. */
  readonly agent: string;
  /** The user the agent acts for, if any (`user:dana`). */
  readonly onBehalfOf: string | null;
  readonly labels: Labels;
  /** The values the run has seen and where (context/provenance.ts); rows written before it have none: nothing seen. */
  readonly seen?: SeenValues;
  /** Airlock's own loop: the whole conversation; an external run: its recent calls (the audit trail keeps them all). */
  readonly history: readonly HistoryItem[];
  /** Model turns taken (an external run: calls made). */
  readonly steps: number;
  /** Milliseconds spent running (time waiting for a human does not count). */
  readonly activeMs: number;
  /** Tool calls sent to the gateway: the budget's counter, kept in state (never derived from a bounded history). */
  readonly toolCalls: number;
  /** What Airlock's own model turns used (zero for an external agent, whose model is its own). */
  readonly usage: RunUsage;
  /** The call waiting for a human. */
  readonly pending: { readonly approvalId: ApprovalId; readonly callId: string; readonly tool: string; readonly args: JsonObject } | null;
  /** A call that was handed to the gateway and has not come back: set before, cleared after. */
  readonly inFlight: { readonly callId: string; readonly tool: string } | null;
  readonly verifications: readonly { readonly callId: string; readonly tool: string; readonly status: 'passed' | 'failed' | 'error' }[];
  readonly final: { readonly text: string; readonly claim: 'done' | 'gave-up' } | null;
  /** Why the run failed or was stopped, in words. */
  readonly reason: string | null;
  /**
   * The halt holding the run (a person stopped its scope: halts.ts): it waits, `awaiting-approval`,
   * until an owner lifts it and the run is driven again. Absent: not held.
   */
  readonly halt?: { readonly id: string } | undefined;
  /** The run's trace (W3C traceparent of its first span): every later segment, after a pause or a restart, continues it. Absent: not traced when it started. */
  readonly trace?: { readonly traceparent: string };
}

/** Model turns, the tokens their provider reported, and their cost in micro-units of `currency` (null: unpriced). */
export interface RunUsage {
  readonly modelCalls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costMicros: number;
  readonly currency: string | null;
}

export const NO_USAGE: RunUsage = { modelCalls: 0, inputTokens: 0, outputTokens: 0, costMicros: 0, currency: null };

/** What a run used, as people read it: counts, and the cost in currency units (null when nothing was priced). */
export function usageView(state: RunState): { toolCalls: number; modelCalls: number; inputTokens: number; outputTokens: number; cost: number | null; currency: string | null } {
  const u = state.usage;
  return { toolCalls: state.toolCalls, modelCalls: u.modelCalls, inputTokens: u.inputTokens, outputTokens: u.outputTokens, cost: u.currency === null ? null : u.costMicros / 1_000_000, currency: u.currency };
}

/** A run Airlock's own agent loop drives (a model proposes each step). */
export interface ModelRunState extends RunStateBase {
  readonly driver: 'model';
  readonly door?: undefined;
}

/** A run an external agent drives (MCP, HTTP API, SDK): no model is called for it. */
export interface AgentRunState extends RunStateBase {
  readonly driver: 'agent';
  readonly door: ExternalDoor;
  /** The process (its instance lease id) serving it; when it is gone, the run is ended for review. */
  readonly instance?: string | undefined;
}

/** A rollback run: a finished run's compensations, proposed on a person's request (rollback.ts). */
export interface RollbackRunState extends RunStateBase {
  readonly driver: 'rollback';
  readonly door: 'rollback';
  readonly rollback: RollbackMeta;
}

/** Where a rollback run stands: what it rolls back, which attempt, who asked, who holds it now. */
export interface RollbackMeta {
  /** The run being rolled back. */
  readonly of: RunId;
  /** 1 for the first rollback run of `of`; a new run is opened after one ends failed. */
  readonly attempt: number;
  /** Who asked first (`user:<id>`); each re-run's requester is in its `rollback.started` record. */
  readonly requestedBy: string;
  /** The process working on it now and until when (a lease against concurrent rollbacks). */
  readonly lease?: { readonly holder: string; readonly until: string } | null | undefined;
}

/** Everything a run needs to resume in another process, by who drives it. */
export type RunState = ModelRunState | AgentRunState | RollbackRunState;

/** The ways an external agent reaches the one decision point. */
export type ExternalDoor = 'mcp-http' | 'mcp-stdio' | 'http-api' | 'sdk';

const LEGAL: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['awaiting-approval', 'completed', 'verified', 'unverified', 'failed', 'cancelled'],
  'awaiting-approval': ['running', 'failed', 'cancelled'],
  completed: [],
  verified: [],
  unverified: [],
  failed: [],
  cancelled: [],
};

/** True when a run may move from `from` to `to`. Terminal statuses go nowhere. */
export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return from === to || LEGAL[from].includes(to);
}

/** The budget a run has exhausted, or null. Checked between steps, never during a call. */
export function exhaustedBudget(state: RunState, budgets: Budgets): string | null {
  if (state.steps >= budgets.steps) return `step budget of ${budgets.steps} exhausted`;
  if (state.activeMs >= budgets.wallTimeMs) return `wall-time budget of ${budgets.wallTimeMs} ms exhausted`;
  if (budgets.toolCalls !== undefined) {
    if (state.toolCalls >= budgets.toolCalls) return `tool-call budget of ${budgets.toolCalls} exhausted`;
  }
  const u = state.usage;
  if (budgets.modelCalls !== undefined && u.modelCalls >= budgets.modelCalls) return `model-call budget of ${budgets.modelCalls} exhausted`;
  if (budgets.inputTokens !== undefined && u.inputTokens >= budgets.inputTokens) return `input-token budget of ${budgets.inputTokens} exhausted (${u.inputTokens} used)`;
  if (budgets.outputTokens !== undefined && u.outputTokens >= budgets.outputTokens) return `output-token budget of ${budgets.outputTokens} exhausted (${u.outputTokens} used)`;
  if (budgets.cost !== undefined && u.costMicros >= Math.round(budgets.cost * 1_000_000)) {
    return `cost budget of ${budgets.cost} ${u.currency ?? ''} exhausted (${(u.costMicros / 1_000_000).toFixed(6)} spent)`.replace('  ', ' ');
  }
  return null;
}

/** A scope's usage today in one currency, as the store sums it (`UsageRow`). */
export type DailyUsage = Omit<UsageDelta, 'scopes' | 'day'> & { readonly scope: string };

/** The daily scopes a run's budgets read: its workflow, and the principal it counts against. */
export function dailyScopes(state: RunState): { readonly workflow: string; readonly principal: string } {
  return { workflow: `workflow:${state.workflow}`, principal: `principal:${state.onBehalfOf ?? `agent:${state.agent}`}` };
}

/** The daily budget a run's next model turn would pass, or null (`rows`: today's usage of its scopes). */
export function exhaustedDaily(state: RunState, budgets: Budgets, rows: readonly DailyUsage[]): string | null {
  const scopes = dailyScopes(state);
  const checks: [string, Budgets['perDay'], string][] = [
    [scopes.workflow, budgets.perDay, `workflow \`${state.workflow}\``],
    [scopes.principal, budgets.perPrincipalPerDay, `\`${scopes.principal.slice('principal:'.length)}\``],
  ];
  for (const [scope, caps, who] of checks) {
    if (!caps) continue;
    const mine = rows.filter((r) => r.scope === scope);
    const total = (k: 'modelCalls' | 'inputTokens' | 'outputTokens' | 'toolCalls') => mine.reduce((t, r) => t + r[k], 0);
    if (caps.toolCalls !== undefined && total('toolCalls') >= caps.toolCalls) return `daily tool-call budget of ${caps.toolCalls} for ${who} reached`;
    if (caps.modelCalls !== undefined && total('modelCalls') >= caps.modelCalls) return `daily model-call budget of ${caps.modelCalls} for ${who} reached`;
    if (caps.inputTokens !== undefined && total('inputTokens') >= caps.inputTokens) return `daily input-token budget of ${caps.inputTokens} for ${who} reached (${total('inputTokens')} used today)`;
    if (caps.outputTokens !== undefined && total('outputTokens') >= caps.outputTokens) return `daily output-token budget of ${caps.outputTokens} for ${who} reached (${total('outputTokens')} used today)`;
    if (caps.cost !== undefined) {
      // Costs in different currencies are not added up: each currency has the cap.
      const over = mine.find((r) => r.currency !== '' && r.costMicros >= Math.round((caps.cost as number) * 1_000_000));
      if (over) return `daily cost budget of ${caps.cost} ${over.currency} for ${who} reached (${(over.costMicros / 1_000_000).toFixed(6)} spent today)`;
    }
  }
  return null;
}

/**
 * The status a run ends with once the model says it is finished: verified only when every
 * probe passed (and there was at least one); unverified when any failed; completed otherwise.
 * "Done" needs evidence: a model's claim never upgrades a failed check.
 */
export function finalStatus(state: RunState): RunStatus {
  if (state.final?.claim === 'gave-up') return 'failed';
  if (state.verifications.some((v) => v.status !== 'passed')) return 'unverified';
  return state.verifications.length > 0 ? 'verified' : 'completed';
}

/** What the runner must do next for a run in `status`. */
export type Work = 'call-model' | 'check-approval' | 'recover-in-flight' | 'none';

export function nextWork(status: RunStatus, state: RunState): Work {
  if (state.door) return 'none'; // an external agent drives it; the runner only records
  if (status === 'queued' || status === 'running') return state.inFlight ? 'recover-in-flight' : 'call-model';
  if (status === 'awaiting-approval') return 'check-approval';
  return 'none';
}

/** A fresh run's state, for Airlock's own loop (external and rollback runs add their driver's fields). */
export function initialState(workflow: string, input: JsonObject, agent: string, onBehalfOf: string | null, labels: Labels): ModelRunState {
  return {
    schema: 2,
    driver: 'model',
    workflow,
    input,
    agent,
    onBehalfOf,
    labels,
    // The input is the requester's own: its values are trusted, with `input` as their source.
    seen: addSightings(NOTHING_SEEN, sightingsOf(input, 'input', 'trusted')),
    history: [],
    steps: 0,
    activeMs: 0,
    toolCalls: 0,
    usage: NO_USAGE,
    pending: null,
    inFlight: null,
    verifications: [],
    final: null,
    reason: null,
  };
}
