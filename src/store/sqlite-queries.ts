// SQL for the store's filtered lists (pure: a query and its named parameters), so a filter is applied
// inside the query over the whole table instead of over a window read first.
import type { RunQuery } from './store.js';

/** `SELECT * FROM runs` for `q`, newest first (created_at, then id, descending). */
export function runQuerySql(q: RunQuery): { sql: string; params: Record<string, string | number> } {
  const where: string[] = [];
  const params: Record<string, string | number> = { limit: q.limit ?? -1 }; // -1: no limit in SQLite
  if (q.status !== undefined) {
    where.push('status = @status');
    params['status'] = q.status;
  }
  if (q.workflow !== undefined) {
    where.push('workflow = @workflow');
    params['workflow'] = q.workflow;
  }
  if (q.principal !== undefined) {
    // A run stores its agent by id (`refund-bot`) and the person it acts for as a ref (`user:lena`).
    where.push("(json_extract(state, '$.agent') = @agentId OR json_extract(state, '$.onBehalfOf') = @principal)");
    params['principal'] = q.principal;
    params['agentId'] = q.principal.startsWith('agent:') ? q.principal.slice('agent:'.length) : '\u0000';
  }
  if (q.since !== undefined) {
    where.push('created_at >= @since');
    params['since'] = q.since;
  }
  if (q.until !== undefined) {
    // On `until`'s own length: `2026-12-31` includes every run of that day.
    where.push('substr(created_at, 1, @untilLength) <= @until');
    params['until'] = q.until;
    params['untilLength'] = q.until.length;
  }
  if (q.after !== undefined) {
    where.push('(created_at < @afterAt OR (created_at = @afterAt AND id < @afterId))');
    params['afterAt'] = q.after.createdAt;
    params['afterId'] = q.after.id;
  }
  const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  return { sql: `SELECT * FROM runs${filter} ORDER BY created_at DESC, id DESC LIMIT @limit`, params };
}
