// Benchmark helpers: timing loops, percentiles, the shared result shape every bench module returns, and its tables.

/** One measured scenario. `metrics` are numbers only; `unit` says what they count. */
export interface BenchResult {
  readonly suite: string;
  readonly name: string;
  readonly metrics: Readonly<Record<string, number>>;
  /** Free-form notes (target, what was compared), printed under the table. */
  readonly notes?: readonly string[];
  /**
   * Properties the suite promises that did not hold (correctness, never speed: "0 failed calls",
   * "every execution has an outcome record"). `bench/run.ts` prints them and exits 1.
   */
  readonly failures?: readonly string[];
}

/**
 * How a suite runs. `smoke`: the same code path with tiny sizes (a few iterations, a few seconds),
 * which `npm test` runs so no suite rots unseen; its numbers mean nothing.
 */
export interface BenchOptions {
  readonly smoke?: boolean;
}

/** A bench module's entry point. */
export type BenchSuite = (opts?: BenchOptions) => Promise<readonly BenchResult[]>;

/** `full` in a measuring run, `smoke` in a smoke run. */
export function sized<T>(opts: BenchOptions | undefined, full: T, smoke: T): T {
  return opts?.smoke ? smoke : full;
}

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

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

/** The results as one Markdown table per suite, each followed by its notes and failures. */
export function benchTables(results: readonly BenchResult[]): string {
  const out: string[] = [];
  for (const suite of [...new Set(results.map((r) => r.suite))]) {
    out.push(`\n## ${suite}`);
    const rows = results.filter((r) => r.suite === suite);
    const cols = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
    out.push(`| scenario | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`);
    for (const r of rows) out.push(`| ${r.name} | ${cols.map((c) => (r.metrics[c] === undefined ? '' : fmt(r.metrics[c] as number))).join(' | ')} |`);
    for (const n of rows.flatMap((r) => r.notes ?? [])) out.push(`- ${n}`);
    for (const f of rows.flatMap((r) => r.failures ?? [])) out.push(`- FAILED: ${f}`);
  }
  return `${out.join('\n')}\n`;
}
