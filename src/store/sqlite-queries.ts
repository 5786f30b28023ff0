// SQL for the store's filtered lists (pure: a query and its named parameters), so a filter is applied
// inside the query over the whole table instead of over a window read first.
import { MAX_RUN_IDS, type RunQuery } from './store.js';

/** `SELECT <columns> FROM runs` for `q` (every column by default), newest first (created_at, then id, descending). */
export function runQuerySql(q: RunQuery, columns = '*'): { sql: string; params: Record<string, string | number> } {
  const where: string[] = [];
  const params: Record<string, string | number> = { limit: q.limit ?? -1 }; // -1: no limit in SQLite
  if (q.ids !== undefined) {
    where.push('id IN (SELECT value FROM json_each(@ids))');
    params['ids'] = JSON.stringify(q.ids.slice(0, MAX_RUN_IDS));
  }
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
  return { sql: `SELECT ${columns} FROM runs${filter} ORDER BY created_at DESC, id DESC LIMIT @limit`, params };
}

/**
 * The columns of a run summary: who it acts for and its model cost read from the stored state as it lies
 * (both stay plain beside a sealed state), in one JSON parse of the state, and whether that state is
 * sealed (found near its start: the sealed text comes last). An older sealed state holds its cost inside:
 * the cost then reads null, and the run is opened to find it.
 */
export const RUN_SUMMARY_COLUMNS = `id, workflow, status, created_at, updated_at,
  json_extract(state, '$.onBehalfOf', '$.usage.costMicros', '$.usage.currency') AS extracted,
  instr(state, '"sealed":"enc:v1:') > 0 AS sealed`;
