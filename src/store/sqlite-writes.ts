// How the SQLite store hands its writes to the writer: group-committed per macrotask, on the main thread (inline) or in a worker thread that owns the write connection.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AirlockError } from '../errors.js';
import { AIRLOCK_ROOT } from '../util/package-root.js';
import { DOING, fromWire, type SqliteWriter, type WireError, type WriteOp, type WriteResult } from './sqlite-writer.js';

/** Where writes go. Writes submitted together commit in one transaction (one fsync), each under its own savepoint. */
export interface WriteChannel {
  /** Queues `op` for the next group commit; settles once it has committed (or failed, alone). */
  submit<K extends WriteOp['op']>(op: Extract<WriteOp, { op: K }>): Promise<WriteResult[K]>;
  /** Commits what was submitted before, then stops taking writes. */
  close(): Promise<void>;
}

/** A message to the writer thread. */
export type ToWriter = { readonly kind: 'write'; readonly items: readonly { readonly id: number; readonly op: WriteOp }[] } | { readonly kind: 'close' };

/** One write's outcome as it crosses back from the writer thread. */
export type WireOutcome =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

/** A message from the writer thread. */
export type FromWriter =
  | { readonly kind: 'ready' }
  | { readonly kind: 'failed'; readonly error: WireError }
  | { readonly kind: 'done'; readonly results: readonly WireOutcome[] }
  | { readonly kind: 'closed' };

/** What the writer thread is started with. */
export interface WriterInit {
  readonly file: string;
  readonly busyTimeoutMs: number;
}

interface Queued {
  readonly op: WriteOp;
  readonly resolve: (value: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/** Collects the writes submitted until `schedule` runs its callback, and sends them on together. */
abstract class Batches implements WriteChannel {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(private readonly schedule: (send: () => void) => void) {}

  submit<K extends WriteOp['op']>(op: Extract<WriteOp, { op: K }>): Promise<WriteResult[K]> {
    return new Promise<WriteResult[K]>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      // INVARIANT: every write queued before the batch is sent shares its transaction and its fsync.
      if (!this.scheduled) {
        this.scheduled = true;
        this.schedule(() => this.sendQueued());
      }
    });
  }

  /** Sends what is queued now (close() calls it so that nothing accepted is left behind). */
  protected sendQueued(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length > 0) this.send(batch);
  }

  protected abstract send(batch: readonly Queued[]): void;
  abstract close(): Promise<void>;
}

/**
 * Writes committed on the calling thread, one group commit per macrotask (everything queued before
 * the next `setImmediate`); each commit blocks the event loop for its fsync.
 */
export class InlineWrites extends Batches {
  constructor(private readonly writer: SqliteWriter) {
    super((send) => setImmediate(send));
  }

  protected send(batch: readonly Queued[]): void {
    const out = this.writer.commit(batch.map((q) => q.op));
    batch.forEach((q, i) => {
      const r = out[i];
      if (r?.ok) q.resolve(r.value);
      else q.reject(r?.error);
    });
  }

  close(): Promise<void> {
    this.sendQueued();
    return Promise.resolve();
  }
}

/**
 * The writer thread's module: beside this one in dist/, or the built copy when this runs from source
 * (tests); a `store` error saying to build when it is missing.
 */
export function writerModule(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.js') ? path.join(path.dirname(here), 'sqlite-worker.js') : path.join(AIRLOCK_ROOT, 'dist', 'src', 'store', 'sqlite-worker.js');
  if (!existsSync(file)) {
    throw new AirlockError('store', `the store's writer thread \`${file}\` is missing`, {
      hint: "build Airlock first (`npm run build`), or open the store with `{ writer: 'inline' }`",
      location: { file },
    });
  }
  return file;
}

/**
 * Writes committed by a worker thread that owns the write connection, so fsync waits never block
 * this thread. Writes are sent once the current job's microtasks have run (callers woken by one
 * commit's answers send their next writes together); the thread commits everything that reached it
 * while its last commit ran in one transaction. A thread that failed is replaced at the next write.
 */
export class ThreadWrites extends Batches {
  private thread: WriterThread | null = null;

  private constructor(
    private readonly module: string,
    private readonly init: WriterInit,
  ) {
    super(queueMicrotask);
  }

  /** Starts the writer thread on `init.file` (already migrated); rejects with its error if it cannot open the file. */
  static async start(module: string, init: WriterInit): Promise<ThreadWrites> {
    const writes = new ThreadWrites(module, init);
    await writes.started().ready;
    return writes;
  }

  protected send(batch: readonly Queued[]): void {
    this.started().post(batch);
  }

  private started(): WriterThread {
    this.thread ??= new WriterThread(this.module, this.init, (gone) => {
      if (this.thread === gone) this.thread = null;
    });
    return this.thread;
  }

  close(): Promise<void> {
    this.sendQueued();
    return this.thread ? this.thread.close() : Promise.resolve();
  }
}

/** One writer thread and the writes it has not answered yet. It holds the process open only while writes are in flight. */
class WriterThread {
  /** Settles when the thread has opened the file (or failed to). */
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  private markReady: (error: AirlockError | null) => void = () => undefined;
  private readonly waiting = new Map<number, Queued>();
  private nextId = 0;
  /** Set once the thread is gone (closed, or failed): what it had not answered failed with it. */
  private gone = false;
  private closing: Promise<void> | null = null;
  private onClosed: () => void = () => undefined;

  constructor(
    module: string,
    private readonly init: WriterInit,
    private readonly onGone: (t: WriterThread) => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.markReady = (error) => (error ? reject(error) : resolve());
    });
    // Nobody may wait for a restarted thread: its failure reaches the writes it fails instead.
    this.ready.catch(() => undefined);
    this.worker = new Worker(pathToFileURL(module), { workerData: init satisfies WriterInit });
    this.worker.on('message', (m: FromWriter) => this.receive(m));
    this.worker.on('error', (e) => this.stop(this.failure(`failed: ${e.message}`, e)));
    this.worker.on('exit', (code) => this.stop(this.failure(`exited (code ${code})`)));
  }

  /** Sends a batch; messages wait in the thread's port until it has opened the file. */
  post(batch: readonly Queued[]): void {
    const items = batch.map((q) => {
      const id = ++this.nextId;
      this.waiting.set(id, q);
      return { id, op: q.op };
    });
    this.worker.ref();
    try {
      this.worker.postMessage({ kind: 'write', items } satisfies ToWriter);
    } catch {
      // Something in the batch cannot be cloned: post each write alone so that only that one fails.
      for (const item of items) {
        try {
          this.worker.postMessage({ kind: 'write', items: [item] } satisfies ToWriter);
        } catch (e) {
          this.settle(item.id, (q) =>
            q.reject(new AirlockError('input', `cannot ${DOING[item.op.op]}: ${(e as Error).message}`, { hint: 'store records hold JSON only', cause: e })),
          );
        }
      }
    }
  }

  /** Commits what was posted, closes the write connection and ends the thread. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.gone) {
        resolve();
        return;
      }
      this.onClosed = resolve;
      this.worker.ref();
      this.worker.postMessage({ kind: 'close' } satisfies ToWriter);
    });
    return this.closing;
  }

  private receive(m: FromWriter): void {
    switch (m.kind) {
      case 'ready':
        this.markReady(null);
        if (this.waiting.size === 0 && !this.closing) this.worker.unref();
        return;
      case 'failed':
        this.stop(fromWire(m.error));
        return;
      case 'done':
        for (const r of m.results) this.settle(r.id, (q) => (r.ok ? q.resolve(r.value) : q.reject(fromWire(r.error))));
        return;
      case 'closed':
        this.stop(null);
    }
  }

  /** Settles one waiting write; lets the process exit once none is left. */
  private settle(id: number, how: (q: Queued) => void): void {
    const q = this.waiting.get(id);
    if (!q) return;
    this.waiting.delete(id);
    how(q);
    if (this.waiting.size === 0 && !this.closing) this.worker.unref();
  }

  /** The thread is gone: the writes it had not answered fail with `error`, and the next write starts another thread. */
  private stop(error: AirlockError | null): void {
    if (this.gone) return;
    this.gone = true;
    this.markReady(error ?? this.failure('closed before it was ready'));
    for (const q of this.waiting.values()) q.reject(error ?? this.failure('closed before answering'));
    this.waiting.clear();
    this.onGone(this);
    this.onClosed();
    if (error) void this.worker.terminate();
  }

  private failure(why: string, cause?: unknown): AirlockError {
    return new AirlockError('store', `the writer thread of store \`${this.init.file}\` ${why}`, {
      hint: 'a write it had not confirmed may or may not be stored: read it back before retrying; if this repeats, report it as a bug',
      location: { file: this.init.file },
      ...(cause === undefined ? {} : { cause }),
    });
  }
}
