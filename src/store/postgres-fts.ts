// Full-text search of context on PostgreSQL, the same as SQLite FTS5's (postgres-context.ts runs it): words
// split, folded and stripped of diacritics by FTS5's own tokenizer (fts5-tokens.ts), kept as a tsvector
// with positions (GIN-indexed) and counts, queried with tsquery, ranked by FTS5's BM25 computed in SQL.
import { SEARCH_LIMITS } from '../context/entitlements.js';
import { Fts5Tokenizer } from './fts5-tokens.js';

/** What the index keeps of one chunk: its token count, its words with their positions, and each word's count. */
export interface IndexedText {
  /** Every token, as FTS5 counts a row's size for BM25. */
  readonly tokens: number;
  /** A tsvector literal: each word with its positions (from 1). */
  readonly words: string;
  /** A JSON object: each word's number of occurrences (a tsvector keeps 256 positions at most). */
  readonly counts: string;
}

/** A search term as FTS5 reads a quoted term: a phrase of its tokens (none when it holds no word FTS5 knows). */
export interface Phrase {
  readonly tokens: readonly string[];
  /** The tsquery literal matching it (`'a'`, or `'a' <-> 'b'`); empty for no tokens. */
  readonly query: string;
}

let shared: Fts5Tokenizer | undefined;
/** One tokenizer per process (an in-memory SQLite database), opened on first use. */
function tokenizer(): Fts5Tokenizer {
  shared ??= new Fts5Tokenizer();
  return shared;
}

/** A word in a tsvector or tsquery literal: quoted, with quotes and backslashes doubled. */
function quoted(word: string): string {
  return `'${word.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/**
 * The index entries of `texts`. A token longer than a search term can be (`SEARCH_LIMITS.termChars` code
 * points) is counted in the size but not kept: no search can name it.
 */
export function indexTexts(texts: readonly string[]): IndexedText[] {
  return tokenizer()
    .tokenize(texts)
    .map((tokens) => {
      const positions = new Map<string, number[]>();
      tokens.forEach((t, i) => {
        if ([...t].length > SEARCH_LIMITS.termChars) return;
        const ps = positions.get(t);
        if (ps) ps.push(i + 1);
        else positions.set(t, [i + 1]);
      });
      const words: string[] = [];
      const counts: string[] = [];
      for (const [t, ps] of positions) {
        // PostgreSQL keeps a word's first 256 positions (each at most 16,383: a chunk of at most 16,000
        // characters has fewer tokens); the count beside it is exact.
        words.push(`${quoted(t)}:${ps.slice(0, 256).join(',')}`);
        counts.push(`${JSON.stringify(t)}:${ps.length}`);
      }
      return { tokens: tokens.length, words: words.join(' '), counts: `{${counts.join(',')}}` };
    });
}

/** The most query terms whose phrases are remembered (terms repeat across searches). */
const PHRASES_KEPT = 4096;
const phrases = new Map<string, Phrase>();

/** Each term as the phrase FTS5 makes of it when quoted (a term may hold no token, or several). */
export function phrasesOf(terms: readonly string[]): Phrase[] {
  const missing = [...new Set(terms.filter((t) => !phrases.has(t)))];
  if (missing.length > 0) {
    if (phrases.size + missing.length > PHRASES_KEPT) phrases.clear();
    tokenizer()
      .tokenize(missing)
      .forEach((tokens, i) => phrases.set(missing[i] as string, { tokens, query: tokens.map(quoted).join(' <-> ') }));
  }
  return terms.map((t) => phrases.get(t) as Phrase);
}

/** The tsquery literal matching every phrase (each non-empty). */
export function allOf(ps: readonly Phrase[]): string {
  return ps.map((p) => `(${p.query})`).join(' & ');
}

/**
 * The common table expressions that end in `m (id, score)`: every chunk matching all of `ps` with its BM25
 * score, exactly as SQLite FTS5's `bm25()` computes it (k1 = 1.2, b = 0.75, lower is better), operation for
 * operation in float8 so that equal inputs give the same double: per phrase i,
 * idf_i * (f_i * (k1 + 1)) / (f_i + k1 * (1 - b + b * D / avgdl)), summed in phrase order from 0 and
 * negated; idf_i = ln((N - hits_i + 0.5) / (hits_i + 0.5)), 1e-6 when not above 0. N, avgdl (tokens per
 * chunk) and `hits` (the chunks holding each phrase) are over the whole index, as FTS5 counts them.
 * `param` binds a value and gives its placeholder. Each part is MATERIALIZED: the IDFs are computed once,
 * each chunk's counts read once, and the matches scored before any join (left to choose, the planner may
 * walk every chunk of every readable document instead).
 */
export function rankedSql(ps: readonly Phrase[], hits: readonly number[], param: (v: unknown) => string): string {
  const idfs = ps.map((_, i) => `ctx_idf(st.n, ${param(hits[i] ?? 0)}::bigint) AS i${i}`);
  const fs = ps.map((p, i) => (p.tokens.length === 1 ? `coalesce((c.counts ->> ${param(p.tokens[0])})::float8, 0::float8)` : `ctx_phrase_count(c.words, ${param(p.tokens)}::text[])::float8`) + ` AS f${i}`);
  const terms = ps.map((_, i) => `idf.i${i} * ((x.f${i} * (1.2::float8 + 1.0::float8)) / (x.f${i} + 1.2::float8 * (1::float8 - 0.75::float8 + 0.75::float8 * x.tokens::float8 / st.avgdl)))`);
  return `st AS MATERIALIZED (SELECT greatest(chunks, 1) AS n, tokens::float8 / greatest(chunks, 1)::float8 AS avgdl FROM ctx_index_stats WHERE id = 1),
    idf AS MATERIALIZED (SELECT ${idfs.join(', ')} FROM st),
    m AS MATERIALIZED (
      SELECT x.id, -1.0::float8 * (0.0::float8 + ${terms.join(' + ')}) AS score
      FROM (SELECT c.id, c.tokens, ${fs.join(', ')} FROM ctx_chunks c WHERE c.words @@ ${param(allOf(ps))}::tsquery OFFSET 0) x CROSS JOIN st CROSS JOIN idf)`;
}

/** The DDL of the index's helpers: BM25's IDF, and the count of a phrase of several tokens in a chunk. */
export const PG_FTS_FUNCTIONS = `
CREATE FUNCTION ctx_idf(n bigint, hits bigint) RETURNS float8 LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN x > 0 THEN x ELSE 1e-6::float8 END
  FROM (SELECT CASE WHEN n - hits >= 0 THEN ln(((n - hits)::float8 + 0.5::float8) / (hits::float8 + 0.5::float8)) ELSE 0 END AS x) s
$$;
CREATE FUNCTION ctx_phrase_count(v tsvector, toks text[]) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$
  WITH pos AS (SELECT u.lexeme, p FROM unnest(v) u, unnest(u.positions) p WHERE u.lexeme = ANY (toks))
  SELECT count(*) FROM pos s
  WHERE s.lexeme = toks[1]
    AND NOT EXISTS (SELECT 1 FROM generate_subscripts(toks, 1) i WHERE i > 1 AND NOT EXISTS (SELECT 1 FROM pos o WHERE o.lexeme = toks[i] AND o.p = s.p + i - 1))
$$;
`;
