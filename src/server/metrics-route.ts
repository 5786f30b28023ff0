// `GET /metrics`: the instance's Prometheus metrics (telemetry/metrics.ts). With `server.metrics.token`
// set, a bearer token is required (read from its environment variable); without it, only requests
// from loopback are answered (a scraper on the same host, or a sidecar), and anyone else gets 403.
import { timingSafeEqual } from 'node:crypto';
import type { Hono } from 'hono';
import type { Airlock } from '../airlock.js';
import { AirlockError } from '../errors.js';

/** Mounts `/metrics` on `app`. Throws a config error now when the token's environment variable is not set. */
export function mountMetrics(app: Hono, airlock: Airlock, env: NodeJS.ProcessEnv = process.env): void {
  const ref = airlock.workspace.file.server.metrics?.token;
  const token = ref ? env[ref.env] : undefined;
  if (ref && !token) {
    throw new AirlockError('config', `server.metrics.token: the environment variable \`${ref.env}\` is not set`, {
      hint: `set ${ref.env} to the token scrapers send as \`Authorization: Bearer ...\`, or remove server.metrics.token (then /metrics answers loopback only)`,
    });
  }
  app.get('/metrics', async (c) => {
    if (token) {
      if (!sameSecret(c.req.header('authorization') ?? '', `Bearer ${token}`)) return c.text('metrics need `Authorization: Bearer <server.metrics.token>`\n', 401, { 'www-authenticate': 'Bearer' });
    } else if (!isLoopback(remoteAddress(c.env))) {
      return c.text('metrics are served to loopback only; set server.metrics.token to scrape from elsewhere\n', 403);
    }
    const { text, contentType } = await airlock.metrics.exposition();
    return c.body(text, 200, { 'content-type': contentType });
  });
}

/** The peer's address under @hono/node-server; undefined for a request made in process (`app.request`), which never crossed a network. */
function remoteAddress(env: unknown): string | undefined {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming ? (incoming.socket?.remoteAddress ?? '') : undefined;
}

function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return true;
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
