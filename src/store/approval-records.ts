// Approvals as the store keeps them: the action a person is asked about, the votes cast on it, and what
// a compare-and-set on one expects and may change (`Store.updateApproval`).
import type { ApprovalId, ApprovalLevel, ApprovalStatus, Json, RunId, Sha256Hex } from '../types.js';

export interface ApprovalRecord {
  readonly id: ApprovalId;
  readonly runId: RunId;
  readonly actionHash: Sha256Hex;
  readonly tool: string;
  readonly requester: string;
  readonly level: ApprovalLevel;
  readonly status: ApprovalStatus;
  readonly createdAt: string;
  /** The final deadline: past it the approval is expired and the step denied. */
  readonly expiresAt: string;
  /** What the approver is shown: tool, arguments, reasons, evidence. Its hash is recorded with each vote. */
  readonly summary: Json;
  readonly decisions: readonly ApprovalVote[];
  /** The workflow of the run (escalation follows its owners). */
  readonly workflow: string;
  /** The owner it is routed to now (a workflow owner's contact), or null when nobody is named. */
  readonly assignee: string | null;
  /** How many times it escalated to the next owner. */
  readonly escalations: number;
  /** When it escalates next if still pending; null when there is nobody left to escalate to. */
  readonly escalateAt: string | null;
  /** The approval this one replaced when an approver edited the arguments. */
  readonly editedFrom: ApprovalId | null;
  /** `user:<id>` who edited the arguments into this action: like the requester, they cannot approve it. */
  readonly editedBy: string | null;
  /** The approval of the edited action that replaced this one (status `edited`). */
  readonly supersededBy: ApprovalId | null;
  /** When the execution it authorised consumed it (single use). */
  readonly consumedAt: string | null;
  /** The W3C traceparent of the span that asked (the run's trace), so the wait for a person is recorded in that trace when it ends. */
  readonly traceparent?: string;
}

/** One person's decision on an approval, with how they proved who they are and what they saw. */
export interface ApprovalVote {
  /** `user:<id>`, the declared principal. */
  readonly approver: string;
  readonly decision: 'approve' | 'reject';
  /** The justification (approve) or the reason that goes back to the agent (reject). */
  readonly reason: string | null;
  readonly time: string;
  /** Who vouched for the approver: the JWT issuer, `airlock` for API keys, `local` for the CLI. */
  readonly issuer: string | null;
  /** The subject that issuer named (the JWT `sub`, the API key id, the OS user). */
  readonly subject: string | null;
  /** How the approver authenticated: `jwt`, `api-key`, `local`, plus the JWT's `amr` values. */
  readonly authMethod: string | null;
  /** When the approver last authenticated (ISO-8601), when known. */
  readonly authTime: string | null;
  /** SHA-256 of the summary (with its evidence) the approver was shown. */
  readonly summaryHash: string | null;
}

/** What `updateApproval` expects to find: a status, or a status and the number of votes already cast. */
export type ApprovalExpectation =
  | ApprovalStatus
  | { readonly status: ApprovalStatus; readonly votes: number; readonly escalations?: number };

/** The fields `updateApproval` may change; the rest of an approval never changes. */
export interface ApprovalUpdate {
  readonly status: ApprovalStatus;
  readonly decisions?: readonly ApprovalVote[];
  readonly assignee?: string | null;
  readonly escalations?: number;
  readonly escalateAt?: string | null;
  readonly supersededBy?: ApprovalId | null;
  readonly consumedAt?: string | null;
}
