// Spans exported over OTLP/HTTP (JSON) to a collector the test runs on loopback, with the configured
// header read from its environment variable; content capture redacts, and no secret ever leaves:
// a key planted in a tool's arguments and the header's own value never appear in what was exported.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing } from '../../src/telemetry/tracing.js';
import { loadWorkspace } from '../../src/config/load.js';
import { openHostile, type Hostile } from '../security/harness.js';
import { copyAcme } from '../helpers/workspace.js';

const HEADER_SECRET = 'collector-Token-planted-7f3a91';
const PLANTED_KEY = 'sk-live-PLANTEDkey0123456789abcdef';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
}
interface OtlpSpan {
  readonly name: string;
  readonly traceId: string;
  readonly attributes: { key: string; value: { stringValue?: string; intValue?: string; arrayValue?: { values: { stringValue?: string }[] } } }[];
}

describe('OTLP/HTTP export', () => {
  let collector: Server;
  let url: string;
  const received: Received[] = [];
  let raw = '';

  beforeAll(async () => {
    collector = createServer((req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (text += c));
      req.on('end', () => {
        raw += text;
        received.push({ headers: req.headers, body: JSON.parse(text) as Received['body'] });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => collector.close(() => resolve()));
  });

  it('sends the run spans as JSON with the header, redacts captured content, and never exports a secret', async () => {
    process.env['AIRLOCK_TEST_OTLP_KEY'] = HEADER_SECRET;
    let h: Hostile | undefined;
    try {
      h = await openHostile((dir) => {
        const file = path.join(dir, 'airlock.yaml');
        const doc = YAML.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        doc['telemetry'] = { otlp: { endpoint: url, headers: { 'x-collector-key': { env: 'AIRLOCK_TEST_OTLP_KEY' } } }, capture: { content: 'redacted', maxClassification: 'restricted' } };
        writeFileSync(file, YAML.stringify(doc));
      });
      const t = h.a.workspace.file.telemetry;
      const tracing = startTracing({ otlp: t.otlp, store: h.a.store });
      try {
        const run = await h.run([
          { tool: 'mail.send', args: { to: 'finance@acme.example', subject: 'refund', body: `use key ${PLANTED_KEY} and ${HEADER_SECRET}` } },
          { tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' } },
        ]);
        expect(run.status).not.toBe('failed');
      } finally {
        await tracing.shutdown();
      }
      expect(received.length).toBeGreaterThan(0);
      expect(received[0]?.headers['content-type']).toBe('application/json');
      expect(received[0]?.headers['x-collector-key']).toBe(HEADER_SECRET);

      const spans = received.flatMap((r) => r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)));
      const attr = (s: OtlpSpan | undefined, key: string) => s?.attributes.find((a) => a.key === key)?.value;
      const names = spans.map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(['invoke_agent refund-desk', 'execute_tool mail.send', 'decide mail.send', 'tools/call get_ticket']));
      const mail = spans.find((s) => s.name === 'execute_tool mail.send');
      expect(attr(mail, 'airlock.decision')?.stringValue).toMatch(/^(allow|approval|deny)$/);
      // Captured, redacted: the arguments are there, the key is not.
      const args = attr(mail, 'gen_ai.tool.call.arguments')?.stringValue ?? '';
      expect(args).toContain('finance@acme.example');
      expect(args).toContain('[redacted]');
      // The MCP client span, per the MCP conventions.
      const client = spans.find((s) => s.name.startsWith('tools/call '));
      expect(attr(client, 'mcp.method.name')?.stringValue).toBe('tools/call');
      expect(attr(client, 'airlock.connector')?.stringValue).toBe('tickets');
      // The upstream's result, captured and redacted too (a public ticket read).
      expect(attr(spans.find((s) => s.name === 'execute_tool tickets.get_ticket'), 'gen_ai.tool.call.result')?.stringValue).toContain('T-311');
      // Secrets never: not in any exported byte.
      expect(raw).not.toContain(PLANTED_KEY);
      expect(raw).not.toContain(HEADER_SECRET);
      expect(raw).not.toContain('PLANTEDkey');
    } finally {
      delete process.env['AIRLOCK_TEST_OTLP_KEY'];
      await h?.close();
    }
  });

  it('refuses a header whose environment variable is not set, naming it', () => {
    expect(() => startTracing({ otlp: { endpoint: url, headers: { authorization: { env: 'AIRLOCK_TEST_UNSET_VAR' } } }, env: {} })).toThrow(
      /telemetry\.otlp\.headers\.authorization: the environment variable `AIRLOCK_TEST_UNSET_VAR` is not set/,
    );
  });
});

describe('telemetry config', () => {
  let ws: ReturnType<typeof copyAcme>;
  beforeAll(() => {
    ws = copyAcme();
  });
  afterAll(() => ws.cleanup());

  it('names the file, line and field of a bad endpoint or capture mode', async () => {
    const file = path.join(ws.dir, 'airlock.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, `${text.trimEnd()}\ntelemetry:\n  otlp:\n    endpoint: ftp://collector\n  capture:\n    content: everything\n`);
    const err = await loadWorkspace(ws.dir).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/telemetry\.otlp\.endpoint|telemetry\.capture\.content/);
    expect(`${err?.message} ${JSON.stringify(err)}`).toMatch(/airlock\.yaml:\d+/);
  });
});
