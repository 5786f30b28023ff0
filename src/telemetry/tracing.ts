// OpenTelemetry setup: one tracer provider per process. Spans go to the store (kept locally for the
// console, no collector needed), to a collector over OTLP/HTTP when configured, to the console, or to
// memory (tests). Each export path has its own processor: batched for the store and the collector.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { createRequire } from 'node:module';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { AirlockError } from '../errors.js';
import type { Store } from '../store/store.js';
import { OTEL } from './attributes.js';
import { LocalSpanExporter } from './local-exporter.js';

/** A started tracing setup; `shutdown` flushes every exporter and unregisters it. */
export interface Tracing {
  readonly exporter: SpanExporter;
  /** The in-memory exporter, when spans are kept in memory (tests). */
  readonly memory?: InMemorySpanExporter;
  /** Exports what has ended so far (the store, the collector). */
  flush(): Promise<void>;
  /** Stops writing spans to the store (one that just refused a write, locked by another process): they are dropped, not waited on. */
  dropLocal(): void;
  shutdown(): Promise<void>;
}

/** Where spans go (`telemetry` in airlock.yaml gives `console` and `otlp`). */
export interface TracingOptions {
  readonly console?: boolean;
  readonly memory?: boolean;
  /** A collector's OTLP/HTTP traces URL; header values are read from the environment variables named. */
  readonly otlp?: { readonly endpoint: string; readonly headers?: Readonly<Record<string, { readonly env: string }>>; readonly timeoutMs?: number } | undefined;
  /** Keeps spans in this store (bounded), for `spansForRun`. */
  readonly store?: Pick<Store, 'appendSpans'> | undefined;
  /** For header environment variables (tests pass their own). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Registers a global tracer provider so Airlock's spans (run, model call, tool call, decision, wait
 * for a person; names per the OpenTelemetry GenAI and MCP conventions) are exported. `'console'` and
 * `'memory'` are the one-exporter shorthands.
 */
export function startTracing(target: 'console' | 'memory' | TracingOptions): Tracing {
  const opts: TracingOptions = target === 'console' ? { console: true } : target === 'memory' ? { memory: true } : target;
  const processors: SpanProcessor[] = [];
  const exporters: SpanExporter[] = [];
  const memory = opts.memory ? new InMemorySpanExporter() : undefined;
  if (memory) {
    processors.push(new SimpleSpanProcessor(memory));
    exporters.push(memory);
  }
  if (opts.console) {
    const c = new ConsoleSpanExporter();
    processors.push(new SimpleSpanProcessor(c));
    exporters.push(c);
  }
  let local: LocalSpanExporter | undefined;
  if (opts.store) {
    local = new LocalSpanExporter(opts.store);
    processors.push(new BatchSpanProcessor(local, { scheduledDelayMillis: 1000 }));
    exporters.push(local);
  }
  if (opts.otlp) {
    // Loaded only when a collector is configured: every CLI command starts tracing, few export.
    const { OTLPTraceExporter: Otlp } = createRequire(import.meta.url)('@opentelemetry/exporter-trace-otlp-http') as { OTLPTraceExporter: typeof OTLPTraceExporter };
    const otlp = new Otlp({ url: opts.otlp.endpoint, headers: otlpHeaders(opts.otlp.headers ?? {}, opts.env ?? process.env), timeoutMillis: opts.otlp.timeoutMs ?? 10_000 });
    processors.push(new BatchSpanProcessor(otlp));
    exporters.push(otlp);
  }
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ [OTEL.serviceName]: 'airlock' }), spanProcessors: processors });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return {
    exporter: exporters[0] ?? new InMemorySpanExporter(),
    ...(memory ? { memory } : {}),
    flush: () => provider.forceFlush(),
    dropLocal: () => local?.drop(),
    async shutdown() {
      // Telemetry never fails the work it watched: an export that fails on the way out is given up.
      await provider.shutdown().catch(() => undefined);
      trace.disable();
      context.disable();
    },
  };
}

/** The collector's headers, each read from its environment variable; a missing one is a config error naming it. */
function otlpHeaders(headers: Readonly<Record<string, { readonly env: string }>>, env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, ref] of Object.entries(headers)) {
    const value = env[ref.env];
    if (value === undefined || value === '') {
      throw new AirlockError('config', `telemetry.otlp.headers.${name}: the environment variable \`${ref.env}\` is not set`, {
        hint: `set ${ref.env}, or remove the header from airlock.yaml`,
      });
    }
    out[name] = value;
  }
  return out;
}
