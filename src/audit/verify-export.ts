// Offline verification of an export file with the log's public key (issue #15): the chain (verify-jsonl.ts),
// then the signed checkpoints after its records (every one must verify and name the tree head of the
// records at its size, and the last must cover every record), then its signed end (export-end.ts: the last
// line, naming the export's last record, so no cut of its end goes unseen), then, when given, the latest
// witnessed checkpoint. Three reads of the file, each streaming: memory stays small whatever its size.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { AirlockError } from '../errors.js';
import { CheckpointCheck, type CheckpointNote, type CheckpointVerdict } from './checkpoint-check.js';
import { CHECKPOINT_PREFIX, END_PREFIX, PAYLOAD_PREFIX, splitRecordLine } from './export-line.js';
import { openExportEnd, type ExportEnd } from './export-end.js';
import type { NoteVerifier } from './signed-note.js';
import { treeExtend } from './checkpoints.js';
import { verifyJsonl, type JsonlVerdict } from './verify-jsonl.js';

/** What an export's signed end says of it: it ends where it was made (and when), or why that cannot be told. */
export type EndVerdict = { readonly ok: true; readonly end: ExportEnd } | { readonly ok: false; readonly message: string };

/** What `verifyExportFile` found: the chain's verdict, and the checkpoints' and the end's (null without a key). */
export interface ExportVerdict {
  readonly chain: JsonlVerdict;
  readonly checkpoints: CheckpointVerdict | null;
  readonly end: EndVerdict | null;
  /** Checkpoint lines at the end of the export. */
  readonly checkpointLines: number;
}

/** The most checkpoint lines an export's trailer may hold (one per 1,000 records of a 100M-record trail). */
const MAX_TRAILER_LINES = 100_000;
const TAIL_CHUNK = 64 * 1024;

/** The most bytes of checkpoint lines an export may end with. */
const MAX_TRAILER_BYTES = 64 * 1024 * 1024;

/** Where the export's records end and its checkpoint lines begin (a byte offset), those notes in order, and its signed end. */
async function readTrailer(file: string): Promise<{ start: number; notes: string[]; end: string | null }> {
  const t = await readTrailerLines(file);
  const last = t.lines[t.lines.length - 1];
  const end = last?.startsWith(END_PREFIX) ? noteIn(last, 'end', 'the last line', file) : null;
  const notes = (end === null ? t.lines : t.lines.slice(0, -1)).map((line, i, all) => {
    if (line.startsWith(END_PREFIX)) throw new AirlockError('input', `line ${all.length - i + (end === null ? 0 : 1)} from the end is an export's end, and only the last line may be`, { location: { file } });
    return noteIn(line, 'checkpoint', `checkpoint line ${all.length - i} from the end`, file);
  });
  return { start: t.start, notes, end };
}

const isTrailerLine = (line: string): boolean => line.startsWith(CHECKPOINT_PREFIX) || line.startsWith(END_PREFIX);

/** Where the export's records end (a byte offset) and the trailer lines after them (checkpoints, its end), in order. */
async function readTrailerLines(file: string): Promise<{ start: number; lines: string[] }> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    for (let window = Math.min(size, TAIL_CHUNK); ; window = Math.min(size, window * 4)) {
      const from = size - window;
      const buf = Buffer.alloc(window);
      await fh.read(buf, 0, window, from);
      const notes: string[] = [];
      // Lines end at `end` (exclusive of their newline); walk them from the last.
      let end = buf.length > 0 && buf[buf.length - 1] === 0x0a ? buf.length - 1 : buf.length;
      for (;;) {
        const nl = buf.lastIndexOf(0x0a, end - 1);
        if (nl < 0 && from > 0) break; // the window starts inside this line: read more
        const line = buf.subarray(nl + 1, end).toString('utf8');
        if (!isTrailerLine(line)) return { start: from + end + (end < buf.length ? 1 : 0), lines: notes.reverse() };
        notes.push(line);
        if (notes.length > MAX_TRAILER_LINES) throw new AirlockError('input', `the export ends with more than ${MAX_TRAILER_LINES} checkpoint lines`, { location: { file } });
        if (nl < 0) return { start: 0, lines: notes.reverse() };
        end = nl;
      }
      if (window >= MAX_TRAILER_BYTES) throw new AirlockError('input', `the export's checkpoint lines are longer than ${MAX_TRAILER_BYTES} bytes`, { location: { file } });
    }
  } finally {
    await fh.close();
  }
}

/** Whether the signed end names the export's last record: it was not cut after it was made. */
function endVerdict(note: string | null, key: NoteVerifier, chain: JsonlVerdict): EndVerdict {
  if (note === null) {
    return { ok: false, message: 'the export has no signed end: lines were cut off its end, or an Airlock before signed export ends made it; a witness can still vouch for its checkpoints (--witness)' };
  }
  const end = openExportEnd(note, key);
  if ('problem' in end) return { ok: false, message: `its signed end does not verify: ${end.problem}` };
  if (!chain.ok) return { ok: false, message: 'the chain failed' };
  const head = chain.head ?? null;
  const first = head ? head.seq - chain.count + 1 : end.first;
  if (end.first !== first || end.last !== (head?.seq ?? end.first - 1) || (head !== null && end.chainHash !== head.chainHash)) {
    return { ok: false, message: `the export was cut: its signed end names records ${end.first} to ${end.last} (made ${end.time}), the file holds ${chain.count === 0 ? 'none' : `${first} to ${head?.seq ?? '?'}`}` };
  }
  return { ok: true, end };
}

/** The signed note a trailer line holds under `field` (`{"checkpoint":…}`, `{"end":…}`), or an input error naming the line (`which`). */
function noteIn(line: string, field: 'checkpoint' | 'end', which: string, file: string): string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    v = undefined;
  }
  const note = (v as Record<string, unknown> | undefined)?.[field];
  if (typeof note !== 'string' || Object.keys(v as object).length !== 1) {
    throw new AirlockError('input', `${which} is not \`{"${field}":"<signed note>"}\``, { location: { file } });
  }
  return note;
}

/**
 * Verifies an export file: its chain, then, with `key`, its signed checkpoints, and with `witnessed`,
 * a checkpoint a witness kept (it must be a prefix of this trail: a larger one means a removed tail, a
 * different head a forked history). Without `key` the checkpoints are counted, not checked.
 */
export async function verifyExportFile(
  file: string,
  opts: { readonly key?: NoteVerifier; readonly witnessed?: string; readonly auditKey?: Uint8Array | string } = {},
): Promise<ExportVerdict> {
  const { start, notes, end } = await readTrailer(file);
  const records = (): NodeJS.ReadableStream & AsyncIterable<Buffer> =>
    createReadStream(file, start > 0 ? { start: 0, end: start - 1 } : { start: 0, end: -1 }) as NodeJS.ReadableStream & AsyncIterable<Buffer>;
  const chain = await verifyJsonl(start > 0 ? records() : '', opts.auditKey !== undefined ? { auditKey: opts.auditKey } : {});
  if (!chain.ok || !opts.key) return { chain, checkpoints: null, end: null, checkpointLines: notes.length };
  const check = new CheckpointCheck(opts.key, [
    ...notes.map((note): CheckpointNote => ({ note, from: 'trail' })),
    ...(opts.witnessed !== undefined ? [{ note: opts.witnessed, from: 'witness' as const }] : []),
  ], treeExtend());
  if (start > 0) {
    const batch = Buffer.alloc(4096 * 32);
    let n = 0;
    for await (const line of createInterface({ input: records(), crlfDelay: Infinity })) {
      if (line.startsWith(PAYLOAD_PREFIX) || line === '') continue;
      const parts = splitRecordLine(line);
      // The chain check passed: every line is a record or a payload, so this holds.
      if (typeof parts === 'string') throw new AirlockError('internal', `a line the chain accepted is not a record: ${parts}`);
      batch.write(parts.leaf, n * 32, 'hex');
      if (++n === 4096) {
        check.push(batch);
        n = 0;
      }
    }
    check.push(batch.subarray(0, n * 32));
  }
  return { chain, checkpoints: check.finish(true), end: endVerdict(end, opts.key, chain), checkpointLines: notes.length };
}
