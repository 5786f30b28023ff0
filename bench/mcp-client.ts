// An MCP SDK client session over Streamable HTTP, as the benches' well-behaved clients open one.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fetchWithOwnSignal } from '../src/tools/connectors/fetch-signal.js';

/** An initialized session and how to end it (DELETE, then close; errors on the way out are ignored). */
export interface HttpSession {
  readonly client: Client;
  close(): Promise<void>;
}

/** Opens a session at `url` (the `/mcp` endpoint) with `headers` on every request (e.g. `Authorization`). */
export async function httpSession(url: URL, headers: Record<string, string>, name = 'bench-client'): Promise<HttpSession> {
  const client = new Client({ name, version: '1' });
  // Its own signal per request: the SDK passes one long-lived signal to every fetch, on which Node's fetch leaves a listener each.
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: fetchWithOwnSignal() });
  await client.connect(transport);
  return {
    client,
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close().catch(() => undefined);
    },
  };
}
