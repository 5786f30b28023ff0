// Several Airlock instances on one store under load (#15): each instance (bench/multi-instance-worker.ts)
// serves the HTTP API and starts scripted refund-desk runs; scripted people decide every approval over
// the API of a random live instance; one instance is SIGKILLed mid-load. Then the crash harness's
// checks (bench/crash.ts): every run ended or marked for review, no effect twice (Acme's rows and
// idempotency keys), no effect without its write-ahead intent, and the audit chain verifies.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openAirlock } from '../src/airlock.js';
import { seededRandom } from '../src/util/random.js';
import { AIRLOCK_ROOT } from '../src/util/package-root.js';
import type { Json, RunStatus } from '../src/types.js';
import { checkCrashWorkspace, serveSystems, workspaceYaml, type CrashChecks } from './crash.js';
import { UNENDED } from './crash-worker.js';
import { acmeCopy, editWorkspaceYaml } from './workspace.js';
import { checkStoreCheckpoints } from '../src/audit/checkpoints.js';
import { latestWitnessed } from '../src/audit/witness.js';

/** The compiled worker (`npx tsc -p tsconfig.build.json` builds it). */
export const MULTI_INSTANCE_WORKER_JS = path.join(AIRLOCK_ROOT, 'dist', 'bench', 'multi-instance-worker.js');

export interface MultiInstanceOptions {
  /** Instances on the one store. */
  readonly instances: number;
  /** Runs each instance starts, and how many at once. */
  readonly runsPerInstance: number;
  readonly concurrency: number;
  /** SIGKILL one instance once this many approvals were decided (and it is driving a run); null: no kill. */
  readonly killAfterDecisions: number | null;
  /** Approvals decided at once. */
  readonly approvers: number;
  /** Seeds which instance is killed and which instance each request goes to. */
  readonly seed: number;
  /** The instances' lease and housekeeping period (how soon a dead instance's runs are taken over). */
  readonly leaseMs: number;
  readonly housekeepingMs: number;
  /** PostgreSQL (`AIRLOCK_STORE_URL` for every instance); absent: the embedded store, one file shared. */
  readonly storeUrl?: string;
  /** Gives up waiting for the runs to end once nothing moved (no run started or ended, no vote counted) for this long. */
  readonly stallMs: number;
  readonly log?: (line: string) => void;
}

export const DEFAULT_MULTI_INSTANCE_OPTIONS: MultiInstanceOptions = {
  instances: 3,
  runsPerInstance: 10,
  concurrency: 4,
  killAfterDecisions: 8,
  approvers: 4,
  seed: 1,
  leaseMs: 3000,
  housekeepingMs: 250,
  stallMs: 60_000,
};

/** What one harness run saw. */
export interface MultiInstanceReport {
  readonly instances: number;
  readonly store: 'postgres' | 'embedded';
  /** The instance SIGKILLed (its index), how many decisions were in by then, and the runs it was starting or holding. */
  readonly killed: { readonly index: number; readonly afterDecisions: number; readonly startsInFlight: number } | null;
  /** Decisions (votes) counted, per instance that took them; votes refused or lost to the kill. */
  readonly decisions: { readonly total: number; readonly perInstance: readonly number[]; readonly lost: number; readonly refused: number };
  /** Runs resumed right after a decision by an instance other than the one that started them. */
  readonly resumedElsewhere: number;
  /** Runs the housekeeping of a surviving instance took from the queue (a dead instance's, or decisions not gone on with). */
  readonly tookOver: number;
  readonly checks: CrashChecks;
  /** The trail's signed checkpoints and the last one the file witness kept, checked against the final tree. */
  readonly checkpoints: { readonly ok: boolean; readonly checked: number; readonly witnessedSize: number | null; readonly message: string | null };
  readonly seconds: number;
  /** Instances that exited other than by the harness's kill or stop, and other faults. */
  readonly errors: readonly string[];
}

type Event = { readonly ev: string; readonly [k: string]: Json };

interface Instance {
  readonly index: number;
  readonly events: Event[];
  url: string | null;
  dead: boolean;
  readonly listening: Promise<boolean>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  go(runs: readonly number[], concurrency: number): void;
  kill(signal: NodeJS.Signals): void;
}

function startInstance(index: number, dir: string, opts: MultiInstanceOptions): Instance {
  const env = { ...process.env, ...(opts.storeUrl ? { AIRLOCK_STORE_URL: opts.storeUrl } : {}) };
  const child = spawn(process.execPath, [MULTI_INSTANCE_WORKER_JS, dir, '--lease-ms', String(opts.leaseMs), '--housekeeping-ms', String(opts.housekeepingMs)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env,
  });
  let stderr = '';
  let buf = '';
  let listening!: (ok: boolean) => void;
  const inst: Instance = {
    index,
    events: [],
    url: null,
    dead: false,
    listening: new Promise((r) => (listening = r)),
    exit: new Promise((resolve) => {
      child.on('close', (code, signal) => {
        inst.dead = true;
        listening(false);
        resolve({ code, signal, stderr });
      });
    }),
    go: (runs, concurrency) => child.stdin.end(`${JSON.stringify({ runs, concurrency })}\n`),
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  child.stdin.on('error', () => undefined);
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const e = JSON.parse(line) as Event;
        inst.events.push(e);
        if (e.ev === 'listening') {
          inst.url = String(e['url']);
          listening(true);
        }
      } catch {
        stderr += `unparsed stdout: ${line}\n`;
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-6000)));
  return inst;
}

/** One HTTP call to an instance's API; null when the instance did not answer (killed). */
async function api(url: string, key: string, method: 'GET' | 'POST', route: string, body?: Json): Promise<{ status: number; json: Record<string, Json> } | null> {
  try {
    const res = await fetch(`${url}/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, json: (await res.json()) as Record<string, Json> };
  } catch {
    return null;
  }
}

/** The file witness every instance appends its checkpoints to (relative to the workspace). */
const WITNESS_FILE = 'witness.jsonl';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs the harness: `instances` processes on one store, their runs' approvals decided over the API of
 * random live instances, one instance SIGKILLed mid-load; waits until every run has ended, stops the
 * survivors, and checks the workspace.
 */
export async function runMultiInstance(opts: MultiInstanceOptions): Promise<MultiInstanceReport> {
  const t0 = Date.now();
  const random = seededRandom(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const { dir, acmeDb, cleanup } = acmeCopy('multi');
  // PostgreSQL for this process too (the watcher, the checks), as for the instances.
  const before = process.env['AIRLOCK_STORE_URL'];
  const restoreEnv = (): void => {
    if (before === undefined) delete process.env['AIRLOCK_STORE_URL'];
    else process.env['AIRLOCK_STORE_URL'] = before;
  };
  if (opts.storeUrl) process.env['AIRLOCK_STORE_URL'] = opts.storeUrl;
  else delete process.env['AIRLOCK_STORE_URL'];
  const systems = await serveSystems(acmeDb);
  const errors: string[] = [];
  const log = opts.log ?? (() => undefined);
  try {
    const yamlFile = path.join(dir, 'airlock.yaml');
    writeFileSync(yamlFile, workspaceYaml(readFileSync(yamlFile, 'utf8'), systems.port, null, 5000));
    // Checkpoints often, each sent to a file witness (as a second party would keep them), signed with the key every instance shares.
    editWorkspaceYaml(dir, (doc) => doc.setIn(['audit'], doc.createNode({ checkpoints: { every: 25, intervalSeconds: 1 }, witnesses: [{ file: WITNESS_FILE }] })));
    const keys = {
      priya: readFileSync(path.join(dir, 'demo-keys', 'priya.key'), 'utf8').trim(),
      dana: readFileSync(path.join(dir, 'demo-keys', 'dana.key'), 'utf8').trim(),
    };
    // The store is made (and migrated) once before the instances start together; this process reads it to see the runs end.
    const watcher = await openAirlock(dir);
    const instances = Array.from({ length: opts.instances }, (_, i) => startInstance(i, dir, opts));
    try {
      const up = await Promise.all(instances.map((i) => i.listening));
      if (!up.every(Boolean)) throw new Error(`an instance did not start: ${(await Promise.race(instances.filter((i) => i.dead).map((i) => i.exit))).stderr}`);
      log(`${opts.instances} instances listening`);
      for (const inst of instances) inst.go(Array.from({ length: opts.runsPerInstance }, (_, k) => inst.index * 1000 + k), opts.concurrency);

      const live = () => instances.filter((i) => !i.dead && i.url !== null);
      const perInstance = instances.map(() => 0);
      let decisions = 0;
      let lost = 0;
      let refused = 0;
      let resumedElsewhere = 0;
      let killed: MultiInstanceReport['killed'] = null;
      const startedBy = new Map<string, number>();
      const noteStarts = () => {
        for (const inst of instances) for (const e of inst.events) if (e.ev === 'started') startedBy.set(String(e['run']), inst.index);
      };
      const startsInFlight = (inst: Instance) => inst.events.filter((e) => e.ev === 'start').length - inst.events.filter((e) => e.ev === 'started' || e.ev === 'start-failed').length;
      const maybeKill = () => {
        if (opts.killAfterDecisions === null || killed !== null || decisions < opts.killAfterDecisions) return;
        // The victim is busy: a run of its own being driven (or a decision it is driving on), so it holds runs when it dies.
        const victim = instances[Math.floor(random() * instances.length)] as Instance;
        const busy = startsInFlight(victim);
        if (busy === 0 && decisions < opts.killAfterDecisions * 2) return;
        victim.kill('SIGKILL');
        victim.dead = true;
        killed = { index: victim.index, afterDecisions: decisions, startsInFlight: busy };
        log(`SIGKILL instance ${victim.index} after ${decisions} decisions (${busy} runs starting)`);
      };

      /**
       * Casts the votes one approval still needs, each on a random live instance: priya, then dana for step-up.
       * A vote lost to the kill may have been counted before the instance died: who has voted is read from the
       * listing, so the next round asks the next person rather than the same one again (refused: already voted).
       */
      const decide = async (approvalId: string, voted: ReadonlySet<string>): Promise<void> => {
        for (const who of ['priya', 'dana'] as const) {
          if (voted.has(`user:${who}`)) continue;
          const inst = pick(live());
          if (!inst?.url) return;
          const res = await api(inst.url, keys[who], 'POST', `/approvals/${approvalId}/approve`, { reason: 'multi-instance harness' });
          if (res === null) {
            lost++;
            return; // the instance died under it: the approval is looked at again on the next round
          }
          if (res.status !== 200) {
            refused++;
            return;
          }
          decisions++;
          perInstance[inst.index] = (perInstance[inst.index] ?? 0) + 1;
          const run = res.json['run'] as { runId: string; resumed: boolean } | undefined;
          noteStarts();
          if (run?.resumed && startedBy.has(run.runId) && startedBy.get(run.runId) !== inst.index) resumedElsewhere++;
          maybeKill();
          if (res.json['decided'] === true) return;
        }
      };

      // People at work until every run has ended (and every instance left started all it could).
      // A slow machine is given the time it needs while the runs move; a stuck run fails the harness once nothing has.
      const inFlight = new Set<string>();
      let lastProgress = -1;
      let moved = { at: Date.now(), state: '' };
      for (;;) {
        const runs = await watcher.store.listRuns({ limit: 100_000 });
        const open = runs.filter((r) => UNENDED.includes(r.status));
        const allStarted = instances.every((i) => i.dead || i.events.some((e) => e.ev === 'idle'));
        if (allStarted && open.length === 0 && inFlight.size === 0) break;
        const state = `${runs.length} ${open.length} ${decisions}`;
        if (state !== moved.state) moved = { at: Date.now(), state };
        if (Date.now() - moved.at > opts.stallMs) {
          errors.push(`nothing moved for ${opts.stallMs} ms, runs still open: ${open.map((r) => `${r.id} ${r.status}`).join(', ')}`);
          break;
        }
        if (Math.floor((Date.now() - t0) / 2000) !== lastProgress) {
          lastProgress = Math.floor((Date.now() - t0) / 2000);
          log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${runs.length} runs, ${open.length} open (${open.map((r) => r.status).join(' ')}), ${decisions} decisions`);
        }
        const inst = pick(live());
        const listed = inst?.url ? await api(inst.url, keys.priya, 'GET', '/approvals?status=pending') : null;
        const pending = listed?.status === 200 ? ((listed.json['approvals'] as { approvalId: string; votes?: { approver: string }[] }[] | undefined) ?? []) : [];
        for (const a of pending) {
          if (inFlight.has(a.approvalId) || inFlight.size >= opts.approvers) continue;
          inFlight.add(a.approvalId);
          void decide(a.approvalId, new Set((a.votes ?? []).map((v) => v.approver))).finally(() => inFlight.delete(a.approvalId));
        }
        maybeKill();
        await sleep(100);
      }
      while (inFlight.size > 0) await sleep(50);
      noteStarts();

      // The survivors stop cleanly; the killed one must have died by the kill, the others by the stop.
      for (const inst of instances) inst.kill('SIGTERM');
      const exits = await Promise.all(instances.map((i) => i.exit));
      for (const [i, x] of exits.entries()) {
        const wasKilled = killed !== null && (killed as { index: number }).index === i;
        if (wasKilled ? x.signal !== 'SIGKILL' : x.code !== 0) errors.push(`instance ${i} exited ${x.signal ?? x.code}: ${x.stderr.slice(-1500)}`);
        if (!wasKilled && x.stderr.includes('Error')) errors.push(`instance ${i} wrote errors: ${x.stderr.slice(-1500)}`);
      }
      const tookOver = new Set(instances.flatMap((i) => i.events.filter((e) => e.ev === 'took-over').flatMap((e) => e['runs'] as string[]))).size;
      for (const inst of instances) for (const e of inst.events) if (e.ev === 'took-over') for (const f of e['failed'] as string[]) errors.push(`instance ${inst.index} could not drive on ${f}`);
      for (const inst of instances) for (const e of inst.events) if (e.ev === 'start-failed') errors.push(`instance ${inst.index} could not start run ${String(e['n'])}: ${String(e['error'])}`);
      // The last witnessed checkpoint must be a prefix of the final tree, and every checkpoint kept must hold.
      await watcher.checkpoints.checkpoint();
      const witnessed = await latestWitnessed(path.join(dir, WITNESS_FILE)).catch((e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }));
      const verdict = 'error' in witnessed ? null : await checkStoreCheckpoints(watcher.store, watcher.checkpoints.verifier, [witnessed.note]);
      const checkpoints =
        verdict === null
          ? { ok: false, checked: 0, witnessedSize: null, message: (witnessed as { error: string }).error }
          : verdict.ok
            ? { ok: verdict.witnessed !== null, checked: verdict.checked, witnessedSize: verdict.witnessed?.size ?? null, message: verdict.witnessed ? null : 'no witnessed checkpoint was checked' }
            : { ok: false, checked: 0, witnessedSize: null, message: `${verdict.problem}: ${verdict.message}` };
      await watcher.close();
      const checks = await checkCrashWorkspace(dir);
      return {
        instances: opts.instances,
        store: opts.storeUrl ? 'postgres' : 'embedded',
        killed,
        decisions: { total: decisions, perInstance, lost, refused },
        resumedElsewhere,
        tookOver,
        checks,
        checkpoints,
        seconds: (Date.now() - t0) / 1000,
        errors,
      };
    } finally {
      for (const inst of instances) inst.kill('SIGKILL');
      await Promise.all(instances.map((i) => i.exit));
      await watcher.close().catch(() => undefined);
    }
  } finally {
    await systems.close();
    cleanup();
    restoreEnv();
  }
}

/** The report in a few lines (failure messages, the bench's notes). */
export function multiInstanceSummary(r: MultiInstanceReport): string {
  const c = r.checks;
  const by = Object.entries(c.byStatus)
    .map(([s, n]) => `${n} ${s as RunStatus}`)
    .join(', ');
  return [
    `${r.instances} instances on the ${r.store} store, ${r.seconds.toFixed(1)} s`,
    `killed: ${r.killed ? `instance ${r.killed.index} after ${r.killed.afterDecisions} decisions (${r.killed.startsInFlight} runs starting)` : 'none'}`,
    `decisions: ${r.decisions.total} (per instance ${r.decisions.perInstance.join('/')}; ${r.decisions.lost} lost to the kill, ${r.decisions.refused} refused)`,
    `runs: ${c.runs} (${by}); ${c.markedForReview} marked for review; ${r.resumedElsewhere} resumed by another instance than their own after a decision; ${r.tookOver} taken over from the queue`,
    `effects: ${c.effects.refunds} refunds, ${c.effects.comments} comments; duplicated ${c.duplicatedEffects}, audit gaps ${c.auditGaps}, unreviewed unknown outcomes ${c.unreviewedUnknownOutcomes}; verify ${c.verify.ok ? 'ok' : (c.verify.message ?? 'failed')}`,
    `checkpoints: ${r.checkpoints.ok ? `${r.checkpoints.checked} hold; the last witnessed (${r.checkpoints.witnessedSize ?? '?'} records) is consistent with the final tree` : `FAILED ${r.checkpoints.message ?? ''}`}`,
    ...c.problems,
    ...r.errors,
  ].join('\n');
}
