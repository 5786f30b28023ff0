// The context store on PostgreSQL: the shared suite, then a differential test: one seeded corpus and
// hundreds of queries against both backends (SQLite FTS5 and PostgreSQL), through relabels, removals, new
// versions and embeddings, every answer compared whole (hits, order, scores to the last bit).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchTerms } from '../../src/context/entitlements.js';
import { AirlockError } from '../../src/errors.js';
import type { ContextDocumentDraft, ContextLabels, ContextQuery } from '../../src/store/context-records.js';
import { openPool } from '../../src/store/postgres-connection.js';
import { PG_CONTEXT_SQL, PgContext } from '../../src/store/postgres-context.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { axisVector, contextStoreSuite, doc, put, type ContextStore } from './context-store-suite.js';

/**
 * A fresh database with the context schema, and the store's context methods on it. The pool is the store's
 * own (openPool): its connections may still be closing when the database is dropped, and the server's goodbye
 * to one of them must not become an uncaught error (pg's pool.end() resolves before its sockets close).
 */
async function openPg(): Promise<{ store: PgContext; pool: pg.Pool; close(): Promise<void> }> {
  const db: TestDatabase = await createTestDatabase('airlock_ctx');
  const pool = openPool(db.url, { max: 4 });
  try {
    await pool.query(`BEGIN; ${PG_CONTEXT_SQL}; COMMIT`);
  } catch (e) {
    await pool.end();
    await db.drop();
    throw e;
  }
  return {
    store: new PgContext(pool),
    pool,
    close: async () => {
      await pool.end();
      await db.drop();
    },
  };
}

contextStoreSuite('postgres', openPg);
// The same through the whole PostgreSQL store: its migrations apply PG_CONTEXT_SQL, its methods wrap PgContext's.
contextStoreSuite('postgres (openPostgresStore)', async () => {
  const db = await createTestDatabase('airlock_ctx');
  const store = await openPostgresStore(db.url).catch(async (e: unknown) => {
    await db.drop();
    throw e;
  });
  return {
    store,
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
});

describe('context store: postgres only', () => {
  it('refuses a chunk holding a NUL (PostgreSQL text holds none; ingest stores it as U+FFFD), and stores nothing of that change', async () => {
    const { store, close } = await openPg();
    try {
      const err = await store.changeContext({ source: 'kb', at: 'x', put: [doc('ok.md', 'fine words'), doc('nul.md', 'bad\u0000words')], remove: [] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AirlockError);
      expect((err as AirlockError).code).toBe('input');
      expect(await store.contextSources()).toEqual([]);
    } finally {
      await close();
    }
  });

  it('keeps the index statistics BM25 reads exact under concurrent ingests (one writer at a time, like SQLite)', async () => {
    const { store, pool, close } = await openPg();
    try {
      const texts = (s: string, n: number): ReturnType<typeof doc>[] => Array.from({ length: n }, (_, i) => doc(`${s}-${i}.md`, `${s} words ${'x '.repeat(i)}`.trim(), undefined, 64));
      await Promise.all(['a', 'b', 'c', 'd'].map((src) => put(store, src, texts(src, 30))));
      await Promise.all([put(store, 'a', texts('a', 10), ['a-20.md', 'a-21.md']), put(store, 'b', [], 'all'), put(store, 'c', texts('c', 40)), put(store, 'a', texts('a', 5))]);
      const stats = await pool.query<{ chunks: string; tokens: string }>('SELECT chunks, tokens FROM ctx_index_stats');
      const actual = await pool.query<{ chunks: string; tokens: string }>('SELECT count(*) AS chunks, coalesce(sum(tokens), 0) AS tokens FROM ctx_chunks');
      expect(stats.rows).toEqual(actual.rows);
      expect(Number(actual.rows[0]?.chunks)).toBeGreaterThan(100);
      expect(await store.contextSources()).toEqual(['a', 'c', 'd']);
    } finally {
      await close();
    }
  });
});

describe('context store: PostgreSQL as SQLite FTS5 (differential)', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-context-diff-'));
  let lite: Store;
  let pgs: Awaited<ReturnType<typeof openPg>>;
  beforeAll(async () => {
    lite = await openSqliteStore(path.join(tmp, '.airlock', 'airlock.db'));
    pgs = await openPg();
  });
  afterAll(async () => {
    await lite?.close();
    await pgs?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  // A seeded generator: the same corpus and queries every run.
  let seed = 0x2545f491;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  // Words with case, diacritics, punctuation inside, digits, CJK, a letter FTS5 does not know (U+19B0), repeats.
  const WORDS = ['refund', 'Refund', 'REFUND', 'policy', 'café', 'cafe', 'Crème', 'brûlée', 'straße', 'strasse', 'naïve', 'ÉTÉ', 'été', 'user@example.com', 'refund-policy', 'v1.2', '2024', 'x²', 'データ', '日本語', 'xᦰy', 'x', 'y', 'salary', 'band', 'holiday', 'zebra', 'the', 'the', 'the', 'and', 'and', 'of', 'a', 'a'];
  const QUERY_WORDS = [...WORDS, 'missing', 'CAFÉ', 'Strasse', 'example', 'com', 'v1', '2', 'xᦰy', 'ᦰ', 'naive', 'ete', 'the and', 'refund policy', 'a the of'];
  const sentence = (n: number): string => Array.from({ length: n }, () => pick(WORDS)).join(pick([' ', ' ', ', ', '. ', '\n\n']));
  const GRANTEES = ['*', 'role:hr', 'role:staff', 'user:dana', 'agent:helper'];
  const labels = (): ContextLabels => ({
    classification: pick(['public', 'internal', 'confidential'] as const),
    trust: pick(['trusted', 'untrusted'] as const),
    owner: 'user:dana',
    access: Array.from({ length: 1 + Math.floor(next() * 2) }, () => pick(GRANTEES)),
    maxAgeDays: 30,
  });
  const ENTITLEMENTS: readonly (readonly (readonly string[])[])[] = [[['*']], [['role:hr']], [['*', 'role:staff']], [['*', 'agent:helper'], ['*', 'role:hr']], [['user:dana'], ['role:staff', '*']], [['role:nobody']]];
  const SOURCES = ['kb', 'hr', 'wiki'];
  const paths = new Map<string, Set<string>>(SOURCES.map((src) => [src, new Set<string>()]));
  const newDoc = (p: string): ContextDocumentDraft => doc(p, sentence(3 + Math.floor(next() * 60)), labels(), 64 + Math.floor(next() * 100));

  const both = async (fn: (s: ContextStore) => Promise<unknown>): Promise<void> => {
    const [a, b] = await Promise.all([fn(lite), fn(pgs.store)]);
    expect(b).toEqual(a);
  };
  const change = async (source: string, docs: readonly ContextDocumentDraft[], remove: readonly string[] | 'all' = []): Promise<void> => {
    await put(lite, source, docs, remove);
    await put(pgs.store, source, docs, remove);
    const have = paths.get(source) as Set<string>;
    if (remove === 'all') have.clear();
    else for (const p of remove) have.delete(p);
    for (const d of docs) if (d.chunks) have.add(d.path);
  };
  const query = (over: Partial<ContextQuery> = {}): ContextQuery => ({
    terms: searchTerms(Array.from({ length: 1 + Math.floor(next() * 3) }, () => pick(QUERY_WORDS)).join(' ')),
    entitlements: pick(ENTITLEMENTS),
    sources: next() < 0.7 ? SOURCES : [pick(SOURCES)],
    limit: 1 + Math.floor(next() * 30),
    ...over,
  });
  let searched = 0;
  let found = 0;
  const compareSearches = async (count: number, over: () => Partial<ContextQuery> = () => ({})): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const q = query(over());
      const a = await lite.searchContext(q);
      const b = await pgs.store.searchContext(q);
      expect({ q, hits: b }).toEqual({ q, hits: a });
      searched++;
      if (a.length > 0) found++;
    }
  };
  const compareReads = async (): Promise<void> => {
    for (const src of SOURCES) {
      await both((s) => s.contextDocuments(src));
      for (const p of paths.get(src) ?? []) {
        const entitlements = pick(ENTITLEMENTS);
        const maxChunks = 1 + Math.floor(next() * 10);
        await both((s) => s.readContextDocument({ source: src, path: p, entitlements, maxChunks }));
        const start = Math.floor(next() * 80);
        const end = start + Math.floor(next() * 40);
        await both((s) => s.contextCited(src, p, start, end, entitlements));
      }
    }
    await both((s) => s.contextSources());
  };

  it('gives the same hits, order and scores as FTS5 for a seeded corpus, through relabels, removals and new versions', async () => {
    for (const src of SOURCES) await change(src, Array.from({ length: 40 }, (_, i) => newDoc(`doc-${i}.md`)));
    await compareSearches(250);
    await compareReads();
    // Relabels, removals and new versions, in several steps.
    for (let step = 0; step < 4; step++) {
      const src = pick(SOURCES);
      const have = [...(paths.get(src) ?? [])];
      const relabel = have.filter(() => next() < 0.2).map((p) => ({ path: p, versionHash: 'x', modifiedAt: 'x', labels: labels() }));
      const renew = have.filter(() => next() < 0.2).map((p) => newDoc(p));
      const removed = have.filter((p) => next() < 0.1 && !renew.some((d) => d.path === p) && !relabel.some((d) => d.path === p));
      await change(src, [...relabel, ...renew, ...Array.from({ length: 5 }, (_, i) => newDoc(`new-${step}-${i}.md`))], removed);
      await compareSearches(60);
    }
    await change('wiki', [], 'all');
    await compareSearches(60);
    await compareReads();
    // The corpus is not trivial: most searches find something.
    expect(found).toBeGreaterThan(searched / 3);
  });

  it('gives the same fused ranking of words and meaning, over the caller\'s documents only', async () => {
    const vectorOf = (text: string): Float32Array => {
      let h = 7;
      for (const ch of text) h = (h * 31 + (ch.codePointAt(0) ?? 0)) % 1_000_003;
      return axisVector(h % 8, (h >> 3) % 8, ((h >> 6) % 10) / 10);
    };
    for (const src of SOURCES) {
      const cls = ['public', 'internal', 'confidential'] as const;
      const [a, b] = await Promise.all([lite.contextUnembedded(src, 'm1', cls, 10_000), pgs.store.contextUnembedded(src, 'm1', cls, 10_000)]);
      expect(b.map((c) => c.text)).toEqual(a.map((c) => c.text));
      // Every third chunk left without a vector.
      await lite.putContextVectors('m1', a.filter((_, i) => i % 3 !== 0).map((c) => ({ chunkId: c.chunkId, text: c.text, vec: vectorOf(c.text) })));
      await pgs.store.putContextVectors('m1', b.filter((_, i) => i % 3 !== 0).map((c) => ({ chunkId: c.chunkId, text: c.text, vec: vectorOf(c.text) })));
      const [a2, b2] = await Promise.all([lite.contextUnembedded(src, 'm1', cls, 10_000), pgs.store.contextUnembedded(src, 'm1', cls, 10_000)]);
      expect(b2.map((c) => c.text)).toEqual(a2.map((c) => c.text));
    }
    const vector = (): { model: string; values: Float32Array } => ({ model: 'm1', values: axisVector(Math.floor(next() * 8), Math.floor(next() * 8), next()) });
    await compareSearches(150, () => ({ vector: vector() }));
    await compareSearches(50, () => ({ terms: [], vector: vector() }));
    // A new version of some documents: their vectors are gone on both.
    const src = 'kb';
    await change(src, [...(paths.get(src) ?? [])].filter(() => next() < 0.3).map((p) => newDoc(p)));
    await compareSearches(80, () => ({ vector: vector() }));
  });
});
