// Chunking a document's text (pure): bounded pieces with exact offsets, cut at paragraph, then sentence,
// then word boundaries where the text has them.
//
// Offsets are UTF-16 code unit indices into the document text, as JavaScript strings index it:
// `text.slice(chunk.start, chunk.end) === chunk.text` always holds. A cut never splits a surrogate pair.

/** One piece of a document: its number (from 0), where it lies in the text, and the text itself. */
export interface Chunk {
  readonly n: number;
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** The largest chunk `chunkText` makes by default, in UTF-16 code units. */
export const DEFAULT_CHUNK_CHARS = 1200;
/** The bounds a caller may choose the chunk size within. */
export const CHUNK_CHARS_RANGE = { min: 64, max: 16_000 } as const;

/**
 * Cuts `text` into chunks of at most `maxChars` code units, each trimmed of surrounding white space
 * (white-space-only stretches make no chunk). Within each window of `maxChars` the cut goes after the
 * last paragraph break (a blank line) in its later 70%, else after the last sentence end (`.`, `!`,
 * `?` followed by white space), else at the last white space, else at `maxChars`. Each window is
 * scanned once, backwards, never past its own start.
 */
export function chunkText(text: string, maxChars: number = DEFAULT_CHUNK_CHARS): Chunk[] {
  const max = Math.min(CHUNK_CHARS_RANGE.max, Math.max(CHUNK_CHARS_RANGE.min, Math.floor(maxChars)));
  const chunks: Chunk[] = [];
  let pos = skipSpace(text, 0, text.length);
  while (pos < text.length) {
    const cut = text.length - pos <= max ? text.length : cutPoint(text, pos, max);
    let end = cut;
    while (end > pos && isSpace(text.charCodeAt(end - 1))) end--;
    if (end > pos) chunks.push({ n: chunks.length, start: pos, end, text: text.slice(pos, end) });
    pos = skipSpace(text, cut, text.length);
  }
  return chunks;
}

/** Where the chunk starting at `pos` ends (exclusive), `pos + max` at the latest and after `pos`. */
function cutPoint(text: string, pos: number, max: number): number {
  const limit = pos + max;
  const floor = pos + Math.floor(max * 0.3);
  let sentence = -1;
  let space = -1;
  // One backward scan of the window: the first paragraph break found wins; remember the rest.
  for (let i = limit - 1; i > pos; i--) {
    const c = text.charCodeAt(i);
    if (c === 0x0a && i > floor && blankLineEndsAt(text, i, pos)) return i + 1;
    if (sentence < 0 && i > floor && isSpace(c) && isSentenceEnd(text.charCodeAt(i - 1))) sentence = i;
    if (space < 0 && isSpace(c)) space = i;
  }
  if (sentence > 0) return sentence;
  if (space > pos) return space;
  // No boundary at all: a hard cut, moved back one if it would split a surrogate pair.
  const hi = text.charCodeAt(limit - 1);
  return hi >= 0xd800 && hi <= 0xdbff && limit - 1 > pos ? limit - 1 : limit;
}

/** True when the newline at `i` ends a blank line (another newline before it, only spaces between). */
function blankLineEndsAt(text: string, i: number, floor: number): boolean {
  for (let j = i - 1; j > floor; j--) {
    const c = text.charCodeAt(j);
    if (c === 0x0a) return true;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return false;
}

function isSentenceEnd(c: number): boolean {
  return c === 0x2e || c === 0x21 || c === 0x3f || c === 0x3002;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d || c === 0x0c || c === 0x0b || c === 0xa0 || c === 0x3000;
}

function skipSpace(text: string, from: number, to: number): number {
  let i = from;
  while (i < to && isSpace(text.charCodeAt(i))) i++;
  return i;
}
