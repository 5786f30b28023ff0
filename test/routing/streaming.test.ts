// Routes with `stream: true`: the answer arrives as server-sent events from a loopback endpoint and
// the SDK assembles it; what Airlock makes of it is the same turn as without streaming.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIChatModel } from '../../src/routing/providers/openai-chat.js';
import { OpenAIResponsesModel } from '../../src/routing/providers/openai-responses.js';
import { AnthropicMessagesModel } from '../../src/routing/providers/anthropic-messages.js';
import type { ModelInput } from '../../src/orchestration/model.js';
import { FakeEndpoint, sse } from '../helpers/fake-model-endpoint.js';

const input: ModelInput = {
  workflow: 'refund-desk',
  input: { ticket_id: 'T-311' },
  tools: [{ name: 'orders.get_order', description: 'Read an order', inputSchema: { type: 'object', properties: { order_id: { type: 'string' } } } }],
  history: [],
};
const opts = (url: string) => ({ routeName: 'r', model: 'm', baseUrl: url, apiKey: 'k', timeoutMs: 5_000, maxRetries: 0, stream: true });
const WANT = { kind: 'tool_call', tool: 'orders.get_order', args: { order_id: '1182' }, reasoning: 'Looking.' };

describe('streamed answers', () => {
  const openai = new FakeEndpoint('/v1');
  const anthropic = new FakeEndpoint();
  beforeAll(async () => {
    await openai.start();
    await anthropic.start();
  });
  afterAll(async () => {
    await openai.stop();
    await anthropic.stop();
  });
  afterEach(() => {
    openai.reset();
    anthropic.reset();
  });

  it('Chat Completions: a tool call whose arguments arrive in pieces, and the usage in the last chunk', async () => {
    const chunk = (delta: object, finish: string | null = null, usage: object | null = null) => [null, { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) }] as const;
    openai.replies.push({
      status: 200,
      sse: sse([
        chunk({ role: 'assistant', content: 'Look' }),
        chunk({ content: 'ing.' }),
        chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'orders_get_order', arguments: '{"order' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '_id":"1182"}' } }] }),
        chunk({}, 'tool_calls'),
        chunk({}, null, { prompt_tokens: 50, completion_tokens: 9, total_tokens: 59 }),
        [null, '[DONE]'],
      ]),
    });
    expect(await new OpenAIChatModel(opts(openai.url)).next(input)).toEqual({ ...WANT, usage: { inputTokens: 50, outputTokens: 9 } });
    expect(openai.seen[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('Anthropic Messages: text, then a tool_use whose input arrives as partial JSON', async () => {
    anthropic.replies.push({
      status: 200,
      sse: sse([
        ['message_start', { type: 'message_start', message: { id: 'msg', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 70, output_tokens: 1 } } }],
        ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
        ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Looking.' } }],
        ['content_block_stop', { type: 'content_block_stop', index: 0 }],
        ['content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'orders_get_order', input: {} } }],
        ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"order_id":' } }],
        ['content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"1182"}' } }],
        ['content_block_stop', { type: 'content_block_stop', index: 1 }],
        ['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 21 } }],
        ['message_stop', { type: 'message_stop' }],
      ]),
    });
    const turn = await new AnthropicMessagesModel({ ...opts(anthropic.url), maxTokens: 256 }).next(input);
    expect(turn).toEqual({ ...WANT, usage: { inputTokens: 70, outputTokens: 21 } });
    expect(anthropic.seen[0]?.body).toMatchObject({ stream: true });
  });

  it('Responses: the completed response the stream ends with', async () => {
    const response = (status: string, output: object[]) => ({ id: 'resp', object: 'response', created_at: 1, model: 'm', status, output, incomplete_details: null, usage: status === 'completed' ? { input_tokens: 40, output_tokens: 8, total_tokens: 48 } : null });
    const final = response('completed', [
      { type: 'message', id: 'm1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Looking.', annotations: [] }] },
      { type: 'function_call', id: 'f1', call_id: 'call_1', name: 'orders_get_order', arguments: '{"order_id":"1182"}', status: 'completed' },
    ]);
    openai.replies.push({
      status: 200,
      sse: sse([
        ['response.created', { type: 'response.created', sequence_number: 0, response: response('in_progress', []) }],
        ['response.completed', { type: 'response.completed', sequence_number: 1, response: final }],
      ]),
    });
    expect(await new OpenAIResponsesModel(opts(openai.url)).next(input)).toEqual({ ...WANT, usage: { inputTokens: 40, outputTokens: 8 } });
    expect(openai.seen[0]?.body).toMatchObject({ stream: true, store: false });
  });
});
