// Audit benchmarks: durable append (one commit per record vs group commit) against this disk's fsync limit, and verification speed (from the store beside its raw row reads, of exports) against the SHA-256 ceiling.
import { closeSync, fdatasyncSync, fsyncSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { GENESIS_HASH, prepareLeaf, sealLeaf, type ChainedRecord } from '../src/audit/chain.js';
import { verifyChain } from '../src/audit/chain-verifier.js';
import { exportLine } from '../src/audit/export-line.js';
import { verifyStore, type AuditTextSource, type StoredAuditRow } from '../src/audit/log.js';
import { verifyJsonl } from '../src/audit/verify-jsonl.js';
import { defaultWorkers } from '../src/audit/parallel.js';
import { nativeRangeScan } from '../src/audit/native-scan.js';
import { DEFAULT_STORE_TUNING, verifyStoreWith } from '../src/audit/store-verify.js';
import { Checkpointer } from '../src/audit/checkpoints.js';
import { signerFromSeed } from '../src/audit/signed-note.js';
import { verifyTrail } from '../src/audit/trail-check.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import type { AuditDraft, AuditRecord, Store } from '../src/store/store.js';
import type { Sha256Hex } from '../src/types.js';
import { sized, type BenchOptions, type BenchResult, type BenchSuite } from './harness.js';

const SUITE = 'audit';

/** A typical decision record (about 600 bytes of canonical JSON). */
export function benchDraft(i: number): AuditDraft {
  return {
    type: 'action.decision',
    time: new Date(Date.UTC(2025, 0, 1) + i).toISOString(),
    runId: `run_${(i % 977).toString(16).padStart(16, '0')}`,
    principal: 'agent:refund-bot',
    onBehalfOf: 'user:lena.park',
    body: {
      tool: 'payments.refund',
      step: i % 25,
      argsHash: 'a3f1c2'.repeat(10) + 'beef',
      actionHash: '9d0e7b'.repeat(10) + 'cafe',
      decision: 'approval',
      level: 'single',
      policyIds: ['refunds-up-to-50-eur', 'tier-execute-low'],
      policySetHash: '5c4b3a'.repeat(10) + 'f00d',
      reasons: ['refunds up to 50 EUR need one approver', 'financial effect at tier execute-low'],
      labels: { classification: 'confidential', trust: 'untrusted' },
    },
  };
}

/** fdatasync calls per second on the disk holding `dir`: appending 4 KiB (one WAL page) then syncing, as a commit does. */
export function fsyncRate(dir: string, ms = 1000): number {
  const file = path.join(dir, 'fsync-probe');
  const fd = openSync(file, 'a');
  const page = Buffer.alloc(4096, 1);
  let n = 0;
  const end = performance.now() + ms;
  try {
    while (performance.now() < end) {
      writeSync(fd, page);
      fdatasyncSync(fd);
      n++;
    }
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
  return n / (ms / 1000);
}

/** Records per second with `writers` concurrent appenders, each appending one record and awaiting it, for `ms`. */
async function appendRate(store: Store, writers: number, ms: number): Promise<number> {
  let count = 0;
  let i = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < end) {
        await store.appendAudit([benchDraft(i++)]);
        count++;
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

/** Records per second of the two SHA-256 calls every record costs (leaf: 0x00 || `leafBytes` bytes; chain: 144 bytes), on `threads` threads at once. */
async function shaCeiling(threads: number, leafBytes: number, perThread: number): Promise<number> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { hash } = require('node:crypto');
    const leaf = Buffer.alloc(workerData.leafBytes + 1, 97);
    parentPort.once('message', () => {
      let prev = '0'.repeat(64);
      for (let i = 0; i < workerData.n; i++) {
        leaf[1 + (i % workerData.leafBytes)] = 97 + (i % 26);
        prev = hash('sha256', 'airlock-chain-v1' + prev + hash('sha256', leaf, 'hex'), 'hex');
      }
      parentPort.postMessage(prev);
    });
    parentPort.postMessage('ready');`;
  const workers = Array.from({ length: threads }, () => new Worker(source, { eval: true, workerData: { n: perThread, leafBytes } }));
  const next = (w: Worker): Promise<unknown> => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject));
  await Promise.all(workers.map(next)); // started: time the hashing only
  const t0 = performance.now();
  const done = workers.map(next);
  for (const w of workers) w.postMessage('go');
  await Promise.all(done);
  const ms = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return (threads * perThread) / (ms / 1000);
}

/** `store` with its stored audit text read from `file` (what a store implementing `AuditTextSource` hands `verifyStore`). */
function withStoredText(store: Store, file: string): { store: Store; close: () => void } {
  const db = new Database(file, { readonly: true });
  const rows = db.prepare<[number, number], StoredAuditRow>(
    'SELECT seq, leaf AS text, prev_hash AS prevHash, leaf_hash AS leafHash, chain_hash AS chainHash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?',
  );
  const source: AuditTextSource = { readAuditRows: (from, limit) => Promise.resolve(rows.all(from, limit)) };
  // Row by row only: the store's range methods hidden.
  const only = { ...source, readAuditRange: undefined, auditRangeReader: undefined };
  return { store: Object.assign(Object.create(store) as Store, only), close: () => db.close() };
}

/** A store file holding a valid trail of `n` records of `benchDraft` (sealed as the writer seals them), written in bulk. */
async function trailFile(dir: string, n: number): Promise<string> {
  const file = path.join(dir, 'trail.db');
  await (await openSqliteStore(file)).close(); // the schema
  const db = new Database(file);
  const insert = db.prepare('INSERT INTO audit (seq, leaf, prev_hash, leaf_hash, chain_hash) VALUES (?, ?, ?, ?, ?)');
  let prev = GENESIS_HASH as Sha256Hex;
  for (let from = 1; from <= n; from += 50_000) {
    db.transaction(() => {
      for (let i = from; i < Math.min(n + 1, from + 50_000); i++) {
        const s = sealLeaf(prepareLeaf(benchDraft(i)), i, prev);
        insert.run(i, s.text, s.prevHash, s.leafHash, s.chainHash);
        prev = s.chainHash;
      }
    })();
  }
  db.close();
  // On disk before anything is timed: else the kernel writes the file back while verification is measured.
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return file;
}

/** Rows/s of stepping the rows of the columns verification reads, on one read-only connection, best of `rounds`. */
function rawRowReads(file: string, n: number, rounds: number): number {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare<[number, number], unknown[]>('SELECT seq, leaf, prev_hash, leaf_hash, chain_hash FROM audit WHERE seq >= ? AND seq < ?').raw();
    let best = 0;
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      let count = 0;
      for (let from = 1; from <= n; from += 10_000) for (const _ of rows.iterate(from, from + 10_000)) count++;
      if (count !== n) throw new Error(`read ${count} rows of ${n}`);
      best = Math.max(best, n / ((performance.now() - t0) / 1000));
    }
    return best;
  } finally {
    db.close();
  }
}

/** verifyStore on a long trail beside the raw row-read rate, measured in turns; and the row-by-row path it replaced. */
async function verifyFromStore(dir: string, size: AuditSize): Promise<BenchResult[]> {
  const n = size.trail;
  const file = await trailFile(dir, n);
  const store = await openSqliteStore(file);
  try {
    let threads = 0;
    const tuning = { ...DEFAULT_STORE_TUNING, ...(size.trail < DEFAULT_STORE_TUNING.parallelFrom ? { parallelFrom: 0, rangeRows: 256 } : {}), started: (k: number) => (threads = k) };
    // A signed checkpoint of the whole trail, as `airlock audit verify` then checks beside the chain.
    const signer = signerFromSeed('airlock/bench', Buffer.alloc(32, 7));
    if ('problem' in signer) throw new Error(signer.problem);
    await new Checkpointer(store, () => signer, { every: Number.MAX_SAFE_INTEGER, intervalMs: 3_600_000, now: () => new Date(), witnesses: [], onError: (e) => { throw e; } }).checkpoint();
    // Interleaved, so all four see the same load.
    let raw = 0;
    let verify = 0;
    let inJs = 0;
    let whole = 0;
    let passes = 0;
    for (let round = 0; round < size.rounds; round++) {
      raw = Math.max(raw, rawRowReads(file, n, 1));
      verify = Math.max(verify, await bestRate(n, 1, () => verifyStoreWith(store, {}, tuning)));
      inJs = Math.max(inJs, await bestRate(n, 1, () => verifyStoreWith(store, {}, { ...tuning, native: false })));
      whole = Math.max(
        whole,
        await bestRate(n, 1, async () => {
          const v = await verifyTrail(store, signer.verifier, [], [], tuning);
          passes = v.passes;
          const k = v.checkpoints;
          return v.chain.ok && k?.ok ? v.chain : { ok: false, message: k && !k.ok ? k.message : 'the chain failed' };
        }),
      );
    }
    const native = nativeRangeScan() !== null;
    const stored = withStoredText(store, file);
    let rows: number;
    try {
      rows = await bestRate(n, 1, () => verifyStore(stored.store));
    } finally {
      stored.close();
    }
    const load = os.loadavg()[0] ?? 0;
    return [
      {
        suite: SUITE,
        name: 'verifyStore from the SQLite store (ranges on verifier threads, C scan) vs raw row reads',
        metrics: {
          'records/s': verify,
          'raw row reads/s': raw,
          'ratio to raw row reads': verify / raw,
          'records/s, JavaScript scan': inJs,
          'C scan vs JavaScript scan': verify / inJs,
          records: n,
          threads,
          'C scan built': native ? 1 : 0,
        },
        notes: [
          `target ≥ 1,000,000 records/s; best of ${size.rounds}, the three measured in turns; load average ${load.toFixed(1)} on ${os.availableParallelism()} cores`,
          'raw row reads: stepping seq, leaf, prev_hash, leaf_hash, chain_hash on one read-only connection, a JavaScript value per column (better-sqlite3 .raw())',
          'verifyStore: every stored text checked canonical and UTF-8 and hashed, every link checked; whole ranges on threads with their own connections,',
          native
            ? '  each range scanned inside SQLite by native/audit-scan.c (audit_scan_range); JavaScript scan: the same ranges read as bytes and scanned in store-scan.ts'
            : '  the C scan is NOT built here (npm ci builds it): both rows are the JavaScript scan',
        ],
      },
      {
        suite: SUITE,
        name: '`airlock audit verify` from the SQLite store: the chain and its signed checkpoints (verifyTrail)',
        metrics: { 'records/s': whole, 'raw row reads/s': raw, 'ratio to raw row reads': whole / raw, 'records/s, chain only': verify, records: n, passes },
        notes: [
          'the chain as above, and the RFC 9162 tree of every leaf hash checked against the signed checkpoint (one, of the whole trail)',
          passes === 1
            ? '  in one pass: the verifier threads send the leaf hashes of the rows they accept (read in the scan\'s snapshot); the tree is extended in C (merkleExtend)'
            : '  in two passes: the leaf hashes read again after the chain (no verifier threads here)',
        ],
      },
      {
        suite: SUITE,
        name: 'verifyStore row by row on the stored text (a store with readAuditRows only)',
        metrics: { 'records/s': rows, 'raw row reads/s': raw, 'ratio to raw row reads': rows / raw, records: n },
        notes: ['what a store without readAuditRange gets (and what verifyStore did before), one thread'],
      },
    ];
  } finally {
    await store.close();
  }
}

/** Best-of-`rounds` records/s of `verify` over `n` records. */
async function bestRate(n: number, rounds: number, verify: () => Promise<{ ok: boolean; count?: number; message?: string }>): Promise<number> {
  let best = 0;
  for (let round = 0; round < rounds; round++) {
    const t0 = performance.now();
    const v = await verify();
    const dt = (performance.now() - t0) / 1000;
    if (!v.ok) throw new Error(`bench chain failed to verify: ${v.message ?? ''}`);
    best = Math.max(best, n / dt);
  }
  return best;
}

/** A valid chain of `n` records in memory, and its JSONL export. */
function buildChain(n: number): { records: ChainedRecord[]; jsonl: string[] } {
  const records: ChainedRecord[] = [];
  const jsonl: string[] = [];
  let prev = GENESIS_HASH as Sha256Hex;
  for (let i = 1; i <= n; i++) {
    const s = sealLeaf(prepareLeaf(benchDraft(i)), i, prev);
    prev = s.chainHash;
    // As a store hands it back: parsed from the stored canonical text.
    const r = { ...(JSON.parse(s.text) as AuditRecord), prevHash: s.prevHash, leafHash: s.leafHash, chainHash: s.chainHash };
    records.push(r);
    jsonl.push(exportLine(r));
  }
  return { records, jsonl };
}

/** How much the suite measures. */
interface AuditSize {
  /** fsync probe, and each append run, in ms. */
  readonly probeMs: number;
  readonly appendMs: number;
  /** Concurrent appenders of the group-commit runs. */
  readonly writers: readonly number[];
  /** Records in the in-memory chain, and verification rounds (best of). */
  readonly chain: number;
  readonly rounds: number;
  /** SHA-256 ceiling: records hashed per thread. */
  readonly shaPerThread: number;
  /** Records in the store's trail that verifyStore reads. */
  readonly trail: number;
}

const FULL: AuditSize = { probeMs: 1000, appendMs: 1500, writers: [64, 256], chain: 100_000, rounds: 3, shaPerThread: 200_000, trail: 1_000_000 };
const SMOKE: AuditSize = { probeMs: 50, appendMs: 60, writers: [8], chain: 500, rounds: 1, shaPerThread: 500, trail: 2000 };

/** Durable append (per record and group-committed) and verification throughput. */
export const run: BenchSuite = async (opts?: BenchOptions) => {
  const size = sized(opts, FULL, SMOKE);
  const results: BenchResult[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-audit-'));
  try {
    // Shared disks drift: measure before the append runs; the note after them says how much it moved.
    const fsyncs = fsyncRate(dir, size.probeMs);

    const store = await openSqliteStore(path.join(dir, 'audit.db'));
    try {
      const single = await appendRate(store, 1, size.appendMs);
      results.push({
        suite: SUITE,
        name: 'durable append, one commit per record (1 writer)',
        metrics: { 'records/s': single, 'commits/s': single, 'fsync-bound fraction': single / fsyncs },
        notes: ['SQLite WAL, synchronous=FULL: one fsync per commit'],
      });
      for (const writers of size.writers) {
        const rate = await appendRate(store, writers, size.appendMs);
        // Each flush takes every writer waiting at that moment: all of them, after the first round.
        const commits = rate / writers;
        results.push({
          suite: SUITE,
          name: `durable append, group commit (${writers} concurrent writers)`,
          metrics: {
            'records/s': rate,
            'commits/s': commits,
            'fsync-bound fraction': commits / fsyncs,
            'speedup vs 1 commit/record': rate / single,
          },
          notes: [`fsync-bound limit here: ${Math.round(fsyncs)} commits/s × ${writers} records = ${Math.round(fsyncs * writers)} records/s`],
        });
      }
      const fsyncsAfter = fsyncRate(dir, size.probeMs);
      results.unshift({
        suite: SUITE,
        name: 'disk fdatasync rate (4 KiB append + fdatasync)',
        metrics: { 'fsync/s': fsyncs, 'fsync/s after the append runs': fsyncsAfter },
        notes: [
          `disk under ${os.tmpdir()}: the ceiling for commits/s of any durable store on it`,
          'fractions below use the rate measured before the append runs',
        ],
      });
    } finally {
      await store.close();
    }

    results.push(...(await verifyFromStore(dir, size)));

    const n = size.chain;
    const { records, jsonl } = buildChain(n);
    results.push({
      suite: SUITE,
      name: 'verifyChain over records in memory (canonicalize + 2 SHA-256 each)',
      metrics: { 'records/s': await bestRate(n, size.rounds, () => verifyChain(records)), records: n },
      notes: [`target ≥ 1,000,000 records/s; best of ${size.rounds}`],
    });
    const text = jsonl.join('');
    const threads = defaultWorkers() + 1;
    const textChunks = (): string[] => Array.from({ length: Math.ceil(text.length / 65_536) }, (_, i) => text.slice(i * 65_536, (i + 1) * 65_536));
    const bytes = Buffer.from(text);
    const byteChunks = (): Buffer[] => Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) => bytes.subarray(i * 65_536, (i + 1) * 65_536));
    results.push({
      suite: SUITE,
      name: 'verifyJsonl over an export stream (hash the exported bytes, no re-canonicalizing)',
      metrics: { 'records/s': await bestRate(n, size.rounds + 2, () => verifyJsonl(Readable.from(textChunks()))), records: n, 'bytes/record': text.length / n, threads },
      notes: [`target ≥ 1,000,000 records/s; best of ${size.rounds + 2}; 64 KiB text chunks`],
    });
    results.push({
      suite: SUITE,
      name: 'verifyJsonl over an export as bytes (as a file stream gives it)',
      metrics: { 'records/s': await bestRate(n, size.rounds + 2, () => verifyJsonl(Readable.from(byteChunks()))), records: n, threads },
      notes: [`best of ${size.rounds + 2}; 64 KiB Buffer chunks, UTF-8 checked`],
    });
    const leafBytes = Math.round(jsonl.reduce((a, l) => a + Buffer.byteLength(l), 0) / n) - 247;
    const one = await shaCeiling(1, leafBytes, size.shaPerThread);
    const all = await shaCeiling(threads, leafBytes, size.shaPerThread);
    results.push({
      suite: SUITE,
      name: `SHA-256 ceiling: leaf (${leafBytes + 1} B) + chain (144 B) hash per record, crypto.hash`,
      metrics: { 'records/s': one, [`records/s on ${threads} threads`]: all },
      notes: [`what verification cannot beat here: 1 thread, and ${threads} threads at once (${os.availableParallelism()} cores)`],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
};
