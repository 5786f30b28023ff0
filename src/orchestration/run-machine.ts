// The run as a state machine (pure): its serialisable state, legal status changes, budgets and the next work.
import type { ApprovalId, JsonObject, Labels, RunStatus } from '../types.js';
import type { Budgets } from '../config/schema.js';
import type { HistoryItem } from './model.js';

/** Everything a run needs to resume in another process. Versioned for stored-state migrations. */
export interface RunState {
  readonly schema: 1;
  readonly workflow: string;
  readonly input: JsonObject;
  /** The agent principal's id. */
  readonly agent: string;
  /** The user the agent acts for, if any (`user:dana`). */
  readonly onBehalfOf: string | null;
  readonly labels: Labels;
  readonly history: readonly HistoryItem[];
  /** Model turns taken. */
  readonly steps: number;
  /** Milliseconds spent running (time waiting for a human does not count). */
  readonly activeMs: number;
  /** The call waiting for a human. */
  readonly pending: { readonly approvalId: ApprovalId; readonly callId: string; readonly tool: string; readonly args: JsonObject } | null;
  /** A call that was handed to the gateway and has not come back: set before, cleared after. */
  readonly inFlight: { readonly callId: string; readonly tool: string } | null;
  readonly verifications: readonly { readonly callId: string; readonly tool: string; readonly status: 'passed' | 'failed' | 'error' }[];
  readonly final: { readonly text: string; readonly claim: 'done' | 'gave-up' } | null;
  /** Why the run failed or was stopped, in words. */
  readonly reason: string | null;
  /** Set when an external agent drives the run (MCP, HTTP API, SDK): no model is called for it. */
  readonly door?: ExternalDoor;
  /** The process (its instance lease id) serving an externally driven run; when it is gone, the run is ended for review. */
  readonly instance?: string;
  /** Tool calls sent to the gateway (a counter, not derived from the bounded history). */
  readonly toolCalls?: number;
}

/** The ways an external agent reaches the one decision point. */
export type ExternalDoor = 'mcp-http' | 'mcp-stdio' | 'http-api' | 'sdk';

const LEGAL: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  queued: ['running', 'cancelled'],
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
    // External runs keep a bounded history: their counter is the truth, not the history's length.
    const calls = state.toolCalls ?? state.history.filter((h) => h.kind === 'tool_call').length;
    if (calls >= budgets.toolCalls) return `tool-call budget of ${budgets.toolCalls} exhausted`;
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

/** A fresh run's state. */
export function initialState(workflow: string, input: JsonObject, agent: string, onBehalfOf: string | null, labels: Labels): RunState {
  return {
    schema: 1,
    workflow,
    input,
    agent,
    onBehalfOf,
    labels,
    history: [],
    steps: 0,
    activeMs: 0,
    pending: null,
    inFlight: null,
    verifications: [],
    final: null,
    reason: null,
  };
}
