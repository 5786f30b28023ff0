// Audit rows in bulk for verification (audit/store-scan.ts) from PostgreSQL: a range of seqs in one query, as two
// byte strings the database builds itself (no JavaScript value per row); and the module verifier threads open for
// a connection of their own (audit/store-verify-worker.ts imports it by path: `auditRangeReader` in postgres.ts).
import pg from 'pg';
import type { AuditRangeBytes, AuditRangeReader } from '../audit/store-scan.js';
import type { Sql } from './postgres-connection.js';

// One line per row in seq order; each line carries its seq, so an order the scanner does not expect is rejected,
// never misread. The hashes are kept as bytea and written out as the lowercase hex the chain uses.
const RANGE_SQL = `SELECT count(*)::int AS n,
  convert_to(string_agg(leaf, E'\\n' ORDER BY seq), 'UTF8') AS leaves,
  convert_to(string_agg(seq::text || ',' || encode(prev_hash, 'hex') || ',' || encode(leaf_hash, 'hex') || ',' || encode(chain_hash, 'hex'), E'\\n' ORDER BY seq), 'UTF8') AS hashes
  FROM audit WHERE seq >= $1 AND seq < $2`;

/** The rows with seqs `fromSeq` to `fromSeq + count - 1`. */
export async function readAuditRange(c: Sql, fromSeq: number, count: number): Promise<AuditRangeBytes> {
  const { rows } = await c.query<{ n: number; leaves: Buffer | null; hashes: Buffer | null }>(RANGE_SQL, [fromSeq, fromSeq + count]);
  const empty = new Uint8Array(0);
  return { rows: rows[0]?.n ?? 0, leaves: rows[0]?.leaves ?? empty, hashes: rows[0]?.hashes ?? empty };
}

/** What a verifier thread needs to connect to the database itself. */
export interface PgRangeInit {
  readonly url: string;
  readonly statementTimeoutMs: number;
}

/** A connection of its own for one verifier thread, opened at its first read. */
export function openAuditRanges(init: PgRangeInit): AuditRangeReader {
  let client: Promise<pg.Client> | undefined;
  const connected = (): Promise<pg.Client> =>
    (client ??= (async () => {
      const c = new pg.Client({ connectionString: init.url, statement_timeout: init.statementTimeoutMs, application_name: 'airlock-verify' });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    })());
  return {
    read: async (fromSeq, count) => readAuditRange(await connected(), fromSeq, count),
    close: async () => {
      if (client) await (await client).end();
    },
  };
}
