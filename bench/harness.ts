// Benchmark helpers: timing loops, percentiles and the shared result shape every bench module returns.

/** One measured scenario. `metrics` are numbers only; `unit` says what they count. */
export interface BenchResult {
  readonly suite: string;
  readonly name: string;
  readonly metrics: Readonly<Record<string, number>>;
  /** Free-form notes (target, what was compared), printed under the table. */
  readonly notes?: readonly string[];
}

/** A bench module's entry point. */
export type BenchSuite = () => Promise<readonly BenchResult[]>;

/** Percentile (0..100) of an ascending-sorted array, nearest-rank. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Runs `fn` `iterations` times (after `warmup` runs) and returns per-call latencies in microseconds. */
export async function timeCalls(
  fn: () => unknown,
  iterations: number,
  warmup = Math.min(1000, iterations),
): Promise<{ p50: number; p99: number; mean: number; samples: number }> {
  for (let i = 0; i < warmup; i++) await fn();
  const lat = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    const r = fn();
    if (r instanceof Promise) await r;
    lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const sorted = Array.from(lat).sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean, samples: iterations };
}
