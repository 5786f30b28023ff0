// Adapter for the Vercel AI SDK (`ai`): a tool whose `execute` is decided by Airlock first.
// Structural types only: Airlock does not depend on that library.
import { AirlockError } from '../../errors.js';
import type { DecisionPoint } from '../decision-point.js';
import { governTool } from '../govern.js';

// `any`: the input and options types belong to the library (inferred from the tool's schema).
type Execute = (input: any, options: any) => unknown;

/** The part of an AI SDK tool this adapter relies on. */
export interface AiToolLike {
  readonly execute?: Execute;
  readonly toModelOutput?: (options: { toolCallId: string; input: any; output: any }) => unknown;
}

/** The final value of an `execute` result (a streamed tool's last value). */
type FinalOutput<R> = R extends AsyncIterable<infer O> ? O : Awaited<R>;

/**
 * The governed tool: `execute` resolves to the tool's output, or to Airlock's refusal message for
 * the model. (Kept a union of the library's tool variants, each with the one governed `execute`.)
 */
export type GovernedAiTool<T extends AiToolLike> = WithExecute<T, NonNullable<T['execute']>>;

type WithExecute<T, E extends Execute> = T extends unknown
  ? Omit<T, 'execute'> & {
      readonly execute: (input: Parameters<E>[0], options: Parameters<E>[1]) => Promise<FinalOutput<ReturnType<E>> | string>;
    }
  : never;

/**
 * The same tool, governed as the Airlock contract `name` (e.g. `app.issue_credit`): each call asks
 * `dp` with the input the SDK parsed; a refusal becomes the tool's output (the model reads why, and
 * for a pending approval, to call again with the same input once approved) and `execute` does not
 * run. When allowed, `execute` runs and its outcome is reported; an error is reported and re-thrown
 * (the SDK turns it into a tool error). A streamed `execute` is drained: the model gets its last value.
 */
export function governVercelAITool<T extends AiToolLike>(dp: DecisionPoint, name: string, tool: T): GovernedAiTool<T> {
  const execute = tool.execute;
  if (!execute) {
    throw new AirlockError('input', `tool \`${name}\` has no \`execute\`: it runs outside this process, so there is nothing here to govern`, {
      hint: 'govern it where it executes (with the SDK there, or through the MCP or HTTP door)',
    });
  }
  // Refusal messages by tool call, so a custom toModelOutput is not handed a message where it expects an output.
  const refused = new Map<string, string>();
  const governed = async (input: unknown, options: { toolCallId?: string } | undefined): Promise<unknown> => {
    const run = governTool(dp, name, () => drain(execute.call(tool, input, options)));
    const out = await run((input ?? {}) as Record<string, unknown>);
    if (out.ok) return out.value;
    if (options?.toolCallId !== undefined && tool.toModelOutput) refused.set(options.toolCallId, out.message);
    return out.message;
  };
  const toModelOutput = tool.toModelOutput;
  return {
    ...tool,
    execute: governed,
    ...(toModelOutput
      ? {
          toModelOutput: (o: { toolCallId: string; input: unknown; output: unknown }) => {
            const message = refused.get(o.toolCallId);
            if (message === undefined) return toModelOutput.call(tool, o);
            refused.delete(o.toolCallId);
            return { type: 'text', value: message };
          },
        }
      : {}),
  } as unknown as GovernedAiTool<T>;
}

/** Awaits a result; a streamed one (an async iterable) is read to its last value. */
async function drain(result: unknown): Promise<unknown> {
  if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result) {
    let last: unknown;
    for await (const v of result as AsyncIterable<unknown>) last = v;
    return last;
  }
  return result;
}
