// A model behind the OpenAI-compatible Chat Completions API (OpenAI, vLLM, Ollama, LM Studio and most
// gateways), through the official `openai` SDK: its retries (408, 409, 429 after `retry-after`, 5xx,
// timeouts, with backoff) and timeouts are the route's. The conversation is rebuilt from the run's
// history on every turn, so a run resumes in any process; the key never reaches a record or a span.
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { AirlockError } from '../../errors.js';
import { DEFAULT_SYSTEM, ProviderModel, parseArgs, providerFailure, taskText, wireNames, type ProviderOptions } from './common.js';
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
        tool_calls: [{ id: h.id, type: 'function', function: { name: toWire.get(h.tool) ?? h.tool, arguments: JSON.stringify(h.args) } }],
      });
    } else if (h.kind === 'tool_result') {
      messages.push({ role: 'tool', tool_call_id: h.id, content: JSON.stringify({ status: h.status, result: h.content }) });
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
    const call = choice.message.tool_calls?.find((c) => c.type === 'function');
    if (call && call.type === 'function') {
      const tool = fromWire.get(call.function.name) ?? call.function.name;
      const reasoning = choice.message.content?.trim();
      return { kind: 'tool_call', tool, args: parseArgs(call.function.arguments), ...(reasoning ? { reasoning } : {}), ...(usage ? { usage } : {}) };
    }
    // Cut off (length) or filtered: the model did not finish its answer, so it claims nothing done.
    const claim = choice.finish_reason === 'stop' ? 'done' : 'gave-up';
    const text = choice.message.content ?? (claim === 'done' ? '' : `the model stopped: ${choice.finish_reason}`);
    return { kind: 'final', text, claim, ...(usage ? { usage } : {}) };
  }
}
