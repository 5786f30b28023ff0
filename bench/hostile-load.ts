// Hostile load: well-behaved MCP clients call a counting upstream through `airlock serve` (in process, on loopback)
// while one authenticated hostile client sends issue #9's attacks in parallel. Then: no good call may have failed,
// every upstream execution must have its outcome record (`action.executed`), and the audit chain must verify.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { openAirlock } from '../src/airlock.js';
import { verifyStore } from '../src/audit/log.js';
import { generateApiKey } from '../src/identity/api-keys.js';
import { startHttpServer } from '../src/server/serve.js';
import type { AuditRecord, Store } from '../src/store/store.js';
import { isEntryPoint } from '../src/util/entry-point.js';
import type { Execution } from './counting-upstream.js';
import { benchTables, sized, type BenchOptions, type BenchResult } from './harness.js';
import { hostileRound, RawDoor, type HostileSize, type Tally } from './hostile-client.js';
import { httpSession } from './mcp-client.js';

const SUITE = 'hostile-load';
/** The request size limit of the served workspace (the default). */
const MAX_REQUEST_BYTES = 1_048_576;

/** How big a load run is. */
export interface HostileLoadSize {
  /** Well-behaved clients, each on its own MCP session, calling one after another. */
  readonly goodClients: number;
  /** Each good client makes at least this many calls, and goes on until the hostile client is done. */
  readonly minCalls: number;
  /** A good client starts a fresh session (run) after this many calls. */
  readonly sessionCalls: number;
  /** Rounds of every attack. */
  readonly rounds: number;
  readonly hostile: HostileSize;
}

const FULL: HostileLoadSize = {
  goodClients: 8,
  minCalls: 200,
  sessionCalls: 500,
  rounds: 3,
  hostile: { calls: 20, batchSize: 100, batches: 3, initializes: 1000, initializeConcurrency: 16, oversized: 3 },
};
const SMOKE: HostileLoadSize = {
  goodClients: 2,
  minCalls: 10,
  sessionCalls: 500,
  rounds: 1,
  hostile: { calls: 2, batchSize: 10, batches: 1, initializes: 20, initializeConcurrency: 4, oversized: 1 },
};

// --- the workspace -----------------------------------------------------------------------------------------------------

interface LoadWorkspace {
  readonly dir: string;
  /** The counting upstream's execution log. */
  readonly log: string;
  readonly goodKey: string;
  readonly hostileKey: string;
}

const NOTE_SCHEMA = {
  type: 'object',
  properties: { text: { type: 'string', maxLength: 2_000_000 }, meta: { type: 'object' }, idempotency_key: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['text'],
  additionalProperties: false,
};

/** A workflow of the two note tools for `agent`, with the largest step budget and a long wall time. */
function workflowYaml(name: string, agent: string): string {
  const owner = `${agent}@bench.example`;
  const owners = Object.fromEntries(['product', 'architecture', 'platform', 'security', 'domain', 'compliance'].map((b) => [b, owner]));
  return stringify({ name, description: `Notes, for ${agent}.`, owners, tier: 'execute-low', agent, tools: ['note.write', 'note.read'], budgets: { steps: 10_000, wallTimeMs: 3_600_000 }, model: 'none' });
}

/** A scratch workspace: one connector (the counting upstream), `note.write` (an effect, keyed) and `note.read`, two agents. */
function loadWorkspace(): LoadWorkspace {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-hostile-'));
  const good = generateApiKey();
  const hostile = generateApiKey();
  const log = path.join(dir, '.airlock', 'executions.jsonl');
  mkdirSync(path.dirname(log), { recursive: true });
  writeFileSync(log, '');
  const file = {
    version: 1,
    name: 'hostile-load',
    identity: {
      principals: [
        { id: 'worker', kind: 'agent', roles: ['note-taker'] },
        { id: 'intruder', kind: 'agent', roles: ['note-taker'] },
      ],
      apiKeys: [
        { id: 'worker-key', principal: 'agent:worker', sha256: good.sha256 },
        { id: 'intruder-key', principal: 'agent:intruder', sha256: hostile.sha256 },
      ],
    },
    // The hostile client is not slowed by a rate limit: every attack reaches the door.
    server: { limits: { maxRequestBytes: MAX_REQUEST_BYTES, callsPerMinute: 1_000_000_000 } },
    connectors: { note: { kind: 'mcp-stdio', command: '${node}', args: ['${airlock}/dist/bench/counting-upstream.js', '--log', log] } },
    tools: [
      { name: 'note.write', connector: 'note', description: 'Write a note.', effect: 'write', risk: 'low', classification: 'internal', inputSchema: NOTE_SCHEMA, idempotencyKey: 'idempotency_key', irreversible: true },
      { name: 'note.read', connector: 'note', description: 'Read the notes.', effect: 'read', risk: 'low', classification: 'internal', inputSchema: { ...NOTE_SCHEMA, required: [] } },
    ],
    policies: ['policies/*.cedar'],
    models: { none: { kind: 'scripted', playbook: 'playbook.yaml' } },
    workflows: ['workflows/*.yaml'],
  };
  writeFileSync(path.join(dir, 'airlock.yaml'), stringify(file));
  writeFileSync(path.join(dir, 'playbook.yaml'), 'steps: []\n');
  mkdirSync(path.join(dir, 'policies'));
  writeFileSync(
    path.join(dir, 'policies', 'notes.cedar'),
    '@id("notes")\n@reason("note-takers may read and write notes")\npermit (principal in Airlock::Role::"note-taker", action == Airlock::Action::"call", resource)\nwhen { resource.connector == "note" };\n',
  );
  mkdirSync(path.join(dir, 'workflows'));
  writeFileSync(path.join(dir, 'workflows', 'notes.yaml'), workflowYaml('notes', 'worker'));
  writeFileSync(path.join(dir, 'workflows', 'intruder-notes.yaml'), workflowYaml('intruder-notes', 'intruder'));
  return { dir, log, goodKey: good.key, hostileKey: hostile.key };
}

// --- the good clients --------------------------------------------------------------------------------------------------

interface GoodStats {
  calls: number;
  failed: number;
  readonly failures: string[];
}

/** One good client: alternately writes a note and reads, until it made `minCalls` and the hostile client is done. */
async function goodClient(url: URL, key: string, c: number, size: HostileLoadSize, hostileDone: () => boolean, stats: GoodStats): Promise<void> {
  const open = () => httpSession(url, { Authorization: `Bearer ${key}` }, 'good-client');
  let session = await open();
  try {
    for (let i = 0; i < size.minCalls || !hostileDone(); i++) {
      if (i > 0 && i % size.sessionCalls === 0) {
        await session.close();
        session = await open();
      }
      const write = i % 2 === 0;
      stats.calls++;
      try {
        const r = await session.client.callTool({ name: write ? 'note.write' : 'note.read', arguments: { text: `good ${c}.${i}` } });
        const seq = (r.structuredContent as { seq?: unknown } | undefined)?.seq;
        if (r.isError || typeof seq !== 'number') throw new Error(JSON.stringify(r.content).slice(0, 300));
      } catch (err) {
        stats.failed++;
        if (stats.failures.length < 5) stats.failures.push(`client ${c}, call ${i} (${write ? 'note.write' : 'note.read'}): ${describe(err)}`);
      }
    }
  } finally {
    await session.close();
  }
}

// --- the checks --------------------------------------------------------------------------------------------------------

/** The outcome records of the note tools in the audit trail, and how many records there are in all. */
async function outcomeRecords(store: Store): Promise<{ ok: AuditRecord[]; errors: number; refused: number; total: number }> {
  const ok: AuditRecord[] = [];
  let errors = 0;
  let refused = 0;
  let total = 0;
  for (let from = 1; ; ) {
    const batch = await store.readAudit(from, 2000);
    if (batch.length === 0) break;
    for (const r of batch) {
      total++;
      if (r.type === 'request.refused') refused++;
      if (r.type !== 'action.executed' || !String(r.body['tool']).startsWith('note.')) continue;
      if (r.body['outcome'] === 'ok') ok.push(r);
      else errors++;
    }
    from = (batch[batch.length - 1] as AuditRecord).seq + 1;
  }
  return { ok, errors, refused, total };
}

/** Executions with no outcome record, and outcome records with no execution: writes matched by idempotency key, reads by count. */
function match(executions: readonly Execution[], records: readonly AuditRecord[]): { unrecorded: number; unexecuted: number } {
  const keys = new Map<string, number>();
  for (const e of executions) if (e.tool === 'write') keys.set(String(e.key), (keys.get(String(e.key)) ?? 0) + 1);
  let unexecuted = 0;
  for (const r of records) {
    if (r.body['tool'] !== 'note.write') continue;
    const k = String(r.body['idempotencyKey']);
    const n = keys.get(k) ?? 0;
    if (n > 0) keys.set(k, n - 1);
    else unexecuted++;
  }
  const unrecordedWrites = [...keys.values()].reduce((a, b) => a + b, 0);
  const reads = executions.filter((e) => e.tool === 'read').length;
  const readRecords = records.filter((r) => r.body['tool'] === 'note.read').length;
  return { unrecorded: unrecordedWrites + Math.max(0, reads - readRecords), unexecuted: unexecuted + Math.max(0, readRecords - reads) };
}

/** The columns of a hostile row: each request counted once, by its HTTP status first. */
function buckets(t: Tally): Record<string, number> {
  const out = { sent: 0, ok: 0, tool_error: 0, rpc_error: 0, http_4xx: 0, http_5xx: 0, network_error: 0 };
  for (const [label, n] of t) {
    out.sent += n;
    const status = Number(label.split(' ')[0]);
    if (label === 'network error') out.network_error += n;
    else if (status >= 500) out.http_5xx += n;
    else if (status >= 400) out.http_4xx += n;
    else if (label.includes('rpc')) out.rpc_error += n;
    else if (label.includes('tool error')) out.tool_error += n;
    else out.ok += n;
  }
  return out;
}

// --- the run -----------------------------------------------------------------------------------------------------------

/** The `hostile-load` suite: one load run (a smoke run: 2 good clients, one small round of attacks). */
export async function run(opts?: BenchOptions): Promise<readonly BenchResult[]> {
  const size = sized(opts, FULL, SMOKE);
  const t0 = performance.now();
  const ws = loadWorkspace();
  // A rejection nobody handles would end `airlock serve`; here it is counted, and the run goes on to measure the rest.
  const unhandled: string[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason));
  process.on('unhandledRejection', onUnhandled);
  try {
    const airlock = await openAirlock(ws.dir);
    const server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
    const url = new URL(`${server.url}/mcp`);
    const good: GoodStats = { calls: 0, failed: 0, failures: [] };
    const tallies = new Map<string, Tally>();
    let hostileDone = false;
    let loadSeconds = 0;
    let hostileError: string | null = null;
    let checks: Awaited<ReturnType<typeof outcomeRecords>>;
    let verify: Awaited<ReturnType<typeof verifyStore>>;
    try {
      const door = new RawDoor(server.url, ws.hostileKey);
      const hostile = (async () => {
        try {
          for (let r = 0; r < size.rounds; r++) await hostileRound(door, size.hostile, MAX_REQUEST_BYTES, tallies);
        } catch (err) {
          hostileError = err instanceof Error ? err.message : String(err);
        } finally {
          hostileDone = true;
        }
      })();
      const l0 = performance.now();
      await Promise.all([hostile, ...Array.from({ length: size.goodClients }, (_, c) => goodClient(url, ws.goodKey, c, size, () => hostileDone, good))]);
      loadSeconds = (performance.now() - l0) / 1000;
      door.close();
    } finally {
      // Closes every session still open (the abandoned ones too), then the audit is read whole.
      await server.close();
      checks = await outcomeRecords(airlock.store);
      verify = await verifyStore(airlock.store);
      await airlock.close();
    }
    const executions = readFileSync(ws.log, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Execution);
    const matched = match(executions, checks.ok);
    const byGood = executions.filter((e) => e.text.startsWith('good ')).length;
    const goodFailures = good.failed > 0 ? [`${good.failed} of ${good.calls} good calls failed (must be 0)`, ...good.failures] : [];
    const outcomeFailures = [
      ...(matched.unrecorded > 0 ? [`${matched.unrecorded} of ${executions.length} upstream executions have no outcome record (action.executed)`] : []),
      ...(matched.unexecuted > 0 ? [`${matched.unexecuted} outcome records match no upstream execution`] : []),
      ...(unhandled.length > 0 ? [`${unhandled.length} unhandled promise rejections in the server process (each would end \`airlock serve\`): ${unhandled.slice(0, 3).join('; ')}`] : []),
    ];
    const hostileRows: BenchResult[] = [...tallies].map(([attack, t]) => ({
      suite: SUITE,
      name: `hostile: ${attack}`,
      metrics: buckets(t),
      notes: [`${attack}: ${[...t].map(([label, n]) => `${n}× ${label}`).join(', ')}`],
    }));
    return [
      {
        suite: SUITE,
        name: `good clients: ${size.goodClients} MCP sessions, note.write / note.read, in parallel with the hostile client`,
        metrics: { clients: size.goodClients, calls: good.calls, failed_calls: good.failed, calls_per_s: good.calls / loadSeconds },
        failures: goodFailures,
      },
      {
        suite: SUITE,
        name: 'upstream executions vs outcome records (action.executed, outcome ok)',
        metrics: {
          executions: executions.length,
          outcome_records: checks.ok.length,
          executions_without_outcome: matched.unrecorded,
          outcomes_without_execution: matched.unexecuted,
          unhandled_rejections: unhandled.length,
        },
        notes: [
          `upstream executions: ${byGood} by the good clients, ${executions.length - byGood} by the hostile client; ${checks.errors} error outcomes (the call failed: nothing executed or not known)`,
          'writes are matched one to one by the idempotency key Airlock passed upstream; reads by count',
        ],
        failures: outcomeFailures,
      },
      ...hostileRows,
      {
        suite: SUITE,
        name: 'audit trail after the run (verifyStore, what `airlock audit verify` runs)',
        metrics: { records: checks.total, verify_ok: verify.ok ? 1 : 0 },
        notes: [
          `verify: ${verify.ok ? `ok, ${verify.count} records` : `FAILED at seq ${verify.seq}: ${verify.message}`}; ${checks.refused} request.refused records`,
          `${size.goodClients} good clients (≥ ${size.minCalls} calls each), ${size.rounds} round(s) of attacks by one authenticated hostile client; load phase ${loadSeconds.toFixed(1)} s, whole run ${((performance.now() - t0) / 1000).toFixed(1)} s`,
          ...(hostileError ? [`the hostile client stopped early: ${hostileError}`] : []),
        ],
        failures: verify.ok ? [] : [`audit verify failed at seq ${verify.seq}: ${verify.message}`],
      },
    ];
  } finally {
    process.off('unhandledRejection', onUnhandled);
    rmSync(ws.dir, { recursive: true, force: true });
  }
}

/** `node dist/bench/hostile-load.js [--smoke]`: the table on stdout; exits 1 when an invariant failed. */
async function main(argv: readonly string[]): Promise<void> {
  const results = await run({ smoke: argv.includes('--smoke') });
  process.stdout.write(benchTables(results));
  if (results.some((r) => (r.failures ?? []).length > 0)) process.exitCode = 1;
}

if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`hostile-load failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}

/** An error's message with its causes (fetch reports the socket's error as `cause`). */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, i = 0; e !== undefined && e !== null && i < 4; i++) {
    parts.push(e instanceof Error ? `${e.message}${'code' in e && typeof e.code === 'string' ? ` (${e.code})` : ''}` : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(': ');
}
