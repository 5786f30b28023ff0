// One tool call three ways against the same upstream (the Acme `orders` MCP server over stdio), side by side in one run:
// (a) the MCP SDK client straight to the upstream; (b) through `mcp-proxy` (a plain, non-governing stdio → Streamable
// HTTP proxy); (c) through Airlock's `/mcp` door (API key, Cedar decision, durable audit). Then Airlock's own overhead,
// part by part, measured in the same run so the slow part is visible.
//
// Both HTTP doors run in their own process (as deployed), so neither shares an event loop with the load generator.
// This file doubles as that process for Airlock: `node dist/bench/doors.js serve-airlock <workspace>`.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { openAirlock, type Airlock } from '../src/airlock.js';
import { INITIAL_LABELS } from '../src/context/labels.js';
import { generateApiKey } from '../src/identity/api-keys.js';
import { createAuthenticator } from '../src/identity/authenticate.js';
import { decide, type PolicyRequest } from '../src/policy/decide.js';
import { RateLimiter } from '../src/server/limits.js';
import { startHttpServer } from '../src/server/serve.js';
import type { JsonObject, RunId } from '../src/types.js';
import { hashJson } from '../src/util/hash.js';
import { AIRLOCK_ROOT } from '../src/util/package-root.js';
import { fsyncRate } from './audit.js';
import { percentile, sized, type BenchOptions, type BenchResult, type BenchSuite } from './harness.js';
import { httpSession, type HttpSession } from './mcp-client.js';
import { acmeCopy, addApiKeys, editWorkspaceYaml, setServerLimit } from './workspace.js';

const SUITE = 'doors';
const ARGS = { order_id: '1182' } as const;
/** Concurrent clients per door for throughput. */
const TPUT_CLIENTS = 8;
/**
 * Calls per Airlock MCP session. The Acme workflow's step budget is 30, so a session (one run) is retired and a fresh
 * one used after 25 calls, as a real agent's would be; session setup is timed apart (`session_open_us`), never in a call.
 */
const SESSION_CALLS = 25;
/** How deep the short session of the depth comparison is when its calls are timed. */
const SHORT_DEPTH_NOTE = '10-20';

/** How much the suite measures. */
interface DoorsSize {
  /** Interleaved rounds: every door (and every part) is measured once per round, in a rotating order. */
  readonly rounds: number;
  /** Sequential calls per door per round for latency. */
  readonly latCalls: number;
  /** Total calls per door per round for throughput (from TPUT_CLIENTS clients). */
  readonly tputCalls: number;
  /** Concurrent clients (each its own session) for the crowd measure, and its calls per door per round. */
  readonly loadClients: number;
  readonly loadCalls: number;
  /** Sequential MCP pings per door per round. */
  readonly pingCalls: number;
  /** Session opens timed per door per round. */
  readonly opens: number;
  /** Warm-up before the rounds: latency calls and throughput calls per door. */
  readonly warmLat: number;
  readonly warmTput: number;
  /** Scales the iteration counts of Airlock's parts (1: as measured). */
  readonly parts: number;
}

const FULL: DoorsSize = { rounds: 4, latCalls: 200, tputCalls: 800, loadClients: 64, loadCalls: 640, pingCalls: 100, opens: 4, warmLat: 100, warmTput: 160, parts: 1 };
const SMOKE: DoorsSize = { rounds: 1, latCalls: 6, tputCalls: 16, loadClients: 4, loadCalls: 8, pingCalls: 3, opens: 1, warmLat: 2, warmTput: 8, parts: 0.01 };

type DoorKey = 'direct' | 'proxy' | 'airlock';

interface Door {
  readonly key: DoorKey;
  /** `n` sequential calls; per-call latency in µs. */
  latency(n: number): Promise<number[]>;
  /** `n` sequential MCP `ping`s: the transport's floor (HTTP, auth, MCP framing), no tool call. */
  ping(n: number): Promise<number[]>;
  /** `calls` calls from `clients` concurrent clients; calls per second. */
  throughput(clients: number, calls: number): Promise<Concurrent>;
  /** Opening (initialize) and closing one more session, in µs to open; undefined for the stdio door. */
  sessionOpen?(): Promise<number>;
  close(): Promise<void>;
}

// --- workspace ---------------------------------------------------------------------------------------------------------

interface BenchWorkspace {
  readonly dir: string;
  readonly acmeDb: string;
  /** Bearer API key of `agent:refund-bot`. */
  readonly key: string;
  cleanup(): void;
}

/**
 * A private copy of examples/acme with an API key for the agent (added to the keys the demo declares) and a per-minute
 * call limit high enough for a benchmark (the default, 120 per principal, would refuse it). Everything else (policies,
 * tools, budgets) as shipped.
 */
function benchWorkspace(opts: { longRuns?: boolean } = {}): BenchWorkspace {
  const ws = acmeCopy('bench-doors');
  const { key, sha256 } = generateApiKey();
  editWorkspaceYaml(ws.dir, (doc) => {
    addApiKeys(doc, [{ id: 'bench-key', principal: 'agent:refund-bot', sha256 }]);
    setServerLimit(doc, 'callsPerMinute', 1_000_000_000);
  });
  // The parts' copy lets one session run past 1,000 calls (the shipped step budget is 30).
  if (opts.longRuns) setBudgets(path.join(ws.dir, 'workflows', 'refund-desk.yaml'), { steps: 10_000, wallTimeMs: 86_400_000 });
  return { ...ws, key };
}

/** Sets a workflow file's `budgets` (comments and layout kept). */
function setBudgets(file: string, budgets: { readonly steps: number; readonly wallTimeMs: number }): void {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['budgets', 'steps'], budgets.steps);
  doc.setIn(['budgets', 'wallTimeMs'], budgets.wallTimeMs);
  writeFileSync(file, doc.toString());
}

// --- processes ---------------------------------------------------------------------------------------------------------

const UPSTREAM = path.join(AIRLOCK_ROOT, 'dist', 'src', 'demo', 'acme', 'server.js');

/** `AIRLOCK_BENCH_CPU_PROF=<dir>`: the two door processes (mcp-proxy, Airlock) write V8 CPU profiles there on exit. */
function profFlags(): string[] {
  const dir = process.env['AIRLOCK_BENCH_CPU_PROF'];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] : [];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Keeps the last 4 KB a child wrote on a stream (for error messages). */
function tail(stream: NodeJS.ReadableStream | null): () => string {
  let t = '';
  stream?.on('data', (c: Buffer) => {
    t = (t + c.toString('utf8')).slice(-4096);
  });
  return () => t.trim();
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function mcpProxyPackage(): { bin: string; version: string } {
  const dir = path.join(AIRLOCK_ROOT, 'node_modules', 'mcp-proxy');
  let pkg: { version: string; bin: Record<string, string> };
  try {
    pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as typeof pkg;
  } catch {
    throw new Error('mcp-proxy is not installed (it is a dev dependency: run `npm install`)');
  }
  const bin = pkg.bin['mcp-proxy'];
  if (!bin) throw new Error('mcp-proxy/package.json declares no `mcp-proxy` bin');
  return { bin: path.join(dir, bin), version: pkg.version };
}

/** `mcp-proxy --port P --host 127.0.0.1 --server stream -- node server.js orders --db DB`, ready when `/ping` answers. */
async function startMcpProxy(acmeDb: string): Promise<{ child: ChildProcess; url: URL; version: string }> {
  const { bin, version } = mcpProxyPackage();
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...profFlags(), bin, '--port', String(port), '--host', '127.0.0.1', '--server', 'stream', '--', process.execPath, UPSTREAM, 'orders', '--db', acmeDb],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out = tail(child.stdout);
  const err = tail(child.stderr);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mcp-proxy exited with ${child.exitCode}: ${err() || out()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/ping`);
      await res.text();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`mcp-proxy did not answer /ping within 30 s: ${err() || out()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url: new URL(`http://127.0.0.1:${port}/mcp`), version };
}

/** This file as `serve-airlock <dir>` in a child process; resolves with the `/mcp` URL it prints. */
async function startAirlockProcess(dir: string): Promise<{ child: ChildProcess; url: URL }> {
  const child = spawn(process.execPath, [...profFlags(), fileURLToPath(import.meta.url), 'serve-airlock', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const err = tail(child.stderr);
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`the Airlock server did not start within 30 s: ${err()}`)), 30_000);
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve((JSON.parse(buf.slice(0, nl)) as { url: string }).url);
      } catch {
        reject(new Error(`unexpected output from the Airlock server: ${buf.slice(0, 200)}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the Airlock server exited with ${code}: ${err()}`));
    });
  });
  child.stdout?.resume();
  return { child, url: new URL(`${url}/mcp`) };
}

/** The child-process side: serve the workspace's doors until stdin closes or SIGTERM. */
async function serveAirlock(dir: string): Promise<void> {
  const airlock = await openAirlock(dir);
  const server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 2000).unref();
    await server.close().catch(() => undefined);
    await airlock.close().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
}

// --- clients -----------------------------------------------------------------------------------------------------------

function textOf(r: unknown): string {
  return (((r as { content?: unknown }).content ?? []) as { text?: string }[]).map((c) => c.text ?? '').join(' ');
}

/** Calls the tool once; throws unless it returned the order. */
async function callOk(client: Client, tool: string): Promise<void> {
  const r = await client.callTool({ name: tool, arguments: { ...ARGS } });
  if (r.isError) throw new Error(`${tool} failed: ${textOf(r).slice(0, 300)}`);
}

async function checkOrder(client: Client, tool: string, door: string): Promise<void> {
  const r = await client.callTool({ name: tool, arguments: { ...ARGS } });
  const total = (r.structuredContent as { total_cents?: number } | undefined)?.total_cents ?? (JSON.parse(textOf(r)) as { total_cents?: number }).total_cents;
  if (r.isError || total !== 8990) throw new Error(`${door}: ${tool} did not return order 1182: ${textOf(r).slice(0, 300)}`);
}

/**
 * CPU time (user + system, µs) a process has used so far, from /proc (Linux; USER_HZ = 100), or null elsewhere.
 * Wall time on a shared 2-core machine swings with the neighbours' load; CPU per call barely does.
 */
function cpuUs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return null;
  }
}

/** CPU µs and tool calls accumulated per door process over every timed tool call (latency and throughput). */
const doorCpu = new Map<number, { us: number; calls: number }>();

async function metered<T>(pid: number | undefined, calls: number, body: () => Promise<T>): Promise<T> {
  const before = cpuUs(pid);
  const out = await body();
  const after = cpuUs(pid);
  if (pid !== undefined && before !== null && after !== null) {
    const acc = doorCpu.get(pid) ?? { us: 0, calls: 0 };
    doorCpu.set(pid, { us: acc.us + after - before, calls: acc.calls + calls });
  }
  return out;
}

async function timeSeq(n: number, call: (i: number) => Promise<void>, pid?: number): Promise<number[]> {
  const lat: number[] = new Array<number>(n);
  await metered(pid, n, async () => {
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await call(i);
      lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
  });
  return lat;
}

/** Calls from concurrent clients: calls per second, and each call's latency in µs. */
interface Concurrent {
  readonly perS: number;
  readonly lat: readonly number[];
}

/** Times one call of a concurrent client. */
type Timed = (call: () => Promise<void>) => Promise<void>;

async function timeConcurrent(
  clients: number,
  calls: number,
  worker: (c: number, perClient: number, timed: Timed) => Promise<void>,
  pid?: number,
): Promise<Concurrent> {
  const per = Math.ceil(calls / clients);
  const lat: number[] = [];
  const timed: Timed = async (call) => {
    const t0 = process.hrtime.bigint();
    await call();
    lat.push(Number(process.hrtime.bigint() - t0) / 1000);
  };
  return metered(pid, per * clients, async () => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: clients }, (_, c) => worker(c, per, timed)));
    return { perS: (per * clients) / ((performance.now() - t0) / 1000), lat };
  });
}

/** (a) One SDK client over stdio; concurrent callers share it (the other doors also multiplex onto one upstream process). */
async function directDoor(acmeDb: string): Promise<Door> {
  const client = new Client({ name: 'bench-doors', version: '1' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [UPSTREAM, 'orders', '--db', acmeDb], stderr: 'ignore' }));
  await checkOrder(client, 'get_order', 'direct');
  return {
    key: 'direct',
    latency: (n) => timeSeq(n, () => callOk(client, 'get_order')),
    ping: (n) => timeSeq(n, async () => void (await client.ping())),
    throughput: (clients, calls) =>
      timeConcurrent(clients, calls, async (_c, per, timed) => {
        for (let i = 0; i < per; i++) await timed(() => callOk(client, 'get_order'));
      }),
    close: () => client.close(),
  };
}

/** (b) mcp-proxy: one long-lived session per client (it keeps no per-session state worth rotating). */
async function proxyDoor(url: URL, pid: number | undefined, clients: number): Promise<Door> {
  const sessions: HttpSession[] = [];
  for (let i = 0; i < clients; i++) sessions.push(await httpSession(url, {}, 'bench-doors'));
  const first = sessions[0] as HttpSession;
  await checkOrder(first.client, 'get_order', 'mcp-proxy');
  return {
    key: 'proxy',
    latency: (n) => timeSeq(n, () => callOk(first.client, 'get_order'), pid),
    ping: (n) => timeSeq(n, async () => void (await first.client.ping())),
    throughput: (clients, calls) =>
      timeConcurrent(clients, calls, async (c, per, timed) => {
        const s = sessions[c % sessions.length] as HttpSession;
        for (let i = 0; i < per; i++) await timed(() => callOk(s.client, 'get_order'));
      }, pid),
    async sessionOpen() {
      const t0 = performance.now();
      const s = await httpSession(url, {}, 'bench-doors');
      const us = (performance.now() - t0) * 1000;
      await s.close();
      return us;
    },
    async close() {
      for (const s of sessions) await s.close();
    },
  };
}

/** (c) Airlock: a fresh session (run) every SESSION_CALLS calls, opened before the timed calls and closed after. */
function airlockDoor(url: URL, key: string, pid: number | undefined): Door {
  const headers = { Authorization: `Bearer ${key}` };
  const open = async (n: number): Promise<HttpSession[]> => {
    const out: HttpSession[] = [];
    for (let i = 0; i < n; i += TPUT_CLIENTS) {
      out.push(...(await Promise.all(Array.from({ length: Math.min(TPUT_CLIENTS, n - i) }, () => httpSession(url, headers, 'bench-doors')))));
    }
    return out;
  };
  const closeAll = async (ss: readonly HttpSession[]) => {
    for (const s of ss) await s.close();
  };
  return {
    key: 'airlock',
    async latency(n) {
      const ss = await open(Math.ceil(n / SESSION_CALLS));
      try {
        return await timeSeq(n, (i) => callOk((ss[Math.floor(i / SESSION_CALLS)] as HttpSession).client, 'orders.get_order'), pid);
      } finally {
        await closeAll(ss);
      }
    },
    async ping(n) {
      const [s] = await open(1);
      try {
        return await timeSeq(n, async () => void (await (s as HttpSession).client.ping()));
      } finally {
        await s?.close();
      }
    },
    async throughput(clients, calls) {
      const perSessions = Math.ceil(Math.ceil(calls / clients) / SESSION_CALLS);
      const ss = await open(clients * perSessions);
      try {
        return await timeConcurrent(clients, calls, async (c, per, timed) => {
          for (let i = 0; i < per; i++) await timed(() => callOk((ss[c * perSessions + Math.floor(i / SESSION_CALLS)] as HttpSession).client, 'orders.get_order'));
        }, pid);
      } finally {
        await closeAll(ss);
      }
    },
    async sessionOpen() {
      const t0 = performance.now();
      const s = await httpSession(url, headers, 'bench-doors');
      const us = (performance.now() - t0) * 1000;
      await s.close();
      return us;
    },
    async close() {},
  };
}

// --- Airlock's parts, in process ---------------------------------------------------------------------------------------

type PartKey =
  | 'auth'
  | 'decide'
  | 'auditIntent'
  | 'auditOutcome'
  | 'auditBoth'
  | 'forward'
  | 'runParse25'
  | 'runCheck25'
  | 'runLoad25'
  | 'runSave25'
  | 'rateLimit'
  | 'sessionCall'
  | 'callShort'
  | 'callLong';

/** Each of Airlock's steps alone, on a second copy of the workspace (its own store and its own `orders` process). */
async function airlockParts(
  airlock: Airlock,
  key: string,
  scale: number,
): Promise<{ measure: () => Promise<Map<PartKey, number[]>>; stateBytes: number; longCalls: number }> {
  const authenticator = createAuthenticator(airlock.workspace);
  const header = `Bearer ${key}`;
  const authed = await authenticator.authenticate(header);
  if (!authed.ok) throw new Error(`bench key refused: ${authed.error}`);

  const workflow = airlock.workspace.workflows.get('refund-desk');
  const contract = airlock.workspace.tools.get('orders.get_order');
  if (!workflow || !contract) throw new Error('examples/acme lacks refund-desk or orders.get_order');
  const principal = airlock.principal('agent:refund-bot');
  const request: PolicyRequest = { principal, tool: contract, workflow: workflow.name, tier: workflow.tier, args: ARGS, labels: INITIAL_LABELS };
  const decision = decide(airlock.policies, request);
  if (decision.kind !== 'allow') throw new Error(`orders.get_order is not allowed for refund-bot: ${decision.kind}`);

  const connector = airlock.connectors.get(contract.connector);
  const forward = async () => {
    const r = await connector.call('get_order', { ...ARGS }, { timeoutMs: 10_000 });
    if (!r.ok) throw new Error(`connector call failed: ${r.message}`);
    return r.content;
  };
  const result = await forward();

  // The two audit appends the gateway makes for an allowed read, with the same bodies and payload refs.
  const toolDefHash = hashJson(contract);
  const auditRun = await airlock.sessions.open(workflow, principal, 'mcp-http');
  const subject = { runId: auditRun.id, principal };
  const auditCall = async (): Promise<[number, number]> => {
    const argsRef = airlock.audit.payloadRef({ ...ARGS }, INITIAL_LABELS.classification);
    const actionHash = hashJson({ tool: contract.name, args: ARGS, run: auditRun.id, requester: 'agent:refund-bot' });
    const t0 = process.hrtime.bigint();
    await airlock.audit.append(subject, [
      {
        type: 'action.intent',
        body: { tool: contract.name, step: 0, toolDefHash, argsHash: argsRef.hash, actionHash, labels: { ...INITIAL_LABELS } },
        payloads: [argsRef],
      },
      {
        type: 'action.decision',
        body: { tool: contract.name, actionHash, decision: 'allow', policyIds: [...decision.basis.policyIds], policySetHash: decision.basis.policySetHash, reasons: [...decision.basis.reasons] },
      },
    ]);
    const t1 = process.hrtime.bigint();
    const resultRef = airlock.audit.payloadRef(result, contract.classification);
    await airlock.audit.append(subject, [
      {
        type: 'action.executed',
        body: { tool: contract.name, actionHash, approvalId: null, outcome: 'ok', resultHash: resultRef.hash, compensation: null, irreversible: contract.irreversible },
        payloads: [resultRef],
      },
    ]);
    const t2 = process.hrtime.bigint();
    return [Number(t1 - t0) / 1000, Number(t2 - t1) / 1000];
  };

  // Runs made the way an agent makes them, by calls through sessions.call: one at 25 calls (a session at the end of the
  // shipped budget), one at `longCalls` (a long session; the parts' workspace lifts the budget for it).
  const callIn = async (id: RunId): Promise<number> => {
    const t0 = process.hrtime.bigint();
    const out = await airlock.sessions.call(id, principal, { tool: contract.name, args: { ...ARGS } });
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    if (out.kind !== 'executed') throw new Error(`sessions.call: ${out.kind === 'refused' ? out.reason : out.kind}`);
    return us;
  };
  const runOf = async (calls: number): Promise<RunId> => {
    const run = await airlock.sessions.open(workflow, principal, 'mcp-http');
    for (let i = 0; i < calls; i++) await callIn(run.id);
    return run.id;
  };
  const longCalls = Math.max(20, Math.round(1000 * scale));
  const run25 = await runOf(25);
  const runLong = await runOf(longCalls);
  // The short run is kept between SHORT_FROM and SHORT_TO calls deep: reopened (untimed) when it gets there.
  const SHORT_FROM = 10;
  const SHORT_TO = 20;
  let runShort = await runOf(SHORT_FROM);
  let shortDepth = SHORT_FROM;
  const shortCall = async (): Promise<number> => {
    if (shortDepth >= SHORT_TO) {
      await airlock.sessions.close(runShort, principal);
      runShort = await runOf(SHORT_FROM);
      shortDepth = SHORT_FROM;
    }
    shortDepth++;
    return callIn(runShort);
  };
  const runLoad = async (id: RunId) => {
    const run = await airlock.store.getRun(id);
    if (!run) throw new Error(`run ${id} vanished`);
    return run;
  };
  const stateText = JSON.stringify((await runLoad(run25)).state);
  const stateValue: unknown = JSON.parse(stateText);
  /** The check a run's state would cost if it were walked as JSON on every load (the store reads it as unknown; run-state.ts parses each stored version once). */
  const jsonCheck = z.json();
  /** The save alone (the load before it untimed). */
  const runSave = async (id: RunId, n: number): Promise<number[]> => {
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const run = await runLoad(id);
      const t0 = process.hrtime.bigint();
      await airlock.store.saveRun({ ...run, version: run.version + 1, updatedAt: new Date().toISOString(), state: { ...(run.state as JsonObject) } });
      lat.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    return lat;
  };

  // The door's per-principal sliding window, holding a minute of calls at 10,000 calls per minute.
  const WINDOW = 10_000;
  const limiter = new RateLimiter(1_000_000_000);
  const step = 60_000 / WINDOW;
  let clock = 1_000_000_000;
  for (let i = 0; i < WINDOW; i++) limiter.take('agent:refund-bot', (clock += step));

  // The MCP handler's work without HTTP: sessions.call (run load, budget, gateway.propose, run save).
  let sessionRun: RunId | null = null;
  let sessionCalls = 0;
  const sessionCall = async (): Promise<number> => {
    if (sessionRun === null || sessionCalls >= SESSION_CALLS) {
      if (sessionRun !== null) await airlock.sessions.close(sessionRun, principal);
      sessionRun = (await airlock.sessions.open(workflow, principal, 'mcp-http')).id;
      sessionCalls = 0;
    }
    sessionCalls++;
    const t0 = process.hrtime.bigint();
    const out = await airlock.sessions.call(sessionRun, principal, { tool: contract.name, args: { ...ARGS } });
    const us = Number(process.hrtime.bigint() - t0) / 1000;
    if (out.kind !== 'executed') throw new Error(`sessions.call: ${out.kind}`);
    return us;
  };

  /** `k` iterations at full size, scaled; at least 2. */
  const n = (k: number): number => Math.max(2, Math.round(k * scale));
  const loop = async (count: number, fn: () => unknown): Promise<number[]> => {
    const lat: number[] = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      const r = fn();
      if (r instanceof Promise) await r;
      lat[i] = Number(process.hrtime.bigint() - t0) / 1000;
    }
    return lat;
  };

  // Warm every path once (JIT, statement caches, the connector process).
  await loop(n(200), () => authenticator.authenticate(header));
  await loop(n(200), () => decide(airlock.policies, request));
  await loop(n(50), forward);
  for (let i = 0; i < n(5); i++) await auditCall();
  await runSave(run25, 2);
  for (let i = 0; i < n(10); i++) await sessionCall();

  return {
    stateBytes: stateText.length,
    longCalls,
    async measure() {
      const m = new Map<PartKey, number[]>();
      m.set('auth', await loop(n(2000), () => authenticator.authenticate(header)));
      m.set('decide', await loop(n(2000), () => decide(airlock.policies, request)));
      m.set('rateLimit', await loop(n(2000), () => limiter.take('agent:refund-bot', (clock += step))));
      m.set('forward', await loop(n(150), forward));
      const sc: number[] = [];
      for (let i = 0; i < n(100); i++) sc.push(await sessionCall());
      m.set('sessionCall', sc);
      const intent: number[] = [];
      const outcome: number[] = [];
      const both: number[] = [];
      for (let i = 0; i < n(40); i++) {
        const [a, b] = await auditCall();
        intent.push(a);
        outcome.push(b);
        both.push(a + b);
      }
      m.set('auditIntent', intent);
      m.set('auditOutcome', outcome);
      m.set('auditBoth', both);
      m.set('runLoad25', await loop(n(200), () => runLoad(run25)));
      m.set('runParse25', await loop(n(200), () => JSON.parse(stateText)));
      m.set('runCheck25', await loop(n(200), () => jsonCheck.safeParse(stateValue)));
      m.set('runSave25', await runSave(run25, n(40)));
      // Interleaved, so both see the same machine: a call in a long session and one in a short session.
      const short: number[] = [];
      const long: number[] = [];
      for (let i = 0; i < n(100); i++) {
        short.push(await shortCall());
        long.push(await callIn(runLong));
      }
      m.set('callShort', short);
      m.set('callLong', long);
      return m;
    },
  };
}

// --- the suite ---------------------------------------------------------------------------------------------------------

function stats(xs: readonly number[]): { p50: number; p99: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99) };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export const run: BenchSuite = async (opts?: BenchOptions) => {
  const size = sized(opts, FULL, SMOKE);
  const started = performance.now();
  const ws = benchWorkspace();
  const partsWs = benchWorkspace({ longRuns: true });
  const children: ChildProcess[] = [];
  const doors: Door[] = [];
  let partsAirlock: Airlock | null = null;
  try {
    const fsyncs: number[] = [];
    // Same upstream binary and database file for all three doors; each door has its own upstream process.
    // The two door processes start side by side (startup is not timed); whichever started is stopped at the end.
    const [proxyStart, alStart] = await Promise.allSettled([startMcpProxy(ws.acmeDb), startAirlockProcess(ws.dir)]);
    for (const started of [proxyStart, alStart]) if (started.status === 'fulfilled') children.push(started.value.child);
    if (proxyStart.status === 'rejected') throw proxyStart.reason;
    if (alStart.status === 'rejected') throw alStart.reason;
    const proxy = proxyStart.value;
    const al = alStart.value;
    doors.push(await directDoor(ws.acmeDb));
    doors.push(await proxyDoor(proxy.url, proxy.child.pid, Math.max(TPUT_CLIENTS, size.loadClients)));
    const airlockD = airlockDoor(al.url, ws.key, al.child.pid);
    {
      const s = await httpSession(al.url, { Authorization: `Bearer ${ws.key}` }, 'bench-doors');
      await checkOrder(s.client, 'orders.get_order', 'Airlock');
      await s.close();
    }
    doors.push(airlockD);
    partsAirlock = await openAirlock(partsWs.dir);
    const parts = await airlockParts(partsAirlock, partsWs.key, size.parts);

    // Warm-up: JIT, connection pools, the upstream processes.
    for (const d of doors) {
      await d.latency(size.warmLat);
      await d.throughput(TPUT_CLIENTS, size.warmTput);
    }

    doorCpu.clear();
    const lat = new Map<DoorKey, number[]>(doors.map((d) => [d.key, []]));
    const tput = new Map<DoorKey, number[]>(doors.map((d) => [d.key, []]));
    const opens = new Map<DoorKey, number[]>(doors.map((d) => [d.key, []]));
    const pings = new Map<DoorKey, number[]>(doors.map((d) => [d.key, []]));
    const loadLat = new Map<DoorKey, number[]>(doors.map((d) => [d.key, []]));
    const loadTput = new Map<DoorKey, number[]>(doors.map((d) => [d.key, []]));
    const partSamples = new Map<PartKey, number[]>();
    for (let r = 0; r < size.rounds; r++) {
      // Rotate the order so no door always runs first (or right after another's burst).
      const order = doors.map((_, i) => doors[(i + r) % doors.length] as Door);
      for (const d of order) lat.get(d.key)?.push(...(await d.latency(size.latCalls)));
      for (const d of order) pings.get(d.key)?.push(...(await d.ping(size.pingCalls)));
      for (const d of order) tput.get(d.key)?.push((await d.throughput(TPUT_CLIENTS, size.tputCalls)).perS);
      // Many clients at once, each its own session: the tail a crowd of agents sees.
      for (const d of order) {
        const r = await d.throughput(size.loadClients, size.loadCalls);
        loadLat.get(d.key)?.push(...r.lat);
        loadTput.get(d.key)?.push(r.perS);
      }
      for (const d of order) {
        if (!d.sessionOpen) continue;
        for (let i = 0; i < size.opens; i++) opens.get(d.key)?.push(await d.sessionOpen());
      }
      for (const [k, xs] of await parts.measure()) partSamples.set(k, [...(partSamples.get(k) ?? []), ...xs]);
      fsyncs.push(fsyncRate(ws.dir, 100));
    }

    const res = new Map(
      doors.map((d) => {
        const s = stats(lat.get(d.key) ?? []);
        const o = opens.get(d.key) ?? [];
        return [d.key, { ...s, ping: stats(pings.get(d.key) ?? []).p50, tput: median(tput.get(d.key) ?? []), open: o.length > 0 ? stats(o).p50 : undefined }] as const;
      }),
    );
    const cpuPerCall = (pid: number | undefined): number => {
      const acc = pid === undefined ? undefined : doorCpu.get(pid);
      return acc && acc.calls > 0 ? acc.us / acc.calls : NaN;
    };
    const cpuB = cpuPerCall(proxy.child.pid);
    const cpuC = cpuPerCall(al.child.pid);
    const a = res.get('direct');
    const b = res.get('proxy');
    const c = res.get('airlock');
    if (!a || !b || !c) throw new Error('a door is missing');
    const part = (k: PartKey) => stats(partSamples.get(k) ?? []);
    const row = (name: string, k: PartKey, note?: string): BenchResult => {
      const s = part(k);
      return {
        suite: SUITE,
        name,
        metrics: { p50_us: round1(s.p50), p99_us: round1(s.p99), share_of_c_p50_pct: round1((100 * s.p50) / c.p50) },
        ...(note ? { notes: [note] } : {}),
      };
    };
    const sc = part('sessionCall');
    // sessions.call loads the run twice (owned, then record) and saves it once.
    const sumParts = part('decide').p50 + part('auditBoth').p50 + part('forward').p50 + 2 * part('runLoad25').p50 + part('runSave25').p50;
    const wall = (performance.now() - started) / 1000;
    const fsyncPerS = median(fsyncs);
    const ratioP50 = c.p50 / b.p50;
    const ratioTput = c.tput / b.tput;
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');

    return [
      {
        suite: SUITE,
        name: '(a) direct: MCP SDK client → orders over stdio',
        metrics: { p50_us: round1(a.p50), p99_us: round1(a.p99), calls_per_s: round1(a.tput), ping_p50_us: round1(a.ping) },
      },
      {
        suite: SUITE,
        name: `(b) mcp-proxy ${proxy.version} (Streamable HTTP → stdio), SDK StreamableHTTPClientTransport`,
        metrics: { p50_us: round1(b.p50), p99_us: round1(b.p99), calls_per_s: round1(b.tput), cpu_per_call_us: round1(cpuB), ping_p50_us: round1(b.ping), session_open_us: round1(b.open ?? NaN) },
      },
      {
        suite: SUITE,
        name: '(c) Airlock /mcp (API key, Cedar decision, 2 durable audit commits + run save), same client',
        metrics: { p50_us: round1(c.p50), p99_us: round1(c.p99), calls_per_s: round1(c.tput), cpu_per_call_us: round1(cpuC), ping_p50_us: round1(c.ping), session_open_us: round1(c.open ?? NaN) },
      },
      {
        suite: SUITE,
        name: 'ratio Airlock / mcp-proxy',
        metrics: { ratio_p50: round3(ratioP50), ratio_p99: round3(c.p99 / b.p99), ratio_calls_per_s: round3(ratioTput), ratio_cpu_per_call: round3(cpuC / cpuB) },
        notes: [
          `target: Airlock no slower than the plain proxy: p50 ratio ≤ 1.0 (${verdict(ratioP50 <= 1)}), p99 ratio ≤ 1.0 (${verdict(c.p99 / b.p99 <= 1)}), throughput ratio ≥ 1.0 (${verdict(ratioTput >= 1)})`,
        ],
      },
      ...doors.map((d): BenchResult => {
        const s = stats(loadLat.get(d.key) ?? []);
        return {
          suite: SUITE,
          name: `crowd: ${size.loadClients} concurrent clients, each its own session: ${d.key}`,
          metrics: { p50_us: round1(s.p50), p99_us: round1(s.p99), calls_per_s: round1(median(loadTput.get(d.key) ?? [])) },
          ...(d.key === 'airlock' ? { notes: [`target: p99 under 100 ms: ${verdict(s.p99 < 100_000)}`] } : {}),
        };
      }),
      {
        suite: SUITE,
        name: 'ratio Airlock / direct',
        metrics: { ratio_p50: round3(c.p50 / a.p50), ratio_p99: round3(c.p99 / a.p99), ratio_calls_per_s: round3(c.tput / a.tput) },
      },
      row('part: authenticate (createAuthenticator().authenticate, Bearer API key)', 'auth'),
      row('part: decide() on the compiled policies (orders.get_order, refund-bot)', 'decide'),
      row('part: rate-limit window take (10,000 calls in the last minute)', 'rateLimit'),
      row('part: audit append 1, intent + decision (AuditWriter.append, 1 durable commit)', 'auditIntent'),
      row('part: audit append 2, outcome (AuditWriter.append, 1 durable commit)', 'auditOutcome'),
      row('part: audit, both appends of one call (2 durable commits)', 'auditBoth'),
      row('part: forwarding alone (connectors.get("orders").call, stdio)', 'forward'),
      row('part: run-state load (store.getRun, JSON.parse), 25-call run; 2 per call', 'runLoad25'),
      row(`part: of which JSON.parse of the run state alone (${parts.stateBytes.toLocaleString('en-US')} bytes, the same at any depth)`, 'runParse25'),
      row('part: a z.json() walk of the parsed state (not on the path: a stored version is parsed once, run-state.ts)', 'runCheck25'),
      row('part: run-state save (store.saveRun, 1 durable commit), 25-call run; 1 per call', 'runSave25'),
      row('in process: sessions.call (what the MCP handler runs, no HTTP)', 'sessionCall'),
      row(`in process: sessions.call in a session ${SHORT_DEPTH_NOTE} calls deep`, 'callShort'),
      row(`in process: sessions.call in a session ${parts.longCalls.toLocaleString('en-US')}+ calls deep, interleaved with the row above`, 'callLong'),
      {
        suite: SUITE,
        name: `ratio: a call ${parts.longCalls.toLocaleString('en-US')}+ calls deep / one ${SHORT_DEPTH_NOTE} deep`,
        metrics: { ratio_p50: round3(part('callLong').p50 / part('callShort').p50), ratio_p99: round3(part('callLong').p99 / part('callShort').p99) },
        notes: [`target: within 10% (p50 ratio ≤ 1.10): ${verdict(part('callLong').p50 / part('callShort').p50 <= 1.1)}`],
      },
      {
        suite: SUITE,
        name: 'derived: where (c) p50 goes',
        metrics: {
          http_mcp_layer_us: round1(c.p50 - sc.p50),
          ping_airlock_minus_proxy_us: round1(c.ping - b.ping),
          gateway_other_us: round1(sc.p50 - sumParts),
          proxy_hop_us: round1(b.p50 - a.p50),
          airlock_added_vs_proxy_us: round1(c.p50 - b.p50),
        },
        notes: [
          'cpu_per_call_us: CPU (user + system) the door process itself spent per timed tool call, from /proc (upstream process excluded; fsync waits are not CPU)',
          'ping_p50_us: an MCP `ping` through the same door (HTTP, auth, session lookup, MCP framing; no tool call)',
          'http_mcp_layer = (c) p50 - sessions.call p50 (Hono, auth, rate limit, MCP transport, client); gateway_other = sessions.call p50 - (decide + 2 audit commits + forwarding + 2 run loads + run save) p50 (argument validation, hashing, payload refs, spans, scheduling); proxy_hop = (b) p50 - (a) p50',
          `this disk: ${Math.round(fsyncPerS)} fdatasync/s (${round1(1e6 / fsyncPerS)} µs each; median of a 100 ms probe per round); ${os.cpus().length} CPUs; whole suite ${round1(wall)} s`,
          `${size.rounds} interleaved rounds, order rotated each round; latency: ${size.latCalls} sequential calls per door per round, p50/p99 over all ${size.rounds * size.latCalls}; throughput: ${TPUT_CLIENTS} concurrent clients, ${size.tputCalls} calls per door per round, median of rounds`,
          `doors (b) and (c) each run in their own process with their own upstream process; (a) multiplexes its concurrent callers on one stdio connection`,
          `Airlock: a fresh MCP session (run) every ${SESSION_CALLS} calls (the workflow's step budget is 30), opened before the timed calls; session_open_us = initialize round trip`,
          `parts are measured in this process on a second copy of the workspace (own store, own orders process), in the same rounds`,
        ],
      },
    ];
  } finally {
    for (const d of doors) await d.close().catch(() => undefined);
    for (const ch of children) await stopChild(ch);
    await partsAirlock?.close().catch(() => undefined);
    ws.cleanup();
    partsWs.cleanup();
  }
};

// `node dist/bench/doors.js serve-airlock <dir>`: the Airlock door's process.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'serve-airlock') {
  const dir = process.argv[3];
  if (!dir) throw new Error('usage: doors.js serve-airlock <workspace dir>');
  serveAirlock(dir).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
