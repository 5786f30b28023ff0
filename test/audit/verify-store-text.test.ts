// verifyStore on a store's stored text (AuditTextSource) against verifyStore on its records: the same verdict on any tampering.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { leafText, type LeafFields } from '../../src/audit/chain.js';
import { verifyStore, type AuditTextSource, type StoredAuditRow } from '../../src/audit/log.js';
import { isCanonicalLeafText } from '../../src/audit/scan.js';
import { AuditWriter, type AuditItem } from '../../src/audit/writer.js';
import { auditRecord, openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import type { Json, Principal, RunId } from '../../src/types.js';
import { tamper } from './tamper.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-audit-text-'));
let n = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The record the store reads back from stored text under `seq` (the store's own row parser). */
function recordFrom(text: string, seq: number): LeafFields {
  return auditRecord({ seq, leaf: text, prev_hash: '', leaf_hash: '', chain_hash: '' });
}

// Mostly plain text (the fast path's case), sometimes anything at all.
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);
const body = fc.dictionary(
  text,
  fc.oneof({ weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme-ascii' }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }) }),
  { maxKeys: 6 },
);
const record = fc.record({
  seq: fc.integer({ min: 1, max: 1e9 }),
  schemaVersion: fc.constant(1),
  type: text,
  time: text,
  runId: fc.option(text),
  principal: fc.option(text),
  onBehalfOf: fc.option(text),
  body,
});

describe('isCanonicalLeafText', () => {
  it('property: says yes only to the exact text a record is rebuilt as (for any edit of a canonical text)', () => {
    const edit = fc.record({
      at: fc.nat(),
      cut: fc.integer({ min: 0, max: 3 }),
      put: fc.string({ unit: fc.constantFrom(...' "\\u01eE+-.,:{}[]/abn\t\uD800\uDC00'.split('')), maxLength: 3 }),
    });
    fc.assert(
      fc.property(record, fc.array(edit, { maxLength: 3 }), fc.integer({ min: -1, max: 1 }), (r, edits, seqShift) => {
        let t = leafText(r as LeafFields);
        for (const e of edits) {
          const at = e.at % (t.length + 1);
          t = t.slice(0, at) + e.put + t.slice(at + e.cut);
        }
        const seq = r.seq + seqShift;
        if (isCanonicalLeafText(t, seq)) expect(leafText(recordFrom(t, seq))).toBe(t);
      }),
      { numRuns: 20_000 },
    );
  });

  it('says yes to what Airlock writes', () => {
    const ascii = fc.string({ unit: 'grapheme-ascii', maxLength: 12 });
    const plainRecord = fc.record({
      seq: fc.integer({ min: 1, max: 1e9 }),
      schemaVersion: fc.constant(1),
      type: ascii,
      time: ascii,
      runId: fc.option(ascii),
      principal: fc.option(ascii),
      onBehalfOf: fc.option(ascii),
      body: fc.dictionary(fc.string({ unit: fc.constantFrom(...'abcdefghij_-.:é✓'.split('')) }), fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme' }), { maxKeys: 6 }),
    });
    fc.assert(
      fc.property(plainRecord, (r) => {
        const t = leafText(r as LeafFields);
        // Surrogates (emoji) and escaped keys are left to the slow path.
        if (!/[\uD800-\uDFFF]/.test(t) && !hasEscapedKeys(r.body as Json)) expect(isCanonicalLeafText(t, r.seq)).toBe(true);
        expect(isCanonicalLeafText(t, r.seq + 1)).toBe(false);
      }),
      { numRuns: 1000 },
    );
    expect(isCanonicalLeafText(leafText({ ...base(), body: { a: 1, b: [1.5, -2e-7, 1e21, true, null, 'x\u0001\n"\\'], c: { d: 'é ✓' } } }), 7)).toBe(true);
  });

  it('says no to JSON that reads back as another text', () => {
    const ok = leafText({ ...base(), body: { a: 1, b: 'x' } });
    expect(isCanonicalLeafText(ok, 7)).toBe(true);
    const variants = [
      ok.replace('"a":1', '"a":1.0'),
      ok.replace('"a":1', '"a":1e0'),
      ok.replace('"a":1', '"a":-0'),
      ok.replace('"a":1', '"a":01'),
      ok.replace('"a":1', '"a":12345678901234567890'),
      ok.replace('"a":1', '"a": 1'),
      ok.replace('"b":"x"', '"b":"\\u0078"'),
      ok.replace('"b":"x"', '"b":"\\/"'),
      ok.replace('"b":"x"', '"b":"\\u001F"'),
      ok.replace('"b":"x"', '"b":"\\u000a"'),
      ok.replace('"b":"x"', '"b":"\\ud800"'),
      ok.replace('"b":"x"', '"b":"\uD800"'),
      ok.replace('"b":"x"', '"b":"\u0001"'),
      ok.replace('"a":1,"b":"x"', '"b":"x","a":1'),
      ok.replace('"a":1,"b":"x"', '"a":1,"a":1,"b":"x"'),
      ok.replace('"a":1,"b":"x"', '"\\u0061":1,"b":"x"'),
      ok.replace('"schemaVersion":1', '"schemaVersion":1.5'),
      ok.replace('"schemaVersion":1', '"schemaVersion":"1"'),
      ok.replace('"runId":null', '"runId":5'),
      ok.replace('"type":"action.intent"', '"type":null'),
      ok.replace('{"body":{', '{"body":[{').replace(',"onBehalfOf"', '],"onBehalfOf"'),
      ok.replace('"seq":7', '"seq":7,"seq":7'),
      ok.replace('"seq":7', '"seq":8'),
      ok.replace('}', '},"x":1}'),
      `${ok} `,
      ok.slice(0, -1),
      ok.replace('"b":"x"', `"b":${'['.repeat(70)}${']'.repeat(70)}`),
      ok.replace('"a":1', '"a":tru'),
      ok.replace('"a":1', '"a":Infinity'),
      ok.replace('"a":1', '"a":NaN'),
    ];
    for (const v of variants) {
      expect(v).not.toBe(ok);
      expect(isCanonicalLeafText(v, 7)).toBe(false);
    }
    // Integer-like keys sort as text, not as numbers.
    expect(isCanonicalLeafText(leafText({ ...base(), body: { '1': 1, '10': 2, '9': 3 } }), 7)).toBe(true);
    expect(isCanonicalLeafText(ok.replace('"a":1,"b":"x"', '"1":1,"9":3,"10":2'), 7)).toBe(false);
  });
});

function hasEscapedKeys(v: Json): boolean {
  if (Array.isArray(v)) return v.some(hasEscapedKeys);
  if (typeof v !== 'object' || v === null) return false;
  return Object.entries(v).some(([k, x]) => JSON.stringify(k) !== `"${k}"` || hasEscapedKeys(x));
}

function base(): LeafFields {
  return { seq: 7, schemaVersion: 1, type: 'action.intent', time: '2025-01-01T00:00:00.000Z', runId: null, principal: 'agent:x', onBehalfOf: null, body: {} };
}

// --- verifyStore: stored text against records ---

const KEY = Buffer.alloc(32, 7);
const CLOCK = (): Date => new Date(Date.UTC(2025, 0, 1));
const BOT: Principal = { kind: 'agent', id: 'refund-bot', roles: [] };

/** `store` plus the stored rows, read from its file (what a store implementing AuditTextSource returns). */
function withText(store: Store, file: string): { store: Store; close: () => void } {
  const db = new Database(file, { readonly: true });
  const rows = db.prepare<[number, number], StoredAuditRow>(
    'SELECT seq, leaf AS text, prev_hash AS prevHash, leaf_hash AS leafHash, chain_hash AS chainHash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?',
  );
  const source: AuditTextSource = { readAuditRows: (from, limit) => Promise.resolve(rows.all(from, limit)) };
  return { store: Object.assign(Object.create(store) as Store, source), close: () => db.close() };
}

async function filled(count: number): Promise<string> {
  const file = path.join(tmp, `t${++n}`, 'airlock.db');
  const s = await openSqliteStore(file);
  const w = new AuditWriter(s, KEY, CLOCK);
  const item = (i: number): AuditItem => ({
    type: i % 2 ? 'action.intent' : 'action.executed',
    body: { i, note: i % 3 ? 'plain' : 'Grüße, ✓ 😀', nested: { z: [1, 2.5, null], a: 'x\ny' } },
  });
  for (let i = 1; i <= count; i += 4) {
    await w.append({ runId: 'run_1' as RunId, principal: BOT, onBehalfOf: undefined }, Array.from({ length: Math.min(4, count - i + 1) }, (_, j) => item(i + j)));
  }
  await s.close();
  return file;
}

describe('verifyStore on stored text', () => {
  it('property: gets the same verdict as record by record, whatever was done to the file', async () => {
    const seq = fc.integer({ min: 1, max: 14 });
    const change = fc.oneof(
      fc.record({
        kind: fc.constant('text' as const),
        seq,
        at: fc.nat(),
        cut: fc.integer({ min: 0, max: 2 }),
        put: fc.string({ unit: fc.constantFrom(...' "\\u0e+.,:{}[]a7'.split('')), maxLength: 2 }),
        rehash: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('respace' as const), seq, rehash: fc.boolean() }),
      fc.record({ kind: fc.constant('delete' as const), seq }),
      fc.record({ kind: fc.constant('move' as const), seq, to: fc.integer({ min: 15, max: 30 }) }),
      fc.record({ kind: fc.constant('hash' as const), seq, column: fc.constantFrom('prev_hash' as const, 'leaf_hash' as const, 'chain_hash' as const) }),
    );
    const pristine = await filled(14);
    const p = await openSqliteStore(pristine);
    const head = (await p.auditHead())!;
    const [r5] = await p.readAudit(5, 1);
    const start = { seq: 5, chainHash: r5!.chainHash };
    await p.close();
    await fc.assert(
      fc.asyncProperty(fc.array(change, { minLength: 0, maxLength: 2 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), async (changes, batchSize, anchored) => {
        const file = path.join(tmp, `p${++n}.db`);
        const src = new Database(pristine, { readonly: true });
        await src.backup(file);
        src.close();
        for (const c of changes) tamper(file, c);
        const store = await openSqliteStore(file);
        const text = withText(store, file);
        try {
          for (const opts of [{ batchSize }, { batchSize, expectedHead: head }, ...(anchored ? [{ batchSize, start }] : [])]) {
            expect(await verifyStore(text.store, opts)).toEqual(await verifyStore(store, opts));
          }
        } finally {
          text.close();
          await store.close();
          rmSync(file, { force: true });
        }
      }),
      { numRuns: 120 },
    );
  });

  it('verifies an intact store on its text, and a segment from an anchor', async () => {
    const file = await filled(30);
    const store = await openSqliteStore(file);
    const text = withText(store, file);
    try {
      const head = await store.auditHead();
      expect(await verifyStore(text.store, { batchSize: 7 })).toEqual({ ok: true, count: 30, head });
      const [r10] = await store.readAudit(10, 1);
      const start = { seq: 10, chainHash: r10!.chainHash };
      expect(await verifyStore(text.store, { start, batchSize: 4 })).toEqual(await verifyStore(store, { start, batchSize: 4 }));
      expect(await verifyStore(text.store, { start, expectedHead: head! })).toMatchObject({ ok: true, count: 20 });
    } finally {
      text.close();
      await store.close();
    }
  });
});
