// MCP over stdio with the doors' limits: one JSON-RPC message per line, each line at most
// `maxMessageBytes`. An oversized line is never held whole (its head and tail are kept to find the
// request id), is answered with an error, and the session goes on; the SDK's own stdio transport
// would buffer it and then drop the whole session. A client gone while Airlock writes to it (EPIPE) fails
// that send and later ones; it never becomes an uncaught error.
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { GuardedWriter } from '../util/write-stream.js';

/** What an oversized line is known by: its size and, when it could be found, its JSON-RPC id. */
export interface OversizedLine {
  readonly bytes: number;
  readonly id: string | number | null;
}

/** How much of an oversized line is kept to find its id (at its start and at its end). */
const EDGE_BYTES = 1024;
const NEWLINE = 0x0a;

/** A line-delimited JSON-RPC transport over two streams, bounded per message. */
export class BoundedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  /** The current line: its chunks while it fits; past the limit only its edges and its length. */
  private chunks: Buffer[] = [];
  private length = 0;
  private head: Buffer | null = null;
  private tail: Buffer = Buffer.alloc(0);
  private started = false;
  private closed = false;
  /** stdout, written with backpressure; a client gone fails the send (and every later one) instead of crashing. */
  private readonly out: GuardedWriter;
  private readonly onData = (chunk: Buffer): void => this.take(chunk);
  private readonly onError = (err: Error): void => this.onerror?.(err);
  private reported = false;

  constructor(
    private readonly opts: {
      readonly maxMessageBytes: number;
      /** Called for each line over the limit, after it ended; the caller answers and audits it. */
      readonly onOversized: (line: OversizedLine) => void;
      /** Called for a line that is not one JSON-RPC message (`parse`: not JSON; `invalid`: JSON, not a message); the caller answers. */
      readonly onUnreadable?: (kind: 'parse' | 'invalid', detail: string) => void;
    },
    private readonly stdin: Readable = process.stdin,
    stdout: Writable = process.stdout,
  ) {
    this.out = new GuardedWriter(stdout);
  }

  start(): Promise<void> {
    if (this.started) throw new Error('BoundedStdioTransport already started');
    this.started = true;
    this.stdin.on('data', this.onData);
    this.stdin.on('error', this.onError);
    return Promise.resolve();
  }

  /** Writes one message; fails, never hangs, once stdout failed or closed (the client is gone) or the transport closed. */
  async send(message: JSONRPCMessage): Promise<void> {
    const gone = this.out.failed;
    if (gone) throw new Error(`the client is gone: ${gone.message}`);
    if (this.closed) throw new Error('the transport is closed');
    try {
      await this.out.write(serializeMessage(message));
    } catch (e) {
      // Reported once: the session's owner learns the client is gone; each later send just fails.
      if (!this.reported) {
        this.reported = true;
        this.onerror?.(e instanceof Error ? e : new Error(String(e)));
        // Nobody reads the answers: the session ends (its runs end for review) rather than go on unheard.
        void this.close();
      }
      throw e;
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.chunks = [];
    this.onclose?.();
    return Promise.resolve();
  }

  /** A line that is not a message: the caller answers it (JSON-RPC wants -32700 / -32600), else it is an error event. */
  private unreadable(kind: 'parse' | 'invalid', err: unknown): void {
    if (this.opts.onUnreadable) this.opts.onUnreadable(kind, detailOf(err));
    else this.onerror?.(err instanceof Error ? err : new Error(String(err)));
  }

  private take(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(NEWLINE, from); nl !== -1; nl = chunk.indexOf(NEWLINE, from)) {
      this.add(chunk.subarray(from, nl));
      this.endLine();
      from = nl + 1;
    }
    if (from < chunk.length) this.add(chunk.subarray(from));
  }

  private add(part: Buffer): void {
    if (part.length === 0) return;
    this.length += part.length;
    if (this.head === null && this.length <= this.opts.maxMessageBytes) {
      this.chunks.push(part);
      return;
    }
    if (this.head === null) {
      // Over the limit: keep the edges only, drop what was held.
      const held = Buffer.concat([...this.chunks, part]);
      this.chunks = [];
      this.head = held.subarray(0, EDGE_BYTES);
      this.tail = Buffer.from(held.subarray(Math.max(0, held.length - EDGE_BYTES)));
      return;
    }
    this.tail = Buffer.from(Buffer.concat([this.tail, part]).subarray(-EDGE_BYTES));
  }

  private endLine(): void {
    const { length, head, tail } = this;
    const chunks = this.chunks;
    this.chunks = [];
    this.length = 0;
    this.head = null;
    this.tail = Buffer.alloc(0);
    if (head !== null) {
      this.opts.onOversized({ bytes: length, id: idFromEdges(head.toString('utf8'), tail.toString('utf8')) });
      return;
    }
    const line = Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      this.unreadable('parse', err);
      return;
    }
    let message: JSONRPCMessage;
    try {
      message = JSONRPCMessageSchema.parse(raw);
    } catch (err) {
      this.unreadable('invalid', err);
      return;
    }
    this.onmessage?.(message);
  }
}

/** What an unreadable line's error says, in a line. */
function detailOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 300) ?? '';
}

/**
 * The JSON-RPC id of an oversized message from its edges: `"id"` as the last member (how the MCP SDK
 * writes requests) at the end of the tail, or as the first (after `jsonrpc`) at the start of the
 * head. Null when neither edge shows it: the error then carries no id.
 */
function idFromEdges(head: string, tail: string): string | number | null {
  const value = String.raw`(-?\d{1,15}|"(?:[^"\\]|\\.){0,200}")`;
  const atEnd = new RegExp(String.raw`"id"\s*:\s*${value}\s*\}\s*$`).exec(tail);
  const atStart = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${value}`).exec(head);
  const raw = atEnd?.[1] ?? atStart?.[1];
  if (!raw) return null;
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : Number(raw);
}
