// An MCP client that can open a URL for its user (URL-mode elicitation) is pointed to the approval
// page when a call needs a person: the call is answered with the protocol's "URL elicitation
// required" error naming the approval and its page. Nothing executes; a client without the
// capability gets the usual pending result.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import { groundTruth } from '../helpers/workspace.js';
import { doorWorkspace, type DoorWorkspace } from './fixtures.js';

const REFUND = { order_id: '1182', amount_cents: 4000, currency: 'EUR', reason: 'damaged part' };

describe('MCP URL-mode elicitation for approvals', () => {
  let ws: DoorWorkspace;
  let airlock: Airlock;
  let server: RunningServer;
  const clients: Client[] = [];

  async function connect(elicitation: boolean): Promise<Client> {
    const client = new Client({ name: 'agent', version: '1' }, { capabilities: elicitation ? { elicitation: { url: {} } } : {} });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${ws.keys['refund-bot']}` } } }));
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    ws = doorWorkspace('  publicUrl: https://airlock.acme.example/\n');
    airlock = await openAirlock(ws.dir);
    server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server.close();
    await airlock.close();
    ws.cleanup();
  });

  it('a capable client is sent to the approval page, and nothing executes', async () => {
    const client = await connect(true);
    await client.callTool({ name: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' } });
    const err = await client.callTool({ name: 'payments.refund', arguments: REFUND }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(ErrorCode.UrlElicitationRequired);
    const [elicitation] = ((err as McpError).data as { elicitations: { mode: string; url: string; elicitationId: string; message: string }[] }).elicitations;
    const pending = (await airlock.store.listApprovals({ status: 'pending' })).find((p) => p.tool === 'payments.refund');
    expect(pending).toBeDefined();
    expect(elicitation).toMatchObject({ mode: 'url', elicitationId: pending!.id, url: `https://airlock.acme.example/console/approvals/${pending!.id}` });
    expect(elicitation!.message).toMatch(/A person must approve payments\.refund/);
    expect(groundTruth(ws.acmeDb).refunds.filter((r) => r['order_id'] === '1182')).toEqual([]);
  });

  it('a client without the capability gets the usual pending result', async () => {
    const client = await connect(false);
    await client.callTool({ name: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' } });
    const res = await client.callTool({ name: 'payments.refund', arguments: { ...REFUND, amount_cents: 3900 } });
    expect(res.isError).toBe(true);
    expect(JSON.stringify(res.content)).toMatch(/approval required \(single\)/);
  });
});
