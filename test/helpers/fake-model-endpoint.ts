// A model provider's endpoint on loopback, for adapter tests: answers from a queue of replies
// (or functions of the request), keeps every request it got with its headers and JSON body.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

/** A request as the endpoint got it: its headers and its JSON body (shape left to each test). */
export interface Seen {
  readonly auth: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly path: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}
export type Answer = { status: number; body: unknown; headers?: Record<string, string> } | { status: number; sse: readonly string[] };
export type Reply = Answer | ((seen: Seen) => Answer | Promise<Answer>);

/** Server-sent events: each `[event, data]` as the stream carries it (`event` null: a data-only line, as OpenAI sends them). */
export function sse(events: readonly (readonly [string | null, unknown])[]): readonly string[] {
  return events.map(([event, data]) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

export class FakeEndpoint {
  readonly seen: Seen[] = [];
  readonly replies: Reply[] = [];
  /** What answers when no reply is queued (a 500 saying so, unless set). */
  otherwise: Reply | null = null;
  url = '';
  private readonly server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', async () => {
      const seen: Seen = { auth: req.headers.authorization, headers: req.headers, path: req.url ?? '', body: text ? JSON.parse(text) : null };
      this.seen.push(seen);
      const next = this.replies.shift() ?? this.otherwise ?? { status: 500, body: { error: { message: 'no reply queued' } } };
      const r = typeof next === 'function' ? await next(seen) : next;
      if ('sse' in r) {
        res.writeHead(r.status, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        for (const chunk of r.sse) res.write(chunk);
        res.end();
        return;
      }
      res.writeHead(r.status, { 'content-type': 'application/json', ...(r.headers ?? {}) });
      res.end(JSON.stringify(r.body));
    });
  });

  /** `suffix` is appended to the base URL (`/v1` for OpenAI-style clients, none for Anthropic's). */
  constructor(private readonly suffix = '') {}

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.suffix}`;
  }

  reset(): void {
    this.seen.length = 0;
    this.replies.length = 0;
    this.otherwise = null;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** `endpoint`, started before the suite's tests and stopped after them. */
export function startedForSuite(endpoint: FakeEndpoint): FakeEndpoint {
  beforeAll(() => endpoint.start());
  afterAll(() => endpoint.stop());
  return endpoint;
}
