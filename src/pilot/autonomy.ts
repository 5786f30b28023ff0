// Autonomy graduation (pure): whether a workflow's measured record justifies keeping its tier, stepping
// it up (with the named owners' sign-off) or stepping it down, each rule with its evidence.
import type { GraduationStep, PilotConfig } from '../config/pilot-schema.js';
import { TIERS, type Tier } from '../types.js';
import type { Kpis } from './kpis.js';

/** What the judgement reads. */
export interface AutonomyEvidence {
  /** The tier the workflow runs at now (its declared tier, or lower after a demotion). */
  readonly tier: Tier;
  /** The tier the workflow file declares: the ceiling no promotion passes (owners raise it in the file). */
  readonly declaredTier: Tier;
  readonly pilot: PilotConfig;
  /** The KPIs over the evidence window (`pilot.evidenceDays`). */
  readonly kpis: Kpis;
  readonly openIncidents: number;
  /** The workflow's write tools without a compensation (nothing can undo them). */
  readonly irreversibleWrites: readonly string[];
  /** The latest recorded result of the step's eval suite, when one is named: passed or not, and when. */
  readonly evalResult: { readonly passed: boolean; readonly at: string } | null;
  /** Who has signed the promotion to the next tier (since the tier last changed). */
  readonly signatures: readonly string[];
}

/** One rule of a step, with what it requires and what was measured. */
export interface AutonomyCheck {
  readonly rule: string;
  readonly required: string;
  readonly actual: string;
  readonly ok: boolean;
}

/** The judgement: keep, promote (to `next`) or demote (to `lower`), with every rule's evidence. */
export interface AutonomyJudgement {
  readonly recommendation: 'keep' | 'promote' | 'demote';
  readonly tier: Tier;
  /** The tier a promotion goes to (null: at the top, at the declared ceiling, or no evidence is declared for it). */
  readonly next: Tier | null;
  /** The tier a demotion goes to (null: at the bottom). */
  readonly lower: Tier | null;
  /** The rules for stepping up to `next`. */
  readonly promotion: readonly AutonomyCheck[];
  /** The rules that keep the current tier (its own step's evidence, when declared); any failing one demotes. */
  readonly standing: readonly AutonomyCheck[];
  /** Sign-offs the promotion still needs. */
  readonly missingSignOffs: readonly string[];
  readonly reasons: readonly string[];
}

const pct = (x: number | null): string => (x === null ? 'not measured' : `${(x * 100).toFixed(1)}%`);

/** The rules of one step against the evidence. */
export function stepChecks(step: GraduationStep, e: AutonomyEvidence): AutonomyCheck[] {
  const k = e.kpis;
  const checks: AutonomyCheck[] = [
    { rule: 'finished runs', required: `at least ${step.minRuns}`, actual: String(k.finished), ok: k.finished >= step.minRuns },
    { rule: 'override rate', required: `at most ${pct(step.maxOverrideRate)}`, actual: `${pct(k.overrideRate)} (${k.overridden} of ${k.decided} decided)`, ok: (k.overrideRate ?? 0) <= step.maxOverrideRate },
    { rule: 'verified rate', required: `at least ${pct(step.minVerifiedRate)}`, actual: pct(k.verifiedRate), ok: k.verifiedRate !== null && k.verifiedRate >= step.minVerifiedRate },
    { rule: 'open incidents', required: `at most ${step.maxOpenIncidents}`, actual: String(e.openIncidents), ok: e.openIncidents <= step.maxOpenIncidents },
  ];
  if (step.reversibleWrites) {
    checks.push({ rule: 'every write reversible', required: 'a compensation on each write tool', actual: e.irreversibleWrites.length === 0 ? 'all reversible' : `irreversible: ${e.irreversibleWrites.join(', ')}`, ok: e.irreversibleWrites.length === 0 });
  }
  if (step.evalSuite !== undefined) {
    const r = e.evalResult;
    checks.push({ rule: `eval suite ${step.evalSuite}`, required: 'its latest result passes its thresholds', actual: r === null ? 'never run' : `${r.passed ? 'passed' : 'failed'} (${r.at})`, ok: r?.passed === true });
  }
  return checks;
}

/**
 * Keep, promote or demote. Demote when the current tier's own evidence (its `graduation` step) no
 * longer holds on a window with enough runs, or incidents are open beyond it. Promote when every rule
 * of the next tier's step holds (it still needs each named sign-off, listed as missing). Otherwise keep.
 */
export function judgeAutonomy(e: AutonomyEvidence): AutonomyJudgement {
  const at = TIERS.indexOf(e.tier);
  const above = TIERS[at + 1] ?? null;
  const lower = TIERS[at - 1] ?? null;
  const ceiling = TIERS.indexOf(e.declaredTier);
  const nextStep = above === null ? undefined : e.pilot.graduation[above];
  const next = above !== null && TIERS.indexOf(above) <= ceiling && nextStep !== undefined ? above : null;
  const promotion = next !== null && nextStep ? stepChecks(nextStep, e) : [];
  const ownStep = e.pilot.graduation[e.tier];
  // The current tier's own evidence: a window too small to judge does not demote, but incidents do.
  const standing = ownStep ? stepChecks(ownStep, e).filter((c) => c.rule !== 'finished runs' && !c.rule.startsWith('eval suite')) : [];
  const enough = ownStep ? e.kpis.finished >= Math.min(ownStep.minRuns, 20) : false;
  const failing = standing.filter((c) => !c.ok && (enough || c.rule === 'open incidents'));
  const reasons: string[] = [];
  if (lower !== null && failing.length > 0) {
    reasons.push(...failing.map((c) => `${c.rule}: ${c.actual}, the tier needs ${c.required}`));
    return { recommendation: 'demote', tier: e.tier, next, lower, promotion, standing, missingSignOffs: [], reasons };
  }
  const signed = new Set(e.signatures);
  const missingSignOffs = nextStep ? nextStep.signOff.filter((p) => !signed.has(p)) : [];
  if (next !== null && promotion.every((c) => c.ok)) {
    reasons.push(`every rule for ${next} holds over the last ${e.pilot.evidenceDays} days`);
    if (missingSignOffs.length > 0) reasons.push(`it still needs the sign-off of ${missingSignOffs.join(', ')}`);
    return { recommendation: 'promote', tier: e.tier, next, lower, promotion, standing, missingSignOffs, reasons };
  }
  if (above !== null && TIERS.indexOf(above) > ceiling) reasons.push(`${e.tier} is the tier the workflow file declares: a step up starts with its owners raising it there`);
  else if (above !== null && nextStep === undefined) reasons.push(`no evidence is declared for ${above} (\`pilot.graduation.${above}\`)`);
  else if (next !== null) reasons.push(...promotion.filter((c) => !c.ok).map((c) => `for ${next}: ${c.rule} is ${c.actual}, needs ${c.required}`));
  return { recommendation: 'keep', tier: e.tier, next, lower, promotion, standing, missingSignOffs, reasons };
}
