// The SQL of a page read newest first (`Store.pageApprovals`, `pageIncidents`), for both stores (pure): each
// value goes in through `param`, which gives the store's placeholder for it (`?` in order, `$n`).
import { pageLimit, type NewestPage } from './store.js';

/** `SELECT columns FROM table` for page `q`, newest first (created, then id, descending); `initial`: the table's first status. */
export function newestPageSql(table: 'approvals' | 'incidents', columns: string, initial: string, q: NewestPage<string>, param: (v: string | number) => string): string {
  const where: string[] = [];
  if (q.status !== undefined) where.push(`status = ${param(q.status)}`);
  if (q.decided) where.push(`status <> ${param(initial)}`);
  if (q.runId !== undefined) where.push(`run_id = ${param(q.runId)}`);
  if (q.before) where.push(`(created_at, id) < (${param(q.before.createdAt)}, ${param(q.before.id)})`);
  return `SELECT ${columns} FROM ${table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${param(pageLimit(q.limit))}`;
}
