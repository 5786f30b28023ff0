// The per-principal call rate holds across instances (#15): two Airlock instances on one store count the
// agent's calls against one budget, whichever door and instance each call reaches, and an instance started
// later finds the calls already counted.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { createAuthenticator } from '../../src/identity/authenticate.js';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { createApiRoutes } from '../../src/server/api.js';
import { copyAcme } from '../helpers/workspace.js';

const LIMIT = 3;

describe('the calls-per-minute limit across instances on one store', () => {
  let ws: ReturnType<typeof copyAcme>;
  const bot = generateApiKey();
  const open: Airlock[] = [];

  beforeAll(() => {
    ws = copyAcme();
    const file = path.join(ws.dir, 'airlock.yaml');
    const doc = YAML.parse(readFileSync(file, 'utf8')) as { identity: { apiKeys?: unknown[] }; server?: { limits?: Record<string, number> } };
    doc.identity.apiKeys = [...(doc.identity.apiKeys ?? []), { id: 'bot', principal: 'agent:refund-bot', sha256: bot.sha256 }];
    doc.server = { ...doc.server, limits: { ...doc.server?.limits, callsPerMinute: LIMIT } };
    writeFileSync(file, YAML.stringify(doc));
  });

  afterAll(async () => {
    for (const a of open) await a.close();
    ws?.cleanup();
  });

  /** Another instance on the workspace's store, with its own API routes (and, by default, its own rate limiter object). */
  async function instance() {
    const airlock = await openAirlock(ws.dir);
    open.push(airlock);
    const auth = createAuthenticator(airlock.workspace);
    const app = createApiRoutes(airlock, (h) => auth.authenticate(h));
    return (route: string, body: unknown) =>
      app.request(route, { method: 'POST', headers: { authorization: `Bearer ${bot.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  it('counts the agent calls on every instance against one budget; a later instance finds them counted', async () => {
    const a = await instance();
    const b = await instance();
    const opened = await a('/runs', {});
    expect(opened.status).toBe(201);
    const { runId } = (await opened.json()) as { runId: string };
    const read = { runId, tool: 'orders.get_order', arguments: { order_id: '1182' } };
    // Three calls fit, spread over both instances: one budget, not one per process.
    expect((await a('/actions', read)).status).toBe(200);
    expect((await b('/actions', read)).status).toBe(200);
    expect((await a('/actions', read)).status).toBe(200);
    const over = await b('/actions', read);
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('60');
    expect((await a('/actions', read)).status).toBe(429);
    // A third instance, started now, holds the agent to what the others counted.
    const c = await instance();
    expect((await c('/actions', read)).status).toBe(429);
    // Each refusal is on record, whichever instance refused it.
    const refused = (await (open[0] as Airlock).store.readAuditForRun(runId)).filter((r) => r.type === 'request.refused' && r.body['why'] === 'rate-limit');
    expect(refused).toHaveLength(3);
  }, 60_000);
});
