// `airlock usage [--days N] [--by workflow|principal|route] [--json]`: what Airlock's own model turns
// used and cost, per workflow, principal or route, from the daily sums the runs keep (usage_daily).
import type { Command } from 'commander';
import { AirlockError } from '../../errors.js';
import type { UsageRow } from '../../store/store.js';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';
import { bold, dim } from '../render.js';

const DIMENSIONS = ['workflow', 'principal', 'route'] as const;
type Dimension = (typeof DIMENSIONS)[number];

/** One line of the report: a scope's totals over the days asked for, cost per currency. */
export interface UsageTotal {
  readonly scope: string;
  readonly modelCalls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly toolCalls: number;
  /** Currency → cost; turns with no price table are counted, not priced. */
  readonly cost: Readonly<Record<string, number>>;
}

/** Totals per scope of one dimension (pure), most model calls first. */
export function usageTotals(rows: readonly UsageRow[], by: Dimension): UsageTotal[] {
  const prefix = `${by}:`;
  const totals = new Map<string, { modelCalls: number; inputTokens: number; outputTokens: number; toolCalls: number; cost: Record<string, number> }>();
  for (const r of rows) {
    if (!r.scope.startsWith(prefix)) continue;
    const name = r.scope.slice(prefix.length);
    const t = totals.get(name) ?? { modelCalls: 0, inputTokens: 0, outputTokens: 0, toolCalls: 0, cost: {} };
    t.toolCalls += r.toolCalls;
    t.modelCalls += r.modelCalls;
    t.inputTokens += r.inputTokens;
    t.outputTokens += r.outputTokens;
    if (r.currency !== '') t.cost[r.currency] = (t.cost[r.currency] ?? 0) + r.costMicros / 1_000_000;
    totals.set(name, t);
  }
  return [...totals].map(([scope, t]) => ({ scope, ...t })).sort((a, b) => b.modelCalls - a.modelCalls || a.scope.localeCompare(b.scope));
}

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
          const cost = Object.entries(t.cost).map(([c, v]) => `${v.toFixed(6).replace(/0+$/, '').replace(/\.$/, '')} ${c}`).join(' + ') || dim('unpriced');
          out(`${t.scope}: ${t.modelCalls} model call${t.modelCalls === 1 ? '' : 's'}, ${t.inputTokens} input / ${t.outputTokens} output tokens, cost ${cost}; ${t.toolCalls} tool call${t.toolCalls === 1 ? '' : 's'}`);
        }
      });
    });
}
