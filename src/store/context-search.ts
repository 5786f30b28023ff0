// What every context store shares about a read of context (SQLite's sqlite-context.ts, PostgreSQL's
// postgres-context.ts): the bounds, the checks of a query, the rows a read yields and the hits made of them.
import { SEARCH_LIMITS } from '../context/entitlements.js';
import { AirlockError } from '../errors.js';
import type { Classification, Trust } from '../types.js';
import type { ContextHit } from './context-records.js';

/** The most entitlement sets one search may carry (an agent, the person it acts for, and room to spare). */
export const MAX_ENTITLEMENT_SETS = 4;
/** The most items one search returns. */
export const MAX_SEARCH_RESULTS = 100;
/** The most chunks one read of a document returns. */
export const MAX_DOCUMENT_CHUNKS = 500;
/**
 * A word in more chunks than this is common, like a stop word: a search with rarer words matches and
 * ranks (BM25) by those alone (reading a common word's whole list, as merging or weighing it does, is
 * what costs, and BM25 gives it almost no weight); a search of common words only takes the first this
 * many chunks that hold them all, in index order (the order chunks were stored), unranked.
 */
export const COMMON_CANDIDATES = 2000;

/** The number of entitlement sets, checked: at least one (nothing is read for no one), at most `MAX_ENTITLEMENT_SETS`. */
export function checkedSets(entitlements: readonly (readonly string[])[]): number {
  const sets = entitlements.length;
  if (sets < 1 || sets > MAX_ENTITLEMENT_SETS) {
    throw new AirlockError('input', `a read of context needs from 1 to ${MAX_ENTITLEMENT_SETS} entitlement sets, not ${sets}`, { hint: 'this is a bug: the caller builds them from the acting principals' });
  }
  return sets;
}

/**
 * The terms of a search, checked against the bounds `searchTerms` keeps (at most `SEARCH_LIMITS.terms`
 * terms of at most `SEARCH_LIMITS.termChars` code units): a caller that builds terms itself gets the same
 * bounded search on every store, or an error.
 */
export function checkedTerms(terms: readonly string[]): readonly string[] {
  if (terms.length > SEARCH_LIMITS.terms || terms.some((t) => t.length > SEARCH_LIMITS.termChars)) {
    throw new AirlockError('input', `a search takes at most ${SEARCH_LIMITS.terms} terms of at most ${SEARCH_LIMITS.termChars} characters`, { hint: 'this is a bug: build the terms with searchTerms' });
  }
  return terms;
}

/** How many items a search returns: `limit`, from 1 to `MAX_SEARCH_RESULTS`. */
export function searchLimit(limit: number): number {
  return Math.max(1, Math.min(MAX_SEARCH_RESULTS, Math.floor(limit)));
}

/** How many chunks a read of a document returns: `maxChunks`, from 1 to `MAX_DOCUMENT_CHUNKS`. */
export function readLimit(maxChunks: number): number {
  return Math.max(1, Math.min(MAX_DOCUMENT_CHUNKS, Math.floor(maxChunks)));
}

/**
 * The candidate windows of a ranked read: the best `limit * 8` first, wider only when too few of them pass
 * the entitlement filter, the last one unbounded (`Infinity`): any candidate outside a window ranks below
 * every one inside it, so the result is the same as one read of all.
 */
export function candidateWindows(limit: number): readonly number[] {
  return [limit * 8, limit * 64, 4096, Number.POSITIVE_INFINITY];
}

/** A search row's identity across the rankings that are fused: the chunk of a document. */
export function rowKey(r: Pick<SearchRow, 'source' | 'path' | 'n'>): string {
  return `${r.source}\u0000${r.path}\u0000${r.n}`;
}

/** One chunk read for a caller with its document's labels, as every store's query selects it. */
export interface SearchRow {
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

/** The columns a search or read selects (chunk `c`, document `d`), in `SearchRow`'s names, less the score. */
export const SEARCH_COLUMNS = 'd.source, d.path, d.version_hash, d.classification, d.trust, d.owner, d.modified_at, d.max_age_days, c.n, c.start_at, c.end_at, c.text';

/** The hit a row gives. */
export function hitOf(r: SearchRow): ContextHit {
  return {
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
  };
}
