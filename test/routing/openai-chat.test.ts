// The OpenAI-compatible Chat Completions route, against a local endpoint that speaks the API on
// loopback (the provider is the only thing replaced; the official SDK, the runner, the gateway and
// the store are the real ones): the request it sends, its retries, its failures, and a run of the
// Acme refund desk driven through it with the key nowhere in the store.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { writeFileSync } from 'node:fs';
import { AirlockError } from '../../src/errors.js';
import { openAirlock } from '../../src/airlock.js';
import { OpenAIChatModel, chatMessages } from '../../src/routing/providers/openai-chat.js';
import { redact, wireNames } from '../../src/routing/providers/common.js';
import type { ModelInput } from '../../src/orchestration/model.js';
import { copyAcme } from '../helpers/workspace.js';
import { FakeEndpoint } from '../helpers/fake-model-endpoint.js';

const KEY = 'sk-test-Zq8vN3kLmP0aB7cD9eF1';

const completion = (message: object, finish = 'stop') => ({
  status: 200,
  body: { id: 'cmpl-1', object: 'chat.completion', created: 1, model: 'fake', choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, finish_reason: finish }], usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 } },
});
const toolCall = (name: string, args: object, content: string | null = null) => completion({ content, tool_calls: [{ id: 'call_x', type: 'function', function: { name, arguments: JSON.stringify(args) } }] }, 'tool_calls');

const input: ModelInput = {
  workflow: 'refund-desk',
  input: { ticket_id: 'T-311' },
  tools: [
    { name: 'orders.get_order', description: 'Read an order', inputSchema: { type: 'object', properties: { order_id: { type: 'string' } } } },
    { name: 'orders/get-order', description: 'A name that collides once cleaned', inputSchema: { type: 'object' } },
  ],
  history: [
    { kind: 'tool_call', id: 'c1', tool: 'orders.get_order', args: { order_id: '1182' }, reasoning: 'look at the order' },
    { kind: 'tool_result', id: 'c1', tool: 'orders.get_order', status: 'ok', content: { total_cents: 8990 } },
  ],
};

describe('openai-chat route', () => {
  const api = new FakeEndpoint('/v1');
  beforeAll(() => api.start());
  afterAll(() => api.stop());
  afterEach(() => {
    api.seen.length = 0;
    api.replies.length = 0;
  });
  const model = (over: Partial<ConstructorParameters<typeof OpenAIChatModel>[0]> = {}) =>
    new OpenAIChatModel({ routeName: 'llm', model: 'fake-model', baseUrl: api.url, apiKey: KEY, timeoutMs: 5_000, maxRetries: 0, ...over });

  it('sends the tools under names the API accepts, the history as turns, and maps the call back', async () => {
    api.replies.push(toolCall('orders_get_order', { order_id: '1190' }, 'check the other order'));
    const turn = await model().next(input);
    expect(turn).toEqual({ kind: 'tool_call', tool: 'orders.get_order', args: { order_id: '1190' }, reasoning: 'check the other order', usage: { inputTokens: 120, outputTokens: 30 } });
    const req = api.seen[0]!;
    expect(req.auth).toBe(`Bearer ${KEY}`);
    expect(req.body.model).toBe('fake-model');
    expect(req.body.tools?.map((t: { function: { name: string } }) => t.function.name)).toEqual(['orders_get_order', 'orders_get-order']);
    expect(req.body.messages.map((m: { role: string }) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(req.body.messages[1]?.content).toContain('"ticket_id":"T-311"');
    expect(req.body.messages[2]?.tool_calls?.[0]).toMatchObject({ id: 'c1', function: { name: 'orders_get_order', arguments: '{"order_id":"1182"}' } });
    expect(req.body.messages[3]).toMatchObject({ tool_call_id: 'c1' });
    expect(JSON.parse(req.body.messages[3]!.content as string)).toEqual({ status: 'ok', result: { total_cents: 8990 } });
  });

  it('finishes with "done" on a stop; a reply cut off, filtered, refused or empty is unusable, saying why', async () => {
    api.replies.push(completion({ content: 'Refunded order 1182.' }));
    expect(await model().next({ ...input, history: [] })).toMatchObject({ kind: 'final', text: 'Refunded order 1182.', claim: 'done' });
    const cases: [object, string, object][] = [
      [{ content: 'Refunded ord' }, 'length', { problem: 'truncated', detail: 'the reply hit the token limit (finish_reason length)', excerpt: 'Refunded ord' }],
      [{ tool_calls: [{ id: 't', type: 'function', function: { name: 'orders_get_order', arguments: '{"order_id":"11' } }] }, 'length', { problem: 'truncated', excerpt: '{"order_id":"11' }],
      [{ content: '' }, 'content_filter', { problem: 'refused', detail: 'the provider filtered the reply (content_filter)' }],
      [{ content: null, refusal: 'I cannot help with that.' }, 'stop', { problem: 'refused', detail: 'the model refused', excerpt: 'I cannot help with that.' }],
      [{ content: '  ' }, 'stop', { problem: 'empty', detail: 'the reply held no text and no tool call (finish_reason stop)' }],
    ];
    for (const [message, finish, expected] of cases) {
      api.replies.push(completion(message, finish));
      expect(await model().next({ ...input, history: [] })).toMatchObject({ kind: 'malformed', usage: { inputTokens: 120, outputTokens: 30 }, ...expected });
    }
  });

  it('retries a 429 after its retry-after, and a 500, then answers', async () => {
    api.replies.push({ status: 429, body: { error: { message: 'slow down' } }, headers: { 'retry-after': '0' } });
    api.replies.push({ status: 500, body: { error: { message: 'oops' } } });
    api.replies.push(completion({ content: 'ok' }));
    expect(await model({ maxRetries: 2 }).next(input)).toMatchObject({ kind: 'final', text: 'ok' });
    expect(api.seen).toHaveLength(3);
  });

  it('fails naming the route and the status, with the key taken out of what the endpoint said', async () => {
    api.replies.push({ status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}. Also sk-abc123****wxyz.` } } });
    const err = await model().next(input).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AirlockError);
    expect((err as AirlockError).code).toBe('connector');
    expect((err as AirlockError).message).toMatch(/model route `llm` failed \(HTTP 401\)/);
    expect((err as AirlockError).message).not.toContain(KEY);
    expect((err as AirlockError).message).not.toContain('sk-abc123');
    expect((err as AirlockError).hint).toMatch(/API key/);
    expect(api.seen).toHaveLength(1); // a 401 is not retried
  });

  it('never passes on arguments that are not a JSON object: the reply is unusable, with what was sent as evidence', async () => {
    api.replies.push(toolCall('orders_get_order', [1, 2]));
    api.replies.push(completion({ tool_calls: [{ id: 'call_y', type: 'function', function: { name: 'orders_get_order', arguments: '{"order_id": ' } }] }, 'tool_calls'));
    expect(await model().next(input)).toMatchObject({ kind: 'malformed', problem: 'invalid-arguments', tool: 'orders.get_order', detail: 'the arguments are an array, not a JSON object', excerpt: '[1,2]' });
    expect(await model().next(input)).toMatchObject({ kind: 'malformed', problem: 'invalid-arguments', tool: 'orders.get_order', detail: expect.stringMatching(/^the arguments are not JSON \(/), excerpt: '{"order_id": ' });
  });

  it('names tools one to one, and builds the messages from the history alone', () => {
    const { toWire, fromWire } = wireNames([...input.tools, { name: 'a'.repeat(80), description: '', inputSchema: {} }]);
    for (const [name, wire] of toWire) {
      expect(wire).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      expect(fromWire.get(wire)).toBe(name);
    }
    const msgs = chatMessages({ ...input, history: [...input.history, { kind: 'final', text: 'done', claim: 'done' }] }, toWire, 'sys');
    expect(msgs.at(-1)).toEqual({ role: 'assistant', content: 'done' });
    expect(redact(`key ${KEY} here`, KEY)).toBe('key [redacted] here');
  });

  describe("drives Airlock's own loop on the Acme refund desk", () => {
    let ws: ReturnType<typeof copyAcme>;
    beforeAll(() => {
      ws = copyAcme();
      const file = path.join(ws.dir, 'airlock.yaml');
      const doc = parseDocument(readFileSync(file, 'utf8'));
      // Cleared for the confidential tickets the refund desk reads (the default, internal, would stop at the first).
      doc.setIn(['models', 'llm'], doc.createNode({ kind: 'openai-chat', model: 'fake-model', baseUrl: api.url, apiKey: { env: 'AIRLOCK_TEST_OPENAI_KEY' }, maxRetries: 0, clearance: 'confidential' }));
      writeFileSync(file, doc.toString());
      const wf = path.join(ws.dir, 'workflows', 'refund-desk.yaml');
      writeFileSync(wf, readFileSync(wf, 'utf8').replace(/^model: playbook$/m, 'model: llm'));
      process.env['AIRLOCK_TEST_OPENAI_KEY'] = KEY;
    });
    afterAll(() => {
      delete process.env['AIRLOCK_TEST_OPENAI_KEY'];
      ws.cleanup();
    });

    it('a model-proposed call goes through the gateway, the run ends, and the key is nowhere in the store', async () => {
      api.replies.push(toolCall('tickets_get_ticket', { ticket_id: 'T-311' }));
      api.replies.push((seen) => {
        // The ticket the gateway read is what the model sees next.
        const last = seen.body.messages.at(-1);
        return completion({ content: last?.role === 'tool' && String(last.content).includes('T-311') ? 'Read the ticket; nothing else to do.' : 'no result' });
      });
      const a = await openAirlock(ws.dir);
      try {
        const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
        expect(['completed', 'verified', 'unverified', 'failed']).toContain(run.status);
        const records = await a.store.readAuditForRun(run.id);
        expect(records.filter((r) => r.type === 'action.executed').map((r) => r.body['tool'])).toEqual(['tickets.get_ticket']);
        expect(records.some((r) => r.type === 'run.finished')).toBe(true);
        expect(api.seen[1]?.body.messages.at(-1)?.content).toContain('T-311');
      } finally {
        await a.close();
      }
      const stateDir = path.join(ws.dir, '.airlock');
      for (const f of readdirSync(stateDir)) expect(readFileSync(path.join(stateDir, f)).includes(KEY), f).toBe(false);
    });

    it('a provider that fails ends the run failed, naming the route, with its end on record', async () => {
      api.replies.push({ status: 503, body: { error: { message: 'overloaded' } } });
      const a = await openAirlock(ws.dir);
      try {
        const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
        expect(run.status).toBe('failed');
        const finished = (await a.store.readAuditForRun(run.id)).find((r) => r.type === 'run.finished');
        expect(finished?.body['reason']).toMatch(/model route `llm` failed \(HTTP 503\)/);
      } finally {
        await a.close();
      }
    });

    it('counts the tokens and cost of each turn, and stops the run at its token budget with the budget on record', async () => {
      const file = path.join(ws.dir, 'airlock.yaml');
      const wf = path.join(ws.dir, 'workflows', 'refund-desk.yaml');
      const [yamlBefore, wfBefore] = [readFileSync(file, 'utf8'), readFileSync(wf, 'utf8')];
      const doc = parseDocument(yamlBefore);
      doc.setIn(['models', 'llm', 'price'], doc.createNode({ version: 'test-2026-12', currency: 'USD', inputPerMillion: 0.4, outputPerMillion: 1.6 }));
      writeFileSync(file, doc.toString());
      writeFileSync(wf, wfBefore.replace(/^budgets:\n/m, 'budgets:\n  outputTokens: 40\n'));
      // Two tool calls of 30 output tokens each; the third turn is never asked for.
      api.replies.push(toolCall('tickets_get_ticket', { ticket_id: 'T-311' }), toolCall('tickets_get_ticket', { ticket_id: 'T-311' }), completion({ content: 'never sent' }));
      const a = await openAirlock(ws.dir);
      try {
        const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
        expect(run.status).toBe('failed');
        expect(api.seen).toHaveLength(2);
        const records = await a.store.readAuditForRun(run.id);
        const called = records.filter((r) => r.type === 'model.called').map((r) => r.body);
        // 120 input tokens at 0.4 and 30 output at 1.6 per million: 96 micro-dollars a turn.
        expect(called).toEqual([
          { route: 'llm', provider: 'openai', model: 'fake-model', inputTokens: 120, outputTokens: 30, cost: 0.000096, currency: 'USD', priceVersion: 'test-2026-12', why: 'the workflow names it' },
          { route: 'llm', provider: 'openai', model: 'fake-model', inputTokens: 120, outputTokens: 30, cost: 0.000096, currency: 'USD', priceVersion: 'test-2026-12', why: 'the workflow names it' },
        ]);
        const stop = records.find((r) => r.type === 'run.budget-exhausted');
        expect(stop?.body['reason']).toMatch(/output-token budget of 40 exhausted \(60 used\)/);
        expect(records.find((r) => r.type === 'run.finished')?.body['status']).toBe('failed');
        const saved = await a.store.getRun(run.id);
        expect((saved?.state as { usage: unknown }).usage).toEqual({ modelCalls: 2, inputTokens: 240, outputTokens: 60, costMicros: 192, currency: 'USD' });
      } finally {
        await a.close();
        writeFileSync(file, yamlBefore);
        writeFileSync(wf, wfBefore);
      }
    });

    it("stops the next run at the workflow's daily model-call budget, and sums usage per workflow, principal and route", async () => {
      const wf = path.join(ws.dir, 'workflows', 'refund-desk.yaml');
      const wfBefore = readFileSync(wf, 'utf8');
      writeFileSync(wf, wfBefore.replace(/^budgets:\n/m, 'budgets:\n  perDay: { modelCalls: 3 }\n'));
      const a = await openAirlock(ws.dir);
      try {
        const today = new Date().toISOString().slice(0, 10);
        const before = (await a.store.usageSince(today, ['workflow:refund-desk'])).reduce((t, r) => t + r.modelCalls, 0);
        // Whatever the earlier tests here used today counts too: the budget is the workflow's, across runs.
        const left = Math.max(0, 3 - before);
        for (let i = 0; i < left + 1; i++) api.replies.push(toolCall('tickets_get_ticket', { ticket_id: 'T-311' }));
        const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
        expect(run.status).toBe('failed');
        expect(api.seen).toHaveLength(left);
        const stop = (await a.store.readAuditForRun(run.id)).find((r) => r.type === 'run.budget-exhausted');
        expect(stop?.body['reason']).toBe('daily model-call budget of 3 for workflow `refund-desk` reached');
        // Priced and unpriced turns are kept apart by currency; together they reach the cap, in every scope alike.
        const sums = await a.store.usageSince(today, ['workflow:refund-desk', 'route:llm', 'principal:agent:refund-bot']);
        const calls = (scope: string) => sums.filter((r) => r.scope === scope).reduce((t, r) => t + r.modelCalls, 0);
        expect([calls('workflow:refund-desk'), calls('route:llm'), calls('principal:agent:refund-bot')]).toEqual([Math.max(3, before), Math.max(3, before), Math.max(3, before)]);
      } finally {
        await a.close();
        writeFileSync(wf, wfBefore);
      }
    });

    it('a key the route names but the environment lacks is a config error before any run exists', async () => {
      delete process.env['AIRLOCK_TEST_OPENAI_KEY'];
      const a = await openAirlock(ws.dir);
      try {
        const before = (await a.store.listRuns()).length;
        const err = await a.runner.start('refund-desk', { ticket_id: 'T-311' }).then(
          () => null,
          (e: unknown) => e,
        );
        expect((err as AirlockError).code).toBe('config');
        expect((err as AirlockError).message).toMatch(/AIRLOCK_TEST_OPENAI_KEY/);
        expect(await a.store.listRuns()).toHaveLength(before);
      } finally {
        process.env['AIRLOCK_TEST_OPENAI_KEY'] = KEY;
        await a.close();
      }
    });
  });
});
