// Signed checkpoints in the SQLite store (migration 18): kept by tree size, added compare-and-set on the
// largest kept (two processes making the same checkpoint keep one), read back largest first; and the
// audit trail's leaf hashes in bulk, which checkpoints and proofs are computed from.
import { z } from 'zod';
import type Database from 'better-sqlite3';
import { AirlockError } from '../errors.js';
import type { StoredCheckpoint } from './checkpoint-records.js';
import { RowReader } from './sqlite-rows.js';
import { leafBytesOf, leafBytesSql, type LeafBytesRow } from './sqlite-audit-ranges.js';

const HEX = /^[0-9a-f]{64}$/;
/** A stored checkpoint (stored JSON is a trust boundary: checked on the way out). */
const checkpointSchema = z.object({
  size: z.number().int().min(0),
  rootHash: z.string().regex(HEX),
  time: z.string(),
  note: z.string(),
  frontier: z.array(z.string().regex(HEX)),
});

/** Adds `c` unless one of its size or larger is kept already; true when it was added. */
export function addCheckpoint(db: Database.Database, c: StoredCheckpoint): boolean {
  return (
    db
      .prepare('INSERT INTO audit_checkpoints (size, record) SELECT @size, @record WHERE NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE size >= @size)')
      .run({ size: c.size, record: JSON.stringify(c) }).changes === 1
  );
}

/** The reads of checkpoints and leaf hashes, on the reading connection. */
export class CheckpointReads {
  private readonly rows: RowReader;
  private readonly leaves: Database.Statement<[number, number], string>;
  private readonly leafBytes: Database.Statement<[number, number], LeafBytesRow>;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
  ) {
    this.rows = new RowReader(file);
    this.leaves = db.prepare<[number, number], string>('SELECT leaf_hash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?').pluck();
    // The same rows as bytes SQLite decodes and joins itself (no JavaScript value per row).
    this.leafBytes = db.prepare<[number, number], LeafBytesRow>(leafBytesSql('(SELECT leaf_hash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?)'));
  }

  /** Leaf hashes of records fromSeq.. (at most `limit`), 32 bytes each, in seq order. */
  leafHashes(fromSeq: number, limit: number): Uint8Array {
    const joined = leafBytesOf(this.leafBytes.get(fromSeq, limit));
    if (joined) return joined;
    // Not all 64 hex digits: row by row, to name the first that is not.
    const out = Buffer.allocUnsafe(limit * 32);
    let at = 0;
    for (const hex of this.leaves.iterate(fromSeq, limit)) {
      if (out.write(hex, at, 'hex') !== 32 || hex.length !== 64) {
        throw new AirlockError('store-corrupt', `the leaf hash of audit record #${fromSeq + at / 32} in \`${this.file}\` is not 64 hex digits`, {
          hint: 'the file was edited outside Airlock; `airlock audit verify` names the first bad record',
          location: { file: this.file, path: `audit[${fromSeq + at / 32}]` },
        });
      }
      at += 32;
    }
    return new Uint8Array(out.buffer, out.byteOffset, at);
  }

  latest(): StoredCheckpoint | null {
    return this.one(this.db.prepare('SELECT size, record FROM audit_checkpoints ORDER BY size DESC LIMIT 1').get());
  }

  get(size: number): StoredCheckpoint | null {
    return this.one(this.db.prepare('SELECT size, record FROM audit_checkpoints WHERE size = ?').get(size));
  }

  list(beforeSize: number | undefined, limit: number): StoredCheckpoint[] {
    const rows = this.db
      .prepare(`SELECT size, record FROM audit_checkpoints ${beforeSize === undefined ? '' : 'WHERE size < @before'} ORDER BY size DESC LIMIT @limit`)
      .all({ limit, ...(beforeSize === undefined ? {} : { before: beforeSize }) });
    return rows.map((r) => this.one(r) as StoredCheckpoint);
  }

  private one(row: unknown): StoredCheckpoint | null {
    if (row === undefined) return null;
    const r = row as { size: number; record: string };
    const schema = checkpointSchema.refine((c) => c.size === r.size, 'the size does not match its row');
    const c = this.rows.record('audit_checkpoints', { id: String(r.size), record: r.record }, schema, false);
    return c as unknown as StoredCheckpoint;
  }
}
