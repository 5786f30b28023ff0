// Connector to an MCP server: a child process over stdio, or a remote one over Streamable HTTP; timeouts and restart after faults.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { ResolvedHeaders } from './headers.js';
import type { Json, JsonObject } from '../../types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Connector, ConnectorResult, UpstreamResource, UpstreamTool } from '../connector.js';

/** How to start the server: already interpolated (no `${...}` left). */
export interface StdioLaunch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** How to reach a remote MCP server over Streamable HTTP; headers are resolved per connection. */
export interface HttpLaunch {
  readonly url: string;
  readonly headers: () => ResolvedHeaders;
}

/**
 * One MCP server connection (a child process, or an HTTP session). Opened lazily on the first call;
 * after a crash, a timeout or a protocol error it is discarded and the next call opens a fresh one.
 */
export class McpStdioConnector implements Connector {
  readonly name: string;
  private readonly launch: StdioLaunch | HttpLaunch;
  private client: Client | null = null;
  private starting: Promise<Client> | null = null;
  /** The current process's last stderr output (reset for each new process). */
  private stderrTail = '';
  /** Settles when the last discarded process has been closed. */
  private closing: Promise<void> = Promise.resolve();
  /** Calls waiting on the current process; a protocol fault aborts them at once instead of letting them time out. */
  private readonly inflight = new Set<AbortController>();
  /** Faults in a row (start failures, crashes, time-outs, protocol errors); a success resets it. */
  private failures = 0;
  /** No restart before this time (ms since epoch): a crashing server is not restarted in a tight loop. */
  private retryAt = 0;

  constructor(name: string, launch: StdioLaunch | HttpLaunch) {
    this.name = name;
    this.launch = launch;
  }

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    if (this.starting) return this.starting;
    this.starting = (async () => {
      this.stderrTail = '';
      const launch = this.launch;
      let transport: Transport;
      if ('url' in launch) {
        const headers = launch.headers();
        if (!headers.ok) throw new Error(headers.message);
        transport = new StreamableHTTPClientTransport(new URL(launch.url), { requestInit: { headers: headers.headers, redirect: 'error' } });
      } else {
        const stdio = new StdioClientTransport({
          command: launch.command,
          args: [...launch.args],
          env: { ...getDefaultEnvironment(), ...launch.env },
          stderr: 'pipe',
          ...(launch.cwd ? { cwd: launch.cwd } : {}),
        });
        stdio.stderr?.on('data', (chunk: Buffer) => {
          this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
        });
        transport = stdio;
      }
      const client = new Client({ name: 'airlock', version: '0.1.0' }, { capabilities: {} });
      client.onclose = () => {
        if (this.client === client) this.client = null;
      };
      // A server that writes something other than JSON-RPC on stdout is broken: the SDK reports the
      // unparseable line here and would otherwise leave the call waiting until its timeout.
      client.onerror = (err: Error) => {
        // Over HTTP, errors of the optional event stream are not faults of the calls in flight.
        if (this.client !== client || 'url' in launch) return;
        const fault = new ProtocolFault(describe(err));
        for (const c of this.inflight) c.abort(fault);
        void this.discard();
      };
      try {
        await client.connect(transport, { timeout: 15_000 });
      } catch (err) {
        await transport.close().catch(() => undefined);
        throw err;
      }
      this.client = client;
      return client;
    })();
    try {
      return await this.starting;
    } finally {
      this.starting = null;
    }
  }

  /**
   * Counts a fault and sets when the next restart may happen: the first restart is immediate, then
   * 250 ms, 500 ms, 1 s ... up to 30 s between attempts.
   */
  private noteFault(): void {
    this.failures++;
    const delay = this.failures <= 1 ? 0 : Math.min(30_000, 250 * 2 ** (this.failures - 2));
    this.retryAt = Date.now() + delay;
  }

  /** Drops the current process so the next call starts a fresh one. */
  private async discard(): Promise<void> {
    const c = this.client;
    this.client = null;
    // A discard already under way (e.g. started by a protocol fault) is waited for, not skipped.
    if (c) this.closing = c.close().catch(() => undefined);
    await this.closing;
  }

  /**
   * Runs one request on the live process with the connector's fault handling: backoff before a
   * restart, a timeout, protocol faults aborting at once, and the process discarded after any fault.
   */
  private async request(
    what: string,
    opts: { timeoutMs: number },
    send: (client: Client, options: { timeout: number; signal: AbortSignal }) => Promise<ConnectorResult>,
  ): Promise<ConnectorResult> {
    let client: Client;
    const wait = this.client ? 0 : this.retryAt - Date.now();
    if (wait > 0) {
      return {
        ok: false,
        failure: 'crash',
        message: `connector \`${this.name}\` failed ${this.failures} times in a row; next restart in ${wait} ms${this.stderrHint()}`,
      };
    }
    try {
      client = await this.connect();
    } catch (err) {
      this.noteFault();
      return { ok: false, failure: 'crash', message: `could not start connector \`${this.name}\`: ${describe(err)}${this.stderrHint()}` };
    }
    const abort = new AbortController();
    this.inflight.add(abort);
    try {
      const result = await send(client, { timeout: opts.timeoutMs, signal: abort.signal });
      this.failures = 0;
      return result;
    } catch (err) {
      const reason: unknown = abort.signal.reason;
      const protocolFault = abort.signal.aborted && reason instanceof ProtocolFault;
      const message = protocolFault ? reason.message : describe(err);
      // The server answered with a JSON-RPC error (an unknown resource, bad prompt arguments): its own refusal.
      if (!protocolFault && err instanceof McpError && err.code !== ErrorCode.RequestTimeout && err.code !== ErrorCode.ConnectionClosed) {
        return { ok: false, failure: 'tool-error', message: `${what}: ${message}` };
      }
      const failure: 'timeout' | 'crash' | 'protocol' = protocolFault
        ? 'protocol'
        : /timed? ?out/i.test(message)
          ? 'timeout'
          : /closed|EPIPE|exited|not connected/i.test(message)
            ? 'crash'
            : 'protocol';
      this.noteFault();
      await this.discard();
      return { ok: false, failure, message: `connector \`${this.name}\` ${failure}: ${message}${this.stderrHint()}` };
    } finally {
      this.inflight.delete(abort);
    }
  }

  async call(
    tool: string,
    args: { readonly [k: string]: Json },
    opts: { timeoutMs: number },
  ): Promise<ConnectorResult> {
    return this.request(`tool \`${tool}\``, opts, async (client, options) => {
      const res = await client.callTool({ name: tool, arguments: args as Record<string, unknown> }, undefined, options);
      const text = Array.isArray(res.content)
        ? res.content
            .map((c: { type: string; text?: string }) => (c.type === 'text' ? (c.text ?? '') : ''))
            .join('\n')
        : '';
      if (res.isError) return { ok: false, failure: 'tool-error', message: text || 'the tool reported an error' };
      const structured = (res.structuredContent ?? parseJsonOr(text)) as Json;
      return { ok: true, content: structured, text };
    });
  }

  async readResource(uri: string, opts: { timeoutMs: number }): Promise<ConnectorResult> {
    return this.request(`resource \`${uri}\``, opts, async (client, options) => {
      const res = await client.readResource({ uri }, options);
      const contents = res.contents.map((c) => ({ ...c })) as unknown as Json;
      const text = res.contents.map((c) => ('text' in c && typeof c.text === 'string' ? c.text : '')).join('\n');
      return { ok: true, content: { contents } as Json, text };
    });
  }

  async getPrompt(name: string, args: Readonly<Record<string, string>>, opts: { timeoutMs: number }): Promise<ConnectorResult> {
    return this.request(`prompt \`${name}\``, opts, async (client, options) => {
      const res = await client.getPrompt({ name, arguments: { ...args } }, options);
      const text = res.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')).join('\n');
      return {
        ok: true,
        content: { ...(res.description ? { description: res.description } : {}), messages: res.messages as unknown as Json } as Json,
        text,
      };
    });
  }

  async listResources(): Promise<readonly UpstreamResource[]> {
    const client = await this.connect();
    const out: UpstreamResource[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listResources(cursor ? { cursor } : undefined);
      for (const r of page.resources) {
        out.push({ uri: r.uri, name: r.name, description: r.description ?? '', ...(r.mimeType ? { mimeType: r.mimeType } : {}) });
      }
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  async listTools(): Promise<readonly UpstreamTool[]> {
    const client = await this.connect();
    const out: UpstreamTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined);
      for (const t of page.tools) {
        out.push({
          name: t.name,
          description: t.description ?? '',
          inputSchema: t.inputSchema as Json,
          ...(t.annotations ? { annotations: t.annotations as JsonObject } : {}),
          ...(t.outputSchema ? { outputSchema: t.outputSchema as Json } : {}),
        });
      }
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  async close(): Promise<void> {
    await this.discard();
  }

  private stderrHint(): string {
    // Enough lines to keep an error followed by its hint and usage text (the error comes first).
    const tail = this.stderrTail
      .trim()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-8)
      .map((l) => l.trim())
      .join(' | ')
      .slice(-1000);
    return tail ? ` (server stderr: ${tail})` : '';
  }
}

/** The server broke the protocol (e.g. a non-JSON line on stdout); carried as an abort reason. */
class ProtocolFault extends Error {
  constructor(detail: string) {
    super(`the server broke the MCP protocol: ${detail}`);
    this.name = 'ProtocolFault';
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseJsonOr(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}
