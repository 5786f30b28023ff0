// The workspace's `telemetry` section (traces: console, OTLP/HTTP, content capture) and the `/metrics`
// door's optional token: shapes only (core); startTracing (telemetry/tracing.ts) reads them.
import { z } from 'zod';
import { CLASSIFICATIONS } from '../types.js';

const envRef = z.strictObject({ env: z.string().min(1).describe('The environment variable that holds the value (never the value itself).') });

/** Where spans go besides the store: an OpenTelemetry collector over OTLP/HTTP (JSON). */
export const otlpSchema = z.strictObject({
  endpoint: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL such as `http://127.0.0.1:4318/v1/traces`' })
    .describe('The collector\'s OTLP/HTTP traces URL, with its path (e.g. `http://127.0.0.1:4318/v1/traces`).'),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]+$/, 'expected an HTTP header name'), envRef)
    .default({})
    .describe('Headers sent with each export (an API key, say), each read from an environment variable: `{ Authorization: { env: OTLP_AUTH } }`.'),
  timeoutMs: z.number().int().positive().max(60_000).default(10_000).describe('How long one export may take before it is abandoned.'),
});

/** What of prompts and results spans may hold. Off by default; secrets never. */
export const captureSchema = z.strictObject({
  content: z
    .enum(['off', 'hashed', 'redacted'])
    .default('off')
    .describe('Prompts, tool arguments and results on spans: `off` (default), `hashed` (SHA-256 only) or `redacted` (text with secrets taken out, bounded).'),
  maxClassification: z
    .enum(CLASSIFICATIONS)
    .default('internal')
    .describe('The most sensitive run classification whose content may be captured; above it content is withheld whatever `content` says.'),
});

/** The `telemetry` section. */
export const telemetrySchema = z.strictObject({
  console: z.boolean().default(false).describe('Print each span to stdout as it ends (development).'),
  otlp: otlpSchema.optional().describe('Export spans over OTLP/HTTP (JSON) to a collector, batched. Spans are also kept in the store for the console either way.'),
  capture: captureSchema.default({ content: 'off', maxClassification: 'internal' }).describe('Content capture on spans: off unless set; secrets are never captured.'),
});

/** `server.metrics`: who may read `/metrics`. */
export const metricsDoorSchema = z.strictObject({
  token: envRef
    .optional()
    .describe('A bearer token `/metrics` requires, read from an environment variable. Without one, `/metrics` answers only requests from loopback.'),
});
