// Audit rows in bulk for verification (audit/store-scan.ts) from PostgreSQL: a range of seqs in one query, as byte
// strings the database builds itself (no JavaScript value per row); and the module verifier threads open for
// a connection of their own (audit/store-verify-worker.ts imports it by path: `auditRangeReader` in postgres.ts).
import pg from 'pg';
import type { AuditRangeBytes, AuditRangeReader } from '../audit/store-scan.js';
import type { Sql } from './postgres-connection.js';

// The leaves joined by newlines and each hash column joined by commas, in seq order, with the count and the
// highest seq: store-scan.ts checks the framing. The hashes are kept as bytea and written out as the chain's hex.
const RANGE_SQL = `SELECT count(*)::int AS n, coalesce(max(seq), 0)::float8 AS last,
  convert_to(string_agg(leaf, E'\\n' ORDER BY seq), 'UTF8') AS leaves,
  convert_to(string_agg(encode(prev_hash, 'hex'), ',' ORDER BY seq), 'UTF8') AS prevs,
  convert_to(string_agg(encode(leaf_hash, 'hex'), ',' ORDER BY seq), 'UTF8') AS leaf_hashes,
  convert_to(string_agg(encode(chain_hash, 'hex'), ',' ORDER BY seq), 'UTF8') AS chains
  FROM audit WHERE seq >= $1 AND seq < $2`;

type RangeRow = { n: number; last: number; leaves: Buffer | null; prevs: Buffer | null; leaf_hashes: Buffer | null; chains: Buffer | null };

/** The rows with seqs `fromSeq` to `fromSeq + count - 1`. */
export async function readAuditRange(c: Sql, fromSeq: number, count: number): Promise<AuditRangeBytes> {
  const { rows } = await c.query<RangeRow>(RANGE_SQL, [fromSeq, fromSeq + count]);
  const r = rows[0];
  const empty = new Uint8Array(0);
  return {
    rows: r?.n ?? 0,
    lastSeq: r?.last ?? 0,
    leaves: r?.leaves ?? empty,
    prevs: r?.prevs ?? empty,
    leafHashes: r?.leaf_hashes ?? empty,
    chains: r?.chains ?? empty,
  };
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
