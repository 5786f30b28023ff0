// Store writes on or off the event loop: durable write throughput, and how long the main thread stalls meanwhile, for the writer thread vs inline writes, side by side.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { AuditDraft, RunRecord, Store } from '../src/store/store.js';
import type { Json, RunId } from '../src/types.js';
import { benchDraft } from './audit.js';
import { percentile, sized, type BenchOptions, type BenchResult, type BenchSuite } from './harness.js';

const SUITE = 'store-writes';
const MODES = ['inline', 'thread'] as const;
type Mode = (typeof MODES)[number];

/** One load: concurrent callers, and the main-thread CPU each governed call spends besides its writes (µs). */
interface Load {
  readonly callers: number;
  readonly cpuUs: number;
}

/** Load window per measurement (ms), the loads, rounds (modes alternate; medians reported). */
interface WritesSize {
  readonly ms: number;
  readonly loads: readonly Load[];
  readonly rounds: number;
}

// 1,000 µs: about what Airlock's door process spends per governed call (bench/doors.ts, cpu_per_call_us).
const FULL: WritesSize = {
  ms: 3000,
  loads: [
    { callers: 1, cpuUs: 0 },
    { callers: 8, cpuUs: 0 },
    { callers: 64, cpuUs: 0 },
    { callers: 8, cpuUs: 1000 },
    { callers: 64, cpuUs: 1000 },
  ],
  rounds: 3,
};
const SMOKE: WritesSize = { ms: 150, loads: [{ callers: 4, cpuUs: 0 }, { callers: 4, cpuUs: 200 }], rounds: 1 };

/** The probe: a 2 ms timer, then a read of one run, over and over, beside the load. */
const PROBE_MS = 2;

/** One measurement window. */
interface Sample {
  readonly 'calls/s': number;
  readonly 'records/s': number;
  readonly 'loop delay p50 ms': number;
  readonly 'loop delay p99 ms': number;
  readonly 'loop delay max ms': number;
  readonly 'timer late p50 ms': number;
  readonly 'timer late p99 ms': number;
  readonly 'read p50 ms': number;
  readonly 'read p99 ms': number;
  readonly 'main thread busy %': number;
}

/** A run's state about the size of an external session's (a bounded history of steps). */
function state(step: number): Json {
  return {
    door: 'mcp',
    step,
    history: Array.from({ length: 12 }, (_, i) => ({ step: step - i, tool: 'orders.get_order', outcome: 'ok', argsHash: 'ab'.repeat(32) })),
  };
}

function runRecord(id: string, version: number): RunRecord {
  return { id: id as RunId, workflow: 'bench', status: 'running', version, createdAt: '2025-01-01T00:00:00.000Z', updatedAt: new Date(version).toISOString(), state: state(version) };
}

/** Keeps this thread busy for `us` microseconds (a call's own work: HTTP, MCP, policy, JSON). */
function burn(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
}

/**
 * `callers` concurrent sessions, each doing what a governed call writes: the write-ahead intent
 * (an append), then the outcome with its run save (one group-committed item), awaited in turn, with
 * `cpuUs` of other work on this thread split around them. Beside them the probe measures how late a
 * timer fires and how long an unrelated read takes from the moment it was due. `callers` 0: the
 * probe alone (the reference).
 */
async function measure(store: Store, { callers, cpuUs }: Load, ms: number): Promise<Sample> {
  const runs = Array.from({ length: Math.max(1, callers) }, (_, c) => `run_bench_${c}`);
  for (const id of runs) await store.createRun(runRecord(id, 1));
  const versions = runs.map(() => 1);
  let calls = 0;
  let i = 0;
  const caller = async (c: number, until: number): Promise<void> => {
    const runId = runs[c] as string;
    while (performance.now() < until) {
      burn(cpuUs / 2);
      const intent: AuditDraft = { ...benchDraft(i++), runId, type: 'action.intent' };
      await store.appendAudit([intent]);
      burn(cpuUs / 2);
      const v = (versions[c] as number) + 1;
      await store.saveRunWithAudit(runRecord(runId, v), [{ ...benchDraft(i++), runId, type: 'action.executed' }]);
      versions[c] = v;
      calls += 1;
    }
  };
  // Warm-up (statement caches, JIT, the thread's first commits), not measured.
  await Promise.all(Array.from({ length: callers }, (_, c) => caller(c, performance.now() + Math.min(200, ms / 2))));
  calls = 0;

  const late: number[] = [];
  const reads: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const end = t0 + ms;
  loop.enable();
  const probe = async (): Promise<void> => {
    while (performance.now() < end) {
      const due = performance.now() + PROBE_MS;
      await sleep(PROBE_MS);
      late.push(Math.max(0, performance.now() - due));
      await store.getRun(runs[0] as RunId);
      reads.push(Math.max(0, performance.now() - due));
    }
  };
  await Promise.all([probe(), ...Array.from({ length: callers }, (_, c) => caller(c, end))]);
  const seconds = (performance.now() - t0) / 1000;
  loop.disable();
  const elu = performance.eventLoopUtilization(elu0);
  late.sort((a, b) => a - b);
  reads.sort((a, b) => a - b);
  return {
    'calls/s': calls / seconds,
    'records/s': (2 * calls) / seconds,
    'loop delay p50 ms': loop.percentile(50) / 1e6,
    'loop delay p99 ms': loop.percentile(99) / 1e6,
    'loop delay max ms': loop.max / 1e6,
    'timer late p50 ms': percentile(late, 50),
    'timer late p99 ms': percentile(late, 99),
    'read p50 ms': percentile(reads, 50),
    'read p99 ms': percentile(reads, 99),
    'main thread busy %': elu.utilization * 100,
  };
}

/** The median of each metric over the rounds. */
function medians(samples: readonly Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(samples[0] ?? {}) as (keyof Sample)[]) {
    const vs = samples.map((s) => s[k]).sort((a, b) => a - b);
    out[k] = percentile(vs, 50);
  }
  return out;
}

/** Inline writes vs the writer thread, under the same load, alternating which goes first each round. */
export const run: BenchSuite = async (opts?: BenchOptions) => {
  const size = sized(opts, FULL, SMOKE);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-writes-'));
  let n = 0;
  const once = async (mode: Mode, load: Load): Promise<Sample> => {
    const store = await openSqliteStore(path.join(dir, `s${++n}.db`), { writer: mode });
    try {
      return await measure(store, load, size.ms);
    } finally {
      await store.close();
    }
  };
  try {
    const results: BenchResult[] = [];
    const reference: Sample[] = [];
    for (let r = 0; r < size.rounds; r++) reference.push(await once('inline', { callers: 0, cpuUs: 0 }));
    results.push({ suite: SUITE, name: 'no writes (the probe alone)', metrics: medians(reference) });
    for (const load of size.loads) {
      const samples: Record<Mode, Sample[]> = { inline: [], thread: [] };
      for (let r = 0; r < size.rounds; r++) {
        for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) samples[mode].push(await once(mode, load));
      }
      const what = `${load.callers} caller${load.callers === 1 ? '' : 's'}${load.cpuUs ? `, ${load.cpuUs} µs CPU a call` : ''}`;
      for (const mode of MODES) {
        results.push({ suite: SUITE, name: `${what}, ${mode === 'thread' ? 'writer thread' : 'inline writes'}`, metrics: medians(samples[mode]) });
      }
    }
    const last = results[results.length - 1] as BenchResult;
    results[results.length - 1] = {
      ...last,
      notes: [
        `each caller makes governed calls: append an intent, then save its run with the outcome record (durable: WAL, synchronous=FULL), with the CPU named (a busy loop on this thread) split around them; ${size.ms} ms a window, median of ${size.rounds}`,
        `probe: a ${PROBE_MS} ms timer then one getRun, in a loop; "timer late" is how late the timer fired, "read" the time from when it was due to the read's answer`,
        'loop delay: perf_hooks.monitorEventLoopDelay (1 ms resolution); main thread busy: event loop utilization over the window',
      ],
    };
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
