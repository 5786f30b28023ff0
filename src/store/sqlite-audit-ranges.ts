// Audit rows in bulk for verification (audit/store-scan.ts): a range of seqs in one query, as byte strings
// SQLite builds itself, so no JavaScript value is made per row; and the module verifier threads open for their
// own read-only connection (audit/store-verify-worker.ts imports it by path: `auditRangeReader` in sqlite.ts).
import Database from 'better-sqlite3';
import { nativeSqliteScan } from '../audit/native-scan.js';
import type { AuditRangeBytes, AuditRangeReader, AuditRangeScan, ScanWithLeaves } from '../audit/store-scan.js';

// The leaves joined by newlines and each hash column joined by commas, in the order SQLite visits the rows (by
// seq: the rowid), with the count and the highest seq taken in the same pass: store-scan.ts checks the framing.
const RANGE_SQL =
  "SELECT count(*), max(seq), CAST(group_concat(leaf, char(10)) AS BLOB), CAST(group_concat(prev_hash, ',') AS BLOB), CAST(group_concat(leaf_hash, ',') AS BLOB), CAST(group_concat(chain_hash, ',') AS BLOB) FROM audit WHERE seq >= ? AND seq < ?";

type RangeRow = [number, number | null, Buffer | null, Buffer | null, Buffer | null, Buffer | null];

/** The statement reading a range on `db`. */
export function auditRangeStatement(db: Database.Database): Database.Statement<[number, number], RangeRow> {
  return db.prepare<[number, number], RangeRow>(RANGE_SQL).raw();
}

/** The rows with seqs `fromSeq` to `fromSeq + count - 1`. */
export function readAuditRange(stmt: Database.Statement<[number, number], RangeRow>, fromSeq: number, count: number): AuditRangeBytes {
  const [rows, lastSeq, leaves, prevs, leafHashes, chains] = stmt.get(fromSeq, fromSeq + count) as RangeRow;
  const empty = new Uint8Array(0);
  return { rows, lastSeq: lastSeq ?? 0, leaves: leaves ?? empty, prevs: prevs ?? empty, leafHashes: leafHashes ?? empty, chains: chains ?? empty };
}

/**
 * The leaf hashes of the rows `rows` selects (a FROM clause and its conditions), as bytes SQLite decodes and joins
 * itself (no JavaScript value per row): with the count, and how many were 64 characters long, so `leafBytesOf`
 * can tell every value was a hash (one that is not hex decodes to nothing).
 */
export function leafBytesSql(rows: string): string {
  return `SELECT count(*) AS n, sum(length(leaf_hash) = 64) AS whole, CAST(group_concat(unhex(leaf_hash), '') AS BLOB) AS bytes FROM ${rows}`;
}

/** A row of `leafBytesSql`. */
export interface LeafBytesRow {
  readonly n: number;
  readonly whole: number | null;
  readonly bytes: Buffer | null;
}

/** The leaf hashes, 32 bytes each, when every row held one; else null. */
export function leafBytesOf(r: LeafBytesRow | undefined): Uint8Array | null {
  const bytes = r?.bytes ?? Buffer.alloc(0);
  if (!r || (r.whole ?? 0) !== r.n || bytes.length !== r.n * 32) return null;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** What a verifier thread needs to open the store file itself. */
export interface SqliteRangeInit {
  readonly file: string;
}

// The C scan run inside SQLite (native/audit-scan.c `audit_scan_range`): the range's rows checked where SQLite
// holds them, answering '1' + first prevHash + last chainHash, '0' (not accepted) or '-' (not decided there).
export const SCAN_SQL =
  'SELECT count(*), audit_scan_range(seq, leaf, prev_hash, leaf_hash, chain_hash, @from, @wantSeq, @wantChain) FROM audit WHERE seq >= @from AND seq < @to';

type ScanRow = [number, string | null];
type ScanParams = { from: number; to: number; wantSeq: number; wantChain: string };

/** The aggregate's answer as a scan; null when it could not decide (the range is then read as bytes and scanned). */
export function scanAnswer([rows, answer]: ScanRow): AuditRangeScan | null {
  if (answer === null) return { ok: rows === 0, rows: 0, firstPrev: '', lastChain: '' };
  if (answer === '-') return null;
  if (answer[0] !== '1' || answer.length !== 129) return { ok: false, rows: 0, firstPrev: '', lastChain: '' };
  return { ok: true, rows, firstPrev: answer.slice(1, 65), lastChain: answer.slice(65) };
}

/**
 * Opens `init.file` read-only for one verifier thread (WAL: it reads beside the writer, from a
 * snapshot per range). The file is memory-mapped: a scan reads it once, front to back. With the C scan
 * built, ranges are scanned inside SQLite (`scan`); else, and where it cannot decide, read as bytes.
 */
export function openAuditRanges(init: SqliteRangeInit): AuditRangeReader {
  const db = new Database(init.file, { readonly: true, fileMustExist: true });
  db.pragma('mmap_size = 1073741824');
  const stmt = auditRangeStatement(db);
  const scanStmt = withNativeScan(db);
  const leavesStmt = db.prepare<[number, number], LeafBytesRow>(leafBytesSql('audit WHERE seq >= ? AND seq < ?'));
  const scan = (fromSeq: number, count: number, wantSeq: number, wantChain: string): AuditRangeScan | null =>
    scanStmt ? scanAnswer(scanStmt.get({ from: fromSeq, to: fromSeq + count, wantSeq, wantChain }) as ScanRow) : null;
  // One read transaction: the leaf hashes are those of the rows the scan saw (rows are never changed, but the
  // last range may grow between two reads; the caller keeps as many as the scan accepted).
  const scanLeaves = db.transaction(
    (fromSeq: number, count: number, wantSeq: number, wantChain: string, decide: boolean): ScanWithLeaves => ({
      scan: decide ? scan(fromSeq, count, wantSeq, wantChain) : null,
      leaves: leafBytesOf(leavesStmt.get(fromSeq, fromSeq + count)),
    }),
  );
  return {
    read: (fromSeq, count) => readAuditRange(stmt, fromSeq, count),
    ...(scanStmt && { scan }),
    scanLeaves: (fromSeq, count, wantSeq, wantChain, decide) => scanLeaves(fromSeq, count, wantSeq, wantChain, decide),
    close: () => {
      db.close();
    },
  };
}

/** The scan statement on `db` with the C scan loaded into it, or null when it is not built or will not load. */
function withNativeScan(db: Database.Database): Database.Statement<[ScanParams], ScanRow> | null {
  const ext = nativeSqliteScan();
  if (ext === null) return null;
  try {
    // The entry point is named: SQLite would guess it from the file name. (@types/better-sqlite3 lacks the argument.)
    (db.loadExtension as (file: string, entryPoint: string) => Database.Database)(ext.file, ext.entryPoint);
    return db.prepare<[ScanParams], ScanRow>(SCAN_SQL).raw();
  } catch {
    return null;
  }
}
