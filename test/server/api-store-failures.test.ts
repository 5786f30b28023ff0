// How the JSON API answers a store that fails: briefly unavailable (a connection lost and not yet back) is
// 503 with Retry-After, a change whose commit may or may not have landed is 502 and never "retry", and
// anything else is 500 with nothing about internals. The store is made to fail under a real route.
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { AirlockError } from '../../src/errors.js';
import { apiApp, doorWorkspace, type DoorWorkspace } from './fixtures.js';

describe('the API when the store fails', () => {
  let ws: DoorWorkspace;
  let airlock: Airlock;
  let app: Hono;

  beforeAll(async () => {
    ws = doorWorkspace();
    airlock = await openAirlock(ws.dir);
    app = apiApp(airlock);
  });
  afterAll(async () => {
    await airlock?.close();
    ws?.cleanup();
  });

  /** GET /v1/grants as Dana while the store's page of grants fails with `failure`. */
  async function grantsFailingWith(failure: Error): Promise<{ status: number; retryAfter: string | null; body: Record<string, unknown> }> {
    const store = airlock.store as unknown as Record<string, unknown>;
    store['pageGrants'] = () => Promise.reject(failure);
    try {
      const res = await app.request('/v1/grants', { headers: { authorization: `Bearer ${ws.keys.dana}` } });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
    } finally {
      delete store['pageGrants'];
    }
  }

  it('answers a retryable store failure 503 with Retry-After', async () => {
    const r = await grantsFailingWith(new AirlockError('store', 'store `postgres://db` cannot be reached to list grants: terminating connection due to administrator command', { retryable: true }));
    expect(r).toEqual({ status: 503, retryAfter: '1', body: { error: 'temporarily unavailable', hint: 'retry shortly' } });
  });

  it('answers a commit whose outcome is unknown 502, saying so, and never "retry"', async () => {
    const r = await grantsFailingWith(new AirlockError('store-unknown', 'the connection to the database was lost while a change was committed: it may or may not have been applied'));
    expect(r.status).toBe(502);
    expect(r.retryAfter).toBeNull();
    expect(r.body).toEqual({ error: 'the change may or may not have been applied: the connection to the store was lost while it was committed', hint: 'read it back before repeating it' });
  });

  it('answers any other store failure 500 without its details', async () => {
    const r = await grantsFailingWith(new AirlockError('store', 'store `postgres://db` failed to list grants: relation "grants" does not exist'));
    expect(r).toEqual({ status: 500, retryAfter: null, body: { error: 'internal error', hint: 'the error was logged on the server' } });
    // The route works again once the store does.
    const ok = await app.request('/v1/grants', { headers: { authorization: `Bearer ${ws.keys.dana}` } });
    expect(ok.status).toBe(200);
  });
});
