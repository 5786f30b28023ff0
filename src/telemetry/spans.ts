// One way to wrap work in an active span (errors mark the span, the span always ends), W3C trace
// context in and out (`traceparent`: stored with a run, carried in MCP `_meta`), and spans recorded
// after the fact (a wait for a person, which may outlive the process that began it).
import { context, isSpanContextValid, ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span, type SpanContext } from '@opentelemetry/api';

/** Airlock's tracer, looked up on each use: a tracer kept from before tracing restarted in this process would still point at the old provider. */
const tracer = () => trace.getTracer('airlock');

/** Where a span starts: under `parent` (a context, e.g. from a stored traceparent) and at `startTime` when given. */
export interface SpanStart {
  readonly parent?: Context | undefined;
  readonly startTime?: Date | undefined;
  readonly attributes?: Attributes | undefined;
}

/** Runs `fn` inside a new active span named `name`; nested spans become its children. */
export function withSpan<T>(name: string, fn: (span: Span) => Promise<T>, start: SpanStart = {}): Promise<T> {
  const opts = { ...(start.startTime ? { startTime: start.startTime } : {}), ...(start.attributes ? { attributes: start.attributes } : {}) };
  return tracer().startActiveSpan(name, opts, start.parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Records a span that already happened (from `startTime` to `endTime`) under `parent`: e.g. a wait for a person. */
export function recordSpan(name: string, span: { readonly parent?: Context | undefined; readonly startTime: Date; readonly endTime: Date; readonly attributes?: Attributes }): void {
  const s = tracer().startSpan(name, { startTime: span.startTime, ...(span.attributes ? { attributes: span.attributes } : {}) }, span.parent ?? context.active());
  s.end(span.endTime < span.startTime ? span.startTime : span.endTime);
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C `traceparent` of `span` (or of the active span), or null when there is none (tracing off). */
export function traceparentOf(span: Span | undefined = trace.getActiveSpan()): string | null {
  const sc = span?.spanContext();
  if (!sc || !isSpanContextValid(sc)) return null;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? '01' : '00'}`;
}

/** The remote span context a W3C `traceparent` names, or null for anything else (untrusted input is ignored, never thrown on). */
export function spanContextOf(traceparent: unknown): SpanContext | null {
  if (typeof traceparent !== 'string') return null;
  const m = TRACEPARENT.exec(traceparent.trim());
  if (!m) return null;
  const sc: SpanContext = { traceId: m[1] as string, spanId: m[2] as string, traceFlags: parseInt(m[3] as string, 16) & TraceFlags.SAMPLED, isRemote: true };
  return isSpanContextValid(sc) ? sc : null;
}

/** A context whose parent is the span a `traceparent` names; `fallback` (default: the active context) when it names none. */
export function contextFromTraceparent(traceparent: unknown, fallback: Context = context.active()): Context {
  const sc = spanContextOf(traceparent);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : fallback;
}

/**
 * Begins a trace for something that has no span of its own while it lasts (an external agent's run:
 * its calls arrive one request at a time): a span named `name` that ends at once, under the active
 * context. Returns its traceparent, to be stored and continued, or null when tracing is off.
 */
export function beginTrace(name: string, attributes: Attributes): string | null {
  const s = tracer().startSpan(name, { attributes });
  const tp = traceparentOf(s);
  s.end();
  return tp;
}

/** Runs `fn` under the stored trace `traceparent` unless a span is already active (a caller's own trace wins). */
export function underTrace<T>(traceparent: string | null | undefined, fn: () => Promise<T>): Promise<T> {
  const active = trace.getActiveSpan()?.spanContext();
  if (!traceparent || (active && isSpanContextValid(active))) return fn();
  return context.with(contextFromTraceparent(traceparent), fn);
}

/** The trace and span ids of the active span, for log lines; empty when tracing is off. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  if (!sc || !isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
