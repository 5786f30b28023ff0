// What the approval path measures for the pilot: per approver, how often they approve and how long
// they take (a rubber stamp approves everything in seconds); overall, overrides (edits and
// rejections), escalations, expiries, and standing-grant uses counted apart from approvals. Pure, but for the
// readers of the newest approvals and grants it counts.
import { readNewest } from '../../store/newest-page.js';
import type { ApprovalRecord, GrantRecord, Store } from '../../store/store.js';

export interface ApproverStats {
  readonly approver: string;
  readonly votes: number;
  readonly approvals: number;
  readonly rejections: number;
  /** Approvals / votes (0..1). */
  readonly approveRate: number;
  /** Seconds from the request to this person's vote: median and 90th percentile. */
  readonly medianDecisionSeconds: number;
  readonly p90DecisionSeconds: number;
  /** Votes with a written justification or reason. */
  readonly justified: number;
}

export interface ApprovalStats {
  readonly requested: number;
  readonly byStatus: Readonly<Record<string, number>>;
  /** Human overrides of the agent: approver edits plus rejections. */
  readonly overrides: { readonly edited: number; readonly rejected: number };
  readonly escalations: number;
  readonly grants: { readonly issued: number; readonly uses: number };
  readonly approvers: readonly ApproverStats[];
}

/** The most approvals (and grants) the statistics read: the newest, a page at a time (a store's whole history is unbounded). */
export const STATS_APPROVALS = 10_000;

/** The newest `max` approvals, newest first, read a page at a time. */
export function newestApprovals(store: Pick<Store, 'pageApprovals'>, max = STATS_APPROVALS): Promise<ApprovalRecord[]> {
  return readNewest((q) => store.pageApprovals(q), max);
}

/** The newest `max` grants, newest first, read a page at a time. */
export function newestGrants(store: Pick<Store, 'pageGrants'>, max = STATS_APPROVALS): Promise<GrantRecord[]> {
  return readNewest((q) => store.pageGrants(q), max);
}

/** The statistics of the newest approvals and grants in `store` (optionally one workflow's). */
export async function storeApprovalStats(store: Pick<Store, 'pageApprovals' | 'pageGrants'>, workflow?: string): Promise<ApprovalStats> {
  return approvalStats(await newestApprovals(store), await newestGrants(store), workflow);
}

/** Aggregates approvals and grants (optionally one workflow's). */
export function approvalStats(approvals: readonly ApprovalRecord[], grants: readonly GrantRecord[], workflow?: string): ApprovalStats {
  const list = workflow ? approvals.filter((a) => a.workflow === workflow) : approvals;
  const gs = workflow ? grants.filter((g) => g.workflow === workflow) : grants;
  const byStatus: Record<string, number> = {};
  const per = new Map<string, { votes: number; approvals: number; rejections: number; justified: number; seconds: number[] }>();
  let escalations = 0;
  for (const a of list) {
    byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    escalations += a.escalations;
    for (const v of a.decisions) {
      const p = per.get(v.approver) ?? { votes: 0, approvals: 0, rejections: 0, justified: 0, seconds: [] };
      p.votes++;
      if (v.decision === 'approve') p.approvals++;
      else p.rejections++;
      if (v.reason) p.justified++;
      p.seconds.push(Math.max(0, (Date.parse(v.time) - Date.parse(a.createdAt)) / 1000));
      per.set(v.approver, p);
    }
  }
  const approvers = [...per.entries()]
    .map(([approver, p]) => ({
      approver,
      votes: p.votes,
      approvals: p.approvals,
      rejections: p.rejections,
      approveRate: p.votes === 0 ? 0 : p.approvals / p.votes,
      medianDecisionSeconds: quantile(p.seconds, 0.5),
      p90DecisionSeconds: quantile(p.seconds, 0.9),
      justified: p.justified,
    }))
    .sort((a, b) => b.votes - a.votes || (a.approver < b.approver ? -1 : 1));
  return {
    requested: list.length,
    byStatus,
    overrides: { edited: byStatus['edited'] ?? 0, rejected: byStatus['rejected'] ?? 0 },
    escalations,
    grants: { issued: gs.length, uses: gs.reduce((n, g) => n + g.uses, 0) },
    approvers,
  };
}

/** The q-quantile by nearest rank (0 for no values). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
