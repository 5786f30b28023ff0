// How the SQLite store hands its writes to the writer: group-committed, on this thread (inline) or in the process's writer thread, which owns the write connections.
import { writerThread, type Waiting, type WriterInit, type WriterThread } from './sqlite-thread.js';
import type { SqliteWriter } from './sqlite-writer.js';
import type { WriteOp, WriteResult } from './sqlite-write-ops.js';

/** Where writes go. Writes submitted together commit in one transaction (one fsync), each under its own savepoint. */
export interface WriteChannel {
  /** Queues `op` for the next group commit; settles once it has committed (or failed, alone). */
  submit<K extends WriteOp['op']>(op: Extract<WriteOp, { op: K }>): Promise<WriteResult[K]>;
  /** Commits what was submitted before, then stops taking writes. */
  close(): Promise<void>;
}

/** Collects the writes submitted until `schedule` runs its callback, and sends them on together. */
abstract class Batches implements WriteChannel {
  private queue: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly schedule: (send: () => void) => void,
    private readonly onBatch?: (writes: number) => void,
  ) {}

  submit<K extends WriteOp['op']>(op: Extract<WriteOp, { op: K }>): Promise<WriteResult[K]> {
    return new Promise<WriteResult[K]>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      // INVARIANT: every write queued before the batch is sent shares its transaction and its fsync.
      if (!this.scheduled) {
        this.scheduled = true;
        this.schedule(() => this.sendWaiting());
      }
    });
  }

  /** Sends what is queued now (close() calls it so that nothing accepted is left behind). */
  protected sendWaiting(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    this.onBatch?.(batch.length);
    this.send(batch);
  }

  protected abstract send(batch: readonly Waiting[]): void;
  abstract close(): Promise<void>;
}

/**
 * Writes committed on the calling thread, one group commit per macrotask (everything queued before
 * the next `setImmediate`); each commit blocks the event loop for its fsync.
 */
export class InlineWrites extends Batches {
  constructor(
    private readonly writer: SqliteWriter,
    onBatch?: (writes: number) => void,
  ) {
    super((send) => setImmediate(send), onBatch);
  }

  protected send(batch: readonly Waiting[]): void {
    const out = this.writer.commit(batch.map((q) => q.op));
    batch.forEach((q, i) => {
      const r = out[i];
      if (r?.ok) q.resolve(r.value);
      else q.reject(r?.error);
    });
  }

  close(): Promise<void> {
    this.sendWaiting();
    return Promise.resolve();
  }
}

/**
 * Writes committed by the process's writer thread (sqlite-thread.ts), which holds this store's
 * write connection, so fsync waits never block this thread. Writes are sent once the current job's
 * microtasks have run (callers woken by one commit's answers send their next writes together); the
 * thread commits everything of this store that reached it while its last commit ran in one transaction.
 */
export class ThreadWrites extends Batches {
  private static stores = 0;
  private readonly store = ++ThreadWrites.stores;
  private thread: WriterThread | null = null;

  private constructor(
    private readonly module: string,
    private readonly init: WriterInit,
    onBatch?: (writes: number) => void,
  ) {
    super(queueMicrotask, onBatch);
  }

  /** Opens the store's write connection in the writer thread (starting it if none runs); rejects with the store's error if it cannot. */
  static async start(module: string, init: WriterInit, onBatch?: (writes: number) => void): Promise<ThreadWrites> {
    const writes = new ThreadWrites(module, init, onBatch);
    await writes.attach().opened;
    return writes;
  }

  protected send(batch: readonly Waiting[]): void {
    const thread = this.thread && !this.thread.gone ? this.thread : this.attach().thread;
    thread.post(this.store, batch, this.init.file);
  }

  close(): Promise<void> {
    this.sendWaiting();
    return this.thread && !this.thread.gone ? this.thread.close(this.store) : Promise.resolve();
  }

  /** Opens this store's connection in the current writer thread (again, after a thread failed or an open was refused). */
  private attach(): { thread: WriterThread; opened: Promise<void> } {
    const thread = writerThread(this.module);
    this.thread = thread;
    const opened = thread.open(this.store, this.init);
    // A refused open is tried again at the next write; the writes sent meanwhile fail with its error.
    opened.catch(() => {
      if (this.thread === thread) this.thread = null;
    });
    return { thread, opened };
  }
}
