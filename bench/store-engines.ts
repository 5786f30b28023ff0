// Engine choice: durable append speed of better-sqlite3 vs PGlite (embedded Postgres in WASM), side by side on the same rows.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PGlite } from '@electric-sql/pglite';
import { GENESIS_HASH, prepareLeaf, sealLeaf, type SealedLeaf } from '../src/audit/chain.js';
import type { Sha256Hex } from '../src/types.js';
import { benchDraft, fsyncRate } from './audit.js';
import { sized, type BenchOptions, type BenchResult, type BenchSuite } from './harness.js';

const SUITE = 'store-engines';
const BATCH = 64;

/** How long each insert run lasts (ms), and how many sealed rows it cycles through. */
interface EnginesSize {
  readonly ms: number;
  readonly rows: number;
}

const FULL: EnginesSize = { ms: 1500, rows: 4096 };
const SMOKE: EnginesSize = { ms: 50, rows: 256 };

/** A pool of sealed audit rows to insert (the same for both engines). */
function rows(n: number): SealedLeaf[] {
  const out: SealedLeaf[] = [];
  let prev = GENESIS_HASH as Sha256Hex;
  for (let i = 1; i <= n; i++) {
    const s = sealLeaf(prepareLeaf(benchDraft(i)), i, prev);
    out.push(s);
    prev = s.chainHash;
  }
  return out;
}

/** Inserts rows (`batch` per transaction) for `ms`; rows per second. */
async function timed(pool: readonly SealedLeaf[], batch: number, ms: number, insert: (rs: readonly SealedLeaf[], seq0: number) => Promise<void> | void): Promise<number> {
  let seq = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  while (performance.now() < end) {
    const rs = Array.from({ length: batch }, (_, i) => pool[(seq + i) % pool.length] as SealedLeaf);
    await insert(rs, seq);
    seq += batch;
  }
  return seq / ((performance.now() - t0) / 1000);
}

const DDL = 'CREATE TABLE audit (seq BIGINT PRIMARY KEY, leaf TEXT NOT NULL, prev_hash TEXT NOT NULL, leaf_hash TEXT NOT NULL, chain_hash TEXT NOT NULL)';

async function sqlite(dir: string, pool: readonly SealedLeaf[], synchronous: 'FULL' | 'OFF', batch: number, ms: number): Promise<number> {
  const db = new Database(path.join(dir, `sqlite-${synchronous}-${batch}.db`));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.exec(DDL);
    const ins = db.prepare('INSERT INTO audit VALUES (?, ?, ?, ?, ?)');
    const tx = db.transaction((rs: readonly SealedLeaf[], seq0: number) => {
      rs.forEach((r, i) => ins.run(seq0 + i + 1, r.text, r.prevHash, r.leafHash, r.chainHash));
    });
    return await timed(pool, batch, ms, (rs, seq0) => tx.immediate(rs, seq0));
  } finally {
    db.close();
  }
}

async function pglite(dir: string, pool: readonly SealedLeaf[], ms: number): Promise<{ open: number; single: number; batched: number }> {
  const t0 = performance.now();
  const pg = await PGlite.create(path.join(dir, 'pglite'));
  const open = performance.now() - t0;
  try {
    await pg.exec(DDL);
    const single = await timed(pool, 1, ms, async (rs, seq0) => {
      const r = rs[0] as SealedLeaf;
      await pg.query('INSERT INTO audit VALUES ($1, $2, $3, $4, $5)', [seq0 + 1, r.text, r.prevHash, r.leafHash, r.chainHash]);
    });
    await pg.exec('TRUNCATE audit');
    const batched = await timed(pool, BATCH, ms, async (rs, seq0) => {
      await pg.transaction(async (tx) => {
        for (const [i, r] of rs.entries()) {
          await tx.query('INSERT INTO audit VALUES ($1, $2, $3, $4, $5)', [seq0 + i + 1, r.text, r.prevHash, r.leafHash, r.chainHash]);
        }
      });
    });
    return { open, single, batched };
  } finally {
    await pg.close();
  }
}

/** better-sqlite3 vs PGlite: rows/s for one commit per row and for 64 rows per commit. */
export const run: BenchSuite = async (opts?: BenchOptions) => {
  const size = sized(opts, FULL, SMOKE);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-engines-'));
  try {
    const pool = rows(size.rows);
    const fsyncs = fsyncRate(dir, Math.min(1000, size.ms));
    const sqliteFull1 = await sqlite(dir, pool, 'FULL', 1, size.ms);
    const sqliteFullB = await sqlite(dir, pool, 'FULL', BATCH, size.ms);
    const sqliteOff1 = await sqlite(dir, pool, 'OFF', 1, size.ms);
    const pg = await pglite(dir, pool, size.ms);
    const result = (name: string, perRow: number, batched: number | null, notes: string[]): BenchResult => ({
      suite: SUITE,
      name,
      metrics: {
        'rows/s, 1 per commit': perRow,
        ...(batched === null ? {} : { [`rows/s, ${BATCH} per commit`]: batched }),
        'commits/s ÷ fsync/s': perRow / fsyncs,
      },
      notes,
    });
    return [
      { suite: SUITE, name: 'disk fdatasync rate', metrics: { 'fsync/s': fsyncs } },
      result('better-sqlite3, WAL, synchronous=FULL (durable)', sqliteFull1, sqliteFullB, [
        'the store Airlock ships: every commit fsyncs the WAL',
      ]),
      result('better-sqlite3, WAL, synchronous=OFF (not durable; reference)', sqliteOff1, null, [
        'same engine with no fsync: the ceiling without durability, comparable to PGlite below',
      ]),
      {
        ...result('PGlite 0.5 on NodeFS (not durable)', pg.single, pg.batched, [
          "PGlite's Node filesystem (Emscripten NODEFS) has no fsync: Postgres's WAL flush never reaches the disk,",
          'so a commit survives a crash of the process but not of the machine; it cannot be made durable here',
        ]),
        metrics: {
          'rows/s, 1 per commit': pg.single,
          [`rows/s, ${BATCH} per commit`]: pg.batched,
          'commits/s ÷ fsync/s': pg.single / fsyncs,
          'open ms (initdb on first use)': pg.open,
        },
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
