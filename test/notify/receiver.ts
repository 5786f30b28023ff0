// Test helper: a real webhook receiver on loopback (node:http, port 0) that records every request and answers as told.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiver saw it: path, headers and the raw body. */
export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** How the receiver answers one request: a status (with an optional Location), or never. */
export type Answer = { readonly status: number; readonly location?: string; readonly text?: string } | 'hang';

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly received: Received[];
  /** Answers, in order; when they run out, `fallback`. */
  answers: Answer[];
  fallback: Answer;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 with an ephemeral port. */
export async function startReceiver(fallback: Answer = { status: 200 }): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const r: Receiver = {
    origin: '',
    received: [],
    answers: [],
    fallback,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = r.answers.shift() ?? r.fallback;
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(answer.status, answer.location === undefined ? {} : { location: answer.location });
      res.end(answer.text ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (r as { origin: string }).origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return r;
}
