// Context from declared sources on PostgreSQL (#15), the same as the embedded store's (sqlite-context.ts):
// documents, access rows, chunks, versions and vectors; reads with the entitlement filter inside every
// query; full-text search with FTS5's words and FTS5's BM25 (postgres-fts.ts), fused with meaning as
// SQLite fuses it (postgres-vectors.ts). Writes of context take one advisory lock: one writer at a time,
// as on SQLite.
import type pg from 'pg';
import { AirlockError } from '../errors.js';
import type { Classification } from '../types.js';
import { transaction } from './postgres-connection.js';
import type { ChunkVector, ContextChanges, ContextCited, ContextDocumentQuery, ContextDocumentState, ContextHit, ContextLabels, ContextQuery, UnembeddedChunk } from './context-records.js';
import { candidateWindows, checkedSets, checkedTerms, COMMON_CANDIDATES, hitOf, readLimit, rowKey, SEARCH_COLUMNS, searchLimit, type SearchRow } from './context-search.js';
import { allOf, indexTexts, phrasesOf, PG_FTS_FUNCTIONS, rankedSql } from './postgres-fts.js';
import { EPOCH_SQL, pgUnembedded, PgVectorIndex, putPgVectors } from './postgres-vectors.js';
import { fuseRanks } from './vector-ranking.js';

/**
 * The DDL of context (one versioned migration, run once in a transaction). Text compared or ordered is
 * `COLLATE "C"` (byte order, SQLite's BINARY). Chunk ids and document ids only grow: equal scores are
 * ordered by chunk id, the order chunks were stored, as on SQLite. `ctx_index_stats` holds what BM25
 * needs of the whole index (chunks, tokens), kept by statement triggers; `ctx_vector_epoch` moves with
 * every change of vectors, so every instance reloads its copy. The GIN index is kept without a pending
 * list (`fastupdate = off`): every search would read a pending list through; ingest pays instead.
 */
export const PG_CONTEXT_SQL = `
CREATE TABLE ctx_documents (id bigserial PRIMARY KEY, source text COLLATE "C" NOT NULL, path text COLLATE "C" NOT NULL, version_hash text NOT NULL, modified_at text NOT NULL, ingested_at text NOT NULL, labels text NOT NULL, classification text NOT NULL, trust text NOT NULL, owner text NOT NULL, max_age_days double precision NOT NULL, UNIQUE (source, path));
CREATE TABLE ctx_access (doc_id bigint NOT NULL REFERENCES ctx_documents (id) ON DELETE CASCADE, grantee text COLLATE "C" NOT NULL, PRIMARY KEY (doc_id, grantee));
CREATE TABLE ctx_chunks (id bigserial PRIMARY KEY, doc_id bigint NOT NULL REFERENCES ctx_documents (id) ON DELETE CASCADE, n integer NOT NULL, start_at integer NOT NULL, end_at integer NOT NULL, text text NOT NULL, tokens integer NOT NULL, words tsvector NOT NULL, counts jsonb NOT NULL);
CREATE INDEX ctx_chunks_by_doc ON ctx_chunks (doc_id, n);
CREATE INDEX ctx_chunks_words ON ctx_chunks USING gin (words) WITH (fastupdate = off);
CREATE TABLE ctx_versions (source text COLLATE "C" NOT NULL, path text COLLATE "C" NOT NULL, version_hash text NOT NULL, ingested_at text NOT NULL, PRIMARY KEY (source, path, version_hash));
CREATE TABLE ctx_index_stats (id integer PRIMARY KEY CHECK (id = 1), chunks bigint NOT NULL, tokens bigint NOT NULL);
INSERT INTO ctx_index_stats (id, chunks, tokens) VALUES (1, 0, 0);
CREATE FUNCTION ctx_chunks_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE ctx_index_stats t SET chunks = t.chunks + s.sign * s.rows, tokens = t.tokens + s.sign * s.size
  FROM (SELECT CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END AS sign, count(*) AS rows, coalesce(sum(k.tokens), 0) AS size FROM changed k) s
  WHERE t.id = 1 AND s.rows > 0;
  RETURN NULL;
END $$;
CREATE TRIGGER ctx_chunks_added AFTER INSERT ON ctx_chunks REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ctx_chunks_counted();
CREATE TRIGGER ctx_chunks_removed AFTER DELETE ON ctx_chunks REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ctx_chunks_counted();
CREATE FUNCTION ctx_chunks_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'context chunks are replaced, never updated';
END $$;
CREATE TRIGGER ctx_chunks_kept BEFORE UPDATE ON ctx_chunks FOR EACH STATEMENT EXECUTE FUNCTION ctx_chunks_unchanged();
${PG_FTS_FUNCTIONS}
CREATE TABLE ctx_vectors (chunk_id bigint PRIMARY KEY REFERENCES ctx_chunks (id) ON DELETE CASCADE, model text COLLATE "C" NOT NULL, vec bytea NOT NULL);
CREATE INDEX ctx_vectors_by_model ON ctx_vectors (model, chunk_id);
CREATE TABLE ctx_vector_epoch (id integer PRIMARY KEY CHECK (id = 1), n bigint NOT NULL);
INSERT INTO ctx_vector_epoch (id, n) VALUES (1, 0);
CREATE FUNCTION ctx_vectors_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM changed) THEN UPDATE ctx_vector_epoch SET n = n + 1 WHERE id = 1; END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER ctx_vectors_added AFTER INSERT ON ctx_vectors REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ctx_vectors_changed();
CREATE TRIGGER ctx_vectors_replaced AFTER UPDATE ON ctx_vectors REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ctx_vectors_changed();
CREATE TRIGGER ctx_vectors_removed AFTER DELETE ON ctx_vectors REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION ctx_vectors_changed();
`;

/** Rows per page when a list is read whole (keyset pages: no query is unbounded). */
const PAGE = 1000;

/** A query's parameters, bound in order: `bind(v)` gives `v`'s placeholder. */
class Params {
  readonly values: unknown[] = [];
  readonly bind = (v: unknown): string => `$${this.values.push(v)}`;
}

/** The entitlement filter: for each set, the document `doc` has an access row naming one of its grantees. */
function granted(p: Params, entitlements: readonly (readonly string[])[], doc = 'd.id'): string {
  return entitlements.map((set) => `AND EXISTS (SELECT 1 FROM ctx_access a WHERE a.doc_id = ${doc} AND a.grantee = ANY (${p.bind(set)}::text[]))`).join('\n      ');
}

/** The store's context methods on a PostgreSQL pool. */
export class PgContext {
  private readonly vectors: PgVectorIndex;

  constructor(private readonly pool: pg.Pool) {
    this.vectors = new PgVectorIndex(pool);
  }

  /** The documents stored for `source`, by path. */
  async contextDocuments(source: string): Promise<readonly ContextDocumentState[]> {
    const out: ContextDocumentState[] = [];
    // Keyset pages by path (no path is empty: '' is before every one).
    for (let after = ''; ; ) {
      const r: pg.QueryResult<{ path: string; version_hash: string; labels: string }> = await this.pool.query(
        `SELECT path, version_hash, labels FROM ctx_documents WHERE source = $1 AND path > $2 ORDER BY path LIMIT ${PAGE}`,
        [source, after],
      );
      for (const row of r.rows) out.push({ path: row.path, versionHash: row.version_hash, labels: JSON.parse(row.labels) as ContextLabels });
      if (r.rows.length < PAGE) return out;
      after = r.rows[r.rows.length - 1]?.path ?? after;
    }
  }

  /** The sources with documents stored (one index probe per source). */
  async contextSources(): Promise<readonly string[]> {
    const r = await this.pool.query<{ source: string }>(`
      WITH RECURSIVE s (source) AS (
        (SELECT source FROM ctx_documents ORDER BY source LIMIT 1)
        UNION ALL
        SELECT (SELECT d.source FROM ctx_documents d WHERE d.source > s.source ORDER BY d.source LIMIT 1) FROM s WHERE s.source IS NOT NULL)
      SELECT source FROM s WHERE source IS NOT NULL`);
    return r.rows.map((row) => row.source);
  }

  /**
   * Applies one source's changes in one transaction: removals, then each new version (its chunks replacing
   * the old) or relabel. The text is tokenized before the transaction begins.
   */
  async changeContext(c: ContextChanges): Promise<void> {
    const nul = c.put.find((d) => d.chunks?.some((k) => k.text.includes('\u0000')));
    if (nul) {
      throw new AirlockError('input', `document \`${nul.path}\` of source \`${c.source}\` holds a NUL character (U+0000), which PostgreSQL's text cannot hold`, {
        hint: 'ingest stores it as U+FFFD; a caller writing chunks itself must do the same',
      });
    }
    const indexed = indexTexts(c.put.flatMap((d) => (d.chunks ?? []).map((k) => k.text)));
    await transaction(this.pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('airlock'), hashtext('context writes'))");
      const which = c.remove === 'all' ? 'source = $1' : 'source = $1 AND path = ANY ($2::text[])';
      const args = c.remove === 'all' ? [c.source] : [c.source, c.remove];
      if (c.remove === 'all' || c.remove.length > 0) {
        await client.query(`DELETE FROM ctx_chunks WHERE doc_id IN (SELECT id FROM ctx_documents WHERE ${which})`, args);
        await client.query(`DELETE FROM ctx_documents WHERE ${which}`, args);
      }
      let at = 0;
      for (const d of c.put) {
        const l = d.labels;
        // A relabel keeps the stored version and its modification time: only the labels change.
        const row =
          d.chunks === undefined
            ? await client.query<{ id: string }>('UPDATE ctx_documents SET labels = $1, classification = $2, trust = $3, owner = $4, max_age_days = $5 WHERE source = $6 AND path = $7 RETURNING id', [
                JSON.stringify(l),
                l.classification,
                l.trust,
                l.owner,
                l.maxAgeDays,
                c.source,
                d.path,
              ])
            : await client.query<{ id: string }>(
                `INSERT INTO ctx_documents (source, path, version_hash, modified_at, ingested_at, labels, classification, trust, owner, max_age_days) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (source, path) DO UPDATE SET version_hash = excluded.version_hash, modified_at = excluded.modified_at, ingested_at = excluded.ingested_at, labels = excluded.labels, classification = excluded.classification, trust = excluded.trust, owner = excluded.owner, max_age_days = excluded.max_age_days
                 RETURNING id`,
                [c.source, d.path, d.versionHash, d.modifiedAt, c.at, JSON.stringify(l), l.classification, l.trust, l.owner, l.maxAgeDays],
              );
        const id = row.rows[0]?.id;
        if (id === undefined) continue;
        // INVARIANT: the access rows are exactly the declared list, replaced with every put (a relabel too).
        await client.query('DELETE FROM ctx_access WHERE doc_id = $1', [id]);
        await client.query('INSERT INTO ctx_access (doc_id, grantee) SELECT $1, g FROM unnest($2::text[]) AS g ON CONFLICT DO NOTHING', [id, l.access]);
        if (d.chunks === undefined) continue;
        const ks = d.chunks;
        const ix = indexed.slice(at, (at += ks.length));
        await client.query('DELETE FROM ctx_chunks WHERE doc_id = $1', [id]);
        // In the chunks' order: ids grow in the order chunks are stored, as SQLite's do.
        await client.query(
          `INSERT INTO ctx_chunks (doc_id, n, start_at, end_at, text, tokens, words, counts)
           SELECT $1, k.n, k.s, k.e, k.t, k.tokens, k.words::tsvector, k.counts::jsonb
           FROM unnest($2::int[], $3::int[], $4::int[], $5::text[], $6::int[], $7::text[], $8::text[]) WITH ORDINALITY AS k (n, s, e, t, tokens, words, counts, i) ORDER BY k.i`,
          [id, ks.map((k) => k.n), ks.map((k) => k.start), ks.map((k) => k.end), ks.map((k) => k.text), ix.map((x) => x.tokens), ix.map((x) => x.words), ix.map((x) => x.counts)],
        );
        await client.query('INSERT INTO ctx_versions (source, path, version_hash, ingested_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [c.source, d.path, d.versionHash, c.at]);
      }
    });
  }

  /**
   * The best chunks for `q`: by words (BM25), and with a vector by meaning too, fused. INVARIANT: the
   * entitlement filter is part of every query: a chunk is joined to its document, and a row is produced
   * only when, for every entitlement set, the document has an access row naming one of that set's
   * grantees; a chunk outside the caller's scope never becomes a result row, so its text is never read out.
   */
  async searchContext(q: ContextQuery): Promise<readonly ContextHit[]> {
    checkedSets(q.entitlements);
    const limit = searchLimit(q.limit);
    checkedTerms(q.terms);
    if (q.sources.length === 0) return [];
    const words = q.terms.length === 0 ? [] : await this.byWords(q, limit);
    if (q.vector === undefined) return words.map(hitOf);
    return fuseRanks([words, await this.byMeaning(q, q.vector, limit)], rowKey, limit).map(hitOf);
  }

  /**
   * The chunks holding every word, best first (BM25, ties by chunk id), as SQLite's search gives them: a
   * term in more than `COMMON_CANDIDATES` chunks is common; with rarer terms given, only those are matched
   * and ranked; with common terms only, the first `COMMON_CANDIDATES` chunks holding them all (in the
   * order stored) are filtered, unranked. A term with no word FTS5 knows matches nothing alone and is
   * left out beside others, as in FTS5.
   */
  private async byWords(q: ContextQuery, limit: number): Promise<SearchRow[]> {
    const phrases = phrasesOf(q.terms);
    const counts = await this.pool.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM (SELECT FROM ctx_chunks h WHERE q.q <> '' AND h.words @@ q.q::tsquery LIMIT ${COMMON_CANDIDATES + 1}) s) AS n
       FROM unnest($1::text[]) WITH ORDINALITY AS q (q, i) ORDER BY q.i`,
      [phrases.map((p) => p.query)],
    );
    const hits = phrases.map((_, i) => Number(counts.rows[i]?.n ?? 0));
    const rare = phrases.map((ph, i) => ({ ph, hits: hits[i] ?? 0 })).filter((r) => r.hits <= COMMON_CANDIDATES);
    const p = new Params();
    if (rare.length === 0) {
      const rows = await this.pool.query<SearchRow>(
        // The planner chooses how to find the first matches by id: walking the ids while most chunks match,
        // the index's bitmap when few do. Only those are joined and filtered.
        `WITH m AS MATERIALIZED (SELECT h.id FROM ctx_chunks h WHERE h.words @@ ${p.bind(allOf(phrases))}::tsquery ORDER BY h.id LIMIT ${COMMON_CANDIDATES})
         SELECT ${SEARCH_COLUMNS}, 0::float8 AS score
         FROM m JOIN ctx_chunks c ON c.id = m.id JOIN ctx_documents d ON d.id = c.doc_id
         WHERE d.source = ANY (${p.bind(q.sources)}::text[])
           ${granted(p, q.entitlements)}
         ORDER BY c.id LIMIT ${p.bind(limit)}`,
        p.values,
      );
      return rows.rows;
    }
    const matched = rare.filter((r) => r.ph.tokens.length > 0);
    if (matched.length === 0) return [];
    // Every rare term is in at most COMMON_CANDIDATES chunks, counted exactly above: all matches are scored
    // (as FTS5 scores them all), then joined to their documents and filtered, in one query.
    const rows = await this.pool.query<SearchRow>(
      `WITH ${rankedSql(
        matched.map((r) => r.ph),
        matched.map((r) => r.hits),
        p.bind,
      )}
       SELECT ${SEARCH_COLUMNS}, m.score
       FROM m JOIN ctx_chunks c ON c.id = m.id JOIN ctx_documents d ON d.id = c.doc_id
       WHERE d.source = ANY (${p.bind(q.sources)}::text[])
         ${granted(p, q.entitlements)}
       ORDER BY m.score, m.id LIMIT ${p.bind(limit)}`,
      p.values,
    );
    return rows.rows;
  }

  /**
   * The chunks nearest `vector` in meaning that pass the filters, best first (a hit's score is its place
   * among the candidates, as on SQLite). Only the caller's documents are scored; the query that reads text
   * applies the filter again. The nearest candidates first, a wider window only when too few pass.
   */
  private async byMeaning(q: ContextQuery, vector: { readonly model: string; readonly values: Float32Array }, limit: number): Promise<SearchRow[]> {
    const a = new Params();
    const allowed = await this.pool.query<{ epoch: string; ids: string[] }>(
      `SELECT ${EPOCH_SQL} AS epoch, array(SELECT d.id FROM ctx_documents d WHERE d.source = ANY (${a.bind(q.sources)}::text[]) ${granted(a, q.entitlements)}) AS ids`,
      a.values,
    );
    const row = allowed.rows[0];
    const nearest = await this.vectors.ranking(vector.model, vector.values.length, (row?.ids ?? []).map(Number), row?.epoch ?? '0');
    let rows: SearchRow[] = [];
    for (const window of candidateWindows(limit)) {
      const ids = nearest(vector.values, window);
      const p = new Params();
      rows = (
        await this.pool.query<SearchRow>(
          `SELECT ${SEARCH_COLUMNS}, (m.k - 1)::float8 AS score
           FROM unnest(${p.bind(ids)}::bigint[]) WITH ORDINALITY AS m (id, k) JOIN ctx_chunks c ON c.id = m.id JOIN ctx_documents d ON d.id = c.doc_id
           WHERE d.source = ANY (${p.bind(q.sources)}::text[])
             ${granted(p, q.entitlements)}
           ORDER BY m.k LIMIT ${p.bind(limit)}`,
          p.values,
        )
      ).rows;
      if (rows.length >= limit || ids.length < window) break;
    }
    return rows;
  }

  /**
   * One document's first `maxChunks` chunks, in order. INVARIANT: as in a search, the entitlement filter is
   * in the query: a document not granted to every set yields no row, exactly like one that does not exist.
   */
  async readContextDocument(q: ContextDocumentQuery): Promise<readonly ContextHit[]> {
    checkedSets(q.entitlements);
    const p = new Params();
    const r = await this.pool.query<SearchRow>(
      `SELECT ${SEARCH_COLUMNS}, 0::float8 AS score
       FROM ctx_documents d JOIN ctx_chunks c ON c.doc_id = d.id
       WHERE d.source = ${p.bind(q.source)} AND d.path = ${p.bind(q.path)}
         ${granted(p, q.entitlements)}
       ORDER BY c.n LIMIT ${p.bind(readLimit(q.maxChunks))}`,
      p.values,
    );
    return r.rows.map(hitOf);
  }

  /** Up to `limit` chunks of `source`, of these classifications, with no vector of `model` yet. */
  contextUnembedded(source: string, model: string, classifications: readonly Classification[], limit: number): Promise<readonly UnembeddedChunk[]> {
    return pgUnembedded(this.pool, source, model, classifications, limit);
  }

  /** Keeps vectors of `model`, each only while its chunk still holds the text it was computed from. */
  putContextVectors(model: string, rows: readonly ChunkVector[]): Promise<void> {
    return putPgVectors(this.pool, model, rows);
  }

  /**
   * The stored text of `source`/`path` at [start, end) when one chunk of its current version holds all of
   * it (the citation check; nothing of it is shown). INVARIANT: the entitlement filter is in the query: a
   * document the run may not read reads as no document.
   */
  async contextCited(source: string, path: string, start: number, end: number, entitlements: readonly (readonly string[])[]): Promise<ContextCited> {
    checkedSets(entitlements);
    const p = new Params();
    const r = await this.pool.query<{ version_hash: string; start_at: number | null; text: string | null }>(
      `SELECT d.version_hash, c.start_at, c.text
       FROM ctx_documents d LEFT JOIN LATERAL (SELECT start_at, text FROM ctx_chunks k WHERE k.doc_id = d.id AND k.start_at <= ${p.bind(start)} AND k.end_at >= ${p.bind(end)} ORDER BY k.n LIMIT 1) c ON true
       WHERE d.source = ${p.bind(source)} AND d.path = ${p.bind(path)}
         ${granted(p, entitlements)}`,
      p.values,
    );
    const row = r.rows[0];
    if (!row) return { kind: 'no-document' };
    if (row.start_at === null || row.text === null) return { kind: 'not-in-a-chunk', versionHash: row.version_hash };
    return { kind: 'text', versionHash: row.version_hash, text: row.text.slice(start - row.start_at, end - row.start_at) };
  }
}
