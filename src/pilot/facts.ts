// What a pilot's KPIs are computed from, read off the store: each run of a workflow started in a window,
// with its approvals, incidents and model cost. Paged: no query reads more than a page of runs at once.
import type { RunRecord, Store } from '../store/store.js';
import { TERMINAL_RUN_STATUSES } from '../types.js';
import type { ApprovalFact, RunFact } from './kpis.js';

/** Runs read per page. */
const PAGE = 500;
/** The most runs one report reads (a window holding more is cut at its newest this many, and says so). */
export const MAX_RUNS = 200_000;

/** The facts of the runs of `workflow` started in [from, to), newest first; `truncated` when more than `MAX_RUNS`. */
export async function runFacts(store: Store, workflow: string, from: string, to: string): Promise<{ facts: RunFact[]; truncated: boolean }> {
  const facts: RunFact[] = [];
  // `until` is inclusive; the window's end is not.
  const until = new Date(Date.parse(to) - 1).toISOString();
  let after: { createdAt: string; id: string } | undefined;
  for (;;) {
    const page = await store.listRuns({ workflow, since: from, until, ...(after ? { after } : {}), limit: PAGE });
    for (const run of page) {
      if (run.createdAt >= to) continue;
      facts.push(await factOf(store, run));
      if (facts.length >= MAX_RUNS) return { facts, truncated: true };
    }
    if (page.length < PAGE) return { facts, truncated: false };
    const last = page[page.length - 1] as RunRecord;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

async function factOf(store: Store, run: RunRecord): Promise<RunFact> {
  const state = (run.state ?? {}) as { onBehalfOf?: unknown; usage?: { costMicros?: unknown; currency?: unknown } };
  const approvals = await store.listApprovals({ runId: run.id });
  const incidents = await store.listIncidents({ runId: run.id });
  return {
    id: run.id,
    createdAt: run.createdAt,
    endedAt: TERMINAL_RUN_STATUSES.includes(run.status) ? run.updatedAt : null,
    status: run.status,
    onBehalfOf: typeof state.onBehalfOf === 'string' ? state.onBehalfOf : null,
    approvals: await Promise.all(approvals.map(async (a): Promise<ApprovalFact> => {
      const rejection = a.decisions.find((d) => d.decision === 'reject');
      // An edit is recorded on the approval that replaced this one.
      const editedBy = a.status === 'edited' && a.supersededBy ? (await store.getApproval(a.supersededBy))?.editedBy ?? null : null;
      return {
        id: a.id,
        tool: a.tool,
        requestedAt: a.createdAt,
        decidedAt: a.decisions[0]?.time ?? null,
        outcome: a.status === 'consumed' ? 'approved' : a.status,
        by: a.status === 'edited' ? editedBy : a.status === 'rejected' ? rejection?.approver ?? null : null,
        reason: a.status === 'rejected' ? rejection?.reason ?? null : null,
      };
    })),
    incidents: incidents.map((i) => ({ kind: i.kind, openedAt: i.createdAt, open: i.status === 'open' })),
    costMicros: typeof state.usage?.costMicros === 'number' ? state.usage.costMicros : 0,
    currency: typeof state.usage?.currency === 'string' ? state.usage.currency : null,
  };
}
