// C2SP signed notes: interoperable with Go's golang.org/x/mod/sumdb/note (its published test key and
// signature), and every mangling of a key, text or signature refused.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openNote, parseSignerKey, parseVerifierKey, signerFromSeed, signerKeyText, signNote, splitNote, type NoteProblem, type NoteSigner, type NoteVerifier } from '../../src/audit/signed-note.js';
import { checkpointText, openCheckpoint, parseCheckpointText } from '../../src/audit/checkpoint.js';

// The test vectors of Go's sumdb/note package (note_test.go): a key pair and the note it signs.
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIGNED = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
const GO_OTHER_SIG = '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

function ok<T extends object>(v: T): Exclude<T, NoteProblem> {
  if ('problem' in v) throw new Error(String(v.problem));
  return v as Exclude<T, NoteProblem>;
}

describe('signed notes (C2SP)', () => {
  it("signs exactly as Go's sumdb/note does, and opens its note", () => {
    const signer = ok(parseSignerKey(GO_SKEY));
    const verifier = ok(parseVerifierKey(GO_VKEY));
    expect(signer.verifier.text).toBe(GO_VKEY);
    expect(signNote(GO_TEXT, signer)).toBe(GO_SIGNED);
    const opened = ok(openNote(GO_SIGNED, verifier));
    expect(opened.text).toBe(GO_TEXT);
    // A second signer's line is kept, unchecked.
    const both = ok(openNote(GO_SIGNED + GO_OTHER_SIG, verifier));
    expect(both.others.map((s) => s.name)).toEqual(['EnochRoot']);
  });

  it('refuses every truncation and every one-byte change of a verifier key', () => {
    for (let i = 0; i < GO_VKEY.length; i++) {
      expect('problem' in parseVerifierKey(GO_VKEY.slice(0, i))).toBe(true);
      const changed = GO_VKEY.slice(0, i) + String.fromCharCode(GO_VKEY.charCodeAt(i) + 1) + GO_VKEY.slice(i + 1);
      expect('problem' in parseVerifierKey(changed), changed).toBe(true);
    }
  });

  it('refuses a changed text, a changed signature, another key and malformed notes', () => {
    const verifier = ok(parseVerifierKey(GO_VKEY));
    expect(openNote(GO_SIGNED.replace('answer', 'Answer'), verifier)).toHaveProperty('problem');
    expect(openNote(GO_SIGNED.replace('x08go', 'x08gp'), verifier)).toHaveProperty('problem');
    const other = ok(signerFromSeed('PeterNeumann', randomBytes(32)));
    expect(openNote(GO_SIGNED, other.verifier)).toHaveProperty('problem');
    for (const bad of [GO_TEXT, `${GO_TEXT}\n`, GO_SIGNED.slice(0, -1), `\u0001${GO_SIGNED}`, `${GO_SIGNED}Unexpected line.\n`, GO_SIGNED.replace('\u2014 ', '-- ')]) {
      expect(openNote(bad, verifier)).toHaveProperty('problem');
    }
    expect(splitNote(`${GO_TEXT}\n${GO_SIGNED.split('\n\n')[1]?.repeat(101) ?? ''}`)).toHaveProperty('problem');
  });

  it('round-trips a fresh key through its texts', () => {
    const seed = randomBytes(32);
    const text = signerKeyText('airlock/acme', seed);
    const signer = ok(parseSignerKey(text));
    const verifier = ok(parseVerifierKey(signer.verifier.text));
    expect(ok(openNote(signNote('hello\n', signer), verifier)).text).toBe('hello\n');
    expect(() => signNote('two\n\nparagraphs\n', signer)).toThrow(TypeError);
  });
});

describe('checkpoints', () => {
  const c = { origin: 'airlock/acme', size: 42, rootHash: 'ab'.repeat(32), time: '2026-12-07T01:00:00.000Z' };

  it('writes the C2SP checkpoint lines and reads them back', () => {
    const text = checkpointText(c);
    expect(text.split('\n')).toEqual(['airlock/acme', '42', Buffer.from(c.rootHash, 'hex').toString('base64'), 'time 2026-12-07T01:00:00.000Z', '']);
    expect(parseCheckpointText(text)).toEqual(c);
  });

  it('opens a checkpoint only with its log key, and refuses one of another log', () => {
    const signer = ok(signerFromSeed('airlock/acme', randomBytes(32)));
    const note = signNote(checkpointText(c), signer);
    expect(openCheckpoint(note, signer.verifier)).toEqual(c);
    const stranger = ok(signerFromSeed('airlock/other', randomBytes(32)));
    expect(openCheckpoint(signNote(checkpointText({ ...c, origin: 'airlock/acme' }), stranger), stranger.verifier)).toHaveProperty('problem');
    for (const bad of ['airlock/acme\n42\n', 'airlock/acme\n042\nq83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=\ntime 2026-12-07T01:00:00.000Z\n', 'airlock/acme\n42\nshort=\ntime 2026-12-07T01:00:00.000Z\n', 'airlock/acme\n42\nq83vq83vq83vq83vq83vq83vq83vq83vq83vq83vq80=\nwhen yesterday\n']) {
      expect(parseCheckpointText(bad)).toHaveProperty('problem');
    }
  });
});
