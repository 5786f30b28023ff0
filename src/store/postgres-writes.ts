// The PostgreSQL store's writes beside the trail: runs (a save is compare-and-set on the version), approvals, grants,
// the webhook outbox, incidents and instance leases. Each runs inside a transaction it is given (a group commit's savepoint, or one of
// its own); compare-and-set reads the row `FOR UPDATE`, so a concurrent writer on any instance waits and then sees
// the row as it was left.
import { AirlockError } from '../errors.js';
import type { ApprovalRecord, GrantRecord, IncidentRecord, IncidentStatus, InstanceLease, NotificationRecord, UsageDelta } from './store.js';
import { isUniqueViolation, underSavepoint, type Sql } from './postgres-connection.js';
import type { summaryColumns } from './postgres-rows.js';
import { grantSchema, incidentSchema, notificationSchema, type ApprovalRow, type IdRecordRow, type RowReader } from './sqlite-rows.js';
import type { ApprovalWant, RunColumns } from './sqlite-write-ops.js';

/** An INSERT whose unique key is the id: a `conflict` naming the id when it is taken. */
export async function insertUnique(what: string, id: string, hint: string, insert: () => Promise<unknown>): Promise<void> {
  try {
    await insert();
  } catch (e) {
    if (isUniqueViolation(e)) throw new AirlockError('conflict', `${what} \`${id}\` already exists`, { hint });
    throw e;
  }
}

/** A run as a row: its columns, and the summary columns read from its state before it was sealed. */
export interface PgRun extends RunColumns {
  readonly summary: ReturnType<typeof summaryColumns>;
}

/**
 * The runs `agent` holds open as an external agent (`Store.createRunWithin`), counted under a lock on the
 * agent held to the end of the transaction, so instances opening its runs at once are counted one by one.
 */
export async function openRunsOf(c: Sql, agent: string): Promise<number> {
  await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`airlock.open-runs:${agent}`]);
  const { rows } = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM runs WHERE status = 'running' AND agent = $1 AND (state::jsonb ->> 'driver') = 'agent'", [agent]);
  return rows[0]?.n ?? 0;
}

/** Inserts a new run; an existing id is a `conflict`. */
export function insertRun(c: Sql, r: PgRun): Promise<void> {
  return insertUnique('run', r.id, 'run ids are unique; create the run under a new id', () =>
    c.query(
      'INSERT INTO runs (id, workflow, status, version, created_at, updated_at, state, agent, on_behalf_of, cost_micros, currency) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
      [r.id, r.workflow, r.status, r.version, r.createdAt, r.updatedAt, r.stateText, r.summary.agent, r.summary.onBehalfOf, r.summary.costMicros, r.summary.currency],
    ),
  );
}

/** A run save's compare-and-set: applies only on the version after the stored one (`conflict` or `not-found` otherwise), with its steps and usage. */
export async function saveRun(c: Sql, r: PgRun, steps: readonly { n: number; item: string }[], usage: readonly UsageDelta[]): Promise<void> {
  const updated = await c.query(
    'UPDATE runs SET workflow = $1, status = $2, version = $3, updated_at = $4, state = $5, agent = $6, on_behalf_of = $7, cost_micros = $8, currency = $9 WHERE id = $10 AND version = $11',
    [r.workflow, r.status, r.version, r.updatedAt, r.stateText, r.summary.agent, r.summary.onBehalfOf, r.summary.costMicros, r.summary.currency, r.id, r.version - 1],
  );
  if (updated.rowCount !== 1) {
    const stored = await c.query<{ version: number }>('SELECT version FROM runs WHERE id = $1', [r.id]);
    const version = stored.rows[0]?.version;
    if (version === undefined) throw new AirlockError('not-found', `run \`${r.id}\` does not exist`, { hint: 'create it with createRun first' });
    throw new AirlockError('conflict', `run \`${r.id}\` is at version ${version}; this save expected version ${r.version - 1}`, {
      hint: 'someone else saved the run first: reload it, re-apply the transition, save again',
    });
  }
  if (steps.length > 0) {
    await insertUnique('run step', `${r.id}#${steps.map((s) => s.n).join(',')}`, 'steps are numbered once per run: the save that made it is already stored', () =>
      c.query('INSERT INTO run_steps (run_id, n, item) SELECT $1, * FROM unnest($2::int[], $3::text[])', [r.id, steps.map((s) => s.n), steps.map((s) => s.item)]),
    );
  }
  for (const u of usage) await addUsage(c, u);
}

/** Adds one model turn's (or tool call's) usage to each of its scopes' daily sums. */
async function addUsage(c: Sql, u: UsageDelta): Promise<void> {
  await c.query(
    `INSERT INTO usage_daily (scope, day, currency, model_calls, input_tokens, output_tokens, cost_micros, tool_calls)
     SELECT s, $2, $3, $4, $5, $6, $7, $8 FROM unnest($1::text[]) AS s
     ON CONFLICT (scope, day, currency) DO UPDATE SET model_calls = usage_daily.model_calls + excluded.model_calls, input_tokens = usage_daily.input_tokens + excluded.input_tokens,
       output_tokens = usage_daily.output_tokens + excluded.output_tokens, cost_micros = usage_daily.cost_micros + excluded.cost_micros, tool_calls = usage_daily.tool_calls + excluded.tool_calls`,
    [[...new Set(u.scopes)], u.day, u.currency, u.modelCalls, u.inputTokens, u.outputTokens, u.costMicros, u.toolCalls],
  );
}

/** Inserts a new approval; an existing id is a `conflict`. */
export function insertApproval(c: Sql, a: ApprovalRecord): Promise<void> {
  return insertUnique('approval', a.id, 'approval ids are unique; create it under a new id', () =>
    c.query('INSERT INTO approvals (id, run_id, status, created_at, record) VALUES ($1, $2, $3, $4, $5)', [a.id, a.runId, a.status, a.createdAt, JSON.stringify(a)]),
  );
}

/** Compare-and-set on an approval's status (and votes, escalations): the approval as it now stands, or null when it had moved on. */
export async function updateApproval(c: Sql, rows: RowReader, id: string, want: ApprovalWant, updateText: string): Promise<ApprovalRecord | null> {
  const found = await c.query<ApprovalRow>('SELECT id, status, record FROM approvals WHERE id = $1 FOR UPDATE', [id]);
  const row = found.rows[0];
  if (!row) throw new AirlockError('not-found', `approval \`${id}\` does not exist`, { hint: 'list pending approvals with `airlock approvals`' });
  if (row.status !== want.status) return null;
  const current = rows.approval(row);
  // A vote counted against a stale list of votes would overwrite a concurrent one (a lost step-up vote).
  if (want.votes !== undefined && current.decisions.length !== want.votes) return null;
  // Two sweepers escalating the same approval: only the first one's escalation counts.
  if (want.escalations !== undefined && current.escalations !== want.escalations) return null;
  const next = { ...current, ...(JSON.parse(updateText) as Partial<ApprovalRecord>) } as ApprovalRecord;
  // INVARIANT: the row is locked since it was read, so the check above and this write see the same approval.
  await c.query('UPDATE approvals SET status = $1, record = $2 WHERE id = $3', [next.status, JSON.stringify(next), id]);
  return next;
}

/** Inserts a new standing grant; an existing id is a `conflict`. */
export function insertGrant(c: Sql, g: GrantRecord): Promise<void> {
  return insertUnique('grant', g.id, 'grant ids are unique', () =>
    c.query('INSERT INTO grants (id, workflow, tool, status, uses, created_at, expires_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [g.id, g.workflow, g.tool, g.status, g.uses, g.createdAt, g.expiresAt, JSON.stringify(g)]),
  );
}

/** Read-modify-write of one grant under its row lock (a compare-and-set across instances). */
export async function changeGrant(c: Sql, rows: RowReader, id: string, change: (g: GrantRecord) => GrantRecord | null): Promise<GrantRecord | null> {
  const found = await c.query<IdRecordRow>('SELECT id, record FROM grants WHERE id = $1 FOR UPDATE', [id]);
  const row = found.rows[0];
  if (!row) throw new AirlockError('not-found', `grant \`${id}\` does not exist`, { hint: 'list grants with `airlock grants`' });
  const next = change(rows.record('grants', row, grantSchema));
  if (!next) return null;
  await c.query('UPDATE grants SET status = $1, uses = $2, record = $3 WHERE id = $4', [next.status, next.uses, JSON.stringify(next), id]);
  return next;
}

/** Adds notifications to the outbox; an id already queued is left as it is. */
export async function enqueueNotifications(c: Sql, list: readonly NotificationRecord[]): Promise<void> {
  await c.query(
    'INSERT INTO notifications (id, status, attempts, next_attempt_at, created_at, record) SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[]) ON CONFLICT (id) DO NOTHING',
    [list.map((n) => n.id), list.map((n) => n.status), list.map((n) => n.attempts), list.map((n) => n.nextAttemptAt), list.map((n) => n.createdAt), list.map((n) => JSON.stringify(n))],
  );
}

/** Creates or renews an instance's lease (its expiry in a column of its own: run claims read it). */
export async function renewLease(c: Sql, lease: InstanceLease): Promise<void> {
  await c.query('INSERT INTO leases (id, started_at, expires_at, record) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at, record = excluded.record', [
    lease.id,
    lease.startedAt,
    lease.expiresAt,
    JSON.stringify(lease),
  ]);
}

/** Takes a due notification for one attempt when it is pending with `expectedAttempts`, leased until `leaseUntil`. */
export async function claimNotification(c: Sql, rows: RowReader, id: string, expectedAttempts: number, leaseUntil: string): Promise<NotificationRecord | null> {
  const found = await c.query<IdRecordRow>('SELECT id, record FROM notifications WHERE id = $1 FOR UPDATE', [id]);
  const row = found.rows[0];
  if (!row) return null;
  const n = rows.record('notifications', row, notificationSchema);
  if (n.status !== 'pending' || n.attempts !== expectedAttempts) return null;
  const next: NotificationRecord = { ...n, attempts: n.attempts + 1, nextAttemptAt: leaseUntil };
  await c.query('UPDATE notifications SET attempts = $1, next_attempt_at = $2, record = $3 WHERE id = $4', [next.attempts, next.nextAttemptAt, JSON.stringify(next), id]);
  return next;
}

/** An attempt's outcome: its row in the delivery log, and the notification's new state if `attempt` still holds the claim. */
export async function finishNotification(c: Sql, rows: RowReader, id: string, attempt: number, updateText: string, deliveryText: string): Promise<void> {
  const found = await c.query<IdRecordRow>('SELECT id, record FROM notifications WHERE id = $1 FOR UPDATE', [id]);
  const row = found.rows[0];
  if (!row) throw new AirlockError('not-found', `notification \`${id}\` does not exist`);
  const current = rows.record('notifications', row, notificationSchema);
  // Only the attempt that holds the claim may settle it: a late finisher (paused past its lease while another
  // instance took over) only adds its row to the delivery log.
  if (current.attempts === attempt) {
    const next = { ...current, ...(JSON.parse(updateText) as Partial<NotificationRecord>) } as NotificationRecord;
    await c.query('UPDATE notifications SET status = $1, next_attempt_at = $2, record = $3 WHERE id = $4', [next.status, next.nextAttemptAt, JSON.stringify(next), id]);
  }
  await c.query('INSERT INTO deliveries (notification_id, record) VALUES ($1, $2)', [id, deliveryText]);
}

/** Inserts an incident unless one is open for its (run, kind, key): that one comes back. An existing id is a `conflict`. */
export async function createIncident(c: Sql, rows: RowReader, i: IncidentRecord): Promise<IncidentRecord | null> {
  const conflict = () => new AirlockError('conflict', `incident \`${i.id}\` already exists`, { hint: 'incident ids are unique' });
  if ((await c.query('SELECT 1 FROM incidents WHERE id = $1', [i.id])).rowCount) throw conflict();
  // INVARIANT: the partial unique index keeps one open incident per (run, kind, key); a concurrent insert of the
  // same waits for the first to commit, then inserts nothing.
  const inserted = await c.query('INSERT INTO incidents (id, run_id, kind, dedupe_key, status, created_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING', [
    i.id,
    i.runId,
    i.kind,
    i.key,
    i.status,
    i.createdAt,
    JSON.stringify(i),
  ]);
  if (inserted.rowCount === 1) return null;
  const open = await c.query<IdRecordRow>("SELECT id, record FROM incidents WHERE run_id = $1 AND kind = $2 AND dedupe_key = $3 AND status = 'open'", [i.runId, i.kind, i.key]);
  const row = open.rows[0];
  if (!row) throw conflict();
  return rows.record('incidents', row, incidentSchema) as IncidentRecord;
}

/** Compare-and-set on an incident's status (and assignee): the new record, or null when it had moved on. */
export async function updateIncident(c: Sql, rows: RowReader, id: string, expected: IncidentStatus, updateText: string, expectedAssignee?: string | null): Promise<IncidentRecord | null> {
  const found = await c.query<IdRecordRow>('SELECT id, record FROM incidents WHERE id = $1 FOR UPDATE', [id]);
  const row = found.rows[0];
  if (!row) throw new AirlockError('not-found', `incident \`${id}\` does not exist`, { hint: 'list incidents with `airlock incidents --all`' });
  const current = rows.record('incidents', row, incidentSchema) as IncidentRecord;
  if (current.status !== expected) return null;
  if (expectedAssignee !== undefined && (current.assignee ?? null) !== expectedAssignee) return null;
  const next = { ...current, ...(JSON.parse(updateText) as Partial<IncidentRecord>) } as IncidentRecord;
  // Reopening would break the one-open-per-key rule if a newer one is open: the index refuses it.
  try {
    await underSavepoint(c, () => c.query('UPDATE incidents SET status = $1, record = $2 WHERE id = $3', [next.status, JSON.stringify(next), id]));
  } catch (e) {
    if (isUniqueViolation(e)) return null;
    throw e;
  }
  return next;
}
