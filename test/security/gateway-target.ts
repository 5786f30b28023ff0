// A served private copy of examples/mcp-gateway (real filesystem and memory MCP servers) with API
// keys and chosen limits, and a hostile client's toolkit: raw JSON-RPC, ground-truth snapshots, the audit trail.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import type { AuditRecord } from '../../src/store/store.js';
import type { ApprovalId } from '../../src/types.js';

const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/mcp-gateway');
export const AGENT = 'agent:desktop-agent';

export interface Limits {
  readonly maxRequestBytes: number;
  readonly callsPerMinute: number;
  readonly concurrentCallsPerRun: number;
  readonly openRunsPerPrincipal?: number;
}

/** A served private copy of the example, with API keys and the given limits, and a hostile toolkit. */
export class Target {
  readonly dir: string;
  readonly keys: Record<'agent' | 'alex', string>;
  airlock!: Airlock;
  server!: RunningServer;
  private readonly clients: Client[] = [];

  constructor(limits: Limits) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-adversary-'));
    cpSync(EXAMPLE, this.dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}.airlock`) });
    const agent = generateApiKey();
    const alex = generateApiKey();
    this.keys = { agent: agent.key, alex: alex.key };
    const file = path.join(this.dir, 'airlock.yaml');
    const original = readFileSync(file, 'utf8');
    const text = original
      .replace(
        /^ {2}apiKeys: \[\]$/m,
        [
          '  apiKeys:',
          `    - { id: laptop, principal: "${AGENT}", sha256: "${agent.sha256}" }`,
          `    - { id: alex-key, principal: "user:alex", sha256: "${alex.sha256}" }`,
        ].join('\n'),
      )
      .replace(
        /^ {4}maxRequestBytes: \d+\n {4}callsPerMinute: \d+\n {4}concurrentCallsPerRun: \d+$/m,
        `    maxRequestBytes: ${limits.maxRequestBytes}\n    callsPerMinute: ${limits.callsPerMinute}\n    concurrentCallsPerRun: ${limits.concurrentCallsPerRun}` +
          (limits.openRunsPerPrincipal ? `\n    openRunsPerPrincipal: ${limits.openRunsPerPrincipal}` : ''),
      );
    if (!text.includes(agent.sha256) || !text.includes(`callsPerMinute: ${limits.callsPerMinute}\n`)) {
      throw new Error('examples/mcp-gateway/airlock.yaml changed shape: cannot add keys and limits');
    }
    writeFileSync(file, text);
    // Something outside the shared folder worth stealing, and two symlinks in it that point out.
    writeFileSync(path.join(this.dir, 'secret.txt'), 'TOP SECRET: the launch codes\n');
    symlinkSync('../secret.txt', path.join(this.dir, 'data', 'escape.txt'));
    symlinkSync(this.dir, path.join(this.dir, 'data', 'outside'));
  }

  async start(): Promise<void> {
    this.airlock = await openAirlock(this.dir);
    this.server = await startHttpServer(this.airlock, { host: '127.0.0.1', port: 0 });
  }

  async stop(): Promise<void> {
    for (const c of this.clients) await c.close().catch(() => undefined);
    await this.server?.close();
    await this.airlock?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The official SDK client with a bearer key (and whatever else a hostile client adds). */
  async connect(key: string, opts: { headers?: Record<string, string>; name?: string } = {}): Promise<Client> {
    const client = new Client({ name: opts.name ?? 'hostile-client', version: '6.6.6' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${this.server.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${key}`, ...(opts.headers ?? {}) } },
      }),
    );
    this.clients.push(client);
    return client;
  }

  /** A raw JSON-RPC POST into `client`'s session (or a new one when `client` is null). */
  async raw(client: Client | null, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: { error?: { code: number; message: string } } }> {
    const res = await this.rawText(client, JSON.stringify(body), headers);
    return { status: res.status, json: res.body ? (JSON.parse(res.body) as { error?: { code: number; message: string } }) : {} };
  }

  /** A raw POST of JSON text into `client`'s session: the answer's status, content type and text, whatever they are. */
  async rawText(client: Client | null, text: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string }> {
    const t = client?.transport as StreamableHTTPClientTransport | undefined;
    const res = await fetch(`${this.server.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${this.keys.agent}`,
        ...(t?.sessionId ? { 'mcp-session-id': t.sessionId, 'mcp-protocol-version': t.protocolVersion ?? '2025-06-18' } : {}),
        ...headers,
      },
      body: text,
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  }

  data(rel: string): string {
    return path.join(this.dir, 'data', rel);
  }

  /** Ground truth: every file under data/ (symlinks as their target), the secret, and the memory graph's file. */
  snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (abs: string, rel: string): void => {
      for (const e of readdirSync(abs, { withFileTypes: true })) {
        const p = path.join(abs, e.name);
        const r = rel ? `${rel}/${e.name}` : e.name;
        const st = lstatSync(p);
        if (st.isSymbolicLink()) out[`data/${r}`] = `-> ${readlinkSync(p)}`;
        else if (st.isDirectory()) walk(p, r);
        else out[`data/${r}`] = readFileSync(p, 'utf8');
      }
    };
    walk(path.join(this.dir, 'data'), '');
    out['secret.txt'] = readFileSync(path.join(this.dir, 'secret.txt'), 'utf8');
    out['airlock.yaml'] = readFileSync(path.join(this.dir, 'airlock.yaml'), 'utf8');
    const memory = path.join(this.dir, '.airlock', 'memory.jsonl');
    out['memory'] = existsSync(memory) ? readFileSync(memory, 'utf8') : '';
    return out;
  }

  /** The memory server's entities, read straight from its JSONL file. */
  memoryEntities(): string[] {
    return this.snapshot()
      ['memory']!.split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { type: string; name?: string })
      .filter((r) => r.type === 'entity')
      .map((r) => r.name ?? '');
  }

  /** The audit sequence number reached so far. */
  async mark(): Promise<number> {
    return (await this.airlock.store.readAudit(1, 1_000_000)).length;
  }

  async since(mark: number): Promise<readonly AuditRecord[]> {
    return this.airlock.store.readAudit(mark + 1, 1_000_000);
  }
}

export function textOf(r: unknown): string {
  return (((r as { content?: unknown }).content ?? []) as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
}

export function statusOf(r: unknown): string | undefined {
  return (r as { structuredContent?: { airlock?: { status?: string } } }).structuredContent?.airlock?.status;
}

export function approvalOf(r: unknown): ApprovalId {
  return (r as { structuredContent: { airlock: { approvalId: ApprovalId } } }).structuredContent.airlock.approvalId;
}

