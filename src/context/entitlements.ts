// Who may read which context (pure): the grantee names a caller holds, the entitlement sets a search
// must satisfy, search terms from a free-text query, and whether a document is stale.
import type { Principal } from '../types.js';

/**
 * The grantee names `principal` holds in access lists: `*`, its own `kind:id`, and `role:<name>` for
 * each of its roles (from the workspace, never from a token or an argument).
 */
export function granteesOf(principal: Pick<Principal, 'kind' | 'id' | 'roles'>): string[] {
  return ['*', `${principal.kind}:${principal.id}`, ...principal.roles.map((r) => `role:${r}`)];
}

/**
 * The entitlement sets a search runs under: one per party acting, and a document is readable only when
 * its access list names a grantee of every set. An agent alone reads what it is granted; an agent
 * acting for a person reads only what both are granted (never more than the person may see).
 */
export function entitlementSets(agent: Pick<Principal, 'kind' | 'id' | 'roles'>, onBehalfOf: Pick<Principal, 'kind' | 'id' | 'roles'> | null): string[][] {
  return onBehalfOf === null ? [granteesOf(agent)] : [granteesOf(agent), granteesOf(onBehalfOf)];
}

/** The most terms one search uses, and the longest term kept. */
export const SEARCH_LIMITS = { terms: 16, termChars: 64, queryChars: 1000 } as const;

/**
 * The words of a free-text query, as plain search terms: letters and digits only (every operator and
 * quote dropped, so no query syntax reaches the index), lower-cased, without repeats, bounded in count
 * and length. Empty when the query holds no word.
 */
export function searchTerms(query: string): string[] {
  const words = query.slice(0, SEARCH_LIMITS.queryChars).toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const terms: string[] = [];
  for (const w of words) {
    const t = w.slice(0, SEARCH_LIMITS.termChars);
    if (!terms.includes(t)) terms.push(t);
    if (terms.length === SEARCH_LIMITS.terms) break;
  }
  return terms;
}

/** True when content last changed at `modifiedAt` is older than `maxAgeDays` at `now`. */
export function isStale(modifiedAt: string, maxAgeDays: number, now: Date): boolean {
  const t = Date.parse(modifiedAt);
  return !Number.isFinite(t) || now.getTime() - t > maxAgeDays * 86_400_000;
}
