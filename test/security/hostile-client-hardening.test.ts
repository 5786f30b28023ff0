// A hostile authenticated client beside well-behaved ones (examples/mcp-gateway, real upstreams):
// nothing a hostile request carries reaches the store unvalidated, no other caller's call fails,
// every upstream execution has its outcome record, batches count as their calls, and a principal
// cannot hold runs open without bound.
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/audit/log.js';
import { unsettledIntents } from '../../src/orchestration/recovery.js';
import type { RunId } from '../../src/types.js';
import { AGENT, Target, statusOf, textOf } from './gateway-target.js';

/** `{"a":{"a":...1}}` nested `depth` levels, as JSON text (never built as an object). */
const deepJson = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

async function api(target: Target, method: string, route: string, body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${target.server.url}/v1${route}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${target.keys.agent}` },
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('a hostile client beside well-behaved ones', () => {
  const target = new Target({ maxRequestBytes: 1_048_576, callsPerMinute: 100_000, concurrentCallsPerRun: 8 });

  beforeAll(async () => {
    await target.start();
  });
  afterAll(async () => {
    if (target.airlock) expect((await verifyStore(target.airlock.store)).ok).toBe(true);
    await target.stop();
  });

  it('deep and malformed requests fail alone: every other call succeeds and every execution has its outcome', async () => {
    const good = await Promise.all([0, 1, 2, 3].map((i) => target.connect(target.keys.agent, { name: `good-${i}` })));
    const hostile = await target.connect(target.keys.agent, { name: 'hostile' });
    const mark = await target.mark();
    // The memory server loses concurrent writes of its own (it rewrites one file): the good calls take
    // turns among the four sessions, while the hostile requests run beside them all the time.
    const goodCalls = (async () => {
      const outcomes: boolean[] = [];
      for (let n = 0; n < 8; n++) {
        for (const [c, client] of good.entries()) {
          const r = await client.callTool({ name: 'memory.create_entities', arguments: { entities: [{ name: `Good-${c}-${n}`, entityType: 'note', observations: ['ok'] }] } });
          outcomes.push(!r.isError);
        }
      }
      return outcomes;
    })();
    const attacks = Array.from({ length: 12 }, (_, i) => {
      const deepArgs = `{"jsonrpc":"2.0","id":${700 + i},"method":"tools/call","params":{"name":"memory.create_entities","arguments":{"entities":[],"x":${deepJson(5000)}}}}`;
      const deepElsewhere = `{"jsonrpc":"2.0","id":${800 + i},"method":"ping","params":{"_meta":${deepJson(20_000)}}}`;
      return [target.rawText(hostile, deepArgs), target.rawText(hostile, deepElsewhere), api(target, 'POST', '/actions', `{"tool":"memory.read_graph","arguments":${deepJson(5000)}}`)];
    }).flat();
    const [goodResults, attackResults] = await Promise.all([goodCalls, Promise.all(attacks)]);

    // Not one well-behaved call failed.
    expect(goodResults).toEqual(Array.from({ length: 32 }, () => true));
    // Each deep request got a JSON answer saying what is wrong: JSON-RPC 400 at /mcp, 422 at /v1; never a 500.
    for (const a of attackResults) {
      if ('type' in a) {
        expect(a.status).toBe(400);
        expect(a.type).toMatch(/json/);
        expect(JSON.parse(a.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32600, message: expect.stringMatching(/nested deeper than 68 levels/) } });
      } else {
        expect(a.status).toBe(422);
        expect(a.json['issues']).toEqual([expect.objectContaining({ code: 'too_deep' })]);
      }
    }
    // Ground truth and the trail agree: each entity the upstream created has its `action.executed`.
    const created = target.memoryEntities().filter((n) => n.startsWith('Good-'));
    expect(created).toHaveLength(32);
    const records = await target.since(mark);
    expect(records.filter((r) => r.type === 'action.executed' && r.body['tool'] === 'memory.create_entities' && r.body['outcome'] === 'ok')).toHaveLength(32);
    const runs = new Set(records.map((r) => r.runId).filter((r): r is string => r !== null));
    for (const run of runs) expect(unsettledIntents(await target.airlock.store.readAuditForRun(run as RunId)), run).toEqual([]);
    // Every refusal is on record, for the caller who made it; none reached a run's saved state.
    expect(records.filter((r) => r.type === 'request.refused' && r.body['why'] === 'malformed')).toHaveLength(24);
    for (const run of runs) expect(JSON.stringify((await target.airlock.store.getRun(run as RunId))?.state ?? {}).length).toBeLessThan(50_000);
  });

  it('refuses lone surrogates in arguments and tool names clearly, each audited', async () => {
    const agent = await target.connect(target.keys.agent);
    const mark = await target.mark();
    const inArgs = await target.rawText(agent, '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"files.read_text_file","arguments":{"path":"notes/\\ud800.md"}}}');
    expect(inArgs.status).toBe(200);
    const result = (JSON.parse(inArgs.body) as { result: { isError: boolean; content: { text: string }[] } }).result;
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/invalid arguments: arguments\.path holds a lone UTF-16 surrogate/);
    const inName = await agent.callTool({ name: 'files.read\ud800', arguments: {} });
    expect(statusOf(inName)).toBe('denied');
    expect(textOf(inName)).toMatch(/is not declared in the workspace/);
    const records = await target.since(mark);
    const refused = records.filter((r) => r.type === 'action.not-executed').map((r) => [r.body['why'], r.body['tool']]);
    expect(refused).toEqual([
      ['invalid-arguments', 'files.read_text_file'],
      ['unknown-tool', 'files.read\\ud800'],
    ]);
  });
});

describe('limits that hold however requests are packed', () => {
  const target = new Target({ maxRequestBytes: 1_048_576, callsPerMinute: 5, concurrentCallsPerRun: 4, openRunsPerPrincipal: 3 });

  beforeAll(async () => {
    await target.start();
  });
  afterAll(async () => {
    if (target.airlock) expect((await verifyStore(target.airlock.store)).ok).toBe(true);
    await target.stop();
  });

  it('counts each tools/call of a JSON-RPC batch against callsPerMinute: an over-budget batch runs nothing', async () => {
    const agent = await target.connect(target.keys.agent);
    const before = target.snapshot();
    const mark = await target.mark();
    const batch = Array.from({ length: 20 }, (_, i) => ({
      jsonrpc: '2.0',
      id: 100 + i,
      method: 'tools/call',
      params: { name: 'memory.create_entities', arguments: { entities: [{ name: `Batch-${i}`, entityType: 'spam', observations: ['x'] }] } },
    }));
    const r = await target.rawText(agent, JSON.stringify(batch));
    expect(r.status).toBe(429);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: -32029 } });
    expect(target.snapshot()).toEqual(before);
    const records = await target.since(mark);
    expect(records.filter((x) => x.type === 'action.intent')).toEqual([]);
    expect(records.filter((x) => x.type === 'request.refused').map((x) => x.body['reason'])).toEqual(['more than 5 calls per minute (20 in this request)']);
    await agent.close();
  });

  it('caps the runs one principal holds open (MCP sessions and API runs alike), audited; closing one frees a slot', async () => {
    const mark = await target.mark();
    const sessions = [await target.connect(target.keys.agent), await target.connect(target.keys.agent)];
    // The batch test's session is still open: three runs are held now.
    const refusedSession = await target.rawText(null, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }));
    expect(refusedSession.status).toBe(429);
    expect(JSON.parse(refusedSession.body)).toMatchObject({ error: { code: -32029, message: expect.stringMatching(/already holds 3 open runs \(at most 3\)/) } });
    const refusedRun = await api(target, 'POST', '/runs', '{}');
    expect(refusedRun.status).toBe(429);
    const records = await target.since(mark);
    expect(records.filter((x) => x.type === 'request.refused' && x.body['why'] === 'open-runs-limit').map((x) => x.principal)).toEqual([AGENT, AGENT]);
    // The agent ends one session (DELETE): its run ends, and the slot is free.
    await (sessions[0]!.transport as StreamableHTTPClientTransport).terminateSession();
    const opened = await api(target, 'POST', '/runs', '{}');
    expect(opened.status).toBe(201);
    // An API run nobody uses ends when it has been idle (the server's sweeper, here with no wait).
    const runId = opened.json['runId'] as RunId;
    expect(await target.airlock.sessions.endIdle(0, ['http-api'])).toEqual([runId]);
    const run = await target.airlock.store.getRun(runId);
    expect(run?.status).toBe('completed');
    expect((await target.airlock.store.readAuditForRun(runId)).at(-1)).toMatchObject({
      type: 'run.finished',
      body: { reason: null, claim: 'done', endedBy: 'session' },
    });
    expect((run?.state as { final?: { text?: string } }).final?.text).toMatch(/session ended by Airlock: idle for 0 minutes/);
  });
});

describe('what an independent review found (each a regression test)', () => {
  const target = new Target({ maxRequestBytes: 64 * 1024, callsPerMinute: 5, concurrentCallsPerRun: 4, openRunsPerPrincipal: 3 });
  const init = (over: Record<string, unknown> = {}) =>
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' }, ...over } });

  beforeAll(async () => {
    await target.start();
  });
  afterAll(async () => {
    if (target.airlock) expect((await verifyStore(target.airlock.store)).ok).toBe(true);
    await target.stop();
  });

  it('counts resource reads and prompts against callsPerMinute too: a batch of 20 unknown prompts runs nothing', async () => {
    const agent = await target.connect(target.keys.agent);
    const mark = await target.mark();
    const batch = Array.from({ length: 20 }, (_, i) => ({ jsonrpc: '2.0', id: 300 + i, method: i % 2 ? 'prompts/get' : 'resources/read', params: i % 2 ? { name: `nope-${i}` } : { uri: `file:///nope/${i}` } }));
    const r = await target.rawText(agent, JSON.stringify(batch));
    expect(r.status).toBe(429);
    const records = await target.since(mark);
    expect(records.filter((x) => x.type === 'action.not-executed')).toEqual([]);
    expect(records.filter((x) => x.type === 'request.refused').map((x) => x.body['why'])).toEqual(['rate-limit']);
    await (agent.transport as StreamableHTTPClientTransport).terminateSession();
  });

  it('an initialize the SDK refuses leaves no run and no taken slot behind', async () => {
    const refused = [
      await target.rawText(null, init({ protocolVersion: 'not-a-version', clientInfo: undefined })),
      await target.rawText(null, init(), { accept: 'text/plain' }),
      await target.rawText(null, init(), { 'content-type': 'text/plain' }),
      await target.rawText(null, init(), { accept: 'text/plain' }),
    ];
    expect(refused.map((x) => x.status).every((s) => s >= 400)).toBe(true);
    // All three slots are still free: three sessions open.
    const ok = [await target.connect(target.keys.agent), await target.connect(target.keys.agent), await target.connect(target.keys.agent)];
    expect(ok).toHaveLength(3);
    const cancelled = (await target.airlock.store.listRuns({ status: 'cancelled' })).filter((r) => JSON.stringify(r.state).includes('initialize request was refused'));
    expect(cancelled.length).toBe(refused.length);
    for (const c of ok) await (c.transport as StreamableHTTPClientTransport).terminateSession();
  });

  it('a session whose run ended another way (closed over the API) is gone, and its slot with it', async () => {
    const agent = await target.connect(target.keys.agent);
    const runId = (await target.airlock.store.listRuns({ status: 'running' }))[0]!.id;
    const closed = await fetch(`${target.server.url}/v1/runs/${runId}/close`, { method: 'POST', headers: { authorization: `Bearer ${target.keys.agent}` } });
    expect(closed.status).toBe(200);
    const after = await target.rawText(agent, JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' }));
    expect(after.status).toBe(404);
    expect(JSON.parse(after.body)).toMatchObject({ error: { code: -32004, message: expect.stringMatching(/has ended; initialize a new session/) } });
    expect(target.airlock.sessions.openRuns().get(AGENT) ?? 0).toBe(0);
  });

  it('a lone surrogate in the reasoning is recorded escaped: the approval is asked, nothing is lost', async () => {
    const res = await fetch(`${target.server.url}/v1/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${target.keys.agent}` },
      body: '{"tool":"files.write_file","arguments":{"path":"notes/r.md","content":"x"},"reasoning":"why \\ud800 not"}',
    });
    expect(res.status).toBe(202);
    const { runId, approvalId } = (await res.json()) as { runId: RunId; approvalId: string };
    const trail = await target.airlock.store.readAuditForRun(runId);
    expect(trail.find((r) => r.type === 'action.intent')?.body['reasoning']).toBe('why \\ud800 not');
    expect(trail.some((r) => r.type === 'approval.requested' && r.body['approvalId'] === approvalId)).toBe(true);
    await fetch(`${target.server.url}/v1/runs/${runId}/close`, { method: 'POST', headers: { authorization: `Bearer ${target.keys.agent}` } });
  });

  it('an oversized API request is audited like one at the MCP door', async () => {
    const mark = await target.mark();
    const res = await fetch(`${target.server.url}/v1/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${target.keys.agent}` },
      body: JSON.stringify({ tool: 'files.write_file', arguments: { path: 'notes/big.md', content: 'A'.repeat(100_000) } }),
    });
    expect(res.status).toBe(413);
    expect((await target.since(mark)).map((r) => [r.type, r.body['why'], r.body['door']])).toEqual([['request.refused', 'too-large', 'http-api']]);
  });
});

describe('many calls at once in one run', () => {
  const target = new Target({ maxRequestBytes: 1_048_576, callsPerMinute: 100_000, concurrentCallsPerRun: 16 });
  beforeAll(async () => {
    await target.start();
  });
  afterAll(async () => {
    await target.stop();
  });

  it('records every one of 16 concurrent calls (no retries exhausted, no call reported failed that ran)', async () => {
    const agent = await target.connect(target.keys.agent);
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => agent.callTool({ name: 'memory.read_graph', arguments: {} }).then(() => 'ok', (e: Error) => e.message + String(i))));
      expect(answers.filter((a) => a !== 'ok')).toEqual([]);
    }
    const runId = (await target.airlock.store.listRuns({ status: 'running' }))[0]!.id;
    const state = (await target.airlock.store.getRun(runId))!.state as { toolCalls: number };
    expect(state.toolCalls).toBe(48);
  });
});
