// `airlock policy what-if` through the real CLI: exit 0 when the draft decides every recorded request
// the same, 1 when some differ (listed), 2 for bad input (a draft that does not compile names file:line).
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { copyAcme } from '../helpers/workspace.js';
import { airlock, requireBuild } from './cli-helpers.js';

describe('airlock policy what-if', () => {
  let ws: ReturnType<typeof copyAcme>;
  let drafts: string;

  beforeAll(async () => {
    requireBuild();
    ws = copyAcme();
    const a = await openAirlock(ws.dir);
    try {
      expect((await a.runner.start('refund-desk', { ticket_id: 'T-311' })).status).toBe('awaiting-approval');
    } finally {
      await a.close();
    }
    drafts = path.join(ws.dir, 'drafts');
    mkdirSync(path.join(drafts, 'freeze'), { recursive: true });
    writeFileSync(path.join(drafts, 'freeze', 'no-refunds.cedar'), '@id("no-refunds")\n@reason("refunds are frozen")\nforbid (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"payments.refund");\n');
    writeFileSync(path.join(drafts, 'bad.cedar'), '@id("x")\npermit (principal, action, resource)\nwhen { context.workflow == };\n');
  }, 60_000);
  afterAll(() => ws?.cleanup());

  it('exits 0 when a draft identical to the current set decides every request the same', async () => {
    const r = await airlock(['-w', ws.dir, 'policy', 'what-if', '--draft', path.join(ws.dir, 'policies')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+ same, 0 newly denied, 0 newly allowed, 0 obligation changed, 0 not replayable$/m);
  });

  it('exits 1 and lists the refund as newly denied under a draft that forbids refunds', async () => {
    // The current policies plus the freeze: a folder of drafts is read recursively.
    cpSync(path.join(ws.dir, 'policies'), path.join(drafts, 'freeze', 'current'), { recursive: true });
    const r = await airlock(['-w', ws.dir, 'policy', 'what-if', '--draft', path.join(drafts, 'freeze'), '--last', '100']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^#\d+ \S+ payments\.refund by agent:refund-bot \(run run_\w+\): approval \(single\) → deny {2}newly-denied$/m);
    expect(r.stdout).toMatch(/draft says: refunds are frozen/);
    expect(r.stdout).toMatch(/^\d+ same, 1 newly denied, 0 newly allowed, 0 obligation changed, 0 not replayable$/m);
    const json = await airlock(['-w', ws.dir, 'policy', 'what-if', '--draft', path.join(drafts, 'freeze', 'no-refunds.cedar'), '--json', '--last', '1']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { examined: number; rows: { tool: string; change: string }[] };
    expect(report.examined).toBe(1);
    expect(report.rows).toEqual([expect.objectContaining({ tool: 'payments.refund', change: 'newly-denied' })]);
  });

  it('exits 2 with file:line for a draft that does not compile, and for bad --last or --draft', async () => {
    const bad = await airlock(['-w', ws.dir, 'policy', 'what-if', '--draft', path.join(drafts, 'bad.cedar')], { cwd: ws.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/drafts\/bad\.cedar:3:\d+: syntax error/);
    for (const args of [['--last', '0'], ['--last', '10001'], ['--last', 'all']]) {
      const r = await airlock(['-w', ws.dir, 'policy', 'what-if', '--draft', path.join(ws.dir, 'policies'), ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/from 1 to 10000/);
    }
    const missing = await airlock(['-w', ws.dir, 'policy', 'what-if', '--draft', path.join(drafts, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
    expect((await airlock(['-w', ws.dir, 'policy', 'what-if'])).code).toBe(2);
  });
});
