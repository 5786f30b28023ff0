// One Airlock instance of the multi-instance harness (bench/multi-instance.ts): `airlock serve`'s HTTP
// server on the shared store (port 0), plus, on the harness's go line, scripted refund-desk runs of
// its own (the crash harness's deterministic model). People decide the approvals over the HTTP API of
// any instance; this process prints one JSON line per event on stdout until SIGTERM (or SIGKILL).
import { isEntryPoint } from '../src/util/entry-point.js';
import { openAirlock } from '../src/airlock.js';
import { startHttpServer } from '../src/server/serve.js';
import type { Json } from '../src/types.js';
import { CRASH_WORKFLOW, CrashDeskModel, crashRunInput, firstStdinLine } from './crash-worker.js';

/** One event line for the harness (stdout to a pipe is synchronous: a line written is never lost to a kill). */
function emit(event: Record<string, Json>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** The first line on stdin: which runs to start (their numbers, for `crashRunInput`) and how many at once. */
function goSignal(): Promise<{ runs: number[]; concurrency: number }> {
  return firstStdinLine({ runs: [], concurrency: 1 });
}

/** The value of `--name N` in `argv`, or `fallback`. */
function numberArg(argv: readonly string[], name: string, fallback: number): number {
  const at = argv.indexOf(name);
  return at >= 0 ? Number(argv[at + 1]) : fallback;
}

/** `<workspace> [--lease-ms N] [--housekeeping-ms N]`. */
export async function main(argv: readonly string[]): Promise<void> {
  const dir = argv[0];
  if (!dir) throw new Error('usage: multi-instance-worker.js <workspace> [--lease-ms N] [--housekeeping-ms N]');
  const leaseTtlMs = numberArg(argv, '--lease-ms', 60_000);
  const housekeepingMs = numberArg(argv, '--housekeeping-ms', 15_000);
  const airlock = await openAirlock(dir, { modelFor: () => new CrashDeskModel(), leaseTtlMs });
  // What the housekeeping took over from the queue (a dead instance's runs, decisions another did not go on with).
  const driveDue = airlock.runner.driveDue.bind(airlock.runner);
  airlock.runner.driveDue = async (limit) => {
    const r = await driveDue(limit);
    if (r.driven.length > 0) emit({ ev: 'took-over', runs: [...r.driven], failed: r.failed.map((f) => `${f.runId}: ${f.error}`) });
    return r;
  };
  const server = await startHttpServer(airlock, { port: 0, housekeepingMs });
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  try {
    await Promise.all(['tickets', 'orders', 'payments'].map((c) => airlock.connectors.get(c).listTools()));
    emit({ ev: 'listening', url: server.url, instance: airlock.sessions.instance.id, pid: process.pid });
    const go = await goSignal();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < go.runs.length) {
        const n = go.runs[next++] as number;
        emit({ ev: 'start', n });
        try {
          const run = await airlock.runner.start(CRASH_WORKFLOW, crashRunInput(n));
          emit({ ev: 'started', n, run: run.id, status: run.status });
        } catch (err) {
          emit({ ev: 'start-failed', n, error: err instanceof Error ? err.message : String(err) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, go.concurrency) }, worker));
    emit({ ev: 'idle' });
    await stopped;
  } finally {
    await server.close();
    await airlock.close();
  }
  emit({ ev: 'stopped' });
}

if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`multi-instance-worker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
