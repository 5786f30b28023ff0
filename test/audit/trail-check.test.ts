// What `airlock audit verify` and the console's Verify say about a store's trail (audit/trail-check.ts): the chain,
// the signed checkpoints, the file witnesses that exist, and a warning for each named witness file that does not.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { Checkpointer, checkStoreCheckpoints } from '../../src/audit/checkpoints.js';
import type { StoreVerifyTuning } from '../../src/audit/store-verify.js';
import { signerFromSeed, type NoteSigner } from '../../src/audit/signed-note.js';
import { trailReport, verifyTrail, witnessFileNotes } from '../../src/audit/trail-check.js';
import { fileWitness } from '../../src/audit/witness.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { draft } from '../store/store-suite.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-trail-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the trail as audit verify reports it', () => {
  it('reports the chain and the checkpoints, checks the witness files that exist, and warns of a named one that does not', async () => {
    const store = await openSqliteStore(path.join(tmp, 'airlock.db'));
    try {
      const s = signerFromSeed('airlock/test', randomBytes(32)) as NoteSigner;
      const quiet = (): void => undefined;
      await store.appendAudit(Array.from({ length: 12 }, (_, i) => draft(i)));
      // Before any checkpoint: the chain holds, and there is nothing signed yet to check.
      const none = trailReport(await verifyTrail(store, s.verifier, []));
      expect(none.ok).toBe(true);
      expect(none.lines.map((l) => l.kind)).toEqual(['ok', 'warn']);
      const cp = new Checkpointer(store, () => s, { every: 1000, intervalMs: 60_000, now: () => new Date('2026-12-07T00:00:00Z'), witnesses: [fileWitness(path.join(tmp, 'kept.jsonl'))], onError: quiet });
      await cp.checkpoint();
      const files = await witnessFileNotes(tmp, [{ file: 'kept.jsonl' }, { file: 'never-sent.jsonl' }]);
      expect(files.missing).toEqual(['never-sent.jsonl']);
      expect(files.notes).toHaveLength(1);
      const report = trailReport(await verifyTrail(store, s.verifier, files.notes, files.missing));
      expect(report.ok).toBe(true);
      expect(report.lines.map((l) => [l.kind, l.text.slice(0, 40)])).toEqual([
        ['ok', expect.stringMatching(/^ok: 12 audit records verified/)],
        ['warn', expect.stringMatching(/^the witness file `never-sent.jsonl` do/)],
        ['ok', expect.stringMatching(/^ok: 2 signed checkpoints hold/)],
        ['ok', expect.stringMatching(/^ok: consistent with the witnessed check/)],
      ]);
      // Checked under another key, the checkpoints fail: the report says so, and is not ok.
      const other = signerFromSeed('airlock/test', randomBytes(32)) as NoteSigner;
      const wrong = trailReport(await verifyTrail(store, other.verifier, files.notes, files.missing));
      expect(wrong.ok).toBe(false);
      expect(wrong.lines.at(-1)).toMatchObject({ kind: 'error', text: expect.stringMatching(/^FAILED checkpoints/) });
    } finally {
      await store.close();
    }
  });

  it('checks the checkpoints on the leaf hashes the chain check accepted, in one pass, with the verdict of a second read', async () => {
    const THREADS: StoreVerifyTuning = { rangeRows: 4, workers: 2, parallelFrom: 0, batchSize: 3 };
    const s = signerFromSeed('airlock/test', randomBytes(32)) as NoteSigner;
    const make = async (name: string, odd: boolean): Promise<string> => {
      const file = path.join(tmp, name, 'airlock.db');
      const store = await openSqliteStore(file);
      const cp = new Checkpointer(store, () => s, { every: 1000, intervalMs: 60_000, now: () => new Date('2026-12-07T00:00:00Z'), witnesses: [], onError: () => undefined });
      for (let i = 1; i <= 50; i += 5) {
        // A key with an escape: canonical, but rebuilt as a record rather than scanned as bytes (the second-read path).
        await store.appendAudit(Array.from({ length: 5 }, (_, k) => draft(i + k, odd && i + k === 23 ? { body: { 'a"b': 1 } } : {})));
        if (i + 4 === 20 || i + 4 === 45) await cp.checkpoint();
      }
      await store.close();
      return file;
    };
    const cases: { name: string; odd: boolean; cut: number | null; passes: 1 | 2; ok: boolean }[] = [
      { name: 'intact', odd: false, cut: null, passes: 1, ok: true },
      { name: 'rebuilt', odd: true, cut: null, passes: 2, ok: true },
      // The trail cut back below its last checkpoint: the chain that is left holds, the checkpoint does not.
      { name: 'cut', odd: false, cut: 41, passes: 1, ok: false },
    ];
    for (const c of cases) {
      const file = await make(c.name, c.odd);
      if (c.cut !== null) {
        const db = new Database(file);
        db.exec(`DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > ${c.cut};`);
        db.close();
      }
      const store = await openSqliteStore(file);
      try {
        const one = await verifyTrail(store, s.verifier, [], [], THREADS);
        expect(one.passes, c.name).toBe(c.passes);
        expect(one.chain.ok, c.name).toBe(true);
        expect(one.checkpoints?.ok, c.name).toBe(c.ok);
        // The same verdict as the checkpoints checked on their own read of the leaf hashes.
        expect(one.checkpoints, c.name).toEqual(await checkStoreCheckpoints(store, s.verifier, []));
      } finally {
        await store.close();
      }
    }
  }, 60_000);
});
