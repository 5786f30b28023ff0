// A run's records are read through the pages of seqs they lie in (audit_run_pages): all of them, in
// order, when a run's records are far apart in the trail, and the same after a store written before
// the index existed is migrated (the index is rebuilt from the leaves).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/audit/log.js';
import { AUDIT_PAGE_BITS, openConnection, RECENT_GROUP_BITS } from '../../src/store/sqlite-file.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { AuditDraft, Store } from '../../src/store/store.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-run-pages-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PAGE = 1 << AUDIT_PAGE_BITS;
const draft = (runId: string | null, n: number): AuditDraft => ({ type: 'run.note', time: '2026-01-01T00:00:00.000Z', runId, principal: null, onBehalfOf: null, body: { n } });

/** Run `run_far` gets records at the start, after three pages of others' records, and at the end; `run_near` in between. */
async function fill(store: Store): Promise<void> {
  await store.appendAudit([draft('run_far', 0), draft('run_far', 1)]);
  for (let i = 0; i < 3; i++) await store.appendAudit(Array.from({ length: PAGE }, (_, k) => draft(k % 2 ? 'run_near' : null, k)));
  await store.appendAudit([draft('run_far', 2)]);
  // A prefix of the id is another run.
  await store.appendAudit([draft('run_f', 9), draft('run_far', 3)]);
}

const bodies = async (store: Store, runId: string) => (await store.readAuditForRun(runId)).map((r) => r.body['n']);

describe("a run's records through the run-page index", () => {
  it('reads every record of a run, in order, however far apart, and only that run', async () => {
    const file = path.join(tmp, 'far.db');
    const store = await openSqliteStore(file);
    try {
      await fill(store);
      expect(await bodies(store, 'run_far')).toEqual([0, 1, 2, 3]);
      expect(await bodies(store, 'run_f')).toEqual([9]);
      expect(await bodies(store, 'run_near')).toHaveLength((3 * PAGE) / 2);
      expect(await bodies(store, 'run_none')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('moves the newest rows to the run-ordered index a group of pages at a time, and reads the same across the move', async () => {
    const file = path.join(tmp, 'groups.db');
    const store = await openSqliteStore(file);
    const GROUP = 1 << RECENT_GROUP_BITS;
    try {
      // 40 runs interleaved over two groups of pages and a bit, and run_far once in each group.
      const runs = Array.from({ length: 40 }, (_, i) => `run_${i}`);
      let n = 0;
      for (let p = 0; p < 2 * GROUP + 3; p++) {
        await store.appendAudit([draft('run_far', p), ...Array.from({ length: PAGE - 1 }, () => draft(runs[n % runs.length] as string, n++))]);
      }
      const all = await store.readAudit(1, 1_000_000);
      for (const run of ['run_far', 'run_0', 'run_7', 'run_39', 'run_none']) {
        expect(await bodies(store, run), run).toEqual(all.filter((r) => r.runId === run).map((r) => r.body['n']));
      }
      // Settled: the recent part holds the current group's pages only, the rest is in run order.
      const db = openConnection(file, 1000);
      try {
        const head = all.length;
        const recent = db.prepare('SELECT min(page) AS lo, max(page) AS hi FROM audit_run_pages_recent').get() as { lo: number; hi: number };
        expect(recent).toEqual({ lo: ((head >> AUDIT_PAGE_BITS) >> RECENT_GROUP_BITS) << RECENT_GROUP_BITS, hi: head >> AUDIT_PAGE_BITS });
        const settled = db.prepare('SELECT count(*) AS n, max(page) AS hi FROM audit_run_pages').get() as { n: number; hi: number };
        expect(settled.hi).toBe(recent.lo - 1);
        expect(settled.n).toBe(2 * GROUP * (runs.length + 1));
      } finally {
        db.close();
      }
    } finally {
      await store.close();
    }
    // Another writer (a process opening the store later) goes on from where the rows stand.
    const again = await openSqliteStore(file);
    try {
      await again.appendAudit([draft('run_far', 99)]);
      expect((await bodies(again, 'run_far')).at(-1)).toBe(99);
      expect(await bodies(again, 'run_far')).toHaveLength(2 * GROUP + 4);
    } finally {
      await again.close();
    }
  }, 60_000);

  it('rebuilds the index from the leaves when a store from before it is opened', async () => {
    const file = path.join(tmp, 'old.db');
    const store = await openSqliteStore(file);
    await fill(store);
    await store.close();
    // As an Airlock of schema 11 left it: the start-only index, no pages, and nothing of later migrations.
    const db = openConnection(file, 1000);
    db.exec(`DROP TABLE rate_calls; DROP TABLE run_claims; DROP TABLE audit_checkpoints; DROP TABLE policy_events; DROP TABLE pilot_events; DROP TABLE halts; DROP TABLE ctx_vectors; DROP TABLE ctx_vector_epoch; DROP TABLE ctx_fts; DROP TABLE ctx_chunks; DROP TABLE ctx_access; DROP TABLE ctx_versions; DROP TABLE ctx_documents;
      DROP TABLE audit_run_pages; DROP TABLE audit_run_pages_recent; DROP INDEX runs_by_agent; DROP INDEX runs_by_on_behalf_of;
      DROP INDEX grants_live; DROP INDEX grants_by_created; ALTER TABLE grants DROP COLUMN expires_at; CREATE INDEX grants_by_tool ON grants (workflow, tool, status);
      CREATE TABLE audit_run_start (run_id TEXT PRIMARY KEY, first_seq INTEGER NOT NULL) STRICT, WITHOUT ROWID;
      UPDATE meta SET value = '11' WHERE key = 'schema_version';`);
    db.close();
    const reopened = await openSqliteStore(file);
    try {
      expect(await bodies(reopened, 'run_far')).toEqual([0, 1, 2, 3]);
      expect(await bodies(reopened, 'run_near')).toHaveLength((3 * PAGE) / 2);
      expect((await verifyStore(reopened)).ok).toBe(true);
    } finally {
      await reopened.close();
    }
  });
});
