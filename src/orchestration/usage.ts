// Usage reports (pure): the daily sums the runs keep (usage_daily), added up per workflow, principal
// or route over the days asked for, cost per currency. The CLI (`airlock usage`) and the API (`GET /v1/usage`) show them.
import type { UsageRow } from '../store/store.js';

/** What usage is reported by. */
export const USAGE_DIMENSIONS = ['workflow', 'principal', 'route'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

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
export function usageTotals(rows: readonly UsageRow[], by: UsageDimension): UsageTotal[] {
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
