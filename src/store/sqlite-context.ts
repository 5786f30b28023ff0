// The SQL of context from declared sources: the writer's `change-context` op (documents, access rows,
// chunks, versions) and the reads (stored documents, full-text search with the entitlement filter in the query).
import type Database from 'better-sqlite3';
import type { Classification } from '../types.js';
import { candidateWindows, checkedSets, checkedTerms, COMMON_CANDIDATES, hitOf, readLimit, rowKey, SEARCH_COLUMNS, searchLimit, type SearchRow } from './context-search.js';
import { unembedded, VectorIndex } from './sqlite-vectors.js';
import { fuseRanks } from './vector-ranking.js';
import type { UnembeddedChunk, ContextChanges, ContextCited, ContextDocumentQuery, ContextDocumentState, ContextHit, ContextLabels, ContextQuery } from './context-records.js';

export { COMMON_CANDIDATES, MAX_DOCUMENT_CHUNKS, MAX_ENTITLEMENT_SETS, MAX_SEARCH_RESULTS } from './context-search.js';

/** Applies one source's changes inside the writer's transaction: removals, then each new version or relabel. */
export function changeContext(db: Database.Database, c: ContextChanges): void {
  const docId = db.prepare('SELECT id FROM ctx_documents WHERE source = ? AND path = ?');
  const removeDoc = (id: number): void => {
    db.prepare('DELETE FROM ctx_chunks WHERE doc_id = ?').run(id);
    db.prepare('DELETE FROM ctx_access WHERE doc_id = ?').run(id);
    db.prepare('DELETE FROM ctx_documents WHERE id = ?').run(id);
  };
  if (c.remove === 'all') {
    for (const row of db.prepare('SELECT id FROM ctx_documents WHERE source = ?').all(c.source) as { id: number }[]) removeDoc(row.id);
  } else {
    for (const p of c.remove) {
      const row = docId.get(c.source, p) as { id: number } | undefined;
      if (row) removeDoc(row.id);
    }
  }
  const upsert = db.prepare(
    `INSERT INTO ctx_documents (source, path, version_hash, modified_at, ingested_at, labels, classification, trust, owner, max_age_days) VALUES (@source, @path, @version, @modified, @at, @labels, @classification, @trust, @owner, @maxAge)
     ON CONFLICT (source, path) DO UPDATE SET version_hash = excluded.version_hash, modified_at = excluded.modified_at, ingested_at = excluded.ingested_at, labels = excluded.labels, classification = excluded.classification, trust = excluded.trust, owner = excluded.owner, max_age_days = excluded.max_age_days
     RETURNING id`,
  );
  const grant = db.prepare('INSERT OR IGNORE INTO ctx_access (doc_id, grantee) VALUES (?, ?)');
  const chunk = db.prepare('INSERT INTO ctx_chunks (doc_id, n, start_at, end_at, text) VALUES (?, ?, ?, ?, ?)');
  const version = db.prepare('INSERT OR IGNORE INTO ctx_versions (source, path, version_hash, ingested_at) VALUES (?, ?, ?, ?)');
  const relabel = db.prepare('UPDATE ctx_documents SET labels = ?, classification = ?, trust = ?, owner = ?, max_age_days = ? WHERE source = ? AND path = ? RETURNING id');
  for (const d of c.put) {
    const l = d.labels;
    // A relabel keeps the stored version and its modification time: only the labels change.
    const row = d.chunks === undefined
      ? (relabel.get(JSON.stringify(l), l.classification, l.trust, l.owner, l.maxAgeDays, c.source, d.path) as { id: number } | undefined)
      : (upsert.get({
      source: c.source,
      path: d.path,
      version: d.versionHash,
      modified: d.modifiedAt,
      at: c.at,
      labels: JSON.stringify(l),
      classification: l.classification,
      trust: l.trust,
      owner: l.owner,
      maxAge: l.maxAgeDays,
    }) as { id: number });
    if (row === undefined) continue;
    const id = row.id;
    // INVARIANT: the access rows are exactly the declared list, replaced with every put (a relabel too).
    db.prepare('DELETE FROM ctx_access WHERE doc_id = ?').run(id);
    for (const g of l.access) grant.run(id, g);
    if (d.chunks === undefined) continue;
    db.prepare('DELETE FROM ctx_chunks WHERE doc_id = ?').run(id);
    for (const k of d.chunks) chunk.run(id, k.n, k.start, k.end, k.text);
    version.run(c.source, d.path, d.versionHash, c.at);
  }
}

/** The reads: prepared once per connection. */
export class ContextReads {
  private readonly vectorIndex: VectorIndex;
  /** The statements listing the documents granted to `n` entitlement sets, by `n`. */
  private readonly allowed = new Map<number, Database.Statement<[Record<string, string | number>], { id: number }>>();
  private readonly documents: Database.Statement<[string], { path: string; version_hash: string; labels: string }>;
  private readonly sources: Database.Statement<[], { source: string }>;
  /** Search statements by the number of entitlement sets. */
  private readonly searches = new Map<string, Database.Statement<[Record<string, string | number>], SearchRow>>();

  constructor(private readonly db: Database.Database) {
    this.vectorIndex = new VectorIndex(db);
    this.documents = db.prepare('SELECT path, version_hash, labels FROM ctx_documents WHERE source = ? ORDER BY path');
    this.sources = db.prepare('SELECT DISTINCT source FROM ctx_documents ORDER BY source');
  }

  /** The documents stored for `source`. */
  documentsOf(source: string): ContextDocumentState[] {
    return this.documents.all(source).map((r) => ({ path: r.path, versionHash: r.version_hash, labels: JSON.parse(r.labels) as ContextLabels }));
  }

  /** The first `limit` chunks of `source` (of these classifications) without a vector of `model`. */
  unembeddedChunks(source: string, model: string, classifications: readonly Classification[], limit: number): UnembeddedChunk[] {
    return unembedded(this.db, source, model, classifications, limit);
  }

  /** The sources with documents stored. */
  sourceNames(): string[] {
    return this.sources.all().map((r) => r.source);
  }

  /**
   * The stored text of `source`/`path` at [start, end) when one chunk of its current version holds
   * all of it, for Airlock's citation check (nothing of it is shown). INVARIANT: as in `search`, the
   * entitlement filter is in the query: a run checks citations only of documents its agent and the
   * person it acts for may read; any other reads as no document (the check tells nothing about it).
   */
  citedText(source: string, path: string, start: number, end: number, entitlements: readonly (readonly string[])[]): ContextCited {
    const sets = checkedSets(entitlements);
    const params: Record<string, string | number> = { source, path };
    entitlements.forEach((set, i) => (params[`g${i}`] = JSON.stringify(set)));
    const doc = this.db.prepare(`SELECT d.id, d.version_hash FROM ctx_documents d WHERE d.source = @source AND d.path = @path ${granted(sets, 'd.id')}`).get(params) as { id: number; version_hash: string } | undefined;
    if (!doc) return { kind: 'no-document' };
    const c = this.db.prepare('SELECT start_at, text FROM ctx_chunks WHERE doc_id = ? AND start_at <= ? AND end_at >= ? LIMIT 1').get(doc.id, start, end) as { start_at: number; text: string } | undefined;
    if (!c) return { kind: 'not-in-a-chunk', versionHash: doc.version_hash };
    return { kind: 'text', versionHash: doc.version_hash, text: c.text.slice(start - c.start_at, end - c.start_at) };
  }

  /**
   * The best chunks for `q`. INVARIANT: the entitlement filter is part of the query itself: a chunk is
   * joined to its document, and a row is produced only when, for every entitlement set, the document
   * has an access row naming one of that set's grantees; a chunk outside the caller's scope never
   * becomes a result row, so its text is never read out.
   */
  search(q: ContextQuery): ContextHit[] {
    const sets = checkedSets(q.entitlements);
    const limit = searchLimit(q.limit);
    checkedTerms(q.terms);
    if (q.sources.length === 0) return [];
    const words = q.terms.length === 0 ? [] : this.byWords(q, sets, limit);
    if (q.vector === undefined) return words.map(hitOf);
    return fuseRanks([words, this.byMeaning(q, q.vector, sets, limit)], rowKey, limit).map(hitOf);
  }

  /**
   * The chunks nearest `vector` in meaning that pass the filters, best first. As with words, the nearest
   * candidates first, a wider window only when too few pass the entitlement filter.
   */
  private byMeaning(q: ContextQuery, vector: { readonly model: string; readonly values: Float32Array }, sets: number, limit: number): SearchRow[] {
    const key = `meaning:${sets}`;
    let s = this.searches.get(key);
    if (!s) {
      s = this.db.prepare(`
        SELECT ${SEARCH_COLUMNS}, CAST(m.key AS REAL) AS score
        FROM json_each(@ids) m CROSS JOIN ctx_chunks c ON c.id = m.value CROSS JOIN ctx_documents d ON d.id = c.doc_id
        WHERE d.source IN (SELECT value FROM json_each(@sources))
          ${granted(sets)}
        ORDER BY m.key LIMIT @limit`);
      this.searches.set(key, s);
    }
    const params: Record<string, string | number> = { sources: JSON.stringify(q.sources), limit };
    q.entitlements.forEach((set, i) => (params[`g${i}`] = JSON.stringify(set)));
    // Only the caller's documents are scored (the same filter, by document); the query below applies it again as it reads text.
    const allowed = this.allowedDocuments(sets, params);
    let rows: SearchRow[] = [];
    for (const window of candidateWindows(limit)) {
      const ids = this.vectorIndex.nearest(vector.model, vector.values, window, allowed);
      rows = s.all({ ...params, ids: JSON.stringify(ids) });
      if (rows.length >= limit || ids.length < window) break;
    }
    return rows;
  }

  /** The ids of the documents of `@sources` granted to every entitlement set, as a bitmap by id. */
  private allowedDocuments(sets: number, params: Record<string, string | number>): Uint8Array {
    let s = this.allowed.get(sets);
    if (!s) {
      s = this.db.prepare(`SELECT d.id FROM ctx_documents d WHERE d.source IN (SELECT value FROM json_each(@sources)) ${granted(sets, 'd.id')}`);
      this.allowed.set(sets, s);
    }
    const ids = s.all(Object.fromEntries(Object.entries(params).filter(([k]) => k === 'sources' || /^g\d$/.test(k)))).map((r) => r.id);
    const bitmap = new Uint8Array(ids.reduce((m, id) => Math.max(m, id), 0) + 1);
    for (const id of ids) bitmap[id] = 1;
    return bitmap;
  }

  /** The chunks holding every word, best first (BM25). */
  private byWords(q: ContextQuery, sets: number, limit: number): SearchRow[] {
    const split = this.split(q.terms);
    const capped = split.rare.length === 0;
    const quoted = (ts: readonly string[]) => ts.map((t) => `"${t.replaceAll('"', '""')}"`).join(' ');
    const params: Record<string, string | number> = { match: quoted(capped ? q.terms : split.rare), sources: JSON.stringify(q.sources), limit };
    q.entitlements.forEach((set, i) => (params[`g${i}`] = JSON.stringify(set)));
    const statement = this.statement(sets, capped ? 'capped' : 'ranked');
    // The best candidates first; a wider window only when too few of them pass the filters. Correct for
    // ranked searches: any match outside a window ranks below every match inside it (ties by chunk id).
    let rows: SearchRow[] = [];
    for (const window of capped ? [COMMON_CANDIDATES] : candidateWindows(limit)) {
      rows = statement.all({ ...params, window: Number.isFinite(window) ? window : -1 });
      if (rows.length >= limit || !Number.isFinite(window) || capped) break;
    }
    return rows;
  }

  /**
   * One document's first `maxChunks` chunks, in order. INVARIANT: as in `search`, the entitlement filter
   * is in the query: a document not granted to every set yields no row, exactly like one that does not exist.
   */
  readDocument(q: ContextDocumentQuery): ContextHit[] {
    const sets = checkedSets(q.entitlements);
    const key = `read:${sets}`;
    let s = this.searches.get(key);
    if (!s) {
      s = this.db.prepare(`
        SELECT ${SEARCH_COLUMNS}, 0.0 AS score
        FROM ctx_documents d CROSS JOIN ctx_chunks c ON c.doc_id = d.id
        WHERE d.source = @source AND d.path = @path
          ${granted(sets)}
        ORDER BY c.n LIMIT @limit`);
      this.searches.set(key, s);
    }
    const params: Record<string, string | number> = { source: q.source, path: q.path, limit: readLimit(q.maxChunks) };
    q.entitlements.forEach((set, i) => (params[`g${i}`] = JSON.stringify(set)));
    return s.all(params).map(hitOf);
  }

  /**
   * `terms` split into rare ones and those in more than `COMMON_CANDIDATES` chunks, each counted only
   * that far (reading a word's list up to the bound costs little; counting all of a common one would not).
   */
  private split(terms: readonly string[]): { rare: string[]; common: string[] } {
    this.counting ??= this.db.prepare(`SELECT count(*) AS n FROM (SELECT rowid FROM ctx_fts WHERE ctx_fts MATCH ? LIMIT ${COMMON_CANDIDATES + 1})`);
    const out = { rare: [] as string[], common: [] as string[] };
    for (const t of terms) (((this.counting.get(`"${t.replaceAll('"', '""')}"`) as { n: number }).n > COMMON_CANDIDATES) ? out.common : out.rare).push(t);
    return out;
  }
  private counting: Database.Statement<[string], { n: number }> | undefined;

  /**
   * The search of `sets` entitlement sets. The index gives its best candidates first (BM25, or, every word
   * common, the first in index order) at most `@window` of them; only those are joined to their chunks and
   * documents and filtered, in the same query (joining every match first is what costs). CROSS JOIN keeps
   * that order: left to choose, the planner may walk every chunk of every readable document instead.
   * INVARIANT: equal scores are ordered by chunk id (the order chunks were stored), in the window and in the
   * result, so the result is one deterministic order, the one PostgreSQL's store gives too.
   */
  private statement(sets: number, mode: 'ranked' | 'capped'): Database.Statement<[Record<string, string | number>], SearchRow> {
    const key = `${sets}:${mode}`;
    let s = this.searches.get(key);
    if (s) return s;
    // Every word common: BM25 would weigh them at almost nothing, and merely computing their weight reads each one's whole list.
    const candidates =
      mode === 'capped'
        ? 'SELECT rowid, 0.0 AS score FROM ctx_fts WHERE ctx_fts MATCH @match ORDER BY rowid LIMIT @window'
        : 'SELECT rowid, bm25(ctx_fts) AS score FROM ctx_fts WHERE ctx_fts MATCH @match ORDER BY score, rowid LIMIT @window';
    s = this.db.prepare(`
      SELECT ${SEARCH_COLUMNS}, m.score AS score
      FROM (${candidates}) m CROSS JOIN ctx_chunks c ON c.id = m.rowid CROSS JOIN ctx_documents d ON d.id = c.doc_id
      WHERE d.source IN (SELECT value FROM json_each(@sources))
        ${granted(sets)}
      ORDER BY score, c.id LIMIT @limit`);
    this.searches.set(key, s);
    return s;
  }
}

/** The entitlement filter of `sets` sets (`@g0`…): for each, the document has an access row naming one of its grantees. */
function granted(sets: number, doc = 'c.doc_id'): string {
  return Array.from({ length: sets }, (_, i) => `AND EXISTS (SELECT 1 FROM ctx_access a WHERE a.doc_id = ${doc} AND a.grantee IN (SELECT value FROM json_each(@g${i})))`).join('\n  ');
}
