// The wire contract of the API's approval routes, what people send and get: approvals and votes, standing grants, approval statistics.
// The routes (api-approval-routes.ts) validate with these schemas and the OpenAPI document (openapi.ts) is generated from them.
import { z } from 'zod';
import { APPROVAL_STATUSES } from '../types.js';
import { approvalId, grantId, level, runId, sha256, toolName, workflowName } from './api-common-schemas.js';

const approvalStatus = z.enum(APPROVAL_STATUSES);

// ---- requests (strict: an unknown field is refused) --------------------------------------------

/** `POST /approvals/{approvalId}/approve`. */
export const ApproveRequest = z.strictObject({
  reason: z
    .string()
    .min(1)
    .max(2000)
    .optional()
    .describe('The justification, for the audit trail; required for high-risk, step-up and re-authentication approvals, and for edits.'),
  arguments: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      'Approve an edited action instead: these arguments replace the proposed ones. It is a new action, decided again by policy (it may need more approvers), recorded as an override.',
    ),
});

/** `POST /grants`. */
export const GrantRequest = z.strictObject({
  workflow: workflowName,
  tool: toolName,
  bounds: z
    .record(
      z.string().min(1).max(100),
      z.union([z.strictObject({ max: z.number().int() }), z.strictObject({ equals: z.union([z.string().max(500), z.number(), z.boolean()]) })]),
    )
    .default({})
    .describe('Bounds on exposed arguments: `{ "amount_cents": { "max": 2000 }, "currency": { "equals": "EUR" } }`.'),
  durationMinutes: z.number().int().min(1).max(7 * 24 * 60).describe('How long the grant lasts (at most a week).'),
  maxUses: z.number().int().min(1).optional().describe('At most this many uses.'),
  reason: z.string().min(1).max(2000).describe('Why, recorded.'),
});

/** `POST /approvals/{approvalId}/reject`. */
export const RejectRequest = z.strictObject({
  reason: z.string().min(1).max(2000).describe('Why; it goes back to the agent.'),
});

/** `limit` of a list read a page at a time, newest first. */
const pageSize = z
  .string()
  .regex(/^[1-9][0-9]{0,3}$/, 'expected a whole number from 1 to 1000')
  .refine((v) => Number(v) <= 1000, 'expected a whole number from 1 to 1000')
  .optional()
  .describe('At most this many, newest first (default 100, at most 1000).');

/** `GET /approvals` query. */
export const ApprovalsQuery = z.strictObject({
  status: approvalStatus.optional().describe('Only approvals in this status (default `pending`).'),
  runId: runId.optional().describe('Only approvals of this run.'),
  limit: pageSize,
  before: approvalId.optional().describe('The page after this approval: the `next` of the page before.'),
});

/** `GET /grants`. */
export const GrantsQuery = z.strictObject({
  status: z.enum(['active', 'revoked']).optional().describe('Only grants in this status (`active` ones may have expired: see `expiresAt`).'),
  limit: pageSize,
  before: grantId.optional().describe('The page after this grant: the `next` of the page before.'),
});

// ---- responses -------------------------------------------------------------------------------

export const ApprovalView = z.object({
  approvalId: z.string(),
  runId: z.string(),
  tool: z.string(),
  requester: z.string(),
  level,
  status: approvalStatus,
  createdAt: z.string(),
  expiresAt: z.string(),
  needed: z.number().int().describe('Approving votes it needs from different people.'),
  votes: z.array(
    z.object({
      approver: z.string(),
      decision: z.enum(['approve', 'reject']),
      reason: z.string().nullable(),
      time: z.string(),
      issuer: z.string().nullable().describe('Who vouched for the approver: the JWT issuer, `airlock` (API key), `local:<host>` (CLI).'),
      subject: z.string().nullable(),
      authMethod: z.string().nullable().describe('How the approver authenticated: `jwt`, `api-key`, `local`, with the JWT `amr` values.'),
      authTime: z.string().nullable().describe('When the approver last authenticated, when the credential says.'),
      summaryHash: z.string().nullable().describe('SHA-256 of the summary the approver was shown.'),
    }),
  ),
  summary: z.unknown().describe('What the approver is shown: tool, arguments, effect, risk, reasons, labels, and the evidence bundle.'),
  summaryHash: sha256.describe('SHA-256 of `summary`: each vote records the hash of what its approver saw.'),
  assignee: z.string().nullable().describe('The owner it is routed to now.'),
  escalations: z.number().int(),
  editedFrom: z.string().nullable().describe('The approval this one replaced when an approver edited the arguments.'),
  supersededBy: z.string().nullable().describe('The approval of the edited action that replaced this one.'),
  consumedAt: z.string().nullable().describe('When the execution it authorised used it (single use).'),
});

export const GrantView = z.object({
  grantId: z.string(),
  id: z.string(),
  workflow: z.string(),
  tool: z.string(),
  bounds: z.record(z.string(), z.object({ max: z.number().optional(), equals: z.union([z.string(), z.number(), z.boolean()]).optional() })),
  grantor: z.string(),
  grantorAuth: z.unknown(),
  reason: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  maxUses: z.number().int().nullable(),
  uses: z.number().int(),
  status: z.enum(['active', 'revoked']),
  policyIds: z.array(z.string()),
});

export const GrantList = z.object({
  grants: z.array(GrantView).describe('Newest first.'),
  next: z.string().nullable().describe('Pass as `before` for the next page; null on the last.'),
});

export const ApprovalStats = z.object({
  requested: z.number().int(),
  byStatus: z.record(z.string(), z.number().int()),
  overrides: z.object({ edited: z.number().int(), rejected: z.number().int() }),
  escalations: z.number().int(),
  grants: z.object({ issued: z.number().int(), uses: z.number().int() }),
  approvers: z.array(
    z.object({
      approver: z.string(),
      votes: z.number().int(),
      approvals: z.number().int(),
      rejections: z.number().int(),
      approveRate: z.number(),
      medianDecisionSeconds: z.number(),
      p90DecisionSeconds: z.number(),
      justified: z.number().int(),
    }),
  ),
});

export const ApprovalList = z.object({
  approvals: z.array(ApprovalView).describe('Newest first: those in the page you may see.'),
  next: z.string().nullable().describe('Pass as `before` for the next page; null on the last.'),
});

export const VoteRecorded = z.object({
  approval: ApprovalView,
  replaced: ApprovalView.optional().describe('With an edit: the approval of what the agent proposed, now `edited`.'),
  decided: z.boolean(),
  run: z
    .object({ runId: z.string(), status: z.string(), resumed: z.boolean(), resumeError: z.string().optional() })
    .describe("The approval's run; Airlock's own runs resume as soon as the approval is decided."),
  next: z.string().optional(),
});
