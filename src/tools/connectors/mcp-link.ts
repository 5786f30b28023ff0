// One connection to an MCP server (a child process over stdio, or a Streamable HTTP session): its start, the calls in flight, faults and restart backoff.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ConnectorResult } from '../connector.js';
import { fetchWithOwnSignal } from './fetch-signal.js';
import type { ResolvedHeaders } from './headers.js';

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

/** Sends one request on a started client, with the timeout and abort signal the link chose. */
export type Send = (client: Client, options: { timeout: number; signal: AbortSignal }) => Promise<ConnectorResult>;

/** What one attempt on a link produced. */
export interface Attempt {
  readonly result: ConnectorResult;
  /**
   * The connection was lost under this call and the call is not its presumed cause: another call's
   * time-out discarded it, or it crashed or broke the protocol while an older call was running
   * (the call that has run longest is presumed to be the cause). Such a call may be retried elsewhere.
   */
  readonly lostUnder: boolean;
}

/** A started process (or session) and the calls in flight on it, with their start times. */
interface Live {
  readonly client: Client;
  readonly transport: Transport;
  readonly inflight: Map<AbortController, number>;
  /** Set once, when the connection is given up: why, and which call is presumed to have caused it. */
  lost: { readonly cause: AbortController | null } | null;
}

/** Why a call was aborted by the link; carried as the abort reason. */
class LinkFault extends Error {
  constructor(
    message: string,
    readonly failure: 'crash' | 'protocol',
  ) {
    super(message);
    this.name = 'LinkFault';
  }
}

/**
 * One MCP connection, opened lazily on the first request. After a crash, a time-out or a protocol
 * error it is given up at once: every other call in flight on it fails immediately (not at its own
 * time-out) and the next request opens a fresh one, with a growing pause after repeated faults.
 */
export class McpLink {
  private live: Live | null = null;
  private starting: Promise<Live> | null = null;
  /** When each request in progress started (including those waiting for the connection to open). */
  private readonly requests = new Map<object, number>();
  /** The current process's last stderr output (reset for each new process). */
  private stderrTail = '';
  /** Settles when the last given-up connection has been closed. */
  private closing: Promise<void> = Promise.resolve();
  /** Connections lost in a row (start failures, crashes, time-outs, protocol errors); a success resets it. */
  private failures = 0;
  /** No restart before this time (ms since epoch): a crashing server is not restarted in a tight loop. */
  private retryAt = 0;

  constructor(
    private readonly name: string,
    private readonly launch: StdioLaunch | HttpLaunch,
    private readonly now: () => number,
  ) {}

  /** Requests in progress on this link. */
  get load(): number {
    return this.requests.size;
  }

  /** How long (ms) the oldest request in progress has been running; 0 when none. */
  oldestAge(): number {
    let oldest = Infinity;
    for (const t of this.requests.values()) oldest = Math.min(oldest, t);
    return oldest === Infinity ? 0 : this.now() - oldest;
  }

  /** True while a request would wait for the restart backoff instead of being sent. */
  get backingOff(): boolean {
    return this.live === null && this.starting === null && this.retryAt > this.now();
  }

  /** True when a process (or session) is open. */
  get started(): boolean {
    return this.live !== null;
  }

  /** The id of the live server process (stdio), or null. */
  pid(): number | null {
    const t = this.live?.transport;
    return t instanceof StdioClientTransport ? t.pid : null;
  }

  /** The live client, opening the connection when needed (for listings: no backoff, errors thrown). */
  async client(): Promise<Client> {
    return (await this.connect()).client;
  }

  private async connect(): Promise<Live> {
    if (this.live) return this.live;
    if (this.starting) return this.starting;
    this.starting = this.open();
    try {
      return await this.starting;
    } finally {
      this.starting = null;
    }
  }

  private async open(): Promise<Live> {
    this.stderrTail = '';
    const launch = this.launch;
    let transport: Transport;
    if ('url' in launch) {
      const headers = launch.headers();
      if (!headers.ok) throw new Error(headers.message);
      transport = new StreamableHTTPClientTransport(new URL(launch.url), {
        requestInit: { headers: headers.headers, redirect: 'error' },
        fetch: fetchWithOwnSignal(),
      });
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
    const live: Live = { client, transport, inflight: new Map(), lost: null };
    client.onclose = () => {
      if (this.live === live) this.live = null;
    };
    // A server that writes something other than JSON-RPC on stdout is broken: the SDK reports the
    // unparseable line here and would otherwise leave the call waiting until its timeout.
    client.onerror = (err: Error) => {
      // Over HTTP, errors of the optional event stream are not faults of the calls in flight.
      if (this.live !== live || 'url' in launch) return;
      void this.giveUp(live, null, new LinkFault(`the server broke the MCP protocol: ${describe(err)}`, 'protocol'));
    };
    try {
      await client.connect(transport, { timeout: 15_000 });
    } catch (err) {
      await transport.close().catch(() => undefined);
      throw err;
    }
    this.live = live;
    return live;
  }

  /**
   * Gives the connection up (once): counts one fault, aborts every call in flight on it except
   * `culprit` with `fault` (so they fail now, not at their own time-out) and closes it. The cause
   * is `culprit` when given (the call that timed out), else the call that has run longest.
   */
  private async giveUp(live: Live, culprit: AbortController | null, fault: LinkFault): Promise<void> {
    if (live.lost === null) {
      let cause = culprit;
      if (cause === null) {
        let oldest = Infinity;
        for (const [c, t] of live.inflight) {
          if (t < oldest) [oldest, cause] = [t, c];
        }
      }
      live.lost = { cause };
      this.noteFault();
      for (const c of live.inflight.keys()) if (c !== culprit) c.abort(fault);
      if (this.live === live) this.live = null;
      this.closing = live.client.close().catch(() => undefined);
    }
    await this.closing;
  }

  /**
   * Counts a fault and sets when the next restart may happen: the first restart is immediate, then
   * 250 ms, 500 ms, 1 s ... up to 30 s between attempts.
   */
  private noteFault(): void {
    this.failures++;
    const delay = this.failures <= 1 ? 0 : Math.min(30_000, 250 * 2 ** (this.failures - 2));
    this.retryAt = this.now() + delay;
  }

  /**
   * Runs one request on this link with its fault handling: backoff before a restart, a timeout,
   * faults failing every call on the connection at once, and the connection given up after any fault.
   */
  async attempt(what: string, timeoutMs: number, send: Send): Promise<Attempt> {
    const token = {};
    this.requests.set(token, this.now());
    try {
      return await this.run(what, timeoutMs, send);
    } finally {
      this.requests.delete(token);
    }
  }

  private async run(what: string, timeoutMs: number, send: Send): Promise<Attempt> {
    const wait = this.live || this.starting ? 0 : this.retryAt - this.now();
    if (wait > 0) {
      const message = `connector \`${this.name}\` failed ${this.failures} times in a row; next restart in ${wait} ms${this.stderrHint()}`;
      return { result: { ok: false, failure: 'crash', message }, lostUnder: false };
    }
    let live: Live;
    try {
      live = await this.connect();
    } catch (err) {
      this.noteFault();
      const message = `could not start connector \`${this.name}\`: ${describe(err)}${this.stderrHint()}`;
      return { result: { ok: false, failure: 'crash', message }, lostUnder: false };
    }
    const abort = new AbortController();
    live.inflight.set(abort, this.now());
    try {
      const result = await send(live.client, { timeout: timeoutMs, signal: abort.signal });
      this.failures = 0;
      return { result, lostUnder: false };
    } catch (err) {
      const reason: unknown = abort.signal.reason;
      const fault = abort.signal.aborted && reason instanceof LinkFault ? reason : null;
      // The server answered with a JSON-RPC error (an unknown resource, bad prompt arguments): its own refusal.
      if (!fault && err instanceof McpError && err.code !== ErrorCode.RequestTimeout && err.code !== ErrorCode.ConnectionClosed) {
        return { result: { ok: false, failure: 'tool-error', message: `${what}: ${describe(err)}` }, lostUnder: false };
      }
      const message = fault ? fault.message : describe(err);
      const failure: 'timeout' | 'crash' | 'protocol' = fault ? fault.failure : /timed? ?out/i.test(message) ? 'timeout' : /closed|EPIPE|exited|not connected/i.test(message) ? 'crash' : 'protocol';
      // A closed connection failed every call on it: the oldest is presumed the cause. Any other
      // error (a time-out, a result that does not parse) is this call's own.
      const closed = !fault && err instanceof McpError && err.code === ErrorCode.ConnectionClosed;
      const lost = new LinkFault(`the connection was given up after another call on it failed (${failure}): ${message}`, 'crash');
      const closing = this.giveUp(live, closed ? null : abort, lost);
      const lostUnder = live.lost?.cause !== abort;
      // The cause waits for its connection to be closed; calls lost under it go on at once (to a retry).
      if (!lostUnder) await closing;
      else void closing;
      return { result: { ok: false, failure, message: `connector \`${this.name}\` ${failure}: ${message}${this.stderrHint()}` }, lostUnder };
    } finally {
      live.inflight.delete(abort);
    }
  }

  /** Closes the connection (the next request opens a fresh one); calls in flight fail, no fault is counted. */
  async close(): Promise<void> {
    const live = this.live;
    this.live = null;
    if (live) {
      live.lost ??= { cause: null };
      this.closing = live.client.close().catch(() => undefined);
    }
    await this.closing;
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

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
