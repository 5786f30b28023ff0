// `airlock usage [--days N] [--by workflow|principal|route] [--json]`: what Airlock's own model turns
// used and cost, per workflow, principal or route, from the daily sums the runs keep (usage_daily).
import type { Command } from 'commander';
import { AirlockError } from '../../errors.js';
import { USAGE_DIMENSIONS as DIMENSIONS, usageTotals, type UsageDimension as Dimension } from '../../orchestration/usage.js';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';
import { bold, dim, money } from '../render.js';

export function registerUsageCommand(program: Command, helpers: WorkspaceCommandHelpers): Command {
  const { out } = helpers;
  const withAirlock = workspaceRunner(helpers);
  return program
    .command('usage')
    .description("what Airlock's own model turns used and cost, and the tool calls of every run (external agents' too), per workflow, principal or route (UTC days, today included)")
    .option('--days <n>', 'how many days back, today included', '7')
    .option('--by <dimension>', `one of ${DIMENSIONS.join(', ')}`, 'workflow')
    .option('--json', 'machine-readable output')
    .action(async (o: { days: string; by: string; json?: boolean }) => {
      const days = Number(o.days);
      if (!Number.isInteger(days) || days < 1 || days > 366) throw new AirlockError('input', `--days must be a whole number from 1 to 366, not \`${o.days}\``);
      if (!(DIMENSIONS as readonly string[]).includes(o.by)) throw new AirlockError('input', `--by must be one of ${DIMENSIONS.join(', ')}, not \`${o.by}\``);
      const by = o.by as Dimension;
      await withAirlock(async (a) => {
        const since = new Date(a.now().getTime() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
        const totals = usageTotals(await a.store.usageSince(since), by);
        if (o.json) return out(JSON.stringify({ since, by, totals }, null, 2));
        if (totals.length === 0) return out(`no model turns since ${since}`);
        out(bold(`model usage by ${by} since ${since} (UTC)`));
        for (const t of totals) {
          const cost = Object.entries(t.cost).map(([c, v]) => money(v, c)).join(' + ') || dim('unpriced');
          out(`${t.scope}: ${t.modelCalls} model call${t.modelCalls === 1 ? '' : 's'}, ${t.inputTokens} input / ${t.outputTokens} output tokens, cost ${cost}; ${t.toolCalls} tool call${t.toolCalls === 1 ? '' : 's'}`);
        }
      });
    });
}
