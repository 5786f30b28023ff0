// Verification of the trail held by a store, fast: ranges of rows as bytes (store-scan.ts), on verifier threads that
// read the store themselves when it says how (each its own connection), stitched onto the chain in order; row by
// row where a range is not accepted whole, and record by record (ChainVerifier) from the first row that is not intact.
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AuditRecord, Store, StoredAuditRow } from '../store/store.js';
import type { Sha256Hex } from '../types.js';
import { builtModule } from '../util/package-root.js';
import { chainHash, GENESIS_HASH, leafHashOfText, type ChainAnchor } from './chain.js';
import { ChainVerifier, verifyChain, type ChainVerdict, type VerifyOptions } from './chain-verifier.js';
import { isCanonicalLeafText } from './scan.js';
import { rangeScanTools } from './native-scan.js';
import { scanAuditRange, type AuditRangeBytes, type AuditRangeReaderSpec, type AuditRangeScan } from './store-scan.js';
import type { RangeAnswer, RangeJob, WorkerData, WorkerState } from './store-verify-worker.js';

/**
 * A store that can hand back its audit rows as stored (`readAudit` order and paging). `verifyStore`
 * then hashes the stored text where it is canonical instead of rebuilding it from parsed records.
 * The two optional methods make it faster still: `readAuditRange` gives a range of rows as bytes in one
 * read, and `auditRangeReader` says how a verifier thread reads ranges itself, on its own connection.
 */
export interface AuditTextSource {
  readAuditRows(fromSeq: number, limit: number): Promise<readonly StoredAuditRow[]>;
  /** The rows with seqs `fromSeq` to `fromSeq + count - 1`, as store-scan.ts `AuditRangeBytes`. */
  readAuditRange?(fromSeq: number, count: number): Promise<AuditRangeBytes>;
  /** How verifier threads open their own reader of ranges; null when they cannot (an in-memory database). */
  auditRangeReader?(): AuditRangeReaderSpec | null;
}

/** How `verifyStore` splits its work: tests shrink it to put range boundaries and threads where they want. */
export interface StoreVerifyTuning {
  /** Rows per range, the unit a scan accepts whole. */
  readonly rangeRows: number;
  /** Verifier threads (-1: one per core, at most four; 0: none, ranges are scanned on this thread). */
  readonly workers: number;
  /** Threads start only for a trail of at least this many records past the start (smaller ones are done first). */
  readonly parallelFrom: number;
  /** Rows per read row by row. */
  readonly batchSize: number;
  /** Told how many verifier threads started (tests). */
  readonly started?: (threads: number) => void;
  /** Whether the C scan (native/audit-scan.c) is used where it is built (default true; false: JavaScript only, to compare). */
  readonly native?: boolean;
}

export const DEFAULT_STORE_TUNING: StoreVerifyTuning = { rangeRows: 4096, workers: -1, parallelFrom: 100_000, batchSize: 10_000 };

/** Ranges a thread may hold at once: one being scanned and one read ahead. */
const IN_FLIGHT = 2;
/** Ranges asked for ahead of the one awaited, per thread: each goes to whichever thread is free first. */
const AHEAD = 4;

const HEX64 = /^[0-9a-f]{64}$/;

/** Where verification stands: the next seq expected, the chain hash before it, records accepted. */
interface Position {
  next: number;
  prev: string;
  count: number;
}

/**
 * Verifies the chain held by `store` (or the segment after `opts.start`) with the same verdict as
 * `ChainVerifier` fed every record in order. A store that is an `AuditTextSource` is checked on its
 * stored text while each row is intact, in its place and canonical, in whole ranges where it can
 * (on threads for a long trail); from the first row that is not, record by record until the verdict
 * is known or the chain goes on intact, then fast again.
 */
export async function verifyStoreWith(store: Store, opts: VerifyOptions, tuning: StoreVerifyTuning, sink?: LeafSink): Promise<ChainVerdict> {
  const from = (opts.start?.seq ?? 0) + 1;
  const source = store as Store & Partial<AuditTextSource>;
  if (typeof source.readAuditRows !== 'function') {
    sink?.spoil();
    return verifyChain(readAuditBatches(store, from, tuning.batchSize), opts);
  }
  const text = source as Store & AuditTextSource;
  const pos: Position = { next: from, prev: opts.start?.chainHash ?? GENESIS_HASH, count: 0 };
  if (typeof text.readAuditRange === 'function' && HEX64.test(pos.prev)) {
    const ranges = await RangeScans.open(text, opts, tuning, from, sink);
    try {
      for (;;) {
        if ((await ranges.advance(pos)) === 'end') break;
        // A range not accepted whole: that range row by row, then ranges again.
        const verdict = await rowByRow(text, opts, pos, pos.next + tuning.rangeRows, tuning.batchSize, sink);
        if (verdict) return verdict;
      }
    } finally {
      ranges.close();
    }
  }
  return (await rowByRow(text, opts, pos, Number.POSITIVE_INFINITY, tuning.batchSize, sink)) ?? new ChainVerifier(opts, resumeAt(pos)).finish();
}

function resumeAt(pos: Position): { head: ChainAnchor; count: number } | undefined {
  return pos.count > 0 ? { head: { seq: pos.next - 1, chainHash: pos.prev as Sha256Hex }, count: pos.count } : undefined;
}

/**
 * Verifies rows from `pos` up to seq `until` (or the end of the trail) one at a time on their stored text,
 * moving `pos` on. A row that is not accepted goes to `ChainVerifier` as the record the store builds:
 * the verdict when it is bad (the verifier reads on as far as it needs), else verification goes on after it.
 */
async function rowByRow(store: Store & AuditTextSource, opts: VerifyOptions, pos: Position, until: number, batchSize: number, sink?: LeafSink): Promise<ChainVerdict | null> {
  const want = opts.expectedHead;
  while (pos.next < until) {
    const limit = Math.max(1, Math.min(batchSize, until - pos.next));
    const rows = await store.readAuditRows(pos.next, limit);
    let stuck: StoredAuditRow | null = null;
    for (const r of rows) {
      // ChainVerifier's test for an intact record in its place, on the record the store would build from the row.
      if (
        r.seq !== pos.next ||
        r.prevHash !== pos.prev ||
        (want !== undefined && want.seq === r.seq && want.chainHash !== r.chainHash) ||
        !isCanonicalLeafText(r.text, r.seq) ||
        leafHashOfText(r.text) !== r.leafHash ||
        chainHash(r.prevHash, r.leafHash) !== r.chainHash
      ) {
        stuck = r;
        break;
      }
      pos.prev = r.chainHash;
      pos.next++;
      pos.count++;
      sink?.push(Buffer.from(r.leafHash, 'hex'));
    }
    if (stuck === null) {
      if (rows.length < limit) return null;
      continue;
    }
    // Records ChainVerifier accepts are not rows with their hashes at hand: the checkpoints read them apart.
    sink?.spoil();
    const verdict = await recordByRecord(store, opts, pos, stuck.seq, batchSize);
    if (verdict) return verdict;
  }
  return null;
}

/** Feeds the store's records from `seq` to a `ChainVerifier` at `pos`: its verdict, or null (and `pos` moved on) once it accepted the first. */
async function recordByRecord(store: Store, opts: VerifyOptions, pos: Position, seq: number, batchSize: number): Promise<ChainVerdict | null> {
  const v = new ChainVerifier(opts, resumeAt(pos));
  for await (const batch of readAuditBatches(store, seq, batchSize)) {
    for (const x of batch) {
      if (!v.push(x)) return v.finish();
      // Accepted (else its verdict is pending, and the records after it settle it).
      const at = v.position();
      if (at !== null && at.head !== null) {
        pos.next = at.head.seq + 1;
        pos.prev = at.head.chainHash;
        pos.count = at.count;
        return null;
      }
    }
  }
  return v.finish();
}

/** The store's records from `fromSeq` on, in batches of `batchSize`, in seq order. */
export async function* readAuditBatches(store: Store, fromSeq: number, batchSize: number = DEFAULT_STORE_TUNING.batchSize): AsyncGenerator<readonly AuditRecord[]> {
  let next = fromSeq;
  for (;;) {
    const batch = await store.readAudit(next, batchSize);
    if (batch.length === 0) return;
    yield batch;
    next = (batch[batch.length - 1] as AuditRecord).seq + 1;
    if (batch.length < batchSize) return;
  }
}

/** A thread's answer for a range: its scan, and its leaf hashes when asked for (null: not all hashes); null: scan it here. */
type Answer = { readonly scan: AuditRangeScan; readonly leaves: Uint8Array | null } | null;

/**
 * Where a verification sends the leaf hashes of the rows it accepted, in order, for the checkpoints to be checked
 * in the same pass (audit/trail-check.ts); `spoil` when it accepted rows whose hashes it cannot send (they are then
 * read apart).
 */
export interface LeafSink {
  push(leaves: Uint8Array): void;
  spoil(): void;
}

/** A range asked for: its first seq, and its thread's answer once known. */
interface Pending {
  readonly fromSeq: number;
  readonly answer: Promise<Answer>;
}

/** A range asked for that no thread has taken yet. */
interface Unassigned {
  readonly job: RangeJob;
  readonly answer: (answer: Answer) => void;
}

/**
 * Ranges scanned in order, on threads reading ahead when there are any, else here one at a time. A thread
 * takes the next range when it has room, so one slowed by the machine's other work scans fewer.
 */
class RangeScans {
  private readonly queue: Pending[] = [];
  private readonly unassigned: Unassigned[] = [];
  private nextJob = 0;

  private constructor(
    private readonly store: Store & AuditTextSource,
    private readonly opts: VerifyOptions,
    private readonly tuning: StoreVerifyTuning,
    private readonly threads: RangeThread[],
    private readonly sink: LeafSink | undefined,
  ) {}

  /** Threads for a long trail when the store says how they read it, started and ready (none if they cannot start). */
  static async open(store: Store & AuditTextSource, opts: VerifyOptions, tuning: StoreVerifyTuning, from: number, sink: LeafSink | undefined): Promise<RangeScans> {
    const count = tuning.workers < 0 ? Math.min(availableParallelism(), 4) : tuning.workers;
    const spec = count > 0 && typeof store.auditRangeReader === 'function' ? store.auditRangeReader() : null;
    const worker = spec ? builtModule('audit/store-verify-worker') : undefined;
    let threads: RangeThread[] = [];
    if (spec && worker !== undefined && ((await store.auditHead())?.seq ?? 0) - from + 1 >= tuning.parallelFrom) {
      threads = (await Promise.all(Array.from({ length: count }, () => RangeThread.start(worker, { spec, native: tuning.native !== false })))).filter((t): t is RangeThread => t !== null);
    }
    tuning.started?.(threads.length);
    return new RangeScans(store, opts, tuning, threads, sink);
  }

  /**
   * Moves `pos` over the ranges from it accepted whole and stitched on: 'end' after a range with fewer rows
   * than asked for (the end of the trail as read, or a gap row by row will find), 'stuck' at a range that is not.
   */
  async advance(pos: Position): Promise<'end' | 'stuck'> {
    this.drop();
    let ask = pos.next;
    for (;;) {
      while (this.queue.length < Math.max(1, this.threads.length * AHEAD)) {
        this.queue.push({ fromSeq: ask, answer: this.ask(ask) });
        ask += this.tuning.rangeRows;
      }
      const p = this.queue.shift() as Pending;
      const answer = await p.answer;
      const scan = answer?.scan ?? (await this.scanHere(p.fromSeq));
      if (!scan.ok || (scan.rows > 0 && scan.firstPrev !== pos.prev)) {
        this.drop();
        return 'stuck';
      }
      if (scan.rows > 0) {
        pos.next += scan.rows;
        pos.prev = scan.lastChain;
        pos.count += scan.rows;
        // The hashes of exactly the rows accepted (a last range read again may have grown since).
        const leaves = answer?.scan === scan ? answer.leaves : null;
        if (leaves && leaves.length >= scan.rows * 32) this.sink?.push(leaves.subarray(0, scan.rows * 32));
        else this.sink?.spoil();
      }
      if (scan.rows < this.tuning.rangeRows) {
        this.drop();
        return 'end';
      }
    }
  }

  close(): void {
    this.drop();
    for (const t of this.threads) t.stop();
  }

  /** Forgets the ranges asked ahead (the answers of those taken are ignored when they come). */
  private drop(): void {
    this.queue.length = 0;
    for (const u of this.unassigned.splice(0)) u.answer(null);
  }

  private ask(fromSeq: number): Promise<Answer> {
    if (this.threads.length === 0) return Promise.resolve(null);
    const job: RangeJob = { id: this.nextJob++, fromSeq, count: this.tuning.rangeRows, ...this.want(), leaves: this.sink !== undefined };
    return new Promise((answer) => {
      this.unassigned.push({ job, answer });
      this.assign();
    });
  }

  /** Gives the ranges no thread has taken, in order, to threads with room; with none alive, they are scanned here. */
  private assign(): void {
    for (const t of this.threads) {
      while (t.alive && t.held < IN_FLIGHT && this.unassigned.length > 0) {
        const u = this.unassigned.shift() as Unassigned;
        void t.scan(u.job).then((answer) => {
          u.answer(answer);
          this.assign();
        });
      }
    }
    if (!this.threads.some((t) => t.alive)) for (const u of this.unassigned.splice(0)) u.answer(null);
  }

  private async scanHere(fromSeq: number): Promise<AuditRangeScan> {
    const bytes = await (this.store.readAuditRange as (f: number, c: number) => Promise<AuditRangeBytes>).call(this.store, fromSeq, this.tuning.rangeRows);
    const w = this.want();
    return scanAuditRange(bytes, fromSeq, w.wantSeq, w.wantChain, rangeScanTools(this.tuning.native !== false));
  }

  private want(): { wantSeq: number; wantChain: string } {
    const want = this.opts.expectedHead;
    return { wantSeq: want?.seq ?? -1, wantChain: want?.chainHash ?? '' };
  }
}

/** One verifier thread (store-verify-worker.ts) and the ranges it has not answered yet. */
class RangeThread {
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  alive = true;

  /** Ranges sent and not answered yet. */
  get held(): number {
    return this.waiting.size;
  }

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: RangeAnswer) => {
      const resolve = this.waiting.get(m.id);
      if (!resolve) return;
      this.waiting.delete(m.id);
      resolve('scan' in m ? { scan: m.scan, leaves: m.leaves ?? null } : null);
    });
    worker.on('error', () => this.gone());
    worker.on('exit', () => this.gone());
  }

  /** A thread reading with `data.spec`'s reader, once it has opened it; null when it cannot start or open it. */
  static start(module: string, data: WorkerData): Promise<RangeThread | null> {
    return new Promise((resolve) => {
      let worker: Worker;
      try {
        worker = new Worker(pathToFileURL(module), { workerData: data });
      } catch {
        resolve(null);
        return;
      }
      const fail = (): void => {
        void worker.terminate();
        resolve(null);
      };
      // Until the thread is handed over, a failure (even after a "not ready") and an exit without a word end the start.
      worker.on('error', fail);
      worker.once('exit', () => resolve(null));
      worker.once('message', (m: WorkerState) => {
        if (!m.ready) return fail();
        worker.off('error', fail);
        resolve(new RangeThread(worker));
      });
    });
  }

  /** The thread's scan of a range; null if the thread is gone or could not read it (then it is scanned here). */
  scan(job: RangeJob): Promise<Answer> {
    if (!this.alive) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting.set(job.id, resolve);
      this.worker.postMessage(job);
    });
  }

  stop(): void {
    this.alive = false;
    void this.worker.terminate();
    this.gone();
  }

  private gone(): void {
    this.alive = false;
    for (const resolve of this.waiting.values()) resolve(null);
    this.waiting.clear();
  }
}
