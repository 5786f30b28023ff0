// verifyStore's range path (store-scan.ts, store-verify.ts): whole ranges of rows as bytes, here and on verifier threads
// with their own connections (scanned inside SQLite by the C scan there), stitched at range boundaries; the same verdict
// as ChainVerifier record by record on any damage, with the C scan and in JavaScript alone.
// The threads run the built code (dist/): run `npx tsc -p tsconfig.build.json` first.
import { isUtf8 } from 'node:buffer';
import { hash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { chainHash, GENESIS_HASH, leafHashOfText, leafText, type LeafFields } from '../../src/audit/chain.js';
import { verifyStore, type AuditTextSource } from '../../src/audit/log.js';
import { nativeSqliteScan, rangeScanTools } from '../../src/audit/native-scan.js';
import { scanAuditRange, type AuditRangeBytes, type AuditRangeScan, type DigestHex, type RangeScanTools } from '../../src/audit/store-scan.js';
import { DEFAULT_STORE_TUNING, verifyStoreWith, type StoreVerifyTuning } from '../../src/audit/store-verify.js';
import { AuditWriter, type AuditItem } from '../../src/audit/writer.js';
import { auditRecord, openSqliteStore } from '../../src/store/sqlite.js';
import { SCAN_SQL, scanAnswer } from '../../src/store/sqlite-audit-ranges.js';
import type { Store } from '../../src/store/store.js';
import type { Principal, RunId } from '../../src/types.js';
import { tamper, type Tamper } from './tamper.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-audit-ranges-'));
let n = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const KEY = Buffer.alloc(32, 7);
const CLOCK = (): Date => new Date(Date.UTC(2025, 0, 1));
const BOT: Principal = { kind: 'agent', id: 'refund-bot', roles: [] };

/** A store file with `count` records: plain text, text beyond the BMP, escapes, numbers of every form. */
async function filled(count: number): Promise<string> {
  const file = path.join(tmp, `t${++n}`, 'airlock.db');
  const s = await openSqliteStore(file);
  const w = new AuditWriter(s, KEY, CLOCK);
  const item = (i: number): AuditItem => ({
    type: i % 2 ? 'action.intent' : 'action.executed',
    body: {
      i,
      note: i % 3 ? 'plain' : 'Grüße, ✓ 😀 "q" \\ \u0001',
      // Numbers the C scan decides, and now and then ones only JavaScript can (an exponent, 17 digits).
      nested: { z: [1, 2.5, -0.001, 0.000001, 123456.789, ...(i % 11 === 0 ? [1e21, 0.1 + 0.2] : []), null, true], a: 'x\ny' },
      ...(i % 7 === 0 ? { 'ключ': {} } : {}),
      ...(i === 23 ? { 'a"b': 1 } : {}),
    },
  });
  for (let i = 1; i <= count; i += 5) {
    await w.append({ runId: 'run_1' as RunId, principal: BOT, onBehalfOf: undefined }, Array.from({ length: Math.min(5, count - i + 1) }, (_, j) => item(i + j)));
  }
  await s.close();
  return file;
}

/** The store with only its records: `ChainVerifier` fed every record, the reference verdict. */
function recordsOnly(store: Store): Store {
  return Object.assign(Object.create(store) as Store, { readAuditRows: undefined });
}

/** A copy of `pristine` with `changes` applied. */
async function damaged(pristine: string, changes: readonly Tamper[]): Promise<string> {
  const file = path.join(tmp, `p${++n}.db`);
  const src = new Database(pristine, { readonly: true });
  await src.backup(file);
  src.close();
  for (const c of changes) tamper(file, c);
  return file;
}

const HERE: StoreVerifyTuning = { ...DEFAULT_STORE_TUNING, rangeRows: 4, workers: 0, batchSize: 3 };
const THREADS: StoreVerifyTuning = { rangeRows: 4, workers: 2, parallelFrom: 0, batchSize: 3 };

/** The verdicts on `file` by every path, each beside the reference. */
async function compare(file: string, optsList: readonly Parameters<typeof verifyStore>[1][], tunings: readonly StoreVerifyTuning[]): Promise<void> {
  const store = await openSqliteStore(file);
  try {
    for (const opts of optsList) {
      const want = await verifyStore(recordsOnly(store), opts);
      for (const tuning of tunings) expect(await verifyStoreWith(store, opts ?? {}, tuning), JSON.stringify(tuning)).toEqual(want);
      expect(await verifyStore(store, opts)).toEqual(want);
    }
  } finally {
    await store.close();
  }
}

describe('verifyStore in ranges', () => {
  const SIZE = 22;
  const seq = fc.integer({ min: 1, max: SIZE });
  const change: fc.Arbitrary<Tamper> = fc.oneof(
    fc.record({
      kind: fc.constant('text' as const),
      seq,
      at: fc.nat(),
      cut: fc.integer({ min: 0, max: 2 }),
      put: fc.string({ unit: fc.constantFrom(...' "\\u0e+.,:{}[]a7\n'.split('')), maxLength: 2 }),
      rehash: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('respace' as const), seq, rehash: fc.boolean() }),
    fc.record({ kind: fc.constant('replace' as const), seq, from: fc.constant('"plain"'), to: fc.constantFrom('"plaim"', '"plai\\n"'), rehash: fc.boolean() }),
    fc.record({ kind: fc.constant('delete' as const), seq }),
    fc.record({ kind: fc.constant('move' as const), seq, to: fc.integer({ min: SIZE + 1, max: SIZE + 10 }) }),
    fc.record({ kind: fc.constant('swap' as const), seq, with: seq }),
    fc.record({ kind: fc.constant('newline' as const), seq, column: fc.constantFrom('leaf' as const, 'prev_hash' as const, 'chain_hash' as const) }),
    fc.record({
      kind: fc.constant('hash' as const),
      seq,
      column: fc.constantFrom('prev_hash' as const, 'leaf_hash' as const, 'chain_hash' as const),
      value: fc.constantFrom('f'.repeat(64), 'F'.repeat(64), 'f'.repeat(63), 'f'.repeat(65), `${'f'.repeat(63)},`),
    }),
  );

  it('property: the same verdict as record by record, whatever was done to the file (ranges here)', async () => {
    const pristine = await filled(SIZE);
    const p = await openSqliteStore(pristine);
    const head = (await p.auditHead())!;
    const [r6] = await p.readAudit(6, 1);
    const start = { seq: 6, chainHash: r6!.chainHash };
    await p.close();
    await fc.assert(
      fc.asyncProperty(fc.array(change, { minLength: 0, maxLength: 2 }), fc.integer({ min: 1, max: 7 }), async (changes, rangeRows) => {
        const file = await damaged(pristine, changes);
        try {
          await compare(file, [{}, { expectedHead: head }, { start }], [{ ...HERE, rangeRows }, { ...HERE, rangeRows, native: false }]);
        } finally {
          rmSync(file, { force: true });
        }
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it('property: the same verdict with ranges read and scanned on threads', async () => {
    const pristine = await filled(SIZE);
    await fc.assert(
      fc.asyncProperty(fc.array(change, { minLength: 1, maxLength: 2 }), async (changes) => {
        const file = await damaged(pristine, changes);
        try {
          await compare(file, [{}], [THREADS, { ...THREADS, native: false }]);
        } finally {
          rmSync(file, { force: true });
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it('names the first bad record at a range boundary, inside each range, at a missing row and at a reordering', async () => {
    const pristine = await filled(SIZE);
    const cases: Tamper[][] = [
      // Ranges of 4: seqs 1-4, 5-8, ... Their first and last rows, and the first row of the trail.
      [{ kind: 'text', seq: 1, at: 20, cut: 1, put: 'x', rehash: false }],
      [{ kind: 'text', seq: 4, at: 20, cut: 1, put: 'x', rehash: true }],
      [{ kind: 'text', seq: 5, at: 20, cut: 1, put: 'x', rehash: true }],
      [{ kind: 'hash', seq: 9, column: 'prev_hash', value: 'f'.repeat(64) }],
      [{ kind: 'hash', seq: 8, column: 'chain_hash', value: 'f'.repeat(64) }],
      // A canonical rewrite with its own hashes recomputed: only the link from the row after it shows it.
      [{ kind: 'replace', seq: 5, from: '"plain"', to: '"plaim"', rehash: true }],
      [{ kind: 'replace', seq: 8, from: '"plain"', to: '"plaim"', rehash: true }],
      // Damage in each range.
      ...Array.from({ length: 6 }, (_, r): Tamper[] => [{ kind: 'respace', seq: r * 4 + 2, rehash: true }]),
      // A missing row: inside a range, at its end, at the start of the next, the last one.
      [{ kind: 'delete', seq: 6 }],
      [{ kind: 'delete', seq: 8 }],
      [{ kind: 'delete', seq: 9 }],
      [{ kind: 'delete', seq: SIZE }],
      // Reordered: inside a range, across a boundary, across ranges.
      [{ kind: 'swap', seq: 6, with: 7 }],
      [{ kind: 'swap', seq: 8, with: 9 }],
      [{ kind: 'swap', seq: 3, with: 15 }],
      [{ kind: 'move', seq: 12, to: 40 }],
      // A line separator inside a value, framed to look like two rows.
      [{ kind: 'newline', seq: 7, column: 'leaf' }],
      [{ kind: 'newline', seq: 8, column: 'chain_hash' }],
    ];
    const p = await openSqliteStore(pristine);
    const head = (await p.auditHead())!;
    await p.close();
    for (const changes of cases) {
      const file = await damaged(pristine, changes);
      try {
        const store = await openSqliteStore(file);
        // (A cut tail shows only against the head it should reach.)
        const want = await verifyStore(recordsOnly(store), { expectedHead: head });
        await store.close();
        expect(want.ok, JSON.stringify(changes)).toBe(false);
        await compare(file, [{}, { expectedHead: head }], [HERE, THREADS, { ...THREADS, rangeRows: 3 }, { ...HERE, native: false }, { ...THREADS, native: false }]);
      } finally {
        rmSync(file, { force: true });
      }
    }
  }, 120_000);

  it('verifies an intact trail on threads, from genesis and from an anchor, and goes on past rows it rebuilds', async () => {
    // Record 23 has a key with an escape: canonical, but not for the byte scan, so it is rebuilt, and the ranges after it scanned again.
    const file = await filled(50);
    const store = await openSqliteStore(file);
    try {
      const head = await store.auditHead();
      let threads = -1;
      const tuning = { ...THREADS, started: (k: number) => (threads = k) };
      expect(await verifyStoreWith(store, {}, tuning)).toEqual({ ok: true, count: 50, head });
      expect(threads).toBe(2);
      const [r10] = await store.readAudit(10, 1);
      const start = { seq: 10, chainHash: r10!.chainHash };
      expect(await verifyStoreWith(store, { start, expectedHead: head! }, THREADS)).toEqual({ ok: true, count: 40, head });
      expect(await verifyStoreWith(store, { expectedHead: { seq: 60, chainHash: head!.chainHash } }, THREADS)).toEqual(
        await verifyStore(recordsOnly(store), { expectedHead: { seq: 60, chainHash: head!.chainHash } }),
      );
    } finally {
      await store.close();
    }
  }, 60_000);

  it('gives the ranges of threads that die mid-scan to the live ones, or scans them here: the same verdicts', async () => {
    const file = await filled(50);
    const broken = await damaged(file, [{ kind: 'text', seq: 41, at: 30, cut: 1, put: 'x', rehash: true }]);
    // A reader module that ends its thread (process.exit in a worker ends that thread only) at its `dieAt`-th range.
    const dying = path.join(tmp, 'dying-reader.mjs');
    const ranged = (store: Store) => store as Store & Required<Pick<AuditTextSource, 'auditRangeReader'>>;
    const first = await openSqliteStore(file);
    const real = ranged(first).auditRangeReader()!.module;
    await first.close();
    writeFileSync(
      dying,
      `import { openAuditRanges as open } from ${JSON.stringify(pathToFileURL(real).href)};
       export function openAuditRanges(init) {
         const r = open(init); let n = 0;
         const tick = () => { if (++n >= init.dieAt) process.exit(0); };
         return { ...r, read: (...a) => (tick(), r.read(...a)), ...(r.scan && { scan: (...a) => (tick(), r.scan(...a)) }) };
       }`,
    );
    for (const f of [file, broken]) {
      const store = await openSqliteStore(f);
      try {
        const want = await verifyStore(recordsOnly(store), {});
        expect(want.ok).toBe(f === file);
        for (const dieAt of [1, 2, 4]) {
          const spec = ranged(store).auditRangeReader()!;
          const mortal = Object.assign(Object.create(store) as Store, { auditRangeReader: () => ({ module: dying, init: { ...(spec.init as object), dieAt } }) });
          for (const native of [true, false]) expect(await verifyStoreWith(mortal, {}, { ...THREADS, native }), `dieAt ${dieAt}`).toEqual(want);
        }
      } finally {
        await store.close();
      }
    }
  }, 60_000);
});

describe('scanAuditRange', () => {
  // Every case runs twice: scanned in JavaScript, and by the C scan (native/audit-scan.c) where it decides.
  const JS: RangeScanTools = { hash: hash as DigestHex, isUtf8, native: null };
  const C: RangeScanTools = rangeScanTools();
  const scan = (r: AuditRangeBytes, from: number, wantSeq: number, wantChain: string): AuditRangeScan => {
    const js = scanAuditRange(r, from, wantSeq, wantChain, JS);
    expect(scanAuditRange(r, from, wantSeq, wantChain, C)).toEqual(js);
    return js;
  };

  it('runs the C scan here (npm ci builds it)', () => {
    expect(C.native).not.toBeNull();
  });

  /** One row at `seq` with `text` and hashes that add up. */
  function oneRow(text: string, seq: number): AuditRangeBytes {
    const leaf = leafHashOfText(text);
    return { rows: 1, lastSeq: seq, leaves: Buffer.from(text), prevs: Buffer.from(GENESIS_HASH), leafHashes: Buffer.from(leaf), chains: Buffer.from(chainHash(GENESIS_HASH, leaf)) };
  }
  const text = fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  );
  const record = fc.record({
    seq: fc.integer({ min: 1, max: 1e9 }),
    schemaVersion: fc.constant(1),
    type: text,
    time: text,
    runId: fc.option(text),
    principal: fc.option(text),
    onBehalfOf: fc.option(text),
    body: fc.dictionary(text, fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme' }), { maxKeys: 6 }),
  });

  it('property: takes a text only if it is exactly what the record read back from it is rebuilt as', () => {
    const edit = fc.record({
      at: fc.nat(),
      cut: fc.integer({ min: 0, max: 3 }),
      put: fc.string({ unit: fc.constantFrom(...' "\\u01eE+-.,:{}[]/abn\t\n\uD800\uDC00😀é'.split('')), maxLength: 3 }),
    });
    let taken = 0;
    fc.assert(
      fc.property(record, fc.array(edit, { maxLength: 3 }), fc.integer({ min: -1, max: 1 }), (r, edits, seqShift) => {
        let t = leafText(r as LeafFields);
        for (const e of edits) {
          const at = e.at % (t.length + 1);
          t = t.slice(0, at) + e.put + t.slice(at + e.cut);
        }
        const seq = r.seq + seqShift;
        if (scan(oneRow(t, seq), seq, -1, '').ok) {
          taken++;
          // As the store reads it back (the bytes decoded as UTF-8), parsed and rebuilt: the same bytes.
          const stored = Buffer.from(t).toString('utf8');
          expect(leafText(auditRecord({ seq, leaf: stored, prev_hash: '', leaf_hash: '', chain_hash: '' }))).toBe(stored);
        }
      }),
      { numRuns: 20_000 },
    );
    expect(taken).toBeGreaterThan(100);
  });

  it('property: the C scan inside SQLite answers as the JavaScript scan of the same rows, for any bytes', () => {
    // Rows as an attacker with the file could leave them: canonical texts edited byte by byte (invalid UTF-8,
    // surrogates, overlong forms, bytes past U+10FFFF included), their hashes recomputed over the new bytes.
    const ext = nativeSqliteScan();
    expect(ext).not.toBeNull();
    const db = new Database(':memory:');
    db.exec('CREATE TABLE audit (seq INTEGER PRIMARY KEY, leaf TEXT NOT NULL, prev_hash TEXT NOT NULL, leaf_hash TEXT NOT NULL, chain_hash TEXT NOT NULL) STRICT');
    (db.loadExtension as (file: string, entryPoint: string) => void)(ext!.file, ext!.entryPoint);
    const insert = db.prepare('INSERT INTO audit VALUES (?, CAST(? AS TEXT), ?, ?, ?)');
    const scanSql = db.prepare<[{ from: number; to: number; wantSeq: number; wantChain: string }], [number, string | null]>(SCAN_SQL).raw();
    const byteEdit = fc.record({
      at: fc.nat(),
      cut: fc.integer({ min: 0, max: 2 }),
      put: fc.constantFrom(
        [0xff], [0x80], [0xc0, 0xaf], [0xc3], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf0, 0x9f, 0x98, 0x80],
        [0xc3, 0xa9], [0xe2, 0x9c, 0x93], [0x00], [0x0a], [0x22], [0x5c], [0x7f], [0x31], [0x2e, 0x35], [0x65, 0x32],
      ),
    });
    const edits = fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(byteEdit, { minLength: 1, maxLength: 2 }) });
    let decided = 0;
    let taken = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(record, edits), { minLength: 1, maxLength: 3 }), fc.boolean(), (rows, want) => {
        const from = rows[0]![0].seq;
        const texts = rows.map(([r, edits], k) => {
          let b = Buffer.from(leafText({ ...r, seq: from + k } as LeafFields));
          for (const e of edits) {
            const at = e.at % (b.length + 1);
            b = Buffer.concat([b.subarray(0, at), Buffer.from(e.put), b.subarray(at + e.cut)]);
          }
          return b;
        });
        db.exec('DELETE FROM audit');
        let prev = GENESIS_HASH as string;
        const prevs: string[] = [];
        const leafHashes: string[] = [];
        const chains: string[] = [];
        texts.forEach((t, k) => {
          const leaf = hash('sha256', Buffer.concat([Buffer.from([0]), t]), 'hex');
          const chain = chainHash(prev, leaf);
          insert.run(from + k, t, prev, leaf, chain);
          prevs.push(prev);
          leafHashes.push(leaf);
          chains.push(chain);
          prev = chain;
        });
        const lastSeq = from + texts.length - 1;
        const [wantSeq, wantChain] = want ? [lastSeq, prev] : [-1, ''];
        const bytes: AuditRangeBytes = {
          rows: texts.length,
          lastSeq,
          leaves: Buffer.concat(texts.flatMap((t, k) => (k === 0 ? [t] : [Buffer.from('\n'), t]))),
          prevs: Buffer.from(prevs.join(',')),
          leafHashes: Buffer.from(leafHashes.join(',')),
          chains: Buffer.from(chains.join(',')),
        };
        const js = scan(bytes, from, wantSeq, wantChain);
        const inSqlite = scanAnswer(scanSql.get({ from, to: from + 4, wantSeq, wantChain }) as [number, string | null]);
        if (inSqlite !== null) {
          decided++;
          expect(inSqlite.ok).toBe(js.ok);
          if (js.ok) expect(inSqlite).toEqual(js);
        }
        if (js.ok) taken++;
      }),
      { numRuns: 5000 },
    );
    db.close();
    expect(decided).toBeGreaterThan(4000);
    expect(taken).toBeGreaterThan(100);
  });

  it('takes what Airlock writes, text beyond the BMP included', () => {
    fc.assert(
      fc.property(record, (r) => {
        const t = leafText(r as LeafFields);
        const keysPlain = !/"(?:[^"\\]|\\.)*[\uD800-\uDFFF](?:[^"\\]|\\.)*":/.test(t) && !/[\uD800-\uDFFF]/.test(Object.keys(r.body).join(''));
        const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(JSON.stringify(r));
        const escapedKeys = JSON.stringify(Object.keys(r.body)).includes('\\');
        if (keysPlain && !lone && !escapedKeys && !/\\u[0-9a-f]{4}/.test(t.replace(/\\u00(?:0[0-7bef]|1[0-9a-f])/g, ''))) {
          expect(scan(oneRow(t, r.seq), r.seq, -1, '').ok, t).toBe(true);
        }
        expect(scan(oneRow(t, r.seq), r.seq + 1, -1, '').ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('says no to a range whose row count, seqs, framing, hashes, link or wanted head do not hold', () => {
    const a = leafText({ seq: 1, schemaVersion: 1, type: 't', time: 'x', runId: null, principal: null, onBehalfOf: null, body: { a: 1 } });
    const b = leafText({ seq: 2, schemaVersion: 1, type: 't', time: 'x', runId: null, principal: null, onBehalfOf: null, body: { a: 2 } });
    const la = leafHashOfText(a);
    const ca = chainHash(GENESIS_HASH, la);
    const lb = leafHashOfText(b);
    const cb = chainHash(ca, lb);
    const range = (leaves: string, prevs: string, leafHashes: string, chains: string, rows = 2, lastSeq = 2): AuditRangeBytes => ({
      rows,
      lastSeq,
      leaves: Buffer.from(leaves),
      prevs: Buffer.from(prevs),
      leafHashes: Buffer.from(leafHashes),
      chains: Buffer.from(chains),
    });
    const good = range(`${a}\n${b}`, `${GENESIS_HASH},${ca}`, `${la},${lb}`, `${ca},${cb}`);
    expect(scan(good, 1, -1, '')).toEqual({ ok: true, rows: 2, firstPrev: GENESIS_HASH, lastChain: cb });
    expect(scan(good, 1, 2, cb).ok).toBe(true);
    expect(scan(good, 1, 2, ca).ok).toBe(false);
    expect(scan(good, 1, 1, '').ok).toBe(false);
    expect(scan(good, 2, -1, '').ok).toBe(false);
    expect(scan({ ...good, rows: 1 }, 1, -1, '').ok).toBe(false);
    expect(scan({ ...good, rows: 3 }, 1, -1, '').ok).toBe(false);
    // Fewer texts than rows: the first text ends where the leaves do.
    expect(scan({ ...good, leaves: Buffer.from(a) }, 1, -1, '').ok).toBe(false);
    // Seqs not one unbroken run (1 and 3: the texts say 1 and 2).
    expect(scan({ ...good, lastSeq: 3 }, 1, -1, '').ok).toBe(false);
    expect(scan(range(`${a}\n${b}\n`, `${GENESIS_HASH},${ca}`, `${la},${lb}`, `${ca},${cb}`), 1, -1, '').ok).toBe(false);
    expect(scan(range(`${a}\n${b}`, `${GENESIS_HASH},${GENESIS_HASH}`, `${la},${lb}`, `${ca},${cb}`), 1, -1, '').ok).toBe(false);
    expect(scan(range(`${a}\n${b}`, `${GENESIS_HASH},${ca}`, `${la},${lb}`, `${ca},${cb.toUpperCase()}`), 1, -1, '').ok).toBe(false);
    expect(scan(range(`${b}\n${a}`, `${ca},${GENESIS_HASH}`, `${lb},${la}`, `${cb},${ca}`), 1, -1, '').ok).toBe(false);
    // Values framed otherwise with the same bytes: one of 63 characters and the next of 65.
    expect(scan(range(`${a}\n${b}`, `${GENESIS_HASH},${ca}`, `${la.slice(0, 63)},${la.slice(63)}${lb}`, `${ca},${cb}`), 1, -1, '').ok).toBe(false);
    expect(scan(range(`${a}\n${b}`, `${GENESIS_HASH};${ca}`, `${la},${lb}`, `${ca},${cb}`), 1, -1, '').ok).toBe(false);
    // Not UTF-8: the store would read it back as something else.
    const bad = Buffer.from(`${a}\n${b}`);
    bad[bad.indexOf('"t"') + 1] = 0xff;
    expect(scan({ ...good, leaves: bad }, 1, -1, '').ok).toBe(false);
    const empty = new Uint8Array(0);
    expect(scan({ rows: 0, lastSeq: 0, leaves: empty, prevs: empty, leafHashes: empty, chains: empty }, 1, -1, '')).toEqual({ ok: true, rows: 0, firstPrev: '', lastChain: '' });
  });
});
