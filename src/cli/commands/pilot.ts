// The pilot's commands: `airlock report WORKFLOW --week [YYYY-Www]` (the weekly review as HTML and
// Markdown), `airlock autonomy WORKFLOW` (keep, promote or demote, with the evidence; `--sign` a
// promotion, `--demote`), `airlock pilot baseline WORKFLOW` (the baseline the pilot is compared with),
// and `airlock pilot decide|sign|decision WORKFLOW` (the decision that ends the pilot, its sign-offs).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { readBaseline } from '../../pilot/baseline.js';
import { autonomyOf, pilotOf, weeklyReview } from '../../pilot/pilot.js';
import { demote, latestDecision, proposeDecision, signDecision, signPromotion } from '../../pilot/decisions.js';
import { pilotContext, pilotDeps } from '../../pilot/eval/pilot-context.js';
import type { PilotDecision } from '../../pilot/review.js';
import { reviewHtml } from '../../pilot/report-html.js';
import { fmtNumber, fmtRate, kpiRows, reviewMarkdown } from '../../pilot/report-markdown.js';
import { parseWeek } from '../../pilot/week.js';
import { bold, dim, green, red, yellow } from '../render.js';
import { AirlockError } from '../../errors.js';
import { approverFor } from './approvals.js';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';

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
        if (missed.length > 0) {
          out(yellow(`  thresholds missed: ${missed.map((t) => t.kpi).join(', ')}`));
          // pilot.demoteOn.missedThresholds: the week that missed steps the workflow down, once per report.
          if (pilotOf(a.workspace, name).pilot.demoteOn.missedThresholds) {
            const lower = await demote(pilotContext(a), name, null, `week ${review.week.name} missed ${missed.map((t) => t.kpi).join(', ')}`, `week:${review.week.name}`);
            if (lower !== null) out(red(`  demoted to ${lower} (pilot.demoteOn.missedThresholds; recorded)`));
          }
        }
        out(`wrote ${base}.html`);
        out(`wrote ${base}.md`);
      });
    });

  program
    .command('autonomy <workflow>')
    .description("whether the workflow's measured record justifies keeping its tier, a step up (with the named sign-offs) or a step down, with every rule's evidence; `--sign --as USER` signs the step up (the last signature applies it), `--demote --as USER --reason TEXT` steps it down now")
    .option('--sign', 'sign the step up the rules recommend (a person its `signOff` names)')
    .option('--demote', 'step the workflow down one tier now')
    .option('--as <user>', 'who signs or demotes (a declared person)')
    .option('--key <apiKey>', 'sign with your own API key instead of --as (or set AIRLOCK_API_KEY): each named owner signs with their own login')
    .option('--reason <text>', 'why (for --demote: recorded)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { sign?: boolean; demote?: boolean; as?: string; key?: string; reason?: string; json?: boolean }) => {
      await withAirlock(async (a) => {
        if (o.sign || o.demote) {
          if (o.sign && o.demote) throw new AirlockError('input', '--sign and --demote cannot go together');
          const actor = await approverFor(a, o);
          const by = actor.principal;
          if (o.demote) {
            if (!o.reason?.trim()) throw new AirlockError('input', '--demote needs --reason TEXT: the change is recorded with it');
            if (by.kind !== 'user') throw new AirlockError('input', 'only a person steps a workflow down');
            const lower = await demote(pilotContext(a), name, actor, o.reason.trim());
            return out(lower === null ? `${name} is at the lowest tier already` : `${bold(name)} now runs at ${red(lower)} (recorded)`);
          }
          const signed = await signPromotion(pilotContext(a), name, actor);
          if (signed.kind === 'refused') {
            process.stderr.write(red(`refused: ${signed.reason}`) + '\n');
            process.exitCode = 2;
            return;
          }
          return out(signed.promoted ? `${bold(name)} now runs at ${green(signed.tier)}: every named owner signed (recorded)` : `signed the step up to ${signed.tier}; still needs: ${signed.missing.join(', ')}`);
        }
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

  pilot
    .command('decide <workflow>')
    .description("record the decision that ends the pilot (scale, redesign or stop) with the evidence as it stands; it stands once everyone in `pilot.decisionSignOff` signed")
    .requiredOption('--outcome <outcome>', 'scale, redesign or stop')
    .requiredOption('--reason <text>', 'why (recorded with the evidence)')
    .option('--as <user>', 'who proposes it (a declared person)')
    .option('--key <apiKey>', 'with your own API key instead of --as (or set AIRLOCK_API_KEY)')
    .action(async (name: string, o: { outcome: string; reason: string; as?: string; key?: string }) => {
      await withAirlock(async (a) => printDecision(await proposeDecision(pilotContext(a), name, o.outcome, o.reason, await approverFor(a, o))));
    });
  pilot
    .command('sign <workflow>')
    .description("sign the workflow's latest pilot decision (a person `pilot.decisionSignOff` names)")
    .option('--as <user>', 'who signs (a declared person)')
    .option('--key <apiKey>', 'sign with your own API key instead of --as (or set AIRLOCK_API_KEY): each person signs with their own login')
    .action(async (name: string, o: { as?: string; key?: string }) => {
      await withAirlock(async (a) => printDecision(await signDecision(pilotContext(a), name, await approverFor(a, o))));
    });
  pilot
    .command('decision <workflow>')
    .description("the workflow's latest pilot decision: outcome, reason, evidence, sign-offs (`--json` exports it whole)")
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { json?: boolean }) => {
      await withAirlock(async (a) => {
        pilotOf(a.workspace, name);
        const d = await latestDecision(a.store, name);
        if (o.json) return out(JSON.stringify(d, null, 2));
        if (d === null) return out(`no decision of ${name} is recorded (\`airlock pilot decide ${name} --outcome ... --reason ... --as USER\`)`);
        printDecision(d);
      });
    });

  function printDecision(d: PilotDecision | { kind: 'refused'; reason: string }): void {
    if ('kind' in d) {
      process.stderr.write(red(`refused: ${d.reason}`) + '\n');
      process.exitCode = 2;
      return;
    }
    out(`${bold(d.workflow)}: ${bold(d.outcome)} (decision ${d.id}), proposed by ${d.proposedBy} on ${d.proposedAt}`);
    out(`  reason: ${d.reason}`);
    out(`  signed: ${d.signOffs.length === 0 ? 'nobody yet' : d.signOffs.map((s) => `${s.by} (${s.at})`).join(', ')}`);
    out(d.missing.length === 0 ? green('  the decision stands') : yellow(`  still needs: ${d.missing.join(', ')}`));
  }
}
