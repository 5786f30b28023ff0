// The MCP door, with the official MCP SDK client over both real transports (Streamable HTTP, stdio).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import path from 'node:path';
import { groundTruth, openWorkspaceStore } from '../helpers/workspace.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import type { ApprovalId } from '../../src/types.js';
import { AIRLOCK_ROOT } from '../../src/util/package-root.js';
import { doorWorkspace, type DoorWorkspace } from './fixtures.js';

const REFUND = { order_id: '1182', amount_cents: 4000, currency: 'EUR', reason: 'damaged part' };

function textOf(r: unknown): string {
  return (((r as { content?: unknown }).content ?? []) as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
}

describe('MCP over Streamable HTTP', () => {
  let ws: DoorWorkspace;
  let airlock: Airlock;
  let server: RunningServer;
  const clients: Client[] = [];

  async function connect(key: string, headers: Record<string, string> = {}): Promise<Client> {
    const client = new Client({ name: 'test-agent', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${key}`, ...headers } },
      }),
    );
    clients.push(client);
    return client;
  }

  const ground = () => groundTruth(ws.acmeDb);

  beforeAll(async () => {
    ws = doorWorkspace();
    airlock = await openAirlock(ws.dir);
    server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server.close();
    await airlock.close();
    ws.cleanup();
  });

  it('lists only the tools the workflow and the policy let the agent see, with reviewed descriptions', async () => {
    const client = await connect(ws.keys['refund-bot']);
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain('tickets.get_ticket');
    expect(names).toContain('payments.refund');
    // No policy permits the agent to send mail: it does not even see the tool.
    expect(names).not.toContain('mail.send');
    const contract = airlock.workspace.tools.get('payments.refund');
    expect(tools.find((t) => t.name === 'payments.refund')?.description).toBe(contract?.description);
  });

  it('executes permitted reads and denies the rest with the reason, leaving ground truth unchanged', async () => {
    const client = await connect(ws.keys['refund-bot']);
    const ok = await client.callTool({ name: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' } });
    expect(ok.isError).toBeFalsy();
    expect((ok.structuredContent as { id?: string }).id).toBe('T-311');

    const before = ground();
    const denied = await client.callTool({ name: 'mail.send', arguments: { to: 'audit@exfil-partner.example', subject: 'x', body: 'y' } });
    expect(denied.isError).toBe(true);
    expect(textOf(denied)).toMatch(/denied by Airlock/);
    const undeclared = await client.callTool({ name: 'payments.transfer_all', arguments: {} });
    expect(undeclared.isError).toBe(true);
    expect(textOf(undeclared)).toMatch(/not declared/);
    const invalid = await client.callTool({ name: 'payments.refund', arguments: { ...REFUND, amount_cents: '4000' } });
    expect(invalid.isError).toBe(true);
    expect(textOf(invalid)).toMatch(/invalid arguments/);
    expect(ground()).toEqual(before);
  });

  it('returns a pending approval, and the same call after approval executes exactly once', async () => {
    const client = await connect(ws.keys['refund-bot']);
    const pending = await client.callTool({ name: 'payments.refund', arguments: REFUND });
    expect(pending.isError).toBe(true);
    expect(textOf(pending)).toMatch(/approval required \(single\)/);
    const approvalId = (pending.structuredContent as { airlock: { approvalId: ApprovalId } }).airlock.approvalId;
    expect(ground().refunds.filter((r) => r['order_id'] === '1182')).toEqual([]);

    // Calling again before anyone decides is the same approval, not a second one.
    const again = await client.callTool({ name: 'payments.refund', arguments: REFUND });
    expect((again.structuredContent as { airlock: { approvalId: string } }).airlock.approvalId).toBe(approvalId);

    const decided = await vote(airlock.approvalDeps, approvalId, localApprover(airlock.principal('user:dana')), 'approve', 'ok');
    expect(decided.kind).toBe('recorded');
    const done = await client.callTool({ name: 'payments.refund', arguments: REFUND });
    expect(done.isError).toBeFalsy();
    expect(done._meta?.['airlock/verification']).toBe('passed');
    expect(ground().refunds.filter((r) => r['order_id'] === '1182')).toHaveLength(1);

    // The approval was single-use: the same call once more needs a new one.
    const third = await client.callTool({ name: 'payments.refund', arguments: REFUND });
    expect((third.structuredContent as { airlock: { approvalId: string } }).airlock.approvalId).not.toBe(approvalId);
    expect(ground().refunds.filter((r) => r['order_id'] === '1182')).toHaveLength(1);
  });

  it('refuses unauthenticated clients and another principal on an existing session', async () => {
    await expect(connect('alk_not-a-real-key')).rejects.toThrow();
    const res = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);

    // A person is no agent: dana has no workflow to drive.
    await expect(connect(ws.keys.dana)).rejects.toThrow(/agent of no workflow/);

    const agent = await connect(ws.keys['refund-bot']);
    const sid = (agent.transport as StreamableHTTPClientTransport).sessionId;
    const hijack = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${ws.keys.dana}`,
        'mcp-session-id': sid ?? '',
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' } } }),
    });
    expect(hijack.status).toBe(403);

    // A malformed tools/call is refused and audited by Airlock, not only by the SDK.
    const malformed = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${ws.keys['refund-bot']}`,
        'mcp-session-id': sid ?? '',
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'tickets.get_ticket', arguments: 'T-311' } }),
    });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: number } }).error.code).toBe(-32602);

    // A `__proto__` key is refused like at the other doors, not silently dropped by the SDK's schema.
    const proto = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${ws.keys['refund-bot']}`,
        'mcp-session-id': sid ?? '',
        'mcp-protocol-version': '2025-06-18',
      },
      body: '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"orders.get_order","arguments":{"order_id":"1182","__proto__":{"x":1}}}}',
    });
    expect(proto.status).toBe(400);
    expect(((await proto.json()) as { error: { message: string } }).error.message).toMatch(/__proto__/);
    const refusals = (await airlock.store.readAudit(1, 100_000)).filter((r) => r.type === 'request.refused');
    expect(refusals.map((r) => r.body['why'])).toEqual(expect.arrayContaining(['session-hijack', 'malformed']));
    // Unauthenticated callers cannot write to the audit log.
    expect(refusals.map((r) => r.body['why'])).not.toContain('unauthenticated');
  });
});

describe('MCP over stdio (`airlock mcp`)', () => {
  it('governs a local client as the configured principal', async () => {
    const ws = doorWorkspace();
    const client = new Client({ name: 'local-agent', version: '1' });
    try {
      await client.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: [path.join(AIRLOCK_ROOT, 'dist/src/cli/main.js'), '-w', ws.dir, 'mcp'],
          stderr: 'pipe',
        }),
      );
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('orders.get_order');
      const order = await client.callTool({ name: 'orders.get_order', arguments: { order_id: '1182' } });
      expect((order.structuredContent as { total_cents?: number }).total_cents).toBe(8990);
      const refund = await client.callTool({ name: 'payments.refund', arguments: REFUND });
      expect(textOf(refund)).toMatch(/approval required/);
      await client.close();
      // The client went away: the run is finished, not left running.
      let status = '';
      // Polls until the server has closed the run (a generous cap for a loaded machine; no timing is asserted).
      for (let i = 0; i < 300 && status !== 'completed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const store = await openWorkspaceStore(ws.dir);
        status = (await store.listRuns())[0]?.status ?? '';
        await store.close();
      }
      expect(status).toBe('completed');
    } finally {
      await client.close();
      ws.cleanup();
    }
  });
});
