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
