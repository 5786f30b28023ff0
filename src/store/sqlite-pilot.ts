// Pilot events in the SQLite store (migration 16): appended in the writer's transaction with the audit
// records that say so, read back newest first per workflow and kind through one index.
import { z } from 'zod';
import type Database from 'better-sqlite3';
import { AirlockError } from '../errors.js';
import { PILOT_EVENT_KINDS, type PilotEvent, type PilotEventKind } from './pilot-records.js';
import { isConstraint } from './sqlite-file.js';
import { RowReader, type IdRecordRow } from './sqlite-rows.js';

/** A stored pilot event (stored JSON is a trust boundary). */
export const pilotEventSchema = z.object({
  id: z.string().min(1),
  workflow: z.string().min(1),
  kind: z.enum(PILOT_EVENT_KINDS),
  at: z.string(),
  by: z.string().nullable(),
  body: z.record(z.string(), z.unknown()),
});

/**
 * Appends one event, unless `after` is given and the newest event of its kind for the workflow is not
 * that one (null: none): then nothing is written and false comes back (a compare-and-set, across
 * processes). An existing id is a `conflict` error.
 */
export function addPilotEvent(db: Database.Database, e: PilotEvent, after?: string | null): boolean {
  if (after !== undefined) {
    const newest = db.prepare('SELECT id FROM pilot_events WHERE workflow = ? AND kind = ? ORDER BY rowid DESC LIMIT 1').get(e.workflow, e.kind) as { id: string } | undefined;
    if ((newest?.id ?? null) !== after) return false;
  }
  try {
    db.prepare('INSERT INTO pilot_events (id, workflow, kind, at, record) VALUES (?, ?, ?, ?, ?)').run(e.id, e.workflow, e.kind, e.at, JSON.stringify(e));
  } catch (err) {
    if (isConstraint(err)) throw new AirlockError('conflict', `pilot event \`${e.id}\` already exists`, { hint: 'pilot event ids are unique' });
    throw err;
  }
  return true;
}

/** The reads of pilot events, on the reading connection. */
export class PilotReads {
  private readonly rows: RowReader;

  constructor(
    private readonly db: Database.Database,
    file: string,
  ) {
    this.rows = new RowReader(file);
  }

  /** The newest `limit` events of `workflow` of these kinds (every kind when empty), newest first (in the order they were written). */
  list(workflow: string, kinds: readonly PilotEventKind[], limit: number): PilotEvent[] {
    const rows = this.db
      .prepare(
        `SELECT id, record FROM pilot_events WHERE workflow = @workflow ${kinds.length > 0 ? 'AND kind IN (SELECT value FROM json_each(@kinds))' : ''} ORDER BY rowid DESC LIMIT @limit`,
      )
      .all({ workflow, limit, ...(kinds.length > 0 ? { kinds: JSON.stringify(kinds) } : {}) }) as IdRecordRow[];
    return rows.map((r) => this.rows.record('pilot_events', r, pilotEventSchema) as PilotEvent);
  }
}
