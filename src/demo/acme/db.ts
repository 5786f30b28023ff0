// The Acme demo enterprise's ground-truth database: open, schema, seed, reset, snapshot, id counters.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AirlockError } from '../../errors.js';
import { ACME_SEED } from './seed.js';

/** An open Acme database handle (better-sqlite3). */
export type AcmeDb = Database.Database;

/** Bumped whenever the schema below changes; an older file must be reset, not migrated. */
export const ACME_SCHEMA_VERSION = 1;

/** Every ground-truth table, in the order a snapshot lists them (children after parents). */
export const ACME_TABLES = [
  'customers',
  'orders',
  'order_items',
  'refunds',
  'drafts',
  'sent_mail',
  'tickets',
  'ticket_comments',
  'documents',
  'idempotency',
  'counters',
] as const;

/** The name of one ground-truth table. */
export type AcmeTable = (typeof ACME_TABLES)[number];

/** All ground-truth rows as plain JSON, each table ordered by its primary key. */
export type AcmeSnapshot = { readonly [T in AcmeTable]: readonly Record<string, unknown>[] };

/** The id counters: each hands out `<prefix>-<n>` ids that never repeat, even after a delete. */
export const ID_PREFIXES = { refund: 'RF', draft: 'DR', message: 'MSG', comment: 'CM' } as const;

/** The name of one id counter. */
export type AcmeCounter = keyof typeof ID_PREFIXES;

const ORDER_BY: Record<AcmeTable, string> = {
  customers: 'id',
  orders: 'id',
  order_items: 'order_id, line',
  refunds: 'id',
  drafts: 'id',
  sent_mail: 'id',
  tickets: 'id',
  ticket_comments: 'id',
  documents: 'id',
  idempotency: 'tool, key',
  counters: 'name',
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS customers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT NOT NULL,
  address TEXT NOT NULL,
  tier TEXT NOT NULL CHECK (tier IN ('standard', 'silver', 'gold'))
) STRICT;
CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
  currency TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('paid', 'shipped', 'delivered', 'cancelled')),
  created_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS order_items (
  order_id TEXT NOT NULL REFERENCES orders(id),
  line INTEGER NOT NULL,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, line)
) STRICT;
CREATE TABLE IF NOT EXISTS refunds (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
  currency TEXT NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('completed', 'reversed')),
  created_at TEXT NOT NULL,
  reversed_at TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS drafts (
  id TEXT PRIMARY KEY,
  to_address TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('draft', 'discarded')),
  created_at TEXT NOT NULL,
  discarded_at TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS sent_mail (
  id TEXT PRIMARY KEY,
  to_address TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  sent_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS tickets (
  id TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL REFERENCES customers(id),
  order_id TEXT REFERENCES orders(id),
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'pending', 'resolved')),
  created_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS ticket_comments (
  id TEXT PRIMARY KEY,
  ticket_id TEXT NOT NULL REFERENCES tickets(id),
  body TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS documents (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  body TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS idempotency (
  tool TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  result TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (tool, key)
) STRICT;
CREATE TABLE IF NOT EXISTS counters (
  name TEXT PRIMARY KEY,
  next INTEGER NOT NULL
) STRICT;
`;

/**
 * Opens (creating if needed) the Acme database at `path`: WAL, synchronous=FULL, a busy timeout
 * so several system servers can share the file, and the seed when the file is new.
 */
export function openAcmeDb(path: string, opts: { seedIfEmpty?: boolean } = {}): AcmeDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: AcmeDb;
  try {
    db = new Database(path);
  } catch (cause) {
    throw new AirlockError('store', `cannot open the acme database \`${path}\``, { cause });
  }
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // INVARIANT: schema creation and the first seed happen in one write transaction, so two
    // servers starting at once on a new file never both seed it.
    db.transaction(() => {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version !== 0 && version !== ACME_SCHEMA_VERSION) {
        throw new AirlockError('store-corrupt', `the acme database \`${path}\` has schema version ${version}`, {
          hint: `expected version ${ACME_SCHEMA_VERSION}; delete the file or run the demo with \`--reset\``,
        });
      }
      db.exec(SCHEMA);
      db.pragma(`user_version = ${ACME_SCHEMA_VERSION}`);
      const seeded = db.prepare('SELECT count(*) AS n FROM customers').get() as { n: number };
      if ((opts.seedIfEmpty ?? true) && seeded.n === 0) seedAcme(db);
    }).immediate();
  } catch (e) {
    db.close();
    if (e instanceof AirlockError) throw e;
    throw new AirlockError('store', `cannot prepare the acme database \`${path}\``, { cause: e, retryable: true });
  }
  return db;
}

/** Inserts the seed rows into empty tables (the caller owns the transaction). */
export function seedAcme(db: AcmeDb): void {
  const s = ACME_SEED;
  const customer = db.prepare(
    'INSERT INTO customers (id, name, email, phone, address, tier) VALUES (@id, @name, @email, @phone, @address, @tier)',
  );
  for (const c of s.customers) customer.run(c);
  const order = db.prepare(
    'INSERT INTO orders (id, customer_id, total_cents, currency, status, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const item = db.prepare(
    'INSERT INTO order_items (order_id, line, sku, name, quantity, unit_price_cents) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const o of s.orders) {
    order.run(o.id, o.customer_id, o.total_cents, o.currency, o.status, o.created_at);
    o.items.forEach((it, i) => item.run(o.id, i + 1, it.sku, it.name, it.quantity, it.unit_price_cents));
  }
  const refund = db.prepare(
    'INSERT INTO refunds (id, order_id, amount_cents, currency, reason, status, created_at) ' +
      'VALUES (@id, @order_id, @amount_cents, @currency, @reason, @status, @created_at)',
  );
  for (const r of s.refunds) refund.run(r);
  const ticket = db.prepare(
    'INSERT INTO tickets (id, customer_id, order_id, subject, body, status, created_at) ' +
      'VALUES (@id, @customer_id, @order_id, @subject, @body, @status, @created_at)',
  );
  for (const t of s.tickets) ticket.run(t);
  const comment = db.prepare(
    'INSERT INTO ticket_comments (id, ticket_id, body, created_at) VALUES (@id, @ticket_id, @body, @created_at)',
  );
  for (const c of s.comments) comment.run(c);
  const doc = db.prepare('INSERT INTO documents (id, title, body) VALUES (@id, @title, @body)');
  for (const d of s.documents) doc.run(d);
  const counter = db.prepare('INSERT INTO counters (name, next) VALUES (?, ?)');
  for (const [name, next] of Object.entries(s.counters)) counter.run(name, next);
}

/** Restores the seed state exactly on an open handle, in one transaction (all or nothing). */
export function resetAcmeDb(db: AcmeDb): void {
  db.transaction(() => {
    // Children before parents, so foreign keys hold at every step.
    for (const table of [...ACME_TABLES].reverse()) db.prepare(`DELETE FROM ${table}`).run();
    seedAcme(db);
  }).immediate();
}

/** Restores the seed state of the database file at `path` (creating it if needed), atomically. */
export function resetAcme(path: string): void {
  const db = openAcmeDb(path, { seedIfEmpty: false });
  try {
    resetAcmeDb(db);
  } finally {
    db.close();
  }
}

/** Every ground-truth table as plain JSON rows, read in one consistent transaction. */
export function snapshotAcme(db: AcmeDb): AcmeSnapshot {
  return db.transaction(() => {
    const out = {} as Record<AcmeTable, Record<string, unknown>[]>;
    for (const table of ACME_TABLES) {
      out[table] = db.prepare(`SELECT * FROM ${table} ORDER BY ${ORDER_BY[table]}`).all() as Record<string, unknown>[];
    }
    return out;
  })();
}

/** Hands out the next id of a counter (`RF-1001`, ...); call inside the write transaction that uses it. */
export function nextId(db: AcmeDb, counter: AcmeCounter): string {
  const row = db
    .prepare('UPDATE counters SET next = next + 1 WHERE name = ? RETURNING next - 1 AS n')
    .get(counter) as { n: number } | undefined;
  if (!row) throw new AirlockError('store-corrupt', `the acme id counter \`${counter}\` is missing`);
  return `${ID_PREFIXES[counter]}-${String(row.n).padStart(4, '0')}`;
}
