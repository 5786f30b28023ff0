// The audit hash chain (pure): a record's canonical leaf text and its leaf and chain hashes per docs/internals.md § Audit; chain-verifier.ts checks a chain.
// No store, no IO. node:crypto is used for SHA-256 only (as src/util/hash.ts does); everything here is deterministic.
import * as nodeCrypto from 'node:crypto';
import type { Json, Sha256Hex } from '../types.js';

/** `prevHash` of the first record of a chain: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64) as Sha256Hex;

/** Domain-separation prefix of every chain hash. */
export const CHAIN_DOMAIN = 'airlock-chain-v1';

/** Version of the record layout the leaf hash covers; stored in every record. */
export const AUDIT_SCHEMA_VERSION = 1;

/** The fields a leaf hash covers: a record without its hashes. `AuditRecord` is one. */
export interface LeafFields {
  readonly seq: number;
  readonly schemaVersion: number;
  readonly type: string;
  readonly time: string;
  readonly runId: string | null;
  readonly principal: string | null;
  readonly onBehalfOf: string | null;
  readonly body: { readonly [k: string]: Json };
}

/** A record with its hashes, as stores and exports hold it. `AuditRecord` is one. */
export interface ChainedRecord extends LeafFields {
  readonly prevHash: string;
  readonly leafHash: string;
  readonly chainHash: string;
}

/** A position in a chain: the seq of a record and its chain hash. */
export interface ChainAnchor {
  readonly seq: number;
  readonly chainHash: Sha256Hex;
}

/** A record's content canonicalized once, before its seq is known (see `sealLeaf`). */
export interface PreparedLeaf {
  readonly type: string;
  readonly time: string;
  readonly runId: string | null;
  readonly principal: string | null;
  readonly onBehalfOf: string | null;
  readonly body: { readonly [k: string]: Json };
  /** RFC 8785 text of `body`. */
  readonly bodyText: string;
}

/** A record's hashes and the exact text its leaf hash covers. */
export interface SealedLeaf {
  readonly seq: number;
  /** Canonical JSON of the record without its hashes: what `leafHash` covers after the 0x00 prefix. */
  readonly text: string;
  readonly prevHash: Sha256Hex;
  readonly leafHash: Sha256Hex;
  readonly chainHash: Sha256Hex;
}

type OneShotHash = (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string;
// crypto.hash (Node >= 20.12) is about twice as fast as createHash for short inputs.
const oneShot = (nodeCrypto as { hash?: OneShotHash }).hash;
const oneShotBytes = oneShot as OneShotHash;

function sha256(data: string): Sha256Hex {
  return (
    oneShot ? oneShot('sha256', data, 'hex') : nodeCrypto.createHash('sha256').update(data).digest('hex')
  ) as Sha256Hex;
}

// Reused for every leaf: 0x00, then the UTF-8 text. Steadier than hashing `'\0' + text`, which
// allocates a cons string per record and leaves the garbage collector to pay for it.
let scratch = new Uint8Array(16_384);
const encoder = new TextEncoder();

/** `sha256(0x00 || utf8(text))`: the RFC 9162 leaf hash of a record's canonical text. */
export function leafHashOfText(text: string): Sha256Hex {
  if (text.length * 3 + 1 > scratch.length) scratch = new Uint8Array(text.length * 3 + 1);
  scratch[0] = 0;
  const { written } = encoder.encodeInto(text, scratch.subarray(1));
  const bytes = scratch.subarray(0, written + 1);
  return (
    oneShot ? oneShotBytes('sha256', bytes, 'hex') : nodeCrypto.createHash('sha256').update(bytes).digest('hex')
  ) as Sha256Hex;
}

/** `sha256("airlock-chain-v1" || prevHash || leafHash)`, the hashes taken as their lowercase hex text. */
export function chainHash(prevHash: string, leafHash: string): Sha256Hex {
  return sha256(CHAIN_DOMAIN + prevHash + leafHash);
}

/** RFC 8785 canonical JSON of a record without its hashes (exactly what `canonicalJson` gives, faster). */
export function leafText(r: LeafFields): string {
  return leafTextFrom(r, canonical(r.body, true), r.seq, r.schemaVersion);
}

/** The leaf hash of a record (its hash fields, if any, are ignored). */
export function leafHash(r: LeafFields): Sha256Hex {
  return leafHashOfText(leafText(r));
}

/**
 * Checks and canonicalizes a draft's content once, outside any lock; `sealLeaf` then adds the
 * seq and hashes cheaply. Throws a `TypeError` naming the field if it has no canonical JSON form.
 */
export function prepareLeaf(d: Omit<PreparedLeaf, 'bodyText'>): PreparedLeaf {
  checkString(d.type, 'type', false);
  if (d.type.length === 0) throw new TypeError('`type` is empty');
  checkString(d.time, 'time', false);
  checkString(d.runId, 'runId', true);
  checkString(d.principal, 'principal', true);
  checkString(d.onBehalfOf, 'onBehalfOf', true);
  if (typeof d.body !== 'object' || d.body === null || Array.isArray(d.body)) {
    throw new TypeError('`body` must be a JSON object');
  }
  let bodyText: string;
  try {
    bodyText = canonical(d.body, false);
  } catch (e) {
    throw new TypeError(`\`body\` has no canonical JSON form: ${(e as Error).message}`);
  }
  return {
    type: d.type,
    time: d.time,
    runId: d.runId,
    principal: d.principal,
    onBehalfOf: d.onBehalfOf,
    body: d.body,
    bodyText,
  };
}

/** Gives a prepared record its place after `prevHash` at `seq`: its leaf text and both hashes. */
export function sealLeaf(p: PreparedLeaf, seq: number, prevHash: Sha256Hex): SealedLeaf {
  const text = leafTextFrom(p, p.bodyText, seq, AUDIT_SCHEMA_VERSION);
  const leaf = leafHashOfText(text);
  return { seq, text, prevHash, leafHash: leaf, chainHash: chainHash(prevHash, leaf) };
}

/**
 * The seq inside a record's canonical text (NaN when absent). Sound on authentic text: `seq` is
 * followed only by `time` and `type`, JSON strings in which `"seq":` cannot occur unescaped.
 */
export function seqOfLeafText(text: string): number {
  const at = text.lastIndexOf('"seq":');
  if (at < 0) return Number.NaN;
  let end = at + 6;
  while (end < text.length && text.charCodeAt(end) !== 44 /* , */ && text.charCodeAt(end) !== 125 /* } */) end++;
  const digits = text.slice(at + 6, end);
  return /^(0|[1-9][0-9]{0,15})$/.test(digits) ? Number(digits) : Number.NaN;
}

function checkString(v: unknown, field: string, nullable: boolean): void {
  if (v === null && nullable) return;
  if (typeof v !== 'string') throw new TypeError(`\`${field}\` must be a string${nullable ? ' or null' : ''}`);
  if (LONE_SURROGATE.test(v)) throw new TypeError(`\`${field}\` contains a lone surrogate`);
}

// Keys in RFC 8785 order (UTF-16 code units): body < onBehalfOf < principal < runId < schemaVersion < seq < time < type.
function leafTextFrom(r: Omit<LeafFields, 'seq' | 'schemaVersion'>, bodyText: string, seq: number, version: number): string {
  return (
    '{"body":' +
    bodyText +
    ',"onBehalfOf":' +
    canonical(r.onBehalfOf, true) +
    ',"principal":' +
    canonical(r.principal, true) +
    ',"runId":' +
    canonical(r.runId, true) +
    ',"schemaVersion":' +
    canonical(version, true) +
    ',"seq":' +
    canonical(seq, true) +
    ',"time":' +
    canonical(r.time, true) +
    ',"type":' +
    canonical(r.type, true) +
    '}'
  );
}

// In unicode mode a surrogate pair is one code point, so this matches lone surrogates only.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

// A string JSON.stringify would write as it is, between quotes: nothing to escape, no surrogates.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(s)`, without the call when there is nothing to escape. */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

// Records repeat the same few keys: their quoted forms, kept (short keys only, up to a bound).
const quotedKeys = new Map<string, string>();

function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = quote(k);
    if (k.length <= 64 && quotedKeys.size < 4096) quotedKeys.set(k, q);
  }
  return q;
}

/**
 * RFC 8785 text of a JSON value, as the `canonicalize` package writes it. `trusted` skips the
 * lone-surrogate check: JSON.stringify escapes lone surrogates, so the hashed text is well-formed
 * either way; appends check (strict JCS), verification need not.
 */
function canonical(v: unknown, trusted: boolean): string {
  switch (typeof v) {
    case 'string':
      if (!trusted && LONE_SURROGATE.test(v)) throw new TypeError('a string contains a lone surrogate');
      return quote(v);
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`${String(v)} is not allowed`);
      return String(v); // as JSON.stringify writes a finite number
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      if (v === null) return 'null';
      return canonicalObject(v as object, trusted);
    default:
      throw new TypeError(`a ${typeof v} has no JSON form`);
  }
}

function canonicalObject(o: object, trusted: boolean): string {
  const withToJson = o as { toJSON?: unknown };
  if (typeof withToJson.toJSON === 'function') return canonical((withToJson.toJSON as () => unknown).call(o), trusted);
  if (Array.isArray(o)) {
    let s = '[';
    for (let i = 0; i < o.length; i++) {
      if (i > 0) s += ',';
      const x: unknown = o[i];
      s += x === undefined || typeof x === 'symbol' ? 'null' : canonical(x, trusted);
    }
    return s + ']';
  }
  const rec = o as Record<string, unknown>;
  const keys = Object.keys(rec);
  // Records parsed from canonical text already have sorted keys: check before sorting.
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) {
      keys.sort();
      break;
    }
  }
  let s = '{';
  let first = true;
  for (const k of keys) {
    const x = rec[k];
    if (x === undefined || typeof x === 'symbol') continue;
    if (!trusted && LONE_SURROGATE.test(k)) throw new TypeError('a key contains a lone surrogate');
    if (!first) s += ',';
    first = false;
    s += quoteKey(k) + ':' + canonical(x, trusted);
  }
  return s + '}';
}
