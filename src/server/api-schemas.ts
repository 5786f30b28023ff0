// The HTTP JSON API's wire contract: zod schemas for every request and response, and the route table.
// The routes validate with these schemas and the OpenAPI document (openapi.ts) is generated from them.
import { z } from 'zod';
import { APPROVAL_LEVELS, APPROVAL_STATUSES } from '../types.js';

/** Run and approval ids as Airlock hands them out (`run_...`, `apr_...`); generous, never a path or a space. */
const id = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'expected an id of letters, digits, `_` and `-`');
const runId = id.describe('A run id, as returned by `POST /runs` or `POST /actions`.');
const workflowName = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected a workflow name').max(128);
const toolName = z.string().min(1).max(200).describe('A tool name from the workflow, e.g. `payments.refund`.');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');
const actionHash = sha256.describe('SHA-256 of the canonical (tool, arguments, run, requester): what an approval binds to.');
const reasons = z.array(z.string()).describe('Why, in words, from the policies and the tier rules.');
const approvalStatus = z.enum(APPROVAL_STATUSES);
const level = z
  .enum(APPROVAL_LEVELS)
  .describe('`single`: one eligible person; `reauth`: one eligible person who re-authenticated recently; `step-up`: two different eligible people.');

// ---- requests (strict: an unknown field, such as a claimed `principal`, is refused) --------------

/** `POST /runs`. */
export const OpenRunRequest = z
  .strictObject({
    workflow: workflowName.optional().describe('The workflow to run; optional when the agent drives exactly one.'),
  })
  .describe('Opens a run for the authenticated agent. The principal is what the credential proves; a body cannot name one.');

/** `POST /actions` and `POST /decisions`. */
export const ActionRequest = z
  .strictObject({
    runId: runId.optional().describe('The run to act in; when absent, a run is opened first and its id returned.'),
    workflow: workflowName.optional().describe('With no `runId`: the workflow of the run to open (optional when the agent drives one).'),
    tool: toolName,
    arguments: z.record(z.string(), z.unknown()).describe("The tool's arguments, checked against its reviewed input schema."),
    reasoning: z.string().max(2000).optional().describe('Why the agent proposes this, recorded for reviewers.'),
  })
  .describe('A proposed tool call. The requester is the authenticated principal; a body cannot name one.');

/** `POST /decisions`: the same shape as an action; only the mode differs (the caller executes). */
export const DecisionRequest = ActionRequest.describe(
  'A proposed tool call the caller will execute itself if allowed (API gateways, services, in-process tools).',
);

/** `POST /outcomes`. */
export const OutcomeRequest = z
  .strictObject({
    runId,
    actionHash,
    outcome: z.enum(['ok', 'error']),
    result: z.unknown().optional().describe('What the tool returned (stored apart from the audit chain, by hash).'),
    message: z.string().max(2000).optional().describe('An error message, for `outcome: error`.'),
  })
  .describe('What happened to an action the caller executed itself after `POST /decisions` allowed it.');

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

/** `GET /approvals` query. */
export const ApprovalsQuery = z.strictObject({
  status: approvalStatus.optional().describe('Only approvals in this status (default `pending`).'),
  runId: runId.optional().describe('Only approvals of this run.'),
});

// ---- responses -------------------------------------------------------------------------------

/** Every refusal: lowercase `error`, advice in `hint`, and where relevant the issues or the place in the body. */
export const ErrorResponse = z.object({
  error: z.string(),
  hint: z.string().optional(),
  runId: z.string().optional(),
  issues: z
    .array(z.object({ path: z.string().describe('Where in the body, e.g. `arguments.amount_cents` (empty: the body itself).'), code: z.string(), message: z.string() }))
    .optional()
    .describe('For 422: each problem with the request body.'),
  where: z
    .object({ position: z.number().int(), line: z.number().int(), column: z.number().int() })
    .optional()
    .describe('For 400: where in the body the JSON broke.'),
});

export const ToolViewSchema = z.object({
  name: z.string(),
  description: z.string(),
  inputSchema: z.record(z.string(), z.unknown()).describe("The reviewed contract's JSON Schema."),
});

/** `POST /runs` → 201. */
export const RunOpened = z.object({
  runId: z.string(),
  workflow: z.string(),
  tier: z.string(),
  tools: z.array(ToolViewSchema).describe('The tools this agent may use in this run, as their reviewed contracts describe them.'),
});

const Verification = z.object({
  probe: z.string().describe('The read tool that checked ground truth.'),
  status: z.enum(['passed', 'failed', 'error']),
  checked: z.number().int().optional(),
  mismatches: z.array(z.object({ path: z.string(), expected: z.unknown(), observed: z.unknown() })).optional(),
  message: z.string().optional(),
});

export const ActionExecuted = z.object({
  runId: z.string(),
  outcome: z.literal('executed'),
  result: z.unknown().describe("The tool's result."),
  actionHash,
  approvalId: z.string().nullable(),
  grantId: z.string().optional().describe('The standing grant that stood in for an approval, if one did.'),
  revisedArguments: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('When an approver edited the action: the arguments that were executed instead of the proposed ones.'),
  verification: Verification.nullable().describe("The contract's probe of ground truth, when it declares one."),
});

export const ActionDenied = z.object({
  runId: z.string(),
  outcome: z.literal('denied'),
  error: z.string(),
  reasons,
  policyIds: z.array(z.string()).describe('The policies that decided (empty for deny by default).'),
  actionHash: actionHash.nullable(),
});

export const ActionInvalid = z.object({
  runId: z.string(),
  outcome: z.literal('invalid'),
  error: z.string(),
  errors: z.array(z.string()).describe("Each way the arguments break the tool's input schema."),
});

const FollowUp = z.object({
  approval: z.string().describe('Where to see the approval, e.g. `GET /v1/approvals/apr_...`.'),
  then: z.string().describe('What to do once it is approved.'),
});

/** What a pending approval says through either route (actions, decisions). */
const pendingFields = {
  runId: z.string(),
  approvalId: z.string(),
  level,
  reasons,
  actionHash,
  expiresAt: z.string().optional(),
  next: FollowUp,
};

export const ActionPending = z.object({ ...pendingFields, outcome: z.literal('pending-approval') });

export const ActionSuggested = z.object({
  runId: z.string(),
  outcome: z.literal('suggested'),
  actionHash,
  note: z.string(),
});

export const ActionFailed = z.object({
  runId: z.string(),
  outcome: z.literal('failed'),
  error: z.string(),
  failure: z.string().describe('`tool-error`, or a crash or time-out that leaves the effect unknown.'),
  message: z.string(),
  actionHash,
  advice: z.string().optional(),
});

export const DecisionAllow = z.object({
  runId: z.string(),
  decision: z.literal('allow'),
  actionHash,
  approvalId: z.string().nullable(),
  idempotencyKey: z
    .string()
    .optional()
    .describe("For a tool whose contract names an idempotency-key argument: send this value in it, so a retry never repeats the effect."),
  next: z.string(),
});

export const DecisionPending = z.object({ ...pendingFields, decision: z.literal('approval-required') });

export const DecisionRefused = z.object({
  runId: z.string(),
  decision: z.enum(['deny', 'suggest', 'invalid']).describe('`suggest`: the tier records it for a person; do not execute.'),
  error: z.string(),
  reasons: z.array(z.string()),
  policyIds: z.array(z.string()),
  actionHash: actionHash.nullable(),
});

export const OutcomeRecorded = z.object({
  runId: z.string(),
  actionHash,
  recorded: z.literal(true),
});

export const RunView = z.object({
  runId: z.string(),
  workflow: z.string(),
  status: z.enum(['queued', 'running', 'awaiting-approval', 'completed', 'verified', 'unverified', 'failed', 'cancelled']),
  door: z.string().nullable().describe('How an external agent drives it (`http-api`, `mcp-http`, ...); null for Airlock\'s own runs.'),
  agent: z.string(),
  onBehalfOf: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  steps: z.number().int(),
  verifications: z.array(z.object({ callId: z.string(), tool: z.string(), status: z.enum(['passed', 'failed', 'error']) })),
  pendingApprovals: z.array(z.string()),
  history: z.array(z.object({ callId: z.string(), tool: z.string(), status: z.string() })).describe('Each call and what came of it.'),
  final: z.object({ text: z.string(), claim: z.enum(['done', 'gave-up']) }).nullable(),
  reason: z.string().nullable(),
  incidents: z
    .array(z.object({ incidentId: z.string(), kind: z.string(), status: z.enum(['open', 'resolved']), title: z.string(), owner: z.string().nullable() }))
    .describe('Incidents of the run: a "done" that ground truth contradicts, a failed rollback, repeated policy violations.'),
});

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

export const GrantList = z.object({ grants: z.array(GrantView) });

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

export const ApprovalList = z.object({ approvals: z.array(ApprovalView) });

export const VoteRecorded = z.object({
  approval: ApprovalView,
  replaced: ApprovalView.optional().describe('With an edit: the approval of what the agent proposed, now `edited`.'),
  decided: z.boolean(),
  run: z
    .object({ runId: z.string(), status: z.string(), resumed: z.boolean(), resumeError: z.string().optional() })
    .describe("The approval's run; Airlock's own runs resume as soon as the approval is decided."),
  next: z.string().optional(),
});

/** Every named schema, as it appears under `components.schemas` in the OpenAPI document. */
export const API_SCHEMAS = {
  OpenRunRequest,
  ActionRequest,
  DecisionRequest,
  OutcomeRequest,
  ApproveRequest,
  RejectRequest,
  ErrorResponse,
  ToolView: ToolViewSchema,
  RunOpened,
  ActionExecuted,
  ActionDenied,
  ActionInvalid,
  ActionPending,
  ActionSuggested,
  ActionFailed,
  DecisionAllow,
  DecisionPending,
  DecisionRefused,
  OutcomeRecorded,
  RunView,
  ApprovalView,
  ApprovalList,
  VoteRecorded,
  GrantRequest,
  GrantView,
  GrantList,
  ApprovalStats,
} as const;

export type ApiSchemaName = keyof typeof API_SCHEMAS;

/** One documented response: a description and the schema(s) of its JSON body. */
export interface ResponseDoc {
  readonly description: string;
  readonly schemas: readonly ApiSchemaName[];
}

/** One route of the API as documented (paths relative to the `/v1` mount point, OpenAPI style). */
export interface RouteDoc {
  readonly method: 'get' | 'post';
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  /** Who may call it, in words. */
  readonly callers: 'agents' | 'people' | 'agents and people';
  readonly body?: ApiSchemaName;
  readonly bodyRequired?: boolean;
  readonly query?: z.ZodObject;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}

const err = (description: string): ResponseDoc => ({ description, schemas: ['ErrorResponse'] });
const SESSION_REFUSALS = {
  403: err('not this agent\'s workflow or run, or the run acts for someone else'),
  404: err('no such run or workflow'),
  409: err('the run is no longer running, or the agent drives several workflows and named none'),
  429: err('a budget of the run is exhausted, too many calls at once in the run, or over the per-principal calls-per-minute limit (see Retry-After)'),
} as const;

/** The route table: what exists, who may call it, and every status it answers with. */
export const API_ROUTES: readonly RouteDoc[] = [
  {
    method: 'post',
    path: '/runs',
    operationId: 'openRun',
    summary: 'Open a run for the authenticated agent',
    callers: 'agents',
    body: 'OpenRunRequest',
    bodyRequired: false,
    responses: { 201: { description: 'the run is open', schemas: ['RunOpened'] }, 403: SESSION_REFUSALS[403], 404: SESSION_REFUSALS[404], 409: SESSION_REFUSALS[409] },
  },
  {
    method: 'post',
    path: '/actions',
    operationId: 'proposeAction',
    summary: 'Propose a tool call; Airlock decides and, when allowed, executes it',
    description:
      'Without `runId` a run is opened first. A call that needs a person answers 202 with an approval id: ' +
      'once approved, POST exactly the same action (same `runId`, `tool` and `arguments`) again and it executes once.',
    callers: 'agents',
    body: 'ActionRequest',
    responses: {
      200: { description: 'executed (with its verification), or recorded as a suggestion at this tier', schemas: ['ActionExecuted', 'ActionSuggested'] },
      202: { description: 'a person must approve it first; nothing was executed', schemas: ['ActionPending'] },
      403: { description: 'denied by policy, or refused before the gateway (not your run)', schemas: ['ActionDenied', 'ErrorResponse'] },
      404: SESSION_REFUSALS[404],
      409: SESSION_REFUSALS[409],
      422: { description: "the request body, or the arguments against the tool's schema, are invalid", schemas: ['ActionInvalid', 'ErrorResponse'] },
      429: SESSION_REFUSALS[429],
      502: { description: 'the tool failed; the effect may be unknown', schemas: ['ActionFailed'] },
    },
  },
  {
    method: 'post',
    path: '/decisions',
    operationId: 'decideAction',
    summary: 'Ask whether a tool call may run, for callers that execute it themselves',
    description: 'An allowed action is recorded as authorized (once); execute it, then report what happened with `POST /outcomes`.',
    callers: 'agents',
    body: 'DecisionRequest',
    responses: {
      200: { description: 'allowed: execute exactly this action, once', schemas: ['DecisionAllow'] },
      202: { description: 'a person must approve it first', schemas: ['DecisionPending'] },
      403: { description: 'denied, or only a suggestion at this tier: do not execute', schemas: ['DecisionRefused', 'ErrorResponse'] },
      404: SESSION_REFUSALS[404],
      409: SESSION_REFUSALS[409],
      422: { description: 'invalid request body or arguments', schemas: ['DecisionRefused', 'ErrorResponse'] },
      429: SESSION_REFUSALS[429],
    },
  },
  {
    method: 'post',
    path: '/outcomes',
    operationId: 'reportOutcome',
    summary: 'Report the outcome of an action the caller executed after it was allowed',
    callers: 'agents',
    body: 'OutcomeRequest',
    responses: {
      200: { description: 'recorded in the audit trail as the caller\'s word', schemas: ['OutcomeRecorded'] },
      403: SESSION_REFUSALS[403],
      404: SESSION_REFUSALS[404],
      409: err('the action was not authorized in this run, or its outcome was already reported, or the run is over'),
      422: err('invalid request body'),
    },
  },
  {
    method: 'get',
    path: '/runs/{runId}',
    operationId: 'getRun',
    summary: 'A run: status, steps, verifications and what came of each call',
    callers: 'agents and people',
    description: 'Only the run\'s own agent, or a person.',
    responses: { 200: { description: 'the run', schemas: ['RunView'] }, 403: err('not your run'), 404: err('no such run') },
  },
  {
    method: 'post',
    path: '/runs/{runId}/close',
    operationId: 'closeRun',
    summary: 'End a run: verified when every probe passed, unverified when one failed',
    callers: 'agents',
    responses: { 200: { description: 'the closed run', schemas: ['RunView'] }, 403: SESSION_REFUSALS[403], 404: SESSION_REFUSALS[404], 409: SESSION_REFUSALS[409] },
  },
  {
    method: 'get',
    path: '/approvals',
    operationId: 'listApprovals',
    summary: 'Approvals, pending ones by default',
    callers: 'people',
    query: ApprovalsQuery,
    responses: { 200: { description: 'the approvals, oldest first', schemas: ['ApprovalList'] }, 403: err('only people see approvals'), 422: err('invalid query') },
  },
  {
    method: 'get',
    path: '/approvals/{approvalId}',
    operationId: 'getApproval',
    summary: 'One approval and its votes',
    callers: 'agents and people',
    description: 'People, and the agent that requested it (to follow up on a pending action).',
    responses: { 200: { description: 'the approval', schemas: ['ApprovalView'] }, 403: err('not a person, nor its requester'), 404: err('no such approval') },
  },
  {
    method: 'post',
    path: '/approvals/{approvalId}/approve',
    operationId: 'approve',
    summary: 'Approve a pending action (people only; never the requester)',
    callers: 'people',
    body: 'ApproveRequest',
    bodyRequired: false,
    responses: {
      200: { description: 'the vote is recorded; Airlock\'s own runs resume once it is decided', schemas: ['VoteRecorded'] },
      403: err(
        'not eligible by policy (`approve` action); agents, services, the requester and the person the agent acts for can never approve; one person cannot vote twice; a `reauth` approval needs a fresh identity-provider login; an edit that policy denies',
      ),
      404: err('no such approval'),
      409: err('the approval is no longer pending, has expired, or was replaced by an edit'),
      422: err('a justification is missing (high risk, step-up, re-authentication, edits), or the edited arguments are invalid'),
    },
  },
  {
    method: 'post',
    path: '/approvals/{approvalId}/reject',
    operationId: 'reject',
    summary: 'Reject a pending action, with a reason that goes back to the agent',
    callers: 'people',
    body: 'RejectRequest',
    responses: {
      200: { description: 'rejected; Airlock\'s own runs resume and hear why', schemas: ['VoteRecorded'] },
      403: err('not eligible by policy; agents, services, the requester and the person the agent acts for can never decide'),
      404: err('no such approval'),
      409: err('the approval is no longer pending, has expired, or was replaced by an edit'),
      422: err('the reason is missing'),
    },
  },
  {
    method: 'get',
    path: '/grants',
    operationId: 'listGrants',
    summary: 'Standing grants (scoped, time-boxed pre-approvals), oldest first',
    callers: 'people',
    responses: { 200: { description: 'the grants', schemas: ['GrantList'] }, 403: err('only people see grants') },
  },
  {
    method: 'post',
    path: '/grants',
    operationId: 'createGrant',
    summary: 'Pre-approve a kind of action for a while (decided by `grant` policies, audited)',
    description: 'A grant stands in for one person\'s approval of actions within its bounds (never for step-up); each use is re-checked against the grantor\'s `approve` eligibility and counted.',
    callers: 'people',
    body: 'GrantRequest',
    responses: {
      201: { description: 'granted', schemas: ['GrantView'] },
      403: err('policy does not let this person grant it, or the caller is not a person'),
      422: err('invalid grant: unknown workflow or tool, a bound on an argument the tool does not expose, a bad duration'),
    },
  },
  {
    method: 'post',
    path: '/grants/{grantId}/revoke',
    operationId: 'revokeGrant',
    summary: 'End a standing grant now (its grantor, or someone policy lets grant the same)',
    callers: 'people',
    body: 'RejectRequest',
    responses: {
      200: { description: 'revoked', schemas: ['GrantView'] },
      403: err('neither the grantor nor allowed to grant it'),
      404: err('no such grant'),
      409: err('already revoked'),
      422: err('the reason is missing'),
    },
  },
  {
    method: 'get',
    path: '/approval-stats',
    operationId: 'approvalStats',
    summary: 'Per-approver approve rate and decision time, overrides, escalations, standing-grant uses',
    callers: 'people',
    responses: { 200: { description: 'the statistics (optionally `?workflow=`)', schemas: ['ApprovalStats'] }, 403: err('only people') },
  },
];

export type OpenRunRequestBody = z.infer<typeof OpenRunRequest>;
export type ActionRequestBody = z.infer<typeof ActionRequest>;
export type OutcomeRequestBody = z.infer<typeof OutcomeRequest>;
