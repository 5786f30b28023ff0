// `airlock serve`: one HTTP server with the MCP endpoint (Streamable HTTP) and the JSON API, both
// authenticated, size- and rate-limited, and both reaching the same sessions and gateway.
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Logger } from 'pino';
import type { Airlock } from '../airlock.js';
import type { AuthResult } from '../identity/authenticate.js';
import { principalRef } from '../identity/principal.js';
import type { Principal, RunId } from '../types.js';
import { createGovernedMcpServer, MCP_REFUSAL_CODES, type McpBinding } from './mcp.js';
import { SharedRateLimiter, type CallRate } from './limits.js';
import { countMethod, screenMcpBody } from './door-checks.js';
import { rec, type RequestRefusal } from '../audit/records.js';
import { checkRefusals } from '../orchestration/incidents.js';
import { mountMetrics } from './metrics-route.js';

/** Checks an `Authorization` header; the door's only source of identity. */
export type Authenticate = (authorizationHeader: string | undefined) => Promise<AuthResult>;

/** Extra routes mounted beside `/mcp` (the JSON API lives in api.ts), sharing authentication and the rate budget. */
export type MountRoutes = (app: Hono, shared: { authenticate: Authenticate; rateLimiter: CallRate }) => void;

interface LiveSession {
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly binding: McpBinding;
  /** Last request (ms since epoch), for closing idle sessions. */
  lastSeen: number;
}

/** A JSON-RPC error response with an HTTP status. */
function rpcError(c: Context, status: 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503, code: number, message: string, extra: Record<string, string> = {}): Response {
  return c.json({ jsonrpc: '2.0', id: null, error: { code, message } }, status, extra);
}

/** The HTTP app: `/mcp`, `/healthz`, and whatever `mount` adds. Tests call `app.request()` in process. */
export function createHttpApp(
  airlock: Airlock,
  authenticate: Authenticate,
  mount?: MountRoutes,
  log?: Logger,
): { app: Hono; close: () => Promise<void> } {
  const limits = airlock.workspace.file.server.limits;
  // Counted in the store: every instance on it holds the principal to one budget.
  const rate = new SharedRateLimiter(airlock.store, limits.callsPerMinute);
  const live = new Map<string, LiveSession>();
  const app = new Hono();

  // One structured line per request (never bodies or credentials).
  if (log) {
    app.use('*', async (c, next) => {
      const t0 = performance.now();
      await next();
      log.info({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - t0) * 10) / 10, session: c.req.header('mcp-session-id') ?? undefined }, 'request');
    });
  }

  app.get('/healthz', (c) => c.json({ ok: true, workspace: airlock.workspace.file.name, policySet: airlock.policies.policySetHash }));
  mountMetrics(app, airlock);

  app.use(
    '/mcp',
    bodyLimit({
      maxSize: limits.maxRequestBytes,
      onError: async (c) => {
        // Audited for an authenticated caller only: an anonymous one must not write to the chained log.
        const auth = await authenticate(c.req.header('authorization')).catch(() => null);
        if (auth?.ok) {
          await refuseAudited(auth.principal, runOf(c.req.header('mcp-session-id'), auth.principal), 'too-large', `request body larger than ${limits.maxRequestBytes} bytes`);
        }
        // The rest of the body is never read, so the connection cannot carry another request: say so.
        return rpcError(c, 413, -32013, `request body larger than ${limits.maxRequestBytes} bytes`, { Connection: 'close' });
      },
    }),
  );

  /** The run of the caller's own live session named by `sid`, if any: refusals are indexed with it. */
  const runOf = (sid: string | undefined, principal: Principal): RunId | null => {
    const s = sid ? live.get(sid) : undefined;
    return s && principalRef(s.binding.principal) === principalRef(principal) ? s.binding.runId : null;
  };

  /** Audits a refusal at the door, with the caller's run when the request names its session. */
  const refuseAudited = async (principal: Principal | null, runId: RunId | null, why: RequestRefusal, reason: string): Promise<void> => {
    await airlock.audit.append({ runId, principal }, [rec('request.refused', { door: 'mcp-http', why, reason })]);
    // Refusals of any kind count towards the run's repeated-refusals incident, as they happen.
    if (runId) await checkRefusals(airlock, runId);
  };

  app.all('/mcp', async (c) => {
    let auth: AuthResult;
    try {
      auth = await authenticate(c.req.header('authorization'));
    } catch (err) {
      // The identity provider's keys could not be fetched: the client's token may be fine.
      return rpcError(c, 503, -32053, `cannot verify credentials right now: ${err instanceof Error ? err.message : String(err)}`, { 'Retry-After': '5' });
    }
    if (!auth.ok) {
      // Not audited: an unauthenticated caller must not be able to write to the chained log.
      return rpcError(c, auth.status, auth.status === 401 ? -32001 : -32003, `${auth.error}${auth.hint ? ` (${auth.hint})` : ''}`, {
        'WWW-Authenticate': 'Bearer realm="airlock"',
      });
    }
    const principal = auth.principal;
    const sid = c.req.header('mcp-session-id');
    const session = sid ? live.get(sid) : undefined;
    if (sid && !session) return rpcError(c, 404, -32004, `unknown MCP session \`${sid.slice(0, 100)}\`; initialize a new one`);
    // The session belongs to whoever opened it: every request must prove the same principal.
    if (session && principalRef(session.binding.principal) !== principalRef(principal)) {
      await refuseAudited(principal, null, 'session-hijack', `session of ${principalRef(session.binding.principal)}`);
      return rpcError(c, 403, -32003, 'this MCP session belongs to another principal');
    }
    const runId = session?.binding.runId ?? null;
    let body: unknown;
    if (c.req.method === 'POST') {
      try {
        body = await c.req.json();
      } catch {
        return rpcError(c, 400, -32700, 'the request body is not valid JSON');
      }
      // Bounded before anything else walks it, then counted against the rate (a batch is its calls).
      const refused = await screenMcpBody(body, { rate, who: principalRef(principal), nowMs: Date.now(), perMinute: limits.callsPerMinute, toolCalls: session !== undefined });
      if (refused) {
        await refuseAudited(principal, runId, refused.why, refused.reason);
        return rpcError(c, refused.status, refused.code, refused.message);
      }
    }
    if (session) {
      // A session lives as long as its run: ended by the agent over the API, a budget or recovery, it is gone.
      if (!airlock.sessions.serving(session.binding.runId)) {
        live.delete(sid as string);
        void session.transport.close().catch(() => undefined);
        return rpcError(c, 404, -32004, `the run of MCP session \`${(sid as string).slice(0, 100)}\` has ended; initialize a new session`);
      }
      session.lastSeen = Date.now();
      return session.transport.handleRequest(c.req.raw, body === undefined ? undefined : { parsedBody: body });
    }
    if (c.req.method !== 'POST' || countMethod(body, 'initialize') === 0) {
      return rpcError(c, 400, -32600, 'no `mcp-session-id`: the first request of a session must be `initialize`');
    }
    const wf = airlock.sessions.resolveWorkflow(principal, c.req.header('airlock-workflow'));
    if ('kind' in wf) {
      await refuseAudited(principal, null, 'no-workflow', wf.reason);
      return rpcError(c, wf.status === 429 ? 429 : wf.status, MCP_REFUSAL_CODES[wf.status], wf.reason);
    }
    const run = await airlock.sessions.tryOpen(wf, principal, 'mcp-http', auth.onBehalfOf);
    if ('kind' in run) return rpcError(c, run.status, MCP_REFUSAL_CODES[run.status], run.reason, run.status === 429 ? { 'Retry-After': '60' } : undefined);
    const binding: McpBinding = { principal, onBehalfOf: auth.onBehalfOf, workflow: wf, runId: run.id };
    let initialized = false;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => {
        initialized = true;
        live.set(id, { transport, binding, lastSeen: Date.now() });
      },
      onsessionclosed: async (id) => {
        live.delete(id);
        await airlock.sessions.close(run.id, principal);
      },
    });
    const server = createGovernedMcpServer(airlock, binding);
    await server.connect(transport);
    const answer = await transport.handleRequest(c.req.raw, { parsedBody: body });
    if (!initialized) {
      // The SDK refused the initialize (headers, protocol version, shape): no session, so no run either.
      await transport.close().catch(() => undefined);
      await airlock.sessions.discard(run.id, `the MCP initialize request was refused (HTTP ${answer.status})`);
    }
    return answer;
  });

  mount?.(app, { authenticate, rateLimiter: rate });

  // Sessions a client abandoned without DELETE, and API runs nobody used, end after the idle timeout.
  const idleMs = airlock.workspace.file.server.sessionIdleMinutes * 60_000;
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [id, s] of live) {
      if (!airlock.sessions.serving(s.binding.runId)) {
        // Its run ended another way (the API, a budget, recovery): the session goes too.
        live.delete(id);
        void s.transport.close().catch(() => undefined);
        continue;
      }
      if (now - s.lastSeen < idleMs) continue;
      live.delete(id);
      void s.transport.close().catch(() => undefined);
      void airlock.sessions.endSession(s.binding.runId, `the MCP session was idle for ${airlock.workspace.file.server.sessionIdleMinutes} minutes`).catch(() => undefined);
    }
    void airlock.sessions.endIdle(idleMs, ['http-api']).catch(() => undefined);
  }, Math.min(60_000, idleMs));
  sweeper.unref();
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}`, hint: 'MCP is at /mcp; the JSON API under /v1' }, 404));

  return {
    app,
    async close() {
      clearInterval(sweeper);
      const sessions = [...live.values()];
      live.clear();
      await Promise.all(sessions.map((s) => s.transport.close().catch(() => undefined)));
      // Every run this process serves ends (many at once), concluded against ground truth.
      await airlock.sessions.endAll('the server is shutting down');
    },
  };
}
