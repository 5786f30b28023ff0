// The wait for a person, as telemetry: an `await_approval` span in the run's trace and the wait-time
// histogram. A pause can outlive the process that began it, so the span is recorded when the wait
// ends (decided, edited, expired, withdrawn), with its real start (the approval's creation) and as a
// child of the span that asked (the approval's stored traceparent).
import type { ApprovalRecord } from '../store/store.js';
import { AIRLOCK, GEN_AI } from './attributes.js';
import type { Metrics } from './metrics.js';
import { contextFromTraceparent, recordSpan } from './spans.js';

/** Records the wait for `approval`, which left `pending` at `at`. */
export function approvalWaitEnded(approval: ApprovalRecord, at: Date, metrics?: Metrics): void {
  const startTime = new Date(approval.createdAt);
  metrics?.observeApprovalWait(approval.status, (at.getTime() - startTime.getTime()) / 1000);
  recordSpan('await_approval', {
    parent: contextFromTraceparent(approval.traceparent),
    startTime,
    endTime: at,
    attributes: {
      [AIRLOCK.approvalId]: approval.id,
      [AIRLOCK.approvalStatus]: approval.status,
      [AIRLOCK.approvalLevel]: approval.level,
      [AIRLOCK.runId]: approval.runId,
      [AIRLOCK.workflow]: approval.workflow,
      [GEN_AI.toolName]: approval.tool,
    },
  });
}
