// Offline verification of a JSONL export: batches of lines scanned on worker threads beside this one, stitched onto the chain, line by line from the first they cannot accept.
import { isUtf8 } from 'node:buffer';
import * as nodeCrypto from 'node:crypto';
import type { Sha256Hex } from '../types.js';
import { GENESIS_HASH, type ChainAnchor } from './chain.js';
import { ChainVerifier, type ChainVerdict, type VerifyOptions } from './chain-verifier.js';
import { LineByLine, payloadFailure } from './line-verifier.js';
import { borrowWorkers, defaultWorkers, releaseWorkers, type ScanWorker } from './parallel.js';
import { checkPayload } from './payload.js';
import { scanJsonl, type HexHash, type JsonlScan } from './scan.js';

/** Options of `verifyJsonl`: the chain anchors, and the audit key to check keyed payloads. */
export interface JsonlVerifyOptions extends VerifyOptions {
  readonly auditKey?: Uint8Array | string;
}

/** A chain verdict plus what was learnt about the payload lines of the export. */
export type JsonlVerdict = ChainVerdict & {
  readonly payloads: { readonly verified: number; readonly unverifiable: number };
};

// crypto.hash is Node >= 20.12; before it, the same through createHash.
const hexHash: HexHash =
  (nodeCrypto as { hash?: HexHash }).hash ?? ((algorithm, data, encoding) => nodeCrypto.createHash(algorithm).update(data).digest(encoding));

/** How `verifyJsonl` splits its work: tests shrink it to exercise batching and the worker threads. */
export interface JsonlTuning {
  /** About how many bytes of whole lines make a batch, the unit a scanner takes. */
  readonly batchBytes: number;
  /** Worker threads beside the main thread, borrowed once the input passes three batches (0: none). */
  readonly workers: number;
}

const DEFAULT_TUNING: JsonlTuning = { batchBytes: 512 * 1024, workers: -1 };
/** Batches a worker may hold at once: enough that it never waits on this thread, which scans the rest. */
const IN_FLIGHT = 2;
/** Batches scanned here that may wait on a worker's before this thread waits too (bounds memory). */
const MAX_QUEUED = 8;
/** The batch from which worker threads help: smaller inputs are done before a thread would start. */
const WORKERS_FROM = 4;

/**
 * Verifies an export offline: the chain (from genesis, or after `opts.start`), and each payload
 * line against its hash (keyed ones only when `opts.auditKey` is given; else they are counted as
 * unverifiable). Takes the whole text or a stream of chunks (a `Readable` is one).
 *
 * Runs of intact records are checked in batches, on worker threads beside this one for large
 * exports (scan.ts, by the verifier's own test); from the first line a batch cannot accept on,
 * the lines go through `ChainVerifier` one by one, so the verdict is the same either way.
 */
export function verifyJsonl(input: string | AsyncIterable<string | Uint8Array>, opts: JsonlVerifyOptions = {}): Promise<JsonlVerdict> {
  return verifyJsonlWith(input, opts, DEFAULT_TUNING);
}

/** `verifyJsonl` with its batching spelled out (`workers` -1: the default for this machine). */
export async function verifyJsonlWith(
  input: string | AsyncIterable<string | Uint8Array>,
  opts: JsonlVerifyOptions,
  tuning: JsonlTuning,
): Promise<JsonlVerdict> {
  const run = new JsonlRun(opts, tuning);
  try {
    const source: Iterable<string> | AsyncIterable<string | Uint8Array> = typeof input === 'string' ? [input] : input;
    for await (const chunk of source) if (!(await run.chunk(chunk))) break;
    return await run.end();
  } finally {
    run.close();
  }
}

/** A batch of whole lines on its way through a scanner. */
interface Batch {
  /** For text input: the input's own text, which is what line-by-line verification takes. */
  readonly texts: readonly string[] | null;
  /** The lines as UTF-8, owned by this run (moved to a worker and back). */
  bytes: Buffer;
  /** Bytes of input before this batch (byte input only). */
  readonly bytesBefore: number;
  done: JsonlScan | null;
  /** Settles when a worker has answered (it never rejects: see `error`). */
  pending: Promise<void> | null;
  error?: unknown;
  /** A text batch joined, once a line of it is needed as text, and where `lineStart` last stopped. */
  joined: string | null;
  cursorLine: number;
  cursorAt: number;
}

/** One `verifyJsonl`: batches of whole lines scanned in order, stitched together, and the line-by-line rest. */
class JsonlRun {
  private readonly payloads = { verified: 0, unverifiable: 0 };
  private readonly startSeq: number;
  private readonly wantSeq: number;
  private readonly wantChain: string;
  private readonly workerCount: number;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  // The chain as far as the batches took it.
  private count = 0;
  private head: ChainAnchor | null;
  private expected: number;
  private prev: string;
  private verdict: ChainVerdict | null = null;
  private slow: LineByLine | null = null;
  private readonly queue: Batch[] = [];
  private workers: ScanWorker[] | null = null;
  private batches = 0;
  // Input not yet in a batch, all of one kind: text chunks, or byte chunks (copied into batches).
  private kind: 'text' | 'bytes' | null = null;
  private parts: string[] = [];
  private partSize = 0;
  /** Byte input not yet in a batch, copied on arrival (a source may reuse its buffers). */
  private acc: Buffer | null = null;
  private accLen = 0;
  /** A high surrogate that ended a text chunk, held back to meet its low half. */
  private carry = '';
  /** Batch buffers back from their scan, for the next batches (fresh memory costs more than a copy). */
  private readonly spare: ArrayBuffer[] = [];
  private bytesSeen = 0;

  constructor(
    private readonly opts: JsonlVerifyOptions,
    private readonly tuning: JsonlTuning,
  ) {
    this.startSeq = opts.start?.seq ?? 0;
    this.head = opts.start ?? null;
    this.expected = this.startSeq + 1;
    this.prev = opts.start?.chainHash ?? GENESIS_HASH;
    this.wantSeq = opts.expectedHead?.seq ?? -1;
    this.wantChain = opts.expectedHead?.chainHash ?? '';
    this.workerCount = tuning.workers < 0 ? defaultWorkers() : tuning.workers;
  }

  /** Takes the next chunk of input; false once the verdict is known. */
  async chunk(c: string | Uint8Array): Promise<boolean> {
    if (this.verdict) return false;
    const kind = typeof c === 'string' ? 'text' : c instanceof Uint8Array ? 'bytes' : null;
    if (this.slow === null && (kind === null || (this.kind !== null && kind !== this.kind))) {
      // Text after bytes (or the other way round), or not a chunk at all: line by line from here.
      await this.settle(true);
      if (this.verdict) return false;
      if (!this.slow) this.fallBack(this.bytesSeen > 0);
    }
    if (this.slow) return this.toSlow(c);
    this.kind = kind;
    const size = this.tuning.batchBytes;
    if (typeof c === 'string') {
      if (this.carry !== '') {
        c = this.carry + c;
        this.carry = '';
      }
      const last = c.charCodeAt(c.length - 1);
      if (last >= 0xd800 && last <= 0xdbff) {
        this.carry = c.slice(-1);
        c = c.slice(0, -1);
      }
      // Batches end at a newline once they reach `size` (a large chunk makes several).
      for (;;) {
        const cut = c.length >= size - this.partSize ? c.indexOf('\n', Math.max(0, size - this.partSize - 1)) : -1;
        if (cut < 0) {
          if (c !== '') this.parts.push(c);
          this.partSize += c.length;
          return true;
        }
        const texts = this.parts;
        texts.push(c.slice(0, cut + 1));
        this.parts = [];
        this.partSize = 0;
        c = c.slice(cut + 1);
        if (!(await this.dispatch(texts, this.encode(texts)))) return false;
      }
    }
    this.append(c);
    for (;;) {
      const acc = this.acc as Buffer;
      const cut = this.accLen >= size ? acc.subarray(0, this.accLen).indexOf(10, size - 1) : -1;
      if (cut < 0) return true;
      // The batch keeps the buffer (it is moved to a worker whole); what follows it moves to another.
      this.acc = this.buffer(Math.max(2 * size, this.accLen - cut - 1));
      acc.copy(this.acc, 0, cut + 1, this.accLen);
      this.accLen -= cut + 1;
      if (!(await this.dispatch(null, acc.subarray(0, cut + 1)))) return false;
    }
  }

  /** Copies byte input in, growing the buffer as needed. */
  private append(c: Uint8Array): void {
    const need = this.accLen + c.byteLength;
    if (this.acc === null || need > this.acc.length) {
      const grown = this.buffer(Math.max(need, 2 * this.tuning.batchBytes, 2 * (this.acc?.length ?? 0)));
      this.acc?.copy(grown, 0, 0, this.accLen);
      this.acc = grown;
    }
    this.acc.set(c, this.accLen);
    this.accLen = need;
  }

  /** The verdict once the input has ended. */
  async end(): Promise<JsonlVerdict> {
    if (!this.verdict && !this.slow && (this.partSize > 0 || this.carry !== '' || this.accLen > 0)) {
      if (this.kind === 'text') {
        const texts = this.parts;
        if (this.carry !== '') texts.push(this.carry);
        this.parts = [];
        this.partSize = 0;
        this.carry = '';
        await this.dispatch(texts, this.encode(texts));
      } else {
        const acc = (this.acc as Buffer).subarray(0, this.accLen);
        this.acc = null;
        this.accLen = 0;
        await this.dispatch(null, acc);
      }
    }
    await this.settle(true);
    if (!this.verdict && this.slow) {
      this.drainInto(this.slow);
      if (!this.verdict) this.verdict = this.slow.end();
    }
    this.verdict ??= new ChainVerifier(this.opts, this.resumeAt(0, '')).finish();
    return { ...this.verdict, payloads: this.payloads };
  }

  close(): void {
    if (this.workers) releaseWorkers();
    this.workers = null;
  }

  /** A buffer of at least `size` bytes that is the whole of its ArrayBuffer (so it can be moved to a worker). */
  private buffer(size: number): Buffer {
    const i = this.spare.findIndex((ab) => ab.byteLength >= size);
    if (i >= 0) return Buffer.from(this.spare.splice(i, 1)[0] as ArrayBuffer);
    // Whole batches' worth, so that buffers fit the batches after them.
    const unit = this.tuning.batchBytes;
    return Buffer.allocUnsafeSlow(Math.ceil(size / unit) * unit);
  }

  /** Text as UTF-8, in a buffer of its own. */
  private encode(texts: readonly string[]): Buffer {
    let chars = 0;
    for (const t of texts) chars += t.length;
    const out = this.buffer(3 * chars); // at most 3 bytes per UTF-16 unit
    let at = 0;
    for (const t of texts) at += out.write(t, at, 'utf8');
    return out.subarray(0, at);
  }

  /** Hands a batch to an idle worker, or scans it here; then settles what is ready. */
  private async dispatch(texts: readonly string[] | null, bytes: Buffer): Promise<boolean> {
    const batch: Batch = { texts, bytes, bytesBefore: this.bytesSeen, done: null, pending: null, joined: null, cursorLine: 0, cursorAt: 0 };
    if (texts === null) this.bytesSeen += bytes.length;
    this.queue.push(batch);
    if (++this.batches === WORKERS_FROM && this.workerCount > 0) this.workers = borrowWorkers(this.workerCount);
    const w = this.workers?.find((x) => x.ready && x.busy < IN_FLIGHT);
    const job = { bytes, checkUtf8: texts === null, wantSeq: this.wantSeq, wantChain: this.wantChain };
    if (w) {
      batch.pending = w.scan(job).then(
        (d) => {
          batch.done = d.scan;
          batch.bytes = d.bytes;
        },
        (e: unknown) => {
          // A worker that died took the bytes with it: text can be encoded and scanned again here.
          if (texts === null) {
            batch.error = e;
            return;
          }
          batch.bytes = this.encode(texts);
          batch.done = scanJsonl(batch.bytes, hexHash, null, this.wantSeq, this.wantChain);
        },
      );
    } else {
      batch.done = scanJsonl(bytes, hexHash, job.checkUtf8 ? isUtf8 : null, this.wantSeq, this.wantChain);
      // Let worker results in (they arrive as events, which a busy loop never sees).
      if (this.workers) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await this.settle(this.queue.length > MAX_QUEUED + IN_FLIGHT * (this.workers?.length ?? 0));
    return this.verdict === null;
  }

  /** Applies scanned batches in order, waiting for those not back yet when `wait` (else stops at the first). */
  private async settle(wait: boolean): Promise<void> {
    while (this.queue.length > 0 && !this.verdict) {
      const b = this.queue[0] as Batch;
      if (!b.done) {
        if (!wait) return;
        await b.pending;
        if (b.error !== undefined) throw b.error;
      }
      this.queue.shift();
      if (this.slow) {
        if (!this.feedBatch(this.slow, b, 0, 0)) this.verdict = this.slow.end();
      } else {
        this.apply(b, b.done as JsonlScan);
      }
      if (this.spare.length < 8) this.spare.push(b.bytes.buffer as ArrayBuffer);
    }
  }

  /** Stitches a batch's scan onto the chain so far; falls back to line by line where it stopped. */
  private apply(b: Batch, scan: JsonlScan): void {
    let stopLine = scan.lines;
    let stopByte = scan.end;
    let records = scan.records;
    let whole = scan.all;
    const pl = scan.payloads;
    if (records > 0 && (scan.firstSeq !== this.expected || scan.firstPrev !== this.prev)) {
      // Its first record does not follow on: stop there (only payload lines come before it).
      records = 0;
      whole = false;
      stopLine = 0;
      stopByte = 0;
      for (let i = 0; i < pl.length && pl[i + 3] === 0; i += 4) {
        stopLine = (pl[i + 2] as number) + 1;
        stopByte = (pl[i + 1] as number) + 1;
      }
    }
    for (let i = 0; i < pl.length; i += 4) {
      if ((pl[i + 2] as number) >= stopLine) break;
      const before = pl[i + 3] as number;
      const problem = checkPayload(this.payloadLine(b, i, pl), this.opts.auditKey, this.payloads);
      if (problem !== null) {
        const v = new ChainVerifier(this.opts, this.resumeAt(before, scan.payloadChains[i / 4] as string));
        this.verdict = payloadFailure(v, problem, this.startSeq + this.count + before);
        return;
      }
    }
    if (records > 0) {
      this.count += records;
      this.expected += records;
      this.prev = scan.lastChain;
      this.head = { seq: this.expected - 1, chainHash: scan.lastChain as Sha256Hex };
    }
    if (whole) return;
    const slow = this.fallBack(b.bytesBefore + stopByte > 0);
    if (!this.feedBatch(slow, b, stopLine, stopByte)) this.verdict = slow.end();
  }

  /** Feeds a batch to the line-by-line verifier from line `line` (at byte `byte`); false once the verdict is known. */
  private feedBatch(slow: LineByLine, b: Batch, line: number, byte: number): boolean {
    if (b.texts === null) return slow.chunk(b.bytes.subarray(byte));
    return slow.chunk(this.joined(b).slice(this.lineStart(b, line)));
  }

  /** Line by line from the chain so far; `seenBytes`: whether the decoder's start (and a BOM) is behind. */
  private fallBack(seenBytes: boolean): LineByLine {
    const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: seenBytes && this.kind !== 'text' });
    const v = new ChainVerifier(this.opts, this.resumeAt(0, ''));
    this.slow = new LineByLine(v, this.opts.auditKey, this.payloads, this.startSeq + this.count, decoder);
    return this.slow;
  }

  /** Feeds the line-by-line verifier: first what is queued and pending, then `c`. */
  private async toSlow(c: string | Uint8Array): Promise<boolean> {
    await this.settle(true);
    if (this.verdict) return false;
    const slow = this.slow as LineByLine;
    if (!this.drainInto(slow)) return false;
    if (!slow.chunk(c)) this.verdict = slow.end();
    return this.verdict === null;
  }

  /** Moves input not yet batched into the line-by-line verifier. */
  private drainInto(slow: LineByLine): boolean {
    const pending: (string | Uint8Array)[] = this.acc ? [this.acc.subarray(0, this.accLen)] : this.parts;
    if (this.carry !== '') pending.push(this.carry);
    this.parts = [];
    this.partSize = 0;
    this.acc = null;
    this.accLen = 0;
    this.carry = '';
    for (const p of pending) {
      if (!slow.chunk(p)) {
        this.verdict = slow.end();
        return false;
      }
    }
    return true;
  }

  /** The position after the chain so far plus `more` records of the current batch (the last one's chainHash given). */
  private resumeAt(more: number, chain: string): { head: ChainAnchor; count: number } | undefined {
    if (more > 0) return { head: { seq: this.expected - 1 + more, chainHash: chain as Sha256Hex }, count: this.count + more };
    return this.head && this.count > 0 ? { head: this.head, count: this.count } : undefined;
  }

  /** The text of the payload line listed at `i` in `pl`, exactly as line-by-line verification would see it. */
  private payloadLine(b: Batch, i: number, pl: readonly number[]): string {
    const decoded = this.decoder.decode(b.bytes.subarray(pl[i] as number, pl[i + 1] as number));
    // Decoded bytes are the text itself unless it had lone surrogates (or U+FFFD): then take the text.
    if (b.texts === null || !decoded.includes('\uFFFD')) return decoded;
    const text = this.joined(b);
    const from = this.lineStart(b, pl[i + 2] as number);
    const nl = text.indexOf('\n', from);
    return text.slice(from, nl < 0 ? text.length : nl);
  }

  private joined(b: Batch): string {
    b.joined ??= (b.texts as readonly string[]).join('');
    return b.joined;
  }

  /** Offset of line `line` in a text batch (asked for in order). */
  private lineStart(b: Batch, line: number): number {
    const text = this.joined(b);
    while (b.cursorLine < line) {
      const nl = text.indexOf('\n', b.cursorAt);
      b.cursorAt = nl < 0 ? text.length : nl + 1;
      b.cursorLine++;
    }
    return b.cursorAt;
  }
}
