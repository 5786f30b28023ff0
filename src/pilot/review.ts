// The weekly review of a pilot (pure): the week's KPIs against thresholds and the baseline, their trend,
// the incidents and overrides people should read, the autonomy judgement, and a recommendation with its reasons.
import type { PilotConfig } from '../config/pilot-schema.js';
import type { Tier } from '../types.js';
import type { AutonomyJudgement } from './autonomy.js';
import { checkThresholds, compareBaseline, computeKpis, type Baseline, type BaselineRow, type Kpis, type RunFact, type ThresholdResult } from './kpis.js';
import type { Week } from './week.js';

/** A pilot decision as recorded: scale, redesign or stop, with its evidence and sign-offs. */
export interface PilotDecision {
  readonly id: string;
  readonly workflow: string;
  readonly outcome: 'scale' | 'redesign' | 'stop';
  readonly reason: string;
  readonly proposedBy: string;
  readonly proposedAt: string;
  readonly signOffs: readonly { readonly by: string; readonly at: string }[];
  /** Who must still sign (empty: the decision stands). */
  readonly missing: readonly string[];
  readonly evidence: unknown;
}

/** An override people made, for the report: a rejection with its reason, or an edit. */
export interface OverrideNote {
  readonly runId: string;
  readonly approvalId: string;
  readonly tool: string;
  readonly outcome: 'rejected' | 'edited';
  readonly by: string | null;
  readonly reason: string | null;
  readonly at: string;
}

/** What the week's recommendation is, and why. */
export interface Recommendation {
  readonly verdict: 'continue' | 'promote' | 'demote' | 'redesign' | 'stop';
  readonly reasons: readonly string[];
}

/** Everything a weekly report shows. */
export interface WeeklyReview {
  readonly workflow: string;
  readonly tier: Tier;
  readonly week: Week;
  readonly generatedAt: string;
  readonly kpis: Kpis;
  readonly thresholds: readonly ThresholdResult[];
  readonly baseline: readonly BaselineRow[];
  /** The weeks up to this one, oldest first. */
  readonly trend: readonly { readonly week: string; readonly kpis: Kpis }[];
  readonly openIncidents: readonly { readonly id: string; readonly kind: string; readonly title: string; readonly openedAt: string; readonly runId: string }[];
  /** The week's overrides, newest first (at most `MAX_OVERRIDES`); `overridesTotal` counts them all. */
  readonly overrides: readonly OverrideNote[];
  readonly overridesTotal: number;
  /** Runs this week acting for people outside the pilot group (counted in the KPIs, shown apart); runs for nobody are not. */
  readonly outsideGroup: number;
  readonly autonomy: AutonomyJudgement;
  readonly recommendation: Recommendation;
  readonly decision: PilotDecision | null;
  /** The report read only the newest runs of a window holding more. */
  readonly truncated: boolean;
}

/** The most overrides a report lists. */
export const MAX_OVERRIDES = 25;

/** What `buildReview` is given. */
export interface ReviewInput {
  readonly workflow: string;
  readonly tier: Tier;
  readonly pilot: PilotConfig;
  readonly baseline: Baseline;
  readonly week: Week;
  /** The weeks of the trend, oldest first, the report's week last. */
  readonly weeks: readonly Week[];
  readonly facts: readonly RunFact[];
  readonly openIncidents: WeeklyReview['openIncidents'];
  readonly autonomy: AutonomyJudgement;
  readonly decision: PilotDecision | null;
  readonly generatedAt: string;
  readonly truncated: boolean;
}

/** Assembles the review from the facts. */
export function buildReview(i: ReviewInput): WeeklyReview {
  const kpis = computeKpis(i.facts, i.week.from, i.week.to);
  const thresholds = checkThresholds(kpis, i.pilot.thresholds);
  const baseline = compareBaseline(kpis, i.baseline);
  const trend = i.weeks.map((w) => ({ week: w.name, kpis: computeKpis(i.facts, w.from, w.to) }));
  const inWeek = i.facts.filter((f) => f.createdAt >= i.week.from && f.createdAt < i.week.to);
  const overrides = inWeek
    .flatMap((f) =>
      f.approvals.flatMap((a): OverrideNote[] =>
        a.outcome === 'rejected' || a.outcome === 'edited' ? [{ runId: f.id, approvalId: a.id, tool: a.tool, outcome: a.outcome, by: a.by, reason: a.reason, at: a.decidedAt ?? a.requestedAt }] : [],
      ),
    )
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  const group = new Set(i.pilot.group);
  const outsideGroup = group.size === 0 ? 0 : inWeek.filter((f) => f.onBehalfOf !== null && !group.has(f.onBehalfOf)).length;
  return {
    workflow: i.workflow,
    tier: i.tier,
    week: i.week,
    generatedAt: i.generatedAt,
    kpis,
    thresholds,
    baseline,
    trend,
    openIncidents: i.openIncidents,
    overrides: overrides.slice(0, MAX_OVERRIDES),
    overridesTotal: overrides.length,
    outsideGroup,
    autonomy: i.autonomy,
    recommendation: recommend(kpis, thresholds, i.baseline, trend.map((t) => t.kpis), i.openIncidents, i.autonomy),
    decision: i.decision,
    truncated: i.truncated,
  };
}

/**
 * The week's recommendation, the strictest that applies: stop (the agent fails most cases it ends, or
 * errs at three times the baseline), redesign (worse than the baseline's error rate three weeks running,
 * or people override one action in five), demote (a threshold missed, or the autonomy rules say so),
 * promote (the autonomy rules say so), else continue.
 */
export function recommend(k: Kpis, thresholds: readonly ThresholdResult[], b: Baseline, trend: readonly Kpis[], openIncidents: readonly { readonly kind: string }[], autonomy: AutonomyJudgement): Recommendation {
  if (k.runs === 0) return { verdict: 'continue', reasons: ['no runs this week: nothing to judge'] };
  const stop: string[] = [];
  if (k.finished >= 20 && k.verifiedRate !== null && k.verifiedRate < 0.5) stop.push(`only ${(k.verifiedRate * 100).toFixed(0)}% of ${k.finished} runs ended verified`);
  if (b.errorRate !== undefined && k.errorRate !== null && k.finished >= 20 && k.errorRate > Math.max(3 * b.errorRate, 0.05)) {
    stop.push(`error rate ${(k.errorRate * 100).toFixed(1)}% against the baseline's ${(b.errorRate * 100).toFixed(1)}%`);
  }
  if (stop.length > 0) return { verdict: 'stop', reasons: stop };
  const redesign: string[] = [];
  const measured = trend.filter((t) => t.errorRate !== null).slice(-3);
  if (b.errorRate !== undefined && measured.length === 3 && measured.every((t) => (t.errorRate as number) > (b.errorRate as number))) {
    redesign.push(`error rate above the baseline's ${(b.errorRate * 100).toFixed(1)}% three weeks running`);
  }
  if (k.decided >= 10 && k.overrideRate !== null && k.overrideRate >= 0.2) redesign.push(`people overrode ${(k.overrideRate * 100).toFixed(0)}% of the actions they decided`);
  if (redesign.length > 0) return { verdict: 'redesign', reasons: redesign };
  const missed = thresholds.filter((t) => t.status === 'missed');
  const demote = [
    ...missed.map((t) => `${t.kpi} is ${fmt(t.value)}, the threshold is ${t.min !== undefined ? `at least ${t.min}` : ''}${t.min !== undefined && t.max !== undefined ? ' and ' : ''}${t.max !== undefined ? `at most ${t.max}` : ''}`),
    ...(autonomy.recommendation === 'demote' ? autonomy.reasons : []),
  ];
  if (demote.length > 0) return { verdict: 'demote', reasons: openIncidents.length > 0 ? [...demote, `${openIncidents.length} incident${openIncidents.length === 1 ? '' : 's'} open`] : demote };
  if (autonomy.recommendation === 'promote') return { verdict: 'promote', reasons: autonomy.reasons };
  const met = thresholds.filter((t) => t.status === 'met').length;
  const first = thresholds.length === 0 ? 'no thresholds are declared (`pilot.thresholds`)' : `${met} of ${thresholds.length} thresholds met${met < thresholds.length ? ', the rest not measured this week' : ''}`;
  return { verdict: 'continue', reasons: [first, ...autonomy.reasons] };
}

function fmt(v: number | null): string {
  return v === null ? 'not measured' : Number.isInteger(v) ? String(v) : v.toFixed(3);
}
