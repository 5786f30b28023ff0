// A model behind Anthropic's Messages API, through the official `@anthropic-ai/sdk`: its retries
// (408, 409, 429 after `retry-after`, 5xx, timeouts, with backoff) and timeouts are the route's.
// Like the Chat Completions adapter, the conversation is rebuilt from the run's history each turn.
import Anthropic from '@anthropic-ai/sdk';
import type { MessageParam, Tool } from '@anthropic-ai/sdk/resources/messages';
import type { JsonObject } from '../../types.js';
import type { ModelInput, ModelTurn } from '../../orchestration/model.js';
import { DEFAULT_SYSTEM, ProviderModel, malformed, noticeText, providerFailure, readTurn, taskText, toolResultText, wireNames, wireSafe, type ProviderOptions } from './common.js';

/** An Anthropic route's options: the common ones, and the bound on one answer's tokens the API requires. */
export interface AnthropicOptions extends ProviderOptions {
  readonly maxTokens: number;
}

/** The request's turns: the task, then the run's history as tool_use / tool_result blocks. */
export function anthropicMessages(input: ModelInput, toWire: ReadonlyMap<string, string>): MessageParam[] {
  const messages: MessageParam[] = [{ role: 'user', content: taskText(input) }];
  for (const h of input.history) {
    if (h.kind === 'tool_call') {
      messages.push({
        role: 'assistant',
        content: [...(h.reasoning ? [{ type: 'text' as const, text: h.reasoning }] : []), { type: 'tool_use', id: h.id, name: toWire.get(h.tool) ?? wireSafe(h.tool), input: h.args }],
      });
    } else if (h.kind === 'tool_result') {
      messages.push({
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: h.id, content: toolResultText(h), ...(h.status === 'ok' ? {} : { is_error: true }) }],
      });
    } else if (h.kind === 'notice') {
      // After a tool result the user turn is already open: the notice joins it (the API wants turns to alternate).
      const last = messages[messages.length - 1];
      if (last?.role === 'user' && Array.isArray(last.content)) last.content.push({ type: 'text', text: noticeText(h) });
      else messages.push({ role: 'user', content: [{ type: 'text', text: noticeText(h) }] });
    } else {
      messages.push({ role: 'assistant', content: h.text });
    }
  }
  return messages;
}

export class AnthropicMessagesModel extends ProviderModel {
  readonly provider = 'anthropic';
  private readonly client: Anthropic;
  private readonly maxTokens: number;

  constructor(opts: AnthropicOptions) {
    super(opts);
    this.maxTokens = opts.maxTokens;
    // Airlock's own `chat` span is the trace of a turn (with what it may hold); the SDK adds none of its own.
    this.client = new Anthropic({ apiKey: opts.apiKey ?? 'no-key', baseURL: opts.baseUrl, timeout: opts.timeoutMs, maxRetries: opts.maxRetries, openTelemetry: false });
  }

  async next(input: ModelInput): Promise<ModelTurn> {
    const { toWire, fromWire } = wireNames(input.tools);
    const tools: Tool[] = input.tools.map((t) => ({ name: toWire.get(t.name) ?? t.name, description: t.description, input_schema: t.inputSchema as Tool.InputSchema }));
    let res: Anthropic.Messages.Message;
    try {
      const params = {
        model: this.opts.model,
        max_tokens: this.maxTokens,
        system: this.opts.system ?? DEFAULT_SYSTEM,
        messages: anthropicMessages(input, toWire),
        ...(tools.length > 0 ? { tools, tool_choice: { type: 'auto' as const, disable_parallel_tool_use: true } } : {}),
        ...(this.opts.temperature !== undefined ? { temperature: Math.min(1, this.opts.temperature) } : {}),
      };
      // Streamed: the SDK assembles the events into the same message.
      res = this.opts.stream ? await this.client.messages.stream(params).finalMessage() : await this.client.messages.create(params);
    } catch (e) {
      throw providerFailure(this.opts, e, e instanceof Anthropic.APIError && typeof e.status === 'number' ? e.status : undefined, e instanceof Anthropic.APIConnectionTimeoutError);
    }
    const u = res.usage as Partial<Anthropic.Messages.Usage> | undefined;
    const usage = u ? { inputTokens: (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0), outputTokens: u.output_tokens ?? 0 } : undefined;
    return { ...readTurn(res, (r) => messageTurn(r, fromWire)), ...(usage ? { usage } : {}) };
  }
}

/** A message as a turn: a tool call, a final answer, or a reply that cannot be used (cut off, refused, empty, input not an object). */
export function messageTurn(res: Anthropic.Messages.Message, fromWire: ReadonlyMap<string, string>): ModelTurn {
  const text = res.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('\n').trim();
  const call = res.content.find((b) => b.type === 'tool_use');
  const stop = res.stop_reason;
  if (stop === 'refusal') return malformed('refused', 'the model refused (stop_reason refusal)', text);
  // Cut off: whatever it held (a tool call's input included) may be incomplete, so none of it is used.
  if (stop === 'max_tokens' || stop === 'model_context_window_exceeded') return malformed('truncated', `the reply was cut off (stop_reason ${stop})`, text);
  // Only a message that says it finished is used (a stream that never ended has no stop reason).
  if (!stop) return malformed('unreadable', 'the message has no stop reason: it did not finish', text);
  if (call && call.type === 'tool_use') {
    if (stop !== 'tool_use') return malformed('unreadable', `a tool call in a message that stopped for \`${stop}\`, not to use it`, text);
    const tool = fromWire.get(call.name) ?? String(call.name);
    if (typeof call.input !== 'object' || call.input === null || Array.isArray(call.input)) {
      return { kind: 'malformed', problem: 'invalid-arguments', detail: 'the tool input is not a JSON object', tool, excerpt: JSON.stringify(call.input ?? null).slice(0, 200) };
    }
    return { kind: 'tool_call', tool, args: call.input as JsonObject, ...(text ? { reasoning: text } : {}) };
  }
  if (!text) return malformed('empty', `the reply held no text and no tool call (stop_reason ${stop})`);
  return { kind: 'final', text, claim: stop === 'end_turn' || stop === 'stop_sequence' ? 'done' : 'gave-up' };
}
