// C2SP signed notes with Ed25519 keys (https://c2sp.org/signed-note), pure: key text in the formats of
// Go's golang.org/x/mod/sumdb/note (verifier keys `name+hash+base64(0x01||public)`, signer keys
// `PRIVATE+KEY+name+hash+base64(0x01||seed)`), signing a note's text and opening a signed note with
// a verifier. No IO and no clock: keys come in as text, signatures are deterministic (Ed25519).
import { createHash, createPrivateKey, createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';

const ED25519 = 0x01;
/** The em dash and space every signature line starts with. */
const SIG_PREFIX = '\u2014 ';
/** At most this many signature lines on a note (as Go's implementation caps them). */
const MAX_SIGNATURES = 100;
/** The longest note this module reads (a checkpoint is a few hundred bytes). */
export const MAX_NOTE_BYTES = 64 * 1024;

// DER prefixes that wrap a raw 32-byte Ed25519 seed (PKCS #8) or public key (SPKI) for node:crypto.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Why a key or note was refused: a message that says what is wrong, never an exception. */
export type NoteProblem = { readonly problem: string };

/** A parsed verifier key: the name, its key hash and the Ed25519 public key. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyHash: number;
  readonly publicKey: Uint8Array;
  /** The verifier key text (`name+hash+base64`): what operators hand to whoever verifies. */
  readonly text: string;
  readonly key: KeyObject;
}

/** A parsed signer key. */
export interface NoteSigner {
  readonly name: string;
  readonly keyHash: number;
  readonly verifier: NoteVerifier;
  readonly key: KeyObject;
}

/** A signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyHash: number;
  /** The base64 text of key hash and signature. */
  readonly base64: string;
}

/** A note opened with a verifier: its text and the signature that verified. */
export interface OpenedNote {
  readonly text: string;
  readonly signature: NoteSignature;
  /** Signature lines by other keys, not checked. */
  readonly others: readonly NoteSignature[];
}

/** A key name: non-empty, no spaces (Unicode), no `+`, no control characters. */
export function isKeyName(name: string): boolean {
  return name.length > 0 && name.length <= 256 && !/[\s+\p{Cc}]/u.test(name);
}

/** The 32-bit key hash: the first four bytes of SHA-256(name || "\n" || 0x01 || public key), big-endian. */
export function keyHash(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256').update(name, 'utf8').update('\n').update(Uint8Array.of(ED25519)).update(publicKey).digest();
  return digest.readUInt32BE(0);
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function verifierOf(name: string, publicKey: Uint8Array): NoteVerifier {
  const hash = keyHash(name, publicKey);
  const text = `${name}+${hex8(hash)}+${Buffer.concat([Uint8Array.of(ED25519), publicKey]).toString('base64')}`;
  return { name, keyHash: hash, publicKey, text, key: publicKeyObject(publicKey) };
}

/** Strict standard base64 (with padding): what Buffer.from would read loosely. */
function base64Bytes(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/** Splits key text at its first `n - 1` plus signs (the base64 key at the end may hold more). */
function splitKey(text: string, n: number): string[] {
  const parts: string[] = [];
  let rest = text;
  while (parts.length < n - 1) {
    const at = rest.indexOf('+');
    if (at < 0) break;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  return [...parts, rest];
}

/** Reads a verifier key (`name+hash+base64(0x01||key)`), or says what is wrong with it. */
export function parseVerifierKey(text: string): NoteVerifier | NoteProblem {
  const parts = splitKey(text.trim(), 3);
  if (parts.length !== 3) return { problem: 'a verifier key has three parts, `name+hash+key`' };
  const [name, hash, key] = parts as [string, string, string];
  if (!isKeyName(name)) return { problem: `\`${name}\` is not a key name` };
  if (!/^[0-9a-f]{8}$/.test(hash)) return { problem: 'the key hash is not 8 lowercase hex digits' };
  const bytes = base64Bytes(key);
  if (!bytes || bytes.length !== 33 || bytes[0] !== ED25519) return { problem: 'the key is not an Ed25519 public key (base64 of 0x01 and 32 bytes)' };
  const v = verifierOf(name, new Uint8Array(bytes.subarray(1)));
  if (hex8(v.keyHash) !== hash) return { problem: `the key hash ${hash} does not match the name and key (${hex8(v.keyHash)})` };
  return v;
}

/** Reads a signer key (`PRIVATE+KEY+name+hash+base64(0x01||seed)`), or says what is wrong with it. */
export function parseSignerKey(text: string): NoteSigner | NoteProblem {
  const parts = splitKey(text.trim(), 5);
  if (parts.length !== 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') return { problem: 'a signer key reads `PRIVATE+KEY+name+hash+key`' };
  const [, , name, hash, key] = parts as [string, string, string, string, string];
  if (!isKeyName(name)) return { problem: `\`${name}\` is not a key name` };
  if (!/^[0-9a-f]{8}$/.test(hash)) return { problem: 'the key hash is not 8 lowercase hex digits' };
  const bytes = base64Bytes(key);
  if (!bytes || bytes.length !== 33 || bytes[0] !== ED25519) return { problem: 'the key is not an Ed25519 seed (base64 of 0x01 and 32 bytes)' };
  return signerFromSeed(name, new Uint8Array(bytes.subarray(1)), hash);
}

/** A signer from a 32-byte Ed25519 seed (`expectHash`: the hash its text named, checked). */
export function signerFromSeed(name: string, seed: Uint8Array, expectHash?: string): NoteSigner | NoteProblem {
  if (!isKeyName(name)) return { problem: `\`${name}\` is not a key name` };
  if (seed.length !== 32) return { problem: 'an Ed25519 seed is 32 bytes' };
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  const verifier = verifierOf(name, new Uint8Array(spki.subarray(SPKI_PREFIX.length)));
  if (expectHash !== undefined && hex8(verifier.keyHash) !== expectHash) {
    return { problem: `the key hash ${expectHash} does not match the name and key (${hex8(verifier.keyHash)})` };
  }
  return { name, keyHash: verifier.keyHash, verifier, key };
}

/** The signer key text of a seed (what a key file holds). */
export function signerKeyText(name: string, seed: Uint8Array): string {
  const s = signerFromSeed(name, seed);
  if ('problem' in s) throw new TypeError(s.problem);
  return `PRIVATE+KEY+${name}+${hex8(s.keyHash)}+${Buffer.concat([Uint8Array.of(ED25519), seed]).toString('base64')}`;
}

/** Whether `text` may be a note's text: UTF-8 lines, each ended by "\n", none empty, no control characters. */
export function isNoteText(text: string): boolean {
  return text.length > 0 && text.endsWith('\n') && !text.includes('\n\n') && !/[\p{Cc}]/u.test(text.replaceAll('\n', '')) && Buffer.byteLength(text) <= MAX_NOTE_BYTES;
}

/** Signs `text` (a note's text, see `isNoteText`): the signed note, text, blank line, one signature line. */
export function signNote(text: string, signer: NoteSigner): string {
  if (!isNoteText(text)) throw new TypeError('a note is non-empty lines of text, each ended by a newline, with no blank line');
  const sig = edSign(null, Buffer.from(text, 'utf8'), signer.key);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(signer.keyHash, 0);
  return `${text}\n${SIG_PREFIX}${signer.name} ${Buffer.concat([head, sig]).toString('base64')}\n`;
}

/** Splits a signed note into its text and signature lines, or says why it is not one. */
export function splitNote(note: string): { text: string; signatures: NoteSignature[] } | NoteProblem {
  if (Buffer.byteLength(note) > MAX_NOTE_BYTES) return { problem: `the note is longer than ${MAX_NOTE_BYTES} bytes` };
  const cut = note.lastIndexOf('\n\n');
  if (cut < 0 || !note.endsWith('\n')) return { problem: 'the note has no signature block (a blank line, then signature lines)' };
  const text = note.slice(0, cut + 1);
  if (!isNoteText(text)) return { problem: "the note's text is malformed" };
  const lines = note.slice(cut + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) return { problem: `the note has more than ${MAX_SIGNATURES} signatures` };
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX)) return { problem: 'a signature line does not start with an em dash and a space' };
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = rest.slice(0, space);
    const base64 = rest.slice(space + 1);
    const bytes = space > 0 ? base64Bytes(base64) : null;
    if (!isKeyName(name) || !bytes || bytes.length < 5) return { problem: 'a signature line is malformed' };
    signatures.push({ name, keyHash: bytes.readUInt32BE(0), base64 });
  }
  return { text, signatures };
}

/**
 * Opens a signed note with one verifier: the note's text when the verifier's signature on it holds.
 * A note without the verifier's signature, or with one that does not verify, is refused.
 */
export function openNote(note: string, verifier: NoteVerifier): OpenedNote | NoteProblem {
  const split = splitNote(note);
  if ('problem' in split) return split;
  const mine = split.signatures.filter((s) => s.name === verifier.name && s.keyHash === verifier.keyHash);
  const first = mine[0];
  if (!first) return { problem: `the note is not signed by ${verifier.name}+${hex8(verifier.keyHash)}` };
  const sig = (base64Bytes(first.base64) as Buffer).subarray(4);
  if (sig.length !== 64 || !edVerify(null, Buffer.from(split.text, 'utf8'), verifier.key, sig)) {
    return { problem: `the signature of ${verifier.name}+${hex8(verifier.keyHash)} does not verify` };
  }
  return { text: split.text, signature: first, others: split.signatures.filter((s) => s !== first) };
}
