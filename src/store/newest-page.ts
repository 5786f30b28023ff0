// Lists read newest first a page at a time (`Store.pageApprovals`, `pageIncidents`, `pageGrants`): the SQL of a
// page, for both stores (pure: each value goes in through `param`, which gives the store's placeholder for it,
// `?` in order or `$n`), and the newest `max` of a list read page after page.
import { pageLimit, type NewestPage } from './store.js';

/** The newest `max` of a list (newest first), read with `page` a page of at most 1,000 at a time. */
export async function readNewest<T extends { readonly createdAt: string; readonly id: string }>(page: (q: NewestPage<never>) => Promise<readonly T[]>, max: number): Promise<T[]> {
  const out: T[] = [];
  for (let before: T | undefined; out.length < max; ) {
    const limit = Math.min(1000, max - out.length);
    const got = await page({ limit, ...(before ? { before: { createdAt: before.createdAt, id: before.id } } : {}) });
    out.push(...got);
    if (got.length < limit) break;
    before = got[got.length - 1];
  }
  return out;
}

/** `SELECT columns FROM table` for page `q`, newest first (created, then id, descending); `initial`: the table's first status. */
export function newestPageSql(table: 'approvals' | 'incidents' | 'grants', columns: string, initial: string, q: NewestPage<string>, param: (v: string | number) => string): string {
  const where: string[] = [];
  if (q.status !== undefined) where.push(`status = ${param(q.status)}`);
  if (q.decided) where.push(`status <> ${param(initial)}`);
  if (q.runId !== undefined) where.push(`run_id = ${param(q.runId)}`);
  if (q.before) where.push(`(created_at, id) < (${param(q.before.createdAt)}, ${param(q.before.id)})`);
  return `SELECT ${columns} FROM ${table} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ${param(pageLimit(q.limit))}`;
}
