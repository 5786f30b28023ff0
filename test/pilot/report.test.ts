// The weekly report on the real demo: runs in two weeks (one refund approved and verified, one steered
// refund rejected with a reason), then `airlock report refund-desk --week` as a child process writes an
// HTML page and Markdown a product owner can read: the week's KPIs against the baseline, the trend, the
// override with its reason (escaped), the autonomy judgement; bad weeks and workflows exit 2.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import { weeklyReview } from '../../src/pilot/pilot.js';
import { parseWeek } from '../../src/pilot/week.js';
import { airlock, requireBuild } from '../cli/cli-helpers.js';
import { copyAcme } from '../helpers/workspace.js';

const REASON = '<script>alert(1)</script> the amount came from the customer e-mail, not the order';

describe('airlock report', () => {
  let ws: ReturnType<typeof copyAcme>;
  beforeAll(async () => {
    requireBuild();
    ws = copyAcme();
    let t = new Date('2026-11-24T09:00:00Z');
    const a = await openAirlock(ws.dir, { now: () => t });
    try {
      // Week 48: T-311's refund waits for a person, is approved 7 minutes later, and ends verified.
      const first = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
      t = new Date('2026-11-24T09:07:00Z');
      const approval = (first.state as unknown as RunState).pending!.approvalId;
      expect((await vote(a.approvalDeps, approval, localApprover(a.principal('user:dana')), 'approve', 'matches the order')).kind).toBe('recorded');
      expect((await a.runner.resume(first.id)).status).toBe('verified');
      // Week 49: T-324's refund, steered by the e-mail, is rejected.
      t = new Date('2026-12-01T10:00:00Z');
      const second = await a.runner.start('refund-desk', { ticket_id: 'T-324' });
      const steered = (second.state as unknown as RunState).pending!.approvalId;
      t = new Date('2026-12-01T10:12:00Z');
      expect((await vote(a.approvalDeps, steered, localApprover(a.principal('user:dana')), 'reject', REASON)).kind).toBe('recorded');
    } finally {
      await a.close();
    }
  });
  afterAll(() => ws?.cleanup());

  it('measures each week from its own runs, with the baseline from the demo’s CSV', async () => {
    const a = await openAirlock(ws.dir, { now: () => new Date('2026-12-03T12:00:00Z') });
    try {
      const w48 = await weeklyReview({ workspace: a.workspace, store: a.store, now: a.now }, 'refund-desk', parseWeek('2026-W48'));
      expect(w48.kpis).toMatchObject({ runs: 1, finished: 1, verified: 1, verifiedRate: 1, decided: 1, overridden: 0, escalationRate: 1, approvalWaitP50Minutes: 7 });
      const w49 = await weeklyReview({ workspace: a.workspace, store: a.store, now: a.now }, 'refund-desk', parseWeek('2026-W49'));
      expect(w49.kpis).toMatchObject({ runs: 1, decided: 1, overridden: 1, overrideRate: 1, approvalWaitP50Minutes: 12 });
      expect(w49.overrides).toEqual([expect.objectContaining({ outcome: 'rejected', tool: 'payments.refund', by: 'user:dana', reason: REASON })]);
      expect(w49.trend.map((t) => [t.week, t.kpis.runs])).toEqual([...['W42', 'W43', 'W44', 'W45', 'W46', 'W47'].map((w) => [`2026-${w}`, 0]), ['2026-W48', 1], ['2026-W49', 1]]);
      expect(w49.thresholds.find((t) => t.kpi === 'overrideRate')).toMatchObject({ status: 'missed', value: 1 });
      expect(w49.recommendation.verdict).toBe('demote');
      expect(w49.baseline.find((b) => b.measure === 'error rate')?.baseline).toBeCloseTo(2 / 60, 10);
      expect(w49.autonomy.promotion).toEqual([]);
    } finally {
      await a.close();
    }
  });

  it('writes HTML and Markdown for the week, every value escaped, no script or remote resource', async () => {
    const r = await airlock(['-w', ws.dir, 'report', 'refund-desk', '--week', '2026-W49']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('refund-desk, week 2026-W49 (tier execute-low): recommendation demote');
    expect(r.stdout).toContain('overrideRate is 1, the threshold is at most 0.05');
    const html = readFileSync(path.join(ws.dir, '.airlock', 'reports', 'refund-desk-2026-W49.html'), 'utf8');
    const md = readFileSync(path.join(ws.dir, '.airlock', 'reports', 'refund-desk-2026-W49.md'), 'utf8');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; the amount came from the customer e-mail');
    expect(html).not.toMatch(/<script|https?:\/\/|src=/i);
    expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(2);
    expect(md).toContain('## Recommendation: **demote**');
    expect(md).toContain('| override rate (rejected or edited, of decided) | 100.0% (1 of 1) |');
    expect(md).toContain('| error rate | 3.3% |');
  });

  it('refuses a week that is not one and an undeclared workflow, with exit code 2', async () => {
    const week = await airlock(['-w', ws.dir, 'report', 'refund-desk', '--week', '2026-W99']);
    expect(week.code).toBe(2);
    expect(week.stderr).toContain('2026 has no week 99');
    const wf = await airlock(['-w', ws.dir, 'report', 'payroll']);
    expect(wf.code).toBe(2);
    expect(wf.stderr).toContain('no workflow `payroll` is declared');
    expect(existsSync(path.join(ws.dir, '.airlock', 'reports', 'payroll-2026-W49.html'))).toBe(false);
  });
});
