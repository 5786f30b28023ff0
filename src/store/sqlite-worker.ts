// The process's SQLite writer thread: holds a write connection per open store and group-commits what the main thread sends (sqlite-thread.ts), so fsync waits block only this thread.
import { parentPort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { AirlockError } from '../errors.js';
import { openConnection, storeError } from './sqlite-file.js';
import type { FromWriter, ToWriter, WireOutcome } from './sqlite-thread.js';
import { SqliteWriter } from './sqlite-writer.js';
import type { WriteOp } from './sqlite-write-ops.js';
import { toWire, type WireError } from './sqlite-wire-error.js';

const port = parentPort;
if (!port) throw new AirlockError('internal', 'sqlite-worker.js runs only as a worker thread', { hint: 'open the store with openSqliteStore' });
const post = (m: FromWriter): void => port.postMessage(m);

/** One open store: its connection, and the writes received since its last commit. */
interface Connection {
  readonly db: Database.Database;
  readonly writer: SqliteWriter;
  queue: { readonly id: number; readonly op: WriteOp }[];
}

const open = new Map<number, Connection>();
/** Why a store's open was refused: its writes fail with that, until it is opened again. */
const refused = new Map<number, WireError>();
let scheduled = false;

/** Commits each store's writes received since its last commit, one transaction per store. */
function flushAll(): void {
  scheduled = false;
  for (const c of open.values()) flush(c);
}

function flush(c: Connection): void {
  const batch = c.queue;
  c.queue = [];
  if (batch.length === 0) return;
  const out = c.writer.commit(batch.map((b) => b.op));
  const results = batch.map((b, i): WireOutcome => {
    const r = out[i];
    return r?.ok ? { id: b.id, ok: true, value: r.value } : { id: b.id, ok: false, error: toWire(r?.error ?? new AirlockError('internal', 'a write got no outcome')) };
  });
  post({ kind: 'done', results });
}

port.on('message', (m: ToWriter) => {
  switch (m.kind) {
    case 'open': {
      refused.delete(m.store);
      let db: Database.Database | undefined;
      try {
        db = openConnection(m.init.file, m.init.busyTimeoutMs);
        open.set(m.store, { db, writer: new SqliteWriter(db, m.init.file), queue: [] });
        post({ kind: 'opened', store: m.store });
      } catch (e) {
        db?.close();
        const error = toWire(storeError(e, m.init.file, 'open'));
        refused.set(m.store, error);
        post({ kind: 'opened', store: m.store, error });
      }
      return;
    }
    case 'write': {
      const c = open.get(m.store);
      if (!c) {
        const error = refused.get(m.store) ?? toWire(new AirlockError('internal', `store ${m.store} is not open in the writer thread`));
        post({ kind: 'done', results: m.items.map((item) => ({ id: item.id, ok: false, error })) });
        return;
      }
      for (const item of m.items) c.queue.push(item);
      // Messages that queued up while a commit ran are all delivered before this runs: one commit for all of them.
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushAll);
      }
      return;
    }
    case 'close': {
      // What was accepted commits first.
      const c = open.get(m.store);
      if (c) {
        flush(c);
        open.delete(m.store);
        c.db.close();
      }
      refused.delete(m.store);
      post({ kind: 'closed', store: m.store });
    }
  }
});
