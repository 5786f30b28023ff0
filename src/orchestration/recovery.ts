// Loose ends after a crash: externally driven runs whose process is gone are ended for review, and
// every call that may have reached an upstream with no outcome on record opens an incident naming it.
import { hostname } from 'node:os';
import type { Workspace } from '../config/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AuditRecord, InstanceLease, RunRecord, Store } from '../store/store.js';
import type { Json, RunId } from '../types.js';
import { openIncident } from './incidents.js';
import { isRecord } from '../audit/records.js';
import { runStateOf } from './run-state.js';

/** A call handed to a connector (intent and permission on record) whose outcome was never recorded. */
export interface UnsettledIntent {
  readonly seq: number;
  readonly tool: string;
  readonly actionHash: string;
  readonly step: number | null;
  readonly idempotencyKey: string | null;
}

/** Records that say what became of a call: it ran (or failed), was refused, or was handed to the caller. */
const SETTLING = new Set(['action.executed', 'action.not-executed', 'action.authorized']);

/**
 * The calls of one run (its records, in order) that may have reached an upstream with no outcome
 * recorded. Pure. Per action hash, in order: an intent opens a call; a decision to ask a person
 * marks it waiting; `approval.requested` closes it (it went to a person, nothing ran); a
 * consumption or grant use lets the waiting call (or, resuming later, a new one) go ahead; an
 * outcome (`action.executed`, `action.not-executed`, `action.authorized`) closes it. What is left
 * open and not waiting for a person is unsettled.
 */
export function unsettledIntents(records: readonly AuditRecord[]): UnsettledIntent[] {
  const open = new Map<string, { rec: AuditRecord; waiting: boolean }[]>();
  for (const r of records) {
    const hash = r.body['actionHash'];
    if (typeof hash !== 'string') continue;
    let calls = open.get(hash);
    if (!calls) open.set(hash, (calls = []));
    const last = calls[calls.length - 1];
    if (isRecord(r, 'action.intent')) calls.push({ rec: r, waiting: false });
    else if (isRecord(r, 'action.decision') && r.body.recheck !== true && r.body.decision === 'approval' && last) last.waiting = true;
    else if (isRecord(r, 'approval.requested')) calls.pop();
    else if (isRecord(r, 'approval.consumed') || isRecord(r, 'grant.used')) {
      if (!last) calls.push({ rec: r, waiting: false });
      else last.waiting = false;
    } else if (SETTLING.has(r.type)) calls.pop();
  }
  const out: UnsettledIntent[] = [];
  for (const calls of open.values()) {
    for (const { rec, waiting } of calls) {
      if (waiting) continue;
      const b = rec.body;
      out.push({
        seq: rec.seq,
        tool: typeof b['tool'] === 'string' ? b['tool'] : '?',
        actionHash: String(b['actionHash']),
        step: typeof b['step'] === 'number' ? b['step'] : null,
        idempotencyKey: typeof b['idempotencyKey'] === 'string' ? b['idempotencyKey'] : null,
      });
    }
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** What opening incidents for a run's unsettled intents needs. */
export interface LooseEndDeps {
  readonly store: Store;
  readonly audit: AuditWriter;
  readonly now: () => Date;
  readonly workspace: Workspace;
}

/**
 * Opens one `unknown-outcome` incident per unsettled intent of `runId` (idempotent: keyed by the
 * intent's seq), naming the call, its step and its idempotency key. Returns the incident ids.
 */
export async function openUnknownOutcomes(deps: LooseEndDeps, runId: RunId): Promise<string[]> {
  const loose = unsettledIntents(await deps.store.readAuditForRun(runId));
  const ids: string[] = [];
  for (const u of loose) {
    const { incident } = await openIncident(deps, {
      runId,
      kind: 'unknown-outcome',
      key: `intent-${u.seq}`,
      title: `the call to \`${u.tool}\`${u.step === null ? '' : ` (step ${u.step})`} in run ${runId} may have reached the upstream, and its outcome was never recorded`,
      evidence: {
        intentSeq: u.seq,
        tool: u.tool,
        actionHash: u.actionHash,
        step: u.step,
        idempotencyKey: u.idempotencyKey,
        advice: 'check the upstream system (ground truth) for this call before retrying it; a retry with the same idempotency key is safe where the upstream honours it',
      } as Json,
    });
    ids.push(incident.id);
  }
  return ids;
}

/** This process as a lease holder. */
export interface InstanceIdentity {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
}

/** Whether a process id is alive on this host (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a lease still speaks for a live process: not expired and, when it is on this host, its
 * process still exists (so a restart after a crash need not wait for the lease to run out). Pure
 * but for `alive`.
 */
export function leaseLive(lease: InstanceLease, nowMs: number, host: string, alive: (pid: number) => boolean = pidAlive): boolean {
  if (Date.parse(lease.expiresAt) <= nowMs) return false;
  return lease.host !== host || alive(lease.pid);
}

/** The runs this pass ended and the incidents it opened. */
export interface RecoveryReport {
  readonly ended: readonly RunId[];
  readonly incidents: readonly string[];
}

/** What `recoverOrphans` needs: the store, and how an external run is ended (sessions.ts). */
export interface RecoveryDeps extends LooseEndDeps {
  readonly self: InstanceIdentity;
  /** Ends an orphaned external run as failed with `reason` (status, records and withdrawn approvals together). */
  readonly endRun: (run: RunRecord, reason: string) => Promise<void>;
  readonly alive?: (pid: number) => boolean;
}

/**
 * Finds externally driven runs still `running` whose driving process is gone (its lease expired,
 * or its process died on this host; runs saved before leases existed count as orphans too), ends
 * each as failed for review, and opens an incident for each call whose outcome was never recorded.
 * Safe to run from any number of processes at once: ending is a compare-and-set on the run, and
 * incidents open once per (run, intent).
 */
export async function recoverOrphans(deps: RecoveryDeps, runningRead?: readonly RunRecord[]): Promise<RecoveryReport> {
  const nowMs = deps.now().getTime();
  // INVARIANT: runs first, then leases. A process takes its lease before it opens a run, so any run
  // listed here has its lease in the list read after it: a live process's run is never taken for an orphan.
  // (`runningRead`: the running runs the caller read just before, for this.)
  const running = runningRead ?? (await deps.store.listRuns({ status: 'running' }));
  const leases = await deps.store.listLeases();
  const live = new Set(leases.filter((l) => l.id === deps.self.id || leaseLive(l, nowMs, deps.self.host, deps.alive)).map((l) => l.id));
  live.add(deps.self.id);
  const ended: RunId[] = [];
  const incidents: string[] = [];
  for (const run of running) {
    const state = runStateOf(run);
    if (state.driver !== 'agent') continue;
    if (state.instance !== undefined && live.has(state.instance)) continue;
    const who = state.instance ? `instance \`${state.instance}\`` : 'a process that kept no lease';
    try {
      await deps.endRun(run, `interrupted: the Airlock process driving this run (${who}) stopped; review its effects before retrying`);
    } catch {
      continue; // another process ended it first (or it moved on): theirs stands
    }
    ended.push(run.id);
    incidents.push(...(await openUnknownOutcomes(deps, run.id)));
  }
  // A dead instance's lease goes once none of its runs is left running.
  const stillDriven = new Set(
    (await deps.store.listRuns({ status: 'running' })).map((r) => runStateOf(r)).flatMap((s) => (s.driver === 'agent' && s.instance ? [s.instance] : [])),
  );
  for (const l of leases) if (!live.has(l.id) && !stillDriven.has(l.id)) await deps.store.dropLease(l.id);
  return { ended, incidents };
}

/** This process's identity for leases: a fresh id per start. */
export function thisInstance(id: string): InstanceIdentity {
  return { id, host: hostname(), pid: process.pid };
}
