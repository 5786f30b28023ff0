// A pilot's KPIs (pure): what its runs show over a window, each against the workflow's thresholds and
// the baseline of the process it replaces. No IO, no clock: the facts and the window are given.
import type { BaselineConfig, KpiName, PilotConfig } from '../config/pilot-schema.js';
import { TERMINAL_RUN_STATUSES, type RunStatus } from '../types.js';

/** What became of one approval a run asked for. */
export interface ApprovalFact {
  readonly id: string;
  readonly tool: string;
  readonly requestedAt: string;
  /** When the first person decided it (null: nobody did). */
  readonly decidedAt: string | null;
  readonly outcome: 'approved' | 'rejected' | 'edited' | 'expired' | 'withdrawn' | 'pending';
  /** Who rejected or edited it, and why (a rejection's reason); null otherwise. */
  readonly by: string | null;
  readonly reason: string | null;
}

/** What the KPIs need of one run. */
export interface RunFact {
  readonly id: string;
  readonly createdAt: string;
  /** When it reached a terminal status (null: still going). */
  readonly endedAt: string | null;
  readonly status: RunStatus;
  /** The person it acted for, `user:<id>`, if any. */
  readonly onBehalfOf: string | null;
  readonly approvals: readonly ApprovalFact[];
  readonly incidents: readonly { readonly kind: string; readonly openedAt: string; readonly open: boolean }[];
  readonly costMicros: number;
  readonly currency: string | null;
}

/** One window's KPIs; a rate or a percentile is null when nothing in the window measures it. */
export interface Kpis {
  readonly from: string;
  readonly to: string;
  /** Runs started in the window (the volume). */
  readonly runs: number;
  /** Of them, those that ended. */
  readonly finished: number;
  readonly verified: number;
  readonly unverified: number;
  readonly failed: number;
  /** Verified against ground truth, of those that ended. */
  readonly verifiedRate: number | null;
  readonly unverifiedRate: number | null;
  /** Ended unverified or failed, of those that ended: the pilot's error rate. */
  readonly errorRate: number | null;
  /** Actions people decided (approved, rejected or edited). */
  readonly decided: number;
  /** Of them, rejected or edited: people overrode the agent. */
  readonly overridden: number;
  readonly overrideRate: number | null;
  /** Runs that asked a person at least once. */
  readonly escalated: number;
  readonly escalationRate: number | null;
  /** Incidents opened in the window on these runs, and by kind. */
  readonly incidents: number;
  readonly incidentsByKind: Readonly<Record<string, number>>;
  readonly approvalWaitP50Minutes: number | null;
  readonly approvalWaitP90Minutes: number | null;
  /** Start to end of the runs that ended, waits for people included: the time a case takes. */
  readonly latencyP50Minutes: number | null;
  readonly latencyP90Minutes: number | null;
  /** Model cost per ended run, in `currency` (runs in another currency are left out, and counted). */
  readonly costPerRun: number | null;
  readonly currency: string | null;
  readonly otherCurrencyRuns: number;
}

const TERMINAL: ReadonlySet<RunStatus> = new Set<RunStatus>(TERMINAL_RUN_STATUSES);

/** The KPIs of the runs started in [from, to) (ISO-8601), their incidents counted when opened in it too. */
export function computeKpis(facts: readonly RunFact[], from: string, to: string): Kpis {
  const inWindow = (t: string): boolean => t >= from && t < to;
  const runs = facts.filter((f) => inWindow(f.createdAt));
  const ended = runs.filter((r) => TERMINAL.has(r.status) && r.endedAt !== null);
  const count = (s: RunStatus): number => ended.filter((r) => r.status === s).length;
  const verified = count('verified');
  const unverified = count('unverified');
  const failed = count('failed');
  const approvals = runs.flatMap((r) => r.approvals);
  const decided = approvals.filter((a) => a.outcome === 'approved' || a.outcome === 'rejected' || a.outcome === 'edited');
  const overridden = decided.filter((a) => a.outcome !== 'approved').length;
  const escalated = runs.filter((r) => r.approvals.length > 0).length;
  const incidents = runs.flatMap((r) => r.incidents.filter((i) => inWindow(i.openedAt)));
  const byKind: Record<string, number> = {};
  for (const i of incidents) byKind[i.kind] = (byKind[i.kind] ?? 0) + 1;
  const minutes = (a: string, b: string): number => (Date.parse(b) - Date.parse(a)) / 60_000;
  const waits = approvals.flatMap((a) => (a.decidedAt === null ? [] : [minutes(a.requestedAt, a.decidedAt)]));
  const latencies = ended.map((r) => minutes(r.createdAt, r.endedAt as string));
  const currency = mostCommon(ended.map((r) => r.currency).filter((c): c is string => c !== null));
  const costed = ended.filter((r) => r.currency === currency || r.costMicros === 0);
  return {
    from,
    to,
    runs: runs.length,
    finished: ended.length,
    verified,
    unverified,
    failed,
    verifiedRate: ratio(verified, ended.length),
    unverifiedRate: ratio(unverified, ended.length),
    errorRate: ratio(unverified + failed, ended.length),
    decided: decided.length,
    overridden,
    overrideRate: ratio(overridden, decided.length),
    escalated,
    escalationRate: ratio(escalated, runs.length),
    incidents: incidents.length,
    incidentsByKind: byKind,
    approvalWaitP50Minutes: percentile(waits, 0.5),
    approvalWaitP90Minutes: percentile(waits, 0.9),
    latencyP50Minutes: percentile(latencies, 0.5),
    latencyP90Minutes: percentile(latencies, 0.9),
    costPerRun: costed.length === 0 ? null : costed.reduce((s, r) => s + r.costMicros, 0) / 1e6 / costed.length,
    currency,
    otherCurrencyRuns: ended.length - costed.length,
  };
}

/** `n / d`, or null when `d` is 0. */
function ratio(n: number, d: number): number | null {
  return d === 0 ? null : n / d;
}

/** The `p` percentile (0 to 1) by the nearest-rank method; null for no values. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1] as number;
}

function mostCommon(values: readonly string[]): string | null {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  for (const [v, n] of counts) if (best === null || n > (counts.get(best) ?? 0) || (n === counts.get(best) && v < best)) best = v;
  return best;
}

/** A KPI held to a threshold: met, missed, or not measured this window. */
export interface ThresholdResult {
  readonly kpi: KpiName;
  readonly value: number | null;
  readonly min?: number;
  readonly max?: number;
  readonly status: 'met' | 'missed' | 'not measured';
}

/** Each threshold of the pilot against the window's KPIs. */
export function checkThresholds(k: Kpis, thresholds: PilotConfig['thresholds']): ThresholdResult[] {
  return Object.entries(thresholds).map(([name, b]) => {
    const kpi = name as KpiName;
    const value = k[kpi];
    const bounds = { ...(b.min !== undefined ? { min: b.min } : {}), ...(b.max !== undefined ? { max: b.max } : {}) };
    if (value === null) return { kpi, value, ...bounds, status: 'not measured' };
    const ok = (b.min === undefined || value >= b.min) && (b.max === undefined || value <= b.max);
    return { kpi, value, ...bounds, status: ok ? 'met' : 'missed' };
  });
}

/** One measure of the baseline beside the pilot's, and whether the pilot does better (null: not comparable). */
export interface BaselineRow {
  readonly measure: string;
  readonly baseline: number | null;
  readonly pilot: number | null;
  readonly unit: string;
  readonly better: boolean | null;
}

/**
 * The baseline beside the pilot: time per case (the pilot's median run, waits for people included),
 * error rate, cost per case (the pilot's is model cost only), escalation rate, and the users' trust
 * (a survey: the pilot's is not measured by Airlock).
 */
export function compareBaseline(k: Kpis, b: Baseline): BaselineRow[] {
  const lower = (baseline: number | null, pilot: number | null): boolean | null => (baseline === null || pilot === null ? null : pilot <= baseline);
  const costComparable = b.currency === undefined || k.currency === null || b.currency === k.currency;
  return [
    { measure: 'time per case', unit: 'minutes', baseline: b.timePerCaseMinutes ?? null, pilot: k.latencyP50Minutes, better: lower(b.timePerCaseMinutes ?? null, k.latencyP50Minutes) },
    { measure: 'error rate', unit: 'share', baseline: b.errorRate ?? null, pilot: k.errorRate, better: lower(b.errorRate ?? null, k.errorRate) },
    { measure: 'cost per case', unit: b.currency ?? k.currency ?? '', baseline: b.costPerCase ?? null, pilot: k.costPerRun, better: costComparable ? lower(b.costPerCase ?? null, k.costPerRun) : null },
    { measure: 'escalation rate', unit: 'share', baseline: b.escalationRate ?? null, pilot: k.escalationRate, better: lower(b.escalationRate ?? null, k.escalationRate) },
    { measure: 'user trust (1-5)', unit: 'score', baseline: b.trustScore ?? null, pilot: null, better: null },
  ];
}

/** A baseline with its CSV folded in (the `csv` path resolved away). */
export type Baseline = Omit<BaselineConfig, 'csv'>;
