// The signed end of an export (pure but for signing): the last line of `airlock audit export` names the records the
// export holds (the first and last seq, the last record's chain hash) and when it was made, signed with the log's key.
// Cutting records off an export's end, with or without the checkpoint lines after them, leaves a file whose last record
// is not the one its signed end names, or no signed end at all: `audit verify --export --key` fails either way. Only
// the key's holder can sign another end; against that, witnesses (witness.ts).
import { GENESIS_HASH, type ChainAnchor } from './chain.js';
import { isKeyName, openNote, signNote, type NoteProblem, type NoteSigner, type NoteVerifier } from './signed-note.js';

/** What an export's signed end says. */
export interface ExportEnd {
  /** The log: the signing key's name. */
  readonly origin: string;
  /** The seq of the first record exported, and of the last (first - 1 for an export of no records). */
  readonly first: number;
  readonly last: number;
  /** The chain hash of the last record (of the record before the first, for an export of no records). */
  readonly chainHash: string;
  /** ISO-8601 time the export was made. */
  readonly time: string;
}

/** The first line of every export end's text: no checkpoint origin can be it (a key name has no spaces). */
const HEADER = 'airlock export end';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const SEQ = /^(0|[1-9]\d{0,15})$/;

/** The end of an export whose records follow `start` (null: from the first) and end at `head` (null: none). */
export function exportEndOf(origin: string, start: ChainAnchor | null, head: ChainAnchor | null, time: string): ExportEnd {
  const first = (start?.seq ?? 0) + 1;
  return { origin, first, last: head?.seq ?? first - 1, chainHash: head?.chainHash ?? start?.chainHash ?? GENESIS_HASH, time };
}

/** The end's note text: the header, origin, first and last seq, chain hash, time; each line ended by a newline. */
export function exportEndText(e: ExportEnd): string {
  if (!isKeyName(e.origin)) throw new TypeError(`\`${e.origin}\` is not a log origin`);
  if (!Number.isSafeInteger(e.first) || e.first < 1 || !Number.isSafeInteger(e.last) || e.last < e.first - 1) throw new TypeError(`records ${e.first} to ${e.last} are no range`);
  if (!/^[0-9a-f]{64}$/.test(e.chainHash)) throw new TypeError('the chain hash is not 64 hex digits');
  if (!ISO.test(e.time)) throw new TypeError(`\`${e.time}\` is not an ISO-8601 UTC time`);
  return `${HEADER}\n${e.origin}\n${e.first}\n${e.last}\n${e.chainHash}\n${e.time}\n`;
}

/** The end signed with the log's key. */
export function signExportEnd(e: ExportEnd, signer: NoteSigner): string {
  return signNote(exportEndText(e), signer);
}

/** The end a note says, if `verifier` signed it and it reads as one; else what is wrong. */
export function openExportEnd(note: string, verifier: NoteVerifier): ExportEnd | NoteProblem {
  const opened = openNote(note, verifier);
  if ('problem' in opened) return opened;
  const lines = opened.text.split('\n');
  if (lines.pop() !== '' || lines.length !== 6 || lines[0] !== HEADER) return { problem: `an export end has six lines, the first \`${HEADER}\`` };
  const [, origin, first, last, chain, time] = lines as [string, string, string, string, string, string];
  if (origin !== verifier.name) return { problem: `it is the end of an export of \`${origin}\`, not of \`${verifier.name}\`` };
  if (!SEQ.test(first) || !SEQ.test(last) || Number(first) < 1 || Number(last) < Number(first) - 1) return { problem: 'its records are no range of seqs' };
  if (!/^[0-9a-f]{64}$/.test(chain)) return { problem: 'its chain hash is not 64 hex digits' };
  if (!ISO.test(time)) return { problem: 'its time is not ISO-8601 UTC' };
  return { origin, first: Number(first), last: Number(last), chainHash: chain, time };
}
