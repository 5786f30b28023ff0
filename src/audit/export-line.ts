// The export's line format: a record line holding exactly the text its leaf hash covers, a payload line, and a record line split back.
import type { AuditRecord } from '../store/store.js';
import { leafText } from './chain.js';

const RECORD_PREFIX = '{"record":';
const PREV_KEY = ',"prevHash":"';
const LEAF_KEY = '","leafHash":"';
const CHAIN_KEY = '","chainHash":"';
const LINE_END = '"}';
const SUFFIX_LENGTH = PREV_KEY.length + LEAF_KEY.length + CHAIN_KEY.length + LINE_END.length + 3 * 64;
/** How every payload line starts. */
export const PAYLOAD_PREFIX = '{"payload":';

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

/** How every checkpoint line starts: the export's signed checkpoints follow its last record. */
export const CHECKPOINT_PREFIX = '{"checkpoint":';

/** One checkpoint line (with its newline): a signed checkpoint note. */
export function checkpointLine(note: string): string {
  return `${JSON.stringify({ checkpoint: note })}\n`;
}

/** How the last line of an export starts: its signed end (export-end.ts), after the checkpoint lines. */
export const END_PREFIX = '{"end":';

/** The export's last line (with its newline): its signed end. */
export function endLine(note: string): string {
  return `${JSON.stringify({ end: note })}\n`;
}

/** Splits a record line into its leaf text and hashes, or says why it is not one. */
export function splitRecordLine(line: string): { text: string; prev: string; leaf: string; chain: string } | string {
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
