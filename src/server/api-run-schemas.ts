// The wire contract of the API's run routes, what agents send and get: open a run, propose actions, ask for decisions, report outcomes, see a run.
// The routes (api-run-routes.ts) validate with these schemas and the OpenAPI document (openapi.ts) is generated from them.
import { z } from 'zod';
import { level, runId, sha256, toolName, workflowName } from './api-common-schemas.js';

const actionHash = sha256.describe('SHA-256 of the canonical (tool, arguments, run, requester): what an approval binds to.');
const reasons = z.array(z.string()).describe('Why, in words, from the policies and the tier rules.');

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

// ---- responses -------------------------------------------------------------------------------

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
  usage: z
    .object({
      toolCalls: z.number().int(),
      modelCalls: z.number().int(),
      inputTokens: z.number().int(),
      outputTokens: z.number().int(),
      cost: z.number().nullable().describe("In `currency`, from the route's price table; null when no turn was priced."),
      currency: z.string().nullable(),
    })
    .describe("What the run used: tool calls, and Airlock's own model turns with their tokens and cost (zero for an external agent, whose model is its own)."),
  verifications: z.array(z.object({ callId: z.string(), tool: z.string(), status: z.enum(['passed', 'failed', 'error']) })),
  pendingApprovals: z.array(z.string()),
  history: z.array(z.object({ callId: z.string(), tool: z.string(), status: z.string() })).describe('Each call and what came of it.'),
  final: z.object({ text: z.string(), claim: z.enum(['done', 'gave-up']) }).nullable(),
  reason: z.string().nullable(),
  incidents: z
    .array(z.object({ incidentId: z.string(), kind: z.string(), status: z.enum(['open', 'resolved']), title: z.string(), owner: z.string().nullable() }))
    .describe('Incidents of the run: a "done" that ground truth contradicts, a failed rollback, repeated policy violations.'),
});

export type OpenRunRequestBody = z.infer<typeof OpenRunRequest>;
export type ActionRequestBody = z.infer<typeof ActionRequest>;
export type OutcomeRequestBody = z.infer<typeof OutcomeRequest>;
