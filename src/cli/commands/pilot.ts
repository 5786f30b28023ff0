// The pilot's commands: `airlock report WORKFLOW --week [YYYY-Www]` (the weekly review as HTML and
// Markdown), `airlock autonomy WORKFLOW` (keep, promote or demote, with the evidence), and
// `airlock pilot baseline WORKFLOW` (the baseline the pilot is compared with).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { Airlock } from '../../airlock.js';
import { readBaseline } from '../../pilot/baseline.js';
import { autonomyOf, pilotOf, weeklyReview, type PilotDeps } from '../../pilot/pilot.js';
import { reviewHtml } from '../../pilot/report-html.js';
import { fmtNumber, fmtRate, kpiRows, reviewMarkdown } from '../../pilot/report-markdown.js';
import { parseWeek } from '../../pilot/week.js';
import { bold, dim, green, red, yellow } from '../render.js';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';

/** What the pilot's reads need of an opened workspace. */
export function pilotDeps(a: Airlock): PilotDeps {
  return { workspace: a.workspace, store: a.store, now: a.now };
}

/** Registers `report`, `autonomy` and `pilot` on `program`. */
export function registerPilotCommands(program: Command, helpers: WorkspaceCommandHelpers): void {
  const { out } = helpers;
  const withAirlock = workspaceRunner(helpers);

  program
    .command('report <workflow>')
    .description("the pilot's weekly review: KPIs against the baseline and thresholds, trend, incidents, overrides, autonomy, a recommendation (HTML with charts, and Markdown)")
    .option('--week [week]', 'the ISO week, e.g. 2026-W49 (default: the week holding today)')
    .option('--out <dir>', 'where the report files go (default: .airlock/reports in the workspace)')
    .option('--json', 'print the review as JSON instead of writing files')
    .action(async (name: string, o: { week?: string | true; out?: string; json?: boolean }) => {
      await withAirlock(async (a) => {
        const week = typeof o.week === 'string' ? parseWeek(o.week) : undefined;
        const review = await weeklyReview(pilotDeps(a), name, week);
        if (o.json) return out(JSON.stringify(review, null, 2));
        const dir = path.resolve(o.out ?? path.join(a.workspace.dir, '.airlock', 'reports'));
        await mkdir(dir, { recursive: true });
        const base = path.join(dir, `${name}-${review.week.name}`);
        await writeFile(`${base}.html`, reviewHtml(review));
        await writeFile(`${base}.md`, reviewMarkdown(review));
        const verdict = review.recommendation.verdict;
        const paint = verdict === 'continue' || verdict === 'promote' ? green : red;
        out(`${bold(`${name}, week ${review.week.name}`)} (tier ${review.tier}): recommendation ${paint(verdict)}`);
        for (const r of review.recommendation.reasons) out(`  - ${r}`);
        for (const [k, v] of kpiRows(review.kpis)) out(`  ${k.padEnd(48)} ${v}`);
        const missed = review.thresholds.filter((t) => t.status === 'missed');
        if (missed.length > 0) out(yellow(`  thresholds missed: ${missed.map((t) => t.kpi).join(', ')}`));
        out(`wrote ${base}.html`);
        out(`wrote ${base}.md`);
      });
    });

  program
    .command('autonomy <workflow>')
    .description("whether the workflow's measured record justifies keeping its tier, a step up (with the named sign-offs) or a step down, with every rule's evidence")
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { json?: boolean }) => {
      await withAirlock(async (a) => {
        const j = await autonomyOf(pilotDeps(a), name);
        if (o.json) return out(JSON.stringify(j, null, 2));
        const target = j.recommendation === 'promote' ? ` to ${j.next}` : j.recommendation === 'demote' ? ` to ${j.lower}` : '';
        out(`${bold(name)} runs at ${j.tier}: ${(j.recommendation === 'demote' ? red : j.recommendation === 'promote' ? green : (s: string) => s)(j.recommendation + target)}`);
        for (const r of j.reasons) out(`  - ${r}`);
        if (j.promotion.length > 0) {
          out(`rules for ${j.next}:`);
          for (const c of j.promotion) out(`  ${c.ok ? green('holds  ') : yellow('not yet')} ${c.rule}: ${c.actual} ${dim(`(needs ${c.required})`)}`);
        }
        if (j.standing.length > 0) {
          out(`rules of ${j.tier}:`);
          for (const c of j.standing) out(`  ${c.ok ? green('holds  ') : red('fails  ')} ${c.rule}: ${c.actual} ${dim(`(needs ${c.required})`)}`);
        }
      });
    });

  const pilot = program.command('pilot').description("a workflow's pilot: its baseline, and the decision that ends it");
  pilot
    .command('baseline <workflow>')
    .description('the baseline the pilot is compared with: declared values, and the means of its CSV of past cases')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { json?: boolean }) => {
      await withAirlock(async (a) => {
        const { pilot: p } = pilotOf(a.workspace, name);
        const b = readBaseline(a.workspace.dir, p.baseline);
        if (o.json) return out(JSON.stringify(b, null, 2));
        out(`${bold(name)} baseline${p.baseline.csv ? ` (with the means of ${p.baseline.csv})` : ''}:`);
        out(`  time per case      ${b.timePerCaseMinutes === undefined ? '—' : `${fmtNumber(b.timePerCaseMinutes, 2)} minutes`}`);
        out(`  error rate         ${b.errorRate === undefined ? '—' : fmtRate(b.errorRate)}`);
        out(`  cost per case      ${b.costPerCase === undefined ? '—' : `${fmtNumber(b.costPerCase, 2)} ${b.currency ?? ''}`}`);
        out(`  escalation rate    ${b.escalationRate === undefined ? '—' : fmtRate(b.escalationRate)}`);
        out(`  user trust (1-5)   ${b.trustScore === undefined ? '—' : fmtNumber(b.trustScore, 2)}`);
      });
    });
}
