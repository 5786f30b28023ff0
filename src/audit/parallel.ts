// Worker threads for the audit verifier's fast paths: each runs `scanJsonl` (scan.ts) on batches the main
// thread hands it, so hashing spreads over the cores. Kept warm between verifications, unref'd when idle
// (they never hold a process open), and ended after a few idle seconds.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { scanJsonl, type JsonlScan } from './scan.js';

/** A batch of export lines as UTF-8 (moved to the worker and back); `checkUtf8` unless encoded from text here. */
export interface ScanJob {
  readonly bytes: Buffer;
  readonly checkUtf8: boolean;
  readonly wantSeq: number;
  readonly wantChain: string;
}

/** A scan, and the batch's bytes back. */
export interface ScanDone {
  readonly scan: JsonlScan;
  readonly bytes: Buffer;
}

const IDLE_MS = 5_000;

// The worker runs scan.ts's own function, shipped as source: one definition for both threads. `__name`
// covers transpilers that wrap nested functions to keep their names. Before it says it is ready, it
// scans a made-up chain a few times, so that its first real batches do not run on unoptimized code.
const SOURCE = `'use strict';
var __name = (f) => f;
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const hash = crypto.hash ?? ((algorithm, data, encoding) => crypto.createHash(algorithm).update(data).digest(encoding));
const { isUtf8 } = require('node:buffer');
const scanJsonl = (${scanJsonl.toString()});
{
  let prev = '0'.repeat(64);
  let lines = '';
  for (let seq = 1; seq <= 400; seq++) {
    const text = '{"body":{"warm":"' + 'x'.repeat(seq % 50) + '"},"seq":' + seq + ',"type":"warm"}';
    const leaf = hash('sha256', Buffer.concat([Buffer.from([0]), Buffer.from(text)]), 'hex');
    const chain = hash('sha256', 'airlock-chain-v1' + prev + leaf, 'hex');
    lines += '{"record":' + text + ',"prevHash":"' + prev + '","leafHash":"' + leaf + '","chainHash":"' + chain + '"}\\n';
    prev = chain;
  }
  const warm = Buffer.from(lines);
  for (let i = 0; i < 8; i++) scanJsonl(warm, hash, i % 2 ? isUtf8 : null, -1, '');
}
parentPort.on('message', (m) => {
  const b = Buffer.from(m.buffer, 0, m.length);
  const scan = scanJsonl(b, hash, m.checkUtf8 ? isUtf8 : null, m.wantSeq, m.wantChain);
  parentPort.postMessage({ id: m.id, scan, buffer: m.buffer, length: m.length }, [m.buffer]);
});
parentPort.postMessage({ ready: true });
`;

interface Waiting {
  readonly resolve: (d: ScanDone) => void;
  readonly reject: (e: Error) => void;
}

/** One worker thread and the jobs it has not answered yet. */
export class ScanWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private dead = false;
  private started = false;
  private readonly online: Promise<void>;
  /** Jobs answered. */
  answered = 0;

  constructor(private readonly onGone: (w: ScanWorker) => void) {
    this.worker = new Worker(SOURCE, { eval: true });
    this.worker.unref();
    let started = (): void => undefined;
    this.online = new Promise((resolve) => {
      started = resolve;
    });
    this.worker.on('message', (m: { id: number; scan: JsonlScan; buffer: ArrayBuffer; length: number; ready?: true }) => {
      if (m.ready) {
        this.started = true;
        started();
        return;
      }
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      this.answered++;
      if (this.waiting.size === 0) this.worker.unref();
      w.resolve({ scan: m.scan, bytes: Buffer.from(m.buffer, 0, m.length) });
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', () => this.fail(new Error('the verifier worker stopped')));
  }

  /** Jobs sent and not answered. */
  get busy(): number {
    return this.waiting.size;
  }

  /** Resolves once the thread runs and is warmed up (never, if it fails to start). */
  whenStarted(): Promise<void> {
    return this.online;
  }

  /** Whether it is running and takes work: until then (tens of milliseconds) its batches are better scanned elsewhere. */
  get ready(): boolean {
    return this.started && !this.dead;
  }

  /**
   * Scans a batch on this thread. Its bytes must be the start of an ArrayBuffer of their own (not a
   * pooled Buffer): the whole ArrayBuffer is moved there, and back with the answer.
   */
  scan(job: ScanJob): Promise<ScanDone> {
    if (this.dead) return Promise.reject(new Error('the verifier worker stopped'));
    const b = job.bytes;
    if (b.byteOffset !== 0 || !(b.buffer instanceof ArrayBuffer)) return Promise.reject(new Error('a batch must own its ArrayBuffer'));
    const id = this.nextId++;
    return new Promise<ScanDone>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref();
      const buffer = b.buffer as ArrayBuffer;
      const message = { id, buffer, length: b.byteLength, checkUtf8: job.checkUtf8, wantSeq: job.wantSeq, wantChain: job.wantChain };
      this.worker.postMessage(message, [buffer]);
    });
  }

  terminate(): void {
    this.dead = true;
    void this.worker.terminate();
  }

  private fail(e: Error): void {
    if (!this.dead) {
      this.dead = true;
      this.onGone(this);
    }
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}

const pool: ScanWorker[] = [];
let idleTimer: NodeJS.Timeout | null = null;
let users = 0;

/** Worker threads to use beside the main thread by default: one per further core, at most three. */
export function defaultWorkers(): number {
  return Math.max(0, Math.min(availableParallelism() - 1, 3));
}

/**
 * Borrows up to `count` warm workers (started now if need be; none if threads cannot start). Call
 * `release` when done: the pool ends once idle for a few seconds.
 */
export function borrowWorkers(count: number): ScanWorker[] {
  users++;
  if (idleTimer) {
    clearTimeout(idleTimer);
    idleTimer = null;
  }
  try {
    while (pool.length < count) {
      pool.push(
        new ScanWorker((gone) => {
          const i = pool.indexOf(gone);
          if (i >= 0) pool.splice(i, 1);
        }),
      );
    }
  } catch {
    // no threads here (a restricted runtime): the main thread does it all
  }
  return pool.slice(0, count);
}

/** Returns borrowed workers; the last user out starts the idle clock. */
export function releaseWorkers(): void {
  users = Math.max(0, users - 1);
  if (users > 0 || pool.length === 0) return;
  idleTimer = setTimeout(() => {
    idleTimer = null;
    if (users > 0) return;
    for (const w of pool.splice(0)) w.terminate();
  }, IDLE_MS);
  idleTimer.unref();
}

/** Starts `count` workers (if not running yet) and resolves once they take work: for tests and benchmarks. */
export async function warmWorkers(count: number): Promise<readonly ScanWorker[]> {
  const workers = borrowWorkers(count);
  try {
    await Promise.race([Promise.all(workers.map((w) => w.whenStarted())), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  } finally {
    releaseWorkers();
  }
  return workers;
}
