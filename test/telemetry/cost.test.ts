// Cost on leaf model-call spans only (`airlock.cost`), and the run's cost rolled up by one rule: the sum
// of its model calls' costs, which is what run state counts, on the run span as `airlock.run.cost`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import type { Model, ModelTurn } from '../../src/orchestration/model.js';
import { runStateOf } from '../../src/orchestration/run-state.js';
import { startTracing } from '../../src/telemetry/tracing.js';
import { AIRLOCK } from '../../src/telemetry/attributes.js';
import { copyAcme } from '../helpers/workspace.js';

/** A priced model that reads a ticket, then gives up: two turns of known usage. */
function pricedModel(): Model {
  const turns: ModelTurn[] = [
    { kind: 'tool_call', tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' }, usage: { inputTokens: 1000, outputTokens: 200 } },
    { kind: 'final', text: 'nothing to do', claim: 'gave-up', usage: { inputTokens: 3000, outputTokens: 100 } },
  ];
  let i = 0;
  return {
    provider: 'test',
    model: 'priced',
    price: { version: 'v1', currency: 'EUR', inputPerMillion: 2, outputPerMillion: 8 },
    next: () => Promise.resolve(turns[Math.min(i++, turns.length - 1)] as ModelTurn),
  };
}

describe('cost on spans', () => {
  let ws: ReturnType<typeof copyAcme>;
  beforeAll(() => {
    ws = copyAcme();
  });
  afterAll(() => ws.cleanup());

  it('puts each turn cost on its chat span and the run total, from run state, on the run span only', async () => {
    const a = await openAirlock(ws.dir, { modelFor: () => pricedModel() });
    const tracing = startTracing('memory');
    try {
      const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
      const spans = tracing.memory!.getFinishedSpans();
      const chats = spans.filter((s) => s.name === 'chat priced');
      expect(chats.map((s) => s.attributes[AIRLOCK.cost])).toEqual([(1000 * 2 + 200 * 8) / 1_000_000, (3000 * 2 + 100 * 8) / 1_000_000]);
      expect(chats.every((s) => s.attributes[AIRLOCK.costCurrency] === 'EUR')).toBe(true);
      const root = spans.find((s) => s.name === 'invoke_agent refund-desk')!;
      const usage = runStateOf(run).usage;
      expect(root.attributes[AIRLOCK.runCost]).toBe(usage.costMicros / 1_000_000);
      expect(root.attributes[AIRLOCK.runCost]).toBeCloseTo(chats.reduce((n, s) => n + Number(s.attributes[AIRLOCK.cost]), 0), 9);
      // Leaf spans only: nothing else carries `airlock.cost`.
      expect(spans.filter((s) => s.attributes[AIRLOCK.cost] !== undefined).every((s) => s.name === 'chat priced')).toBe(true);
    } finally {
      await tracing.shutdown();
      await a.close();
    }
  });
});
