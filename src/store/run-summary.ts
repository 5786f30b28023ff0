// A run's line in the runs list from its row's summary columns, as both stores read them back.
import type { RunId, RunStatus } from '../types.js';
import type { RunSummary } from './store.js';

/** The summary columns of a run's row (the cost and the person it acts for as far as the store could tell). */
export interface SummaryColumns {
  readonly id: string;
  readonly workflow: string;
  readonly status: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly on_behalf_of: unknown;
  readonly cost_micros: unknown;
  readonly currency: unknown;
}

/** The summary: a cost that is no finite number counts as 0, a person or currency that is no string as none. */
export function runSummaryOf(r: SummaryColumns): RunSummary {
  return {
    id: r.id as RunId,
    workflow: r.workflow,
    status: r.status as RunStatus,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    onBehalfOf: typeof r.on_behalf_of === 'string' ? r.on_behalf_of : null,
    costMicros: typeof r.cost_micros === 'number' && Number.isFinite(r.cost_micros) ? r.cost_micros : 0,
    currency: typeof r.currency === 'string' ? r.currency : null,
  };
}
