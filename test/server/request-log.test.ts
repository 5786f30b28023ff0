// `airlock serve` logs one structured line per request, never a credential or a body.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { createAuthenticator } from '../../src/identity/authenticate.js';
import { createHttpApp } from '../../src/server/http.js';
import { doorWorkspace, type DoorWorkspace } from './fixtures.js';

describe('request log', () => {
  let ws: DoorWorkspace;
  let airlock: Airlock;
  beforeAll(async () => {
    ws = doorWorkspace();
    airlock = await openAirlock(ws.dir);
  });
  afterAll(async () => {
    await airlock.close();
    ws.cleanup();
  });

  it('writes method, path, status and time for each request, without the token or body', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const auth = createAuthenticator(airlock.workspace);
    const { app, close } = createHttpApp(airlock, (h) => auth.authenticate(h), undefined, pino({ level: 'info' }, sink));
    await app.request('/healthz');
    await app.request('/mcp', {
      method: 'POST',
      headers: { authorization: `Bearer ${ws.keys['refund-bot']}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { secret: 'do-not-log' } }),
    });
    await close();
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.map((e) => [e['method'], e['path'], e['status']])).toEqual([
      ['GET', '/healthz', 200],
      ['POST', '/mcp', 400],
    ]);
    expect(typeof entries[0]?.['ms']).toBe('number');
    const text = lines.join('\n');
    expect(text).not.toContain(ws.keys['refund-bot']);
    expect(text).not.toContain('do-not-log');
  });
});
