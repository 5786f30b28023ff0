// What a pilot's KPIs are computed from, read off the store: each run of a workflow started in a window
// (its summary: status, times, who it acted for, model cost; never its sealed state), with its approvals
// and incidents read a page of runs at a time. Paged: no query reads more than a page of runs at once.
import type { ApprovalRecord, IncidentRecord, RunSummary, Store } from '../store/store.js';
import { TERMINAL_RUN_STATUSES, type RunId } from '../types.js';
import type { ApprovalFact, RunFact } from './kpis.js';

/** Runs read per page (and named per list of their approvals and incidents). */
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
    const page = (await store.listRunSummaries({ workflow, since: from, until, ...(after ? { after } : {}), limit: PAGE })).slice(0, MAX_RUNS - facts.length);
    const runIds = page.map((r) => r.id);
    const approvals = group(await store.listApprovals({ runIds }));
    const incidents = group(await store.listIncidents({ runIds }));
    for (const run of page) facts.push(factOf(run, approvals.get(run.id) ?? [], incidents.get(run.id) ?? []));
    if (facts.length >= MAX_RUNS) return { facts, truncated: true };
    if (page.length < PAGE) return { facts, truncated: false };
    const last = page[page.length - 1] as RunSummary;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

/** Records by their run. */
function group<T extends { readonly runId: RunId }>(records: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of records) {
    const list = out.get(r.runId);
    if (list) list.push(r);
    else out.set(r.runId, [r]);
  }
  return out;
}

function factOf(run: RunSummary, approvals: readonly ApprovalRecord[], incidents: readonly IncidentRecord[]): RunFact {
  const byId = new Map(approvals.map((a) => [a.id, a]));
  return {
    id: run.id,
    createdAt: run.createdAt,
    endedAt: TERMINAL_RUN_STATUSES.includes(run.status) ? run.updatedAt : null,
    status: run.status,
    onBehalfOf: run.onBehalfOf,
    approvals: approvals.map((a): ApprovalFact => {
      const rejection = a.decisions.find((d) => d.decision === 'reject');
      // An edit is recorded on the approval that replaced this one (an approval of the same run).
      const editedBy = a.status === 'edited' && a.supersededBy ? byId.get(a.supersededBy)?.editedBy ?? null : null;
      return {
        id: a.id,
        tool: a.tool,
        requestedAt: a.createdAt,
        decidedAt: a.decisions[0]?.time ?? null,
        outcome: a.status === 'consumed' ? 'approved' : a.status,
        by: a.status === 'edited' ? editedBy : a.status === 'rejected' ? rejection?.approver ?? null : null,
        reason: a.status === 'rejected' ? rejection?.reason ?? null : null,
      };
    }),
    incidents: incidents.map((i) => ({ kind: i.kind, openedAt: i.createdAt, open: i.status === 'open' })),
    costMicros: run.costMicros,
    currency: run.currency,
  };
}
