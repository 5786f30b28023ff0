// The process's SQLite writer thread, seen from this side: one worker thread (sqlite-worker.ts) holding a write connection per open store, its messages, and where its module is.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AirlockError } from '../errors.js';
import { AIRLOCK_ROOT, builtModule } from '../util/package-root.js';
import { DOING, type WriteOp } from './sqlite-write-ops.js';
import { fromWire, type WireError } from './sqlite-wire-error.js';

/** How a store's write connection is opened. */
export interface WriterInit {
  readonly file: string;
  readonly busyTimeoutMs: number;
}

/** A message to the writer thread. `store` tells the open stores apart; write ids are unique in the process. */
export type ToWriter =
  | { readonly kind: 'open'; readonly store: number; readonly init: WriterInit }
  | { readonly kind: 'write'; readonly store: number; readonly items: readonly { readonly id: number; readonly op: WriteOp }[] }
  | { readonly kind: 'close'; readonly store: number };

/** One write's outcome as it crosses back. */
export type WireOutcome =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

/** A message from the writer thread. */
export type FromWriter =
  | { readonly kind: 'opened'; readonly store: number; readonly error?: WireError }
  | { readonly kind: 'done'; readonly results: readonly WireOutcome[] }
  | { readonly kind: 'closed'; readonly store: number };

/** A write waiting for its answer. */
export interface Waiting {
  readonly op: WriteOp;
  readonly resolve: (value: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * The writer thread's module: beside this one in dist/, or the built copy when this runs from source
 * (tests); a `store` error saying to build when it is missing.
 */
export function writerModule(): string {
  const file = builtModule('store/sqlite-worker');
  if (file === undefined) {
    const missing = path.join(AIRLOCK_ROOT, 'dist', 'src', 'store', 'sqlite-worker.js');
    throw new AirlockError('store', `the store's writer thread \`${missing}\` is missing`, {
      hint: "build Airlock first (`npm run build`), or open the store with `{ writer: 'inline' }`",
      location: { file: missing },
    });
  }
  return file;
}

let current: WriterThread | null = null;

/** The process's writer thread, started on first use and again after one that failed. */
export function writerThread(module: string): WriterThread {
  if (!current || current.gone) current = new WriterThread(module);
  return current;
}

/**
 * One worker thread and what it has not answered yet. Every store of this process writes through
 * it, each on its own connection, so it starts once per process. It holds the process open only
 * while something is in flight.
 */
export class WriterThread {
  /** Set once the thread has failed: what it had not answered failed with it. */
  gone = false;
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private readonly opening = new Map<number, { readonly resolve: () => void; readonly reject: (e: AirlockError) => void }>();
  private readonly closing = new Map<number, () => void>();
  private nextId = 0;

  constructor(module: string) {
    this.worker = new Worker(pathToFileURL(module));
    this.worker.unref();
    this.worker.on('message', (m: FromWriter) => this.receive(m));
    this.worker.on('error', (e) => this.fail(`failed: ${e.message}`, e));
    this.worker.on('exit', (code) => this.fail(`exited (code ${code})`));
  }

  /** Opens `store`'s write connection; rejects with the store's error when the thread cannot open the file. */
  open(store: number, init: WriterInit): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.gone) {
        reject(this.failure(init.file, 'is gone'));
        return;
      }
      this.opening.set(store, { resolve, reject });
      this.send({ kind: 'open', store, init });
    });
  }

  /** Sends a batch of `store`'s writes; each settles with its own outcome. Posted after `open`, so they wait for it. */
  post(store: number, batch: readonly Waiting[], file: string): void {
    if (this.gone) {
      for (const q of batch) q.reject(this.failure(file, 'is gone'));
      return;
    }
    const items = batch.map((q) => {
      const id = ++this.nextId;
      this.waiting.set(id, q);
      return { id, op: q.op };
    });
    try {
      this.send({ kind: 'write', store, items });
    } catch {
      // Something in the batch cannot be cloned: post each write alone so that only that one fails.
      for (const item of items) {
        try {
          this.send({ kind: 'write', store, items: [item] });
        } catch (e) {
          this.settle(item.id, (q) =>
            q.reject(new AirlockError('input', `cannot ${DOING[item.op.op]}: ${(e as Error).message}`, { hint: 'store records hold JSON only', cause: e })),
          );
        }
      }
    }
  }

  /** Commits what `store` posted, then closes its connection. */
  close(store: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.gone) {
        resolve();
        return;
      }
      this.closing.set(store, resolve);
      this.send({ kind: 'close', store });
    });
  }

  private send(m: ToWriter): void {
    this.worker.ref();
    try {
      this.worker.postMessage(m);
    } finally {
      this.idle();
    }
  }

  private receive(m: FromWriter): void {
    switch (m.kind) {
      case 'opened': {
        const o = this.opening.get(m.store);
        this.opening.delete(m.store);
        if (m.error) o?.reject(fromWire(m.error));
        else o?.resolve();
        break;
      }
      case 'done':
        for (const r of m.results) this.settle(r.id, (q) => (r.ok ? q.resolve(r.value) : q.reject(fromWire(r.error))));
        break;
      case 'closed':
        this.closing.get(m.store)?.();
        this.closing.delete(m.store);
    }
    this.idle();
  }

  private settle(id: number, how: (q: Waiting) => void): void {
    const q = this.waiting.get(id);
    if (!q) return;
    this.waiting.delete(id);
    how(q);
  }

  /** Lets the process exit when nothing is in flight. */
  private idle(): void {
    if (this.waiting.size + this.opening.size + this.closing.size === 0) this.worker.unref();
  }

  /** The thread is gone: what it had not answered fails, and the next write starts another thread. */
  private fail(why: string, cause?: unknown): void {
    if (this.gone) return;
    this.gone = true;
    const error = this.failure('', why, cause);
    for (const q of this.waiting.values()) q.reject(error);
    for (const o of this.opening.values()) o.reject(error);
    for (const done of this.closing.values()) done();
    this.waiting.clear();
    this.opening.clear();
    this.closing.clear();
    void this.worker.terminate();
  }

  private failure(file: string, why: string, cause?: unknown): AirlockError {
    return new AirlockError('store', `the store writer thread${file ? ` of \`${file}\`` : ''} ${why}`, {
      hint: 'a write it had not confirmed may or may not be stored: read it back before retrying; if this repeats, report it as a bug',
      ...(file ? { location: { file } } : {}),
      ...(cause === undefined ? {} : { cause }),
    });
  }
}
