// `airlock models test ROUTE`: one probe turn to one declared route, against a loopback endpoint that
// speaks the Chat Completions API: tool calling yes / partly / no, tokens and the cost from the
// route's price table, a failing provider (exit 1), an undeclared route (exit 2), a scripted route;
// only the probed route's key is read, and nothing reaches the store.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { FakeEndpoint, type Seen } from '../helpers/fake-model-endpoint.js';
import { airlock, requireBuild } from './cli-helpers.js';

const KEY = 'sk-test-probe-Wm4xR7tY9uI2oP5a';
const KEY_ENV = 'AIRLOCK_TEST_PROBE_KEY';

const completion = (message: object, finish: string) => ({
  status: 200,
  body: { id: 'cmpl-1', object: 'chat.completion', created: 1, model: 'fake', choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, finish_reason: finish }], usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 } },
});
const toolCall = (name: string, args: object) => completion({ tool_calls: [{ id: 'call_p', type: 'function', function: { name, arguments: JSON.stringify(args) } }] }, 'tool_calls');
/** The nonce the probe asked for, read from the request the endpoint got. */
const nonceOf = (seen: Seen): string => /exactly: (probe-[0-9a-f]+)/.exec(String(seen.body.messages?.[1]?.content))?.[1] ?? 'no nonce in the request';

describe('airlock models test ROUTE', () => {
  const api = new FakeEndpoint('/v1');
  let root: string;
  const ws = () => path.join(root, 'ws');
  const cli = (...args: string[]) => airlock(['-w', ws(), ...args], { cwd: root });

  beforeAll(async () => {
    requireBuild();
    await api.start();
    root = mkdtempSync(path.join(os.tmpdir(), 'airlock-models-'));
    expect((await airlock(['init', 'ws', '--kind', 'agent', '--user', 'ada'], { cwd: root })).code).toBe(0);
    const file = path.join(ws(), 'airlock.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    const route = (over: object) => doc.createNode({ kind: 'openai-chat', model: 'gpt-probe', baseUrl: api.url, apiKey: { env: KEY_ENV }, maxRetries: 0, timeoutMs: 10_000, ...over });
    doc.setIn(['models', 'priced'], route({ price: { version: 'test-2026-12', currency: 'USD', inputPerMillion: 0.25, outputPerMillion: 0.4 } }));
    doc.setIn(['models', 'plain'], route({}));
    // A route whose key is nowhere: probing the others must not need it.
    doc.setIn(['models', 'keyless'], route({ apiKey: { env: 'AIRLOCK_TEST_PROBE_KEY_NEVER_SET' } }));
    writeFileSync(file, doc.toString());
    process.env[KEY_ENV] = KEY;
  });
  afterEach(() => api.reset());
  afterAll(async () => {
    delete process.env[KEY_ENV];
    await api.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('a route that calls the probe tool with the nonce: tool calling yes, its tokens, and the cost from its price table', async () => {
    api.replies.push((seen) => toolCall('airlock_probe_echo', { text: nonceOf(seen) }));
    const r = await cli('models', 'test', 'priced');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const req = api.seen[0]!;
    expect(req.auth).toBe(`Bearer ${KEY}`);
    expect(req.body.model).toBe('gpt-probe');
    expect(req.body.tools).toEqual([
      {
        type: 'function',
        function: { name: 'airlock_probe_echo', description: expect.any(String), parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false } },
      },
    ]);
    expect(r.stdout).toMatch(/^model route priced: answered in \d+ ms$/m);
    expect(r.stdout).toContain('  provider  openai, model gpt-probe (openai-chat)');
    expect(r.stdout).toContain('  tools     yes: called the probe tool with the nonce');
    expect(r.stdout).toContain('  tokens    120 in / 30 out');
    // 120 input tokens at 0.25 and 30 output at 0.4 per million: 42 micro-dollars.
    expect(r.stdout).toContain('  cost      0.000042 USD (price test-2026-12)');
    expect(r.stdout).not.toContain('scripted');
  });

  it('--json prints the same report as one object', async () => {
    api.replies.push((seen) => toolCall('airlock_probe_echo', { text: nonceOf(seen) }));
    const r = await cli('models', 'test', 'priced', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toEqual({
      route: 'priced',
      kind: 'openai-chat',
      provider: 'openai',
      model: 'gpt-probe',
      scripted: false,
      latencyMs: expect.any(Number),
      nonce: nonceOf(api.seen[0]!),
      toolCalling: 'yes',
      detail: 'called the probe tool with the nonce',
      inputTokens: 120,
      outputTokens: 30,
      cost: 0.000042,
      currency: 'USD',
      priceVersion: 'test-2026-12',
    });
  });

  it('a tool call with the wrong text is partly; a plain text answer is no (exit 0 either way), unpriced without a price table', async () => {
    api.replies.push(toolCall('airlock_probe_echo', { text: 'something else' }));
    const partly = await cli('models', 'test', 'plain');
    expect(partly.code).toBe(0);
    expect(partly.stdout).toContain('  tools     partly: called the probe tool, but `text` is not the nonce: {"text":"something else"}');

    api.replies.push(completion({ content: 'I cannot call tools.' }, 'stop'));
    const no = await cli('models', 'test', 'plain');
    expect(no.stderr).toBe('');
    expect(no.code).toBe(0);
    expect(no.stdout).toContain('  tools     no: answered with text and no tool call (done): “I cannot call tools.”');
    expect(no.stdout).toContain('  tokens    120 in / 30 out');
    expect(no.stdout).toContain('  cost      unpriced');
  });

  it('a provider that fails (500, no retries) exits 1 with the error naming the route', async () => {
    api.replies.push({ status: 500, body: { error: { message: 'upstream exploded' } } });
    const r = await cli('models', 'test', 'plain');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: model route `plain` failed \(HTTP 500\)/m);
    expect(r.stderr).not.toContain(KEY);
    expect(api.seen).toHaveLength(1);
  });

  it('an undeclared route exits 2 and lists the declared ones; a route whose key is missing exits 2 naming it', async () => {
    const r = await cli('models', 'test', 'nope');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('model route `nope` is not declared');
    expect(r.stderr).toContain('declared routes: `scripted`, `priced`, `plain`, `keyless`');

    const keyless = await cli('models', 'test', 'keyless');
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain('model route `keyless` reads its API key from `AIRLOCK_TEST_PROBE_KEY_NEVER_SET`, which is not set');
    expect(api.seen).toHaveLength(0);
  });

  it('a scripted route replays its playbook, and says so', async () => {
    const r = await cli('models', 'test', 'scripted');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  provider  airlock-scripted, model playbooks/main.yaml (scripted)');
    expect(r.stdout).toContain('  tools     no: answered with text and no tool call (done)');
    expect(r.stdout).toContain('  tokens    not reported');
    expect(r.stdout).toContain('  cost      unpriced');
    expect(r.stdout).toMatch(/note +scripted: it replays its playbook \(no network model\)/);
    expect(api.seen).toHaveLength(0);
  });

  it('is not a run: the workspace has no store after all those probes', () => {
    expect(readdirSync(path.join(ws(), '.airlock'))).toEqual(['.gitignore']);
  });
});
