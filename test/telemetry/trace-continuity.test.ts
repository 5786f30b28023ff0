// One trace per run across a pause and a restart: the run keeps its trace context in its state, the
// wait for a person is an `await_approval` span recorded when it ends (with its real start), the
// decision is a span of its own, and spans are kept in the store for the console (`spansForRun`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { openAirlock } from '../../src/airlock.js';
import { startTracing } from '../../src/telemetry/tracing.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { runStateOf } from '../../src/orchestration/run-state.js';
import { AIRLOCK } from '../../src/telemetry/attributes.js';
import { copyAcme } from '../helpers/workspace.js';

const ms = (t: readonly [number, number]): number => t[0] * 1000 + Math.floor(t[1] / 1e6);
const named = (spans: readonly ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe('one trace per run', () => {
  let ws: ReturnType<typeof copyAcme>;
  beforeAll(() => {
    ws = copyAcme();
  });
  afterAll(() => ws.cleanup());

  it('continues the run trace after a pause and a restart, with the wait for a person and the decisions in it', async () => {
    // First process: the run pauses for an approval.
    const a = await openAirlock(ws.dir);
    const first = startTracing({ memory: true, store: a.store });
    const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    expect(run.status).toBe('awaiting-approval');
    const spans1 = first.memory!.getFinishedSpans();
    const [root] = named(spans1, 'invoke_agent refund-desk');
    const traceId = root!.spanContext().traceId;
    const rootId = root!.spanContext().spanId;
    expect(runStateOf(run).trace?.traceparent).toBe(`00-${traceId}-${rootId}-01`);

    // The policy decision is a span under the tool's span, saying what it obliges.
    const refund = spans1.find((s) => s.name === 'execute_tool payments.refund')!;
    const decided = named(spans1, 'decide payments.refund')[0]!;
    expect(decided.parentSpanContext?.spanId).toBe(refund.spanContext().spanId);
    expect(decided.attributes[AIRLOCK.decision]).toBe('approval');
    expect(['single', 'step-up']).toContain(decided.attributes[AIRLOCK.obligation]);
    expect(decided.attributes[AIRLOCK.policyIds]).toEqual(expect.arrayContaining([expect.any(String)]));
    const approvalId = runStateOf(run).pending!.approvalId;
    expect(refund.attributes[AIRLOCK.approvalId]).toBe(approvalId);
    const denied = named(spans1, 'decide mail.send')[0]!;
    expect(denied.attributes[AIRLOCK.decision]).toBe('deny');
    expect(denied.attributes[AIRLOCK.obligation]).toBe('deny');
    await first.shutdown();
    await a.close();

    // A new process: a person approves, the run resumes in the same trace.
    const b = await openAirlock(ws.dir);
    const second = startTracing({ memory: true, store: b.store });
    try {
      const res = await vote(b.approvalDeps, approvalId, localApprover(b.principal('user:dana')), 'approve', 'matches the ticket');
      expect(res).toMatchObject({ kind: 'recorded', decided: true });
      const approval = (await b.store.getApproval(approvalId))!;
      const fate = await b.afterDecision(approval, true);
      expect(fate.kind).toBe('resumed');

      const spans2 = second.memory!.getFinishedSpans();
      const [wait] = named(spans2, 'await_approval');
      expect(wait?.spanContext().traceId).toBe(traceId);
      expect(wait?.parentSpanContext?.spanId).toBe(refund.spanContext().spanId);
      expect(ms(wait!.startTime)).toBe(Date.parse(approval.createdAt));
      expect(wait?.attributes[AIRLOCK.approvalId]).toBe(approvalId);
      expect(wait?.attributes[AIRLOCK.approvalStatus]).toBe('approved');

      const [resumed] = named(spans2, 'invoke_agent refund-desk');
      expect(resumed?.spanContext().traceId).toBe(traceId);
      expect(resumed?.parentSpanContext?.spanId).toBe(rootId);
      expect(resumed?.attributes[AIRLOCK.runResumed]).toBe(1);
      expect(resumed?.attributes[AIRLOCK.runStatus]).toBe('verified');
      for (const s of spans2) expect(s.spanContext().traceId).toBe(traceId);

      // Kept in the store across the restart: both segments, the wait, the decisions, for the console.
      await second.flush();
      const kept = await b.spansForRun(run.id);
      expect(kept.filter((s) => s.name === 'invoke_agent refund-desk')).toHaveLength(2);
      expect(kept.map((s) => s.name)).toEqual(expect.arrayContaining(['await_approval', 'decide payments.refund', 'execute_tool payments.refund']));
      expect(new Set(kept.map((s) => s.traceId))).toEqual(new Set([traceId]));
      const keptWait = kept.find((s) => s.name === 'await_approval')!;
      expect(keptWait.startTime).toBe(approval.createdAt);
    } finally {
      await second.shutdown();
      await b.close();
    }
  });
});
