// Halts, the kill switch, in the SQLite store (migration 15): starting and lifting one inside the writer's
// transaction (a compare-and-set, across processes), and the read every governed call makes: the active
// halts on its scopes, one lookup through the partial index of active halts, never cached.
import { z } from 'zod';
import type Database from 'better-sqlite3';
import { AirlockError } from '../errors.js';
import { HALT_STATUSES, type HaltRecord } from './store.js';
import { isConstraint } from './sqlite-file.js';
import { RowReader, type IdRecordRow } from './sqlite-rows.js';

/** A stored halt (stored JSON is a trust boundary). */
export const haltSchema = z.object({
  id: z.string().min(1),
  scope: z.string().min(1),
  reason: z.string(),
  stoppedBy: z.string(),
  stoppedAt: z.string(),
  status: z.enum(HALT_STATUSES),
  liftedBy: z.string().nullable(),
  liftedAt: z.string().nullable(),
  liftReason: z.string().nullable(),
});

/** A halt to start, as it crosses to the writer: its columns, the record serialised already. */
export interface HaltColumns {
  readonly id: string;
  readonly scope: string;
  readonly stoppedAt: string;
  readonly record: string;
}

/**
 * Inserts an active halt unless one is active on its scope: then nothing is written and that one
 * comes back. INVARIANT: the partial unique index keeps one active halt per scope, across processes.
 */
export function startHalt(db: Database.Database, rows: RowReader, h: HaltColumns): HaltRecord | null {
  const active = db.prepare("SELECT id, record FROM halts WHERE scope = ? AND status = 'active'").get(h.scope) as IdRecordRow | undefined;
  if (active) return rows.record('halts', active, haltSchema);
  try {
    db.prepare("INSERT INTO halts (id, scope, status, stopped_at, record) VALUES (?, ?, 'active', ?, ?)").run(h.id, h.scope, h.stoppedAt, h.record);
  } catch (e) {
    if (isConstraint(e)) throw new AirlockError('conflict', `halt \`${h.id}\` already exists`, { hint: 'halt ids are unique' });
    throw e;
  }
  return null;
}

/** Lifts an active halt (compare-and-set on `active`): the lifted halt, or null when it was not active. */
export function liftHalt(db: Database.Database, rows: RowReader, id: string, liftText: string): HaltRecord | null {
  const row = db.prepare('SELECT id, record FROM halts WHERE id = ?').get(id) as IdRecordRow | undefined;
  if (!row) throw new AirlockError('not-found', `halt \`${id}\` does not exist`, { hint: 'list active halts with `airlock halts`' });
  const current = rows.record('halts', row, haltSchema);
  if (current.status !== 'active') return null;
  const next: HaltRecord = { ...current, ...(JSON.parse(liftText) as Partial<HaltRecord>), status: 'lifted' };
  const changed = db.prepare("UPDATE halts SET status = 'lifted', record = ? WHERE id = ? AND status = 'active'").run(JSON.stringify(next), id).changes;
  return changed === 1 ? next : null;
}

/** The reads of the halts table, on the reading connection. */
export class HaltReads {
  private readonly rows: RowReader;
  /** The lookup by scopes, prepared once per number of scopes asked about (a call asks about five at most). */
  private readonly byScopes = new Map<number, Database.Statement<string[], IdRecordRow>>();

  constructor(
    private readonly db: Database.Database,
    file: string,
  ) {
    this.rows = new RowReader(file);
  }

  /** The oldest active halt on any of `scopes`, or null: one lookup through the partial index `halts_active`. */
  active(scopes: readonly string[]): HaltRecord | null {
    if (scopes.length === 0) return null;
    let stmt = this.byScopes.get(scopes.length);
    if (!stmt) {
      const marks = scopes.map(() => '?').join(', ');
      stmt = this.db.prepare<string[], IdRecordRow>(`SELECT id, record FROM halts WHERE status = 'active' AND scope IN (${marks}) ORDER BY stopped_at, id LIMIT 1`);
      this.byScopes.set(scopes.length, stmt);
    }
    const row = stmt.get(...scopes);
    return row ? this.rows.record('halts', row, haltSchema) : null;
  }

  get(id: string): HaltRecord | null {
    const row = this.db.prepare('SELECT id, record FROM halts WHERE id = ?').get(id) as IdRecordRow | undefined;
    return row ? this.rows.record('halts', row, haltSchema) : null;
  }

  list(status: HaltRecord['status'] | undefined, limit: number): HaltRecord[] {
    const rows = (
      status === undefined
        ? this.db.prepare('SELECT id, record FROM halts ORDER BY stopped_at DESC, id DESC LIMIT ?').all(limit)
        : this.db.prepare('SELECT id, record FROM halts WHERE status = ? ORDER BY stopped_at DESC, id DESC LIMIT ?').all(status, limit)
    ) as IdRecordRow[];
    return rows.map((r) => this.rows.record('halts', r, haltSchema));
  }
}
