// The audit log over a Store: payload hashing (HMAC when sensitive), streaming verification, JSONL export and offline verification. Records are written by `AuditWriter` (writer.ts).
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { AirlockError } from '../errors.js';
import type { AuditPayload, AuditRecord, Store } from '../store/store.js';
import type { Json, Sha256Hex } from '../types.js';
import { canonicalJson, hashJson, hmacJson, sha256Hex } from '../util/hash.js';
import { ChainVerifier, leafText, verifyChain, type ChainAnchor, type ChainVerdict, type VerifyOptions } from './chain.js';

/** What `exportJsonl` may include and where it starts. */
export interface ExportOptions {
  /** Also write the payloads each record refers to, one line each after the record (default false). */
  readonly payloads?: boolean;
  /** First seq to export (default 1); a later start needs `start` from the summary to verify. */
  readonly fromSeq?: number;
  /** Records per store read (default 10,000). */
  readonly batchSize?: number;
}

/** What an export wrote: counts, and the anchors an offline verifier needs. */
export interface ExportSummary {
  readonly records: number;
  readonly payloads: number;
  /** The record before the first exported one (null when the export starts at genesis). */
  readonly start: ChainAnchor | null;
  readonly head: ChainAnchor | null;
}

/** Options of `verifyJsonl`: the chain anchors, and the audit key to check keyed payloads. */
export interface JsonlVerifyOptions extends VerifyOptions {
  readonly auditKey?: Uint8Array | string;
}

/** A chain verdict plus what was learnt about the payload lines of the export. */
export type JsonlVerdict = ChainVerdict & {
  readonly payloads: { readonly verified: number; readonly unverifiable: number };
};

const DEFAULT_BATCH = 10_000;
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * A payload to store apart from the chain, addressed by hash: SHA-256 of its canonical JSON, or
 * HMAC-SHA-256 under the audit key `key` when `sensitive` (confidential or restricted data), so the
 * hash in the chain reveals nothing guessable. The one definition of payload hashing: `AuditWriter`
 * builds its payload refs with it and `verifyJsonl` recomputes keyed payloads with it.
 */
export function payloadOf(key: Uint8Array | string, value: Json, sensitive: boolean): AuditPayload {
  return { hash: sensitive ? hmacJson(key, value) : hashJson(value), data: canonicalJson(value) };
}

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

/** Verifies the chain held by `store` (or the segment after `opts.start`), reading it in batches. */
export function verifyStore(store: Store, opts: VerifyOptions & { readonly batchSize?: number } = {}): Promise<ChainVerdict> {
  const from = (opts.start?.seq ?? 0) + 1;
  return verifyChain(readAuditBatches(store, from, opts.batchSize ?? DEFAULT_BATCH), opts);
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

const RECORD_PREFIX = '{"record":';
const PREV_KEY = ',"prevHash":"';
const LEAF_KEY = '","leafHash":"';
const CHAIN_KEY = '","chainHash":"';
const LINE_END = '"}';
const SUFFIX_LENGTH = PREV_KEY.length + LEAF_KEY.length + CHAIN_KEY.length + LINE_END.length + 3 * 64;
const PAYLOAD_PREFIX = '{"payload":';

/**
 * One export line (with its newline): `{"record":<canonical record>,"prevHash":…,"leafHash":…,"chainHash":…}`.
 * The record is written in exactly the canonical form its leaf hash covers, so an offline verifier
 * hashes the bytes it reads (any changed byte shows) and never has to re-canonicalize.
 */
export function exportLine(r: AuditRecord): string {
  return `${RECORD_PREFIX}${leafText(r)}${PREV_KEY}${r.prevHash}${LEAF_KEY}${r.leafHash}${CHAIN_KEY}${r.chainHash}${LINE_END}\n`;
}

/** One payload line (with its newline); `keyed`: the hash is an HMAC under the audit key. */
export function payloadLine(hash: string, data: string, keyed: boolean): string {
  return `${JSON.stringify({ payload: { hash, keyed, data } })}\n`;
}

/**
 * Verifies an export offline: the chain (from genesis, or after `opts.start`), and each payload
 * line against its hash (keyed ones only when `opts.auditKey` is given; else they are counted as
 * unverifiable). Takes the whole text or a stream of chunks (a `Readable` is one).
 */
export async function verifyJsonl(
  input: string | AsyncIterable<string | Uint8Array>,
  opts: JsonlVerifyOptions = {},
): Promise<JsonlVerdict> {
  const v = new ChainVerifier(opts);
  const payloads = { verified: 0, unverifiable: 0 };
  let lastSeq = opts.start?.seq ?? 0;
  let failure: ChainVerdict | null = null;

  const onLine = (line: string): boolean => {
    if (line.startsWith(PAYLOAD_PREFIX)) {
      const problem = checkPayload(line, opts.auditKey, payloads);
      if (problem === null) return true;
      const chain = v.finish();
      failure = chain.ok
        ? { ok: false, seq: lastSeq, problem: 'changed', message: `${problem} (the payload line after record ${lastSeq})` }
        : chain;
      return false;
    }
    const parts = splitRecordLine(line);
    const more = typeof parts === 'string' ? v.pushMalformed(parts) : v.pushText(parts.text, parts.prev, parts.leaf, parts.chain);
    lastSeq++;
    return more;
  };

  if (typeof input === 'string') {
    const lines = input.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) if (!onLine(line)) break;
  } else {
    const decoder = new TextDecoder('utf-8', { fatal: false });
    let rest = '';
    let going = true;
    for await (const chunk of input) {
      rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      let nl: number;
      let from = 0;
      while (going && (nl = rest.indexOf('\n', from)) >= 0) {
        going = onLine(rest.slice(from, nl));
        from = nl + 1;
      }
      rest = rest.slice(from);
      if (!going) break;
    }
    rest += decoder.decode();
    if (going && rest !== '') onLine(rest);
  }
  return { ...(failure ?? v.finish()), payloads };
}

/** Splits a record line into its leaf text and hashes, or says why it is not one. */
function splitRecordLine(line: string): { text: string; prev: string; leaf: string; chain: string } | string {
  if (line === '') return 'an empty line';
  const t = line.length - SUFFIX_LENGTH;
  if (!line.startsWith(RECORD_PREFIX) || t <= RECORD_PREFIX.length) return 'not an audit record line';
  const prevAt = t + PREV_KEY.length;
  const leafAt = prevAt + 64 + LEAF_KEY.length;
  const chainAt = leafAt + 64 + CHAIN_KEY.length;
  if (
    !line.startsWith(PREV_KEY, t) ||
    !line.startsWith(LEAF_KEY, prevAt + 64) ||
    !line.startsWith(CHAIN_KEY, leafAt + 64) ||
    !line.startsWith(LINE_END, chainAt + 64)
  ) {
    return 'the hashes after the record are not in the export layout';
  }
  return {
    text: line.slice(RECORD_PREFIX.length, t),
    prev: line.slice(prevAt, prevAt + 64),
    leaf: line.slice(leafAt, leafAt + 64),
    chain: line.slice(chainAt, chainAt + 64),
  };
}

/** Null when the payload line is intact (or keyed without a key to check it), else what is wrong. */
function checkPayload(
  line: string,
  key: Uint8Array | string | undefined,
  counts: { verified: number; unverifiable: number },
): string | null {
  let p: { hash?: unknown; keyed?: unknown; data?: unknown } | undefined;
  try {
    p = (JSON.parse(line) as { payload?: typeof p }).payload;
  } catch {
    return 'a payload line is not valid JSON';
  }
  if (typeof p !== 'object' || p === null || typeof p.hash !== 'string' || typeof p.data !== 'string' || typeof p.keyed !== 'boolean') {
    return 'a payload line does not have the shape {"payload":{"hash","keyed","data"}}';
  }
  if (p.keyed && key === undefined) {
    counts.unverifiable++;
    return null;
  }
  const mismatch = `payload \`${p.hash}\` does not match its ${p.keyed ? 'HMAC' : 'hash'}`;
  let value: Json;
  try {
    value = JSON.parse(p.data) as Json;
  } catch {
    return mismatch;
  }
  // Recompute exactly as the writer did; the data must also be byte for byte its canonical form.
  const expected = payloadOf(key ?? '', value, p.keyed);
  if (expected.hash !== p.hash || expected.data !== p.data) return mismatch;
  counts.verified++;
  return null;
}

/** Every 64-hex string anywhere in a body: the candidates for payload references. */
function hashesIn(v: Json, out: string[] = []): string[] {
  if (typeof v === 'string') {
    if (v.length === 64 && HEX64.test(v)) out.push(v);
  } else if (Array.isArray(v)) {
    for (const x of v as readonly Json[]) hashesIn(x, out);
  } else if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) hashesIn(x, out);
  }
  return out;
}
