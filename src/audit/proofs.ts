// Proofs from a store's trail (issue #15): that a record is in a signed checkpoint (inclusion) and that
// one signed checkpoint's trail is a prefix of another's (consistency), each node the tree head of a
// range of leaves streamed from the store (memory stays logarithmic in the trail). `checkProof`
// checks one offline with nothing but the log's verifier key.
import { AirlockError } from '../errors.js';
import type { StoredCheckpoint, Store } from '../store/store.js';
import { openCheckpoint } from './checkpoint.js';
import { leafHashOfText } from './chain.js';
import { splitRecordLine, exportLine } from './export-line.js';
import {
  consistencyRanges,
  extendFrontier,
  frontierHead,
  hashesIn,
  inclusionRanges,
  verifyConsistency,
  verifyInclusion,
  type Hash,
  type LeafRange,
} from './merkle.js';
import type { NoteVerifier } from './signed-note.js';

/** A record's inclusion in a signed checkpoint, as `airlock audit prove --record` writes it. */
export interface InclusionProofDoc {
  readonly kind: 'inclusion';
  readonly seq: number;
  /** The record's export line (what its leaf hash covers, and its hashes). */
  readonly record: string;
  readonly checkpoint: string;
  readonly proof: readonly string[];
}

/** The consistency of two signed checkpoints, as `airlock audit prove --from --to` writes it. */
export interface ConsistencyProofDoc {
  readonly kind: 'consistency';
  readonly from: string;
  readonly to: string;
  readonly proof: readonly string[];
}

export type ProofDoc = InclusionProofDoc | ConsistencyProofDoc;

const PAGE = 65_536;
const hex = (h: Hash): string => Buffer.from(h).toString('hex');

async function rangeHead(store: Store, [from, to]: LeafRange): Promise<Hash> {
  let frontier: Hash[] = [];
  for (let at = from; at < to; ) {
    const n = Math.min(PAGE, to - at);
    const bytes = await store.readLeafHashes(at + 1, n);
    if (bytes.length !== n * 32) throw missing(at + 1 + bytes.length / 32);
    frontier = extendFrontier(frontier, at - from, hashesIn(bytes));
    at += n;
  }
  return frontierHead(frontier);
}

function missing(seq: number): AirlockError {
  return new AirlockError('store-corrupt', `audit record #${seq} is missing from the trail a checkpoint covers`, { hint: 'run `airlock audit verify`: records were removed' });
}

async function checkpointOf(store: Store, size: number | undefined): Promise<StoredCheckpoint> {
  const c = size === undefined ? await store.latestCheckpoint() : await store.getCheckpoint(size);
  if (!c) {
    throw new AirlockError('input', size === undefined ? 'the trail has no signed checkpoint yet' : `there is no signed checkpoint of ${size} records`, {
      hint: size === undefined ? 'make one with `airlock audit checkpoint`' : '`airlock audit checkpoints` lists the sizes there are',
    });
  }
  return c;
}

/** The inclusion proof of record `seq` in the checkpoint of `size` records (default: the latest). */
export async function proveInclusion(store: Store, seq: number, size?: number): Promise<InclusionProofDoc> {
  const c = await checkpointOf(store, size);
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > c.size) {
    throw new AirlockError('input', `record #${seq} is not in the checkpoint of ${c.size} records`, { hint: `name a record from 1 to ${c.size}, or a later checkpoint` });
  }
  const [record] = await store.readAudit(seq, 1);
  if (!record || record.seq !== seq) throw missing(seq);
  const proof = await Promise.all(inclusionRanges(seq - 1, c.size).map((r) => rangeHead(store, r)));
  if (!verifyInclusion(Buffer.from(record.leafHash, 'hex'), seq - 1, c.size, proof, Buffer.from(c.rootHash, 'hex'))) {
    throw new AirlockError('store-corrupt', `record #${seq} does not prove into the checkpoint of ${c.size} records`, { hint: 'run `airlock audit verify`' });
  }
  return { kind: 'inclusion', seq, record: exportLine(record).trimEnd(), checkpoint: c.note, proof: proof.map(hex) };
}

/** The consistency proof from the checkpoint of `from` records to that of `to` (default: the latest). */
export async function proveConsistency(store: Store, from: number, to?: number): Promise<ConsistencyProofDoc> {
  const [a, b] = [await checkpointOf(store, from), await checkpointOf(store, to)];
  if (a.size > b.size) throw new AirlockError('input', `the checkpoint of ${a.size} records comes after that of ${b.size}`, { hint: 'give the smaller checkpoint as --from' });
  const proof = a.size === b.size || a.size === 0 ? [] : await Promise.all(consistencyRanges(a.size, b.size).map((r) => rangeHead(store, r)));
  return { kind: 'consistency', from: a.note, to: b.note, proof: proof.map(hex) };
}

/** Checks a proof document offline against the log's key: what it shows, or why it does not hold. */
export function checkProof(doc: unknown, verifier: NoteVerifier): { ok: true; message: string } | { ok: false; message: string } {
  const d = (typeof doc === 'object' && doc !== null ? doc : null) as { readonly [k: string]: unknown } | null;
  const raw: unknown = d?.['proof'];
  const proof =
    Array.isArray(raw) && raw.length <= 64 && raw.every((p) => typeof p === 'string' && /^[0-9a-f]{64}$/.test(p))
      ? raw.map((p) => new Uint8Array(Buffer.from(p as string, 'hex')))
      : null;
  if (!d || !proof) return { ok: false, message: 'not a proof written by `airlock audit prove` (a `proof` of at most 64 hashes)' };
  if (d['kind'] === 'inclusion' && typeof d['record'] === 'string' && typeof d['checkpoint'] === 'string' && Number.isSafeInteger(d['seq'])) {
    const c = openCheckpoint(d['checkpoint'], verifier);
    if ('problem' in c) return { ok: false, message: `the checkpoint: ${c.problem}` };
    const line = splitRecordLine(d['record']);
    if (typeof line === 'string') return { ok: false, message: `the record: ${line}` };
    const leaf = leafHashOfText(line.text);
    if (leaf !== line.leaf) return { ok: false, message: 'the record does not hash to its leaf hash' };
    const seq = d['seq'] as number;
    if (!verifyInclusion(Buffer.from(leaf, 'hex'), seq - 1, c.size, proof, Buffer.from(c.rootHash, 'hex'))) {
      return { ok: false, message: `record #${seq} is not in the signed checkpoint of ${c.size} records` };
    }
    return { ok: true, message: `record #${seq} is in the signed checkpoint of ${c.size} records (made ${c.time})` };
  }
  if (d['kind'] === 'consistency' && typeof d['from'] === 'string' && typeof d['to'] === 'string') {
    const a = openCheckpoint(d['from'], verifier);
    const b = openCheckpoint(d['to'], verifier);
    if ('problem' in a) return { ok: false, message: `the first checkpoint: ${a.problem}` };
    if ('problem' in b) return { ok: false, message: `the second checkpoint: ${b.problem}` };
    const holds =
      a.size === 0 ? proof.length === 0 : verifyConsistency(a.size, b.size, proof, Buffer.from(a.rootHash, 'hex'), Buffer.from(b.rootHash, 'hex'));
    if (!holds) return { ok: false, message: `the signed trail of ${a.size} records is not a prefix of the signed trail of ${b.size}: the history forked or was rewritten` };
    return { ok: true, message: `the signed trail of ${a.size} records (made ${a.time}) is a prefix of the signed trail of ${b.size} (made ${b.time})` };
  }
  return { ok: false, message: 'not a proof written by `airlock audit prove` (kind `inclusion` or `consistency`)' };
}
