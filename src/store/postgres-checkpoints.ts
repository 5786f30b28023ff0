// Signed checkpoints in the PostgreSQL store (migration 3): kept by tree size, added compare-and-set on the largest
// kept under a transaction advisory lock (two instances making checkpoints keep a growing sequence), read back
// largest first; and the trail's leaf hashes in bulk (bytea, concatenated in the database: one value per read).
import { z } from 'zod';
import type pg from 'pg';
import type { StoredCheckpoint } from './checkpoint-records.js';
import type { Sql } from './postgres-connection.js';
import type { RowReader } from './sqlite-rows.js';

const HEX = /^[0-9a-f]{64}$/;

/** Adds `c` unless one of its size or larger is kept already; true when it was added. */
export async function addCheckpoint(c: Sql, cp: StoredCheckpoint): Promise<boolean> {
  await c.query("SELECT pg_advisory_xact_lock(hashtextextended('airlock.checkpoints', 0))");
  const added = await c.query('INSERT INTO audit_checkpoints (size, record) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE size >= $1)', [cp.size, JSON.stringify(cp)]);
  return added.rowCount === 1;
}

/** The reads of checkpoints and of leaf hashes. */
export class CheckpointReads {
  constructor(
    private readonly pool: pg.Pool,
    private readonly rows: RowReader,
  ) {}

  /** Leaf hashes of records fromSeq.. (at most `limit`), 32 bytes each, in seq order. */
  async leafHashes(fromSeq: number, limit: number): Promise<Uint8Array> {
    const { rows } = await this.pool.query<{ h: Buffer | null }>(
      `SELECT string_agg(leaf_hash, ''::bytea ORDER BY seq) AS h FROM (SELECT seq, leaf_hash FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2) AS t`,
      [Math.max(1, Math.floor(fromSeq)), Math.max(0, Math.floor(limit))],
    );
    const h = rows[0]?.h ?? Buffer.alloc(0);
    return new Uint8Array(h.buffer, h.byteOffset, h.length);
  }

  async latest(): Promise<StoredCheckpoint | null> {
    return this.one((await this.pool.query<Row>('SELECT size, record FROM audit_checkpoints ORDER BY size DESC LIMIT 1')).rows[0]);
  }

  async get(size: number): Promise<StoredCheckpoint | null> {
    return this.one((await this.pool.query<Row>('SELECT size, record FROM audit_checkpoints WHERE size = $1', [size])).rows[0]);
  }

  async list(beforeSize: number | undefined, limit: number): Promise<StoredCheckpoint[]> {
    const { rows } = await this.pool.query<Row>('SELECT size, record FROM audit_checkpoints WHERE ($1::bigint IS NULL OR size < $1) ORDER BY size DESC LIMIT $2', [beforeSize ?? null, limit]);
    return rows.map((r) => this.one(r) as StoredCheckpoint);
  }

  private one(r: Row | undefined): StoredCheckpoint | null {
    if (r === undefined) return null;
    const size = Number(r.size);
    // Stored JSON is a trust boundary: checked on the way out, its size against its row's.
    const schema = z
      .object({ size: z.number().int().min(0), rootHash: z.string().regex(HEX), time: z.string(), note: z.string(), frontier: z.array(z.string().regex(HEX)) })
      .refine((c) => c.size === size, 'the size does not match its row');
    return this.rows.record('audit_checkpoints', { id: String(size), record: r.record }, schema, false) as unknown as StoredCheckpoint;
  }
}

interface Row {
  readonly size: string;
  readonly record: string;
}
