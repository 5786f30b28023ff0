// The pure audit chain: hashes as docs/internals.md defines them, and a verifier that names the first bad record and why.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainHash, GENESIS_HASH, leafHash, leafText, prepareLeaf, sealLeaf, type ChainedRecord, type LeafFields } from '../../src/audit/chain.js';
import { ChainVerifier, verifyChain } from '../../src/audit/chain-verifier.js';
import type { Json, Sha256Hex } from '../../src/types.js';
import { canonicalJson } from '../../src/util/hash.js';

type Rec = ChainedRecord;

/** A valid chain of `n` records from genesis (or after `start`). */
function makeChain(n: number, start = { seq: 0, chainHash: GENESIS_HASH }): Rec[] {
  const out: Rec[] = [];
  let prev = start.chainHash;
  for (let i = 1; i <= n; i++) {
    const r = seal(content(start.seq + i), prev);
    out.push(r);
    prev = r.chainHash as Sha256Hex;
  }
  return out;
}

function content(seq: number): Omit<LeafFields, 'seq' | 'schemaVersion'> {
  return {
    type: seq % 3 === 0 ? 'action.decision' : 'action.intent',
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
    runId: `run_${seq % 4}`,
    principal: 'agent:refund-bot',
    onBehalfOf: seq % 2 ? null : 'user:lena',
    body: { i: seq, tool: 'payments.refund', args: { z: 1, a: [true, null, 'x'] } },
  };
}

/** Seals content at the position after `prev`, with seq taken from the content's index. */
function seal(c: Omit<LeafFields, 'seq' | 'schemaVersion'> & { body: { i?: Json } }, prev: Sha256Hex, seq = Number(c.body.i)): Rec {
  const s = sealLeaf(prepareLeaf(c), seq, prev);
  return { ...(JSON.parse(s.text) as LeafFields), prevHash: s.prevHash, leafHash: s.leafHash, chainHash: s.chainHash };
}

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

describe('hashes', () => {
  it('leaf = sha256(0x00 || canonical JSON without hashes); chain = sha256("airlock-chain-v1" || prev || leaf)', () => {
    const [r] = makeChain(1);
    const { prevHash: _p, leafHash: _l, chainHash: _c, ...rest } = r!;
    const canonical = canonicalJson(rest);
    expect(leafText(r!)).toBe(canonical);
    expect(r!.leafHash).toBe(sha(Buffer.concat([Buffer.from([0]), Buffer.from(canonical, 'utf8')])));
    expect(r!.prevHash).toBe('0'.repeat(64));
    expect(r!.chainHash).toBe(sha(`airlock-chain-v1${'0'.repeat(64)}${r!.leafHash}`));
    expect(chainHash(r!.prevHash, r!.leafHash)).toBe(r!.chainHash);
    expect(leafHash(r!)).toBe(r!.leafHash);
  });

  it('leafText is exactly RFC 8785 (as `canonicalize` writes it) for any JSON body', () => {
    const body = fc.dictionary(fc.string({ unit: 'grapheme' }), fc.jsonValue(), { maxKeys: 8 });
    fc.assert(
      fc.property(body, fc.option(fc.string({ unit: 'grapheme' })), fc.nat(), (b, who, seq) => {
        const r = { seq, schemaVersion: 1, type: 't', time: 'now', runId: who, principal: who, onBehalfOf: null, body: b as { [k: string]: Json } };
        expect(leafText(r)).toBe(canonicalJson(r));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses content with no canonical form when appending', () => {
    const base = content(1);
    expect(() => prepareLeaf({ ...base, body: { x: Number.NaN } })).toThrow(/canonical JSON/);
    expect(() => prepareLeaf({ ...base, body: { x: '\uD800' } })).toThrow(/lone surrogate/);
    expect(() => prepareLeaf({ ...base, body: [] as unknown as { [k: string]: Json } })).toThrow(/JSON object/);
    expect(() => prepareLeaf({ ...base, type: '' })).toThrow(/empty/);
    expect(() => prepareLeaf({ ...base, runId: 5 as unknown as string })).toThrow(/runId/);
  });
});

describe('verifyChain', () => {
  it('accepts a valid chain and reports its length and head', async () => {
    const c = makeChain(50);
    expect(await verifyChain(c)).toEqual({ ok: true, count: 50, head: { seq: 50, chainHash: c[49]!.chainHash } });
    expect(await verifyChain([])).toEqual({ ok: true, count: 0, head: null });
  });

  it('takes batches, sync or async', async () => {
    const c = makeChain(25);
    async function* batches(): AsyncGenerator<readonly Rec[]> {
      for (let i = 0; i < c.length; i += 10) yield c.slice(i, i + 10);
    }
    expect(await verifyChain(batches())).toMatchObject({ ok: true, count: 25 });
    expect(await verifyChain([c.slice(0, 5), c.slice(5)])).toMatchObject({ ok: true, count: 25 });
  });

  it('verifies a segment from a trusted anchor, and checks an expected head', async () => {
    const c = makeChain(20);
    const start = { seq: 10, chainHash: c[9]!.chainHash as Sha256Hex };
    expect(await verifyChain(c.slice(10), { start })).toMatchObject({ ok: true, count: 10, head: { seq: 20 } });
    expect(await verifyChain(c.slice(10))).toMatchObject({ ok: false, seq: 1, problem: 'deleted' });
    const head = { seq: 20, chainHash: c[19]!.chainHash as Sha256Hex };
    expect(await verifyChain(c, { expectedHead: head })).toMatchObject({ ok: true });
    // A deleted tail is invisible without a trusted head, and named with one.
    expect(await verifyChain(c.slice(0, 17))).toMatchObject({ ok: true, count: 17 });
    expect(await verifyChain(c.slice(0, 17), { expectedHead: head })).toMatchObject({ ok: false, seq: 18, problem: 'deleted' });
    const forged = { seq: 20, chainHash: 'f'.repeat(64) as Sha256Hex };
    expect(await verifyChain(c, { expectedHead: forged })).toMatchObject({ ok: false, seq: 20, problem: 'broken-link' });
  });

  const fields: readonly (keyof Rec)[] = [
    'seq',
    'schemaVersion',
    'type',
    'time',
    'runId',
    'principal',
    'onBehalfOf',
    'body',
    'prevHash',
    'leafHash',
    'chainHash',
  ];
  function mutate(r: Rec, field: keyof Rec, salt: number): Rec {
    const v = r[field];
    const changed: unknown =
      typeof v === 'number'
        ? v + 1 + salt
        : typeof v === 'string'
          ? v.length === 64 && field.endsWith('Hash')
            ? v.slice(0, salt % 64) + (v[salt % 64] === 'a' ? 'b' : 'a') + v.slice((salt % 64) + 1)
            : `${v}${salt}`
          : v === null
            ? `x${salt}`
            : { ...(v as object), changed: salt };
    return { ...r, [field]: changed };
  }

  it('property: any single changed field fails verification and names that record as changed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.nat(), fc.constantFrom(...fields), fc.nat(), async (n, at, field, salt) => {
        const c = makeChain(n);
        const k = at % n;
        c[k] = mutate(c[k]!, field, salt);
        expect(await verifyChain(c)).toMatchObject({ ok: false, seq: k + 1, problem: 'changed' });
      }),
      { numRuns: 400 },
    );
  });

  it('property: a deleted record (or run of records) is named as deleted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 40 }), fc.nat(), fc.integer({ min: 1, max: 5 }), async (n, at, len) => {
        const c = makeChain(n);
        const k = at % (n - 1); // never the tail: a deleted tail needs a trusted head (tested above)
        const removed = Math.min(len, n - 1 - k);
        c.splice(k, removed);
        const v = await verifyChain(c);
        expect(v).toMatchObject({ ok: false, seq: k + 1, problem: 'deleted' });
      }),
      { numRuns: 300 },
    );
  });

  it('property: a swapped pair or a moved record is named as reordered (the first record out of place)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 40 }), fc.nat(), fc.nat(), async (n, a, b) => {
        const c = makeChain(n);
        const from = a % n;
        let to = b % n;
        if (to === from) to = (from + 1) % n;
        const [moved] = c.splice(from, 1);
        c.splice(to, 0, moved!);
        const firstOut = c.findIndex((r, i) => r.seq !== i + 1);
        expect(await verifyChain(c)).toMatchObject({ ok: false, seq: c[firstOut]!.seq, problem: 'reordered' });
      }),
      { numRuns: 300 },
    );
  });

  it('property: an inserted copy, forgery or junk record is named as inserted', async () => {
    const kinds = ['copy', 'forged-linked', 'forged-fresh-seq', 'junk'] as const;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 30 }), fc.nat(), fc.nat(), fc.constantFrom(...kinds), async (n, at, pick, kind) => {
        const c = makeChain(n);
        const k = at % n; // inserted before c[k] (never after the tail: appending is what writers do)
        const prev = (k === 0 ? GENESIS_HASH : c[k - 1]!.chainHash) as Sha256Hex;
        let x: Rec;
        switch (kind) {
          case 'copy':
            x = c[pick % n]!;
            break;
          case 'forged-linked': // a well-formed record claiming the next seq, linked to the previous record
            x = seal({ ...content(k + 1), body: { i: k + 1, forged: true } }, prev);
            break;
          case 'forged-fresh-seq':
            x = seal({ ...content(1000 + pick), body: { i: 1000 + pick, forged: true } }, prev);
            break;
          case 'junk':
            x = { ...mutate(c[pick % n]!, 'body', pick), seq: k + 1 };
            break;
        }
        c.splice(k, 0, x);
        const v = await verifyChain(c);
        expect(v).toMatchObject({ ok: false, seq: x.seq, problem: 'inserted' });
      }),
      { numRuns: 400 },
    );
  });

  it('names a record rewritten with recomputed hashes at the broken link after it', async () => {
    const c = makeChain(10);
    c[4] = seal({ ...content(5), body: { i: 5, amount_cents: 999_999 } }, c[3]!.chainHash as Sha256Hex);
    const v = await verifyChain(c);
    expect(v).toMatchObject({ ok: false, seq: 6, problem: 'broken-link' });
    expect(v.ok ? '' : v.message).toMatch(/record 5 was rewritten/);
  });

  it('explains itself: messages say what is wrong where', async () => {
    const c = makeChain(6);
    const deleted = await verifyChain([...c.slice(0, 2), ...c.slice(4)]);
    expect(deleted.ok ? '' : deleted.message).toBe('records 3–4 are missing: record 5 follows record 2');
    const changed = await verifyChain([c[0]!, { ...c[1]!, type: 'x' }, ...c.slice(2)]);
    expect(changed.ok ? '' : changed.message).toBe('record 2 was changed: its content does not match its leafHash');
  });

  it('stops reading once the verdict is known', () => {
    const v = new ChainVerifier();
    const c = makeChain(5);
    expect(v.push(c[0]!)).toBe(true);
    expect(v.push(mutate(c[1]!, 'type', 1))).toBe(true); // undecided: changed, or inserted?
    expect(v.push(c[2]!)).toBe(false); // decided: changed
    expect(v.finish()).toMatchObject({ ok: false, seq: 2, problem: 'changed' });
    expect(v.push(c[3]!)).toBe(false);
  });

  it('survives garbage in place of a record', async () => {
    const c = makeChain(3);
    const bad = [c[0]!, null as unknown as Rec, c[2]!];
    expect(await verifyChain(bad)).toMatchObject({ ok: false, seq: 2, problem: 'changed' });
    const v = new ChainVerifier();
    v.push(c[0]!);
    v.pushMalformed('not JSON');
    v.push(c[1]!);
    expect(v.finish()).toMatchObject({ ok: false, seq: 2, problem: 'inserted' });
  });
});
