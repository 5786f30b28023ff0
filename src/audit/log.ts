// The audit log over a Store: streaming verification and JSONL export. Records are written by `AuditWriter` (writer.ts); exports are verified offline by verify-jsonl.ts.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { AirlockError } from '../errors.js';
import type { Store, StoredAuditRow } from '../store/store.js';
export type { StoredAuditRow };
import type { Sha256Hex } from '../types.js';
import { sha256Hex } from '../util/hash.js';
import { GuardedWriter } from '../util/write-stream.js';
import type { ChainAnchor } from './chain.js';
import type { ChainVerdict, VerifyOptions } from './chain-verifier.js';
import { exportLine, payloadLine } from './export-line.js';
import { hashesIn } from './payload.js';
import { DEFAULT_STORE_TUNING, readAuditBatches, verifyStoreWith } from './store-verify.js';
export type { AuditTextSource } from './store-verify.js';
export { readAuditBatches };


/** What `exportJsonl` may include and where it starts. */
export interface ExportOptions {
  /** Also write the payloads each record refers to, one line each after the record (default false). */
  readonly payloads?: boolean;
  /** First seq to export (default 1); a later start needs `start` from the summary to verify. */
  readonly fromSeq?: number;
  /** Records per store read (default 10,000). */
  readonly batchSize?: number;
  /** Lines written after every record (the signed checkpoints, export-line.ts `checkpointLine`), given the head exported. */
  readonly trailer?: (head: ChainAnchor | null, start: ChainAnchor | null) => Promise<string>;
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
 * it on its own line (`payloadLine`), once. Does not end `out`; fails (never hangs) once `out` failed or closed.
 */
export async function exportJsonl(store: Store, out: Writable, opts: ExportOptions = {}): Promise<ExportSummary> {
  // Before any await: a file that cannot be opened fails while the first records are read.
  const writer = new GuardedWriter(out);
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
    await writer.write(chunk);
  }
  if (opts.trailer) await writer.write(await opts.trailer(head, start));
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

/**
 * Verifies the chain held by `store` (or the segment after `opts.start`), with the verdict `ChainVerifier`
 * gives fed every record in order. A store that is an `AuditTextSource` is checked on its stored text
 * (store-verify.ts: in ranges, on threads for a long trail); `batchSize` is the rows per read.
 */
export async function verifyStore(store: Store, opts: VerifyOptions & { readonly batchSize?: number } = {}): Promise<ChainVerdict> {
  const size = opts.batchSize;
  return verifyStoreWith(store, opts, size === undefined ? DEFAULT_STORE_TUNING : { ...DEFAULT_STORE_TUNING, batchSize: size, rangeRows: size });
}
