// Value budgets at the boundary (pure): which sums a proposed call counts against, and where each
// stands, as policy sees it (`context.value.<budget>`). The store counts the amounts; this file only
// says what to count and what the sums mean.
import type { ToolContract, ValueBudget } from '../config/schema.js';
import type { ValueEntry } from '../store/store.js';
import type { ValueStanding } from '../policy/decide.js';
import type { JsonObject } from '../types.js';

/** One sum a call counts against: the budget, which of its sums (`bucket`), the call's amount and the window's start. */
export interface ValueClaim {
  readonly budget: ValueBudget;
  readonly bucket: string;
  readonly amount: number;
  readonly since: string;
}


/**
 * The sums `args` count against: every budget naming the contract whose currency (if it has one)
 * is the call's. An amount that is not a whole number of at least 0 (the input schema allows only
 * those) counts as the largest safe integer, so it crosses every limit rather than slip under one.
 */
export function valueClaims(
  budgets: readonly ValueBudget[],
  contract: ToolContract,
  args: JsonObject,
  who: { readonly principal: string; readonly workflow: string },
  now: Date,
): ValueClaim[] {
  const v = contract.value;
  if (!v) return [];
  const raw = args[v.amount];
  const amount = typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 0 ? raw : Number.MAX_SAFE_INTEGER;
  const currency = v.currency !== undefined ? String(args[v.currency] ?? '').trim().toUpperCase() : '';
  const key = v.key !== undefined ? sameKey(String(args[v.key] ?? '')) : '';
  const out: ValueClaim[] = [];
  for (const b of budgets) {
    if (!b.tools.includes(contract.name)) continue;
    if (b.currency !== undefined && b.currency !== currency) continue;
    // One canonical text per sum: the currency, then each dimension the budget is kept per, by name.
    const bucket = JSON.stringify({
      currency,
      ...(b.per.includes('principal') ? { principal: who.principal } : {}),
      ...(b.per.includes('workflow') ? { workflow: who.workflow } : {}),
      ...(b.per.includes('key') ? { key } : {}),
    });
    out.push({ budget: b, bucket, amount, since: new Date(now.getTime() - b.windowMinutes * 60_000).toISOString() });
  }
  return out;
}

/**
 * One text for every spelling of a key a person would read as the same (`ACME`, ` acme`, `ａcme`,
 * `acme` with a zero-width space): compatibility-normalised, without format characters or white
 * space, lower case. Merging two real payees only makes a budget stricter; splitting one would let
 * the same payee receive a limit per spelling.
 */
export function sameKey(text: string): string {
  return text.normalize('NFKC').replace(/[\p{Cf}\p{Cc}\p{Z}\s]/gu, '').toLowerCase();
}

/** Where each budget a call counts against stands with it added, by budget name. */
export type ValueStandings = Record<string, ValueStanding>;

/** Whether the call would take any budget past its limit. */
export function crossesValue(standing: ValueStandings | undefined): boolean {
  return Object.values(standing ?? {}).some((s) => s.exceeds);
}

/** Where each budget stands with the call added, by budget name (what `context.value` holds). */
export function valueStandings(claims: readonly ValueClaim[], spent: readonly number[]): ValueStandings {
  const out: ValueStandings = {};
  claims.forEach((c, i) => {
    const s = spent[i] ?? 0;
    const wouldBe = s + c.amount;
    out[c.budget.name] = { spent: s, wouldBe, limit: c.budget.limit, exceeds: wouldBe > c.budget.limit };
  });
  return out;
}

/** The ledger entries of a call: under each budget's limit, or (`limit: null`) counted whatever it is, because a person approved it. */
export function valueEntries(claims: readonly ValueClaim[], limited: boolean): ValueEntry[] {
  return claims.map((c) => ({ budget: c.budget.name, bucket: c.bucket, amount: c.amount, since: c.since, limit: limited ? c.budget.limit : null }));
}
