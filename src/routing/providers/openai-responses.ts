// A model behind the OpenAI Responses API, through the official `openai` SDK (its retries and
// timeouts are the route's). Each turn is sent whole from the run's history with `store: false`:
// nothing of the conversation is kept on the provider's side, and a run resumes in any process.
import OpenAI from 'openai';
import type { FunctionTool, ResponseInputItem } from 'openai/resources/responses/responses';
import type { ModelInput, ModelTurn } from '../../orchestration/model.js';
import { DEFAULT_SYSTEM, ProviderModel, parseArgs, providerFailure, taskText, wireNames } from './common.js';
import { openAIClient } from './openai-chat.js';

/** The request's input items: the task, then the run's history as function calls and their outputs. */
export function responsesInput(input: ModelInput, toWire: ReadonlyMap<string, string>): ResponseInputItem[] {
  const items: ResponseInputItem[] = [{ type: 'message', role: 'user', content: taskText(input) }];
  for (const h of input.history) {
    if (h.kind === 'tool_call') {
      if (h.reasoning) items.push({ type: 'message', role: 'assistant', content: h.reasoning });
      items.push({ type: 'function_call', call_id: h.id, name: toWire.get(h.tool) ?? h.tool, arguments: JSON.stringify(h.args) });
    } else if (h.kind === 'tool_result') {
      items.push({ type: 'function_call_output', call_id: h.id, output: JSON.stringify({ status: h.status, result: h.content }) });
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
    const text = res.output.flatMap((o) => (o.type === 'message' ? o.content.flatMap((c) => (c.type === 'output_text' ? [c.text] : [])) : [])).join('\n').trim();
    const call = res.output.find((o) => o.type === 'function_call');
    if (call && call.type === 'function_call') {
      return { kind: 'tool_call', tool: fromWire.get(call.name) ?? call.name, args: parseArgs(call.arguments), ...(text ? { reasoning: text } : {}), ...(usage ? { usage } : {}) };
    }
    // Incomplete (cut off, filtered) or failed: the model did not finish its answer, so it claims nothing done.
    const claim = res.status === 'completed' ? 'done' : 'gave-up';
    const why = res.incomplete_details?.reason ?? res.status ?? 'unknown';
    return { kind: 'final', text: text || (claim === 'done' ? '' : `the model stopped: ${why}`), claim, ...(usage ? { usage } : {}) };
  }
}
