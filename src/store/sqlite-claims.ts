// Work shared by the instances on one SQLite file (migration 19): the queue of Airlock's own runs to
// drive, each claimed by one live instance at a time (`run_claims`), and the calls counted per key
// over a sliding window (`rate_calls`). Run inside the writer's transaction: the write lock serialises
// every instance, so a claim or a count is decided on what is there.
import type Database from 'better-sqlite3';

/** Whether `holder` is a live instance at `now`: its lease (the `leases` table) unexpired, and not among `gone`. */
function liveHolder(db: Database.Database, holder: string, now: string, gone: readonly string[]): boolean {
  if (gone.includes(holder)) return false;
  const row = db.prepare(`SELECT 1 AS ok FROM leases WHERE id = ? AND json_extract(record, '$.expiresAt') > ?`).get(holder, now) as { ok: number } | undefined;
  return row !== undefined;
}

interface ClaimRow {
  readonly holder: string | null;
  readonly woken: number;
}

/** `Store.claimRun`: true when `holder` holds the run now. */
export function claimRun(db: Database.Database, runId: string, holder: string, now: string, gone: readonly string[]): boolean {
  const row = db.prepare('SELECT holder, woken FROM run_claims WHERE run_id = ?').get(runId) as ClaimRow | undefined;
  if (row && row.holder !== null && row.holder !== holder && liveHolder(db, row.holder, now, gone)) return false;
  // INVARIANT: `woken` restarts at 0 with each claim, so a wake after this point survives the release.
  db.prepare(
    'INSERT INTO run_claims (run_id, holder, due_at, woken) VALUES (?, ?, ?, 0) ON CONFLICT (run_id) DO UPDATE SET holder = excluded.holder, due_at = excluded.due_at, woken = 0',
  ).run(runId, holder, now);
  return true;
}

/** `Store.releaseRun`. */
export function releaseRun(db: Database.Database, runId: string, holder: string, due: string | null): void {
  const row = db.prepare('SELECT holder, woken FROM run_claims WHERE run_id = ?').get(runId) as ClaimRow | undefined;
  if (!row || row.holder !== holder) return;
  if (row.woken !== 0) db.prepare('UPDATE run_claims SET holder = NULL, woken = 0 WHERE run_id = ?').run(runId);
  else if (due === null) db.prepare('DELETE FROM run_claims WHERE run_id = ?').run(runId);
  else db.prepare('UPDATE run_claims SET holder = NULL, due_at = ? WHERE run_id = ?').run(due, runId);
}

/** `Store.wakeRun`. */
export function wakeRun(db: Database.Database, runId: string, at: string): void {
  db.prepare(
    'INSERT INTO run_claims (run_id, holder, due_at, woken) VALUES (?, NULL, ?, 1) ON CONFLICT (run_id) DO UPDATE SET woken = 1, due_at = min(due_at, excluded.due_at)',
  ).run(runId, at);
}

/** `Store.claimDueRuns`: the runs taken. */
export function claimDueRuns(db: Database.Database, holder: string, now: string, limit: number, gone: readonly string[]): string[] {
  // Due rows in order; held ones are skipped while their holder lives. Bounded: a page of candidates at a time.
  const candidates = db.prepare('SELECT run_id, holder FROM run_claims WHERE due_at <= ? ORDER BY due_at, run_id LIMIT ?').all(now, Math.max(1, limit) * 4) as {
    run_id: string;
    holder: string | null;
  }[];
  const take = db.prepare('UPDATE run_claims SET holder = ?, due_at = ?, woken = 0 WHERE run_id = ?');
  const out: string[] = [];
  for (const c of candidates) {
    if (out.length >= limit) break;
    if (c.holder !== null && (c.holder === holder || liveHolder(db, c.holder, now, gone))) continue;
    take.run(holder, now, c.run_id);
    out.push(c.run_id);
  }
  return out;
}

/** Counted calls older than this are gone whatever their key (a key that went quiet keeps no rows for long). */
const RATE_KEEP_MS = 3_600_000;

/** `Store.takeRate`: a sliding window of counted calls per key. */
export function takeRate(db: Database.Database, key: string, count: number, limit: number, windowMs: number, nowMs: number): boolean {
  const since = nowMs - windowMs;
  db.prepare('DELETE FROM rate_calls WHERE key = ? AND at_ms <= ?').run(key, since);
  db.prepare('DELETE FROM rate_calls WHERE at_ms <= ?').run(nowMs - Math.max(RATE_KEEP_MS, windowMs));
  const row = db.prepare('SELECT coalesce(sum(n), 0) AS s FROM rate_calls WHERE key = ? AND at_ms > ?').get(key, since) as { s: number };
  if (row.s + count > limit) return false;
  db.prepare('INSERT INTO rate_calls (key, at_ms, n) VALUES (?, ?, ?)').run(key, nowMs, count);
  return true;
}
