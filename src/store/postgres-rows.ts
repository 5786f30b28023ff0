// Reading the PostgreSQL store's rows back (audit rows with their hashes as bytea, run summaries from their
// columns), and the SQL of its filtered lists with numbered parameters: a filter is applied inside the query,
// every list is limited, and a filter value is always a parameter, never SQL.
import { AirlockError } from '../errors.js';
import { auditRecord } from './sqlite-rows.js';
import { MAX_RUN_IDS, type AuditRecord, type RunQuery, type StoredAuditRow } from './store.js';

/** The most rows any list reads at once when its caller names no limit (lists beyond it are paged by the caller). */
export const LIST_CAP = 10_000;

/** Numbered parameters (`$1`, `$2`...) for one statement. */
export class Params {
  readonly values: unknown[] = [];

  /** `v` as the next parameter: its placeholder. */
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

/** A row of `audit` as selected by `AUDIT_COLUMNS`. */
export interface PgAuditRow {
  readonly seq: string;
  readonly leaf: string;
  readonly prev_hash: Buffer;
  readonly leaf_hash: Buffer;
  readonly chain_hash: Buffer;
}

export const AUDIT_COLUMNS = 'seq, leaf, prev_hash, leaf_hash, chain_hash';

/** An audit row as the record it holds (unreadable text comes back as SQLite's store gives it: verification names it). */
export function auditRecordOf(r: PgAuditRow): AuditRecord {
  return auditRecord({ seq: Number(r.seq), leaf: r.leaf, prev_hash: r.prev_hash.toString('hex'), leaf_hash: r.leaf_hash.toString('hex'), chain_hash: r.chain_hash.toString('hex') });
}

/** An audit row exactly as stored: the leaf text and the hashes as hex. */
export function storedRowOf(r: PgAuditRow): StoredAuditRow {
  return { seq: Number(r.seq), text: r.leaf, prevHash: r.prev_hash.toString('hex'), leafHash: r.leaf_hash.toString('hex'), chainHash: r.chain_hash.toString('hex') };
}

/** A WHERE clause over the options given (undefined ones left out; column names are the keys), and `runIds` if given. */
export function whereOf(p: Params, opts: Readonly<Record<string, string | undefined>>, runIds?: readonly string[]): string {
  const where: string[] = [];
  for (const [col, v] of Object.entries(opts)) if (v !== undefined) where.push(`${col} = ${p.add(v)}`);
  if (runIds !== undefined) {
    if (runIds.length > MAX_RUN_IDS) throw new AirlockError('input', `at most ${MAX_RUN_IDS} runs per list, not ${runIds.length}`, { hint: 'this is a bug: list them a page at a time' });
    where.push(`run_id = ANY(${p.add(runIds)}::text[])`);
  }
  return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
}

/** The columns a run summary reads: who it acts for and its cost are columns of their own, written with each save. */
export const RUN_SUMMARY_COLUMNS = 'id, workflow, status, created_at, updated_at, on_behalf_of, cost_micros, currency';

/** `SELECT <columns> FROM runs` for `q`, newest first (created_at, then id, descending), at most `q.limit` (else `LIST_CAP`). */
export function runQuerySql(q: RunQuery, columns = '*'): { sql: string; params: unknown[] } {
  const p = new Params();
  const where: string[] = [];
  if (q.ids !== undefined) where.push(`id = ANY(${p.add(q.ids.slice(0, MAX_RUN_IDS))}::text[])`);
  if (q.status !== undefined) where.push(`status = ${p.add(q.status)}`);
  if (q.workflow !== undefined) where.push(`workflow = ${p.add(q.workflow)}`);
  if (q.principal !== undefined) {
    // A run stores its agent by id (`refund-bot`) and the person it acts for as a ref (`user:lena`).
    const agentId = q.principal.startsWith('agent:') ? q.principal.slice('agent:'.length) : null;
    where.push(agentId === null ? `on_behalf_of = ${p.add(q.principal)}` : `(agent = ${p.add(agentId)} OR on_behalf_of = ${p.add(q.principal)})`);
  }
  if (q.since !== undefined) where.push(`created_at >= ${p.add(q.since)}`);
  // On `until`'s own length: `2026-12-31` includes every run of that day.
  if (q.until !== undefined) where.push(`left(created_at, ${p.add(q.until.length)}) <= ${p.add(q.until)} COLLATE "C"`);
  if (q.after !== undefined) {
    const at = p.add(q.after.createdAt);
    where.push(`(created_at < ${at} OR (created_at = ${at} AND id < ${p.add(q.after.id)}))`);
  }
  const limit = p.add(Math.max(0, Math.min(q.limit ?? LIST_CAP, LIST_CAP)));
  const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  return { sql: `SELECT ${columns} FROM runs${filter} ORDER BY created_at DESC, id DESC LIMIT ${limit}`, params: p.values };
}

/** What a run's summary columns hold, read from its state before it is sealed: its agent, the person it acts for, its model cost. */
export function summaryColumns(state: unknown): { agent: string | null; onBehalfOf: string | null; costMicros: number | null; currency: string | null } {
  const s = typeof state === 'object' && state !== null && !Array.isArray(state) ? (state as Record<string, unknown>) : {};
  const usage = typeof s['usage'] === 'object' && s['usage'] !== null ? (s['usage'] as Record<string, unknown>) : {};
  const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const cost = usage['costMicros'];
  return { agent: text(s['agent']), onBehalfOf: text(s['onBehalfOf']), costMicros: typeof cost === 'number' && Number.isFinite(cost) ? cost : null, currency: text(usage['currency']) };
}
