// OpenTelemetry setup: one tracer provider per process, spans to the console or to memory (tests).
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/** A started tracing setup; `shutdown` flushes and unregisters it. */
export interface Tracing {
  readonly exporter: SpanExporter;
  shutdown(): Promise<void>;
}

/**
 * Registers a global tracer provider so Airlock's spans (run, model call, tool call, named per
 * the OpenTelemetry GenAI conventions) are exported: to the console, or kept in memory.
 */
export function startTracing(target: 'console' | 'memory'): Tracing & { memory?: InMemorySpanExporter } {
  const exporter = target === 'console' ? new ConsoleSpanExporter() : new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'airlock' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  return {
    exporter,
    ...(exporter instanceof InMemorySpanExporter ? { memory: exporter } : {}),
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
    },
  };
}
