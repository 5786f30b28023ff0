// The shared suite of the context store (context from declared sources): every backend (SQLite's FTS5,
// PostgreSQL's tsvector) must pass it unchanged: ranking as FTS5's BM25, ties in the order stored, FTS5's
// words (case, diacritics, punctuation, phrases), the entitlement filter, relabels, removals and new
// versions, reads of a whole document, citations, and embeddings with their fusion.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chunkText } from '../../src/context/chunk.js';
import { searchTerms } from '../../src/context/entitlements.js';
import { AirlockError } from '../../src/errors.js';
import { COMMON_CANDIDATES } from '../../src/store/context-search.js';
import type { ContextDocumentDraft, ContextHit, ContextLabels, ContextQuery, Store } from '../../src/store/store.js';
import { sha256Hex } from '../../src/util/hash.js';

/** The context methods of a store. */
export type ContextStore = Pick<Store, 'contextDocuments' | 'contextSources' | 'changeContext' | 'searchContext' | 'readContextDocument' | 'contextUnembedded' | 'putContextVectors' | 'contextCited'>;
/** Opens a fresh, empty context store for one test; `close` ends it. */
export type ContextStoreFactory = () => Promise<{ readonly store: ContextStore; close(): Promise<void> }>;

export const EVERYONE: ContextLabels = { classification: 'internal', trust: 'trusted', owner: 'user:dana', access: ['*'], maxAgeDays: 30 };
export const HR_ONLY: ContextLabels = { classification: 'confidential', trust: 'trusted', owner: 'user:dana', access: ['role:hr'], maxAgeDays: 30 };

/** A new version of `path` holding `text`, cut into chunks of at most `chunkChars`. */
export function doc(path: string, text: string, labels: ContextLabels = EVERYONE, chunkChars = 1200): ContextDocumentDraft {
  return { path, versionHash: sha256Hex(text), modifiedAt: '2030-01-01T00:00:00.000Z', labels, chunks: chunkText(text, chunkChars) };
}

/** Stores `docs` in `source` (and removes `remove`), as one ingest step. */
export function put(s: ContextStore, source: string, docs: readonly ContextDocumentDraft[], remove: readonly string[] | 'all' = []): Promise<void> {
  return s.changeContext({ source, at: '2030-01-02T00:00:00.000Z', put: docs, remove });
}

// Entitlement sets: a staff member alone, and an agent acting for an HR person (both must be granted).
export const SAM = [['*', 'user:sam', 'role:staff']];
export const DANA = [['*', 'user:dana', 'role:hr']];
export const HELPER_FOR_DANA = [['*', 'agent:helper', 'role:assistant'], ['*', 'user:dana', 'role:hr']];

/** `source/path#chunk` of each hit, in order. */
export const where = (hits: readonly ContextHit[]): string[] => hits.map((h) => `${h.source}/${h.path}#${h.chunk}`);

/** FTS5's bm25() for one single-token phrase, from the definition (k1 = 1.2, b = 0.75, lower is better). */
export function bm25(n: number, hits: number, avgdl: number, f: number, d: number): number {
  const idf = Math.max(Math.log((n - hits + 0.5) / (hits + 0.5)), 0) || 1e-6;
  return -idf * ((f * 2.2) / (f + 1.2 * (0.25 + (0.75 * d) / avgdl)));
}

/** A unit vector pointing mostly along `axis` (of 8), a little along `other`. */
export function axisVector(axis: number, other = (axis + 1) % 8, lean = 0.1): Float32Array {
  const v = new Float32Array(8);
  v[axis] = 1;
  v[other] = lean;
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

export function contextStoreSuite(name: string, factory: ContextStoreFactory): void {
  describe(`context store: ${name}`, () => {
    let s: ContextStore;
    let close: () => Promise<void>;
    const search = (terms: string | readonly string[], entitlements: readonly (readonly string[])[] = SAM, over: Partial<ContextQuery> = {}): Promise<readonly ContextHit[]> =>
      s.searchContext({ terms: typeof terms === 'string' ? searchTerms(terms) : terms, entitlements, sources: ['kb', 'hr'], limit: 20, ...over });

    beforeEach(async () => {
      ({ store: s, close } = await factory());
    });
    afterEach(async () => {
      await close();
    });

    it('ranks by FTS5 BM25 over the whole index: more of the word, a shorter chunk, a rarer word first', async () => {
      await put(s, 'kb', [
        doc('a.md', 'refund refund refund policy'),
        doc('b.md', 'refund policy for customers in europe and elsewhere'),
        doc('c.md', 'refund'),
        doc('d.md', 'shipping policy'),
        ...Array.from({ length: 6 }, (_, i) => doc(`filler-${i}.md`, `filler text number ${i}`)),
      ]);
      const hits = await search('refund');
      expect(where(hits)).toEqual(['kb/a.md#0', 'kb/c.md#0', 'kb/b.md#0']);
      // 10 chunks, 39 tokens.
      const avgdl = 39 / 10;
      expect(hits.map((h) => h.score)).toEqual([bm25(10, 3, avgdl, 3, 4), bm25(10, 3, avgdl, 1, 1), bm25(10, 3, avgdl, 1, 8)].map((x) => expect.closeTo(x, 12)));
      // Every word must occur; the rarer word weighs more.
      expect(where(await search('refund policy'))).toEqual(['kb/a.md#0', 'kb/b.md#0']);
      expect(where(await search('refund shipping'))).toEqual([]);
      expect(where(await search('policy europe'))).toEqual(['kb/b.md#0']);
    });

    it('orders equal scores by the order chunks were stored, whatever their paths', async () => {
      await put(s, 'kb', [doc('tie-b.md', 'tie word'), ...Array.from({ length: 4 }, (_, i) => doc(`other-${i}.md`, `other text ${i}`))]);
      await put(s, 'kb', [doc('tie-a.md', 'word tie')]);
      expect(where(await search('tie'))).toEqual(['kb/tie-b.md#0', 'kb/tie-a.md#0']);
      // A new version of tie-b (the same words) is stored after tie-a: now it comes second.
      await put(s, 'kb', [{ ...doc('tie-b.md', 'tie word'), versionHash: sha256Hex('v2') }]);
      expect(where(await search('tie'))).toEqual(['kb/tie-a.md#0', 'kb/tie-b.md#0']);
    });

    it("reads words as FTS5's unicode61 does: case and diacritics folded, punctuation splits, a run of letters is one word", async () => {
      await put(s, 'kb', [
        doc('cafe.md', 'Crème Brûlée at the CAFÉ'),
        doc('street.md', 'Die Straße ist lang'),
        doc('mail.md', 'user@example.com wrote refund-policy v1.2'),
        doc('cjk.md', '日本語テキスト です'),
        doc('near.md', 'x y z'),
        doc('far.md', 'y x'),
        doc('decomposed.md', 'cafe\u0301 au lait'),
      ]);
      const docs = async (q: string): Promise<string[]> => [...new Set((await search(q)).map((h) => h.path))].sort();
      expect(await docs('cafe')).toEqual(['cafe.md', 'decomposed.md']);
      expect(await docs('CAFÉ')).toEqual(['cafe.md', 'decomposed.md']);
      expect(await docs('creme brulee')).toEqual(['cafe.md']);
      expect(await docs('straße')).toEqual(['street.md']);
      expect(await docs('STRASSE')).toEqual([]);
      expect(await docs('example')).toEqual(['mail.md']);
      expect(await docs('policy')).toEqual(['mail.md']);
      expect(await docs('v1 2')).toEqual(['mail.md']);
      expect(await docs('日本語テキスト')).toEqual(['cjk.md']);
      expect(await docs('日本語')).toEqual([]);
      // No prefixes: a word matches whole words only.
      expect(await docs('caf')).toEqual([]);
      // U+19B0 is a letter to JavaScript and not to FTS5's Unicode 6.1 tables: the term `xᦰy` is the
      // phrase "x y" (adjacent words); a term of such letters only matches nothing.
      expect(await docs('xᦰy')).toEqual(['near.md']);
      expect(await docs('ᦰ')).toEqual([]);
      expect(await docs('ᦰ cafe')).toEqual(['cafe.md', 'decomposed.md']);
    });

    it('never reads a chunk of a document not granted to every entitlement set, and never gives one a place in the result', async () => {
      await put(s, 'kb', [doc('zebra.md', 'one zebra among many other words in this handbook page')]);
      // 30 HR chunks rank far above the handbook's for `zebra`.
      await put(s, 'hr', Array.from({ length: 30 }, (_, i) => doc(`zebras-${i}.md`, `zebra zebra zebra ${i}`, HR_ONLY)));
      expect(where(await search('zebra', SAM, { limit: 3 }))).toEqual(['kb/zebra.md#0']);
      expect(where(await search('zebra', SAM, { limit: 100 }))).toEqual(['kb/zebra.md#0']);
      expect((await search('zebra', DANA, { limit: 3 })).every((h) => h.source === 'hr')).toBe(true);
      expect(await search('zebra', DANA, { limit: 100 })).toHaveLength(31);
      // An agent acting for an HR person reads what both may: the agent lacks role:hr.
      expect(where(await search('zebra', HELPER_FOR_DANA, { limit: 100 }))).toEqual(['kb/zebra.md#0']);
      expect(await search('zebra', [['role:nobody']])).toEqual([]);
      // Only the named sources.
      expect(await search('zebra', DANA, { sources: ['kb'] })).toHaveLength(1);
      expect(await search('zebra', DANA, { sources: [] })).toEqual([]);
      expect(await s.readContextDocument({ source: 'hr', path: 'zebras-1.md', entitlements: SAM, maxChunks: 10 })).toEqual([]);
      expect(await s.contextCited('hr', 'zebras-1.md', 0, 5, SAM)).toEqual({ kind: 'no-document' });
      expect(await s.contextCited('hr', 'zebras-1.md', 0, 5, DANA)).toMatchObject({ kind: 'text', text: 'zebra' });
    });

    it('common words: a rarer word decides alone; common words only take the first chunks stored, unranked, filtered', async () => {
      await put(s, 'hr', Array.from({ length: 5 }, (_, i) => doc(`secret-${i}.md`, `Common word payroll secret ${i}.`, HR_ONLY)));
      // One paragraph a chunk: more than COMMON_CANDIDATES chunks hold `common` and `word`.
      const page = (f: number): string => Array.from({ length: 100 }, (_, p) => `Common word paragraph ${f}-${p} with filler text${f === 3 && p === 7 ? ' zebra' : ''}.`).join('\n\n');
      const files = Math.ceil((COMMON_CANDIDATES + 100) / 100);
      await put(s, 'kb', Array.from({ length: files }, (_, f) => doc(`page-${f}.md`, page(f), EVERYONE, 64)));
      expect(where(await search('common word zebra'))).toEqual(['kb/page-3.md#7']);
      expect(where(await search('zebra common'))).toEqual(['kb/page-3.md#7']);
      expect(where(await search('common payroll', DANA)).sort()).toEqual(Array.from({ length: 5 }, (_, i) => `hr/secret-${i}.md#0`));
      expect(await search('common payroll')).toEqual([]);
      // Common words only: the first chunks stored that hold both, the caller's only, score 0.
      const first = await search('common word', SAM, { limit: 3 });
      expect(where(first)).toEqual(['kb/page-0.md#0', 'kb/page-0.md#1', 'kb/page-0.md#2']);
      expect(first.map((h) => h.score)).toEqual([0, 0, 0]);
      expect(where(await search('common word', DANA, { limit: 6 }))).toEqual([...Array.from({ length: 5 }, (_, i) => `hr/secret-${i}.md#0`), 'kb/page-0.md#0']);
    });

    it('relabels change who may read and nothing else; removals and new versions replace what a search finds', async () => {
      await put(s, 'kb', [doc('a.md', 'alpha bravo'), doc('b.md', 'alpha charlie')]);
      const before = (await s.contextDocuments('kb')).find((d) => d.path === 'a.md');
      await put(s, 'kb', [{ path: 'a.md', versionHash: 'ignored', modifiedAt: '2031-01-01T00:00:00.000Z', labels: HR_ONLY }, { path: 'missing.md', versionHash: 'x', modifiedAt: 'x', labels: HR_ONLY }]);
      expect(where(await search('alpha'))).toEqual(['kb/b.md#0']);
      const relabelled = await search('alpha', DANA);
      expect(relabelled.map((h) => [h.path, h.classification, h.versionHash, h.modifiedAt])).toEqual([
        ['a.md', 'confidential', before?.versionHash, '2030-01-01T00:00:00.000Z'],
        ['b.md', 'internal', sha256Hex('alpha charlie'), '2030-01-01T00:00:00.000Z'],
      ]);
      expect((await s.contextDocuments('kb')).map((d) => [d.path, d.versionHash, d.labels.access])).toEqual([
        ['a.md', before?.versionHash, ['role:hr']],
        ['b.md', sha256Hex('alpha charlie'), ['*']],
      ]);
      // A new version: the old words are gone, the new ones found, with the new version hash.
      await put(s, 'kb', [doc('b.md', 'delta echo')]);
      expect(await search('charlie')).toEqual([]);
      expect((await search('echo')).map((h) => [h.path, h.versionHash, h.text])).toEqual([['b.md', sha256Hex('delta echo'), 'delta echo']]);
      // Removals: a path, then the whole source.
      await put(s, 'kb', [], ['b.md']);
      expect(await search('echo')).toEqual([]);
      expect(await s.readContextDocument({ source: 'kb', path: 'b.md', entitlements: SAM, maxChunks: 5 })).toEqual([]);
      expect(await s.contextCited('kb', 'b.md', 0, 5, SAM)).toEqual({ kind: 'no-document' });
      await put(s, 'hr', [doc('h.md', 'alpha hotel', HR_ONLY)]);
      expect(await s.contextSources()).toEqual(['hr', 'kb']);
      await put(s, 'kb', [], 'all');
      expect(await s.contextSources()).toEqual(['hr']);
      expect(await s.contextDocuments('kb')).toEqual([]);
      expect(where(await search('alpha', DANA))).toEqual(['hr/h.md#0']);
    });

    it('reads a whole document in order, bounded, only for a caller granted it; cites exact text', async () => {
      const text = Array.from({ length: 6 }, (_, i) => `Paragraph ${i} of the travel policy.`).join('\n\n');
      await put(s, 'kb', [doc('travel.md', text, EVERYONE, 64)]);
      await put(s, 'hr', [doc('pay.md', 'The pay band is confidential.', HR_ONLY)]);
      const all = await s.readContextDocument({ source: 'kb', path: 'travel.md', entitlements: SAM, maxChunks: 100 });
      expect(all.length).toBeGreaterThan(2);
      expect(all.map((h) => h.chunk)).toEqual(all.map((_, i) => i));
      for (const h of all) expect(text.slice(h.start, h.end)).toBe(h.text);
      expect(all.every((h) => h.score === 0)).toBe(true);
      expect(await s.readContextDocument({ source: 'kb', path: 'travel.md', entitlements: SAM, maxChunks: 2 })).toEqual(all.slice(0, 2));
      expect(await s.readContextDocument({ source: 'kb', path: 'travel.md', entitlements: SAM, maxChunks: 0 })).toEqual(all.slice(0, 1));
      expect(await s.readContextDocument({ source: 'hr', path: 'pay.md', entitlements: SAM, maxChunks: 5 })).toEqual([]);
      expect(await s.readContextDocument({ source: 'hr', path: 'pay.md', entitlements: HELPER_FOR_DANA, maxChunks: 5 })).toEqual([]);
      expect(await s.readContextDocument({ source: 'hr', path: 'none.md', entitlements: DANA, maxChunks: 5 })).toEqual([]);
      expect(await s.readContextDocument({ source: 'hr', path: 'pay.md', entitlements: DANA, maxChunks: 5 })).toHaveLength(1);

      const [c1, c2] = all;
      const hash = sha256Hex(text);
      expect(await s.contextCited('kb', 'travel.md', (c1?.start ?? 0) + 10, (c1?.start ?? 0) + 16, SAM)).toEqual({ kind: 'text', versionHash: hash, text: text.slice((c1?.start ?? 0) + 10, (c1?.start ?? 0) + 16) });
      expect(await s.contextCited('kb', 'travel.md', c1?.start ?? 0, c2?.end ?? 0, SAM)).toEqual({ kind: 'not-in-a-chunk', versionHash: hash });
      expect(await s.contextCited('hr', 'pay.md', 4, 12, DANA)).toEqual({ kind: 'text', versionHash: sha256Hex('The pay band is confidential.'), text: 'pay band' });
      expect(await s.contextCited('hr', 'pay.md', 4, 12, HELPER_FOR_DANA)).toEqual({ kind: 'no-document' });
      expect(await s.contextCited('hr', 'nothing.md', 4, 12, DANA)).toEqual({ kind: 'no-document' });
    });

    it('embeddings: chunks to embed by classification, vectors kept only for the text they were made from, fused with words over the caller\'s documents', async () => {
      await put(s, 'kb', [doc('refunds.md', 'Money back within thirty days'), doc('intro.md', 'Welcome to the team')]);
      await put(s, 'hr', [doc('pay.md', 'The wage band is secret', HR_ONLY), doc('holidays.md', 'The office closes on holidays', { ...HR_ONLY, classification: 'internal', access: ['role:hr', 'role:staff'] })]);
      const todo = await s.contextUnembedded('kb', 'm1', ['public', 'internal'], 10);
      expect(todo.map((c) => c.text)).toEqual(['Money back within thirty days', 'Welcome to the team']);
      expect(await s.contextUnembedded('kb', 'm1', ['public', 'internal'], 1)).toEqual(todo.slice(0, 1));
      expect((await s.contextUnembedded('hr', 'm1', ['public', 'internal'], 10)).map((c) => c.text)).toEqual(['The office closes on holidays']);
      const hrAll = await s.contextUnembedded('hr', 'm1', ['public', 'internal', 'confidential', 'restricted'], 10);
      const axis: Record<string, number> = { 'Money back within thirty days': 0, 'Welcome to the team': 1, 'The wage band is secret': 2, 'The office closes on holidays': 3 };
      // One vector made from text the chunk no longer holds is not kept.
      await s.putContextVectors('m1', [...todo, ...hrAll].map((c) => ({ chunkId: c.chunkId, text: c.text === 'Welcome to the team' ? 'stale text' : c.text, vec: axisVector(axis[c.text] as number) })));
      expect((await s.contextUnembedded('kb', 'm1', ['public', 'internal'], 10)).map((c) => c.text)).toEqual(['Welcome to the team']);
      expect((await s.contextUnembedded('kb', 'm2', ['public', 'internal'], 10)).map((c) => c.text)).toEqual(['Money back within thirty days', 'Welcome to the team']);

      const meaning = (values: Float32Array, terms: readonly string[], ent = SAM, limit = 20): Promise<readonly ContextHit[]> =>
        s.searchContext({ terms, entitlements: ent, sources: ['kb', 'hr'], limit, vector: { model: 'm1', values } });
      // By meaning only: the wage chunk (axis 2) is nearest, but only HR may read it.
      expect(where(await meaning(axisVector(2, 3, 0.5), []))).toEqual(['hr/holidays.md#0', 'kb/refunds.md#0']);
      expect(where(await meaning(axisVector(2, 3, 0.5), [], DANA))).toEqual(['hr/pay.md#0', 'hr/holidays.md#0', 'kb/refunds.md#0']);
      expect((await meaning(axisVector(2, 3, 0.5), [], DANA)).map((h) => h.score)).toEqual([0, 1, 2]);
      expect(where(await meaning(axisVector(2, 3, 0.5), [], DANA, 1))).toEqual(['hr/pay.md#0']);
      // Fused: words give [holidays], meaning gives [refunds, holidays, ...]: holidays is in both.
      expect(where(await meaning(axisVector(0), ['holidays']))).toEqual(['hr/holidays.md#0', 'kb/refunds.md#0']);
      // Words alone find `team`; meaning has no vector for it (its vector was stale).
      expect(where(await meaning(axisVector(1), ['team']))).toEqual(['kb/intro.md#0', 'kb/refunds.md#0', 'hr/holidays.md#0']);
      // A new version drops its chunks' vectors: they are to embed again.
      await put(s, 'kb', [doc('refunds.md', 'Money back within sixty days')]);
      expect((await s.contextUnembedded('kb', 'm1', ['public', 'internal'], 10)).map((c) => c.text)).toEqual(['Welcome to the team', 'Money back within sixty days']);
      expect(where(await meaning(axisVector(0), []))).toEqual(['hr/holidays.md#0']);
      // Another model's vector replaces a chunk's vector.
      const hol = hrAll.find((c) => c.text === 'The office closes on holidays');
      await s.putContextVectors('m2', [{ chunkId: hol?.chunkId ?? -1, text: hol?.text ?? '', vec: axisVector(5) }]);
      expect(where(await meaning(axisVector(0), []))).toEqual([]);
    });

    it('is bounded: entitlement sets, terms and limits', async () => {
      await put(s, 'kb', Array.from({ length: 120 }, (_, i) => doc(`d-${i}.md`, `bounded word ${i}`)));
      for (const entitlements of [[], [['*'], ['*'], ['*'], ['*'], ['*']]]) {
        await expect(s.searchContext({ terms: ['word'], entitlements, sources: ['kb'], limit: 5 })).rejects.toBeInstanceOf(AirlockError);
        await expect(s.readContextDocument({ source: 'kb', path: 'd-1.md', entitlements, maxChunks: 5 })).rejects.toBeInstanceOf(AirlockError);
        await expect(s.contextCited('kb', 'd-1.md', 0, 1, entitlements)).rejects.toBeInstanceOf(AirlockError);
      }
      await expect(search(Array.from({ length: 17 }, (_, i) => `w${i}`))).rejects.toBeInstanceOf(AirlockError);
      await expect(search(['w'.repeat(65)])).rejects.toBeInstanceOf(AirlockError);
      expect(await search(Array.from({ length: 16 }, () => 'word'))).toHaveLength(20);
      expect(await search('word', SAM, { limit: 1000 })).toHaveLength(100);
      expect(await search('word', SAM, { limit: 0 })).toHaveLength(1);
    });
  });
}
