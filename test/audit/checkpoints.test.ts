// Signed checkpoints as an attacker meets them: made from the store's leaves (and matching a tree built
// from scratch), kept once per size by racing instances, witnessed; and an export verified offline with
// the public key alone, after every way of rewriting it an operator without the key has (a cut tail, an
// edit with every chain hash recomputed, a record removed and the chain re-linked), and, with a witness,
// the ways an operator with the key has (a history forked and re-signed, a trail cut back to an older
// checkpoint). Proofs: every record of a trail proves in, tampered proofs and forked checkpoints fail.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainHash, GENESIS_HASH, leafHashOfText } from '../../src/audit/chain.js';
import { checkpointText } from '../../src/audit/checkpoint.js';
import { Checkpointer, checkpointSigner, checkStoreCheckpoints } from '../../src/audit/checkpoints.js';
import { checkpointedExport } from '../../src/audit/trail-check.js';
import { exportEndOf, signExportEnd } from '../../src/audit/export-end.js';
import { checkpointLine, endLine, splitRecordLine } from '../../src/audit/export-line.js';
import { exportStore, verifyStore } from '../../src/audit/log.js';
import { leafHash as merkleLeaf, treeHead } from '../../src/audit/merkle.js';
import { checkProof, proveConsistency, proveInclusion } from '../../src/audit/proofs.js';
import { signerFromSeed, signNote, type NoteSigner } from '../../src/audit/signed-note.js';
import { verifyExportFile } from '../../src/audit/verify-export.js';
import { fileWitness, latestWitnessed } from '../../src/audit/witness.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { StoredCheckpoint, Store } from '../../src/store/store.js';
import { draft } from '../store/store-suite.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-checkpoints-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string): string => path.join(tmp, `${++n}-${name}`);

function signer(name = 'airlock/test', seed: Uint8Array = randomBytes(32)): NoteSigner {
  const s = signerFromSeed(name, seed);
  if ('problem' in s) throw new Error(s.problem);
  return s;
}

const CLOCK = (): Date => new Date('2026-12-07T00:00:00.000Z');
const quiet = (e: unknown): never => {
  throw e;
};

function checkpointer(store: Store, s: NoteSigner, witnessFile?: string, every = 1000): Checkpointer {
  return new Checkpointer(store, () => s, { every, intervalMs: 60_000, now: CLOCK, witnesses: witnessFile ? [fileWitness(witnessFile)] : [], onError: quiet });
}

async function fill(store: Store, from: number, count: number, tag = ''): Promise<void> {
  for (let i = from; i < from + count; i += 5) {
    await store.appendAudit(Array.from({ length: Math.min(5, from + count - i) }, (_, k) => draft(i + k, { body: { i: i + k, tag } })));
  }
}

/** Writes `store`'s trail to a file with its checkpoints after it and its signed end, as `airlock audit export` does. */
async function exportWith(store: Store, file: string, s: NoteSigner): Promise<void> {
  await exportStore(store, file, await checkpointedExport(store, checkpointer(store, s)));
}

/** Re-links an export's record lines after they were edited, as an operator without the key can: every seq and hash made to fit. */
function relink(lines: readonly string[]): string[] {
  let prev: string = GENESIS_HASH;
  let seq = 0;
  return lines.map((line) => {
    const parts = splitRecordLine(line);
    if (typeof parts === 'string') return line;
    seq++;
    const text = parts.text.replace(/"seq":\d+/, `"seq":${seq}`);
    const leaf = leafHashOfText(text);
    const chain = chainHash(prev, leaf);
    const out = `{"record":${text},"prevHash":"${prev}","leafHash":"${leaf}","chainHash":"${chain}"}`;
    prev = chain;
    return out;
  });
}

describe('signed checkpoints', () => {
  let store: Store;
  beforeEach(async () => {
    store = await openSqliteStore(path.join(fresh('store'), 'airlock.db'));
  });
  afterEach(async () => {
    await store.close();
  });

  it('heads the whole trail exactly as a tree built from scratch, extending from the last one, and witnesses each', async () => {
    const s = signer();
    const witness = fresh('witness.jsonl');
    const cp = checkpointer(store, s, witness);
    await fill(store, 1, 37);
    const first = (await cp.checkpoint()) as StoredCheckpoint;
    await fill(store, 38, 26);
    const second = (await cp.checkpoint()) as StoredCheckpoint;
    const leaves = Buffer.from(await store.readLeafHashes(1, 1000));
    const all = Array.from({ length: leaves.length / 32 }, (_, i) => new Uint8Array(leaves.subarray(i * 32, i * 32 + 32)));
    expect([first.size, second.size]).toEqual([37, 63]);
    expect(first.rootHash).toBe(Buffer.from(treeHead(all.slice(0, 37))).toString('hex'));
    expect(second.rootHash).toBe(Buffer.from(treeHead(all)).toString('hex'));
    // Nothing new: the latest one comes back, nothing is made or witnessed twice.
    expect(await cp.checkpoint()).toEqual(second);
    expect(readFileSync(witness, 'utf8').trim().split('\n')).toHaveLength(2);
    expect((await latestWitnessed(witness)).size).toBe(63);
    // Lines out of order (instances sharing the file) and a last line cut short by a crash: the largest complete one counts.
    const lines = readFileSync(witness, 'utf8').trim().split('\n');
    const shuffled = fresh('witness-shuffled.jsonl');
    writeFileSync(shuffled, `${lines[1]}\n${lines[0]}\n${(lines[1] as string).slice(0, 40)}`);
    expect(await latestWitnessed(shuffled)).toEqual({ size: 63, note: second.note });
    writeFileSync(shuffled, (lines[0] as string).slice(0, 40));
    await expect(latestWitnessed(shuffled)).rejects.toThrow(/holds no checkpoint/);
    // A leaf hash is RFC 9162's of the record's text: the checkpoint commits to the records themselves.
    const line = splitRecordLine((await exportLines(store))[0] as string);
    if (typeof line === 'string') throw new Error(line);
    expect(Buffer.from(merkleLeaf(Buffer.from(line.text, 'utf8'))).toString('hex')).toBe(line.leaf);
  });

  it('is made once per size when instances race, and at `every` records appended', async () => {
    const s = signer();
    await fill(store, 1, 20);
    const a = checkpointer(store, s);
    const b = checkpointer(store, s);
    const made = await Promise.all([a.checkpoint(), b.checkpoint(), a.checkpoint(), b.checkpoint()]);
    expect(new Set(made.map((c) => c?.size))).toEqual(new Set([20]));
    expect(await store.listCheckpoints()).toHaveLength(1);
    const c = checkpointer(store, s, undefined, 10);
    await fill(store, 21, 9);
    c.appended(9);
    await c.stop(); // made on close: this process appended since the last one
    expect((await store.latestCheckpoint())?.size).toBe(29);
  });

  it('makes none under another key than the one that signed the trail, and says which key to share', async () => {
    const s = signer();
    await fill(store, 1, 10);
    await checkpointer(store, s).checkpoint();
    await fill(store, 11, 5);
    const stranger = signer();
    await expect(checkpointer(store, stranger).checkpoint()).rejects.toThrow(/did not sign the trail's checkpoints; no checkpoint was made/);
    expect((await store.latestCheckpoint())?.size).toBe(10);
    expect(await checkStoreCheckpoints(store, s.verifier)).toMatchObject({ ok: true, uncovered: 5 });
  });

  it("checks the store's checkpoints against its leaves: a removed tail, an edited checkpoint, another key", async () => {
    const s = signer();
    await fill(store, 1, 30);
    await checkpointer(store, s).checkpoint();
    expect(await checkStoreCheckpoints(store, s.verifier)).toMatchObject({ ok: true, checked: 1, uncovered: 0 });
    expect(await checkStoreCheckpoints(store, signer().verifier)).toMatchObject({ ok: false, problem: 'unsigned' });
    await fill(store, 31, 5);
    expect(await checkStoreCheckpoints(store, s.verifier)).toMatchObject({ ok: true, uncovered: 5 });
  });
});

async function exportLines(store: Store): Promise<string[]> {
  const file = fresh('lines.jsonl');
  await exportStore(store, file);
  return readFileSync(file, 'utf8').trim().split('\n');
}

describe('the checkpoint key from a secret', () => {
  it('names the signing key it could not read, and where', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-ckey-'));
    try {
      const from = { env: 'AIRLOCK_TEST_CHECKPOINT_KEY_NEVER_SET' };
      expect(() => checkpointSigner(dir, 'acme', { every: 10, intervalSeconds: 60, key: from })).toThrow(
        'audit.checkpoints.key reads its signing key from `AIRLOCK_TEST_CHECKPOINT_KEY_NEVER_SET`, which is not set',
      );
      writeFileSync(path.join(dir, 'empty.key'), '\n');
      expect(() => checkpointSigner(dir, 'acme', { every: 10, intervalSeconds: 60, key: { file: 'empty.key' } })).toThrow("audit.checkpoints.key's signing key file is empty");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an export verified offline with the public key', () => {
  const s = signer('airlock/acme');
  let store: Store;
  let file: string;
  let witness: string;
  let lines: string[];

  beforeEach(async () => {
    store = await openSqliteStore(path.join(fresh('store'), 'airlock.db'));
    witness = fresh('witness.jsonl');
    const cp = checkpointer(store, s, witness);
    await fill(store, 1, 10);
    await cp.checkpoint();
    await fill(store, 11, 15);
    await cp.checkpoint();
    await fill(store, 26, 15);
    await cp.checkpoint();
    file = fresh('export.jsonl');
    await exportWith(store, file, s);
    lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  });
  afterEach(async () => {
    await store.close();
  });

  const verify = async (text: string, opts: { witnessed?: string; key?: NoteSigner } = {}) => {
    const f = fresh('tampered.jsonl');
    writeFileSync(f, text);
    return verifyExportFile(f, { key: (opts.key ?? s).verifier, ...(opts.witnessed !== undefined ? { witnessed: opts.witnessed } : {}) });
  };

  it('holds as exported: 40 records, three checkpoints, the witness consistent', async () => {
    const v = await verifyExportFile(file, { key: s.verifier, witnessed: (await latestWitnessed(witness)).note });
    expect(v.chain).toMatchObject({ ok: true, count: 40 });
    expect(v.checkpoints).toMatchObject({ ok: true, checked: 4, uncovered: 0, latest: { size: 40 }, witnessed: { size: 40 } });
    expect(v.end).toMatchObject({ ok: true, end: { first: 1, last: 40 } });
    expect(lines.slice(-4, -1).every((l) => l.startsWith('{"checkpoint":'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^\{"end":/);
    // Without the key the chain is checked and the checkpoints only counted.
    expect((await verifyExportFile(file)).checkpoints).toBeNull();
    // Another log's key vouches for nothing.
    expect((await verify(`${lines.join('\n')}\n`, { key: signer('airlock/acme') })).checkpoints).toMatchObject({ ok: false, problem: 'unsigned' });
  });

  it('fails on every cut of its end, down to the last record, with the public key alone', async () => {
    for (let cut = 1; cut <= 7; cut++) {
      const v = await verify(`${lines.slice(0, -cut).join('\n')}\n`);
      expect(v.chain.ok, `cut ${cut}`).toBe(true);
      expect(v.end, `cut ${cut}`).toMatchObject({ ok: false, message: expect.stringMatching(/no signed end/) });
    }
    // Records cut from before the trailer, the trailer kept: the signed end names the record that is gone.
    const cutInside = [...lines.slice(0, 37), ...lines.slice(40)];
    expect((await verify(`${cutInside.join('\n')}\n`)).end).toMatchObject({ ok: false, message: expect.stringMatching(/the export was cut: its signed end names records 1 to 40/) });
    // An end signed by another key, or two ends: not this log's end.
    const foreign = signExportEnd(exportEndOf('airlock/acme', null, null, '2026-12-07T00:00:00.000Z'), signer('airlock/acme'));
    expect((await verify(`${[...lines.slice(0, -1), endLine(foreign).trimEnd()].join('\n')}\n`)).end).toMatchObject({ ok: false, message: expect.stringMatching(/does not verify/) });
    await expect(verify(`${[...lines, lines.at(-1)].join('\n')}\n`)).rejects.toThrow(/only the last line may be/);
  });

  it('fails when a record is edited, removed or two swapped and the whole chain re-linked to fit', async () => {
    const records = lines.slice(0, 40);
    const trailer = lines.slice(40);
    const edited = relink(records.map((l, i) => (i === 17 ? l.replace('"tag":""', '"tag":"x"') : l)));
    const removed = relink(records.filter((_, i) => i !== 3));
    const swapped = relink(records.map((l, i) => (i === 5 ? (records[6] as string) : i === 6 ? (records[5] as string) : l)));
    expect(edited[17]).not.toBe(records[17]);
    expect(edited).toHaveLength(40);
    for (const [what, body] of [['edited', edited], ['removed', removed], ['swapped', swapped]] as const) {
      const v = await verify(`${[...body, ...trailer].join('\n')}\n`);
      expect(v.chain.ok, what).toBe(true); // the chain alone cannot tell
      expect(v.checkpoints, what).toMatchObject({ ok: false });
      expect(['mismatch', 'tail-removed'], what).toContain((v.checkpoints as { problem: string }).problem);
    }
  });

  it('with a witness, catches what an operator holding the key can do: a history forked and re-signed, a trail cut back to an older checkpoint', async () => {
    const witnessed = (await latestWitnessed(witness)).note;
    // Forked: the first 25 records kept, then others, re-signed with the log's own key.
    const forkStore = await openSqliteStore(path.join(fresh('fork'), 'airlock.db'));
    try {
      const original = await store.readAudit(1, 25);
      await forkStore.appendAudit(original.map((r) => ({ type: r.type, time: r.time, runId: r.runId, principal: r.principal, onBehalfOf: r.onBehalfOf, body: r.body })));
      await fill(forkStore, 26, 20, 'forked');
      await checkpointer(forkStore, s).checkpoint();
      const forkFile = fresh('fork.jsonl');
      await exportWith(forkStore, forkFile, s);
      const alone = await verifyExportFile(forkFile, { key: s.verifier });
      expect(alone.checkpoints).toMatchObject({ ok: true }); // signed by the key: only a witness can tell
      expect((await verifyExportFile(forkFile, { key: s.verifier, witnessed })).checkpoints).toMatchObject({ ok: false, problem: 'fork' });
    } finally {
      await forkStore.close();
    }
    // Cut back to the checkpoint of 25 records, the later checkpoint lines dropped: its signed end is gone with them...
    const cutBack = [...lines.slice(0, 25), lines[40] as string, lines[41] as string];
    const unsigned = await verify(`${cutBack.join('\n')}\n`);
    expect(unsigned.checkpoints).toMatchObject({ ok: true, latest: { size: 25 } });
    expect(unsigned.end).toMatchObject({ ok: false });
    // ...but the key's holder can sign another end: then it holds alone, and is shorter than the witness saw.
    const record25 = splitRecordLine(lines[24] as string) as { chain: string };
    const resigned = [...cutBack, endLine(signExportEnd(exportEndOf(s.name, null, { seq: 25, chainHash: record25.chain as never }, '2026-12-07T00:00:00.000Z'), s)).trimEnd()];
    const alone = await verify(`${resigned.join('\n')}\n`);
    expect([alone.checkpoints?.ok, alone.end?.ok]).toEqual([true, true]);
    expect((await verify(`${resigned.join('\n')}\n`, { witnessed })).checkpoints).toMatchObject({ ok: false, problem: 'tail-removed' });
  });

  it('proves each record into the latest checkpoint and the checkpoints consistent; tampered proofs and forked heads fail', async () => {
    for (let seq = 1; seq <= 40; seq++) {
      const doc = await proveInclusion(store, seq);
      expect(checkProof(doc, s.verifier), `record ${seq}`).toMatchObject({ ok: true });
      expect(checkProof(JSON.parse(JSON.stringify({ ...doc, seq: (seq % 40) + 1 })), s.verifier).ok).toBe(false);
    }
    const inc = await proveInclusion(store, 7, 10);
    const flipped = { ...inc, proof: inc.proof.map((p, i) => (i === 0 ? `${p[0] === 'a' ? 'b' : 'a'}${p.slice(1)}` : p)) };
    expect(checkProof(flipped, s.verifier).ok).toBe(false);
    expect(checkProof({ ...inc, record: (inc.record).replace('"tag":""', '"tag":"y"') }, s.verifier).ok).toBe(false);
    for (const [from, to] of [[10, 25], [10, 40], [25, 40]] as const) {
      expect(checkProof(await proveConsistency(store, from, to), s.verifier), `${from}..${to}`).toMatchObject({ ok: true });
    }
    // A checkpoint of another history, re-signed: not consistent with this one.
    const c = await proveConsistency(store, 10, 40);
    const forged = signNote(checkpointText({ origin: 'airlock/acme', size: 40, rootHash: 'ab'.repeat(32), time: '2026-12-07T00:00:00.000Z' }), s);
    expect(checkProof({ ...c, to: forged }, s.verifier)).toMatchObject({ ok: false });
    await expect(proveInclusion(store, 41)).rejects.toThrow(/not in the checkpoint/);
    await expect(proveConsistency(store, 11)).rejects.toThrow(/no signed checkpoint of 11/);
  });
});

describe("the store's trail cut under the store's feet", () => {
  it('is caught by its checkpoints though the chain that is left verifies', async () => {
    const dir = fresh('cut');
    const file = path.join(dir, 'airlock.db');
    const s = signer();
    let store = await openSqliteStore(file);
    await fill(store, 1, 30);
    await checkpointer(store, s).checkpoint();
    await store.close();
    const db = new Database(file);
    db.exec('DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq > 27;');
    db.close();
    store = await openSqliteStore(file);
    try {
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 27 });
      expect(await checkStoreCheckpoints(store, s.verifier)).toMatchObject({ ok: false, problem: 'tail-removed' });
    } finally {
      await store.close();
    }
  });
});

describe('a webhook witness', () => {
  it('receives each checkpoint signed with its secret; a witness that fails is told of, never fails the checkpoint, and is sent the newest it is owed at each check until it takes it', async () => {
    const { createServer } = await import('node:http');
    const { verifyWebhookSignature } = await import('../../src/notify/signature.js');
    const { webhookWitness } = await import('../../src/audit/witness.js');
    const got: { size: number; signed: boolean }[] = [];
    let fail = false;
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        const check = verifyWebhookSignature({ secret: 'witness-secret', header: req.headers['airlock-signature'] as string | undefined, body, nowSeconds: Math.floor(CLOCK().getTime() / 1000) });
        got.push({ size: (JSON.parse(body) as { size: number }).size, signed: check.ok });
        res.writeHead(fail ? 503 : 204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/witness`;
    const store = await openSqliteStore(path.join(fresh('hook'), 'airlock.db'));
    const errors: string[] = [];
    try {
      const s = signer();
      const cp = new Checkpointer(store, () => s, { every: 1000, intervalMs: 60_000, now: CLOCK, witnesses: [webhookWitness(url, 'witness-secret', 5000, CLOCK)], onError: (e, doing) => errors.push(`${doing}: ${(e as Error).message}`) });
      await fill(store, 1, 12);
      await cp.checkpoint();
      fail = true;
      await fill(store, 13, 3);
      expect((await cp.checkpoint())?.size).toBe(15);
      expect(got).toEqual([{ size: 12, signed: true }, { size: 15, signed: true }]);
      const failed = (size: number) => `send checkpoint ${size} to witness ${url} (sent again at the next check): the witness answered HTTP 503`;
      expect(errors).toEqual([failed(15)]);
      expect((await store.latestCheckpoint())?.size).toBe(15);
      // Owed: sent again at the next check though the trail is quiet, and replaced by a newer one.
      expect((await cp.checkpoint())?.size).toBe(15);
      await fill(store, 16, 3);
      expect((await cp.checkpoint())?.size).toBe(18);
      expect(errors).toEqual([failed(15), failed(15), failed(18)]);
      fail = false;
      await cp.checkpoint();
      await cp.checkpoint();
      await cp.stop();
      expect(got.map((g) => g.size)).toEqual([12, 15, 15, 18, 18]);
      expect(got.every((g) => g.signed)).toBe(true);
      expect(errors).toHaveLength(3);
      // Owed one, then another instance makes a newer one (and sends it): the older is owed no more.
      fail = true;
      await fill(store, 19, 2);
      expect((await cp.checkpoint())?.size).toBe(20);
      fail = false;
      const other = new Checkpointer(store, () => s, { every: 1000, intervalMs: 60_000, now: CLOCK, witnesses: [webhookWitness(url, 'witness-secret', 5000, CLOCK)], onError: (e) => errors.push(String(e)) });
      await fill(store, 21, 2);
      expect((await other.checkpoint())?.size).toBe(22);
      await cp.checkpoint();
      expect(got.map((g) => g.size)).toEqual([12, 15, 15, 18, 18, 20, 22]);
    } finally {
      await store.close();
      server.close();
    }
  });
});
