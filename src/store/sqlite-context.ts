// The SQL of context from declared sources: the writer's `change-context` op (documents, access rows,
// chunks, versions) and the reads (stored documents, full-text search with the entitlement filter in the query).
import type Database from 'better-sqlite3';
import { AirlockError } from '../errors.js';
import type { Classification, Trust } from '../types.js';
import type { ContextChanges, ContextCited, ContextDocumentState, ContextHit, ContextLabels, ContextQuery } from './context-records.js';

/** The most entitlement sets one search may carry (an agent, the person it acts for, and room to spare). */
export const MAX_ENTITLEMENT_SETS = 4;
/** The most items one search returns. */
export const MAX_SEARCH_RESULTS = 100;
/**
 * A term in more than this share of all chunks is common: it is left out of a search that has a rarer
 * term (BM25 gives it almost no weight; scoring every chunk that holds it is what costs); a search of
 * common terms only ranks the first `COMMON_CANDIDATES` chunks that hold them all.
 */
export const COMMON_SHARE = 0.1;
export const COMMON_CANDIDATES = 2000;

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
  private readonly documents: Database.Statement<[string], { path: string; version_hash: string; labels: string }>;
  private readonly sources: Database.Statement<[], { source: string }>;
  /** Search statements by the number of entitlement sets. */
  private readonly searches = new Map<number, Database.Statement<[Record<string, string | number>], SearchRow>>();

  constructor(private readonly db: Database.Database) {
    this.documents = db.prepare('SELECT path, version_hash, labels FROM ctx_documents WHERE source = ? ORDER BY path');
    this.sources = db.prepare('SELECT DISTINCT source FROM ctx_documents ORDER BY source');
  }

  /** The documents stored for `source`. */
  documentsOf(source: string): ContextDocumentState[] {
    return this.documents.all(source).map((r) => ({ path: r.path, versionHash: r.version_hash, labels: JSON.parse(r.labels) as ContextLabels }));
  }

  /** The sources with documents stored. */
  sourceNames(): string[] {
    return this.sources.all().map((r) => r.source);
  }

  /**
   * The stored text of `source`/`path` at [start, end) when one chunk of its current version holds
   * all of it, for Airlock's citation check (not a read on anyone's behalf: nothing of it is shown).
   */
  citedText(source: string, path: string, start: number, end: number): ContextCited {
    const doc = this.db.prepare('SELECT id, version_hash FROM ctx_documents WHERE source = ? AND path = ?').get(source, path) as { id: number; version_hash: string } | undefined;
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
    const sets = q.entitlements.length;
    if (sets < 1 || sets > MAX_ENTITLEMENT_SETS) {
      throw new AirlockError('input', `a search needs from 1 to ${MAX_ENTITLEMENT_SETS} entitlement sets, not ${sets}`, { hint: 'this is a bug: the caller builds them from the acting principals' });
    }
    if (q.terms.length === 0 || q.sources.length === 0) return [];
    const { terms, capped } = this.selective(q.terms);
    const params: Record<string, string | number> = {
      match: terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(' '),
      sources: JSON.stringify(q.sources),
      limit: Math.max(1, Math.min(MAX_SEARCH_RESULTS, Math.floor(q.limit))),
    };
    q.entitlements.forEach((set, i) => (params[`g${i}`] = JSON.stringify(set)));
    if (capped) params['candidates'] = COMMON_CANDIDATES;
    return this.statement(sets, capped)
      .all(params)
      .map((r) => ({
        source: r.source,
        path: r.path,
        versionHash: r.version_hash,
        chunk: r.n,
        start: r.start_at,
        end: r.end_at,
        text: r.text,
        classification: r.classification,
        trust: r.trust,
        owner: r.owner,
        modifiedAt: r.modified_at,
        maxAgeDays: r.max_age_days,
        score: r.score,
      }));
  }

  /**
   * The terms to match: without the common ones when a rarer term remains (every chunk found still
   * holds each rarer term); `capped` when all are common, so only the first candidates are ranked.
   */
  private selective(terms: readonly string[]): { terms: readonly string[]; capped: boolean } {
    const total = (this.db.prepare('SELECT max(id) AS n FROM ctx_chunks').get() as { n: number | null }).n ?? 0;
    if (total === 0) return { terms, capped: false };
    const df = this.db.prepare('SELECT doc FROM ctx_vocab WHERE term = ?');
    // As the index's tokenizer (unicode61, diacritics removed) folds a word.
    const fold = (t: string) => t.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
    const rare = terms.filter((t) => ((df.get(fold(t)) as { doc: number } | undefined)?.doc ?? 0) <= total * COMMON_SHARE);
    return rare.length > 0 ? { terms: rare, capped: false } : { terms, capped: true };
  }

  private statement(sets: number, capped: boolean): Database.Statement<[Record<string, string | number>], SearchRow> {
    const key = sets * 2 + (capped ? 1 : 0);
    let s = this.searches.get(key);
    if (s) return s;
    const granted = Array.from({ length: sets }, (_, i) => `AND EXISTS (SELECT 1 FROM ctx_access a WHERE a.doc_id = c.doc_id AND a.grantee IN (SELECT value FROM json_each(@g${i})))`).join('\n  ');
    // Capped: the first candidates in index order, each scored, then filtered and ranked like any search.
    const matched = capped ? '(SELECT rowid, bm25(ctx_fts) AS score FROM ctx_fts WHERE ctx_fts MATCH @match LIMIT @candidates) m' : null;
    s = this.db.prepare(
      matched
        ? `
      SELECT d.source, d.path, d.version_hash, d.classification, d.trust, d.owner, d.modified_at, d.max_age_days, c.n, c.start_at, c.end_at, c.text, m.score AS score
      FROM ${matched} JOIN ctx_chunks c ON c.id = m.rowid JOIN ctx_documents d ON d.id = c.doc_id
      WHERE d.source IN (SELECT value FROM json_each(@sources))
        ${granted}
      ORDER BY score LIMIT @limit`
        : `
      SELECT d.source, d.path, d.version_hash, d.classification, d.trust, d.owner, d.modified_at, d.max_age_days, c.n, c.start_at, c.end_at, c.text, bm25(ctx_fts) AS score
      FROM ctx_fts JOIN ctx_chunks c ON c.id = ctx_fts.rowid JOIN ctx_documents d ON d.id = c.doc_id
      WHERE ctx_fts MATCH @match
        AND d.source IN (SELECT value FROM json_each(@sources))
        ${granted}
      ORDER BY score LIMIT @limit`,
    );
    this.searches.set(key, s);
    return s;
  }
}

interface SearchRow {
  source: string;
  path: string;
  version_hash: string;
  classification: Classification;
  trust: Trust;
  owner: string;
  modified_at: string;
  max_age_days: number;
  n: number;
  start_at: number;
  end_at: number;
  text: string;
  score: number;
}
