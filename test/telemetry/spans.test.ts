// The run, each model call and each tool call become OpenTelemetry spans named per the GenAI conventions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { startTracing } from '../../src/telemetry/tracing.js';
import { copyAcme } from '../helpers/workspace.js';

describe('telemetry', () => {
  let ws: ReturnType<typeof copyAcme>;
  beforeAll(() => {
    ws = copyAcme();
  });
  afterAll(() => ws.cleanup());

  it('emits run, chat and execute_tool spans with GenAI and Airlock attributes', async () => {
    const tracing = startTracing('memory');
    const a = await openAirlock(ws.dir);
    try {
      const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
      expect(run.status).toBe('awaiting-approval');
      const spans = tracing.memory!.getFinishedSpans();
      const root = spans.find((s) => s.name === 'invoke_agent refund-desk');
      expect(root?.attributes['gen_ai.operation.name']).toBe('invoke_agent');
      expect(root?.attributes['airlock.run.id']).toBe(run.id);
      expect(root?.attributes['airlock.run.status']).toBe('awaiting-approval');

      const chats = spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'chat');
      expect(chats.length).toBeGreaterThanOrEqual(8);
      expect(chats[0]?.attributes['gen_ai.request.model']).toBe('playbook');

      const tools = spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'execute_tool');
      const send = tools.find((s) => s.attributes['gen_ai.tool.name'] === 'mail.send');
      expect(send?.name).toBe('execute_tool mail.send');
      expect(send?.attributes['airlock.decision']).toBe('deny');
      expect(send?.attributes['airlock.policy.ids']).toEqual(expect.arrayContaining(['mail-internal-only']));
      const refund = tools.find((s) => s.attributes['gen_ai.tool.name'] === 'payments.refund');
      expect(refund?.attributes['airlock.outcome']).toBe('pending-approval');

      // Every model and tool span belongs to the run's trace, under the run span.
      const rootId = root?.spanContext().spanId;
      for (const s of [...chats, ...tools]) {
        expect(s.spanContext().traceId).toBe(root?.spanContext().traceId);
        expect(s.parentSpanContext?.spanId).toBe(rootId);
      }
    } finally {
      await a.close();
      await tracing.shutdown();
    }
  });
});
