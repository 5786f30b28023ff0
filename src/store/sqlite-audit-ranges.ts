// Audit rows in bulk for verification (audit/store-scan.ts): a range of seqs in one query, as two byte strings
// SQLite builds itself, so no JavaScript value is made per row; and the module verifier threads open for their
// own read-only connection (audit/store-verify-worker.ts imports it by path: `auditRangeReader` in sqlite.ts).
import Database from 'better-sqlite3';
import type { AuditRangeBytes, AuditRangeReader } from '../audit/store-scan.js';

// One line per row in the order SQLite visits them (by seq: the rowid); each line carries its seq, so an
// order the scanner does not expect is rejected, never misread. count(*) is taken in the same pass.
const RANGE_SQL =
  "SELECT count(*), CAST(group_concat(leaf, char(10)) AS BLOB), CAST(group_concat(seq || ',' || prev_hash || ',' || leaf_hash || ',' || chain_hash, char(10)) AS BLOB) FROM audit WHERE seq >= ? AND seq < ?";

type RangeRow = [number, Buffer | null, Buffer | null];

/** The statement reading a range on `db`. */
export function auditRangeStatement(db: Database.Database): Database.Statement<[number, number], RangeRow> {
  return db.prepare<[number, number], RangeRow>(RANGE_SQL).raw();
}

/** The rows with seqs `fromSeq` to `fromSeq + count - 1`. */
export function readAuditRange(stmt: Database.Statement<[number, number], RangeRow>, fromSeq: number, count: number): AuditRangeBytes {
  const row = stmt.get(fromSeq, fromSeq + count) as RangeRow;
  const empty = new Uint8Array(0);
  return { rows: row[0], leaves: row[1] ?? empty, hashes: row[2] ?? empty };
}

/** What a verifier thread needs to open the store file itself. */
export interface SqliteRangeInit {
  readonly file: string;
}

/**
 * Opens `init.file` read-only for one verifier thread (WAL: it reads beside the writer, from a
 * snapshot per range). The file is memory-mapped: a scan reads it once, front to back.
 */
export function openAuditRanges(init: SqliteRangeInit): AuditRangeReader {
  const db = new Database(init.file, { readonly: true, fileMustExist: true });
  db.pragma('mmap_size = 1073741824');
  const stmt = auditRangeStatement(db);
  return {
    read: (fromSeq, count) => readAuditRange(stmt, fromSeq, count),
    close: () => {
      db.close();
    },
  };
}
