// Connector to an MCP server (child processes over stdio, or sessions over Streamable HTTP): a pool of connections, dispatch to the least busy healthy one, one retry for reads.
import type { Json, JsonObject } from '../../types.js';
import type { CallOptions, Connector, ConnectorResult, UpstreamResource, UpstreamTool } from '../connector.js';
import { McpLink, type HttpLaunch, type Send, type StdioLaunch } from './mcp-link.js';
import { traceparentOf } from '../../telemetry/spans.js';

export type { HttpLaunch, StdioLaunch } from './mcp-link.js';

/**
 * A connection whose oldest call has run this long (ms) is suspect: a new call goes to another
 * connection when there is one, rather than queue behind what may be a stuck process.
 */
export const SUSPECT_AFTER_MS = 1000;

/** Options of an MCP connector. */
export interface McpConnectorOptions {
  /** How many connections (processes, or HTTP sessions) it may open; default 1. */
  readonly pool?: number;
  /** The clock (ms since epoch) for backoff and suspicion; tests pass a fake one. */
  readonly now?: () => number;
}

/**
 * One MCP server, reached through up to `pool` connections (each opened on demand). A call goes to
 * the least busy connection that is not backing off, preferring one whose oldest call has not run
 * suspiciously long and one already open. A connection that fails (crash, time-out, protocol error)
 * is given up and replaced; a call lost only because its connection was given up under it is
 * retried once on a healthy connection when the caller says it is retryable (reads); others
 * (writes) report the failure, their effect unknown.
 */
export class McpStdioConnector implements Connector {
  readonly name: string;
  private readonly links: readonly McpLink[];
  private readonly now: () => number;
  /** Counts `close()`s: a call that was in flight when the connector closed is not retried (that would start a process again). */
  private closings = 0;

  constructor(name: string, launch: StdioLaunch | HttpLaunch, opts: McpConnectorOptions = {}) {
    this.name = name;
    this.now = opts.now ?? Date.now;
    const size = Math.max(1, Math.floor(opts.pool ?? 1));
    this.links = Array.from({ length: size }, () => new McpLink(name, launch, this.now));
  }

  /** Requests in progress across its connections, for operators and tests. */
  get load(): number {
    return this.links.reduce((n, l) => n + l.load, 0);
  }

  /** The ids of the live server processes (stdio connections), for operators and tests. */
  pids(): number[] {
    return this.links.map((l) => l.pid()).filter((p): p is number => p !== null);
  }

  /** The connection a new call should use (synchronous, so concurrent calls spread out). */
  private pick(): McpLink {
    const rank = (l: McpLink): number[] => [
      l.backingOff ? 1 : 0,
      l.oldestAge() >= SUSPECT_AFTER_MS ? 1 : 0,
      l.load,
      l.started ? 0 : 1,
    ];
    let best = this.links[0] as McpLink;
    let bestRank = rank(best);
    for (const l of this.links.slice(1)) {
      const r = rank(l);
      const i = r.findIndex((x, k) => x !== bestRank[k]);
      if (i >= 0 && (r[i] as number) < (bestRank[i] as number)) [best, bestRank] = [l, r];
    }
    return best;
  }

  private async request(what: string, opts: CallOptions, send: Send): Promise<ConnectorResult> {
    const closings = this.closings;
    const first = await this.pick().attempt(what, opts.timeoutMs, send);
    if (first.result.ok || !first.lostUnder || opts.retryable !== true || closings !== this.closings) return first.result;
    // Lost under another call's fault, and safe to run again: once more, on a healthy connection.
    const second = await this.pick().attempt(what, opts.timeoutMs, send);
    if (second.result.ok) return second.result;
    return { ...second.result, message: `${second.result.message} (retried once after: ${first.result.message})` };
  }

  async call(tool: string, args: { readonly [k: string]: Json }, opts: CallOptions): Promise<ConnectorResult> {
    return this.request(`tool \`${tool}\``, opts, async (client, options) => {
      const res = await client.callTool({ name: tool, arguments: args as Record<string, unknown>, ...traceMeta() }, undefined, options);
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

  async readResource(uri: string, opts: CallOptions): Promise<ConnectorResult> {
    return this.request(`resource \`${uri}\``, opts, async (client, options) => {
      const res = await client.readResource({ uri, ...traceMeta() }, options);
      const contents = res.contents.map((c) => ({ ...c })) as unknown as Json;
      const text = res.contents.map((c) => ('text' in c && typeof c.text === 'string' ? c.text : '')).join('\n');
      return { ok: true, content: { contents } as Json, text };
    });
  }

  async getPrompt(name: string, args: Readonly<Record<string, string>>, opts: CallOptions): Promise<ConnectorResult> {
    return this.request(`prompt \`${name}\``, opts, async (client, options) => {
      const res = await client.getPrompt({ name, arguments: { ...args }, ...traceMeta() }, options);
      const text = res.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')).join('\n');
      return {
        ok: true,
        content: { ...(res.description ? { description: res.description } : {}), messages: res.messages as unknown as Json } as Json,
        text,
      };
    });
  }

  async listResources(): Promise<readonly UpstreamResource[]> {
    const client = await this.pick().client();
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
    const client = await this.pick().client();
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
    this.closings++;
    await Promise.all(this.links.map((l) => l.close()));
  }
}

function parseJsonOr(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

/** The active span's W3C trace context as MCP `_meta` (the upstream continues Airlock's trace), or nothing when tracing is off. */
function traceMeta(): { _meta?: { traceparent: string } } {
  const traceparent = traceparentOf();
  return traceparent ? { _meta: { traceparent } } : {};
}
