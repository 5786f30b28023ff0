// The model interface the agent loop drives: scripted playbooks today, real providers and adversaries tomorrow.
import { AirlockError } from '../errors.js';
import type { Json, JsonObject, Labels, Risk } from '../types.js';

/** A tool as the model sees it: the reviewed contract's name, description and schema. Never a credential. */
export interface ToolView {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Json;
}

/** What the gateway did with a proposal, as the model is told. */
export type ToolResultStatus =
  | 'ok'
  | 'denied'
  | 'invalid'
  | 'suggested'
  | 'rejected'
  | 'expired'
  | 'failed'
  | 'pending';

/** The conversation so far: serialisable, stored with the run, replayed on resume. */
export type HistoryItem =
  | { readonly kind: 'tool_call'; readonly id: string; readonly tool: string; readonly args: JsonObject; readonly reasoning?: string }
  | {
      readonly kind: 'tool_result';
      readonly id: string;
      readonly tool: string;
      readonly status: ToolResultStatus;
      readonly content: Json;
      /** Where an executed call's content comes from, as its contract labels it: the model is told, and untrusted content is marked as data. */
      readonly source?: Labels;
    }
  | { readonly kind: 'final'; readonly text: string; readonly claim: 'done' | 'gave-up' }
  /** Airlock's word to the model (never content from a tool): why its last reply could not be used, asking for a repair. */
  | { readonly kind: 'notice'; readonly text: string };

export interface ModelInput {
  readonly workflow: string;
  readonly input: JsonObject;
  readonly tools: readonly ToolView[];
  readonly history: readonly HistoryItem[];
  /** What the run has read so far: routing sends it only to a route cleared for it. */
  readonly labels?: Labels;
}

/** Which route answered a turn, and why it was chosen (routing/router.ts). */
export interface TurnRoute {
  readonly name: string;
  readonly provider: string;
  readonly model: string;
  readonly price?: ModelPrice | undefined;
  readonly why: string;
}

export interface ModelUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/**
 * An answer of this turn that was set aside: it proposed a call whose risk routing sends to another
 * route (`to`), which was asked instead. It never reached the gateway; its usage is still spent.
 */
export interface SetAsideAnswer {
  readonly route: TurnRoute;
  readonly usage?: ModelUsage | undefined;
  readonly tool: string;
  readonly risk: Risk;
  readonly to: string;
}

interface TurnCommon {
  readonly usage?: ModelUsage;
  readonly route?: TurnRoute;
  /** Answers given earlier in this turn and set aside for routing (router.ts): on record, never acted on. */
  readonly setAside?: readonly SetAsideAnswer[];
}

/** Why a model's reply cannot be used: arguments that are not a JSON object, a reply cut off, a refusal, nothing at all, a reply that is not the API's shape or did not finish, or a tool it was not offered. */
export const MALFORMED_PROBLEMS = ['invalid-arguments', 'truncated', 'refused', 'empty', 'unreadable', 'unknown-tool'] as const;
export type MalformedProblem = (typeof MALFORMED_PROBLEMS)[number];

/** One model turn: propose a tool call, finish with a claim, or a reply that cannot be used (the runner asks once for a repair). */
export type ModelTurn =
  | (TurnCommon & { readonly kind: 'tool_call'; readonly tool: string; readonly args: JsonObject; readonly reasoning?: string })
  | (TurnCommon & { readonly kind: 'final'; readonly text: string; readonly claim: 'done' | 'gave-up' })
  | (TurnCommon & {
      readonly kind: 'malformed';
      readonly problem: Exclude<MalformedProblem, 'unknown-tool'>;
      /** What was wrong, in a line (a parser's message, the provider's stop reason). */
      readonly detail: string;
      /** The tool it tried to call, when it tried. */
      readonly tool?: string;
      /** The start of what it sent, bounded: evidence, never acted on. */
      readonly excerpt?: string;
    });

/** A turn that could not be placed or answered, carrying the answers set aside before it failed (their usage is spent). */
export class TurnError extends AirlockError {
  constructor(
    cause: AirlockError,
    readonly setAside: readonly SetAsideAnswer[],
  ) {
    super(cause.code, cause.message, { hint: cause.hint, retryable: cause.retryable, cause });
    this.name = 'TurnError';
  }
}

/** What a model costs per million tokens (a route's price table, `priceSchema`). */
export interface ModelPrice {
  readonly version: string;
  readonly currency: string;
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
}

/** What `usage` costs at `price`, in micro-units of its currency (a token costs `perMillion` micro-units); null when either is missing. */
export function costMicros(usage: ModelUsage | undefined, price: ModelPrice | undefined): number | null {
  if (!usage || !price) return null;
  return Math.round(usage.inputTokens * price.inputPerMillion + usage.outputTokens * price.outputPerMillion);
}

export interface Model {
  /** Provider and model name, for telemetry (`gen_ai.system`, `gen_ai.request.model`). */
  readonly provider: string;
  readonly model: string;
  /** The workspace route it was reached through, and that route's price table, when it has one. */
  readonly route?: string;
  readonly price?: ModelPrice | undefined;
  next(input: ModelInput): Promise<ModelTurn>;
}
