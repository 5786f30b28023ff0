// GET /v1/usage: people see the daily sums (an external agent's tool calls included); agents do not,
// and a bad query says what is wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import * as Usage from '../../src/server/api-usage-schemas.js';
import { doorWorkspace, type DoorWorkspace } from './fixtures.js';

describe('usage over HTTP', () => {
  let ws: DoorWorkspace;
  let airlock: Airlock;
  let server: RunningServer;

  beforeAll(async () => {
    ws = doorWorkspace();
    airlock = await openAirlock(ws.dir);
    server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await airlock?.close();
    ws?.cleanup();
  });

  const call = async (route: string, key: string, body?: unknown) => {
    const res = await fetch(`${server.url}${route}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('counts the tool calls an external agent makes, per workflow and per principal, for people only', async () => {
    for (let i = 0; i < 2; i++) expect((await call('/v1/actions', ws.keys['refund-bot'] as string, { tool: 'orders.get_order', arguments: { order_id: '1182' } })).status).toBe(200);
    const byWorkflow = Usage.UsageReport.parse((await call('/v1/usage?days=1', ws.keys.dana as string)).json);
    expect(byWorkflow.by).toBe('workflow');
    expect(byWorkflow.totals.find((t) => t.scope === 'refund-desk')).toMatchObject({ toolCalls: 2, modelCalls: 0, cost: {} });
    const byPrincipal = Usage.UsageReport.parse((await call('/v1/usage?by=principal', ws.keys.dana as string)).json);
    expect(byPrincipal.totals.map((t) => [t.scope, t.toolCalls])).toContainEqual(['agent:refund-bot', 2]);
    expect((await call('/v1/usage', ws.keys['refund-bot'] as string)).status).toBe(403);
    const bad = await call('/v1/usage?days=0&by=tool', ws.keys.dana as string);
    expect(bad.status).toBe(422);
    expect(String(bad.json['error'])).toMatch(/days/);
    expect(String(bad.json['error'])).toMatch(/by/);
  });
});
