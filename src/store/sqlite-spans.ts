// The spans kept locally (for the console, with no collector): one row per ended span, bounded per
// trace and in all (the oldest go first). Written inside the writer's transaction like any write.
import type Database from 'better-sqlite3';

/** The most spans kept for one trace (one run's trace, across its pauses): later ones are dropped. */
export const SPANS_PER_TRACE = 2000;
/** The most spans kept in all: past it the oldest rows are pruned. */
export const SPANS_KEPT = 100_000;

/** One span row as written: its ids, the run it names (if any), and the whole span as JSON. */
export interface SpanRow {
  readonly traceId: string;
  readonly spanId: string;
  readonly runId: string | null;
  readonly record: string;
}

/** Appends spans (each trace up to its cap), then prunes the oldest past the total bound. */
export function addSpans(db: Database.Database, rows: readonly SpanRow[], bounds: { perTrace: number; kept: number } = { perTrace: SPANS_PER_TRACE, kept: SPANS_KEPT }): void {
  const count = db.prepare('SELECT COUNT(*) AS n FROM spans WHERE trace_id = ?');
  const insert = db.prepare('INSERT INTO spans (trace_id, span_id, run_id, record) VALUES (?, ?, ?, ?)');
  const counts = new Map<string, number>();
  for (const r of rows) {
    const n = counts.get(r.traceId) ?? (count.get(r.traceId) as { n: number }).n;
    if (n >= bounds.perTrace) continue;
    insert.run(r.traceId, r.spanId, r.runId, r.record);
    counts.set(r.traceId, n + 1);
  }
  db.prepare('DELETE FROM spans WHERE id <= (SELECT MAX(id) FROM spans) - ?').run(bounds.kept);
}

/** The spans of the traces that name run `runId`, oldest first (as JSON records). */
export function spansOfRun(db: Database.Database, runId: string, limit: number): string[] {
  const rows = db
    .prepare('SELECT record FROM spans WHERE trace_id IN (SELECT DISTINCT trace_id FROM spans WHERE run_id = ?) ORDER BY id LIMIT ?')
    .all(runId, limit) as { record: string }[];
  return rows.map((r) => r.record);
}
