// Starting the doors: `airlock serve` (HTTP: MCP + JSON API) and `airlock mcp` (MCP over stdio).
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { serve } from '@hono/node-server';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Airlock } from '../airlock.js';
import { AirlockError } from '../errors.js';
import { createAuthenticator } from '../identity/authenticate.js';
import { createGovernedMcpServer } from './mcp.js';
import { createHttpApp, type MountRoutes } from './http.js';
import { mountApi } from './mount.js';
import { startHousekeeping } from './housekeeping.js';

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
  const { app, close } = createHttpApp(airlock, (h) => authenticator.authenticate(h), opts.mount ?? mountApi(airlock), opts.log);
  const host = opts.host ?? airlock.workspace.file.server.host;
  const port = opts.port ?? airlock.workspace.file.server.port;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new AirlockError('input', `cannot listen on ${host}:${port}: ${err.message}`, {
          hint: err.code === 'EADDRINUSE' ? 'another process uses that port; pass `--port` or set `server.port`' : undefined,
        }),
      ),
    );
  });
  // Approval deadlines and webhook retries need someone awake: the server is.
  const housekeeping = startHousekeeping(airlock, { ...(opts.housekeepingMs ? { intervalMs: opts.housekeepingMs } : {}), ...(opts.log ? { log: opts.log } : {}) });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    async close() {
      await housekeeping.stop();
      await close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Serves MCP over stdio for a local client, as the workspace's `server.stdioPrincipal` (a local
 * process has no token). One run for the life of the process.
 */
export async function runStdioMcp(airlock: Airlock, workflowName?: string): Promise<{ closed: Promise<void> }> {
  const ref = airlock.workspace.file.server.stdioPrincipal;
  if (!ref) {
    throw new AirlockError('config', 'no principal for `airlock mcp`', {
      hint: 'set `server.stdioPrincipal: agent:<id>` in airlock.yaml (the agent a local MCP client acts as)',
    });
  }
  const principal = airlock.principal(ref);
  const wf = airlock.sessions.resolveWorkflow(principal, workflowName);
  if ('kind' in wf) throw new AirlockError('input', wf.reason);
  const run = await airlock.sessions.open(wf, principal, 'mcp-stdio');
  const server = createGovernedMcpServer(airlock, { principal, workflow: wf, runId: run.id });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  await server.connect(transport);
  // The SDK's stdio transport does not notice the client going away: end the session when stdin ends.
  const stop = () => void transport.close();
  process.stdin.once('end', stop);
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return {
    closed: closed.then(async () => {
      await airlock.sessions.close(run.id, principal);
    }),
  };
}
