// `airlock rollback RUN --as USER`: undoes a finished run's side effects in reverse order, each compensation
// through policy, approvals and audit; prints what was undone, what is irreversible, what is waiting or failed.
import type { Command } from 'commander';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';
import { rollbackRun, type RollbackOutcome, type RollbackReport } from '../../orchestration/rollback.js';
import type { RunId } from '../../types.js';
import { bold, dim, green, red, yellow } from '../render.js';

/** What `registerRollbackCommand` needs from the program that hosts it. */
export type RollbackCommandHelpers = WorkspaceCommandHelpers;

/**
 * Adds `rollback <run> --as USER [--json]`. Exit 0 when every reversible effect is undone (irreversible
 * ones are listed), 1 when a step waits for an approval or failed (it says what to do next), 2 for bad input.
 */
export function registerRollbackCommand(program: Command, helpers: RollbackCommandHelpers): Command {
  const { out } = helpers;
  return program
    .command('rollback <run>')
    .description('undo a finished run\'s side effects in reverse order through the gateway (policy, approvals, audit); safe to re-run')
    .requiredOption('--as <user>', 'who asks (a declared person; someone else approves the compensations that need it)')
    .option('--json', 'the report as JSON')
    .action(async (id: string, o: { as: string; json?: boolean }) => {
      await workspaceRunner(helpers)(async (a) => {
        const report = await rollbackRun(a, id as RunId, a.principal(o.as));
        if (o.json) out(JSON.stringify(report, null, 2));
        else for (const line of renderRollback(report, o.as)) out(line);
        if (report.status !== 'completed') process.exitCode = 1;
      });
    });
}

const PAINT: Record<RollbackOutcome, (s: string) => string> = {
  undone: green,
  'already-undone': green,
  irreversible: yellow,
  'pending-approval': yellow,
  denied: red,
  failed: red,
  'not-attempted': dim,
};

/** The report as a table (step, tool, outcome, detail) and what to do next. */
export function renderRollback(r: RollbackReport, as: string): string[] {
  const lines: string[] = [];
  lines.push(`${bold('rollback')} of run ${r.runId} ${dim(`(rollback run ${r.rollbackRunId})`)}`);
  if (r.steps.length === 0) {
    lines.push('the run had no side effects: nothing to undo');
  } else {
    const toolWidth = Math.max(4, ...r.steps.map((s) => s.tool.length));
    lines.push(dim(`${'step'.padStart(4)}  ${'tool'.padEnd(toolWidth)}  ${'outcome'.padEnd(16)}  detail`));
    for (const s of r.steps) {
      lines.push(`${String(s.step).padStart(4)}  ${s.tool.padEnd(toolWidth)}  ${PAINT[s.outcome](s.outcome.padEnd(16))}  ${s.detail}`);
    }
  }
  lines.push('');
  const count = (o: RollbackOutcome) => r.steps.filter((s) => s.outcome === o).length;
  const undone = count('undone') + count('already-undone');
  const irreversible = count('irreversible');
  const rerun = `airlock rollback ${r.runId} --as ${as}`;
  switch (r.status) {
    case 'completed':
      lines.push(
        `${green(r.noop ? 'already rolled back' : 'rolled back')}: ${undone} effect${undone === 1 ? '' : 's'} undone` +
          (irreversible > 0 ? `, ${yellow(`${irreversible} irreversible`)} (listed above: they stay as they are)` : ''),
      );
      break;
    case 'awaiting-approval': {
      const waiting = r.steps.find((s) => s.outcome === 'pending-approval');
      lines.push(yellow(`paused at step ${waiting?.step ?? '?'}: the compensation waits for approval ${waiting?.approvalId ?? '?'}`));
      lines.push(`next: someone other than ${as} approves it (${bold(`airlock show ${waiting?.approvalId ?? 'ID'}`)}, ${bold(`airlock approve ${waiting?.approvalId ?? 'ID'} --as USER`)}),`);
      lines.push(`      then run ${bold(rerun)} again: it continues from step ${waiting?.step ?? '?'} and repeats no undo`);
      break;
    }
    case 'failed': {
      const failed = r.steps.find((s) => s.outcome === 'failed' || s.outcome === 'denied');
      lines.push(red(`stopped at step ${failed?.step ?? '?'} (${failed?.outcome ?? 'failed'}); the steps after it were not attempted`));
      if (r.incidentId) lines.push(`incident ${bold(r.incidentId)} is open for it (${bold('airlock incidents')})`);
      lines.push(`next: fix the cause, then run ${bold(rerun)} again: it continues from step ${failed?.step ?? '?'} and repeats no undo`);
      break;
    }
  }
  return lines;
}
