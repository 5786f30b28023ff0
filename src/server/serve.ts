// Starting the doors: `airlock serve` (HTTP: MCP + JSON API) and `airlock mcp` (MCP over stdio).
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { serve } from '@hono/node-server';
import type { Readable, Writable } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BoundedStdioTransport } from './stdio-transport.js';
import { screenMcpBody } from './door-checks.js';
import { SharedRateLimiter } from './limits.js';
import { principalRef } from '../identity/principal.js';
import type { RunId } from '../types.js';
import type { Airlock } from '../airlock.js';
import { AirlockError } from '../errors.js';
import { createAuthenticator } from '../identity/authenticate.js';
import { createGovernedMcpServer } from './mcp.js';
import { createHttpApp, type MountRoutes } from './http.js';
import { mountApi } from './mount.js';
import { startHousekeeping } from './housekeeping.js';
import { rec, type RequestRefusal } from '../audit/records.js';
import { checkRefusals } from '../orchestration/incidents.js';

/** A listening server: its base URL and how to stop it. */
export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the HTTP doors on `host:port` (port 0 picks a free one): `/mcp`, and `/v1` + `/openapi.json` unless `mount` says otherwise. */
export async function startHttpServer(
  airlock: Airlock,
  opts: { host?: string; port?: number; mount?: MountRoutes; log?: Logger; housekeepingMs?: number } = {},
): Promise<RunningServer> {
  const authenticator = createAuthenticator(airlock.workspace);
  const { app, close } = createHttpApp(airlock, (h) => authenticator.authenticate(h), opts.mount ?? mountApi(airlock, opts.log), opts.log);
  const host = opts.host ?? airlock.workspace.file.server.host;
  const port = opts.port ?? airlock.workspace.file.server.port;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const notListening = (err: NodeJS.ErrnoException): void =>
      reject(
        new AirlockError('input', `cannot listen on ${host}:${port}: ${err.message}`, {
          hint: err.code === 'EADDRINUSE' ? 'another process uses that port; pass `--port` or set `server.port`' : undefined,
        }),
      );
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => {
      s.off('error', notListening);
      resolve(s);
    });
    s.once('error', notListening);
  });
  // Listening: a later failure of the server (accepting a connection with no file descriptor left) is logged,
  // and the server goes on serving the connections it has.
  server.on('error', (err: Error) => (opts.log ? opts.log.error({ err }, 'the HTTP server failed to accept a connection') : console.error('airlock http:', err)));
  // Approval deadlines, webhook retries and the runs of processes that died need someone awake: the server is.
  const housekeeping = startHousekeeping(airlock, { ...(opts.housekeepingMs ? { intervalMs: opts.housekeepingMs } : {}), ...(opts.log ? { log: opts.log } : {}) });
  // Loose ends of an earlier crash are tied up before the first pass of the timer.
  await housekeeping.runOnce();
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    async close() {
      await housekeeping.stop();
      await close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Open console event streams (server-sent events) never end by themselves: end them with the rest.
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}

/**
 * Serves MCP over stdio for a local client, as the workspace's `server.stdioPrincipal` (a local
 * process has no token). One run for the life of the process. The same limits as the HTTP door:
 * each message at most `maxRequestBytes`, tool calls per minute, bounded shapes; refusals are
 * answered as JSON-RPC errors and audited with the run, and the session goes on.
 */
export async function runStdioMcp(
  airlock: Airlock,
  workflowName?: string,
  io: { stdin?: Readable; stdout?: Writable } = {},
): Promise<{ closed: Promise<void>; runId: RunId }> {
  const ref = airlock.workspace.file.server.stdioPrincipal;
  if (!ref) {
    throw new AirlockError('config', 'no principal for `airlock mcp`', {
      hint: 'set `server.stdioPrincipal: agent:<id>` in airlock.yaml (the agent a local MCP client acts as)',
    });
  }
  const principal = airlock.principal(ref);
  const wf = airlock.sessions.resolveWorkflow(principal, workflowName);
  if ('kind' in wf) throw new AirlockError('input', wf.reason);
  // Loose ends of an earlier crash (runs of processes that died) are tied up first.
  await airlock.sessions.recover();
  const run = await airlock.sessions.open(wf, principal, 'mcp-stdio');
  const limits = airlock.workspace.file.server.limits;
  const rate = new SharedRateLimiter(airlock.store, limits.callsPerMinute);
  const refuse = async (id: string | number | null, why: RequestRefusal, code: number, message: string, reason: string): Promise<void> => {
    await airlock.audit.append({ runId: run.id, principal }, [rec('request.refused', { door: 'mcp-stdio', why, reason })]);
    await checkRefusals(airlock, run.id);
    await transport.send({ jsonrpc: '2.0', id: id ?? null, error: { code, message } } as unknown as JSONRPCMessage);
  };
  const transport = new BoundedStdioTransport(
    {
      maxMessageBytes: limits.maxRequestBytes,
      // Nothing of an oversized message is kept: its size is recorded, never its content.
      onOversized: ({ bytes, id }) =>
        void refuse(id, 'too-large', -32013, `message larger than ${limits.maxRequestBytes} bytes`, `message of ${bytes} bytes, larger than ${limits.maxRequestBytes}`).catch(
          () => undefined,
        ),
      // JSON-RPC's answers for a line that is not JSON (-32700) or not one message (-32600, batches included).
      onUnreadable: (kind, detail) =>
        void refuse(null, 'malformed', kind === 'parse' ? -32700 : -32600, kind === 'parse' ? 'parse error: the line is not JSON' : 'invalid request: not one JSON-RPC message', `${kind}: ${detail}`).catch(
          () => undefined,
        ),
    },
    io.stdin,
    io.stdout,
  );
  const server = createGovernedMcpServer(airlock, { principal, workflow: wf, runId: run.id });
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  await server.connect(transport);
  // The same screening as the HTTP door, in front of the SDK's handlers.
  const handle = transport.onmessage;
  // INVARIANT: messages are screened and handed on one at a time, in the order they came (the count is in the store, so awaited).
  let screened: Promise<void> = Promise.resolve();
  transport.onmessage = (message) => {
    screened = screened.then(async () => {
      const refused = await screenMcpBody(message, { rate, who: principalRef(principal), nowMs: Date.now(), perMinute: limits.callsPerMinute, toolCalls: true });
      if (!refused) return handle?.(message);
      const id = 'id' in message ? (message.id as string | number) : null;
      await refuse(id, refused.why, refused.code, refused.message, refused.reason);
    }).catch(() => undefined);
  };
  // The client going away ends the session (and its run): stdin ending, or a signal.
  const stop = () => void transport.close();
  (io.stdin ?? process.stdin).once('end', stop);
  if (!io.stdin) {
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }
  return {
    runId: run.id,
    closed: closed.then(async () => {
      await airlock.sessions.close(run.id, principal);
    }),
  };
}
