// Spans kept in the store are bounded per trace and in all, and a run's spans are those of its traces.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, openConnection } from '../../src/store/sqlite-file.js';
import { addSpans, spansOfRun } from '../../src/store/sqlite-spans.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { StoredSpan } from '../../src/store/store.js';
import type { RunId } from '../../src/types.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-spans-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const row = (traceId: string, n: number, runId: string | null = null) => ({ traceId, spanId: `s${n}`, runId, record: JSON.stringify({ n }) });

describe('spans kept in the store', () => {
  it('keeps at most perTrace spans of one trace, and prunes the oldest past the total', () => {
    const file = path.join(tmp, 'bounds.db');
    const db = openConnection(file, 1000);
    try {
      migrate(db, file);
      addSpans(db, [row('t1', 1, 'run_a'), row('t1', 2), row('t1', 3), row('t2', 4, 'run_b')], { perTrace: 2, kept: 100 });
      expect(spansOfRun(db, 'run_a', 100).map((r) => JSON.parse(r) as { n: number })).toEqual([{ n: 1 }, { n: 2 }]);
      addSpans(db, [row('t3', 5, 'run_c'), row('t3', 6), row('t3', 7)], { perTrace: 5, kept: 3 });
      expect(spansOfRun(db, 'run_a', 100)).toEqual([]);
      expect(spansOfRun(db, 'run_c', 100)).toHaveLength(3);
      expect((db.prepare('SELECT COUNT(*) AS n FROM spans').get() as { n: number }).n).toBe(3);
    } finally {
      db.close();
    }
  });

  it('gives back what was kept for a run through the store, across a reopen', async () => {
    const file = path.join(tmp, 'store.db');
    const span = (spanId: string, runId: string | null): StoredSpan => ({
      traceId: 'a'.repeat(32),
      spanId,
      parentSpanId: null,
      name: `span ${spanId}`,
      startTime: '2026-01-01T00:00:00.000Z',
      endTime: '2026-01-01T00:00:01.000Z',
      durationMs: 1000,
      status: { code: 'unset' },
      attributes: { 'airlock.run.id': runId },
      runId,
    });
    const first = await openSqliteStore(file);
    await first.appendSpans([span('1111111111111111', 'run_x'), span('2222222222222222', null)]);
    await first.close();
    const again = await openSqliteStore(file);
    try {
      expect((await again.spansForRun('run_x' as RunId)).map((s) => s.spanId)).toEqual(['1111111111111111', '2222222222222222']);
      expect(await again.spansForRun('run_none' as RunId)).toEqual([]);
    } finally {
      await again.close();
    }
  });
});
