// The fast path of verification from a store (pure): a range of stored audit rows read as bytes, checked by the
// test `ChainVerifier` applies to an intact record in its place, and with it that each stored text is canonical.
// No imports: a verifier thread (store-verify-worker.ts) runs it on ranges it reads itself.

/**
 * Audit rows `from`.. as a store reads them in one go (what `AuditTextSource.readAuditRange` gives): the leaf texts
 * joined by 0x0A, and each hash column as its 64-character values joined by ',' (no separator after the last).
 */
export interface AuditRangeBytes {
  /** Rows read (their seqs lie in the range asked for; fewer than asked at the end of the trail or at a gap). */
  readonly rows: number;
  /** The highest seq read (0 when none): with `rows`, it says whether the seqs read are one unbroken run. */
  readonly lastSeq: number;
  /** Each row's stored leaf text, as UTF-8. */
  readonly leaves: Uint8Array;
  /** Each row's prevHash, leafHash and chainHash, as stored. */
  readonly prevs: Uint8Array;
  readonly leafHashes: Uint8Array;
  readonly chains: Uint8Array;
}

/** Ranges of audit rows read on a verifier thread, on a connection of its own. */
export interface AuditRangeReader {
  /** The rows with seqs `fromSeq` to `fromSeq + count - 1`. */
  read(fromSeq: number, count: number): AuditRangeBytes | Promise<AuditRangeBytes>;
  /**
   * The same range scanned where the store holds it (`scanAuditRange`'s answer on what `read` gives), when the
   * reader can; null when it cannot decide (then the range is read and scanned here).
   */
  scan?(fromSeq: number, count: number, wantSeq: number, wantChain: string): AuditRangeScan | null | Promise<AuditRangeScan | null>;
  /**
   * `scan` (when `decide`: else its scan is null), and the range's leaf hashes read in the same snapshot (32 bytes
   * each, in seq order; null when a stored value is no hash), for the checkpoints to be checked in the same pass.
   */
  scanLeaves?(fromSeq: number, count: number, wantSeq: number, wantChain: string, decide: boolean): ScanWithLeaves | Promise<ScanWithLeaves>;
  close(): void | Promise<void>;
}

/** A range's scan (null: not decided where the store holds it) and its leaf hashes (null: not all hashes). */
export interface ScanWithLeaves {
  readonly scan: AuditRangeScan | null;
  readonly leaves: Uint8Array | null;
}

/**
 * How a verifier thread opens an `AuditRangeReader` for a store: the JavaScript module it imports (a file
 * path), which exports `openAuditRanges(init)`, and `init` (structured-cloneable: a file, a connection string).
 */
export interface AuditRangeReaderSpec {
  readonly module: string;
  readonly init: unknown;
}

/** `crypto.hash(algorithm, data, 'hex')`, passed in so this file imports nothing. */
export type DigestHex = (algorithm: string, data: Uint8Array, encoding: 'hex') => string;

/**
 * native/audit-scan.c `scanRange`: this file's row test in C, given the range's byte strings, `rows`, `from`,
 * `wantSeq` and `wantChain` as bytes. 1: accepted; 0: not; -1: not decided there (a number only JavaScript can
 * judge), so the range is scanned here. Passed in (audit/native-scan.ts loads it) so this file imports nothing.
 */
export type NativeRangeScan = (
  leaves: Uint8Array,
  prevs: Uint8Array,
  leafHashes: Uint8Array,
  chains: Uint8Array,
  rows: number,
  from: number,
  wantSeq: number,
  wantChain: Uint8Array,
) => number;

/** What `scanAuditRange` found: all of the range accepted, or not (then nothing of it is). */
export interface AuditRangeScan {
  readonly ok: boolean;
  /** Rows accepted: all the range's rows, or 0. */
  readonly rows: number;
  /** prevHash of the first row and chainHash of the last ('' when none): the caller stitches ranges with them. */
  readonly firstPrev: string;
  readonly lastChain: string;
}

const REJECTED: AuditRangeScan = { ok: false, rows: 0, firstPrev: '', lastChain: '' };

/** How a range is scanned: SHA-256 (hex), the UTF-8 test, and the C scan when it is built (null: none). */
export interface RangeScanTools {
  readonly hash: DigestHex;
  readonly isUtf8: (b: Uint8Array) => boolean;
  readonly native: NativeRangeScan | null;
}

/**
 * Accepts the whole range or none of it. Accepted means: row `i` has seq `from + i`; its text is what
 * chain.ts `leafText` writes for the record a store reads back from it (`isCanonicalLeafText`'s test on
 * bytes: valid UTF-8, RFC 8785 form, the store's shape, seq `from + i`); `sha256(0x00 || text)` is its
 * leafHash; `sha256("airlock-chain-v1" || prevHash || leafHash)` its chainHash; its prevHash the previous
 * row's chainHash (the first row's is handed back to be checked by the caller); and `wantChain` at
 * `wantSeq`. That is `ChainVerifier`'s own test, row after row, on the records the store would build.
 *
 * INVARIANT: a range is accepted only whole. The seqs read are one unbroken run from `from` (`rows` of them,
 * the last `lastSeq`: the store's seqs are unique integers). Texts are framed by 0x0A, which a stored value
 * may contain; but every accepted text is canonical JSON (no 0x0A in it), so when exactly `rows` texts fill
 * the leaves, text `i` is row `i`'s. Hash values are framed by ',' with the total length fixed, and every
 * accepted one is 64 lowercase hex characters, so value `i` is row `i`'s. A range rejected part way says
 * nothing of its first rows: the caller verifies it row by row.
 *
 * Sound, not complete: keys with escapes or characters outside the BMP, `\u` escapes of anything but
 * control characters, and nesting past 64 levels are rejected though canonical (row by row then).
 * The C scan (`tools.native`) answers the same; where it cannot decide, the range is scanned here.
 */
export function scanAuditRange(r: AuditRangeBytes, from: number, wantSeq: number, wantChain: string, tools: RangeScanTools): AuditRangeScan {
  const n = r.rows;
  if (n === 0) {
    const empty = r.leaves.length === 0 && r.prevs.length === 0 && r.leafHashes.length === 0 && r.chains.length === 0;
    return empty ? { ok: true, rows: 0, firstPrev: '', lastChain: '' } : REJECTED;
  }
  const width = n * 65 - 1;
  if (r.lastSeq !== from + n - 1 || r.prevs.length !== width || r.leafHashes.length !== width || r.chains.length !== width) return REJECTED;
  const native = tools.native?.(r.leaves, r.prevs, r.leafHashes, r.chains, n, from, wantSeq, asciiBytes(wantChain)) ?? -1;
  if (native === 0 || (native < 0 && !(tools.isUtf8(r.leaves) && scanRows(r, from, wantSeq, wantChain, tools.hash)))) return REJECTED;
  return { ok: true, rows: n, firstPrev: ascii(r.prevs, 0, 64), lastChain: ascii(r.chains, width - 64, width) };
}

/** The row test in JavaScript (what native/audit-scan.c does in C): whether every row is accepted. */
function scanRows(r: AuditRangeBytes, from: number, wantSeq: number, wantChain: string, hash: DigestHex): boolean {
  const n = r.rows;
  const L = r.leaves;
  const P = r.prevs;
  const H = r.leafHashes;
  const C = r.chains;
  const chainInput = new Uint8Array(16 + 128);
  for (let k = 0; k < 16; k++) chainInput[k] = DOMAIN.charCodeAt(k);
  let lp = 0;
  for (let i = 0; i < n; i++) {
    const seq = from + i;
    const last = i === n - 1;
    const at = i * 65;
    if (!last && (P[at + 64] !== 44 || H[at + 64] !== 44 || C[at + 64] !== 44)) return false;
    if (i > 0 && !same64(P, at, C, at - 65)) return false;
    const end = leafTextEnd(L, lp, seq);
    if (end < 0 || (last ? end !== L.length : L[end] !== 10)) return false;
    // sha256(0x00 || text): the 0x00 over the newline before the text (the first text is copied).
    let leafHex: string;
    if (lp === 0) {
      const first = new Uint8Array(end + 1);
      first.set(L.subarray(0, end), 1);
      leafHex = hash('sha256', first, 'hex');
    } else {
      L[lp - 1] = 0;
      leafHex = hash('sha256', L.subarray(lp - 1, end), 'hex');
      L[lp - 1] = 10;
    }
    if (!hexAt(H, at, leafHex)) return false;
    chainInput.set(P.subarray(at, at + 64), 16);
    chainInput.set(H.subarray(at, at + 64), 80);
    const chainHex = hash('sha256', chainInput, 'hex');
    if (!hexAt(C, at, chainHex) || (seq === wantSeq && chainHex !== wantChain)) return false;
    lp = end + 1;
  }
  return true;
}

/** The ASCII bytes of `s`. */
function asciiBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let k = 0; k < s.length; k++) b[k] = s.charCodeAt(k) & 0xff;
  return b;
}

/** The bytes [from, to) of `b` as a string, one character per byte. */
function ascii(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let k = from; k < to; k++) s += String.fromCharCode(b[k] as number);
  return s;
}

const DOMAIN = 'airlock-chain-v1';

/** Whether the 64 bytes at `x` in `a` and at `y` in `b` are the same. */
function same64(a: Uint8Array, x: number, b: Uint8Array, y: number): boolean {
  for (let k = 0; k < 64; k++) if (a[x + k] !== b[y + k]) return false;
  return true;
}

/** Whether the 64 characters of `hex` are at `at`. */
function hexAt(b: Uint8Array, at: number, hex: string): boolean {
  for (let k = 0; k < 64; k++) if (b[at + k] !== hex.charCodeAt(k)) return false;
  return true;
}

/** Whether `s` (ASCII) is at `i`: the index after it, or -1. */
function lit(b: Uint8Array, i: number, s: string): number {
  if (i < 0) return -1;
  for (let k = 0; k < s.length; k++) if (b[i + k] !== s.charCodeAt(k)) return -1;
  return i + s.length;
}

/**
 * The end of the canonical leaf text at `i` (what chain.ts `leafTextFrom` writes, with seq `seq`), or -1:
 * `{"body":{…},"onBehalfOf":…,"principal":…,"runId":…,"schemaVersion":…,"seq":…,"time":…,"type":…}`.
 */
function leafTextEnd(b: Uint8Array, i: number, seq: number): number {
  i = lit(b, i, '{"body":');
  if (i < 0 || b[i] !== 123 || (i = valueEnd(b, i)) < 0) return -1;
  if ((i = lit(b, i, ',"onBehalfOf":')) < 0 || (i = nullableEnd(b, i)) < 0) return -1;
  if ((i = lit(b, i, ',"principal":')) < 0 || (i = nullableEnd(b, i)) < 0) return -1;
  if ((i = lit(b, i, ',"runId":')) < 0 || (i = nullableEnd(b, i)) < 0) return -1;
  if ((i = lit(b, i, ',"schemaVersion":')) < 0 || (i = numberEnd(b, i)) < 0 || !Number.isSafeInteger(number.value)) return -1;
  if ((i = lit(b, i, ',"seq":')) < 0 || (i = numberEnd(b, i)) < 0 || number.value !== seq) return -1;
  if ((i = lit(b, i, ',"time":')) < 0 || (i = stringEnd(b, i)) < 0) return -1;
  if ((i = lit(b, i, ',"type":')) < 0 || (i = stringEnd(b, i)) < 0) return -1;
  return b[i] === 125 ? i + 1 : -1;
}

/** The end of a string or null at `i`, or -1. */
function nullableEnd(b: Uint8Array, i: number): number {
  return b[i] === 110 ? lit(b, i, 'null') : stringEnd(b, i);
}

/**
 * The end of the string at `i` if JSON.stringify writes it so, or -1: no `"`, `\` or control character
 * unescaped; escapes `\"` `\\` `\b` `\f` `\n` `\r` `\t`, and lowercase `\u00xx` for the other control
 * characters. Other bytes pass: the caller checked the whole as UTF-8 (which holds no lone surrogate,
 * and a pair JSON.stringify writes as it is).
 */
function stringEnd(b: Uint8Array, i: number): number {
  if (b[i] !== 34) return -1;
  i++;
  const n = b.length;
  for (;;) {
    let c = 0;
    while (i < n && (c = b[i] as number) >= 32 && c !== 34 && c !== 92) i++;
    if (i >= n || c < 32) return -1;
    if (c === 34) return i + 1;
    // A backslash.
    const e = b[i + 1];
    if (e === 34 || e === 92 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) {
      i += 2;
      continue;
    }
    if (e !== 117 || b[i + 2] !== 48 || b[i + 3] !== 48) return -1;
    const h = b[i + 4];
    const l = b[i + 5] as number;
    // \u0000-\u0007, \u000b, \u000e, \u000f, \u0010-\u001f (lowercase): those without a short escape.
    const ok = h === 48 ? (l >= 48 && l <= 55) || l === 98 || l === 101 || l === 102 : h === 49 && ((l >= 48 && l <= 57) || (l >= 97 && l <= 102));
    if (!ok) return -1;
    i += 6;
  }
}

/** A key at `i`: `"` plain characters of the BMP, no escapes, `"` (the same key order as UTF-16 code units). */
function keyEnd(b: Uint8Array, i: number): number {
  if (b[i] !== 34) return -1;
  i++;
  const n = b.length;
  let c = 0;
  while (i < n && (c = b[i] as number) >= 32 && c !== 34 && c !== 92 && c < 240) i++;
  return i < n && c === 34 ? i + 1 : -1;
}

const number = { value: 0 };

/**
 * The end of the number at `i` if it is written as JSON.stringify writes its value (-1 if not); `number.value`
 * gets it. Integers of up to 15 digits are that form by reading; anything else is checked against `String`.
 */
function numberEnd(b: Uint8Array, i: number): number {
  const start = i;
  let negative = false;
  if (b[i] === 45) {
    negative = true;
    i++;
  }
  const intStart = i;
  let c = b[i];
  let v = 0;
  if (c === 48) {
    i++;
  } else if (c !== undefined && c >= 49 && c <= 57) {
    while ((c = b[i]) !== undefined && c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      i++;
    }
  } else {
    return -1;
  }
  const intDigits = i - intStart;
  let plain = true;
  if (b[i] === 46) {
    plain = false;
    i++;
    const f = i;
    while ((c = b[i]) !== undefined && c >= 48 && c <= 57) i++;
    if (i === f) return -1;
  }
  if (b[i] === 101) {
    plain = false;
    i++;
    if (b[i] === 43 || b[i] === 45) i++;
    const e = i;
    while ((c = b[i]) !== undefined && c >= 48 && c <= 57) i++;
    if (i === e) return -1;
  }
  if (plain && intDigits <= 15 && !(negative && v === 0)) {
    number.value = negative ? -v : v;
    return i;
  }
  let token = '';
  for (let k = start; k < i; k++) token += String.fromCharCode(b[k] as number);
  const value = Number(token);
  if (String(value) !== token) return -1;
  number.value = value;
  return i;
}

const MAX_DEPTH = 64;
// Open containers (reused: the scan is synchronous): whether each is an object, and where its last key is.
const isObject: boolean[] = [];
const lastKey: number[] = [];
const lastKeyEnd: number[] = [];

/** Whether the key at [a, aEnd) sorts strictly before the one at [c, cEnd) (UTF-8 bytes; BMP only, so as UTF-16). */
function keyBefore(b: Uint8Array, a: number, aEnd: number, c: number, cEnd: number): boolean {
  for (; a < aEnd && c < cEnd; a++, c++) {
    const x = b[a] as number;
    const y = b[c] as number;
    if (x !== y) return x < y;
  }
  return a === aEnd && c < cEnd;
}

/** Reads `"key":` at `i` in the object at `level`, after its previous key and in order: the end, or -1. */
function memberKey(b: Uint8Array, i: number, level: number): number {
  const end = keyEnd(b, i);
  if (end < 0) return -1;
  const prev = lastKey[level] as number;
  if (prev >= 0 && !keyBefore(b, prev, lastKeyEnd[level] as number, i + 1, end - 1)) return -1;
  lastKey[level] = i + 1;
  lastKeyEnd[level] = end - 1;
  return b[end] === 58 ? end + 1 : -1;
}

/** The end of the canonical JSON value at `i` (containers nested at most MAX_DEPTH deep), or -1. */
function valueEnd(b: Uint8Array, i: number): number {
  let depth = 0;
  let c = b[i];
  for (;;) {
    // A value at i.
    if (c === 123 || c === 91) {
      const close = c === 123 ? 125 : 93;
      if (b[i + 1] === close) {
        i += 2;
      } else {
        if (depth === MAX_DEPTH) return -1;
        isObject[depth] = c === 123;
        lastKey[depth] = -1;
        lastKeyEnd[depth] = -1;
        depth++;
        i++;
        if (c === 123 && (i = memberKey(b, i, depth - 1)) < 0) return -1;
        c = b[i];
        continue;
      }
    } else if (c === 34) {
      if ((i = stringEnd(b, i)) < 0) return -1;
    } else if (c === 116) {
      if ((i = lit(b, i, 'true')) < 0) return -1;
    } else if (c === 102) {
      if ((i = lit(b, i, 'false')) < 0) return -1;
    } else if (c === 110) {
      if ((i = lit(b, i, 'null')) < 0) return -1;
    } else if ((i = numberEnd(b, i)) < 0) {
      return -1;
    }
    // After a value: close what ends here, then a comma and (in an object) the next key.
    for (;;) {
      if (depth === 0) return i;
      c = b[i];
      const inObject = isObject[depth - 1] as boolean;
      if (c === 44) {
        i++;
        if (inObject && (i = memberKey(b, i, depth - 1)) < 0) return -1;
        break;
      }
      if (c !== (inObject ? 125 : 93)) return -1;
      i++;
      depth--;
    }
    c = b[i];
  }
}
