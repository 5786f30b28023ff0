// A run's trace as an evaluation report carries it (pure): its audit records, each cut down to what a
// reader scans for (what was proposed, decided, executed or refused, and why), and its trace id.
import type { AuditRecord } from '../../store/store.js';
import type { Json } from '../../types.js';

/** One audit record of a run, summarised. */
export interface TrailEntry {
  readonly seq: number;
  readonly type: string;
  readonly principal: string | null;
  readonly tool?: string;
  /** allow / deny / approval / suggest, a vote, a verification status, a run's end status. */
  readonly what?: string;
  readonly policyIds?: readonly string[];
  /** Reasons, a refusal's why, a failure. */
  readonly why?: string;
}

/** The fields each record type contributes to its entry. */
export function trailOf(records: readonly AuditRecord[]): TrailEntry[] {
  return records.map((r) => {
    const b = r.body;
    const tool = str(b['tool']) ?? str(b['probe']);
    const what = str(b['decision']) ?? str(b['vote']) ?? str(b['outcome']) ?? str(b['status']) ?? str(b['kind']);
    const why = str(b['why']) ?? str(b['reason']) ?? strings(b['reasons']) ?? str(b['failure']) ?? str(b['title']);
    const policyIds = Array.isArray(b['policyIds']) ? (b['policyIds'] as Json[]).filter((x): x is string => typeof x === 'string') : undefined;
    return {
      seq: r.seq,
      type: r.type,
      principal: r.principal,
      ...(tool === undefined ? {} : { tool }),
      ...(what === undefined ? {} : { what }),
      ...(policyIds && policyIds.length > 0 ? { policyIds } : {}),
      ...(why === undefined ? {} : { why: why.slice(0, 300) }),
    };
  });
}

/** The trace id of a W3C traceparent (`00-<trace id>-<span id>-<flags>`), or null. */
export function traceIdOf(traceparent: string | undefined): string | null {
  const m = traceparent === undefined ? null : /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent);
  return m?.[1] ?? null;
}

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function strings(v: Json | undefined): string | undefined {
  return Array.isArray(v) && v.length > 0 ? v.filter((x) => typeof x === 'string').join('; ') : undefined;
}
