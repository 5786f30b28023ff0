// The hostile client of the hostile-load bench: an authenticated caller sending issue #9's attacks over raw HTTP
// (deep arguments, lone surrogates, `__proto__` keys, JSON-RPC batches, initialize floods, oversized bodies), and a
// tally of how each attack was answered.
import http from 'node:http';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { MAX_JSON_DEPTH } from '../src/util/json.js';

/** How many of each attack one round sends. */
export interface HostileSize {
  /** Calls per argument attack (each cycles through its variants). */
  readonly calls: number;
  /** `tools/call` messages in one batch, and batches per round. */
  readonly batchSize: number;
  readonly batches: number;
  /** `initialize` requests per round, and how many are in flight at once. */
  readonly initializes: number;
  readonly initializeConcurrency: number;
  /** Oversized bodies per round. */
  readonly oversized: number;
}

/** How one attack's requests were answered: a count per answer (`413 rpc -32013`, `200 tool error`, ...). */
export type Tally = Map<string, number>;

/** What a request got back, or the transport error. */
interface Answer {
  readonly status: number;
  readonly text: string;
  /** The `mcp-session-id` the server set (an `initialize` that opened a session). */
  readonly sid: string | null;
}

/** Nesting `depth` levels deep as JSON text (`{"a":{"a":...1...}}`), built as text: no recursion anywhere on this side. */
export function nestedJson(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/**
 * The answer in a word or three: `<status> ok` (executed, or a session opened), `<status> tool error` (the tool
 * result says isError), `<status> rpc <code>` (a JSON-RPC error), `<status> error (<issue code>)` (the JSON API),
 * a batch as the count of each, or `network error`.
 */
export function classify(a: Answer | Error): string {
  if (a instanceof Error) return 'network error';
  let body: unknown;
  try {
    body = a.text.trim() === '' ? undefined : JSON.parse(a.text);
  } catch {
    return `${a.status} not JSON`;
  }
  const one = (m: unknown): string => {
    if (typeof m !== 'object' || m === null) return 'empty';
    const o = m as { error?: unknown; result?: { isError?: boolean } };
    if (o.error !== undefined) {
      const code = typeof o.error === 'object' && o.error !== null ? (o.error as { code?: unknown }).code : undefined;
      if (typeof code === 'number') return `rpc ${code}`;
      // The JSON API's error body: `{ error, hint?, issues?: [{ path, code, message }] }`.
      const issue = (m as { issues?: { code?: unknown }[] }).issues?.[0]?.code;
      return typeof issue === 'string' ? `error (${issue})` : 'error';
    }
    if (o.result !== undefined) return o.result.isError ? 'tool error' : 'ok';
    return 'other';
  };
  if (body === undefined) return `${a.status} empty`;
  if (Array.isArray(body)) {
    const counts = new Map<string, number>();
    for (const m of body) counts.set(one(m), (counts.get(one(m)) ?? 0) + 1);
    return `${a.status} batch [${[...counts].map(([k, n]) => `${n}× ${k}`).join(', ')}]`;
  }
  return `${a.status} ${one(body)}`;
}

/**
 * A raw client of Airlock's HTTP doors: the caller chooses every byte of the body. It has its own keep-alive
 * connections (node:http, its own agent), as a separate client would: nothing it does reaches another client's sockets.
 */
export class RawDoor {
  private nextId = 1;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  constructor(
    private readonly base: string,
    private readonly key: string,
  ) {}

  /** POSTs `body` (JSON text, sent as it is) to `path`; the answer, or the error the request failed with. */
  post(path: string, body: string, sid?: string): Promise<Answer | Error> {
    return new Promise((resolve) => {
      const req = http.request(
        `${this.base}${path}`,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            accept: 'application/json, text/event-stream',
            authorization: `Bearer ${this.key}`,
            ...(sid ? { 'mcp-session-id': sid, 'mcp-protocol-version': LATEST_PROTOCOL_VERSION } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => resolve(err));
          res.on('end', () => {
            const header = res.headers['mcp-session-id'];
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), sid: typeof header === 'string' ? header : null });
          });
        },
      );
      req.on('error', (err) => resolve(err));
      req.end(body);
    });
  }

  /** Closes its connections. */
  close(): void {
    this.agent.destroy();
  }

  /** An `initialize` request (a new session: Airlock opens a run for it); the session id when one was opened. */
  async initialize(): Promise<{ answer: Answer | Error; sid: string | null }> {
    const answer = await this.post(
      '/mcp',
      JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'intruder', version: '6.6.6' } } }),
    );
    return { answer, sid: answer instanceof Error ? null : answer.sid };
  }

  /** A session ready for calls (initialize, then the `initialized` notification). */
  async session(): Promise<string> {
    const { answer, sid } = await this.initialize();
    if (!sid) throw new Error(`the hostile client could not open a session: ${answer instanceof Error ? answer.message : `${answer.status} ${answer.text.slice(0, 200)}`}`);
    await this.post('/mcp', JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), sid);
    return sid;
  }

  /** A `ping` message. */
  ping(): string {
    return `{"jsonrpc":"2.0","id":${this.nextId++},"method":"ping"}`;
  }

  /** A `tools/call` message with `args` given as JSON text. */
  toolCall(tool: string, args: string): string {
    return `{"jsonrpc":"2.0","id":${this.nextId++},"method":"tools/call","params":{"name":${JSON.stringify(tool)},"arguments":${args}}}`;
  }
}

/** Argument variants, as JSON text: what a hostile caller puts in `arguments` (or in a JSON API body's `arguments`). */
export const HOSTILE_ARGUMENTS: Readonly<Record<string, readonly string[]>> = {
  // Issue #9: 5,000 levels; and around the limits (the gateway's MAX_JSON_DEPTH, the doors' envelope above it).
  'deep arguments (5,000 levels)': [`{"text":"hostile deep","meta":${nestedJson(5000)}}`],
  [`deep arguments (${MAX_JSON_DEPTH + 2} levels: past the gateway's limit)`]: [`{"text":"hostile deep","meta":${nestedJson(MAX_JSON_DEPTH + 1)}}`],
  [`deep arguments (${MAX_JSON_DEPTH - 2} levels: within every limit)`]: [`{"text":"hostile deep","meta":${nestedJson(MAX_JSON_DEPTH - 3)}}`],
  'lone surrogates (a value, a key)': [`{"text":"hostile \\ud800 lone"}`, `{"text":"hostile","meta":{"\\udc00":1}}`],
  '`__proto__` keys (arguments, nested)': [`{"text":"hostile","__proto__":{"polluted":true}}`, `{"text":"hostile","meta":{"__proto__":{"isAdmin":true}}}`],
};

/** One round of every attack through the MCP door and the JSON API; each request's answer lands in `tallies`. */
export async function hostileRound(door: RawDoor, size: HostileSize, maxRequestBytes: number, tallies: Map<string, Tally>): Promise<void> {
  const count = (attack: string, a: Answer | Error): void => {
    const t = tallies.get(attack) ?? new Map<string, number>();
    const k = classify(a);
    t.set(k, (t.get(k) ?? 0) + 1);
    tallies.set(attack, t);
  };
  const sid = await door.session();
  for (const [name, variants] of Object.entries(HOSTILE_ARGUMENTS)) {
    for (let i = 0; i < size.calls; i++) {
      const args = variants[i % variants.length] as string;
      count(`MCP: ${name}`, await door.post('/mcp', door.toolCall('note.write', args), sid));
      count(`JSON API: ${name}`, await door.post('/v1/actions', `{"tool":"note.write","arguments":${args}}`));
    }
  }
  // Valid calls, many in one JSON-RPC batch.
  for (let b = 0; b < size.batches; b++) {
    const calls = Array.from({ length: size.batchSize }, (_, i) => door.toolCall('note.write', JSON.stringify({ text: `hostile batch ${b}.${i}` })));
    count(`MCP: a JSON-RPC batch of ${size.batchSize} tools/call`, await door.post('/mcp', `[${calls.join(',')}]`, sid));
  }
  // A body one byte over the limit; then a plain ping from the same client (its pool reuses the connection).
  for (let i = 0; i < size.oversized; i++) {
    const text = 'x'.repeat(maxRequestBytes + 1);
    count('MCP: an oversized body (limit + 1 byte)', await door.post('/mcp', door.toolCall('note.write', JSON.stringify({ text })), sid));
    count('MCP: the same client\'s next request (a ping) after its oversized body', await door.post('/mcp', door.ping(), sid));
  }
  // Sessions opened and abandoned: each initialize opens a run.
  let left = size.initializes;
  await Promise.all(
    Array.from({ length: size.initializeConcurrency }, async () => {
      while (left > 0) {
        left--;
        count(`MCP: ${size.initializes} initialize requests (${size.initializeConcurrency} at once, never closed)`, (await door.initialize()).answer);
      }
    }),
  );
}
