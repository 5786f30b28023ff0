// Content capture is off by default, withheld above the allowed classification, hashed or redacted
// when on, and never holds a secret; log lines written inside a span carry its trace and span ids.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ContentCapture } from '../../src/telemetry/capture.js';
import { withTraceIds } from '../../src/telemetry/logging.js';
import { startTracing } from '../../src/telemetry/tracing.js';
import { withSpan } from '../../src/telemetry/spans.js';

const KEY = 'sk-proj-Abc123def456ghi789';
const ENV_SECRET = 'a-password-only-the-env-knows';

describe('content capture', () => {
  const config = { models: { main: { apiKey: { env: 'MODEL_KEY' } } } };
  const env = { MODEL_KEY: ENV_SECRET };

  it('captures nothing unless turned on, and nothing above the allowed classification', () => {
    expect(new ContentCapture(undefined).content({ a: 1 }, 'public')).toBeNull();
    expect(new ContentCapture({ content: 'off', maxClassification: 'restricted' }).content({ a: 1 }, 'public')).toBeNull();
    const on = new ContentCapture({ content: 'redacted', maxClassification: 'internal' }, config, env);
    expect(on.content({ a: 1 }, 'internal')).toBe('{"a":1}');
    expect(on.content({ a: 1 }, 'confidential')).toBeNull();
  });

  it('redacts the workspace secrets, key-shaped strings and credential-named fields', () => {
    const c = new ContentCapture({ content: 'redacted', maxClassification: 'restricted' }, config, env);
    const text = c.content({ note: `key ${KEY}, pw ${ENV_SECRET}`, headers: { Authorization: 'Basic abc', apiKey: 'x' }, jwt: 'eyJhbGciOi.eyJzdWIiOiIx.sig' }, 'public')!;
    for (const secret of [KEY, ENV_SECRET, 'Basic abc', 'eyJhbGciOi']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
    expect(c.content('x'.repeat(10_000), 'public')!.length).toBeLessThanOrEqual(4097);
  });

  it('hashes the redacted form: the hash of content with a secret is the hash without it', () => {
    const c = new ContentCapture({ content: 'hashed', maxClassification: 'public' }, config, env);
    const hashed = c.content({ note: `pw ${ENV_SECRET}` }, 'public');
    expect(hashed).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hashed).toBe(c.content({ note: 'pw [redacted]' }, 'public'));
  });
});

describe('logs correlated with traces', () => {
  it('adds trace_id and span_id to lines written inside a span, and nothing outside', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const log = pino(withTraceIds({ level: 'info' }), sink);
    const tracing = startTracing('memory');
    try {
      log.info('outside');
      const ids = await withSpan('work', async (span) => {
        log.info('inside');
        return span.spanContext();
      });
      await new Promise((r) => setImmediate(r));
      expect(lines.find((l) => l['msg'] === 'outside')).not.toHaveProperty('trace_id');
      expect(lines.find((l) => l['msg'] === 'inside')).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
    } finally {
      await tracing.shutdown();
    }
  });
});
