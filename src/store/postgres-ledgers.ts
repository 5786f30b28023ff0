// The PostgreSQL store's counted things, each in a transaction of its own: amounts against value budgets (summed
// and counted under a transaction advisory lock per budget and bucket, so no two instances decide on the same sum
// and both count), spans kept locally (bounded per trace and in all), and approval links redeemed once.
import type { ValueCount } from './sqlite-ledgers.js';
import type { SpanRow } from './sqlite-spans.js';
import type { Sql } from './postgres-connection.js';

/** Counts one action's amounts, or none of them when a sum moved or one would pass its limit (the sums found come back). */
export async function addValue(c: Sql, op: ValueCount): Promise<number[] | null> {
  // INVARIANT: the buckets are locked (in one order everywhere: no deadlock) before their sums are read, until commit.
  const keys = [...new Set(op.entries.map((e) => JSON.stringify([e.budget, e.bucket])))].sort();
  for (const k of keys) await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`airlock.value:${k}`]);
  const spent: number[] = [];
  for (const e of op.entries) {
    const { rows } = await c.query<{ s: number }>('SELECT COALESCE(SUM(amount), 0)::float8 AS s FROM value_ledger WHERE budget = $1 AND bucket = $2 AND at > $3', [e.budget, e.bucket, e.since]);
    spent.push(rows[0]?.s ?? 0);
  }
  const moved = op.expected !== null && op.entries.some((_, i) => spent[i] !== op.expected?.[i]);
  if (moved || op.entries.some((e, i) => e.limit !== null && (spent[i] ?? 0) + e.amount > e.limit)) return spent;
  await c.query(
    'INSERT INTO value_ledger (budget, bucket, amount, at, run_id, action_hash, count_id) SELECT b, k, a, $4, $5, $6, $7 FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t (b, k, a)',
    [op.entries.map((e) => e.budget), op.entries.map((e) => e.bucket), op.entries.map((e) => e.amount), op.at, op.runId, op.actionHash, op.countId],
  );
  return null;
}

/** Appends spans (each trace up to `perTrace`), then prunes the oldest past `kept` in all. */
export async function addSpans(c: Sql, rows: readonly SpanRow[], bounds: { perTrace: number; kept: number }): Promise<void> {
  const traces = [...new Set(rows.map((r) => r.traceId))];
  const found = await c.query<{ trace_id: string; n: number }>('SELECT trace_id, count(*)::int AS n FROM spans WHERE trace_id = ANY($1::text[]) GROUP BY trace_id', [traces]);
  const counts = new Map(found.rows.map((r) => [r.trace_id, r.n]));
  const kept = rows.filter((r) => {
    const n = counts.get(r.traceId) ?? 0;
    counts.set(r.traceId, n + 1);
    return n < bounds.perTrace;
  });
  if (kept.length > 0) {
    await c.query('INSERT INTO spans (trace_id, span_id, run_id, record) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])', [
      kept.map((r) => r.traceId),
      kept.map((r) => r.spanId),
      kept.map((r) => r.runId),
      kept.map((r) => r.record),
    ]);
  }
  await c.query('DELETE FROM spans WHERE id <= (SELECT max(id) FROM spans) - $1', [bounds.kept]);
}

/** Marks link `jti` used; true only the first time (links past their expiry are forgotten: they cannot be used anyway). */
export async function redeemLink(c: Sql, jti: string, usedAt: string, expiresAt: string): Promise<boolean> {
  await c.query('DELETE FROM used_links WHERE expires_at < $1', [usedAt]);
  const inserted = await c.query('INSERT INTO used_links (jti, used_at, expires_at) VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING', [jti, usedAt, expiresAt]);
  return inserted.rowCount === 1;
}
