// A long MCP session over Streamable HTTP leaves no listener behind per request on its long-lived signal (the doors bench's
// MaxListenersExceededWarning): the fetch wrapper alone, then a real mcp-http connector making hundreds of calls.
import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchWithOwnSignal } from '../../src/tools/connectors/fetch-signal.js';
import { McpStdioConnector } from '../../src/tools/connectors/mcp-stdio.js';
import { serverState, startHttpTestServer } from '../helpers/test-upstream.js';

const abortListeners = (s: AbortSignal): number => getEventListeners(s, 'abort').length;

describe('fetchWithOwnSignal', () => {
  let server: Server;
  let origin: string;
  /** Responses held open by `/stream` until the test ends them. */
  const open: ((chunk?: string) => void)[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first ');
        open.push((chunk) => (chunk === undefined ? res.end() : res.write(chunk)));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const end of open) end();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('holds one listener per request in flight on a shared signal, none once each body is read', async () => {
    const session = new AbortController();
    const f = fetchWithOwnSignal();
    for (let i = 0; i < 300; i++) {
      const res = await f(`${origin}/json`, { signal: session.signal });
      expect(abortListeners(session.signal)).toBe(1);
      expect(await res.json()).toEqual({ ok: true });
      expect(abortListeners(session.signal)).toBe(0);
    }
    // A cancelled body lets go too.
    const res = await f(`${origin}/json`, { signal: session.signal });
    await res.body?.cancel();
    expect(abortListeners(session.signal)).toBe(0);
  });

  it('still aborts a body being read when the shared signal aborts (closing a session ends its stream)', async () => {
    const session = new AbortController();
    const res = await fetchWithOwnSignal()(`${origin}/stream`, { signal: session.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first ');
    session.abort(new Error('session closed'));
    await expect(reader.read()).rejects.toThrow();
    expect(abortListeners(session.signal)).toBe(0);
  });
});

describe('an mcp-http connector over a long session', () => {
  let upstream: { url: string; stop: () => void } | undefined;
  const state = serverState();
  beforeAll(async () => {
    upstream = await startHttpTestServer(state.dir);
  });
  afterAll(() => {
    upstream?.stop();
    state.cleanup();
  });

  it('keeps the session signal\'s listener count flat over hundreds of calls', async () => {
    const c = new McpStdioConnector('remote', { url: upstream!.url, headers: () => ({ ok: true, headers: {}, secrets: [] }) });
    try {
      const call = async () => expect(await c.call('pid', {}, { timeoutMs: 30_000 })).toMatchObject({ ok: true });
      await call();
      // The SDK transport's session signal (its private `_abortController`), which it passes to every request.
      const links = (c as unknown as { links: { live: { transport: { _abortController?: AbortController } } | null }[] }).links;
      const signal = links[0]?.live?.transport._abortController?.signal;
      expect(signal).toBeInstanceOf(AbortSignal);
      for (let i = 0; i < 20; i++) await call();
      const early = abortListeners(signal!);
      for (let i = 0; i < 300; i++) await call();
      expect(abortListeners(signal!)).toBe(early);
      expect(early).toBeLessThanOrEqual(1);
    } finally {
      await c.close();
    }
  });
});
