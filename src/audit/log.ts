// The audit log over a Store: streaming verification and JSONL export. Records are written by `AuditWriter` (writer.ts); exports are verified offline by verify-jsonl.ts.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { AirlockError } from '../errors.js';
import type { AuditRecord, Store, StoredAuditRow } from '../store/store.js';
export type { StoredAuditRow };
import type { Sha256Hex } from '../types.js';
import { sha256Hex } from '../util/hash.js';
import { chainHash, GENESIS_HASH, leafHashOfText, type ChainAnchor } from './chain.js';
import { ChainVerifier, verifyChain, type ChainVerdict, type VerifyOptions } from './chain-verifier.js';
import { exportLine, payloadLine } from './export-line.js';
import { hashesIn } from './payload.js';
import { isCanonicalLeafText } from './scan.js';


/** What `exportJsonl` may include and where it starts. */
export interface ExportOptions {
  /** Also write the payloads each record refers to, one line each after the record (default false). */
  readonly payloads?: boolean;
  /** First seq to export (default 1); a later start needs `start` from the summary to verify. */
  readonly fromSeq?: number;
  /** Records per store read (default 10,000). */
  readonly batchSize?: number;
  /** Lines written after every record (the signed checkpoints, export-line.ts `checkpointLine`), given the head exported. */
  readonly trailer?: (head: ChainAnchor | null) => Promise<string>;
}

/** What an export wrote: counts, and the anchors an offline verifier needs. */
export interface ExportSummary {
  readonly records: number;
  readonly payloads: number;
  /** The record before the first exported one (null when the export starts at genesis). */
  readonly start: ChainAnchor | null;
  readonly head: ChainAnchor | null;
}

const DEFAULT_BATCH = 10_000;


/**
 * Writes the chain held by `store` to `out` as JSON lines (see `exportLine`), honouring
 * backpressure; with `payloads`, each stored payload a record's body refers to (by hash) follows
 * it on its own line (`payloadLine`), once. Does not end `out`.
 */
export async function exportJsonl(store: Store, out: Writable, opts: ExportOptions = {}): Promise<ExportSummary> {
  const fromSeq = Math.max(1, opts.fromSeq ?? 1);
  let start: ChainAnchor | null = null;
  if (fromSeq > 1) {
    const [before] = await store.readAudit(fromSeq - 1, 1);
    if (before) start = { seq: before.seq, chainHash: before.chainHash };
  }
  const seen = new Set<string>();
  let records = 0;
  let payloads = 0;
  let head: ChainAnchor | null = start;
  for await (const batch of readAuditBatches(store, fromSeq, opts.batchSize ?? DEFAULT_BATCH)) {
    let chunk = '';
    for (const r of batch) {
      chunk += exportLine(r);
      records++;
      head = { seq: r.seq, chainHash: r.chainHash };
      if (!opts.payloads) continue;
      for (const hash of hashesIn(r.body)) {
        if (seen.has(hash)) continue;
        seen.add(hash);
        const data = await store.getPayload(hash as Sha256Hex);
        if (data === null) continue; // deleted by retention (or not a payload hash at all)
        // Plain payloads hash to their address; anything else is keyed (or damaged, which verification will say).
        chunk += payloadLine(hash, data, sha256Hex(data) !== hash);
        payloads++;
      }
    }
    if (!out.write(chunk)) await once(out, 'drain');
  }
  if (opts.trailer && !out.write(await opts.trailer(head))) await once(out, 'drain');
  return { records, payloads, start, head };
}

/**
 * Exports the chain held by `store` to the file `file` (created or replaced), or to stdout when
 * `file` is null; resolves to the number of records written once the file is flushed.
 */
export async function exportStore(store: Store, file: string | null, opts: ExportOptions = {}): Promise<number> {
  if (file === null) return (await exportJsonl(store, process.stdout, opts)).records;
  // Write beside the target and rename at the end: a failed export never leaves a partial file.
  const tmp = `${file}.${process.pid}.partial`;
  const out = createWriteStream(tmp, { flags: 'wx' });
  try {
    const summary = await exportJsonl(store, out, opts);
    out.end();
    await finished(out);
    await rename(tmp, file);
    return summary.records;
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof AirlockError) throw e;
    throw new AirlockError('store', `cannot export the audit trail to \`${file}\`: ${(e as Error).message}`, {
      hint: 'check that the folder exists and is writable',
      location: { file },
      cause: e,
    });
  }
}

/** A stored audit row as the store holds it: the exact text its leaf hash covers, and its hashes. */

/**
 * A store that can hand back its audit rows as stored (`readAudit` order and paging). `verifyStore`
 * then hashes the stored text where it is canonical instead of rebuilding it from parsed records.
 */
export interface AuditTextSource {
  readAuditRows(fromSeq: number, limit: number): Promise<readonly StoredAuditRow[]>;
}

/**
 * Verifies the chain held by `store` (or the segment after `opts.start`), reading it in batches.
 * A store that is also an `AuditTextSource` is checked on its stored text while each row is intact,
 * in its place and in canonical form (scan.ts `isCanonicalLeafText`: then its text is the record's
 * leaf text); from the first row that is not, it goes on record by record, so the verdict is the same.
 */
export async function verifyStore(store: Store, opts: VerifyOptions & { readonly batchSize?: number } = {}): Promise<ChainVerdict> {
  const from = (opts.start?.seq ?? 0) + 1;
  const size = opts.batchSize ?? DEFAULT_BATCH;
  const source = store as Store & Partial<AuditTextSource>;
  if (typeof source.readAuditRows !== 'function') return verifyChain(readAuditBatches(store, from, size), opts);
  const want = opts.expectedHead;
  let expected = from;
  let prev: string = opts.start?.chainHash ?? GENESIS_HASH;
  let next = from;
  for (;;) {
    const rows = await source.readAuditRows(next, size);
    for (const r of rows) {
      // ChainVerifier's test for an intact record in its place, on the record the store would build from the row.
      if (
        r.seq !== expected ||
        r.prevHash !== prev ||
        (want !== undefined && want.seq === expected && want.chainHash !== r.chainHash) ||
        !isCanonicalLeafText(r.text, r.seq) ||
        leafHashOfText(r.text) !== r.leafHash ||
        chainHash(r.prevHash, r.leafHash) !== r.chainHash
      ) {
        const v = new ChainVerifier(opts, resumeAt(expected - from, expected - 1, prev));
        for await (const batch of readAuditBatches(store, r.seq, size)) for (const x of batch) if (!v.push(x)) return v.finish();
        return v.finish();
      }
      prev = r.chainHash;
      expected++;
    }
    if (rows.length < size) break;
    next = (rows[rows.length - 1] as StoredAuditRow).seq + 1;
  }
  return new ChainVerifier(opts, resumeAt(expected - from, expected - 1, prev)).finish();
}

function resumeAt(count: number, seq: number, chain: string): { head: ChainAnchor; count: number } | undefined {
  return count > 0 ? { head: { seq, chainHash: chain as Sha256Hex }, count } : undefined;
}

/** The store's records from `fromSeq` on, in batches of `batchSize`, in seq order. */
export async function* readAuditBatches(
  store: Store,
  fromSeq: number,
  batchSize: number = DEFAULT_BATCH,
): AsyncGenerator<readonly AuditRecord[]> {
  let next = fromSeq;
  for (;;) {
    const batch = await store.readAudit(next, batchSize);
    if (batch.length === 0) return;
    yield batch;
    next = (batch[batch.length - 1] as AuditRecord).seq + 1;
    if (batch.length < batchSize) return;
  }
}
