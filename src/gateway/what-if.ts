// What a draft policy set would have decided: the last N recorded proposals, each rebuilt exactly as
// policy saw it (arguments from the intent's payload, checked against the action hash; the other
// inputs from the decision's `inputsHash` payload), decided with the current set and with the draft.
// A request that cannot be rebuilt exactly is counted as not replayable, with why; nothing is guessed.
// `airlock policy what-if` and the console's policy page. Reads only; nothing is recorded.
import type { Workspace } from '../config/schema.js';
import { AirlockError } from '../errors.js';
import { compilePolicies, type CompiledPolicies, type PolicySource } from '../policy/compile.js';
import { decide, type PolicyRequest, type ValueStanding } from '../policy/decide.js';
import { isRecord, type TypedRecord } from '../audit/records.js';
import type { AuditRecord, Store } from '../store/store.js';
import type { AuditWriter } from '../audit/writer.js';
import { CLASSIFICATIONS, TIERS, TRUST, type ApprovalLevel, type Decision, type JsonObject, type Principal, type PrincipalKind, type RunId, type Sha256Hex } from '../types.js';
import { hashJson } from '../util/hash.js';
import { actionHash, type DecisionInputs } from './action.js';
import { storedArgProvenance } from '../context/provenance.js';

/** The bounds of a what-if run: untrusted input (the draft, N) and the work one run may do. */
export const WHAT_IF_LIMITS = {
  /** Recorded decisions replayed when N is not given. */
  defaultLast: 500,
  /** The most recorded decisions one run replays. */
  maxLast: 10_000,
  /** The draft policy set's text, all files together (UTF-8 bytes). */
  maxDraftBytes: 256 * 1024,
  /** Audit records read per store query, newest first. */
  readBatch: 2_000,
  /** The most audit records one run reads looking for decisions. */
  maxScanned: 500_000,
  /** Default wall-clock budget of one run (ms): half for reading the trail, the rest for replaying; a run stops there and says so. */
  defaultBudgetMs: 20_000,
} as const;

/** A decision reduced to what the comparison looks at. */
export interface DecisionSummary {
  readonly kind: Decision['kind'];
  readonly level?: ApprovalLevel;
  readonly policyIds: readonly string[];
}

/** How the draft's decision differs from the current set's. */
export type WhatIfChange = 'same' | 'newly-denied' | 'newly-allowed' | 'obligation-changed';

/** One replayed request. */
export interface WhatIfRow {
  readonly seq: number;
  readonly time: string;
  readonly runId: string;
  readonly tool: string;
  readonly principal: string;
  readonly onBehalfOf: string | null;
  /** What the trail says was decided then, under `policySetHash`. */
  readonly recorded: DecisionSummary & { readonly policySetHash: string };
  readonly current: DecisionSummary;
  readonly draft: DecisionSummary & { readonly reasons: readonly string[] };
  readonly change: WhatIfChange;
}

/** A recorded decision whose request could not be rebuilt exactly, and why. */
export interface NotReplayable {
  readonly seq: number;
  readonly time: string;
  readonly runId: string | null;
  readonly tool: string;
  readonly principal: string | null;
  readonly reason: string;
}

export interface WhatIfSummary {
  readonly same: number;
  readonly newlyDenied: number;
  readonly newlyAllowed: number;
  readonly obligationChanged: number;
  readonly notReplayable: number;
}

/** The result of one what-if run; rows newest first. */
export interface WhatIfReport {
  readonly currentPolicySetHash: Sha256Hex;
  readonly draftPolicySetHash: Sha256Hex;
  readonly draftPolicies: number;
  readonly draftWarnings: readonly string[];
  /** N as asked. */
  readonly last: number;
  /** The window's start (ISO-8601) when one was asked: only decisions recorded since then are replayed. */
  readonly since: string | null;
  /** Recorded decisions found (at most N); each is a row or not replayable. */
  readonly examined: number;
  /** Audit records read to find them. */
  readonly scanned: number;
  /** Why the search for N decisions stopped short (the trail's start is not a reason), if it did. */
  readonly stoppedEarly: string | null;
  readonly summary: WhatIfSummary;
  readonly rows: readonly WhatIfRow[];
  readonly notReplayable: readonly NotReplayable[];
}

/** What a what-if run reads. */
export interface WhatIfDeps {
  readonly workspace: Workspace;
  /** The current policy set. */
  readonly policies: CompiledPolicies;
  readonly store: Pick<Store, 'auditHead' | 'readAudit' | 'readAuditForRun' | 'getPayload'>;
  /** Recomputes a payload's (keyed) hash, to check the stored decision inputs are the ones recorded. */
  readonly audit: Pick<AuditWriter, 'payloadRef'>;
}

/** How far before a window's start the search goes on: appends from several processes carry their own clocks. */
const WINDOW_SLACK_MS = 5 * 60_000;

/** N as given (a CLI option or a form field): a whole number from 1 to `maxLast`, else an `input` error. */
export function parseLast(text: string | number | undefined): number {
  if (text === undefined || text === '') return WHAT_IF_LIMITS.defaultLast;
  const n = typeof text === 'number' ? text : /^\s*\d{1,9}\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > WHAT_IF_LIMITS.maxLast) {
    throw new AirlockError('input', `the number of recorded decisions to replay must be a whole number from 1 to ${WHAT_IF_LIMITS.maxLast}, not \`${String(text).slice(0, 40)}\``);
  }
  return n;
}

/**
 * Compiles a draft policy set exactly as the workspace's own is compiled (its tool contracts, principals
 * and value budgets: the same schema). Throws `input` when the draft is too large or empty, and
 * `AirlockErrors` (code `policy`, each with file, line and column) when it does not parse or validate.
 */
export function compileDraft(workspace: Workspace, sources: readonly PolicySource[]): CompiledPolicies {
  const bytes = sources.reduce((n, s) => n + Buffer.byteLength(s.text, 'utf8'), 0);
  if (bytes > WHAT_IF_LIMITS.maxDraftBytes) {
    throw new AirlockError('input', `the draft policy set is ${bytes} bytes; at most ${WHAT_IF_LIMITS.maxDraftBytes} are accepted`, { hint: 'replay a smaller draft: only the policy files, no data' });
  }
  if (sources.every((s) => s.text.trim() === '')) {
    throw new AirlockError('input', 'the draft policy set is empty', { hint: 'give the Cedar policies to try (a file or a folder of .cedar files)' });
  }
  return compilePolicies(sources, [...workspace.tools.values()], {
    principals: workspace.file.identity.principals,
    valueBudgets: workspace.file.valueBudgets,
  });
}

/**
 * Replays the last `last` recorded proposals' decisions (newest first; decisions re-made at execution,
 * `recheck`, are the same request again and are skipped) with the current policy set and with `draft`.
 * Stops reading after `WHAT_IF_LIMITS.maxScanned` records or `budgetMs`, saying so in `stoppedEarly`.
 */
export async function whatIf(deps: WhatIfDeps, draft: CompiledPolicies, opts: { readonly last?: number; readonly since?: string; readonly budgetMs?: number } = {}): Promise<WhatIfReport> {
  // A window replays every decision in it, up to the most one replay takes.
  const last = opts.since !== undefined && opts.last === undefined ? WHAT_IF_LIMITS.maxLast : parseLast(opts.last);
  const since = opts.since ?? null;
  const sinceSlack = since === null ? '' : new Date(Date.parse(since) - WINDOW_SLACK_MS).toISOString();
  // Reading the trail may take half the time budget; replaying what was found, the rest.
  const budget = opts.budgetMs ?? WHAT_IF_LIMITS.defaultBudgetMs;
  const started = Date.now();
  const scanDeadline = started + budget / 2;
  const deadline = started + budget;
  const found: TypedRecord<'action.decision'>[] = [];
  const bySeq = new Map<number, AuditRecord>();
  let stoppedEarly: string | null = null;
  let scanned = 0;
  const head = await deps.store.auditHead();
  let cursor = (head?.seq ?? 0) + 1;
  let reachedSince = false;
  while (cursor > 1 && found.length < last && !reachedSince) {
    if (scanned >= WHAT_IF_LIMITS.maxScanned) {
      stoppedEarly = `read ${scanned} audit records (the most one run reads) and found ${found.length} decisions`;
      break;
    }
    if (Date.now() > scanDeadline) {
      stoppedEarly = `the time budget ran out after reading ${scanned} audit records`;
      break;
    }
    const from = Math.max(1, cursor - WHAT_IF_LIMITS.readBatch);
    const batch = await deps.store.readAudit(from, cursor - from);
    scanned += batch.length;
    for (let i = batch.length - 1; i >= 0 && found.length < last; i--) {
      const r = batch[i] as AuditRecord;
      // The trail is in time order but for clocks of several processes: a record well before the window
      // ends the search; one just before it is only skipped.
      if (since !== null && r.time < since) {
        if (r.time < sinceSlack) {
          reachedSince = true;
          break;
        }
        continue;
      }
      if (isRecord(r, 'action.decision') && r.body.recheck !== true) {
        found.push(r);
        // The intent is almost always the record just before its decision (they are appended together).
        const before = batch[i - 1];
        if (before) bySeq.set(before.seq, before);
      }
    }
    cursor = from;
  }

  const runs = new Map<string, Promise<readonly AuditRecord[]>>();
  const rows: WhatIfRow[] = [];
  const notReplayable: NotReplayable[] = [];
  const summary = { same: 0, newlyDenied: 0, newlyAllowed: 0, obligationChanged: 0, notReplayable: 0 };
  let outOfTime = false;
  for (const d of found) {
    if (!outOfTime && Date.now() > deadline) {
      outOfTime = true;
      stoppedEarly = [stoppedEarly, 'the time budget ran out while replaying: the decisions left are counted as not replayable'].filter(Boolean).join('; ');
    }
    const rebuilt: Rebuilt = outOfTime ? { ok: false, reason: 'not replayed: the time budget ran out' } : await rebuild(deps, d, bySeq, runs);
    if (!rebuilt.ok) {
      notReplayable.push({ seq: d.seq, time: d.time, runId: d.runId, tool: d.body.tool, principal: d.principal, reason: rebuilt.reason });
      summary.notReplayable++;
      continue;
    }
    const recorded = recordedSummary(d);
    const current = decide(deps.policies, rebuilt.request);
    // The same policy set must decide the rebuilt request as it was decided: else the rebuild is not exact.
    if (d.body.policySetHash === deps.policies.policySetHash && !sameSummary(recorded, summarize(current))) {
      notReplayable.push({
        seq: d.seq,
        time: d.time,
        runId: d.runId,
        tool: d.body.tool,
        principal: d.principal,
        reason: `the policy set that decided it now decides the rebuilt request \`${label(summarize(current))}\`, not the recorded \`${label(recorded)}\` (the gateway adjusted that decision, or the request differs): not compared`,
      });
      summary.notReplayable++;
      continue;
    }
    const next = decide(draft, rebuilt.request);
    const change = changeOf(current, next);
    summary[change === 'same' ? 'same' : change === 'newly-denied' ? 'newlyDenied' : change === 'newly-allowed' ? 'newlyAllowed' : 'obligationChanged']++;
    rows.push({
      seq: d.seq,
      time: d.time,
      runId: d.runId ?? '',
      tool: d.body.tool,
      principal: d.principal ?? '',
      onBehalfOf: d.onBehalfOf,
      recorded: { ...recorded, policySetHash: d.body.policySetHash },
      current: summarize(current),
      draft: { ...summarize(next), reasons: [...next.basis.reasons] },
      change,
    });
  }
  return {
    currentPolicySetHash: deps.policies.policySetHash,
    draftPolicySetHash: draft.policySetHash,
    draftPolicies: draft.policies.size,
    draftWarnings: draft.warnings,
    last,
    since,
    examined: found.length,
    scanned,
    stoppedEarly,
    summary,
    rows,
    notReplayable,
  };
}

/** `allow`, `deny`, `suggest` or `approval (level)`. */
export function label(d: Pick<DecisionSummary, 'kind' | 'level'>): string {
  return d.kind === 'approval' ? `approval (${d.level ?? '?'})` : d.kind;
}

/** How `next` differs from `before`: a deny appearing or going away, else any other change of kind or approval level. */
export function changeOf(before: Decision, next: Decision): WhatIfChange {
  if (before.kind === next.kind && (before.kind !== 'approval' || next.kind !== 'approval' || before.level === next.level)) return 'same';
  if (next.kind === 'deny') return 'newly-denied';
  if (before.kind === 'deny') return 'newly-allowed';
  return 'obligation-changed';
}

function summarize(d: Decision): DecisionSummary {
  return { kind: d.kind, ...(d.kind === 'approval' ? { level: d.level } : {}), policyIds: [...d.basis.policyIds] };
}

function recordedSummary(d: TypedRecord<'action.decision'>): DecisionSummary {
  const kind = (['allow', 'deny', 'approval', 'suggest'] as const).find((k) => k === d.body.decision) ?? 'deny';
  return { kind, ...(kind === 'approval' && d.body.level ? { level: d.body.level } : {}), policyIds: [...d.body.policyIds] };
}

function sameSummary(a: DecisionSummary, b: DecisionSummary): boolean {
  return a.kind === b.kind && a.level === b.level && [...a.policyIds].sort().join('\n') === [...b.policyIds].sort().join('\n');
}

type Rebuilt = { readonly ok: true; readonly request: PolicyRequest } | { readonly ok: false; readonly reason: string };

/** The request policy saw for decision `d`, rebuilt from the trail and checked; or why it cannot be. */
async function rebuild(
  deps: WhatIfDeps,
  d: TypedRecord<'action.decision'>,
  bySeq: ReadonlyMap<number, AuditRecord>,
  runs: Map<string, Promise<readonly AuditRecord[]>>,
): Promise<Rebuilt> {
  const no = (reason: string): Rebuilt => ({ ok: false, reason });
  const { tool, actionHash: hash, inputsHash } = d.body;
  if (!d.runId || !d.principal) return no('the record names no run or principal');
  if (typeof inputsHash !== 'string') {
    return no('recorded before decisions kept their inputs (the roles, tier and labels policy was given): the request cannot be rebuilt exactly');
  }
  const principal = parseRef(d.principal);
  if (!principal) return no(`the principal \`${d.principal}\` is not a \`kind:id\` reference`);
  const onBehalfOf = d.onBehalfOf ? parseRef(d.onBehalfOf) : undefined;
  if (onBehalfOf === null) return no(`\`onBehalfOf\` \`${d.onBehalfOf ?? ''}\` is not a \`kind:id\` reference`);

  const inputsText = await deps.store.getPayload(inputsHash as Sha256Hex);
  if (inputsText === null) return no('the payload of its decision inputs is no longer stored (retention)');
  const inputs = parseInputs(inputsText);
  if (!inputs) return no('its decision inputs payload does not have the expected shape');
  // The payload must be the one the record hashed (HMAC under the audit key when the labels were sensitive).
  if (deps.audit.payloadRef(inputs as unknown as JsonObject, inputs.labels.classification).hash !== inputsHash) {
    return no('its decision inputs payload does not match the hash on record');
  }

  const intent = await intentOf(deps, d, bySeq, runs);
  if (!intent) return no('its `action.intent` record was not found in the run');
  const contract = deps.workspace.tools.get(tool);
  if (!contract) return no(`tool \`${tool}\` is no longer declared in the workspace`);
  if (intent.body.toolDefHash !== undefined && hashJson(contract) !== intent.body.toolDefHash) {
    return no(`the contract of \`${tool}\` changed since (what policy sees of the call, its effect or risk may differ)`);
  }
  if (typeof intent.body.argsHash !== 'string') return no('its intent records no arguments payload');
  const argsText = await deps.store.getPayload(intent.body.argsHash as Sha256Hex);
  if (argsText === null) return no('its arguments are no longer stored (retention): only their hash is on record');
  let args: unknown;
  try {
    args = JSON.parse(argsText);
  } catch {
    return no('its stored arguments are not JSON');
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return no('its stored arguments are not a JSON object');
  // INVARIANT: the arguments replayed are exactly those decided: the action hash binds tool, arguments, run and requester.
  if (actionHash(tool, args as JsonObject, d.runId as RunId, principal) !== hash) return no('its stored arguments do not match the action hash on record');

  const request: PolicyRequest = {
    principal: { ...principal, roles: [...inputs.roles] },
    ...(onBehalfOf ? { onBehalfOf } : {}),
    tool: contract,
    workflow: inputs.workflow,
    tier: inputs.tier,
    args: args as JsonObject,
    labels: inputs.labels,
    ...(inputs.value ? { value: inputs.value } : {}),
    ...(inputs.provenance ? { provenance: inputs.provenance } : {}),
  };
  return { ok: true, request };
}

/** The intent decision `d` was about: the record before it, else the run's latest intent for the same action before it. */
async function intentOf(
  deps: WhatIfDeps,
  d: TypedRecord<'action.decision'>,
  bySeq: ReadonlyMap<number, AuditRecord>,
  runs: Map<string, Promise<readonly AuditRecord[]>>,
): Promise<TypedRecord<'action.intent'> | null> {
  const matches = (r: AuditRecord | undefined): r is AuditRecord & TypedRecord<'action.intent'> =>
    r !== undefined && isRecord(r, 'action.intent') && r.runId === d.runId && r.principal === d.principal && r.body.actionHash === d.body.actionHash;
  const before = bySeq.get(d.seq - 1) ?? (await deps.store.readAudit(d.seq - 1, 1))[0];
  if (matches(before)) return before;
  const runId = d.runId ?? '';
  let records = runs.get(runId);
  if (!records) {
    records = deps.store.readAuditForRun(runId);
    runs.set(runId, records);
  }
  const all = await records;
  for (let i = all.length - 1; i >= 0; i--) {
    const r = all[i];
    if (r && r.seq < d.seq && matches(r)) return r;
  }
  return null;
}

const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['user', 'agent', 'service'];

function parseRef(ref: string): Principal | null {
  const at = ref.indexOf(':');
  const kind = ref.slice(0, at);
  if (at < 1 || at === ref.length - 1 || !(PRINCIPAL_KINDS as readonly string[]).includes(kind)) return null;
  return { kind: kind as PrincipalKind, id: ref.slice(at + 1), roles: [] };
}

/** The stored decision inputs, checked field by field (a payload is data from the store, not trusted to be well formed). */
function parseInputs(text: string): DecisionInputs | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const labels = o['labels'] as Record<string, unknown> | undefined;
  if (typeof o['workflow'] !== 'string' || !(TIERS as readonly unknown[]).includes(o['tier'])) return null;
  if (!labels || typeof labels !== 'object' || !(CLASSIFICATIONS as readonly unknown[]).includes(labels['classification']) || !(TRUST as readonly unknown[]).includes(labels['trust'])) return null;
  if (!Array.isArray(o['roles']) || !o['roles'].every((r) => typeof r === 'string')) return null;
  const value = o['value'];
  if (value !== undefined) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    for (const s of Object.values(value as Record<string, unknown>)) {
      const st = s as Partial<Record<keyof ValueStanding, unknown>> | null;
      if (!st || typeof st.spent !== 'number' || typeof st.wouldBe !== 'number' || typeof st.limit !== 'number' || typeof st.exceeds !== 'boolean') return null;
    }
  }
  const provenance = o['provenance'];
  if (provenance !== undefined) {
    if (provenance === null || typeof provenance !== 'object' || Array.isArray(provenance)) return null;
    // A list's entry may carry each element's own (`elements`, bounded): what each element was decided on.
    if (!Object.values(provenance as Record<string, unknown>).every((p) => storedArgProvenance(p) !== null)) return null;
  }
  return o as unknown as DecisionInputs;
}
