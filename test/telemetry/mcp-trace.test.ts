// W3C trace context across MCP: Airlock as an MCP client puts the active span's `traceparent` in the
// request's `_meta`, and Airlock's MCP door takes it as the parent of its `tools/call` server span.
// Here one Airlock's connector calls another Airlock's door over real Streamable HTTP on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import { McpStdioConnector } from '../../src/tools/connectors/mcp-stdio.js';
import { startTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { withSpan } from '../../src/telemetry/spans.js';
import { AIRLOCK, GEN_AI, MCP } from '../../src/telemetry/attributes.js';
import { doorWorkspace, type DoorWorkspace } from '../server/fixtures.js';
import { runStateOf } from '../../src/orchestration/run-state.js';
import type { RunId } from '../../src/types.js';

describe('trace context over MCP', () => {
  let ws: DoorWorkspace;
  let airlock: Airlock;
  let server: RunningServer;
  let tracing: Tracing;

  beforeAll(async () => {
    tracing = startTracing('memory');
    ws = doorWorkspace();
    airlock = await openAirlock(ws.dir);
    server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await airlock.close();
    ws.cleanup();
    await tracing.shutdown();
  });

  it('carries traceparent in _meta from the client span to the door, whose tools/call span is its child', async () => {
    const upstream = new McpStdioConnector('door', {
      url: `${server.url}/mcp`,
      headers: () => ({ ok: true, headers: { authorization: `Bearer ${ws.keys['refund-bot']}` }, secrets: [] }),
    });
    try {
      const { result, caller } = await withSpan('caller', async (span) => ({
        result: await upstream.call('tickets.get_ticket', { ticket_id: 'T-311' }, { timeoutMs: 10_000 }),
        caller: span.spanContext(),
      }));
      expect(result.ok).toBe(true);
      const spans = tracing.memory!.getFinishedSpans();
      const door = spans.find((s) => s.name === 'tools/call tickets.get_ticket');
      expect(door?.spanContext().traceId).toBe(caller.traceId);
      expect(door?.parentSpanContext?.spanId).toBe(caller.spanId);
      expect(door?.parentSpanContext?.isRemote).toBe(true);
      expect(door?.attributes[MCP.methodName]).toBe('tools/call');
      expect(door?.attributes[GEN_AI.toolName]).toBe('tickets.get_ticket');
      expect(typeof door?.attributes[MCP.sessionId]).toBe('string');
      // The governed call inside the door is in the same trace, under the door's span.
      const governed = spans.find((s) => s.name === 'execute_tool tickets.get_ticket' && s.spanContext().traceId === caller.traceId);
      expect(governed?.parentSpanContext?.spanId).toBe(door?.spanContext().spanId);
      expect(governed?.attributes[AIRLOCK.decision]).toBe('allow');
    } finally {
      await upstream.close();
    }
  });

  it('without a usable traceparent, keeps every call of the session in the run trace begun when it opened', async () => {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const client = new Client({ name: 'odd', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${ws.keys['refund-bot']}` } } }));
    try {
      await client.callTool({ name: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' }, _meta: { traceparent: '00-zzzz-not-a-trace-01' } });
      await client.callTool({ name: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' } });
      const doors = tracing.memory!.getFinishedSpans().filter((s) => s.name === 'tools/call tickets.get_ticket').slice(-2);
      const runId = doors[0]?.attributes[AIRLOCK.runId] as RunId;
      const stored = runStateOf((await airlock.store.getRun(runId))!).trace?.traceparent;
      const [, traceId, spanId] = stored!.split('-');
      for (const d of doors) {
        expect(d.spanContext().traceId).toBe(traceId);
        expect(d.parentSpanContext?.spanId).toBe(spanId);
      }
    } finally {
      await client.close();
    }
  });
});
