// KPI arithmetic on known data: rates over the right denominators, percentiles by nearest rank, the
// window's edges, thresholds at their bounds, the baseline compared the right way round, ISO weeks.
import { describe, expect, it } from 'vitest';
import { pilotSchema } from '../../src/config/pilot-schema.js';
import { checkThresholds, compareBaseline, computeKpis, percentile, type ApprovalFact, type RunFact } from '../../src/pilot/kpis.js';
import { parseWeek, weekOf, weeksBefore } from '../../src/pilot/week.js';

const FROM = '2026-11-30T00:00:00.000Z';
const TO = '2026-12-07T00:00:00.000Z';
let n = 0;
function run(status: RunFact['status'], o: Partial<RunFact> & { minutes?: number } = {}): RunFact {
  const createdAt = o.createdAt ?? '2026-12-01T10:00:00.000Z';
  const ended = ['verified', 'unverified', 'failed', 'completed', 'cancelled'].includes(status);
  return {
    id: `run_${n++}`,
    createdAt,
    endedAt: ended ? new Date(Date.parse(createdAt) + (o.minutes ?? 10) * 60_000).toISOString() : null,
    status,
    onBehalfOf: o.onBehalfOf ?? null,
    approvals: o.approvals ?? [],
    incidents: o.incidents ?? [],
    costMicros: o.costMicros ?? 0,
    currency: o.currency ?? null,
  };
}
function approval(outcome: ApprovalFact['outcome'], waitMinutes: number | null = 5): ApprovalFact {
  return { id: `apr_${n++}`, tool: 'payments.refund', requestedAt: '2026-12-01T10:01:00.000Z', decidedAt: waitMinutes === null ? null : new Date(Date.parse('2026-12-01T10:01:00.000Z') + waitMinutes * 60_000).toISOString(), outcome, by: null, reason: null };
}

describe('KPIs', () => {
  const facts: RunFact[] = [
    run('verified', { minutes: 4, costMicros: 20_000, currency: 'EUR', approvals: [approval('approved', 2)] }),
    run('verified', { minutes: 8, costMicros: 40_000, currency: 'EUR', approvals: [approval('rejected', 30), approval('approved', 10)] }),
    run('unverified', { minutes: 20, costMicros: 60_000, currency: 'EUR', incidents: [{ kind: 'verification-failed', openedAt: '2026-12-01T10:20:00.000Z', open: true }] }),
    run('failed', { minutes: 1, costMicros: 5_000_000, currency: 'USD' }),
    run('awaiting-approval', { approvals: [approval('pending', null)] }),
    run('verified', { createdAt: '2026-11-29T23:59:59.999Z' }), // the week before
    run('verified', { createdAt: TO }), // the week after: the end is exclusive
  ];
  const k = computeKpis(facts, FROM, TO);

  it('counts runs started in the window and rates over the runs that ended', () => {
    expect([k.runs, k.finished, k.verified, k.unverified, k.failed]).toEqual([5, 4, 2, 1, 1]);
    expect(k.verifiedRate).toBe(0.5);
    expect(k.unverifiedRate).toBe(0.25);
    expect(k.errorRate).toBe(0.5);
  });

  it('override rate over decided actions; escalation over runs; waits and latency by nearest rank', () => {
    expect([k.decided, k.overridden, k.overrideRate]).toEqual([3, 1, 1 / 3]);
    expect([k.escalated, k.escalationRate]).toEqual([3, 3 / 5]);
    expect([k.approvalWaitP50Minutes, k.approvalWaitP90Minutes]).toEqual([10, 30]);
    expect([k.latencyP50Minutes, k.latencyP90Minutes]).toEqual([4, 20]);
    expect([k.incidents, k.incidentsByKind]).toEqual([1, { 'verification-failed': 1 }]);
  });

  it('cost per run in the most common currency, the other currency counted apart', () => {
    expect(k.currency).toBe('EUR');
    expect(k.costPerRun).toBeCloseTo(0.04, 10);
    expect(k.otherCurrencyRuns).toBe(1);
  });

  it('says "not measured" (null) rather than 0 when nothing measures a rate', () => {
    const empty = computeKpis([run('running')], FROM, TO);
    expect([empty.runs, empty.verifiedRate, empty.overrideRate, empty.latencyP50Minutes, empty.costPerRun]).toEqual([1, null, null, null, null]);
    expect(percentile([], 0.5)).toBeNull();
    expect([percentile([3, 1, 2], 0), percentile([3, 1, 2], 0.5), percentile([3, 1, 2], 1)]).toEqual([1, 2, 3]);
  });

  it('holds thresholds at their bounds: equal to a bound is met', () => {
    const pilot = pilotSchema.parse({ thresholds: { verifiedRate: { min: 0.5 }, overrideRate: { max: 0.3333 }, incidents: { max: 1 }, costPerRun: { max: 0.04 }, approvalWaitP90Minutes: { min: 0, max: 29 } } });
    const byKpi = Object.fromEntries(checkThresholds(k, pilot.thresholds).map((t) => [t.kpi, t.status]));
    expect(byKpi).toEqual({ verifiedRate: 'met', overrideRate: 'missed', incidents: 'met', costPerRun: 'met', approvalWaitP90Minutes: 'missed' });
    const none = checkThresholds(computeKpis([], FROM, TO), pilot.thresholds);
    expect(none.find((t) => t.kpi === 'verifiedRate')?.status).toBe('not measured');
  });

  it('compares with the baseline the right way round, and not across currencies', () => {
    const rows = compareBaseline(k, { timePerCaseMinutes: 4, errorRate: 0.1, costPerCase: 3, currency: 'USD', escalationRate: 0.8, trustScore: 3.5 });
    expect(rows.map((r) => [r.measure, r.baseline, r.pilot, r.better])).toEqual([
      ['time per case', 4, 4, true],
      ['error rate', 0.1, 0.5, false],
      ['cost per case', 3, k.costPerRun, null],
      ['escalation rate', 0.8, 0.6, true],
      ['user trust (1-5)', 3.5, null, null],
    ]);
  });
});

describe('ISO weeks', () => {
  it('names the week holding a day, Monday to Monday in UTC, across a year end', () => {
    expect(weekOf(new Date('2026-12-06T23:59:59Z'))).toEqual({ name: '2026-W49', from: '2026-11-30T00:00:00.000Z', to: '2026-12-07T00:00:00.000Z' });
    expect(weekOf(new Date('2027-01-01T12:00:00Z')).name).toBe('2026-W53');
    expect(weekOf(new Date('2024-12-30T00:00:00Z')).name).toBe('2025-W01');
  });

  it('parses a week name back, and refuses what is not one', () => {
    for (const name of ['2026-W01', '2026-W49', '2026-W53', '2025-W01']) expect(parseWeek(name).name).toBe(name);
    expect(() => parseWeek('2025-W53')).toThrow(/2025 has no week 53/);
    expect(() => parseWeek('2026-49')).toThrow(/not an ISO week/);
    expect(() => parseWeek('2026-W00')).toThrow(/has no week 0/);
  });

  it('lists the weeks before one, oldest first', () => {
    expect(weeksBefore(parseWeek('2026-W02'), 3).map((w) => w.name)).toEqual(['2025-W52', '2026-W01', '2026-W02']);
  });
});

describe('Markdown cells', () => {
  it('make what people wrote inert: no HTML, link, image, code, emphasis or table break', async () => {
    const { cell } = await import('../../src/pilot/report-markdown.js');
    expect(cell('<img src=x onerror=alert(1)> [click](javascript:alert(1)) ![i](http://x/p.png) `code` *b* a|b\nnext')).toBe(
      '&lt;img src=x onerror=alert(1)&gt; \\[click\\](javascript:alert(1)) !\\[i\\](http://x/p.png) \\`code\\` \\*b\\* a\\|b next',
    );
  });
});
