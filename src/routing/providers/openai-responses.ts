// A model behind the OpenAI Responses API, through the official `openai` SDK (its retries and
// timeouts are the route's). Each turn is sent whole from the run's history with `store: false`:
// nothing of the conversation is kept on the provider's side, and a run resumes in any process.
import OpenAI from 'openai';
import type { FunctionTool, ResponseInputItem } from 'openai/resources/responses/responses';
import type { ModelInput, ModelTurn } from '../../orchestration/model.js';
import { DEFAULT_SYSTEM, ProviderModel, malformed, noticeText, providerFailure, readArgs, readTurn, taskText, toolResultText, wireNames, wireSafe } from './common.js';
import { openAIClient } from './openai-chat.js';

/** The request's input items: the task, then the run's history as function calls and their outputs. */
export function responsesInput(input: ModelInput, toWire: ReadonlyMap<string, string>): ResponseInputItem[] {
  const items: ResponseInputItem[] = [{ type: 'message', role: 'user', content: taskText(input) }];
  for (const h of input.history) {
    if (h.kind === 'tool_call') {
      if (h.reasoning) items.push({ type: 'message', role: 'assistant', content: h.reasoning });
      items.push({ type: 'function_call', call_id: h.id, name: toWire.get(h.tool) ?? wireSafe(h.tool), arguments: JSON.stringify(h.args) });
    } else if (h.kind === 'tool_result') {
      items.push({ type: 'function_call_output', call_id: h.id, output: toolResultText(h) });
    } else if (h.kind === 'notice') {
      items.push({ type: 'message', role: 'user', content: noticeText(h) });
    } else {
      items.push({ type: 'message', role: 'assistant', content: h.text });
    }
  }
  return items;
}

export class OpenAIResponsesModel extends ProviderModel {
  readonly provider = 'openai';
  private readonly client: OpenAI = openAIClient(this.opts);

  async next(input: ModelInput): Promise<ModelTurn> {
    const { toWire, fromWire } = wireNames(input.tools);
    const tools: FunctionTool[] = input.tools.map((t) => ({ type: 'function', name: toWire.get(t.name) ?? t.name, description: t.description, parameters: t.inputSchema as Record<string, unknown>, strict: false }));
    let res: OpenAI.Responses.Response;
    try {
      const params = {
        model: this.opts.model,
        instructions: this.opts.system ?? DEFAULT_SYSTEM,
        input: responsesInput(input, toWire),
        // INVARIANT: the provider keeps nothing of the conversation (Airlock holds the run's history).
        store: false,
        ...(tools.length > 0 ? { tools, tool_choice: 'auto' as const, parallel_tool_calls: false } : {}),
        ...(this.opts.temperature !== undefined ? { temperature: this.opts.temperature } : {}),
      };
      // Streamed: the SDK assembles the events into the same response.
      res = this.opts.stream ? await this.client.responses.stream(params).finalResponse() : await this.client.responses.create(params);
    } catch (e) {
      throw providerFailure(this.opts, e, e instanceof OpenAI.APIError && typeof e.status === 'number' ? e.status : undefined, e instanceof OpenAI.APIConnectionTimeoutError);
    }
    const usage = res.usage ? { inputTokens: res.usage.input_tokens, outputTokens: res.usage.output_tokens } : undefined;
    return { ...readTurn(res, (r) => responseTurn(r, fromWire)), ...(usage ? { usage } : {}) };
  }
}

/** A response as a turn: a tool call, a final answer, or a reply that cannot be used (incomplete, refused, empty, arguments not JSON). */
export function responseTurn(res: OpenAI.Responses.Response, fromWire: ReadonlyMap<string, string>): ModelTurn {
  const parts = res.output.flatMap((o) => (o.type === 'message' ? o.content : []));
  const text = parts.flatMap((c) => (c.type === 'output_text' ? [c.text] : [])).join('\n').trim();
  const refusal = parts.find((c) => c.type === 'refusal');
  if (refusal && refusal.type === 'refusal') return malformed('refused', 'the model refused', refusal.refusal);
  const call = res.output.find((o) => o.type === 'function_call');
  if (res.status === 'incomplete') {
    const why = res.incomplete_details?.reason ?? 'unknown';
    // Filtered is a refusal; anything else cut the reply off, so none of it (a call's arguments included) is used.
    if (why === 'content_filter') return malformed('refused', 'the provider filtered the reply (content_filter)', text);
    return malformed('truncated', `the reply is incomplete (${why})`, text || (call?.type === 'function_call' ? call.arguments : ''));
  }
  // Only a response that completed is used (not one failed, cancelled or still under way), and only a call that completed.
  if (res.status !== 'completed') return malformed('unreadable', `the response is ${String(res.status)}, not completed`, text);
  if (call && call.type === 'function_call' && call.status !== undefined && call.status !== 'completed') return malformed('truncated', `the call is ${call.status}, not completed`, call.arguments);
  if (call && call.type === 'function_call') {
    const tool = fromWire.get(call.name) ?? call.name;
    const args = readArgs(call.arguments, tool);
    if (!args.ok) return args.turn;
    return { kind: 'tool_call', tool, args: args.args, ...(text ? { reasoning: text } : {}) };
  }
  if (!text) return malformed('empty', `the reply held no text and no tool call (status ${res.status ?? 'unknown'})`);
  return { kind: 'final', text, claim: res.status === 'completed' ? 'done' : 'gave-up' };
}
