// The weekly review as Markdown (pure): what a product owner reads in a pull request, a wiki or a mail.
import type { Kpis } from './kpis.js';
import type { WeeklyReview } from './review.js';

/** A rate as a percentage, a number to 2 places, or "—" when not measured. */
export function fmtRate(x: number | null): string {
  return x === null ? '—' : `${(x * 100).toFixed(1)}%`;
}

export function fmtNumber(x: number | null, digits = 1): string {
  return x === null ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

/**
 * Text people or agents wrote, made inert in Markdown: one line, no table break, no HTML (`<`, `>`,
 * `&` escaped), no links or images (`[`, `]` escaped), no code or emphasis (`` ` ``, `*`, `_` escaped).
 */
export function cell(text: string): string {
  return text
    .slice(0, 300)
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|])/g, '\\$1');
}

/** The rows of the KPI table: name, value, as text. */
export function kpiRows(k: Kpis): [string, string][] {
  return [
    ['runs started', String(k.runs)],
    ['runs ended', String(k.finished)],
    ['verified', `${fmtRate(k.verifiedRate)} (${k.verified})`],
    ['unverified', `${fmtRate(k.unverifiedRate)} (${k.unverified})`],
    ['error rate (unverified or failed)', fmtRate(k.errorRate)],
    ['override rate (rejected or edited, of decided)', `${fmtRate(k.overrideRate)} (${k.overridden} of ${k.decided})`],
    ['escalation rate (runs that asked a person)', `${fmtRate(k.escalationRate)} (${k.escalated})`],
    ['incidents opened', `${k.incidents}${Object.keys(k.incidentsByKind).length > 0 ? ` (${Object.entries(k.incidentsByKind).map(([kind, n]) => `${kind} ${n}`).join(', ')})` : ''}`],
    ['approval wait p50 / p90 (minutes)', `${fmtNumber(k.approvalWaitP50Minutes)} / ${fmtNumber(k.approvalWaitP90Minutes)}`],
    ['time per case p50 / p90 (minutes)', `${fmtNumber(k.latencyP50Minutes)} / ${fmtNumber(k.latencyP90Minutes)}`],
    ['model cost per run', k.costPerRun === null ? '—' : `${k.costPerRun.toFixed(4)} ${k.currency ?? ''}`.trim()],
  ];
}

/** The review as a Markdown document. */
export function reviewMarkdown(r: WeeklyReview): string {
  const out: string[] = [];
  out.push(`# Pilot review: ${r.workflow}, week ${r.week.name}`, '');
  out.push(`${r.week.from.slice(0, 10)} to ${r.week.to.slice(0, 10)} (exclusive), tier \`${r.tier}\`, generated ${r.generatedAt}.`, '');
  if (r.truncated) out.push('> The week held more runs than one report reads: these are its newest.', '');
  out.push(`## Recommendation: **${r.recommendation.verdict}**`, '', ...r.recommendation.reasons.map((x) => `- ${cell(x)}`), '');
  out.push('## KPIs', '', '| KPI | this week |', '|---|---:|', ...kpiRows(r.kpis).map(([k, v]) => `| ${k} | ${cell(v)} |`), '');
  if (r.outsideGroup > 0) out.push(`${r.outsideGroup} run${r.outsideGroup === 1 ? '' : 's'} acted for people outside the pilot group.`, '');
  if (r.thresholds.length > 0) {
    out.push('## Thresholds', '', '| KPI | value | bound | status |', '|---|---:|---|---|');
    for (const t of r.thresholds) out.push(`| ${t.kpi} | ${fmtNumber(t.value, 3)} | ${[t.min !== undefined ? `≥ ${t.min}` : '', t.max !== undefined ? `≤ ${t.max}` : ''].filter(Boolean).join(', ')} | ${t.status === 'missed' ? '**missed**' : t.status} |`);
    out.push('');
  }
  out.push('## Against the baseline', '', '| measure | baseline | pilot | |', '|---|---:|---:|---|');
  for (const b of r.baseline) {
    const value = (x: number | null): string => (x === null ? '—' : b.unit === 'share' ? fmtRate(x) : fmtNumber(x, 2));
    out.push(`| ${b.measure}${b.unit && b.unit !== 'share' ? ` (${b.unit})` : ''} | ${value(b.baseline)} | ${value(b.pilot)} | ${b.better === null ? '' : b.better ? 'better or equal' : '**worse**'} |`);
  }
  out.push('', 'The pilot\'s cost per case is model cost only; its time per case is a run from start to end, waits for people included.', '');
  out.push('## Trend', '', `| week | runs | verified | override | escalation | incidents |`, '|---|---:|---:|---:|---:|---:|');
  for (const t of r.trend) out.push(`| ${t.week} | ${t.kpis.runs} | ${fmtRate(t.kpis.verifiedRate)} | ${fmtRate(t.kpis.overrideRate)} | ${fmtRate(t.kpis.escalationRate)} | ${t.kpis.incidents} |`);
  out.push('', '## Open incidents', '');
  if (r.openIncidents.length === 0) out.push('None.');
  for (const i of r.openIncidents) out.push(`- ${cell(i.id)} ${cell(i.kind)}: ${cell(i.title)} (run ${cell(i.runId)}, opened ${cell(i.openedAt)})`);
  out.push('', `## Overrides (${r.overridesTotal})`, '');
  if (r.overrides.length === 0) out.push('None this week.');
  for (const o of r.overrides) out.push(`- ${o.outcome} ${cell(o.tool)} in run ${cell(o.runId)}${o.by ? ` by ${cell(o.by)}` : ''}${o.reason ? `: “${cell(o.reason)}”` : ''}`);
  if (r.overridesTotal > r.overrides.length) out.push(`- … and ${r.overridesTotal - r.overrides.length} more`);
  out.push('', '## Autonomy', '', `Now \`${r.autonomy.tier}\`: **${r.autonomy.recommendation}**${r.autonomy.recommendation === 'promote' && r.autonomy.next ? ` to \`${r.autonomy.next}\`` : r.autonomy.recommendation === 'demote' && r.autonomy.lower ? ` to \`${r.autonomy.lower}\`` : ''}.`, '');
  for (const x of r.autonomy.reasons) out.push(`- ${cell(x)}`);
  if (r.autonomy.promotion.length > 0) {
    out.push('', `| rule for ${r.autonomy.next ?? ''} | required | measured | |`, '|---|---|---|---|');
    for (const c of r.autonomy.promotion) out.push(`| ${c.rule} | ${cell(c.required)} | ${cell(c.actual)} | ${c.ok ? 'holds' : '**not yet**'} |`);
  }
  out.push('', '## Decision', '');
  if (r.decision === null) out.push('No decision recorded yet (`airlock pilot decide`).');
  else {
    const d = r.decision;
    out.push(`**${d.outcome}**, proposed by ${d.proposedBy} on ${d.proposedAt}: ${cell(d.reason)}`, '');
    out.push(`Signed by: ${d.signOffs.length === 0 ? 'nobody yet' : d.signOffs.map((s) => `${s.by} (${s.at})`).join(', ')}.${d.missing.length > 0 ? ` Still needs: ${d.missing.join(', ')}.` : ' The decision stands.'}`);
  }
  out.push('');
  return out.join('\n');
}
