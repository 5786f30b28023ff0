// Adapter for the OpenAI Agents SDK (@openai/agents-core): a FunctionTool whose every invocation is
// decided by Airlock first. Structural types only: Airlock does not depend on that library.
import type { DecisionPoint } from '../decision-point.js';
import { refusal } from '../decision-point.js';
import { governTool } from '../govern.js';

/** The part of an `@openai/agents-core` FunctionTool this adapter relies on. */
export interface AgentsFunctionToolLike {
  readonly type: 'function';
  readonly name: string;
  // `any`: the runner's RunContext and details types belong to the library.
  readonly invoke: (runContext: any, input: string, details?: any) => Promise<unknown>;
}

export interface GovernAgentsToolOptions {
  /** The Airlock contract this tool is (default: the tool's name). Function names cannot hold a dot; contracts do. */
  readonly as?: string;
}

/**
 * The same tool, governed: each invocation asks `dp` with the model's arguments; when Airlock
 * refuses (denied, invalid, pending approval...) the model receives Airlock's message as the tool
 * output and the tool does not run. When allowed, the original `invoke` runs with the very same
 * input and its outcome is reported: `ok` when it returns, `error` (and re-thrown) when it throws.
 * A tool whose own error function turns a failure into text returns normally, so it is reported
 * `ok` with that text; build tools with `errorFunction: null` for exact failure records.
 */
export function governOpenAIAgentsTool<T extends AgentsFunctionToolLike>(dp: DecisionPoint, tool: T, opts: GovernAgentsToolOptions = {}): T {
  const contract = opts.as ?? tool.name;
  const original = tool.invoke;
  const invoke = async (runContext: any, input: string, details?: any): Promise<unknown> => {
    const args = parseArgs(input);
    if (!args.ok) return refusal({ status: 'invalid', reasons: [args.reason] }).message;
    // The original parses the same input string again: what runs is exactly what was decided.
    const run = governTool(dp, contract, () => original.call(tool, runContext, input, details));
    const out = await run(args.value);
    return out.ok ? out.value : out.message;
  };
  return { ...tool, invoke };
}

function parseArgs(input: string): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  if (input.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(input);
  } catch {
    return { ok: false, reason: 'the tool input is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'the tool input must be a JSON object' };
  return { ok: true, value: value as Record<string, unknown> };
}
