// The PostgreSQL store's events written with the records that say so: halts (the kill switch: one active halt per
// scope), pilot events and policy events (compare-and-set on the newest of a lane). They are written in a group
// commit that holds the audit lock, so they are serialised across instances as SQLite's writer serialises them, and
// their insertion order (n) is their commit order. With their reads: one indexed query each, never cached.
import { AirlockError } from '../errors.js';
import type { HaltRecord } from './halt-records.js';
import type { PilotEvent, PilotEventKind } from './pilot-records.js';
import { POLICY_EVENT_KINDS, type PolicyEventHead, type PolicyEventKind, type PolicyLane, type PolicySetEvent } from './policy-records.js';
import { insertUnique } from './postgres-writes.js';
import type { Sql } from './postgres-connection.js';
import { haltSchema, type HaltColumns } from './sqlite-halts.js';
import { pilotEventSchema } from './sqlite-pilot.js';
import { policyEventSchema, type PolicyEventColumns } from './sqlite-policy.js';
import type { IdRecordRow, RowReader } from './sqlite-rows.js';

/** Inserts an active halt unless one is active on its scope: then nothing is written and that one comes back. */
export async function startHalt(c: Sql, rows: RowReader, h: HaltColumns): Promise<HaltRecord | null> {
  const active = await c.query<IdRecordRow>("SELECT id, record FROM halts WHERE scope = $1 AND status = 'active'", [h.scope]);
  if (active.rows[0]) return rows.record('halts', active.rows[0], haltSchema);
  await insertUnique('halt', h.id, 'halt ids are unique', () =>
    c.query("INSERT INTO halts (id, scope, status, stopped_at, record) VALUES ($1, $2, 'active', $3, $4)", [h.id, h.scope, h.stoppedAt, h.record]),
  );
  return null;
}

/** Lifts an active halt (compare-and-set on `active`): the lifted halt, or null when it was not active. */
export async function liftHalt(c: Sql, rows: RowReader, id: string, liftText: string): Promise<HaltRecord | null> {
  const found = await c.query<IdRecordRow>('SELECT id, record FROM halts WHERE id = $1 FOR UPDATE', [id]);
  const row = found.rows[0];
  if (!row) throw new AirlockError('not-found', `halt \`${id}\` does not exist`, { hint: 'list active halts with `airlock halts`' });
  const current = rows.record('halts', row, haltSchema);
  if (current.status !== 'active') return null;
  const next: HaltRecord = { ...current, ...(JSON.parse(liftText) as Partial<HaltRecord>), status: 'lifted' };
  await c.query("UPDATE halts SET status = 'lifted', record = $1 WHERE id = $2", [JSON.stringify(next), id]);
  return next;
}

/** Appends a pilot event, unless `after` is given and the newest of its kind for its workflow is another (then false). */
export async function addPilotEvent(c: Sql, e: PilotEvent, after?: string | null): Promise<boolean> {
  if (after !== undefined) {
    const newest = await c.query<{ id: string }>('SELECT id FROM pilot_events WHERE workflow = $1 AND kind = $2 ORDER BY n DESC LIMIT 1', [e.workflow, e.kind]);
    if ((newest.rows[0]?.id ?? null) !== after) return false;
  }
  await insertUnique('pilot event', e.id, 'pilot event ids are unique', () =>
    c.query('INSERT INTO pilot_events (id, workflow, kind, at, record) VALUES ($1, $2, $3, $4, $5)', [e.id, e.workflow, e.kind, e.at, JSON.stringify(e)]),
  );
  return true;
}

/** Appends a policy event when its lane's newest is `expected` (null: empty); else that newest comes back and nothing is written. */
export async function addPolicyEvent(c: Sql, rows: RowReader, e: PolicyEventColumns, expected: string | null): Promise<PolicySetEvent | null> {
  const head = await c.query<IdRecordRow>('SELECT id, record FROM policy_events WHERE lane = $1 ORDER BY n DESC LIMIT 1', [e.lane]);
  const row = head.rows[0];
  if ((row?.id ?? null) !== expected) return row ? rows.record('policy_events', row, policyEventSchema) : null;
  await insertUnique('policy event', e.id, 'policy event ids are unique', () =>
    c.query('INSERT INTO policy_events (id, lane, kind, set_hash, at, record) VALUES ($1, $2, $3, $4, $5, $6)', [e.id, e.lane, e.kind, e.setHash, e.at, e.record]),
  );
  return null;
}

/** The reads of halts, pilot and policy events. */
export class EventReads {
  constructor(
    private readonly sql: Sql,
    private readonly rows: RowReader,
  ) {}

  /** The oldest active halt on any of `scopes`, or null: one lookup through the partial index of active halts. */
  async activeHalt(scopes: readonly string[]): Promise<HaltRecord | null> {
    if (scopes.length === 0) return null;
    const { rows } = await this.sql.query<IdRecordRow>("SELECT id, record FROM halts WHERE status = 'active' AND scope = ANY($1::text[]) ORDER BY stopped_at, id LIMIT 1", [scopes]);
    return rows[0] ? this.rows.record('halts', rows[0], haltSchema) : null;
  }

  async halt(id: string): Promise<HaltRecord | null> {
    const { rows } = await this.sql.query<IdRecordRow>('SELECT id, record FROM halts WHERE id = $1', [id]);
    return rows[0] ? this.rows.record('halts', rows[0], haltSchema) : null;
  }

  async halts(status: HaltRecord['status'] | undefined, limit: number): Promise<HaltRecord[]> {
    const { rows } = await this.sql.query<IdRecordRow>('SELECT id, record FROM halts WHERE ($1::text IS NULL OR status = $1) ORDER BY stopped_at DESC, id DESC LIMIT $2', [status ?? null, limit]);
    return rows.map((r) => this.rows.record('halts', r, haltSchema));
  }

  /** The newest `limit` events of `workflow` of these kinds (every kind when empty), newest first in the order written. */
  async pilotEvents(workflow: string, kinds: readonly PilotEventKind[], limit: number): Promise<PilotEvent[]> {
    const { rows } = await this.sql.query<IdRecordRow>('SELECT id, record FROM pilot_events WHERE workflow = $1 AND (cardinality($2::text[]) = 0 OR kind = ANY($2::text[])) ORDER BY n DESC LIMIT $3', [
      workflow,
      kinds,
      limit,
    ]);
    return rows.map((r) => this.rows.record('pilot_events', r, pilotEventSchema) as PilotEvent);
  }

  /** The newest event of `lane`, without its texts (answered from the covering index `policy_events_head`), or null. */
  async latestPolicy(lane: PolicyLane): Promise<PolicyEventHead | null> {
    const { rows } = await this.sql.query<{ id: string; kind: string; set_hash: string }>('SELECT id, kind, set_hash FROM policy_events WHERE lane = $1 ORDER BY n DESC LIMIT 1', [lane]);
    const head = rows[0];
    if (!head) return null;
    if ((POLICY_EVENT_KINDS as readonly string[]).includes(head.kind)) return { id: head.id, kind: head.kind as PolicyEventKind, policySetHash: head.set_hash };
    // Columns edited outside Airlock: the whole record is read through its schema (which names the row).
    const full = await this.policy(head.id);
    return full ? { id: full.id, kind: full.kind, policySetHash: full.policySetHash } : null;
  }

  async policy(id: string): Promise<PolicySetEvent | null> {
    const { rows } = await this.sql.query<IdRecordRow>('SELECT id, record FROM policy_events WHERE id = $1', [id]);
    return rows[0] ? this.rows.record('policy_events', rows[0], policyEventSchema) : null;
  }

  async policyEvents(lane: PolicyLane, limit: number): Promise<PolicySetEvent[]> {
    const { rows } = await this.sql.query<IdRecordRow>('SELECT id, record FROM policy_events WHERE lane = $1 ORDER BY n DESC LIMIT $2', [lane, limit]);
    return rows.map((r) => this.rows.record('policy_events', r, policyEventSchema));
  }
}
