// Usage reports: totals per workflow, principal or route from the daily sums, cost per currency.
import { describe, expect, it } from 'vitest';
import { usageTotals } from '../../src/orchestration/usage.js';

const row = (scope: string, day: string, currency: string, modelCalls: number, costMicros: number) => ({ scope, day, currency, modelCalls, inputTokens: 10 * modelCalls, outputTokens: modelCalls, costMicros, toolCalls: 2 * modelCalls });

describe('usage totals', () => {
  it('adds days up per scope of one dimension, keeps currencies apart and unpriced turns uncosted', () => {
    const rows = [
      row('workflow:refunds', '2026-12-05', 'USD', 3, 1_500_000),
      row('workflow:refunds', '2026-12-06', 'USD', 2, 500_000),
      row('workflow:refunds', '2026-12-06', 'EUR', 1, 250_000),
      row('workflow:triage', '2026-12-06', '', 9, 0),
      row('route:llm', '2026-12-06', 'USD', 5, 2_000_000),
    ];
    expect(usageTotals(rows, 'workflow')).toEqual([
      { scope: 'triage', modelCalls: 9, inputTokens: 90, outputTokens: 9, toolCalls: 18, cost: {} },
      { scope: 'refunds', modelCalls: 6, inputTokens: 60, outputTokens: 6, toolCalls: 12, cost: { USD: 2, EUR: 0.25 } },
    ]);
    expect(usageTotals(rows, 'route').map((t) => t.scope)).toEqual(['llm']);
    expect(usageTotals(rows, 'principal')).toEqual([]);
  });
});
