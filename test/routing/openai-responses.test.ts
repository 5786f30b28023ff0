// The OpenAI Responses route against a loopback endpoint speaking the API: what it sends (function
// calls and their outputs rebuilt from the run's history, `store: false`), how answers map back.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { OpenAIResponsesModel } from '../../src/routing/providers/openai-responses.js';
import type { ModelInput } from '../../src/orchestration/model.js';
import { FakeEndpoint } from '../helpers/fake-model-endpoint.js';

const KEY = 'sk-resp-test-Vb7nM2xQ9wE4';
const response = (output: object[], status = 'completed', incomplete: object | null = null) => ({
  status: 200,
  body: { id: 'resp_1', object: 'response', created_at: 1, model: 'm', status, incomplete_details: incomplete, output, usage: { input_tokens: 80, output_tokens: 12, total_tokens: 92 } },
});
const input: ModelInput = {
  workflow: 'refund-desk',
  input: { ticket_id: 'T-311' },
  tools: [{ name: 'orders.get_order', description: 'Read an order', inputSchema: { type: 'object', properties: { order_id: { type: 'string' } } } }],
  history: [
    { kind: 'tool_call', id: 'c1', tool: 'orders.get_order', args: { order_id: '1182' }, reasoning: 'look' },
    { kind: 'tool_result', id: 'c1', tool: 'orders.get_order', status: 'ok', content: { total_cents: 8990 } },
  ],
};

describe('openai-responses route', () => {
  const api = new FakeEndpoint('/v1');
  beforeAll(() => api.start());
  afterAll(() => api.stop());
  afterEach(() => api.reset());
  const model = (over: Partial<ConstructorParameters<typeof OpenAIResponsesModel>[0]> = {}) =>
    new OpenAIResponsesModel({ routeName: 'resp', model: 'gpt-test', baseUrl: api.url, apiKey: KEY, timeoutMs: 5_000, maxRetries: 0, ...over });

  it('sends the history as function calls and outputs, keeps nothing on the provider, and maps the call back', async () => {
    api.replies.push(response([{ type: 'message', id: 'm1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'other order', annotations: [] }] }, { type: 'function_call', id: 'f1', call_id: 'call_9', name: 'orders_get_order', arguments: '{"order_id":"1190"}', status: 'completed' }]));
    const turn = await model({ system: 'be careful' }).next(input);
    expect(turn).toEqual({ kind: 'tool_call', tool: 'orders.get_order', args: { order_id: '1190' }, reasoning: 'other order', usage: { inputTokens: 80, outputTokens: 12 } });
    const req = api.seen[0]!;
    expect(req.path).toBe('/v1/responses');
    expect(req.auth).toBe(`Bearer ${KEY}`);
    expect(req.body).toMatchObject({ model: 'gpt-test', instructions: 'be careful', store: false, parallel_tool_calls: false, tool_choice: 'auto' });
    expect(req.body.tools).toEqual([{ type: 'function', name: 'orders_get_order', description: 'Read an order', parameters: input.tools[0]!.inputSchema, strict: false }]);
    expect(req.body.input).toEqual([
      { type: 'message', role: 'user', content: expect.stringContaining('"ticket_id":"T-311"') },
      { type: 'message', role: 'assistant', content: 'look' },
      { type: 'function_call', call_id: 'c1', name: 'orders_get_order', arguments: '{"order_id":"1182"}' },
      { type: 'function_call_output', call_id: 'c1', output: '{"status":"ok","result":{"total_cents":8990}}' },
    ]);
  });

  it('finishes with "done" when complete; a reply incomplete, filtered, refused, empty or with arguments not JSON is unusable', async () => {
    api.replies.push(response([{ type: 'message', id: 'm1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'All done.', annotations: [] }] }]));
    expect(await model().next(input)).toMatchObject({ kind: 'final', text: 'All done.', claim: 'done' });
    const cases: [object[], string, object | undefined, object][] = [
      [[], 'incomplete', { reason: 'max_output_tokens' }, { problem: 'truncated', detail: 'the reply is incomplete (max_output_tokens)' }],
      [[], 'incomplete', { reason: 'content_filter' }, { problem: 'refused', detail: 'the provider filtered the reply (content_filter)' }],
      [[{ type: 'message', id: 'm2', role: 'assistant', status: 'completed', content: [{ type: 'refusal', refusal: 'No.' }] }], 'completed', undefined, { problem: 'refused', excerpt: 'No.' }],
      [[{ type: 'function_call', id: 'f', call_id: 'f', name: 'orders_get_order', arguments: 'order 11', status: 'completed' }], 'completed', undefined, { problem: 'invalid-arguments', tool: 'orders.get_order', excerpt: 'order 11' }],
      [[], 'completed', undefined, { problem: 'empty' }],
    ];
    for (const [output, status, details, expected] of cases) {
      api.replies.push(response(output, status, details ?? null));
      expect(await model().next(input)).toMatchObject({ kind: 'malformed', ...expected });
    }
  });

  it('fails naming the route, without the key', async () => {
    api.replies.push({ status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}` } } });
    const err = await model().next(input).then(
      () => null,
      (e: unknown) => e as AirlockError,
    );
    expect(err?.message).toMatch(/model route `resp` failed \(HTTP 401\)/);
    expect(err?.message).not.toContain(KEY);
  });
});
