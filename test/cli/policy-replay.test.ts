// `airlock policy replay DRAFT --since 7d` through the real CLI: only the proposals recorded in the window
// are replayed against the draft (exit 1 when any is decided differently); a bad window exits 2.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { parseSince } from '../../src/cli/commands/what-if.js';
import { copyAcme } from '../helpers/workspace.js';
import { airlock, requireBuild } from './cli-helpers.js';

describe('airlock policy replay', () => {
  let ws: ReturnType<typeof copyAcme>;
  let freeze: string;

  beforeAll(async () => {
    requireBuild();
    ws = copyAcme();
    // T-311 ten days ago, then T-324 now: the trail in time order, as one process writes it.
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    const old = await openAirlock(ws.dir, { now: () => tenDaysAgo });
    try {
      expect((await old.runner.start('refund-desk', { ticket_id: 'T-311' })).status).toBe('awaiting-approval');
    } finally {
      await old.close();
    }
    const a = await openAirlock(ws.dir);
    try {
      expect((await a.runner.start('refund-desk', { ticket_id: 'T-324' })).status).toBe('awaiting-approval');
    } finally {
      await a.close();
    }
    mkdirSync(path.join(ws.dir, 'drafts'), { recursive: true });
    freeze = path.join(ws.dir, 'drafts', 'no-refunds.cedar');
    writeFileSync(freeze, '@id("no-refunds")\n@reason("refunds are frozen")\nforbid (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"payments.refund");\n');
  }, 60_000);
  afterAll(() => ws?.cleanup());

  it('replays only the window: the last 7 days hold one refund, the last 30 days both', async () => {
    const week = await airlock(['-w', ws.dir, 'policy', 'replay', freeze, '--since', '7d', '--json']);
    expect(week.code).toBe(1);
    const r = JSON.parse(week.stdout) as { since: string; rows: { tool: string; change: string; runId: string }[] };
    expect(Date.parse(r.since)).toBeLessThan(Date.now() - 6 * 86_400_000);
    expect(r.rows.filter((x) => x.tool === 'payments.refund').map((x) => x.change)).toEqual(['newly-denied']);
    const month = await airlock(['-w', ws.dir, 'policy', 'replay', freeze, '--since', '30d', '--json']);
    const m = JSON.parse(month.stdout) as { rows: { tool: string; change: string }[] };
    expect(m.rows.filter((x) => x.tool === 'payments.refund').map((x) => x.change)).toEqual(['newly-denied', 'newly-denied']);
    const text = await airlock(['-w', ws.dir, 'policy', 'replay', freeze]);
    expect(text.stdout).toMatch(/recorded decision\(s\) since \d{4}-\d\d-\d\dT/);
    expect(text.stdout).toMatch(/ payments\.refund by agent:refund-bot \(run run_\w+\): approval \(\w+\) → deny {2}newly-denied$/m);
    // The draft is a whole policy set: with only the freeze in it, the reads it no longer permits are newly denied too.
    expect(text.stdout).toMatch(/^\d+ same, [1-9]\d* newly denied, 0 newly allowed, 0 obligation changed, 0 not replayable$/m);
  });

  it('exits 0 for the current policies, and 2 for a window that is not one', async () => {
    expect((await airlock(['-w', ws.dir, 'policy', 'replay', path.join(ws.dir, 'policies'), '--since', '30d'])).code).toBe(0);
    const bad = await airlock(['-w', ws.dir, 'policy', 'replay', freeze, '--since', 'last week']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('is neither a duration nor a date')]);
    const future = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect((await airlock(['-w', ws.dir, 'policy', 'replay', freeze, '--since', future])).code).toBe(2);
  });

  it('reads durations and dates', () => {
    const now = new Date('2026-12-06T12:00:00Z');
    expect(parseSince('7d', now)).toBe('2026-11-29T12:00:00.000Z');
    expect(parseSince('36h', now)).toBe('2026-12-05T00:00:00.000Z');
    expect(parseSince('90m', now)).toBe('2026-12-06T10:30:00.000Z');
    expect(parseSince('2026-12-01', now)).toBe('2026-12-01T00:00:00.000Z');
    expect(() => parseSince('7 days', now)).toThrow(/neither a duration nor a date/);
  });
});
