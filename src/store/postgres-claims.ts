// Work shared by the instances on one PostgreSQL database (migration 4): Airlock's own runs to drive, each claimed by
// one live instance at a time (`run_claims`, row locks; due runs handed out with SKIP LOCKED, so concurrent callers
// never take the same run), and calls counted per key over a sliding window (`rate_calls`, under a transaction
// advisory lock per key). Mirrors sqlite-claims.ts; a run its holder releases due now is also announced to the
// instances listening (postgres-due-runs.ts).
import type { Sql } from './postgres-connection.js';
import { announceDue } from './postgres-due-runs.js';

/** The DDL of migration 4. */
export const PG_CLAIMS_SQL = `
CREATE TABLE run_claims (run_id text COLLATE "C" PRIMARY KEY, holder text, due_at text COLLATE "C" NOT NULL, woken integer NOT NULL);
CREATE INDEX run_claims_due ON run_claims (due_at, run_id);
CREATE TABLE rate_calls (key text NOT NULL, at_ms bigint NOT NULL, n integer NOT NULL);
CREATE INDEX rate_calls_by_key ON rate_calls (key, at_ms);
CREATE INDEX rate_calls_by_time ON rate_calls (at_ms);
`;

/** Whether `holder` is live at `now`: a lease unexpired at `now` (its `expires_at` column), and not among `gone`. */
async function isLive(c: Sql, holder: string, now: string, gone: readonly string[]): Promise<boolean> {
  if (gone.includes(holder)) return false;
  return ((await c.query('SELECT 1 FROM leases WHERE id = $1 AND expires_at > $2', [holder, now])).rowCount ?? 0) > 0;
}

interface ClaimRow {
  readonly holder: string | null;
  readonly woken: number;
}

/** `Store.claimRun`: true when `holder` holds the run now. */
export async function claimRun(c: Sql, runId: string, holder: string, now: string, gone: readonly string[]): Promise<boolean> {
  // The row exists before it is locked, so two first claims of a run wait on one row instead of both inserting.
  await c.query('INSERT INTO run_claims (run_id, holder, due_at, woken) VALUES ($1, NULL, $2, 0) ON CONFLICT (run_id) DO NOTHING', [runId, now]);
  const row = (await c.query<ClaimRow>('SELECT holder, woken FROM run_claims WHERE run_id = $1 FOR UPDATE', [runId])).rows[0];
  if (row && row.holder !== null && row.holder !== holder && (await isLive(c, row.holder, now, gone))) return false;
  // INVARIANT: `woken` restarts at 0 with each claim, so a wake after this point survives the release.
  await c.query('UPDATE run_claims SET holder = $2, due_at = $3, woken = 0 WHERE run_id = $1', [runId, holder, now]);
  return true;
}

/** `Store.releaseRun`. */
export async function releaseRun(c: Sql, runId: string, holder: string, due: string | null): Promise<void> {
  const row = (await c.query<ClaimRow>('SELECT holder, woken FROM run_claims WHERE run_id = $1 FOR UPDATE', [runId])).rows[0];
  if (!row || row.holder !== holder) return;
  if (row.woken !== 0) {
    // Woken while it was held: due now, for whichever instance is listening.
    await c.query('UPDATE run_claims SET holder = NULL, woken = 0 WHERE run_id = $1', [runId]);
    await announceDue(c);
  } else if (due === null) await c.query('DELETE FROM run_claims WHERE run_id = $1', [runId]);
  else await c.query('UPDATE run_claims SET holder = NULL, due_at = $2 WHERE run_id = $1', [runId, due]);
}

/** `Store.wakeRun`. */
export async function wakeRun(c: Sql, runId: string, at: string): Promise<void> {
  // Not announced: whoever wakes a run goes on with it when no one holds it; a holder's release announces it.
  await c.query('INSERT INTO run_claims (run_id, holder, due_at, woken) VALUES ($1, NULL, $2, 1) ON CONFLICT (run_id) DO UPDATE SET woken = 1, due_at = LEAST(run_claims.due_at, excluded.due_at)', [runId, at]);
}

/** `Store.claimDueRuns`: the runs taken. Only the rows taken are locked, and rows another caller holds are skipped, not waited for. */
export async function claimDueRuns(c: Sql, holder: string, now: string, limit: number, gone: readonly string[]): Promise<string[]> {
  const { rows } = await c.query<{ run_id: string }>(
    `SELECT run_id FROM run_claims r WHERE due_at <= $1
       AND (holder IS NULL OR (holder <> $2 AND (holder = ANY($3::text[]) OR NOT EXISTS (SELECT 1 FROM leases l WHERE l.id = r.holder AND l.expires_at > $1))))
     ORDER BY due_at, run_id LIMIT $4 FOR UPDATE SKIP LOCKED`,
    [now, holder, gone, Math.max(0, limit)],
  );
  const taken = rows.map((r) => r.run_id);
  if (taken.length > 0) await c.query('UPDATE run_claims SET holder = $1, due_at = $2, woken = 0 WHERE run_id = ANY($3::text[])', [holder, now, taken]);
  return taken;
}

/** Counted calls older than this are gone whatever their key (a key that went quiet keeps no rows for long). */
const RATE_KEEP_MS = 3_600_000;

/** `Store.takeRate`: a sliding window of counted calls per key, serialised per key across instances. */
export async function takeRate(c: Sql, key: string, count: number, limit: number, windowMs: number, nowMs: number): Promise<boolean> {
  await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`airlock.rate:${key}`]);
  const since = nowMs - windowMs;
  await c.query('DELETE FROM rate_calls WHERE key = $1 AND at_ms <= $2', [key, since]);
  await c.query('DELETE FROM rate_calls WHERE at_ms <= $1', [nowMs - Math.max(RATE_KEEP_MS, windowMs)]);
  const { rows } = await c.query<{ s: number }>('SELECT coalesce(sum(n), 0)::float8 AS s FROM rate_calls WHERE key = $1 AND at_ms > $2', [key, since]);
  if ((rows[0]?.s ?? 0) + count > limit) return false;
  await c.query('INSERT INTO rate_calls (key, at_ms, n) VALUES ($1, $2, $3)', [key, nowMs, count]);
  return true;
}
