// Approval lifecycle events as webhooks carry them: the event names and what each says (never the arguments).
import type { ApprovalRecord } from '../../store/store.js';
import type { JsonObject } from '../../types.js';
import { summaryHash } from './rules.js';

/** Approval lifecycle events, as webhooks carry them. */
export type ApprovalEvent = 'approval.requested' | 'approval.decided' | 'approval.expired' | 'approval.escalated' | 'approval.withdrawn';

/** Queues a notification (webhooks); never throws for delivery problems. */
export type Notify = (event: ApprovalEvent, data: JsonObject) => Promise<void>;

/** What a webhook says about an approval: ids, tool, state, routing; never the arguments (fetch them, authenticated). */
export function approvalEventData(a: ApprovalRecord): JsonObject {
  return {
    approvalId: a.id,
    runId: a.runId,
    workflow: a.workflow,
    tool: a.tool,
    level: a.level,
    status: a.status,
    requester: a.requester,
    assignee: a.assignee,
    escalations: a.escalations,
    expiresAt: a.expiresAt,
    summaryHash: summaryHash(a),
    votes: a.decisions.map((d) => ({ approver: d.approver, decision: d.decision, time: d.time })),
    ...(a.supersededBy ? { supersededBy: a.supersededBy } : {}),
    ...(a.editedFrom ? { editedFrom: a.editedFrom } : {}),
  };
}

