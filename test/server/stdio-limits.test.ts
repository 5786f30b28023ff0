// The stdio MCP door applies the same limits as the HTTP door: message size, rate, bounded shapes.
// A refused message is answered, audited with the run, never stored whole, and the session goes on.
import { PassThrough } from 'node:stream';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { runStdioMcp } from '../../src/server/serve.js';
import type { RunId } from '../../src/types.js';
import { doorWorkspace, type DoorWorkspace } from './fixtures.js';

const REFUND = { order_id: '1182', amount_cents: 4000, currency: 'EUR', reason: 'damaged part' };

/** A raw JSON-RPC client over the door's two streams: one line out, the answer with the same id back. */
class LineClient {
  private buffer = '';
  private readonly waiting = new Map<number, (m: Record<string, unknown>) => void>();
  private nextId = 1;

  constructor(
    readonly stdin: PassThrough,
    readonly stdout: PassThrough,
  ) {
    stdout.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const m = JSON.parse(line) as Record<string, unknown>;
        if (typeof m['id'] === 'number') this.waiting.get(m['id'])?.(m);
      }
    });
  }

  /** Sends `text` as one line (with `__ID__` replaced by a fresh id) and waits for its answer. */
  send(text: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const answered = new Promise<Record<string, unknown>>((resolve) => this.waiting.set(id, resolve));
    this.stdin.write(`${text.replace('__ID__', String(id))}\n`);
    return answered;
  }

  request(method: string, params: unknown): Promise<Record<string, unknown>> {
    return this.send(JSON.stringify({ method, params, jsonrpc: '2.0', id: '__ID__' }).replace('"__ID__"', '__ID__'));
  }

  call(name: string, args: unknown): Promise<Record<string, unknown>> {
    return this.request('tools/call', { name, arguments: args });
  }
}

const stdoutOf = (c: LineClient): PassThrough => c.stdout;

describe('`airlock mcp` (stdio) applies the server limits', () => {
  let ws: DoorWorkspace;
  let airlock: Airlock;
  let client: LineClient;
  let runId: RunId;
  let closed: Promise<void>;

  beforeAll(async () => {
    ws = doorWorkspace('  limits:\n    maxRequestBytes: 65536\n    callsPerMinute: 6\n');
    airlock = await openAirlock(ws.dir);
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    ({ closed, runId } = await runStdioMcp(airlock, undefined, { stdin, stdout }));
    client = new LineClient(stdin, stdout);
    const init = await client.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'line-client', version: '1' } });
    expect(init['result']).toBeDefined();
    client.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
  });

  afterAll(async () => {
    await airlock.close();
    ws.cleanup();
  });

  const refusals = async () => (await airlock.store.readAuditForRun(runId)).filter((r) => r.type === 'request.refused');

  it('answers a 5 MB message with an error for its id, records only its size, and the session goes on', async () => {
    const big = await client.call('orders.get_order', { order_id: '1182', note: 'A'.repeat(5 * 1024 * 1024) });
    expect(big['error']).toMatchObject({ code: -32013, message: 'message larger than 65536 bytes' });
    const ok = await client.call('orders.get_order', { order_id: '1182' });
    expect((ok['result'] as { structuredContent: { total_cents: number } }).structuredContent.total_cents).toBe(8990);

    const [refused] = await refusals();
    expect(refused).toMatchObject({ principal: 'agent:refund-bot', body: { door: 'mcp-stdio', why: 'too-large' } });
    // Neither the audit payloads nor the run's state hold the refused message.
    const db = new Database(path.join(ws.dir, '.airlock', 'airlock.db'), { readonly: true });
    try {
      const largest = db.prepare('SELECT max(length(data)) AS n FROM audit_payloads').get() as { n: number };
      const state = db.prepare('SELECT length(state) AS n FROM runs WHERE id = ?').get(runId) as { n: number };
      expect(largest.n).toBeLessThan(10_000);
      expect(state.n).toBeLessThan(20_000);
    } finally {
      db.close();
    }
  });

  it('refuses arguments nested 5,000 levels deep at the door (no stack overflow), audited with the run', async () => {
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const r = await client.send(`{"jsonrpc":"2.0","id":__ID__,"method":"tools/call","params":{"name":"orders.get_order","arguments":{"order_id":"1182","x":${deep}}}}`);
    expect(r['error']).toMatchObject({ code: -32600 });
    expect(String((r['error'] as { message: string }).message)).toMatch(/nested deeper than 68 levels/);
    expect((await refusals()).map((x) => x.body['why'])).toEqual(['too-large', 'malformed']);
  });

  it('refuses a lone surrogate in the arguments as invalid, audited, and still answers', async () => {
    const r = await client.send('{"jsonrpc":"2.0","id":__ID__,"method":"tools/call","params":{"name":"orders.get_order","arguments":{"order_id":"\\ud800"}}}');
    const result = r['result'] as { isError: boolean; content: { text: string }[] };
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/invalid arguments: arguments\.order_id holds a lone UTF-16 surrogate/);
    const records = await airlock.store.readAuditForRun(runId);
    expect(records.filter((x) => x.type === 'action.not-executed').at(-1)?.body).toMatchObject({ why: 'invalid-arguments' });
  });

  it('answers a line that is not JSON, and a batch, as JSON-RPC says (-32700, -32600), and the session goes on', async () => {
    const answered = new Promise<Record<string, unknown>[]>((resolve) => {
      const got: Record<string, unknown>[] = [];
      const listen = (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n').filter((l) => l.trim())) {
          const m = JSON.parse(line) as Record<string, unknown>;
          if (m['id'] === null) got.push(m);
        }
        if (got.length >= 2) resolve(got);
      };
      stdoutOf(client).on('data', listen);
    });
    client.stdin.write('this is not json\n[{"jsonrpc":"2.0","id":77,"method":"ping"}]\n');
    expect((await answered).map((m) => (m['error'] as { code: number }).code)).toEqual([-32700, -32600]);
    const ok = await client.request('ping', {});
    expect(ok['result']).toEqual({});
  });

  it('counts tool calls against callsPerMinute like the HTTP door', async () => {
    // Four calls so far reached the handlers (two executed, one invalid, and the oversized one never did).
    const pending = await client.call('payments.refund', REFUND);
    expect(JSON.stringify(pending['result'])).toMatch(/approval required/);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await client.call('orders.get_order', { order_id: '1182' }));
    const limited = answers.filter((a) => (a['error'] as { code?: number } | undefined)?.code === -32029);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(String((limited[0]!['error'] as { message: string }).message)).toMatch(/rate limit: at most 6 tool calls per minute for agent:refund-bot/);
    expect((await refusals()).filter((x) => x.body['why'] === 'rate-limit')).toHaveLength(limited.length);
  });

  it('ends the run when the client goes away, and withdraws the approval nobody will use', async () => {
    client.stdin.end();
    await closed;
    const run = await airlock.store.getRun(runId);
    expect(run?.status).toBe('completed');
    const approvals = await airlock.store.listApprovals({ runId });
    expect(approvals.map((a) => a.status)).toEqual(['withdrawn']);
    const trail = await airlock.store.readAuditForRun(runId);
    expect(trail.at(-1)).toMatchObject({ type: 'approval.withdrawn', body: { was: 'pending' } });
    // Three refusals (size, shape, surrogate... and the rate) in one run: the repeated-refusals incident is open.
    expect((await airlock.store.listIncidents({ runId })).map((i) => i.kind)).toContain('policy-violations');
  });
});
