// An evaluation as people read it (pure): one table row per scenario, the totals beside the suite's
// thresholds, what got worse since the last run, and where to look at what failed.
import { ASI_RISKS, type Thresholds } from './suite-schema.js';
import type { EvalReport } from './eval.js';
import { passed, type Miss, type Regression, type Totals } from './scoring.js';
import type { ScenarioResult } from './run-scenario.js';

/** Colours for the terminal (identity by default). */
export interface Paint {
  readonly good: (s: string) => string;
  readonly bad: (s: string) => string;
  readonly warn: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
}

const PLAIN: Paint = { good: (s) => s, bad: (s) => s, warn: (s) => s, dim: (s) => s, bold: (s) => s };

/** The table's columns. */
const HEAD = ['scenario', 'kind', 'risks', 'outcome', 'result', 'touches', 'run', 'trace'] as const;

/** The report as lines of text. */
export function renderReport(r: EvalReport, paint: Paint = PLAIN): string[] {
  const rows = r.scenarios.map((s) => rowOf(s));
  const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[], color?: (cell: string, i: number) => string): string =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0);
        return color ? color(padded, i) : padded;
      })
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  out.push(paint.bold(`suite ${r.suite} (${r.scenarios.length} scenario${r.scenarios.length === 1 ? '' : 's'}, ${r.model}) on workspace ${r.workspace}`));
  out.push(line(HEAD, (c) => paint.dim(c)));
  r.scenarios.forEach((s, k) => {
    out.push(line(rows[k] ?? [], (c, i) => (i === 3 || i === 4 ? colorOutcome(s, c, paint) : c)));
  });
  out.push('');
  out.push(...totalsLines(r.totals, r.thresholds, paint));
  for (const m of r.misses) out.push(paint.bad(`  MISSED: ${describeMiss(m)}`));
  if (r.regressions.length > 0) {
    out.push(paint.bad(`  worse than the previous run (${r.previous?.at ?? '?'}):`));
    for (const g of r.regressions) out.push(paint.bad(`    ${describeRegression(g)}`));
  } else if (r.previous) {
    out.push(paint.dim(`  nothing worse than the previous run (${r.previous.at})`));
  }
  const failed = r.scenarios.filter((s) => !passed(s.score));
  if (failed.length > 0) {
    out.push('');
    for (const s of failed) out.push(...failureLines(s, paint));
  }
  out.push('');
  out.push(r.passed ? paint.good(`PASSED in ${(r.ms / 1000).toFixed(1)} s`) : paint.bad(`FAILED in ${(r.ms / 1000).toFixed(1)} s`));
  return out;
}

function rowOf(s: ScenarioResult): string[] {
  const last = s.runs[s.runs.length - 1];
  return [
    s.id,
    s.kind,
    s.risks.join(',') || '-',
    s.outcome,
    resultOf(s),
    String(s.score.touches),
    last ? `${last.id}${s.runs.length > 1 ? ` (+${s.runs.length - 1})` : ''}` : '-',
    last?.traceId ? last.traceId.slice(0, 16) : '-',
  ];
}

/** The scenario's contribution in words: utility reached or not; attack held or succeeded (and utility kept under attack). */
function resultOf(s: ScenarioResult): string {
  if (s.score.error !== null) return 'not evaluated';
  if (s.kind === 'benign') return s.score.achieved ? 'utility' : 'no utility';
  const attack = s.score.compromised ? 'attack succeeded' : 'attack failed';
  if (s.score.achieved === null) return attack;
  return `${attack}, ${s.score.achieved ? 'utility kept' : 'utility lost'}`;
}

function colorOutcome(s: ScenarioResult, cell: string, paint: Paint): string {
  if (s.outcome === 'error' || s.outcome === 'missed' || s.outcome === 'compromised') return paint.bad(cell);
  if (s.score.achieved === false) return paint.warn(cell);
  return paint.good(cell);
}

function pct(v: number | null): string {
  return v === null ? 'n/a' : `${(v * 100).toFixed(v === 0 || v === 1 ? 0 : 1)}%`;
}

function totalsLines(t: Totals, th: Thresholds, paint: Paint): string[] {
  const limit = (v: number | undefined, kind: 'min' | 'max', asPct: boolean): string =>
    v === undefined ? '' : paint.dim(` (${kind === 'min' ? 'at least' : 'at most'} ${asPct ? pct(v) : String(v)})`);
  return [
    `  utility                 ${pct(t.utility).padStart(6)}  ${paint.dim(`benign tasks reaching their expected state, ${count(t.utility, t.benign)}`)}${limit(th.utility, 'min', true)}`,
    `  utility under attack    ${pct(t.utilityUnderAttack).padStart(6)}  ${paint.dim(`adversarial tasks still reaching theirs, ${count(t.utilityUnderAttack, t.underAttack)}`)}${limit(th.utilityUnderAttack, 'min', true)}`,
    `  attack success rate     ${pct(t.attackSuccessRate).padStart(6)}  ${paint.dim(`attacks whose goal shows in ground truth, ${count(t.attackSuccessRate, t.evaluatedAttacks)}`)}${limit(th.attackSuccess, 'max', true)}`,
    `  human touches per task  ${(t.humanTouchesPerTask === null ? 'n/a' : t.humanTouchesPerTask.toFixed(2)).padStart(6)}  ${paint.dim(`${t.touches} decision${t.touches === 1 ? '' : 's'} by people in ${t.scenarios} scenario${t.scenarios === 1 ? '' : 's'}`)}${limit(th.humanTouchesPerTask, 'max', false)}`,
  ];
}

function count(rate: number | null, of: number): string {
  return rate === null ? 'none' : `${Math.round(rate * of)} of ${of}`;
}

/** A missed threshold in words. */
export function describeMiss(m: Miss): string {
  if (m.kind === 'errors') return `${m.count} scenario${m.count === 1 ? '' : 's'} could not be evaluated`;
  const show = m.metric === 'humanTouchesPerTask' ? (v: number) => v.toFixed(2) : pct;
  return `${m.metric} ${show(m.value)}, the suite asks for ${m.worse === 'lower' ? 'at least' : 'at most'} ${show(m.limit)}`;
}

/** A regression in words. */
export function describeRegression(g: Regression): string {
  if (g.kind === 'scenario') return `scenario ${g.id} passed last time and does not now`;
  return `${g.metric} ${pct(g.before)} → ${pct(g.now)}`;
}

/** What failed in a scenario, and where to look. */
function failureLines(s: ScenarioResult, paint: Paint): string[] {
  const out = [paint.bold(`${s.id}: ${s.title}`)];
  if (s.goal) out.push(`  attacker's goal: ${s.goal}`);
  if (s.error) out.push(paint.bad(`  could not be evaluated: ${s.error}`));
  for (const p of s.compromisedWhen.filter((x) => x.status === 'true')) out.push(paint.bad(`  attack succeeded: ${p.name}`));
  for (const p of s.expectedState.filter((x) => x.status !== 'true')) out.push(paint.warn(`  expected state not reached: ${p.name}${p.message ? ` (${p.message})` : ''}`));
  for (const run of s.runs) out.push(paint.dim(`  run ${run.id}: ${run.status}${run.reason ? ` (${run.reason})` : ''}`));
  if (s.incident) out.push(`  incident ${s.incident.id} (${s.incident.kind}) opened on run ${s.incident.runId}${s.incident.owner ? ` for ${s.incident.owner}` : ''}`);
  if (s.copy) out.push(paint.dim(`  look: airlock -w ${s.copy} runs show ${s.runs[s.runs.length - 1]?.id ?? '<run>'}   (and \`incidents\`)`));
  return out;
}

/** The risks a report covers, by id, with their names (for docs and `--json`). */
export function risksCovered(r: EvalReport): { id: string; name: string; scenarios: string[] }[] {
  return (Object.keys(ASI_RISKS) as (keyof typeof ASI_RISKS)[]).map((id) => ({ id, name: ASI_RISKS[id], scenarios: r.scenarios.filter((s) => s.risks.includes(id)).map((s) => s.id) }));
}
