// The crash harness's worker (bench/crash.ts SIGKILLs it at random points, or it kills itself at a planned
// durable step): recovers every unfinished run of a workspace, then works scripted refund-desk runs,
// printing one JSON line per event on stdout.
import { isEntryPoint } from '../src/util/entry-point.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openAirlock, type Airlock } from '../src/airlock.js';
import { createAuthenticator } from '../src/identity/authenticate.js';
import { localApprover, vote, type Approver } from '../src/gateway/approvals/vote.js';
import type { HistoryItem, Model, ModelInput, ModelTurn } from '../src/orchestration/model.js';
import type { RunState } from '../src/orchestration/run-machine.js';
import type { RunRecord } from '../src/store/store.js';
import type { Json, JsonObject, RunStatus } from '../src/types.js';

/** The workflow every crash run works. */
export const CRASH_WORKFLOW = 'refund-desk';

/** Who approves pending refunds after (or between) kills; step-up takes both, priya first. */
export const CRASH_APPROVERS = ['user:priya', 'user:dana'] as const;

/**
 * The approvers as they sign in: priya on this machine's account (`--as priya`), dana with her own
 * demo API key (four eyes need two logins), authenticated as the CLI's `--key` does it.
 */
async function crashApprovers(airlock: Airlock): Promise<Map<string, Approver>> {
  const out = new Map<string, Approver>([['user:priya', localApprover(airlock.principal('user:priya'))]]);
  const keyFile = path.join(airlock.workspace.dir, 'demo-keys', 'dana.key');
  if (existsSync(keyFile)) {
    const res = await createAuthenticator(airlock.workspace).authenticate(`Bearer ${readFileSync(keyFile, 'utf8').trim()}`);
    if (!res.ok) throw new Error(`dana's demo key was refused: ${res.error}`);
    out.set('user:dana', { principal: res.principal, auth: { issuer: res.issuer, subject: res.subject, method: res.method, amr: res.amr, authTime: res.authTime ?? null } });
  } else {
    out.set('user:dana', localApprover(airlock.principal('user:dana')));
  }
  return out;
}

/** The reason every harness approval gives. */
export const CRASH_APPROVAL_REASON = 'crash harness';

/** Statuses a run can still move on from (the recovery pass drives each of them to an end). */
export const UNENDED: readonly RunStatus[] = ['queued', 'running', 'awaiting-approval'];

/** The connectors the runs call. */
const CRASH_CONNECTORS = ['tickets', 'orders', 'payments'] as const;

/** The seeded tickets (each run comments on one and resolves it). */
const TICKETS = ['T-311', 'T-305', 'T-318'] as const;

/** The seeded EUR orders that can be refunded (1207 is cancelled and in USD). */
const ORDERS = ['1182', '1163', '1190', '1201'] as const;

/** 32-bit FNV-1a of a string: the deterministic choices of run `n` (no state, no clock). */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The input of the `n`-th crash run: a ticket, an order and a small refund (10 to 89 cents, so
 * ~2,000 runs fit in what the seeded orders can refund); every 40th asks above 50.00 EUR (step-up).
 */
export function crashRunInput(n: number): JsonObject {
  const h = fnv(`crash-run-${n}`);
  const stepUp = n % 40 === 39;
  return {
    ticket_id: TICKETS[h % TICKETS.length] as string,
    order_id: stepUp ? '1201' : (ORDERS[(h >>> 8) % ORDERS.length] as string),
    amount_cents: stepUp ? 5001 + ((h >>> 16) % 500) : 10 + ((h >>> 16) % 80),
    n,
  };
}

/** The latest successful result of `tool` in a run's history. */
function resultOf(history: readonly HistoryItem[], tool: string): JsonObject | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const h = history[i] as HistoryItem;
    if (h.kind === 'tool_result' && h.tool === tool && h.status === 'ok') return h.content as JsonObject;
  }
  return undefined;
}

/**
 * The harness's deterministic model: read the ticket, the order and its refunds, refund at most what
 * is still refundable (nothing if nothing is), comment, resolve. Each turn is computed from the run's
 * history alone, so it continues correctly in a new process. Any result that is not `ok` ends the run
 * with `gave-up`: it never retries (after a connector failure the effect may have happened).
 */
export class CrashDeskModel implements Model {
  readonly provider = 'airlock-bench';
  readonly model = 'crash-desk';

  async next(input: ModelInput): Promise<ModelTurn> {
    const { history } = input;
    const last = history[history.length - 1];
    if (last?.kind === 'tool_result' && last.status !== 'ok') {
      return { kind: 'final', text: `\`${last.tool}\` came back ${last.status}; stopping for a person to look`, claim: 'gave-up' };
    }
    const called = new Set(history.flatMap((h) => (h.kind === 'tool_call' ? [h.tool] : [])));
    const ticketId = String(input.input['ticket_id']);
    const orderId = String(input.input['order_id']);
    const n = Number(input.input['n']);
    const call = (tool: string, args: JsonObject, reasoning: string): ModelTurn => ({ kind: 'tool_call', tool, args, reasoning });

    if (!called.has('tickets.get_ticket')) return call('tickets.get_ticket', { ticket_id: ticketId }, 'Read the ticket.');
    if (!called.has('orders.get_order')) return call('orders.get_order', { order_id: orderId }, 'Check the order and its total.');
    if (!called.has('payments.list_refunds')) return call('payments.list_refunds', { order_id: orderId }, 'See what was already refunded.');
    const order = resultOf(history, 'orders.get_order');
    const listed = resultOf(history, 'payments.list_refunds');
    const refunds = Array.isArray(listed?.['refunds']) ? (listed['refunds'] as JsonObject[]) : [];
    const refunded = refunds.filter((r) => r['status'] === 'completed').reduce((s, r) => s + Number(r['amount_cents']), 0);
    const refundable = order && order['status'] !== 'cancelled' ? Number(order['total_cents']) - refunded : 0;
    const amount = Math.min(Number(input.input['amount_cents']), refundable);
    if (amount > 0 && !called.has('payments.refund')) {
      return call(
        'payments.refund',
        { order_id: orderId, amount_cents: amount, currency: String(order?.['currency'] ?? 'EUR'), reason: `crash harness run ${n}: damaged item` },
        `Refund ${amount} cents of the ${refundable} still refundable.`,
      );
    }
    if (!called.has('tickets.comment')) {
      const receipt = resultOf(history, 'payments.refund');
      const body = receipt
        ? `Refunded ${amount} cents on order ${orderId} (${String(receipt['refund_id'])}); crash harness run ${n}.`
        : `Nothing left to refund on order ${orderId}; crash harness run ${n}.`;
      return call('tickets.comment', { ticket_id: ticketId, body }, 'Record what was done.');
    }
    if (!called.has('tickets.set_status')) return call('tickets.set_status', { ticket_id: ticketId, status: 'resolved' }, 'The request is handled.');
    return { kind: 'final', text: `run ${n} handled`, claim: 'done' };
  }
}

/** One event line for the harness (stdout to a pipe is synchronous on Linux: a line written is never lost to a kill). */
function emit(event: Record<string, Json>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** Casts the votes a pending approval still needs (priya, then dana for step-up), skipping anyone who already voted. */
async function approveAll(airlock: Airlock, approvers: ReadonlyMap<string, Approver>, run: RunRecord): Promise<void> {
  const pending = (run.state as unknown as RunState).pending;
  if (!pending) return;
  for (const who of CRASH_APPROVERS) {
    const a = await airlock.store.getApproval(pending.approvalId);
    if (!a || a.status !== 'pending') return;
    const approver = approvers.get(who);
    if (!approver || a.decisions.some((d) => d.approver === who)) continue;
    const out = await vote(airlock.approvalDeps, a.id, approver, 'approve', CRASH_APPROVAL_REASON);
    emit({ ev: 'vote', run: run.id, approval: a.id, by: who, outcome: out.kind === 'recorded' ? out.approval.status : `refused: ${out.reason}` });
  }
}

/** Approves and resumes `run` until it ends (or stops moving: an approval that cannot be decided). */
async function settle(airlock: Airlock, approvers: ReadonlyMap<string, Approver>, start: RunRecord): Promise<RunRecord> {
  let run = start;
  for (let i = 0; i < 10 && UNENDED.includes(run.status); i++) {
    if (run.status === 'awaiting-approval') await approveAll(airlock, approvers, run);
    const next = await airlock.runner.resume(run.id);
    if (next.status === run.status && next.version === run.version) return next; // nothing moved
    run = next;
  }
  return run;
}

/** The recovery pass: every run not ended is approved if waiting and resumed, until none is left. */
async function recover(airlock: Airlock, approvers: ReadonlyMap<string, Approver>): Promise<void> {
  const stuck = new Set<string>();
  for (let pass = 0; ; pass++) {
    const open = (await airlock.store.listRuns()).filter((r) => UNENDED.includes(r.status) && !stuck.has(r.id));
    if (pass === 0) {
      // What the previous process left behind: where it was killed, as the store tells it.
      const found = open.map((r) => {
        const st = r.state as unknown as RunState;
        return { run: r.id, status: r.status, inFlight: st.inFlight?.tool ?? null, pending: st.pending?.tool ?? null };
      });
      emit({ ev: 'found', runs: found });
    }
    if (open.length === 0) return;
    for (const r of open.reverse()) {
      const st = r.state as unknown as RunState;
      emit({ ev: 'recover', run: r.id, status: r.status, inFlight: st.inFlight?.tool ?? null, pending: st.pending?.tool ?? null, n: Number(st.input['n']) });
      const end = await settle(airlock, approvers, r);
      emit({ ev: 'resumed', run: r.id, status: end.status, reason: (end.state as unknown as RunState).reason });
      if (UNENDED.includes(end.status)) stuck.add(r.id);
    }
  }
}

/** What a store call or a connector call did, in a few words (for the harness's report). */
function describeStep(method: string, args: readonly unknown[]): string {
  const [first, , third] = args as [unknown, unknown, unknown];
  if (method === 'appendAudit') return `audit ${(first as readonly { type: string }[]).map((d) => d.type).join(' + ')}`;
  if (method === 'saveRun') return `save run (${(first as RunRecord).status})`;
  if (method === 'updateApproval') return `approval → ${(third as { status: string }).status}`;
  return method === 'createRun' ? 'create run' : 'create approval';
}

/**
 * Arms a kill at a durable step: this process SIGKILLs itself right after its `k`-th store commit or
 * connector call returns, the instant a crash between two writes would hit. The order of steps is
 * the program's own (one run at a time), so the same `k` lands at the same place again.
 */
function armStepKill(airlock: Airlock, k: number): void {
  let n = 0;
  const step = (what: string): void => {
    if (++n < k) return;
    emit({ ev: 'self-kill', step: n, after: what });
    process.kill(process.pid, 'SIGKILL');
  };
  type Method = (...args: unknown[]) => Promise<unknown>;
  const store = airlock.store as unknown as Record<string, Method>;
  for (const method of ['appendAudit', 'createRun', 'saveRun', 'createApproval', 'updateApproval']) {
    const original = store[method];
    if (!original) throw new Error(`the store has no \`${method}\``);
    store[method] = async (...args: unknown[]) => {
      const out = await original.apply(airlock.store, args);
      step(describeStep(method, args));
      return out;
    };
  }
  for (const name of CRASH_CONNECTORS) {
    const connector = airlock.connectors.get(name);
    const call = connector.call.bind(connector);
    connector.call = async (tool, args, opts) => {
      const out = await call(tool, args, opts);
      step(`${name}.${tool} returned`);
      return out;
    };
  }
}

/** The first line on stdin, parsed as JSON (`{}` when empty); `atEnd` when stdin ends first. A waiting worker's go signal. */
export function firstStdinLine<T>(atEnd: T): Promise<T> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      process.stdin.off('data', onData);
      process.stdin.pause();
      resolve(JSON.parse(buf.slice(0, nl) || '{}') as T);
    };
    process.stdin.on('data', onData);
    process.stdin.on('end', () => resolve(atEnd));
  });
}

/** A standby worker's go signal: `{"runs": N, "killAtStep": K}`, all optional. */
function goSignal(): Promise<{ runs?: number; killAtStep?: number }> {
  return firstStdinLine<{ runs?: number; killAtStep?: number }>({ runs: 0 });
}

/**
 * `<workspace> [--runs N] [--standby]`: open the workspace and start the connectors; with `--standby`,
 * wait for a go line on stdin (the harness sends it once the previous worker is dead); then recover
 * every unfinished run, then start N new runs (default 1,000,000: until killed).
 */
export async function main(argv: readonly string[]): Promise<void> {
  const dir = argv[0];
  if (!dir) throw new Error('usage: crash-worker.js <workspace> [--runs N] [--standby]');
  const at = argv.indexOf('--runs');
  let runs = at >= 0 ? Number(argv[at + 1]) : 1_000_000;
  const t0 = performance.now();
  const airlock = await openAirlock(dir, { modelFor: () => new CrashDeskModel() });
  emit({ ev: 'ready', ms: Math.round(performance.now() - t0) });
  try {
    // The systems the runs use, started side by side (lazily they would start one after the other).
    await Promise.all(CRASH_CONNECTORS.map((c) => airlock.connectors.get(c).listTools()));
    const approvers = await crashApprovers(airlock);
    emit({ ev: 'warm', ms: Math.round(performance.now() - t0) });
    if (argv.includes('--standby')) {
      const go = await goSignal();
      if (typeof go.runs === 'number') runs = go.runs;
      if (typeof go.killAtStep === 'number') armStepKill(airlock, go.killAtStep);
      emit({ ev: 'go' });
    }
    await recover(airlock, approvers);
    for (let k = 0; k < runs; k++) {
      // Runs count from what the store holds, so a killed start is started again with the same input.
      const n = (await airlock.store.listRuns()).length;
      emit({ ev: 'start', n });
      const started = await airlock.runner.start(CRASH_WORKFLOW, crashRunInput(n));
      const end = await settle(airlock, approvers, started);
      emit({ ev: 'finished', run: end.id, n, status: end.status, reason: (end.state as unknown as RunState).reason });
    }
  } finally {
    await airlock.close();
  }
  emit({ ev: 'done' });
}


if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`crash-worker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
