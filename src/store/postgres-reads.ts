// The PostgreSQL store's reads on the pool: the trail (rows as stored, records, a run's records), runs and their
// steps, approvals, grants, the outbox, incidents, leases, spans. Every query is limited: a list asked for whole is
// read in keyset pages (`PAGE` rows a query), and stored JSON is read back through its schema (sqlite-rows.ts).
import type pg from 'pg';
import type { z } from 'zod';
import type { ApprovalId, ApprovalStatus, RunId, Sha256Hex } from '../types.js';
import { AUDIT_COLUMNS, auditRecordOf, LIST_CAP, Params, RUN_SUMMARY_COLUMNS, runQuerySql, storedRowOf, whereOf, type PgAuditRow } from './postgres-rows.js';
import { runSummaryOf, type SummaryColumns } from './run-summary.js';
import { openPayload, openRunState, openStep, type PayloadSealing } from './sealed-payloads.js';
import { deliverySchema, grantSchema, incidentSchema, leaseSchema, notificationSchema, type ApprovalRow, type IdRecordRow, type RowReader, type RunRow } from './sqlite-rows.js';
import { SPANS_PER_TRACE } from './sqlite-spans.js';
import type {
  ApprovalPage,
  NewestPage,
  ApprovalRecord, AuditRecord, DeliveryRecord, GrantPage, GrantRecord, IncidentRecord, IncidentStatus, InstanceLease, NotificationRecord, RunQuery, RunRecord, RunStep, RunSummary, StoredAuditRow,
  StoredSpan, UsageRow,
} from './store.js';
import { LIVE_GRANTS_SQL } from './live-grants.js';
import { newestPageSql } from './newest-page.js';
import { MAX_LIVE_GRANTS } from './store.js';

/** Rows per query when a list is read whole (keyset pages: no query is unbounded). */
const PAGE = 1000;

/** A caller's limit as a whole number of rows, at most `LIST_CAP`. */
export function bounded(limit: number): number {
  return Math.max(0, Math.min(LIST_CAP, Math.floor(limit)));
}

/** Every row `page` gives, a page after the last row of the one before, until a page comes back short. */
async function allPages<R>(page: (after: R | null) => Promise<R[]>): Promise<R[]> {
  const out: R[] = [];
  for (let after: R | null = null; ; ) {
    const rows = await page(after);
    out.push(...rows);
    if (rows.length < PAGE) return out;
    after = rows[rows.length - 1] as R;
  }
}

const RUN_COLUMNS = 'id, workflow, status, version, created_at, updated_at, state';

export class PgReads {
  constructor(
    private readonly pool: pg.Pool,
    private readonly rows: RowReader,
    private readonly shown: string,
    private readonly sealing: PayloadSealing | undefined,
  ) {}

  async auditRows(fromSeq: number, limit: number): Promise<StoredAuditRow[]> {
    return (await this.pool.query<PgAuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2`, [fromSeq, limit])).rows.map(storedRowOf);
  }

  async audit(fromSeq: number, limit: number): Promise<AuditRecord[]> {
    return (await this.pool.query<PgAuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE seq >= $1 ORDER BY seq LIMIT $2`, [fromSeq, limit])).rows.map(auditRecordOf);
  }

  /** Every record of one run, in order (through the index of records by run), a page per query. */
  async auditOfRun(runId: string): Promise<AuditRecord[]> {
    const rows = await allPages<PgAuditRow>(async (after) => (await this.pool.query<PgAuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [runId, after?.seq ?? 0, PAGE])).rows);
    return rows.map(auditRecordOf);
  }

  async auditHead(): Promise<{ seq: number; chainHash: Sha256Hex } | null> {
    const h = (await this.pool.query<{ seq: string; chain_hash: Buffer }>('SELECT seq, chain_hash FROM audit ORDER BY seq DESC LIMIT 1')).rows[0];
    return h ? { seq: Number(h.seq), chainHash: h.chain_hash.toString('hex') as Sha256Hex } : null;
  }

  async payload(hash: Sha256Hex): Promise<string | null> {
    const data = (await this.pool.query<{ data: Buffer }>('SELECT data FROM audit_payloads WHERE hash = $1', [hash])).rows[0]?.data;
    return data === undefined ? null : openPayload(data.toString('utf8'), hash, this.sealing, this.shown);
  }

  async runSteps(runId: RunId, before: number | undefined, limit: number): Promise<RunStep[]> {
    const { rows } = await this.pool.query<{ n: number; item: string }>('SELECT n, item FROM run_steps WHERE run_id = $1 AND n < $2 ORDER BY n DESC LIMIT $3', [runId, Math.min(before ?? 2 ** 31 - 1, 2 ** 31 - 1), bounded(limit)]);
    return rows.reverse().map((r) => ({ n: r.n, item: this.rows.json('run_steps', `${runId}#${r.n}`, openStep(runId, r.n, r.item, this.sealing, this.shown)) }));
  }

  async run(id: RunId): Promise<RunRecord | null> {
    const row = (await this.pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id])).rows[0];
    return row ? this.runOf(row) : null;
  }

  async runs(q: RunQuery): Promise<RunRecord[]> {
    return (await this.runPages<RunRow>(q, RUN_COLUMNS)).map((r) => this.runOf(r));
  }

  async runSummaries(q: RunQuery): Promise<RunSummary[]> {
    return (await this.runPages<SummaryColumns>(q, RUN_SUMMARY_COLUMNS)).map(runSummaryOf);
  }

  usageSince(sinceDay: string, scopes: readonly string[] | undefined): Promise<UsageRow[]> {
    return allPages<UsageRow>(
      async (after) =>
        (
          await this.pool.query<UsageRow>(
            `SELECT scope, day, currency, model_calls::float8 AS "modelCalls", input_tokens::float8 AS "inputTokens", output_tokens::float8 AS "outputTokens", cost_micros::float8 AS "costMicros", tool_calls::float8 AS "toolCalls"
             FROM usage_daily WHERE day >= $1 AND ($2::text[] IS NULL OR scope = ANY($2::text[])) AND (day, scope, currency) > ($3, $4, $5) ORDER BY day, scope, currency LIMIT $6`,
            [sinceDay, scopes ?? null, after?.day ?? '', after?.scope ?? '', after?.currency ?? '', PAGE],
          )
        ).rows,
    );
  }

  async valueSpent(budget: string, bucket: string, since: string): Promise<number> {
    const { rows } = await this.pool.query<{ s: number }>('SELECT COALESCE(SUM(amount), 0)::float8 AS s FROM value_ledger WHERE budget = $1 AND bucket = $2 AND at > $3', [budget, bucket, since]);
    return rows[0]?.s ?? 0;
  }

  async approval(id: ApprovalId): Promise<ApprovalRecord | null> {
    const row = (await this.pool.query<ApprovalRow>('SELECT id, status, record FROM approvals WHERE id = $1', [id])).rows[0];
    return row ? this.rows.approval(row) : null;
  }

  async approvals(opts: { status?: ApprovalStatus; runId?: RunId; runIds?: readonly RunId[] }): Promise<ApprovalRecord[]> {
    return (await this.oldestFirst<ApprovalRow>('approvals', 'id, status, record', { status: opts.status, run_id: opts.runId }, opts.runIds)).map((r) => this.rows.approval(r));
  }

  async approvalPage(q: ApprovalPage): Promise<ApprovalRecord[]> {
    return (await this.newestPage<ApprovalRow>('approvals', 'id, status, record', 'pending', q)).map((r) => this.rows.approval(r));
  }

  async incidentPage(q: NewestPage<IncidentStatus>): Promise<IncidentRecord[]> {
    return (await this.newestPage<IdRecordRow>('incidents', 'id, record', 'open', q)).map((r) => this.rows.record('incidents', r, incidentSchema) as IncidentRecord);
  }

  /** A page of `table` newest first (`Store.pageApprovals`, `pageIncidents`), whose first status is `initial`. */
  private async newestPage<R extends pg.QueryResultRow>(table: 'approvals' | 'incidents' | 'grants', columns: string, initial: string, q: NewestPage<string>): Promise<R[]> {
    const p = new Params();
    return (await this.pool.query<R>(newestPageSql(table, columns, initial, q, (v) => p.add(v)), p.values)).rows;
  }

  grant(id: string): Promise<GrantRecord | null> {
    return this.recordById('grants', id, grantSchema);
  }

  async liveGrants(workflow: string, tool: string, now: string): Promise<GrantRecord[]> {
    const { rows } = await this.pool.query<IdRecordRow>(LIVE_GRANTS_SQL, [workflow, tool, now, MAX_LIVE_GRANTS]);
    return rows.map((r) => this.rows.record('grants', r, grantSchema));
  }

  async grantPage(q: GrantPage): Promise<GrantRecord[]> {
    return (await this.newestPage<IdRecordRow>('grants', 'id, record', 'active', q)).map((r) => this.rows.record('grants', r, grantSchema));
  }

  async dueNotifications(now: string, limit: number): Promise<NotificationRecord[]> {
    const { rows } = await this.pool.query<IdRecordRow>("SELECT id, record FROM notifications WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY created_at, id LIMIT $2", [now, bounded(limit)]);
    return rows.map((r) => this.rows.record('notifications', r, notificationSchema));
  }

  async notifications(status: NotificationRecord['status'] | undefined, limit: number): Promise<NotificationRecord[]> {
    const p = new Params();
    const where = whereOf(p, { status });
    const { rows } = await this.pool.query<IdRecordRow>(`SELECT id, record FROM notifications ${where} ORDER BY created_at DESC, id DESC LIMIT ${p.add(bounded(limit))}`, p.values);
    return rows.map((r) => this.rows.record('notifications', r, notificationSchema));
  }

  async deliveries(notificationId: string | undefined): Promise<DeliveryRecord[]> {
    const rows = await allPages<IdRecordRow>(
      async (after) =>
        (
          await this.pool.query<IdRecordRow>('SELECT id::text AS id, record FROM deliveries WHERE ($1::text IS NULL OR notification_id = $1) AND id > $2 ORDER BY id LIMIT $3', [
            notificationId ?? null,
            after?.id ?? 0,
            PAGE,
          ])
        ).rows,
    );
    return rows.map((r) => this.rows.record('deliveries', r, deliverySchema, false));
  }

  incident(id: string): Promise<IncidentRecord | null> {
    return this.recordById('incidents', id, incidentSchema) as Promise<IncidentRecord | null>;
  }

  async incidents(opts: { status?: IncidentStatus; runId?: RunId; runIds?: readonly RunId[] }): Promise<IncidentRecord[]> {
    return (await this.oldestFirst<IdRecordRow>('incidents', 'id, record', { status: opts.status, run_id: opts.runId }, opts.runIds)).map((r) => this.rows.record('incidents', r, incidentSchema) as IncidentRecord);
  }

  async leases(): Promise<InstanceLease[]> {
    type Row = IdRecordRow & { started_at: string };
    const rows = await allPages<Row>(
      async (after) =>
        (await this.pool.query<Row>('SELECT id, started_at, record FROM leases WHERE (started_at, id) > ($1, $2) ORDER BY started_at, id LIMIT $3', [after?.started_at ?? '', after?.id ?? '', PAGE])).rows,
    );
    return rows.map((r) => this.rows.record('leases', r, leaseSchema) as InstanceLease);
  }

  /** The spans of the traces run `runId` belongs to, oldest first. Written by the store from spans it was given: plain JSON, not a trust boundary for decisions. */
  async spansOfRun(runId: RunId, limit = SPANS_PER_TRACE): Promise<StoredSpan[]> {
    const { rows } = await this.pool.query<{ record: string }>('SELECT record FROM spans WHERE trace_id IN (SELECT DISTINCT trace_id FROM spans WHERE run_id = $1) ORDER BY id LIMIT $2', [runId, bounded(limit)]);
    return rows.map((r) => JSON.parse(r.record) as StoredSpan);
  }

  /** A `runs` row as a run record, its state opened when it was sealed. */
  private runOf(row: RunRow): RunRecord {
    return this.rows.run({ ...row, state: openRunState(row.id, row.state, this.sealing, this.shown) });
  }

  /** `q`'s runs, a page per query: at most `q.limit`, else all of them. */
  private async runPages<R extends { id: string; created_at: string }>(q: RunQuery, columns: string): Promise<R[]> {
    const out: R[] = [];
    let after = q.after;
    for (;;) {
      const want = Math.min(PAGE, (q.limit ?? Number.MAX_SAFE_INTEGER) - out.length);
      if (want <= 0) return out;
      const { sql, params } = runQuerySql({ ...q, ...(after ? { after } : {}), limit: want }, columns);
      const { rows } = await this.pool.query<R>(sql, params);
      out.push(...rows);
      const last = rows[rows.length - 1];
      if (rows.length < want || !last) return out;
      after = { createdAt: last.created_at, id: last.id };
    }
  }

  /** A table's rows oldest first (created_at, then id), filtered, a page per query. */
  private oldestFirst<R extends { id: string }>(table: string, columns: string, filter: Readonly<Record<string, string | undefined>>, runIds?: readonly string[]): Promise<R[]> {
    return allPages<R & { created_at: string }>(async (after) => {
      const p = new Params();
      const where = whereOf(p, filter, runIds);
      const keyset = `(created_at, id) > (${p.add(after?.created_at ?? '')}, ${p.add(after?.id ?? '')})`;
      const sql = `SELECT ${columns}, created_at FROM ${table} ${where === '' ? `WHERE ${keyset}` : `${where} AND ${keyset}`} ORDER BY created_at, id LIMIT ${p.add(PAGE)}`;
      return (await this.pool.query<R & { created_at: string }>(sql, p.values)).rows;
    });
  }

  private async recordById<T>(table: string, id: string, schema: z.ZodType<T>): Promise<T | null> {
    const row = (await this.pool.query<IdRecordRow>(`SELECT id, record FROM ${table} WHERE id = $1`, [id])).rows[0];
    return row ? this.rows.record(table, row, schema) : null;
  }
}
