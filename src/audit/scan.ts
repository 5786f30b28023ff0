// Fast paths of audit verification (pure): scan a batch of export lines, as bytes, applying exactly the
// test `ChainVerifier` applies to an intact record in its place, and stop at the first line that fails it.
// Self-contained: parallel.ts ships `scanJsonl` to worker threads as source, so it names nothing but globals.

/** `crypto.hash(algorithm, data, 'hex')`, passed in so the scanner stays free of imports. */
export type HexHash = (algorithm: string, data: Uint8Array | string, encoding: 'hex') => string;

/** `buffer.isUtf8`, passed in for the same reason. */
export type Utf8Check = (data: Uint8Array) => boolean;

/** What `scanJsonl` accepted from the start of a batch of whole lines. */
export interface JsonlScan {
  /** Byte offset of the first line not accepted (the batch's length when all were). */
  readonly end: number;
  /** Whether every line was accepted. */
  readonly all: boolean;
  /** Lines accepted: record and payload lines; the index of the line at `end`. */
  readonly lines: number;
  /** Record lines accepted. */
  readonly records: number;
  /** seq and prevHash of the first record accepted (NaN and '' when none): the caller checks the link. */
  readonly firstSeq: number;
  readonly firstPrev: string;
  /** chainHash of the last record accepted ('' when none). */
  readonly lastChain: string;
  /** Payload lines among those accepted, for the caller to check: [start, end, line index, records before it], flat. */
  readonly payloads: readonly number[];
  /** chainHash of the record before each payload line ('' when none in this batch). */
  readonly payloadChains: readonly string[];
}

/**
 * Accepts record lines `{"record":<text>,"prevHash":…,"leafHash":…,"chainHash":…}` (export-line.ts `exportLine`)
 * from the start of `b` (whole lines, the last one with or without its newline) while each is intact
 * and in its place: seq one past the previous record's (the first record's seq is taken as claimed),
 * prevHash the previous record's chainHash (the first's taken as claimed), `sha256(0x00 || text)` equal
 * to leafHash, the chain hash adding up, and `wantChain` at `wantSeq`. Payload lines are passed over and
 * listed. The text must be valid UTF-8 (checked with `isUtf8`; null when `b` was encoded from a string,
 * which is valid by construction): then it is exactly what a decoder hands the verifier, so this is
 * `ChainVerifier.accepts` on the decoded line. Leaves `b` as it found it (it writes the 0x00 prefix over
 * the byte before the text while hashing).
 */
export function scanJsonl(b: Buffer, hash: HexHash, isUtf8: Utf8Check | null, wantSeq: number, wantChain: string): JsonlScan {
  const DOMAIN = 'airlock-chain-v1';
  const RECORD = '{"record":';
  const PAYLOAD = '{"payload":';
  const PREV_KEY = ',"prevHash":"';
  const LEAF_KEY = '","leafHash":"';
  const CHAIN_KEY = '","chainHash":"';
  const LINE_END = '"}';
  const SUFFIX = PREV_KEY.length + LEAF_KEY.length + CHAIN_KEY.length + LINE_END.length + 3 * 64;
  const n = b.length;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  /** The four ASCII characters of `s` at `i`, as a little-endian word. */
  const word = (s: string, i: number): number =>
    (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24)) >>> 0;
  const R0 = word(RECORD, 0);
  const R1 = word(RECORD, 4);
  const P0 = word(PREV_KEY, 0);
  const P1 = word(PREV_KEY, 4);
  const P2 = word(PREV_KEY, 8);
  const L0 = word(LEAF_KEY, 0);
  const L1 = word(LEAF_KEY, 4);
  const L2 = word(LEAF_KEY, 8);
  const C0 = word(CHAIN_KEY, 0);
  const C1 = word(CHAIN_KEY, 4);
  const C2 = word(CHAIN_KEY, 8);
  /** Whether the line at `p` has the record layout's fixed text around the positions given (all inside the line). */
  const layout = (p: number, t: number, prevAt: number, leafAt: number, chainAt: number): boolean =>
    view.getUint32(p, true) === R0 &&
    view.getUint32(p + 4, true) === R1 &&
    b[p + 8] === 34 &&
    b[p + 9] === 58 &&
    view.getUint32(t, true) === P0 &&
    view.getUint32(t + 4, true) === P1 &&
    view.getUint32(t + 8, true) === P2 &&
    b[t + 12] === 34 &&
    view.getUint32(prevAt + 64, true) === L0 &&
    view.getUint32(prevAt + 68, true) === L1 &&
    view.getUint32(prevAt + 72, true) === L2 &&
    b[prevAt + 76] === 58 &&
    b[prevAt + 77] === 34 &&
    view.getUint32(leafAt + 64, true) === C0 &&
    view.getUint32(leafAt + 68, true) === C1 &&
    view.getUint32(leafAt + 72, true) === C2 &&
    b[leafAt + 76] === 34 &&
    b[leafAt + 77] === 58 &&
    b[leafAt + 78] === 34 &&
    b[chainAt + 64] === 34 &&
    b[chainAt + 65] === 125;
  // The chain hash's input, DOMAIN || prevHash || leafHash, assembled from the line's own bytes.
  const chainInput = Buffer.allocUnsafeSlow(DOMAIN.length + 128);
  chainInput.write(DOMAIN, 0, 'latin1');
  const chainView = new DataView(chainInput.buffer, chainInput.byteOffset, chainInput.byteLength);
  /** Whether the 64 bytes at `x` and at `y` are the same. */
  const same64 = (x: number, y: number): boolean => {
    for (let k = 0; k < 64; k += 4) if (view.getUint32(x + k) !== view.getUint32(y + k)) return false;
    return true;
  };
  /** Whether the 64 characters of `hex` are at `x`. */
  const hexAt = (x: number, hex: string): boolean => {
    for (let k = 0; k < 64; k++) if (b[x + k] !== hex.charCodeAt(k)) return false;
    return true;
  };
  const payloads: number[] = [];
  const payloadChains: string[] = [];
  let p = 0;
  let lines = 0;
  let records = 0;
  let firstSeq = Number.NaN;
  let firstPrev = '';
  let prev = '';
  let prevChainAt = -1; // where the last accepted record's chainHash is in `b`
  let seq = 0;

  /** Whether `s` (ASCII) is at `at`. */
  const has = (at: number, s: string): boolean => {
    for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
    return true;
  };

  while (p < n) {
    let nl = b.indexOf(10, p);
    if (nl < 0) nl = n;
    if (has(p, PAYLOAD) && nl - p >= PAYLOAD.length) {
      payloads.push(p, nl, lines, records);
      payloadChains.push(prev);
      lines++;
      p = nl + 1;
      continue;
    }
    const t = nl - SUFFIX;
    const prevAt = t + PREV_KEY.length;
    const leafAt = prevAt + 64 + LEAF_KEY.length;
    const chainAt = leafAt + 64 + CHAIN_KEY.length;
    // (RECORD, PREV_KEY, LEAF_KEY, CHAIN_KEY and LINE_END, as `layout` spells them out word by word.)
    if (t <= p + RECORD.length || !layout(p, t, prevAt, leafAt, chainAt)) break;
    // The seq: after the last `"seq":` in the text, up to `,` or `}` (as chain.ts seqOfLeafText reads it).
    const textAt = p + RECORD.length;
    let at = t - 6;
    while (
      at >= textAt &&
      !(b[at] === 34 && b[at + 1] === 115 && b[at + 2] === 101 && b[at + 3] === 113 && b[at + 4] === 34 && b[at + 5] === 58)
    ) {
      at--;
    }
    if (at < textAt) break;
    let end = at + 6;
    let value = 0;
    while (end < t && b[end] !== 44 && b[end] !== 125) {
      const d = (b[end] as number) - 48;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
      end++;
    }
    const digits = end - at - 6;
    if ((end < t && b[end] !== 44 && b[end] !== 125) || digits < 1 || digits > 16 || (digits > 1 && b[at + 6] === 48)) break;
    if (digits === 16) {
      let s = '';
      for (let i = at + 6; i < end; i++) s += String.fromCharCode(b[i] as number);
      value = Number(s);
    }
    if (records === 0) {
      for (let i = prevAt; i < prevAt + 64; i++) if ((b[i] as number) >= 128) return done();
      firstPrev = b.toString('latin1', prevAt, prevAt + 64);
      prev = firstPrev;
      firstSeq = value;
    } else {
      if (value !== seq + 1 || !same64(prevAt, prevChainAt)) break;
    }
    // sha256(0x00 || text), the 0x00 written over the `:` before the text and put back after.
    const leafBytes = b.subarray(textAt - 1, t);
    b[textAt - 1] = 0;
    const utf8 = isUtf8 === null || isUtf8(leafBytes);
    const leaf = utf8 ? hash('sha256', leafBytes, 'hex') : '';
    b[textAt - 1] = 58;
    if (!utf8 || !hexAt(leafAt, leaf)) break;
    for (let k = 0; k < 64; k += 4) {
      chainView.setUint32(DOMAIN.length + k, view.getUint32(prevAt + k));
      chainView.setUint32(DOMAIN.length + 64 + k, view.getUint32(leafAt + k));
    }
    const chain = hash('sha256', chainInput, 'hex');
    if (!hexAt(chainAt, chain) || (value === wantSeq && chain !== wantChain)) break;
    prev = chain;
    prevChainAt = chainAt;
    seq = value;
    records++;
    lines++;
    p = nl + 1;
  }
  return done();

  function done(): JsonlScan {
    return {
      end: Math.min(p, n),
      all: p >= n,
      lines,
      records,
      firstSeq: records > 0 ? firstSeq : Number.NaN,
      firstPrev: records > 0 ? firstPrev : '',
      lastChain: records > 0 ? prev : '',
      payloads,
      payloadChains,
    };
  }
}

// Tokens as JSON.stringify writes them (sticky: matched at `lastIndex` only). A string: `"` and `\`
// escaped, \b \f \n \r \t, other control characters as lowercase \u00xx, no surrogates (pairs
// included: left to the slow path). A key: the same without escapes (their order is that of the
// unescaped text). A number: JSON grammar, lowercase exponent; whether it is *the* form of its value
// is checked apart (String(Number(token)) === token).
const STRING = /"(?:[^"\\\u0000-\u001f\ud800-\udfff]|\\["\\bfnrt]|\\u00(?:0[0-7bef]|1[0-9a-f]))*"/y;
const KEY = /"[^"\\\u0000-\u001f\ud800-\udfff]*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?/y;
const PLAIN_INTEGER = /^-?[1-9][0-9]{0,14}$|^0$/;

/** The end of the string token at `i`, or -1. */
function stringEnd(text: string, i: number): number {
  STRING.lastIndex = i;
  return STRING.test(text) ? STRING.lastIndex : -1;
}

/** The end of the number at `i` if it is written as JSON.stringify writes its value (-1 if not); `value` gets it. */
function numberEnd(text: string, i: number, out: { value: number }): number {
  NUMBER.lastIndex = i;
  if (!NUMBER.test(text)) return -1;
  const token = text.slice(i, NUMBER.lastIndex);
  const v = Number(token);
  if (!PLAIN_INTEGER.test(token) && String(v) !== token) return -1;
  out.value = v;
  return NUMBER.lastIndex;
}

/** Whether the key at [a, aEnd) sorts strictly before the one at [b, bEnd) (UTF-16 code units). */
function keyBefore(text: string, a: number, aEnd: number, b: number, bEnd: number): boolean {
  for (; a < aEnd && b < bEnd; a++, b++) {
    const x = text.charCodeAt(a);
    const y = text.charCodeAt(b);
    if (x !== y) return x < y;
  }
  return a === aEnd && b < bEnd;
}

const MAX_DEPTH = 64;
const number = { value: 0 };

/** The end of the canonical JSON object at `i` (nested at most MAX_DEPTH deep), or -1. */
function objectEnd(text: string, i: number): number {
  if (text.charCodeAt(i) !== 123) return -1;
  // Open containers: whether each is an object, and where its last key is.
  const isObject: boolean[] = [];
  const lastKey: number[] = [];
  const lastKeyEnd: number[] = [];
  let depth = 0;
  let c = 123;
  for (;;) {
    // A value at i.
    if (c === 123 || c === 91) {
      const close = c === 123 ? 125 : 93;
      if (text.charCodeAt(i + 1) === close) {
        i += 2;
      } else {
        if (depth === MAX_DEPTH) return -1;
        isObject[depth] = c === 123;
        lastKey[depth] = -1;
        lastKeyEnd[depth] = -1;
        depth++;
        i++;
        if (c === 123 && (i = keyEnd(text, i, lastKey, lastKeyEnd, depth - 1)) < 0) return -1;
        c = text.charCodeAt(i);
        continue;
      }
    } else if (c === 34) {
      if ((i = stringEnd(text, i)) < 0) return -1;
    } else if (c === 116) {
      if (!text.startsWith('true', i)) return -1;
      i += 4;
    } else if (c === 102) {
      if (!text.startsWith('false', i)) return -1;
      i += 5;
    } else if (c === 110) {
      if (!text.startsWith('null', i)) return -1;
      i += 4;
    } else if ((i = numberEnd(text, i, number)) < 0) {
      return -1;
    }
    // After a value: close what ends here, then a comma and (in an object) the next key.
    for (;;) {
      if (depth === 0) return i;
      c = text.charCodeAt(i);
      const inObject = isObject[depth - 1] as boolean;
      if (c === 44) {
        i++;
        if (inObject && (i = keyEnd(text, i, lastKey, lastKeyEnd, depth - 1)) < 0) return -1;
        break;
      }
      if (c !== (inObject ? 125 : 93)) return -1;
      i++;
      depth--;
    }
    c = text.charCodeAt(i);
  }
}

/** Reads `"key":` at `i` in the object at `level` (after its previous key, in order): the end, or -1. */
function keyEnd(text: string, i: number, lastKey: number[], lastKeyEnd: number[], level: number): number {
  KEY.lastIndex = i;
  if (!KEY.test(text)) return -1;
  const end = KEY.lastIndex;
  const prev = lastKey[level] as number;
  if (prev >= 0 && !keyBefore(text, prev, lastKeyEnd[level] as number, i + 1, end - 1)) return -1;
  lastKey[level] = i + 1;
  lastKeyEnd[level] = end - 1;
  return text.charCodeAt(end) === 58 ? end + 1 : -1;
}

/** The end of a string or null at `i`, or -1. */
function nullableEnd(text: string, i: number): number {
  if (text.charCodeAt(i) !== 110) return stringEnd(text, i);
  return text.startsWith('null', i) ? i + 4 : -1;
}

/**
 * Whether `text` is exactly what chain.ts `leafText` writes for the record a store reads back from it
 * under seq `seq`: `{"body":{…},"onBehalfOf":…,"principal":…,"runId":…,"schemaVersion":…,"seq":…,"time":…,"type":…}`
 * with the store's shape (strings or null; an integer version; an object body) and every value in
 * RFC 8785 form (no whitespace, keys in order and unique, numbers and strings as JSON.stringify writes
 * them). Then hashing the stored text is hashing the record rebuilt from it, so a verifier may skip
 * the rebuilding. Sound, not complete: it says false for a few canonical texts too (keys with escapes,
 * surrogates, `\u` escapes other than of control characters, nesting past 64), which are then rebuilt.
 */
export function isCanonicalLeafText(text: string, seq: number): boolean {
  const at = (i: number, s: string): number => (i >= 0 && text.startsWith(s, i) ? i + s.length : -1);
  let i = at(0, '{"body":');
  if (i < 0 || (i = objectEnd(text, i)) < 0) return false;
  if ((i = at(i, ',"onBehalfOf":')) < 0 || (i = nullableEnd(text, i)) < 0) return false;
  if ((i = at(i, ',"principal":')) < 0 || (i = nullableEnd(text, i)) < 0) return false;
  if ((i = at(i, ',"runId":')) < 0 || (i = nullableEnd(text, i)) < 0) return false;
  if ((i = at(i, ',"schemaVersion":')) < 0 || (i = numberEnd(text, i, number)) < 0 || !Number.isSafeInteger(number.value)) return false;
  if ((i = at(i, `,"seq":${String(seq)},"time":`)) < 0 || (i = stringEnd(text, i)) < 0) return false;
  if ((i = at(i, ',"type":')) < 0 || (i = stringEnd(text, i)) < 0) return false;
  return at(i, '}') === text.length;
}
