// Log lines correlated with traces: a pino `mixin` that adds the active span's `trace_id` and `span_id`
// (the OpenTelemetry log data model's names) to every line written inside a span.
import type { LoggerOptions } from 'pino';
import { activeTraceIds } from './spans.js';

/** `opts` with the trace-correlation mixin (kept alongside a mixin of the caller's own). */
export function withTraceIds<T extends LoggerOptions>(opts: T): T {
  const own = opts.mixin;
  return {
    ...opts,
    mixin: (merge: object, level: number, logger: unknown) => ({ ...(own ? own.call(logger as never, merge, level, logger as never) : {}), ...activeTraceIds() }),
  };
}
