// The Anthropic Messages route, against a loopback endpoint speaking the API (only the provider is
// replaced: the official SDK, the runner, the gateway and the store are the real ones).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { AirlockError } from '../../src/errors.js';
import { openAirlock } from '../../src/airlock.js';
import { AnthropicMessagesModel } from '../../src/routing/providers/anthropic-messages.js';
import type { ModelInput } from '../../src/orchestration/model.js';
import { copyAcme } from '../helpers/workspace.js';
import { FakeEndpoint } from '../helpers/fake-model-endpoint.js';

const KEY = 'sk-ant-test-Hq2wE4rT6yU8iO0p';

const message = (content: object[], stop: string, usage = { input_tokens: 200, output_tokens: 40, cache_read_input_tokens: 50 }) => ({
  status: 200,
  body: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-test', content, stop_reason: stop, stop_sequence: null, usage },
});
const toolUse = (name: string, input: object, text?: string) => message([...(text ? [{ type: 'text', text }] : []), { type: 'tool_use', id: 'toolu_1', name, input }], 'tool_use');

const input: ModelInput = {
  workflow: 'refund-desk',
  input: { ticket_id: 'T-311' },
  tools: [{ name: 'orders.get_order', description: 'Read an order', inputSchema: { type: 'object', properties: { order_id: { type: 'string' } } } }],
  history: [
    { kind: 'tool_call', id: 'c1', tool: 'orders.get_order', args: { order_id: '1182' }, reasoning: 'look at the order' },
    { kind: 'tool_result', id: 'c1', tool: 'orders.get_order', status: 'denied', content: { error: 'no' } },
  ],
};

describe('anthropic-messages route', () => {
  const api = new FakeEndpoint();
  beforeAll(() => api.start());
  afterAll(() => api.stop());
  afterEach(() => api.reset());
  const model = (over: Partial<ConstructorParameters<typeof AnthropicMessagesModel>[0]> = {}) =>
    new AnthropicMessagesModel({ routeName: 'claude', model: 'claude-test', baseUrl: api.url, apiKey: KEY, timeoutMs: 5_000, maxRetries: 0, maxTokens: 1024, ...over });

  it('sends the tools, the system message and the history as tool_use / tool_result blocks, and maps the call back', async () => {
    api.replies.push(toolUse('orders_get_order', { order_id: '1190' }, 'try the other order'));
    const turn = await model({ system: 'be careful' }).next(input);
    // Cache reads are input tokens too.
    expect(turn).toEqual({ kind: 'tool_call', tool: 'orders.get_order', args: { order_id: '1190' }, reasoning: 'try the other order', usage: { inputTokens: 250, outputTokens: 40 } });
    const req = api.seen[0]!;
    expect(req.path).toBe('/v1/messages');
    // The key goes as the SDK sends it (`x-api-key`, or a bearer token in newer versions), and only there.
    expect([req.headers['x-api-key'], req.headers['authorization']]).toContain(req.headers['x-api-key'] === KEY ? KEY : `Bearer ${KEY}`);
    expect(req.body).toMatchObject({ model: 'claude-test', max_tokens: 1024, system: 'be careful', tool_choice: { type: 'auto', disable_parallel_tool_use: true } });
    expect(req.body.tools).toEqual([{ name: 'orders_get_order', description: 'Read an order', input_schema: input.tools[0]!.inputSchema }]);
    expect(req.body.messages).toEqual([
      { role: 'user', content: expect.stringContaining('"ticket_id":"T-311"') },
      { role: 'assistant', content: [{ type: 'text', text: 'look at the order' }, { type: 'tool_use', id: 'c1', name: 'orders_get_order', input: { order_id: '1182' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: '{"status":"denied","result":{"error":"no"}}', is_error: true }] },
    ]);
  });

  it('finishes with "done" at the end of its turn; a reply cut off, refused, empty or with a non-object input is unusable', async () => {
    api.replies.push(message([{ type: 'text', text: 'All settled.' }], 'end_turn'));
    expect(await model().next(input)).toMatchObject({ kind: 'final', text: 'All settled.', claim: 'done' });
    const cases: [object[], string, object][] = [
      [[{ type: 'text', text: 'All sett' }], 'max_tokens', { problem: 'truncated', detail: 'the reply was cut off (stop_reason max_tokens)', excerpt: 'All sett' }],
      [[{ type: 'tool_use', id: 't', name: 'orders_get_order', input: { order_id: '11' } }], 'max_tokens', { problem: 'truncated' }],
      [[], 'refusal', { problem: 'refused', detail: 'the model refused (stop_reason refusal)' }],
      [[], 'end_turn', { problem: 'empty', detail: 'the reply held no text and no tool call (stop_reason end_turn)' }],
      [[{ type: 'tool_use', id: 't', name: 'orders_get_order', input: 'order 11' }], 'tool_use', { problem: 'invalid-arguments', tool: 'orders.get_order', excerpt: '"order 11"' }],
    ];
    for (const [content, stop, expected] of cases) {
      api.replies.push(message(content, stop));
      expect(await model().next(input)).toMatchObject({ kind: 'malformed', ...expected });
    }
  });

  it('retries a 429 after its retry-after and an overloaded 529, then answers', async () => {
    api.replies.push({ status: 429, body: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }, headers: { 'retry-after': '0' } });
    api.replies.push({ status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'overloaded' } }, headers: { 'retry-after': '0' } });
    api.replies.push(message([{ type: 'text', text: 'ok' }], 'end_turn'));
    expect(await model({ maxRetries: 2 }).next(input)).toMatchObject({ kind: 'final', text: 'ok' });
    expect(api.seen).toHaveLength(3);
  });

  it('fails naming the route and the status, without the key, and does not retry a 401', async () => {
    api.replies.push({ status: 401, body: { type: 'error', error: { type: 'authentication_error', message: `invalid x-api-key ${KEY}` } } });
    const err = await model({ maxRetries: 3 }).next(input).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AirlockError);
    expect((err as AirlockError).message).toMatch(/model route `claude` failed \(HTTP 401\)/);
    expect((err as AirlockError).message).not.toContain(KEY);
    expect(api.seen).toHaveLength(1);
  });

  it("drives Airlock's own loop on the Acme refund desk, with usage on record and the key nowhere in the store", async () => {
    const ws = copyAcme();
    try {
      const file = path.join(ws.dir, 'airlock.yaml');
      const doc = parseDocument(readFileSync(file, 'utf8'));
      doc.setIn(['models', 'claude'], doc.createNode({ kind: 'anthropic-messages', model: 'claude-test', baseUrl: api.url, apiKey: { file: 'secrets/anthropic.key' }, maxRetries: 0, clearance: 'confidential' }));
      writeFileSync(file, doc.toString());
      const { mkdirSync } = await import('node:fs');
      mkdirSync(path.join(ws.dir, 'secrets'));
      writeFileSync(path.join(ws.dir, 'secrets', 'anthropic.key'), `${KEY}\n`);
      const wf = path.join(ws.dir, 'workflows', 'refund-desk.yaml');
      writeFileSync(wf, readFileSync(wf, 'utf8').replace(/^model: playbook$/m, 'model: claude'));
      api.replies.push(toolUse('tickets_get_ticket', { ticket_id: 'T-311' }), message([{ type: 'text', text: 'Read it.' }], 'end_turn'));
      const a = await openAirlock(ws.dir);
      try {
        const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
        expect(run.status).not.toBe('running');
        const records = await a.store.readAuditForRun(run.id);
        expect(records.filter((r) => r.type === 'action.executed').map((r) => r.body['tool'])).toEqual(['tickets.get_ticket']);
        expect(records.filter((r) => r.type === 'model.called').map((r) => [r.body['provider'], r.body['route'], r.body['inputTokens']])).toEqual([
          ['anthropic', 'claude', 250],
          ['anthropic', 'claude', 250],
        ]);
        // The tool result went back to the model as a tool_result block for the call it made.
        expect(api.seen[1]?.body.messages.at(-1).content[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'c1' });
      } finally {
        await a.close();
      }
      for (const f of readdirSync(path.join(ws.dir, '.airlock'))) expect(readFileSync(path.join(ws.dir, '.airlock', f)).includes(KEY), f).toBe(false);
    } finally {
      ws.cleanup();
    }
  });
});
