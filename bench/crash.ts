// Crash safety: SIGKILLs the crash worker (bench/crash-worker.ts) at random points of many refund-desk
// runs, restarts it, and then checks the run states, Acme's ground truth and the audit trail.
import { isEntryPoint } from '../src/util/entry-point.js';
import { seededRandom } from '../src/util/random.js';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { openAirlock } from '../src/airlock.js';
import { verifyStore } from '../src/audit/log.js';
import { openAcmeDb, snapshotAcme } from '../src/demo/acme/db.js';
import { ACME_SEED } from '../src/demo/acme/seed.js';
import { ACME_SYSTEMS, createAcmeServer, FaultyTransport, parseFault, type AcmeSystem, type Fault } from '../src/demo/acme/server.js';
import type { RunState } from '../src/orchestration/run-machine.js';
import type { AuditRecord } from '../src/store/store.js';
import type { Json, RunStatus, Sha256Hex } from '../src/types.js';
import { AIRLOCK_ROOT } from '../src/util/package-root.js';
import { sized, type BenchOptions, type BenchResult } from './harness.js';
import { acmeCopy } from './workspace.js';

/** The compiled worker the harness spawns (`npx tsc -p tsconfig.build.json` builds it). */
export const CRASH_WORKER_JS = path.join(AIRLOCK_ROOT, 'dist', 'bench', 'crash-worker.js');

/** Tools whose contract carries an idempotency key in the Acme workspace, and the result field naming the row they made. */
const KEYED_EFFECTS = {
  'payments.refund': { table: 'refunds', idField: 'refund_id' },
  'tickets.comment': { table: 'ticket_comments', idField: 'comment_id' },
} as const;

/** Faults a worker may run under (the demo's ACME_FAULT): the write runs and commits, its answer never comes. */
const FAULTS: readonly { readonly connector: AcmeSystem; readonly fault: Fault }[] = [
  { connector: 'payments', fault: { tool: 'payments.refund', mode: 'hang-after' } },
  { connector: 'tickets', fault: { tool: 'tickets.comment', mode: 'hang-after' } },
  { connector: 'tickets', fault: { tool: 'tickets.set_status', mode: 'hang-after' } },
];

/** The Acme systems (each a connector of the same name in examples/acme/airlock.yaml). */
const SYSTEMS = Object.keys(ACME_SYSTEMS) as AcmeSystem[];

export interface CrashOptions {
  /** How many times the worker is killed. */
  readonly kills: number;
  /** Seeds the kill plan (when and how each kill is timed, which lives run with a fault). */
  readonly seed: number;
  /**
   * `http`: the Acme systems run in the harness's process over Streamable HTTP and outlive each kill,
   * as real systems outlive a crashed Airlock. `stdio`: the demo as shipped, one child process per
   * system, which dies with the worker (and starts again with the next one).
   */
  readonly systems: 'http' | 'stdio';
  /** Kills timed from the worker's go (recovery starts) land this many ms later, uniformly. */
  readonly windowMs: readonly [number, number];
  /** Share of kills that hit a fresh worker during startup instead (opening the workspace, starting connectors). */
  readonly startupShare: number;
  /**
   * Share of kills timed from the worker's first approval vote instead (0 to `voteWindowMs` later):
   * they land while the approved refund is consumed, executed, verified and the run goes on.
   */
  readonly afterVoteShare: number;
  readonly voteWindowMs: number;
  /**
   * Share of kills the worker does to itself right after its k-th durable step (a store commit or a
   * connector call that returned; k uniform in 1..`maxStep`): the windows between two writes that a
   * timer almost never hits.
   */
  readonly stepShare: number;
  readonly maxStep: number;
  /** About one worker in `faultEvery` runs with a hang-after fault on one write tool (0: never). */
  readonly faultEvery: number;
  /** The faulted connector's time-out: a kill usually lands before it fires. */
  readonly faultTimeoutMs: number;
  /** Progress lines (stderr in the CLI); absent: quiet. */
  readonly log?: (line: string) => void;
  /** Keep the workspace folder for inspection instead of deleting it. */
  readonly keep?: boolean;
}

/** Defaults for the benchmark (`CRASH_KILLS`, `CRASH_SEED`, `CRASH_SYSTEMS` override). */
export const DEFAULT_CRASH_OPTIONS: CrashOptions = {
  kills: 200,
  seed: 1,
  systems: 'http',
  windowMs: [0, 1500],
  startupShare: 0.1,
  afterVoteShare: 0.15,
  voteWindowMs: 150,
  stepShare: 0.35,
  maxStep: 150,
  faultEvery: 8,
  faultTimeoutMs: 5000,
};

/** What the checks found in the workspace after the last recovery. */
export interface CrashChecks {
  readonly runs: number;
  readonly byStatus: Readonly<Partial<Record<RunStatus, number>>>;
  /** Runs still queued, running or awaiting approval: must be 0. */
  readonly unended: number;
  /** `failed` because a call was in flight when the process died ("interrupted during ..."). */
  readonly markedForReview: number;
  /** Of those marked for review: no intent was written at the interrupted step, so nothing had reached the gateway. */
  readonly reviewWithoutIntent: number;
  /** `failed` for another reason (the model gave up after a connector fault). */
  readonly failedOther: number;
  /** Refunds and comments the runs made (rows in Acme), and executed `tickets.set_status` calls. */
  readonly effects: { readonly refunds: number; readonly comments: number; readonly statusChanges: number };
  /** Effects done twice: a row two keys point at, a key with two rows, two effects of one (run, tool) or one (run, step). */
  readonly duplicatedEffects: number;
  /** Effects without their write-ahead record: a row no key points at, a key no intent carries, an intent later than its effect, an execution without an intent. */
  readonly auditGaps: number;
  /** Effects whose outcome Airlock never recorded (the process died after the call): each must be in a run marked for review. */
  readonly unknownOutcomes: number;
  /** Unknown outcomes in a run that did not end failed: must be 0. */
  readonly unreviewedUnknownOutcomes: number;
  /** Run and approval lifecycle records missing from the trail: each state change commits with its record, so all 0. */
  readonly lifecycleGaps: { readonly runFinished: number; readonly approvalDecided: number; readonly approvalConsumed: number; readonly orphanRunStarted: number };
  /** Pending approvals of runs that already ended (requested just before a kill; they expire unused). */
  readonly danglingApprovals: number;
  readonly auditRecords: number;
  readonly verify: { readonly ok: boolean; readonly message: string | null };
  /** One line per problem found, for failure messages. */
  readonly problems: readonly string[];
}

/** The whole result of one harness run. */
export interface CrashReport {
  readonly seed: number;
  readonly systems: CrashOptions['systems'];
  readonly kills: number;
  /** Where the kills landed, judged from what the worker printed and what the next one found unfinished. */
  readonly killsLanded: Readonly<Record<string, number>>;
  readonly workers: number;
  readonly faultedWorkers: number;
  /** Runs a worker found unfinished and resumed (distinct), and how often that happened. */
  readonly runsResumed: number;
  readonly resumes: number;
  /** Worker exits that were not the harness's kill (an exception in the worker): must be none. */
  readonly workerErrors: readonly string[];
  readonly checks: CrashChecks;
  readonly seconds: number;
  /** The workspace, when kept. */
  readonly dir: string | null;
}


/** A private copy of examples/acme with its own store and Acme database reset to the seed. */
export function crashWorkspace(): { dir: string; acmeDb: string } {
  const { dir, acmeDb } = acmeCopy('crash');
  return { dir, acmeDb };
}

/** A fault a worker may run under. */
export type FaultSpec = (typeof FAULTS)[number];

/**
 * The workspace's airlock.yaml for one worker: with `port`, every Acme connector points at the
 * harness's HTTP systems; with `fault`, the faulted connector times out after `faultTimeoutMs` and
 * its server runs the fault (ACME_FAULT for stdio, a header the HTTP systems read).
 */
export function workspaceYaml(original: string, port: number | null, fault: FaultSpec | null, faultTimeoutMs: number): string {
  let text = original;
  for (const name of SYSTEMS) {
    const block = new RegExp(`^ {2}${name}:\\n {4}kind: mcp-stdio\\n {4}command: .*\\n {4}args: .*\\n`, 'm');
    const m = block.exec(text);
    if (!m) throw new Error(`connector \`${name}\` not found in the Acme airlock.yaml`);
    const faulted = fault?.connector === name ? fault.fault : null;
    const timeout = faulted ? `    timeoutMs: ${faultTimeoutMs}\n` : '';
    const spec = faulted ? `${faulted.tool}:${faulted.mode}` : '';
    if (port !== null) {
      const headers = faulted ? `    headers: { ${FAULT_HEADER}: "${spec}" }\n` : '';
      text = text.replace(block, `  ${name}:\n    kind: mcp-http\n    url: "http://127.0.0.1:${port}/${name}"\n${timeout}${headers}`);
    } else if (faulted) {
      text = text.replace(block, `${m[0]}${timeout}    env: { ACME_FAULT: "${spec}" }\n`);
    }
  }
  return text;
}

/** The header that carries a worker's fault to the HTTP systems (its value is an ACME_FAULT). */
const FAULT_HEADER = 'x-acme-fault';

/** The Acme systems served over Streamable HTTP from this process, one session per connector process. */
export interface HttpSystems {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves the Acme systems over Streamable HTTP from this process (they outlive any Airlock process killed). */
export async function serveSystems(acmeDb: string): Promise<HttpSystems> {
  const db = openAcmeDb(acmeDb);
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const server = http.createServer((req, res) => {
    const system = (req.url ?? '/').slice(1);
    const fail = (e: unknown): void => {
      if (!res.headersSent) res.writeHead(500).end(String(e));
    };
    if (!Object.hasOwn(ACME_SYSTEMS, system)) {
      res.writeHead(404).end();
      return;
    }
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const live = sessions.get(sid);
      if (live) live.handleRequest(req, res).catch(fail);
      else res.writeHead(404).end();
      return;
    }
    // A new session (initialize): the fault, if any, is the one its worker's config names.
    const inner: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (id) => void sessions.set(id, inner),
      onsessionclosed: (id) => void sessions.delete(id),
    });
    const header = req.headers[FAULT_HEADER];
    const fault = typeof header === 'string' ? parseFault(header) : undefined;
    const transport = fault ? new FaultyTransport(inner, fault, system as AcmeSystem, () => undefined) : inner;
    createAcmeServer(system as AcmeSystem, db)
      .connect(transport)
      .then(() => inner.handleRequest(req, res))
      .catch(fail);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the Acme HTTP systems have no port');
  return {
    port: address.port,
    close: async () => {
      for (const t of sessions.values()) await t.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      db.close();
    },
  };
}

/** One event line of the worker. */
type WorkerEvent = { readonly ev: string; readonly [k: string]: Json };

/** A worker process as the harness drives it. */
interface Worker {
  readonly events: WorkerEvent[];
  /** Settles when the worker has opened the workspace (true) or exited first (false): its config is read. */
  readonly ready: Promise<boolean>;
  /** Settles when the connectors are up (true) or the worker exited first (false). */
  readonly warm: Promise<boolean>;
  /** Milliseconds from spawn to `warm`, once known. */
  warmMs: number | null;
  /** Tells a standby worker to start recovering (how many new runs to start; the step to kill itself at). */
  go(opts?: { runs?: number; killAtStep?: number }): void;
  /** SIGKILL, after `delayMs`; counted as the harness's kill. */
  killAfter(delayMs: number): void;
  /** SIGKILL `delayMs` after the first event `ev` (from now on). */
  killAfterEvent(ev: string, delayMs: number): void;
  /** `killed`: by the harness, or by itself at its planned step (both SIGKILL). */
  readonly exit: Promise<{ killed: boolean; code: number | null; stderr: string }>;
}

/** Spawns the worker; `standby` ones wait for `go` after starting their connectors. */
function startWorker(dir: string, standby: boolean, limitMs: number, args: readonly string[] = []): Worker {
  const t0 = Date.now();
  const child = spawn(process.execPath, [CRASH_WORKER_JS, dir, ...(standby ? ['--standby'] : []), ...args], { stdio: [standby ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let buf = '';
  let killed = false;
  let ready!: (v: boolean) => void;
  let warm!: (v: boolean) => void;
  const timers: NodeJS.Timeout[] = [];
  const triggers = new Map<string, number>();
  const kill = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killed = true;
    child.kill('SIGKILL');
  };
  const w: Worker = {
    events: [],
    ready: new Promise((r) => (ready = r)),
    warm: new Promise((r) => (warm = r)),
    warmMs: null,
    go: (opts = {}) => child.stdin?.end(`${JSON.stringify(opts)}\n`),
    killAfter: (delayMs) => void timers.push(setTimeout(kill, delayMs)),
    killAfterEvent: (ev, delayMs) => void triggers.set(ev, delayMs),
    exit: new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        for (const t of timers) clearTimeout(t);
        ready(false);
        warm(false);
        const overran = Date.now() - t0 >= limitMs;
        const selfKilled = signal === 'SIGKILL' && w.events.some((e) => e.ev === 'self-kill');
        resolve({ killed: (killed && !overran) || selfKilled, code, stderr: overran ? `ran past ${limitMs} ms and was killed; ${stderr}` : stderr });
      });
    }),
  };
  timers.push(setTimeout(kill, limitMs)); // a worker that hangs is killed too, and reported as an error
  child.stdin?.on('error', () => undefined); // the worker may be dead before it reads its go line
  const { stdout, stderr: errout } = child;
  if (!stdout || !errout) throw new Error('the worker has no stdout or stderr pipe');
  stdout.setEncoding('utf8').on('data', (s: string) => {
    buf += s;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const e = JSON.parse(line) as WorkerEvent;
        w.events.push(e);
        const trigger = triggers.get(e.ev);
        if (trigger !== undefined) {
          triggers.delete(e.ev);
          w.killAfter(trigger);
        }
        if (e.ev === 'ready') ready(true);
        if (e.ev === 'warm') {
          w.warmMs = Date.now() - t0;
          warm(true);
        }
      } catch {
        stderr += `unparsed stdout: ${line}\n`;
      }
    }
  });
  errout.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  return w;
}

/** The unfinished runs a worker found when it started recovering; null if it died before it looked. */
function foundRuns(w: Worker): readonly WorkerEvent[] | null {
  const found = w.events.find((e) => e.ev === 'found');
  return found && Array.isArray(found['runs']) ? (found['runs'] as WorkerEvent[]) : null;
}

/**
 * Where a kill landed: for a worker killed at a durable step or before it looked at the store, from
 * its own lines; otherwise from what the next worker found unfinished (`found`).
 */
function landing(killed: Worker, found: readonly WorkerEvent[] | null): string {
  const seen = (ev: string): boolean => killed.events.some((e) => e.ev === ev);
  const self = killed.events.find((e) => e.ev === 'self-kill');
  if (self) return `right after a durable step: ${String(self['after'])}`;
  if (!seen('ready')) return 'startup: opening the workspace';
  if (!seen('warm')) return 'startup: starting connectors';
  if (!seen('found')) return 'startup: before recovery';
  const first = found?.[0];
  if (!first) return 'between runs, or in recovery before a resume';
  if (typeof first['inFlight'] === 'string') return `in a tool call: ${first['inFlight']}`;
  if (first['status'] === 'awaiting-approval') return 'paused for approval (voting, resuming)';
  if (first['status'] === 'queued') return 'run just created';
  return 'between steps (model turn, run save)';
}

/**
 * Runs the harness: kills the worker `opts.kills` times, lets one last worker recover everything, then
 * checks. Each worker after the first is started as a standby while the previous one runs, and starts
 * recovering once that one is dead (like a restarted process that opened the workspace in advance);
 * `startupShare` of the kills hit a fresh worker during its startup instead. The kill plan is seeded;
 * where kills land also depends on the machine's speed.
 */
export async function runCrashHarness(opts: CrashOptions): Promise<CrashReport> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  const rand = seededRandom(opts.seed);
  const { dir, acmeDb } = crashWorkspace();
  const yamlFile = path.join(dir, 'airlock.yaml');
  const yaml = readFileSync(yamlFile, 'utf8');
  const systems = opts.systems === 'http' ? await serveSystems(acmeDb) : null;
  const killsLanded: Record<string, number> = {};
  const resumed = new Set<string>();
  const workerErrors: string[] = [];
  let resumes = 0;
  let workers = 0;
  let faultedWorkers = 0;
  let kills = 0;
  let warmEstimate = 2000;
  /** A killed worker whose landing the next worker's recovery tells. */
  let pending: Worker | null = null;
  /** Writes the config the next spawned worker reads (atomically: a worker may be reading the old one). */
  const configure = (fault: FaultSpec | null): void => {
    writeFileSync(`${yamlFile}.next`, workspaceYaml(yaml, systems?.port ?? null, fault, opts.faultTimeoutMs));
    renameSync(`${yamlFile}.next`, yamlFile);
  };
  const spawnWorker = async (standby: boolean, fault: FaultSpec | null, more: { limitMs?: number; killAfter?: number; args?: string[] } = {}): Promise<Worker> => {
    configure(fault);
    const w = startWorker(dir, standby, more.limitMs ?? 120_000, more.args);
    if (more.killAfter !== undefined) w.killAfter(more.killAfter);
    workers++;
    if (fault) faultedWorkers++;
    await w.ready; // it has read its config: the next one may be written
    return w;
  };
  const drawFault = (): FaultSpec | null =>
    opts.faultEvery > 0 && rand() < 1 / opts.faultEvery ? (FAULTS[Math.floor(rand() * FAULTS.length)] ?? null) : null;
  /** Books a finished worker: what it found unfinished is where the previous kill landed. */
  const book = async (w: Worker, label: string): Promise<void> => {
    const out = await w.exit;
    if (w.warmMs !== null) warmEstimate = w.warmMs;
    if (out.killed) kills++;
    else if (out.code !== 0) workerErrors.push(`${label} exited ${String(out.code)}: ${out.stderr.trim().split('\n').slice(-6).join(' | ')}`);
    const recovered = w.events.filter((e) => e.ev === 'recover');
    for (const e of recovered) {
      resumed.add(String(e['run']));
      resumes++;
    }
    const land = (where: string): void => void (killsLanded[where] = (killsLanded[where] ?? 0) + 1);
    const found = foundRuns(w);
    if (pending && found) {
      land(landing(pending, found));
      pending = null;
    }
    if (out.killed) {
      if (found && !w.events.some((e) => e.ev === 'self-kill')) pending = w;
      else land(landing(w, null));
    }
    const finished = w.events.filter((e) => e.ev === 'finished').length;
    log(`${label}: ${out.killed ? `kill ${kills}/${opts.kills}` : `exit ${String(out.code)}`}, warm at ${w.warmMs ?? '-'} ms, ${recovered.length} recovered, ${finished} run(s) finished`);
  };
  try {
    let standby: Worker | null = null;
    while (kills < opts.kills) {
      if (workerErrors.length >= 5) throw new Error(`the worker failed ${workerErrors.length} times:\n${workerErrors.join('\n')}`);
      const fault = drawFault();
      if (rand() < opts.startupShare) {
        // A fresh worker killed while it opens the workspace or starts its connectors (a standby waits meanwhile, idle).
        const delay = Math.round(rand() * warmEstimate);
        await book(await spawnWorker(false, fault, { killAfter: delay }), `worker [startup +${delay} ms]`);
        continue;
      }
      const cur = standby ?? (await spawnWorker(true, fault));
      standby = null;
      const pick = rand() * (1 - opts.startupShare);
      const how = pick < opts.stepShare ? 'step' : pick < opts.stepShare + opts.afterVoteShare ? 'vote' : 'go';
      const delay =
        how === 'step'
          ? 1 + Math.floor(rand() * opts.maxStep)
          : how === 'vote'
            ? Math.round(rand() * opts.voteWindowMs)
            : Math.round(opts.windowMs[0] + rand() * (opts.windowMs[1] - opts.windowMs[0]));
      if (await cur.warm) {
        cur.go(how === 'step' ? { killAtStep: delay } : {});
        if (how === 'go') cur.killAfter(delay);
        else {
          if (how === 'vote') cur.killAfterEvent('vote', delay);
          cur.killAfter(15_000 + opts.windowMs[1]); // the step or vote never came (a fault hung the worker): kill it anyway
        }
        // The next worker opens the workspace while this one runs; it starts recovering once this one is dead.
        standby = await spawnWorker(true, drawFault());
      }
      await book(cur, `worker [${how === 'step' ? `at step ${delay}` : `${how} +${delay} ms`}]`);
    }
    if (standby) {
      standby.go({ runs: 0 });
      await book(standby, 'standby (recovery only)');
    }
    // The last worker: no fault, recovery only, to completion.
    const last = await spawnWorker(false, null, { limitMs: 300_000, args: ['--runs', '0'] });
    await book(last, 'last worker (recovery only)');
    if (!last.events.some((e) => e.ev === 'done')) workerErrors.push('the last (recovery) worker did not finish');
    const checks = await checkCrashWorkspace(dir);
    return {
      seed: opts.seed,
      systems: opts.systems,
      kills,
      killsLanded,
      workers,
      faultedWorkers,
      runsResumed: resumed.size,
      resumes,
      workerErrors,
      checks,
      seconds: (Date.now() - t0) / 1000,
      dir: opts.keep ? dir : null,
    };
  } finally {
    await systems?.close();
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Every audit record of the store, in seq order. */
async function allRecords(read: (from: number, limit: number) => Promise<readonly AuditRecord[]>): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for (let from = 1; ; ) {
    const batch = await read(from, 5000);
    out.push(...batch);
    if (batch.length < 5000) return out;
    from = (batch[batch.length - 1] as AuditRecord).seq + 1;
  }
}

/**
 * The checks, on a workspace no process is using: (1) every run ended; (2) no effect twice;
 * (3) no effect without its write-ahead intent; (4) the audit chain verifies. See docs/benchmarks.md.
 */
export async function checkCrashWorkspace(dir: string): Promise<CrashChecks> {
  const problems: string[] = [];
  const airlock = await openAirlock(dir);
  try {
    const { store } = airlock;
    const runs = await store.listRuns();
    const records = await allRecords((f, l) => store.readAudit(f, l));
    const verdict = await verifyStore(store);

    // (1) Every run ended: resumed to its end, or failed and marked for review.
    const byStatus: Partial<Record<RunStatus, number>> = {};
    let unended = 0;
    let markedForReview = 0;
    let failedOther = 0;
    const runStatus = new Map<string, { status: RunStatus; reason: string | null }>();
    const interruptedAt: { runId: string; step: number }[] = [];
    for (const r of runs) {
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      const state = r.state as unknown as RunState;
      const reason = state.reason;
      runStatus.set(r.id, { status: r.status, reason });
      if (r.status === 'failed' && reason?.includes('interrupted')) interruptedAt.push({ runId: r.id, step: state.steps });
      if (r.status === 'queued' || r.status === 'running' || r.status === 'awaiting-approval') {
        unended++;
        problems.push(`run ${r.id} is still ${r.status}`);
      } else if (r.status === 'failed' && reason?.includes('interrupted')) markedForReview++;
      else if (r.status === 'failed') failedOther++;
    }

    // The trail, indexed: intents by idempotency key, executions and consumptions by key.
    const intentsByKey = new Map<string, AuditRecord[]>();
    const executedByKey = new Map<string, AuditRecord[]>();
    const consumedByKey = new Map<string, AuditRecord[]>();
    const intentsByAction = new Map<string, AuditRecord[]>();
    const push = (m: Map<string, AuditRecord[]>, k: string, r: AuditRecord): void => {
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    };
    for (const r of records) {
      const key = r.body['idempotencyKey'];
      if (r.type === 'action.intent') {
        if (typeof key === 'string') push(intentsByKey, key, r);
        if (typeof r.body['actionHash'] === 'string') push(intentsByAction, `${r.runId ?? ''} ${r.body['actionHash']}`, r);
      }
      if (r.type === 'action.executed' && typeof key === 'string') push(executedByKey, key, r);
      if (r.type === 'approval.consumed' && typeof key === 'string') push(consumedByKey, key, r);
    }

    // (2) and (3) for the tools with idempotency keys: Acme's rows, its idempotency table, the intents.
    const acme = openAcmeDb(path.join(dir, '.airlock', 'acme.db'));
    let snapshot;
    try {
      snapshot = snapshotAcme(acme);
    } finally {
      acme.close();
    }
    let duplicatedEffects = 0;
    let auditGaps = 0;
    let unknownOutcomes = 0;
    let unreviewedUnknownOutcomes = 0;
    const seedIds = new Set<string>([...ACME_SEED.refunds.map((r) => r.id), ...ACME_SEED.comments.map((c) => c.id)]);
    const effectsPerRunTool = new Map<string, number>();
    const effectsPerRunStep = new Map<string, number>();
    const counts = { refunds: 0, comments: 0 };
    for (const [tool, { table, idField }] of Object.entries(KEYED_EFFECTS)) {
      const rows = snapshot[table].filter((r) => !seedIds.has(String(r['id'])));
      if (tool === 'payments.refund') counts.refunds = rows.length;
      else counts.comments = rows.length;
      const keysByRow = new Map<string, string[]>();
      for (const k of snapshot.idempotency.filter((i) => i['tool'] === tool)) {
        const key = String(k['key']);
        const made = String((JSON.parse(String(k['result'])) as Record<string, Json>)[idField]);
        keysByRow.set(made, [...(keysByRow.get(made) ?? []), key]);
        // (3) The key was written ahead: an intent carries it, before any consumption or execution, and before the effect.
        const intents = intentsByKey.get(key) ?? [];
        const first = intents[0];
        if (!first) {
          auditGaps++;
          problems.push(`${tool} ${made} (key ${key}) has no action.intent carrying its key`);
          continue;
        }
        const later = [...(consumedByKey.get(key) ?? []), ...(executedByKey.get(key) ?? [])].filter((r) => r.seq < first.seq);
        if (later.length > 0 || first.time > String(k['created_at'])) {
          auditGaps++;
          problems.push(`${tool} ${made} (key ${key}): the intent (#${first.seq}, ${first.time}) is not ahead of the effect (${String(k['created_at'])})`);
        }
        const runKey = `${first.runId ?? '?'} ${tool}`;
        effectsPerRunTool.set(runKey, (effectsPerRunTool.get(runKey) ?? 0) + 1);
        const stepKey = `${first.runId ?? '?'} #${String(first.body['step'])}`;
        effectsPerRunStep.set(stepKey, (effectsPerRunStep.get(stepKey) ?? 0) + 1);
        // An effect whose outcome was never recorded: the process died after the call; its run must not claim success.
        const executed = executedByKey.get(key) ?? [];
        if (executed.length === 0) {
          unknownOutcomes++;
          const st = runStatus.get(first.runId ?? '');
          if (st?.status !== 'failed') {
            unreviewedUnknownOutcomes++;
            problems.push(`${tool} ${made} in run ${first.runId ?? '?'} has no recorded outcome, yet the run ended ${st?.status ?? 'missing'}`);
          }
        }
        // The effect is what the intent said: its arguments payload names the same order and amount.
        if (tool === 'payments.refund' && typeof first.body['argsHash'] === 'string') {
          const args = await store.getPayload(first.body['argsHash'] as Sha256Hex);
          const row = rows.find((r) => r['id'] === made);
          if (args && row) {
            const a = JSON.parse(args) as Record<string, Json>;
            if (a['order_id'] !== row['order_id'] || a['amount_cents'] !== row['amount_cents']) {
              auditGaps++;
              problems.push(`refund ${made} (${String(row['order_id'])}, ${String(row['amount_cents'])}) differs from its intent (${String(a['order_id'])}, ${String(a['amount_cents'])})`);
            }
          }
        }
      }
      for (const row of rows) {
        const keys = keysByRow.get(String(row['id'])) ?? [];
        if (keys.length === 0) {
          auditGaps++;
          problems.push(`${tool} row ${String(row['id'])} was made without an idempotency key, so no intent can be tied to it`);
        } else if (keys.length > 1) {
          duplicatedEffects += keys.length - 1;
          problems.push(`${tool} row ${String(row['id'])} is claimed by ${keys.length} keys`);
        }
      }
    }
    for (const [k, n] of [...effectsPerRunTool, ...effectsPerRunStep]) {
      if (n > 1) {
        duplicatedEffects += n - 1;
        problems.push(`${k} produced ${n} effects`);
      }
    }

    // (3) for every tool, keyed or not: each execution record follows an intent of the same action in the same run.
    let statusChanges = 0;
    for (const r of records) {
      if (r.type !== 'action.executed') continue;
      if (r.body['tool'] === 'tickets.set_status' && r.body['outcome'] === 'ok') statusChanges++;
      const intent = (intentsByAction.get(`${r.runId ?? ''} ${String(r.body['actionHash'])}`) ?? []).find((i) => i.seq < r.seq);
      if (!intent) {
        auditGaps++;
        problems.push(`action.executed #${r.seq} (${String(r.body['tool'])}) has no earlier action.intent`);
      }
    }

    // Interrupted runs whose step has no intent: the kill fell before the gateway was asked (safe to re-propose).
    const intentSteps = new Set(records.filter((r) => r.type === 'action.intent').map((r) => `${r.runId ?? ''} ${String(r.body['step'])}`));
    const reviewWithoutIntent = interruptedAt.filter((x) => !intentSteps.has(`${x.runId} ${x.step}`)).length;

    // Lifecycle records: a state change and its record commit together, so none may be missing.
    const finished = new Set(records.filter((r) => r.type === 'run.finished').map((r) => r.runId));
    const started = new Set(records.filter((r) => r.type === 'run.started').map((r) => r.runId));
    const decided = new Set(records.filter((r) => r.type === 'approval.decided' && r.body['status'] === 'approved').map((r) => String(r.body['approvalId'])));
    const consumed = new Set(records.filter((r) => r.type === 'approval.consumed').map((r) => String(r.body['approvalId'])));
    const approvals = await store.listApprovals();
    const lifecycleGaps = {
      runFinished: runs.filter((r) => !['queued', 'running', 'awaiting-approval'].includes(r.status) && !finished.has(r.id)).length,
      approvalDecided: approvals.filter((a) => (a.status === 'approved' || a.status === 'consumed') && !decided.has(a.id)).length,
      approvalConsumed: approvals.filter((a) => a.status === 'consumed' && !consumed.has(a.id)).length,
      orphanRunStarted: [...started].filter((id) => !runStatus.has(id ?? '')).length,
    };
    const danglingApprovals = approvals.filter((a) => a.status === 'pending' && runStatus.get(a.runId)?.status !== 'awaiting-approval').length;

    if (!verdict.ok) problems.push(`audit verify failed at #${verdict.seq}: ${verdict.problem}: ${verdict.message}`);
    return {
      runs: runs.length,
      byStatus,
      unended,
      markedForReview,
      reviewWithoutIntent,
      failedOther,
      effects: { ...counts, statusChanges },
      duplicatedEffects,
      auditGaps,
      unknownOutcomes,
      unreviewedUnknownOutcomes,
      lifecycleGaps,
      danglingApprovals,
      auditRecords: records.length,
      verify: { ok: verdict.ok, message: verdict.ok ? null : `#${verdict.seq} ${verdict.problem}: ${verdict.message}` },
      problems,
    };
  } finally {
    await airlock.close();
  }
}

/** True when every crash-safety property held. */
export function crashSafe(r: CrashReport): boolean {
  const c = r.checks;
  const lifecycle = c.lifecycleGaps.runFinished + c.lifecycleGaps.approvalDecided + c.lifecycleGaps.approvalConsumed + c.lifecycleGaps.orphanRunStarted;
  return c.unended === 0 && c.duplicatedEffects === 0 && c.auditGaps === 0 && lifecycle === 0 && c.unreviewedUnknownOutcomes === 0 && c.verify.ok && r.workerErrors.length === 0;
}

/** The report as the rows of a readable table. */
export function crashTable(r: CrashReport): string {
  const c = r.checks;
  const rows: [string, string | number][] = [
    ['seed', r.seed],
    ['kills survived', `${r.kills} (${r.workers} worker processes, ${r.faultedWorkers} with a hang-after fault)`],
    ['Acme systems', r.systems === 'http' ? 'over HTTP, outliving each kill' : 'stdio children, killed with the worker'],
    ...Object.entries(r.killsLanded)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]): [string, number] => [`  landed: ${k}`, n]),
    ['runs started', c.runs],
    ['runs resumed after a kill', `${r.runsResumed} (${r.resumes} resumes)`],
    ...Object.entries(c.byStatus).map(([s, n]): [string, number] => [`  ended ${s}`, n ?? 0]),
    ['marked for review (interrupted)', `${c.markedForReview} (${c.reviewWithoutIntent} before any intent: nothing had reached the gateway)`],
    ['failed otherwise (gave up after a connector fault)', c.failedOther],
    ['not ended (must be 0)', c.unended],
    ['effects: refunds / comments / status changes', `${c.effects.refunds} / ${c.effects.comments} / ${c.effects.statusChanges}`],
    ['effects with an unknown outcome (all in runs for review)', c.unknownOutcomes],
    ['effects duplicated (must be 0)', c.duplicatedEffects],
    ['audit gaps (must be 0)', c.auditGaps],
    ['lifecycle records missing (must be 0): run.finished / approval.decided / approval.consumed / orphan run.started', `${c.lifecycleGaps.runFinished} / ${c.lifecycleGaps.approvalDecided} / ${c.lifecycleGaps.approvalConsumed} / ${c.lifecycleGaps.orphanRunStarted}`],
    ['pending approvals of ended runs', c.danglingApprovals],
    ['audit verify', c.verify.ok ? `ok (${c.auditRecords} records)` : `FAILED ${c.verify.message ?? ''}`],
    ['worker errors', r.workerErrors.length],
    ['wall time', `${r.seconds.toFixed(0)} s`],
  ];
  return ['| check | value |', '|---|---:|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

/** The bench's metrics (numbers only) from a report. */
function metrics(r: CrashReport): Record<string, number> {
  const c = r.checks;
  return {
    kills: r.kills,
    runs_started: c.runs,
    runs_resumed: r.runsResumed,
    marked_for_review: c.markedForReview,
    effects: c.effects.refunds + c.effects.comments + c.effects.statusChanges,
    duplicated_effects: c.duplicatedEffects,
    audit_gaps: c.auditGaps,
    unended_runs: c.unended,
    verify_ok: c.verify.ok ? 1 : 0,
    seconds: r.seconds,
  };
}

/** Options from the environment (`CRASH_KILLS`, `CRASH_SEED`) and `--kills N --seed S --keep`. */
export function crashOptionsFrom(argv: readonly string[], env: NodeJS.ProcessEnv): CrashOptions {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (v: string | undefined, fallback: number): number => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? fallback : Number(v));
  return {
    ...DEFAULT_CRASH_OPTIONS,
    kills: num(arg('--kills') ?? env['CRASH_KILLS'], DEFAULT_CRASH_OPTIONS.kills),
    seed: num(arg('--seed') ?? env['CRASH_SEED'], DEFAULT_CRASH_OPTIONS.seed),
    systems: (arg('--systems') ?? env['CRASH_SYSTEMS']) === 'stdio' ? 'stdio' : 'http',
    keep: argv.includes('--keep'),
    log: (line) => process.stderr.write(`crash: ${line}\n`),
  };
}

/**
 * A smoke run: one kill, which the worker takes itself right after one of its first 40 durable steps
 * (so it lands inside a run, and the last worker resumes it), no fault. The same harness and checks;
 * `test/crash` runs 8 kills, `npm run bench` 200.
 */
const SMOKE_CRASH: Partial<CrashOptions> = { kills: 1, startupShare: 0, afterVoteShare: 0, stepShare: 1, maxStep: 40, faultEvery: 0 };

/** What failed, one line a property, for a report that is not crash-safe (none when it is). */
function crashFailures(r: CrashReport): string[] {
  if (crashSafe(r)) return [];
  const c = r.checks;
  return [
    `not crash-safe: unended runs ${c.unended}, duplicated effects ${c.duplicatedEffects}, audit gaps ${c.auditGaps}, lifecycle records missing ${JSON.stringify(c.lifecycleGaps)}, unreviewed unknown outcomes ${c.unreviewedUnknownOutcomes}, verify ${c.verify.ok ? 'ok' : 'FAILED'}, worker errors ${r.workerErrors.length}`,
    ...r.workerErrors.slice(0, 5).map((e) => `worker error: ${e}`),
  ];
}

/** The `crash` bench suite (bench/run.ts): one harness run with the default size (a smoke run: one kill). */
export async function run(opts?: BenchOptions): Promise<readonly BenchResult[]> {
  const r = await runCrashHarness({ ...crashOptionsFrom([], process.env), ...sized(opts, {}, SMOKE_CRASH) });
  const c = r.checks;
  return [
    {
      suite: 'crash',
      name: `${r.kills} SIGKILLs, seed ${r.seed}`,
      metrics: metrics(r),
      notes: [
        `${crashSafe(r) ? 'crash-safe' : 'NOT crash-safe'}: duplicated effects ${c.duplicatedEffects}, audit gaps ${c.auditGaps}, unended runs ${c.unended}, verify ${c.verify.ok ? 'ok' : 'FAILED'}`,
        `kills landed: ${Object.entries(r.killsLanded).map(([k, n]) => `${k} ${n}`).join(', ')}`,
        `runs by status: ${Object.entries(c.byStatus).map(([k, n]) => `${k} ${n ?? 0}`).join(', ')}`,
        ...c.problems.slice(0, 10),
      ],
      failures: crashFailures(r),
    },
  ];
}

/** `node dist/bench/crash.js [--kills N] [--seed S] [--keep]`: the table on stdout, the JSON in bench/results/crash.json. */
async function main(argv: readonly string[]): Promise<void> {
  const r = await runCrashHarness(crashOptionsFrom(argv, process.env));
  const dir = path.join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const doc = { time: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', crash: r };
  writeFileSync(path.join(dir, 'crash.json'), JSON.stringify(doc, null, 2) + '\n');
  process.stdout.write(`${crashTable(r)}\n`);
  for (const p of r.checks.problems.slice(0, 20)) process.stdout.write(`- ${p}\n`);
  for (const e of r.workerErrors) process.stdout.write(`- worker error: ${e}\n`);
  process.stdout.write(`\nresult written to bench/results/crash.json${r.dir ? `; workspace kept at ${r.dir}` : ''}\n`);
  if (!crashSafe(r)) process.exitCode = 1;
}


if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`crash bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
