// A model behind the OpenAI-compatible Chat Completions API (OpenAI, vLLM, Ollama, LM Studio and most
// gateways), through the official `openai` SDK: its retries (408, 409, 429 after `retry-after`, 5xx,
// timeouts, with backoff) and timeouts are the route's. The conversation is rebuilt from the run's
// history on every turn, so a run resumes in any process; the key never reaches a record or a span.
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { AirlockError } from '../../errors.js';
import { DEFAULT_SYSTEM, ProviderModel, malformed, noticeText, providerFailure, readArgs, readTurn, taskText, toolResultText, wireNames, wireSafe, type ProviderOptions } from './common.js';
import type { ModelInput, ModelTurn } from '../../orchestration/model.js';

/** An OpenAI-compatible route's options (common.ts). */
export type OpenAIChatOptions = ProviderOptions;

/** The request's messages: the system message, the task, then the run's history as the API's turns. */
export function chatMessages(input: ModelInput, toWire: ReadonlyMap<string, string>, system: string): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [
    { role: 'system', content: system },
    { role: 'user', content: taskText(input) },
  ];
  for (const h of input.history) {
    if (h.kind === 'tool_call') {
      messages.push({
        role: 'assistant',
        content: h.reasoning ?? null,
        tool_calls: [{ id: h.id, type: 'function', function: { name: toWire.get(h.tool) ?? wireSafe(h.tool), arguments: JSON.stringify(h.args) } }],
      });
    } else if (h.kind === 'tool_result') {
      messages.push({ role: 'tool', tool_call_id: h.id, content: toolResultText(h) });
    } else if (h.kind === 'notice') {
      messages.push({ role: 'user', content: noticeText(h) });
    } else {
      messages.push({ role: 'assistant', content: h.text });
    }
  }
  return messages;
}

/** The `openai` SDK client of a route: its base URL, key, timeout and retries. */
export function openAIClient(opts: ProviderOptions): OpenAI {
  // A local endpoint (vLLM, Ollama) needs no key; the SDK insists on one, and this one is never sent anywhere that checks it.
  return new OpenAI({ apiKey: opts.apiKey ?? 'no-key', baseURL: opts.baseUrl, timeout: opts.timeoutMs, maxRetries: opts.maxRetries });
}

export class OpenAIChatModel extends ProviderModel {
  readonly provider = 'openai';
  private readonly client: OpenAI = openAIClient(this.opts);

  async next(input: ModelInput): Promise<ModelTurn> {
    const { toWire, fromWire } = wireNames(input.tools);
    const tools: ChatCompletionTool[] = input.tools.map((t) => ({
      type: 'function',
      function: { name: toWire.get(t.name) ?? t.name, description: t.description, parameters: t.inputSchema as Record<string, unknown> },
    }));
    let res: OpenAI.Chat.Completions.ChatCompletion;
    try {
      const params = {
        model: this.opts.model,
        messages: chatMessages(input, toWire, this.opts.system ?? DEFAULT_SYSTEM),
        ...(tools.length > 0 ? { tools, tool_choice: 'auto' as const, parallel_tool_calls: false } : {}),
        ...(this.opts.temperature !== undefined ? { temperature: this.opts.temperature } : {}),
      };
      // Streamed: the SDK assembles the chunks (and the usage the last one carries) into the same completion.
      res = this.opts.stream
        ? await this.client.chat.completions.stream({ ...params, stream_options: { include_usage: true } }).finalChatCompletion()
        : await this.client.chat.completions.create(params);
    } catch (e) {
      throw providerFailure(this.opts, e, e instanceof OpenAI.APIError && typeof e.status === 'number' ? e.status : undefined, e instanceof OpenAI.APIConnectionTimeoutError);
    }
    const usage = res.usage ? { inputTokens: res.usage.prompt_tokens, outputTokens: res.usage.completion_tokens } : undefined;
    const choice = res.choices[0];
    if (!choice) throw new AirlockError('connector', `model route \`${this.opts.routeName}\` answered with no choice`, { hint: 'check that the endpoint speaks the Chat Completions API' });
    const turn = readTurn(choice, (c) => chatTurn(c, fromWire));
    return { ...turn, ...(usage ? { usage } : {}) };
  }
}

/** One choice as a turn: a tool call, a final answer, or a reply that cannot be used (cut off, refused, empty, arguments not JSON). */
export function chatTurn(choice: OpenAI.Chat.Completions.ChatCompletion.Choice, fromWire: ReadonlyMap<string, string>): ModelTurn {
  const m = choice.message;
  const content = m.content?.trim() ?? '';
  if (m.refusal) return malformed('refused', 'the model refused', m.refusal);
  if (choice.finish_reason === 'content_filter') return malformed('refused', 'the provider filtered the reply (content_filter)', content);
  const call = m.tool_calls?.find((c) => c.type === 'function');
  // Cut off: whatever it held (a tool call's arguments included) may be incomplete, so none of it is used.
  if (choice.finish_reason === 'length') return malformed('truncated', 'the reply hit the token limit (finish_reason length)', content || (call?.type === 'function' ? String(call.function.arguments) : ''));
  // Only a reply that says it finished is used: no finish reason is a reply that did not.
  if (!['stop', 'tool_calls', 'function_call'].includes(String(choice.finish_reason))) return malformed('unreadable', `the reply did not finish (finish_reason ${String(choice.finish_reason)})`, content);
  if (call && call.type === 'function') {
    const tool = fromWire.get(call.function.name) ?? String(call.function.name);
    const args = readArgs(call.function.arguments, tool);
    if (!args.ok) return args.turn;
    return { kind: 'tool_call', tool, args: args.args, ...(content ? { reasoning: content } : {}) };
  }
  if (!content) return malformed('empty', `the reply held no text and no tool call (finish_reason ${choice.finish_reason})`);
  return { kind: 'final', text: content, claim: choice.finish_reason === 'stop' ? 'done' : 'gave-up' };
}
