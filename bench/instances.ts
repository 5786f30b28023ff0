// Several `airlock serve` instances on one store, side by side in one run (#15): governed calls per second and
// their p99 with one, two and three instances on PostgreSQL and on the embedded store (each instance the real
// CLI, `airlock serve --port 0`, in its own process with its own Acme MCP servers; concurrent API clients spread
// over the instances, each run's calls hopping between them), and audit appends per second under concurrency
// on both stores (several store handles, as instances would hold, each with many appenders at once).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { parseDocument } from 'yaml';
import { generateApiKey } from '../src/identity/api-keys.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { AuditDraft, Store } from '../src/store/store.js';
import { AIRLOCK_ROOT } from '../src/util/package-root.js';
import { percentile, sized, type BenchOptions, type BenchResult } from './harness.js';
import { acmeCopy, addApiKeys, editWorkspaceYaml, setServerLimit } from './workspace.js';

const SUITE = 'instances';
const CLI_JS = path.join(AIRLOCK_ROOT, 'dist', 'src', 'cli', 'main.js');
/** The server the PostgreSQL rows use (a database is made for each and dropped after): `AIRLOCK_BENCH_PG`. */
const ADMIN_URL = process.env['AIRLOCK_BENCH_PG'] ?? process.env['AIRLOCK_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The governed call: a read through the `orders` connector, allowed by policy, audited write-ahead. */
const CALL = { tool: 'orders.get_order', arguments: { order_id: '1182' } } as const;

interface Size {
  /** Instance counts compared. */
  readonly counts: readonly number[];
  /** Concurrent API clients (spread over the instances), the warm-up and the measured time. */
  readonly clients: number;
  readonly warmMs: number;
  readonly measureMs: number;
  /** Audit appends: store handles (as instances), appenders each, and the measured time. */
  readonly handles: number;
  readonly appenders: number;
  readonly appendMs: number;
}

const FULL: Size = { counts: [1, 2, 3], clients: 12, warmMs: 2000, measureMs: 10_000, handles: 3, appenders: 16, appendMs: 5000 };
const SMOKE: Size = { counts: [1, 2], clients: 2, warmMs: 100, measureMs: 400, handles: 2, appenders: 2, appendMs: 200 };

/** One store the rows run on: the embedded file, or a fresh PostgreSQL database. */
interface Backend {
  readonly name: 'embedded' | 'postgres';
  /** For PostgreSQL: a fresh database's URL, and how to drop it. */
  fresh(): Promise<{ readonly url: string | null; drop(): Promise<void> }>;
}

const embedded: Backend = { name: 'embedded', fresh: () => Promise.resolve({ url: null, drop: () => Promise.resolve() }) };

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const postgres: Backend = {
  name: 'postgres',
  async fresh() {
    const name = `airlock_bench_${randomBytes(5).toString('hex')}`;
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return { url: url.toString(), drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined) };
  },
};

/** Whether the PostgreSQL server answers (the rows on it are skipped, with a note, when it does not). */
async function postgresReachable(): Promise<boolean> {
  return admin((c) => c.query('SELECT 1')).then(
    () => true,
    () => false,
  );
}

/** A copy of the Acme demo with an API key for the agent, no per-minute limit in the way, and runs long enough for the load. */
function benchWorkspace(): { dir: string; key: string; cleanup(): void } {
  const ws = acmeCopy('bench-instances');
  const { key, sha256 } = generateApiKey();
  editWorkspaceYaml(ws.dir, (doc) => {
    addApiKeys(doc, [{ id: 'bench-key', principal: 'agent:refund-bot', sha256 }]);
    setServerLimit(doc, 'callsPerMinute', 1_000_000_000);
  });
  const wf = path.join(ws.dir, 'workflows', 'refund-desk.yaml');
  const doc = parseDocument(readFileSync(wf, 'utf8'));
  doc.setIn(['budgets', 'steps'], 10_000);
  doc.setIn(['budgets', 'wallTimeMs'], 86_400_000);
  writeFileSync(wf, doc.toString());
  return { dir: ws.dir, key, cleanup: ws.cleanup };
}

/** `airlock serve --port 0` on the workspace (on PostgreSQL with `url`): its base URL once it listens. */
function serve(dir: string, url: string | null): Promise<{ base: string; child: ChildProcess }> {
  const env: NodeJS.ProcessEnv = { ...process.env, AIRLOCK_LOG_LEVEL: 'warn' };
  if (url) env['AIRLOCK_STORE_URL'] = url;
  else delete env['AIRLOCK_STORE_URL'];
  const child = spawn(process.execPath, [CLI_JS, '--workspace', dir, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /JSON API\s+(\S+)\/v1/.exec(out.replace(/\x1b\[[0-9;]*m/g, ''));
      if (m) resolve({ base: m[1] as string, child });
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-3000)));
    child.once('close', (code) => reject(new Error(`airlock serve exited ${String(code)} before listening: ${err}`)));
  });
}

async function post(base: string, key: string, route: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/v1${route}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * `clients` loops, each with its own run (opened on instance `i % n`), sending the governed call to the instances in
 * turn until `until`; the latencies of the calls that executed, and the calls that did not.
 */
async function load(bases: readonly string[], key: string, clients: number, until: number): Promise<{ lat: number[]; failed: number; firstFailure: string | null }> {
  const lat: number[] = [];
  let failed = 0;
  let firstFailure: string | null = null;
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const open = async (): Promise<string> => {
        const opened = await post(bases[i % bases.length] as string, key, '/runs', {});
        const id = opened.json['runId'];
        if (opened.status !== 201 || typeof id !== 'string') throw new Error(`opening a run failed: ${opened.status} ${JSON.stringify(opened.json)}`);
        return id;
      };
      let runId = await open();
      for (let k = i; Date.now() < until; k++) {
        const t0 = performance.now();
        const r = await post(bases[k % bases.length] as string, key, '/actions', { runId, ...CALL });
        const ms = performance.now() - t0;
        if (r.status === 200 && r.json['outcome'] === 'executed') lat.push(ms);
        // A run that used up its step budget is over, as an agent's would be: the client opens the next one.
        else if (r.status === 429 && /budget|steps/.test(JSON.stringify(r.json))) runId = await open();
        else {
          failed++;
          firstFailure ??= `${r.status} ${JSON.stringify(r.json).slice(0, 300)}`;
        }
      }
    }),
  );
  return { lat, failed, firstFailure };
}

/** Governed calls through `n` instances on `backend`. */
async function governedCalls(backend: Backend, n: number, size: Size): Promise<BenchResult> {
  const ws = benchWorkspace();
  const db = await backend.fresh();
  const children: ChildProcess[] = [];
  try {
    // One instance first (it makes and migrates the store), then the others together.
    const first = await serve(ws.dir, db.url);
    children.push(first.child);
    const rest = await Promise.all(Array.from({ length: n - 1 }, () => serve(ws.dir, db.url)));
    children.push(...rest.map((r) => r.child));
    const bases = [first.base, ...rest.map((r) => r.base)];
    await load(bases, ws.key, size.clients, Date.now() + size.warmMs);
    const t0 = Date.now();
    const { lat, failed, firstFailure } = await load(bases, ws.key, size.clients, t0 + size.measureMs);
    const seconds = (Date.now() - t0) / 1000;
    const sorted = lat.sort((a, b) => a - b);
    return {
      suite: SUITE,
      name: `governed calls: ${n} instance${n === 1 ? '' : 's'} on ${backend.name}`,
      metrics: { instances: n, clients: size.clients, calls: lat.length, calls_per_s: Math.round((lat.length / seconds) * 10) / 10, p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), failed },
      ...(failed > 0 ? { failures: [`${failed} calls did not execute; the first: ${firstFailure ?? '?'}`] } : {}),
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('close', r)))));
    await db.drop();
    ws.cleanup();
  }
}

/** A small audit draft. */
function draft(i: number): AuditDraft {
  return { type: 'action.intent', time: new Date().toISOString(), runId: `run_bench_${i % 64}`, principal: 'agent:refund-bot', onBehalfOf: null, body: { i, tool: 'orders.get_order', actionHash: 'a'.repeat(64) } };
}

/** Audit appends per second from `handles` store handles with `appenders` concurrent appenders each. */
async function auditAppends(backend: Backend, size: Size): Promise<BenchResult> {
  const db = await backend.fresh();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-appends-'));
  const open = (): Promise<Store> => (db.url ? openPostgresStore(db.url) : openSqliteStore(path.join(tmp, 'airlock.db')));
  const stores: Store[] = [];
  try {
    stores.push(await open());
    for (let i = 1; i < size.handles; i++) stores.push(await open());
    let appended = 0;
    const lat: number[] = [];
    const until = Date.now() + size.appendMs;
    const t0 = Date.now();
    await Promise.all(
      stores.flatMap((s, h) =>
        Array.from({ length: size.appenders }, async (_, a) => {
          for (let k = 0; Date.now() < until; k++) {
            const s0 = performance.now();
            await s.appendAudit([draft(h * 100_000 + a * 1000 + k)]);
            lat.push(performance.now() - s0);
            appended++;
          }
        }),
      ),
    );
    const seconds = (Date.now() - t0) / 1000;
    const head = await (stores[0] as Store).auditHead();
    const sorted = lat.sort((x, y) => x - y);
    return {
      suite: SUITE,
      name: `audit appends: ${size.handles} handles × ${size.appenders} appenders on ${backend.name}`,
      metrics: { appends: appended, appends_per_s: Math.round(appended / seconds), p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99) },
      ...(head?.seq === appended ? {} : { failures: [`${appended} appends acknowledged, the trail holds ${head?.seq ?? 0}`] }),
    };
  } finally {
    for (const s of stores) await s.close();
    await db.drop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The suite: every row on each store, the stores side by side. */
export async function run(opts?: BenchOptions): Promise<readonly BenchResult[]> {
  const size = sized(opts, FULL, SMOKE);
  const backends: Backend[] = [embedded];
  const notes: string[] = [];
  if (await postgresReachable()) backends.push(postgres);
  else notes.push(`PostgreSQL at ${new URL(ADMIN_URL).host} did not answer: its rows were skipped (set AIRLOCK_BENCH_PG)`);
  const results: BenchResult[] = [];
  for (const n of size.counts) for (const b of backends) results.push(await governedCalls(b, n, size));
  for (const b of backends) results.push(await auditAppends(b, size));
  const cpus = os.cpus().length;
  notes.push(
    `each instance is \`airlock serve\` in its own process with its own Acme MCP servers (stdio); ${size.clients} API clients, each run's calls sent to the instances in turn (POST /v1/actions, \`${CALL.tool}\`: authenticate, rate count in the store, policy, write-ahead audit, the call, its outcome)`,
    `${cpus} CPUs here: the load generator, every instance, its upstreams and PostgreSQL share them, so more instances add processes, not cores`,
  );
  const last = results[results.length - 1];
  if (last) results[results.length - 1] = { ...last, notes };
  return results;
}
