// What a tool contract will mean at a workflow's tier: the policy layer's own tier rules applied to the contract's effect and (raised) risk. Pure.
import { executeHighGaps, withRaisedRisk } from '../config/checks.js';
import type { ToolContract } from '../config/schema.js';
import { applyTier, EXPLICIT_PERMIT_EFFECTS } from '../policy/decide.js';
import type { Tier } from '../types.js';

/** The contract fields the tier rules read. */
export type TierInput = Pick<ToolContract, 'name' | 'effect' | 'risk' | 'irreversible' | 'secondPath' | 'verify'>;

/** A column of the table: a workflow and its tier. */
export interface TierColumn {
  readonly workflow: string;
  readonly tier: Tier;
}

/**
 * What happens to a call of `contract` at `tier` once a policy permits it: the answer of
 * `applyTier` (policy/decide.ts) to the contract's effect and its risk as the workspace raises it
 * (`withRaisedRisk`), plus what loading or deciding refuses outright. `compensations` are the tools
 * other contracts name as their undo.
 */
export function tierMeaning(contract: TierInput, tier: Tier, compensations: ReadonlySet<string>): string {
  const t = withRaisedRisk(contract, compensations);
  if (t.risk === 'critical') return 'never (critical risk)';
  if (tier === 'execute-high') {
    const gaps = executeHighGaps(t);
    if (gaps.length > 0) return `not listable: needs ${gaps.map((g) => `\`${g}\``).join(' and ')}`;
  }
  const outcome = applyTier(tier, t, undefined);
  const explicit = EXPLICIT_PERMIT_EFFECTS.includes(t.effect) ? ', by a permit naming it' : '';
  switch (outcome.kind) {
    case 'suggest':
      return 'suggested only, never runs';
    case 'allow':
      return `runs${explicit}`;
    case 'approval':
      return `${outcome.level === 'step-up' ? 'step-up: two approvers' : outcome.level === 'reauth' ? 'one approver, freshly signed in' : 'one approval'}${explicit}`;
  }
}

/**
 * A plain-text table, one row per contract: name, effect, risk (raised where the workspace raises
 * it), and what a call means in each column's workflow; then a line on what the table assumes.
 */
export function renderTierTable(contracts: readonly TierInput[], columns: readonly TierColumn[], compensations: ReadonlySet<string>): string[] {
  const head = ['tool', 'effect', 'risk', ...columns.map((c) => `at ${c.tier} (${c.workflow})`)];
  const rows = contracts.map((c) => {
    const risk = withRaisedRisk(c, compensations).risk;
    return [c.name, c.effect, risk === c.risk ? risk : `${risk} (${c.risk}, irreversible)`, ...columns.map((col) => tierMeaning(c, col.tier, compensations))];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [
    line(head),
    ...rows.map(line),
    'Once a policy permits the call: deny by default until one does, and a permit\'s `@approval` can only add approvals.',
  ];
}
