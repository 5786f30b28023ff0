// A checkpoint of the audit trail (pure): the C2SP tlog-checkpoint text (https://c2sp.org/tlog-checkpoint)
// naming the log (its origin), the tree size and the RFC 9162 tree head, plus one extension line with
// the time it was made; signed as a C2SP signed note (signed-note.ts). What a checkpoint proves is
// checked in checkpoint-check.ts; making them is checkpoints.ts.
import { openNote, isKeyName, type NoteProblem, type NoteVerifier } from './signed-note.js';

/** What a checkpoint says: the log, how many records, their tree head, when. */
export interface Checkpoint {
  /** The log's name: the signing key's name (e.g. `airlock/acme-support`). */
  readonly origin: string;
  readonly size: number;
  /** The tree head of records 1..size, hex. */
  readonly rootHash: string;
  /** ISO-8601 time it was made. */
  readonly time: string;
}

const TIME_PREFIX = 'time ';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

/** The checkpoint's note text: origin, size, base64 tree head, then `time <ISO>`; each line ended by a newline. */
export function checkpointText(c: Checkpoint): string {
  if (!isKeyName(c.origin)) throw new TypeError(`\`${c.origin}\` is not a checkpoint origin`);
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new TypeError(`${c.size} is not a tree size`);
  if (!/^[0-9a-f]{64}$/.test(c.rootHash)) throw new TypeError('the tree head is not 64 hex digits');
  if (!ISO.test(c.time)) throw new TypeError(`\`${c.time}\` is not an ISO-8601 UTC time`);
  return `${c.origin}\n${c.size}\n${Buffer.from(c.rootHash, 'hex').toString('base64')}\n${TIME_PREFIX}${c.time}\n`;
}

/** Reads a checkpoint's text (as `checkpointText` writes it), or says what is wrong. */
export function parseCheckpointText(text: string): Checkpoint | NoteProblem {
  const lines = text.split('\n');
  if (lines.pop() !== '' || lines.length !== 4) return { problem: 'a checkpoint has four lines: origin, size, tree head, time' };
  const [origin, size, root, time] = lines as [string, string, string, string];
  if (!isKeyName(origin)) return { problem: `\`${origin}\` is not a checkpoint origin` };
  if (!/^(0|[1-9]\d{0,15})$/.test(size) || !Number.isSafeInteger(Number(size))) return { problem: `\`${size}\` is not a tree size` };
  const rootBytes = /^[A-Za-z0-9+/]{43}=$/.test(root) ? Buffer.from(root, 'base64') : null;
  if (!rootBytes || rootBytes.length !== 32 || rootBytes.toString('base64') !== root) return { problem: 'the tree head is not 32 bytes of base64' };
  if (!time.startsWith(TIME_PREFIX) || !ISO.test(time.slice(TIME_PREFIX.length))) return { problem: 'the last line is not `time <ISO-8601 UTC>`' };
  return { origin, size: Number(size), rootHash: rootBytes.toString('hex'), time: time.slice(TIME_PREFIX.length) };
}

/** A signed checkpoint opened with the log's verifier key: what it says, or why it cannot be trusted. */
export function openCheckpoint(note: string, verifier: NoteVerifier): Checkpoint | NoteProblem {
  const opened = openNote(note, verifier);
  if ('problem' in opened) return opened;
  const c = parseCheckpointText(opened.text);
  if ('problem' in c) return c;
  if (c.origin !== verifier.name) return { problem: `the checkpoint is of log \`${c.origin}\`, the key of \`${verifier.name}\`` };
  return c;
}
