// The SQLite store's writer thread: owns the write connection and group-commits what the main thread sends (sqlite-writes.ts), so fsync waits block only this thread.
import { parentPort, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { AirlockError } from '../errors.js';
import { openConnection, storeError } from './sqlite-file.js';
import type { FromWriter, ToWriter, WireOutcome, WriterInit } from './sqlite-writes.js';
import { SqliteWriter, toWire, type WriteOp } from './sqlite-writer.js';

const port = parentPort;
if (!port) throw new AirlockError('internal', 'sqlite-worker.js runs only as a worker thread', { hint: 'open the store with openSqliteStore' });
const { file, busyTimeoutMs } = workerData as WriterInit;
const post = (m: FromWriter): void => port.postMessage(m);

let db: Database.Database | undefined;
let writer: SqliteWriter | undefined;
try {
  db = openConnection(file, busyTimeoutMs);
  writer = new SqliteWriter(db, file);
  post({ kind: 'ready' });
} catch (e) {
  db?.close();
  post({ kind: 'failed', error: toWire(storeError(e, file, 'open')) });
  port.close();
}

let queue: { readonly id: number; readonly op: WriteOp }[] = [];
let scheduled = false;

/** Commits every write received since the last commit: those that arrived while it ran join the next one. */
function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length === 0 || !writer) return;
  const out = writer.commit(batch.map((b) => b.op));
  const results = batch.map((b, i): WireOutcome => {
    const r = out[i];
    return r?.ok ? { id: b.id, ok: true, value: r.value } : { id: b.id, ok: false, error: toWire(r?.error ?? new AirlockError('internal', 'a write got no outcome')) };
  });
  post({ kind: 'done', results });
}

port.on('message', (m: ToWriter) => {
  if (m.kind === 'write') {
    for (const item of m.items) queue.push(item);
    // Messages that queued up while a commit ran are all delivered before this runs: one commit for all of them.
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    return;
  }
  // close: what was accepted commits first.
  flush();
  db?.close();
  writer = undefined;
  post({ kind: 'closed' });
  port.close();
});
