// What a shadow policy set would have changed, from its recorded verdicts (`policy.shadow`): the trail is
// read back from its head to the record that started the shadow (or the window's start), counting the
// verdicts of that shadow by change, with a few examples of each. Reads only. `airlock policy shadow --report`.
import { isRecord, type TypedRecord } from '../audit/records.js';
import type { AuditRecord, PolicySetEvent, Store } from '../store/store.js';
import { activeShadow } from './policy-lifecycle.js';
import { WHAT_IF_LIMITS } from './what-if.js';

/** The examples kept per kind of change. */
const EXAMPLES = 5;

/** One recorded verdict, as the report shows it. */
export interface ShadowExample {
  readonly seq: number;
  readonly time: string;
  readonly runId: string | null;
  readonly principal: string | null;
  readonly tool: string;
  readonly enforced: string;
  readonly shadow: string;
  readonly policyIds: readonly string[];
  readonly error?: string;
}

export interface ShadowReport {
  /** The shadow reported on: the active one, else the latest that was set; null when none ever was. */
  readonly shadow: Omit<PolicySetEvent, 'files'> | null;
  readonly active: boolean;
  /** Verdicts counted from this time on (the shadow's start, or the window's when later). */
  readonly since: string | null;
  readonly scanned: number;
  /** Why reading stopped before the shadow's start, if it did. */
  readonly stoppedEarly: string | null;
  readonly counts: { readonly same: number; readonly newlyDenied: number; readonly newlyAllowed: number; readonly obligationChanged: number; readonly errors: number };
  /** Newest first, at most a few per change. */
  readonly examples: { readonly newlyDenied: readonly ShadowExample[]; readonly newlyAllowed: readonly ShadowExample[]; readonly obligationChanged: readonly ShadowExample[]; readonly errors: readonly ShadowExample[] };
}

const KEYS = { same: 'same', 'newly-denied': 'newlyDenied', 'newly-allowed': 'newlyAllowed', 'obligation-changed': 'obligationChanged', error: 'errors' } as const;

/** Summarises the verdicts of the active shadow (else the latest one set), since it started or since `since`, whichever is later. */
export async function shadowReport(store: Pick<Store, 'auditHead' | 'readAudit' | 'latestPolicyEvent' | 'getPolicyEvent' | 'listPolicyEvents'>, opts: { readonly since?: string } = {}): Promise<ShadowReport> {
  const active = await activeShadow(store);
  const shadow = active ?? (await store.listPolicyEvents('shadow', 100)).find((e) => e.kind === 'shadow-started') ?? null;
  const counts = { same: 0, newlyDenied: 0, newlyAllowed: 0, obligationChanged: 0, errors: 0 };
  const examples = { newlyDenied: [] as ShadowExample[], newlyAllowed: [] as ShadowExample[], obligationChanged: [] as ShadowExample[], errors: [] as ShadowExample[] };
  if (shadow === null) return { shadow: null, active: false, since: null, scanned: 0, stoppedEarly: null, counts, examples };
  const since = opts.since !== undefined && opts.since > shadow.at ? opts.since : shadow.at;

  // Several processes append with their own clocks: a record well before the start ends the search.
  const stopBefore = new Date(Date.parse(since) - 5 * 60_000).toISOString();
  let cursor = ((await store.auditHead())?.seq ?? 0) + 1;
  let scanned = 0;
  let stoppedEarly: string | null = null;
  let done = false;
  while (cursor > 1 && !done) {
    if (scanned >= WHAT_IF_LIMITS.maxScanned) {
      stoppedEarly = `read ${scanned} audit records (the most one report reads) before reaching the shadow's start`;
      break;
    }
    const from = Math.max(1, cursor - WHAT_IF_LIMITS.readBatch);
    const batch = await store.readAudit(from, cursor - from);
    scanned += batch.length;
    for (let i = batch.length - 1; i >= 0; i--) {
      const r = batch[i] as AuditRecord;
      if ((isRecord(r, 'policy.shadow-started') && r.body.eventId === shadow.id) || r.time < stopBefore) {
        done = true;
        break;
      }
      if (!isRecord(r, 'policy.shadow') || r.body.shadowId !== shadow.id || r.time < since) continue;
      const key = KEYS[r.body.change as keyof typeof KEYS] ?? 'errors';
      counts[key]++;
      if (key !== 'same' && examples[key].length < EXAMPLES) examples[key].push(example(r));
    }
    cursor = from;
  }
  return { shadow: withoutFiles(shadow), active: active !== null, since, scanned, stoppedEarly, counts, examples };
}

function withoutFiles(e: PolicySetEvent): Omit<PolicySetEvent, 'files'> {
  const { files, ...rest } = e;
  void files;
  return rest;
}

function example(r: TypedRecord<'policy.shadow'>): ShadowExample {
  const label = (kind: string, level: string | undefined): string => (kind === 'approval' ? `approval (${level ?? '?'})` : kind);
  return {
    seq: r.seq,
    time: r.time,
    runId: r.runId,
    principal: r.principal,
    tool: r.body.tool,
    enforced: label(r.body.enforced, r.body.enforcedLevel),
    shadow: label(r.body.decision, r.body.level),
    policyIds: [...r.body.policyIds],
    ...(r.body.error !== undefined ? { error: r.body.error } : {}),
  };
}
