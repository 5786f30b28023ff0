// A span exporter into the store: spans kept locally, so the console shows a run's trace with no
// collector, and a run's trace survives a restart. The store bounds what it keeps (store/sqlite-spans.ts).
import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Json } from '../types.js';
import type { Store, StoredSpan } from '../store/store.js';
import { AIRLOCK } from './attributes.js';

type ExportResult = Parameters<SpanExporter['export']>[1] extends (r: infer R) => void ? R : never;
/** @opentelemetry/core's ExportResultCode (not a dependency of ours): 0 success, 1 failed. */
const SUCCESS = 0;
const FAILED = 1;

/** Writes ended spans to the store, one write per batch. */
export class LocalSpanExporter implements SpanExporter {
  private stopped = false;
  private dropped = false;

  constructor(private readonly store: Pick<Store, 'appendSpans'>) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.dropped) return done({ code: SUCCESS });
    if (this.stopped) return done({ code: FAILED, error: new Error('exporter stopped') });
    this.store.appendSpans(spans.map(storedSpan)).then(
      () => done({ code: SUCCESS }),
      (error: unknown) => done({ code: FAILED, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  shutdown(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  /** Drops what is exported from now on, without touching the store. */
  drop(): void {
    this.dropped = true;
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** An ended span as the store keeps it. */
export function storedSpan(s: ReadableSpan): StoredSpan {
  const ms = (t: readonly [number, number]): number => t[0] * 1000 + t[1] / 1e6;
  const attributes: Record<string, Json> = {};
  for (const [k, v] of Object.entries(s.attributes)) if (v !== undefined) attributes[k] = v as Json;
  const runId = s.attributes[AIRLOCK.runId];
  const code = s.status.code === SpanStatusCode.ERROR ? 'error' : s.status.code === SpanStatusCode.OK ? 'ok' : 'unset';
  return {
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId ?? null,
    name: s.name,
    startTime: new Date(ms(s.startTime)).toISOString(),
    endTime: new Date(ms(s.endTime)).toISOString(),
    durationMs: Math.max(0, ms(s.duration)),
    status: { code, ...(s.status.message ? { message: s.status.message } : {}) },
    attributes,
    runId: typeof runId === 'string' ? runId : null,
  };
}
