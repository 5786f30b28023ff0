// The PostgreSQL store's schema: versioned migrations (`schema_migrations`, one row per version applied), applied
// by `airlock migrate` and at start-up under an advisory lock, so two instances never migrate at once; a database
// whose schema is newer than this Airlock knows is refused.
import pg from 'pg';
import { AirlockError } from '../errors.js';
import { PG_CLAIMS_SQL } from './postgres-claims.js';
import { PG_CONTEXT_SQL } from './postgres-context.js';
import { pgError } from './postgres-connection.js';

// Text that is ordered or compared by range is COLLATE "C" (byte order), as SQLite compares: the order of ids
// and ISO times never depends on the server's locale.
const CORE = `
CREATE TABLE audit (
  seq bigint PRIMARY KEY,
  run_id text,
  leaf text NOT NULL,
  prev_hash bytea NOT NULL,
  leaf_hash bytea NOT NULL,
  chain_hash bytea NOT NULL
);
CREATE INDEX audit_by_run ON audit (run_id, seq) WHERE run_id IS NOT NULL;
CREATE FUNCTION airlock_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit records are append-only: % is refused', TG_OP; END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION airlock_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION airlock_audit_append_only();
-- The head of the chain, one row: every append locks it (SELECT ... FOR UPDATE), so appends from every
-- instance on the database are serialised into one order.
CREATE TABLE audit_head (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, chain_hash bytea NOT NULL);
INSERT INTO audit_head (id, seq, chain_hash) VALUES (1, 0, decode(repeat('0', 64), 'hex'));
CREATE TABLE audit_payloads (hash text PRIMARY KEY, data bytea NOT NULL, seq bigint NOT NULL);
CREATE TABLE runs (
  id text COLLATE "C" PRIMARY KEY,
  workflow text NOT NULL,
  status text NOT NULL,
  version integer NOT NULL,
  created_at text COLLATE "C" NOT NULL,
  updated_at text NOT NULL,
  state text NOT NULL,
  agent text,
  on_behalf_of text,
  cost_micros double precision,
  currency text
);
CREATE INDEX runs_by_created ON runs (created_at, id);
CREATE INDEX runs_by_status ON runs (status, created_at);
CREATE INDEX runs_by_workflow ON runs (workflow, created_at);
CREATE INDEX runs_by_agent ON runs (agent, created_at);
CREATE INDEX runs_by_on_behalf_of ON runs (on_behalf_of, created_at);
CREATE TABLE run_steps (run_id text NOT NULL, n integer NOT NULL, item text NOT NULL, PRIMARY KEY (run_id, n));
CREATE TABLE approvals (id text COLLATE "C" PRIMARY KEY, run_id text NOT NULL, status text NOT NULL, created_at text COLLATE "C" NOT NULL, record text NOT NULL);
CREATE INDEX approvals_by_status ON approvals (status, created_at, id);
CREATE INDEX approvals_by_run ON approvals (run_id, created_at, id);
CREATE TABLE grants (id text COLLATE "C" PRIMARY KEY, workflow text NOT NULL, tool text NOT NULL, status text NOT NULL, uses integer NOT NULL, created_at text COLLATE "C" NOT NULL, record text NOT NULL);
CREATE INDEX grants_by_tool ON grants (workflow, tool, status);
CREATE TABLE notifications (id text COLLATE "C" PRIMARY KEY, status text NOT NULL, attempts integer NOT NULL, next_attempt_at text COLLATE "C" NOT NULL, created_at text COLLATE "C" NOT NULL, record text NOT NULL);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
CREATE INDEX notifications_by_created ON notifications (created_at, id);
CREATE TABLE deliveries (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, notification_id text NOT NULL, record text NOT NULL);
CREATE INDEX deliveries_by_notification ON deliveries (notification_id, id);
-- At most one open incident per (run, kind, key), so a re-run never opens a duplicate.
CREATE TABLE incidents (id text COLLATE "C" PRIMARY KEY, run_id text NOT NULL, kind text NOT NULL, dedupe_key text NOT NULL, status text NOT NULL, created_at text COLLATE "C" NOT NULL, record text NOT NULL);
CREATE INDEX incidents_by_status ON incidents (status, created_at, id);
CREATE INDEX incidents_by_run ON incidents (run_id, created_at, id);
CREATE UNIQUE INDEX incidents_open_once ON incidents (run_id, kind, dedupe_key) WHERE status = 'open';
CREATE TABLE leases (id text COLLATE "C" PRIMARY KEY, started_at text COLLATE "C" NOT NULL, expires_at text COLLATE "C" NOT NULL, record text NOT NULL);
CREATE TABLE value_ledger (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, budget text NOT NULL, bucket text NOT NULL, amount bigint NOT NULL, at text COLLATE "C" NOT NULL, run_id text NOT NULL, action_hash text NOT NULL, count_id text NOT NULL);
CREATE INDEX value_ledger_window ON value_ledger (budget, bucket, at);
CREATE INDEX value_ledger_count ON value_ledger (count_id);
CREATE TABLE usage_daily (scope text COLLATE "C" NOT NULL, day text COLLATE "C" NOT NULL, currency text COLLATE "C" NOT NULL, model_calls bigint NOT NULL, input_tokens bigint NOT NULL, output_tokens bigint NOT NULL, cost_micros bigint NOT NULL, tool_calls bigint NOT NULL, PRIMARY KEY (scope, day, currency));
CREATE INDEX usage_daily_by_day ON usage_daily (day);
CREATE TABLE spans (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, trace_id text NOT NULL, span_id text NOT NULL, run_id text, record text NOT NULL);
CREATE INDEX spans_by_trace ON spans (trace_id, id);
CREATE INDEX spans_by_run ON spans (run_id) WHERE run_id IS NOT NULL;
CREATE TABLE used_links (jti text PRIMARY KEY, used_at text NOT NULL, expires_at text COLLATE "C" NOT NULL);
CREATE INDEX used_links_by_expiry ON used_links (expires_at);
-- The kill switch: at most one active halt per scope.
CREATE TABLE halts (id text COLLATE "C" PRIMARY KEY, scope text NOT NULL, status text NOT NULL, stopped_at text COLLATE "C" NOT NULL, record text NOT NULL);
CREATE UNIQUE INDEX halts_active ON halts (scope) WHERE status = 'active';
CREATE INDEX halts_by_start ON halts (stopped_at, id);
-- Pilot and policy events are ordered by insertion (n), written under the audit lock, so n is the commit order.
CREATE TABLE pilot_events (n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id text NOT NULL UNIQUE, workflow text NOT NULL, kind text NOT NULL, at text NOT NULL, record text NOT NULL);
CREATE INDEX pilot_events_by_workflow ON pilot_events (workflow, kind, n);
CREATE TABLE policy_events (n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id text NOT NULL UNIQUE, lane text NOT NULL, kind text NOT NULL, set_hash text NOT NULL, at text NOT NULL, record text NOT NULL);
CREATE INDEX policy_events_head ON policy_events (lane, n) INCLUDE (id, kind, set_hash);
`;

// Signed checkpoints of the audit trail (postgres-checkpoints.ts), one per tree size.
const CHECKPOINTS = `
CREATE TABLE audit_checkpoints (size bigint PRIMARY KEY, record text NOT NULL);
`;

// The fingerprints of the workspace keys every instance must share (store/key-fingerprints.ts).
const KEY_FINGERPRINTS = `
CREATE TABLE key_fingerprints (name text PRIMARY KEY, fingerprint text NOT NULL);
`;

// Standing grants read by what they cover and when they expire (the gateway reads only the live ones of a
// tool, never every grant made), and listed newest first a page at a time.
const GRANT_EXPIRY = `
-- Nullable: an instance from before this column (a rolling upgrade) still creates grants; liveGrants reads those too.
ALTER TABLE grants ADD COLUMN expires_at text COLLATE "C";
UPDATE grants SET expires_at = (record::jsonb)->>'expiresAt';
DROP INDEX grants_by_tool;
CREATE INDEX grants_live ON grants (workflow, tool, status, expires_at);
CREATE INDEX grants_by_created ON grants (created_at, id);
`;

/** Migrations by version: MIGRATIONS[n] takes the database from version n to n + 1, in one transaction. */
const MIGRATIONS: readonly { readonly name: string; readonly sql: string }[] = [
  { name: 'core', sql: CORE },
  { name: 'context', sql: PG_CONTEXT_SQL },
  { name: 'checkpoints', sql: CHECKPOINTS },
  { name: 'claims', sql: PG_CLAIMS_SQL },
  { name: 'key fingerprints', sql: KEY_FINGERPRINTS },
  { name: 'grant expiry', sql: GRANT_EXPIRY },
];

/** The schema version this code writes: the highest version in `schema_migrations`. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** The advisory lock key migrations run under (any 64-bit number no other Airlock lock uses). */
const MIGRATION_LOCK = 0x6169726c6f636bn; // "airlock"

/** What a migration did: the version found and the one left, and the names of the migrations applied. */
export interface MigrationReport {
  readonly from: number;
  readonly to: number;
  readonly applied: readonly string[];
}

/** The schema version of the database (0: no Airlock schema yet). */
export async function schemaVersion(c: Pick<pg.ClientBase, 'query'>): Promise<number> {
  const exists = await c.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (exists.rows[0]?.t == null) return 0;
  const { rows } = await c.query<{ v: number | null }>('SELECT max(version)::int AS v FROM schema_migrations');
  return rows[0]?.v ?? 0;
}

function newerError(shown: string, found: number): AirlockError {
  return new AirlockError('store', `database \`${shown}\` has schema version ${found}; this Airlock knows up to ${POSTGRES_SCHEMA_VERSION}`, {
    hint: 'a newer Airlock migrated it: upgrade this instance to that version (never downgrade a migrated database)',
    location: { file: shown },
  });
}

/**
 * Brings the database at `url` to `POSTGRES_SCHEMA_VERSION`, each migration in a transaction of its own, under
 * a session advisory lock: an instance starting while another migrates waits for it, then finds nothing to do.
 * `apply: false` only checks, and refuses a database that is behind (run `airlock migrate`). A database whose
 * schema is newer than this code is refused either way. `shown` names the database in errors (no password).
 */
export async function migratePostgres(url: string, shown: string, opts: { readonly apply?: boolean } = {}): Promise<MigrationReport> {
  // A connection of its own, without the pool's statement timeout: a migration may take long on a large database.
  const client = new pg.Client({ connectionString: url, application_name: 'airlock-migrate' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    // Read first, without the lock: an up-to-date database costs one query at start-up.
    const found = await schemaVersion(client);
    if (found > POSTGRES_SCHEMA_VERSION) throw newerError(shown, found);
    if (found === POSTGRES_SCHEMA_VERSION) return { from: found, to: found, applied: [] };
    if (opts.apply === false) {
      throw new AirlockError('store', `database \`${shown}\` has schema version ${found}; this Airlock needs ${POSTGRES_SCHEMA_VERSION}`, {
        hint: 'run `airlock migrate` to bring it up to date',
        location: { file: shown },
      });
    }
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    try {
      return await applyPending(client, shown);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]);
    }
  } catch (e) {
    throw pgError(e, shown, 'migrate its schema');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Under the migration lock: reads the version again (another instance may have migrated meanwhile) and applies what is missing. */
async function applyPending(client: pg.Client, shown: string): Promise<MigrationReport> {
  await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
  const from = await schemaVersion(client);
  if (from > POSTGRES_SCHEMA_VERSION) throw newerError(shown, from);
  const applied: string[] = [];
  for (let v = from; v < POSTGRES_SCHEMA_VERSION; v++) {
    const m = MIGRATIONS[v] as (typeof MIGRATIONS)[number];
    await client.query('BEGIN');
    try {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [v + 1, m.name]);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new AirlockError('store', `database \`${shown}\`: migration ${v + 1} (\`${m.name}\`) failed: ${e instanceof Error ? e.message : String(e)}`, {
        hint: 'nothing of this migration was kept; fix the cause (permissions, disk) and run `airlock migrate` again',
        location: { file: shown },
        cause: e,
      });
    }
    applied.push(`${v + 1} ${m.name}`);
  }
  return { from, to: POSTGRES_SCHEMA_VERSION, applied };
}
