// Policy events in the SQLite store (migration 17): deployments and the shadow set, appended in the
// writer's transaction with the audit records that say so, compare-and-set on their lane's head; the
// head of a lane is one read of a covering index (the gateway reads the shadow's on every call).
import { z } from 'zod';
import type Database from 'better-sqlite3';
import { AirlockError } from '../errors.js';
import { laneOf, POLICY_EVENT_KINDS, type PolicyEventHead, type PolicyLane, type PolicySetEvent } from './policy-records.js';
import { isConstraint } from './sqlite-file.js';
import { RowReader, type IdRecordRow } from './sqlite-rows.js';

/** A stored policy event (stored JSON is a trust boundary). */
export const policyEventSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(POLICY_EVENT_KINDS),
  policySetHash: z.string(),
  files: z.array(z.object({ file: z.string(), text: z.string() })),
  policies: z.number().int().min(0),
  by: z.string().min(1),
  message: z.string(),
  at: z.string(),
});

const headSchema = z.object({ id: z.string().min(1), kind: z.enum(POLICY_EVENT_KINDS), set_hash: z.string() });

/** A policy event as it crosses to the writer: its columns, the record serialised already. */
export interface PolicyEventColumns {
  readonly id: string;
  readonly lane: PolicyLane;
  readonly kind: string;
  readonly setHash: string;
  readonly at: string;
  readonly record: string;
}

/** The columns of event `e`. */
export function policyEventColumns(e: PolicySetEvent): PolicyEventColumns {
  return { id: e.id, lane: laneOf(e.kind), kind: e.kind, setHash: e.policySetHash, at: e.at, record: JSON.stringify(e) };
}

/**
 * Appends `e` when its lane's newest event is `expected` (its id; null: the lane is empty). Otherwise
 * nothing is written and that newest event comes back. An existing id is a `conflict` error.
 */
export function addPolicyEvent(db: Database.Database, rows: RowReader, e: PolicyEventColumns, expected: string | null): PolicySetEvent | null {
  const head = db.prepare('SELECT id, record FROM policy_events WHERE lane = ? ORDER BY n DESC LIMIT 1').get(e.lane) as IdRecordRow | undefined;
  if ((head?.id ?? null) !== expected) return head ? rows.record('policy_events', head, policyEventSchema) : null;
  try {
    db.prepare('INSERT INTO policy_events (id, lane, kind, set_hash, at, record) VALUES (?, ?, ?, ?, ?, ?)').run(e.id, e.lane, e.kind, e.setHash, e.at, e.record);
  } catch (err) {
    if (isConstraint(err)) throw new AirlockError('conflict', `policy event \`${e.id}\` already exists`, { hint: 'policy event ids are unique' });
    throw err;
  }
  return null;
}

/** The reads of policy events, on the reading connection. */
export class PolicyReads {
  private readonly rows: RowReader;
  private readonly head: Database.Statement<[string], unknown>;

  constructor(
    private readonly db: Database.Database,
    file: string,
  ) {
    this.rows = new RowReader(file);
    // Answered from the covering index `policy_events_head`: the texts are never read.
    this.head = db.prepare<[string], unknown>('SELECT id, kind, set_hash FROM policy_events WHERE lane = ? ORDER BY n DESC LIMIT 1');
  }

  /** The newest event of `lane`, without its texts, or null. */
  latest(lane: PolicyLane): PolicyEventHead | null {
    const row = this.head.get(lane);
    if (row === undefined) return null;
    const parsed = headSchema.safeParse(row);
    if (parsed.success) return { id: parsed.data.id, kind: parsed.data.kind, policySetHash: parsed.data.set_hash };
    // Columns edited outside Airlock: the whole record is read through its schema (which names the row).
    const full = this.get(String((row as { id?: unknown }).id));
    if (!full) return null;
    return { id: full.id, kind: full.kind, policySetHash: full.policySetHash };
  }

  get(id: string): PolicySetEvent | null {
    const row = this.db.prepare('SELECT id, record FROM policy_events WHERE id = ?').get(id) as IdRecordRow | undefined;
    return row ? this.rows.record('policy_events', row, policyEventSchema) : null;
  }

  /** The newest `limit` events of `lane`, newest first. */
  list(lane: PolicyLane, limit: number): PolicySetEvent[] {
    const rows = this.db.prepare('SELECT id, record FROM policy_events WHERE lane = ? ORDER BY n DESC LIMIT ?').all(lane, limit) as IdRecordRow[];
    return rows.map((r) => this.rows.record('policy_events', r, policyEventSchema));
  }
}
