// The public API of the `airlock` package (`import { ... } from 'airlock'`): what embedders and the SDK use, each name chosen.

// ---- opening a workspace -------------------------------------------------------------------------

/** Loads and validates a workspace, compiles its policies, opens its store; close the result when done. */
export { openAirlock } from './airlock.js';
/** An opened workspace: its store, gateway, sessions, approvals and notifier, and `close()`. */
export type { Airlock } from './airlock.js';
/** Options of `openAirlock`: the clock and, for tests, the model routing. */
export type { OpenOptions } from './airlock.js';
/** Loads and checks a workspace and compiles its policies without opening its store (what `airlock validate` does). */
export { loadAndCompile } from './airlock.js';

// ---- governing in-process tools (the SDK) --------------------------------------------------------

/** A decision point in the same process as the Airlock: one run per decision point. */
export { localDecisionPoint } from './sdk/local.js';
/** Options of `localDecisionPoint`: the agent, and optionally the workflow and on whose behalf it acts. */
export type { LocalDecisionPointOptions } from './sdk/local.js';
/** A decision point against `airlock serve` over the HTTP API (bearer API key or JWT). */
export { remoteDecisionPoint } from './sdk/remote.js';
/** Options of `remoteDecisionPoint`: the server's URL, the agent's bearer token, the workflow, fetch and timeout. */
export type { RemoteDecisionPointOptions } from './sdk/remote.js';
/** Where an in-process tool asks before it runs and reports after; both decision points implement it. */
export type { DecisionPoint } from './sdk/decision-point.js';
/** Airlock's answer to one proposed call: a grant, or a refusal (a value, never an exception). */
export type { AuthorizeResult } from './sdk/decision-point.js';
/** Options of `DecisionPoint.authorize`: the agent's stated reason. */
export type { AuthorizeOptions } from './sdk/decision-point.js';
/** What an allowed call carries into execution and back into the report: the run and the exact action. */
export type { Grant } from './sdk/decision-point.js';
/** A call Airlock did not allow, with the message a model is told. */
export type { Refusal } from './sdk/decision-point.js';
/** Why a call did not run: `denied`, `invalid`, `pending`, `suggested`, `refused` or `error`. */
export type { RefusalStatus } from './sdk/decision-point.js';
/** What happened when the caller executed a granted call: `ok` with its result, or `error`. */
export type { ReportedOutcome } from './sdk/decision-point.js';
/** Whether a report reached the audit trail. */
export type { ReportResult } from './sdk/decision-point.js';
/** How the run ended when a decision point was closed. */
export type { CloseResult } from './sdk/decision-point.js';
/** Wraps any function so that Airlock decides each call before it runs and records its outcome after. */
export { governTool } from './sdk/govern.js';
/** A governed function: the same arguments, and a value that says whether it ran. */
export type { GovernedTool } from './sdk/govern.js';
/** What a governed call returns: the function's value, or the refusal saying why it did not run. */
export type { Governed } from './sdk/govern.js';
/** Governs an OpenAI Agents SDK `FunctionTool` (wraps its `invoke`). */
export { governOpenAIAgentsTool } from './sdk/adapters/openai-agents.js';
/** The slice of an OpenAI Agents SDK `FunctionTool` that `governOpenAIAgentsTool` needs. */
export type { AgentsFunctionToolLike } from './sdk/adapters/openai-agents.js';
/** Options of `governOpenAIAgentsTool`: `as`, the contract name when it differs from the function's. */
export type { GovernAgentsToolOptions } from './sdk/adapters/openai-agents.js';
/** Governs a Vercel AI SDK tool (wraps its `execute`). */
export { governVercelAITool } from './sdk/adapters/vercel-ai.js';
/** The slice of a Vercel AI SDK tool that `governVercelAITool` needs. */
export type { AiToolLike } from './sdk/adapters/vercel-ai.js';
/** The tool `governVercelAITool` returns: the same tool, its `execute` governed. */
export type { GovernedAiTool } from './sdk/adapters/vercel-ai.js';

// ---- deciding approvals in process ---------------------------------------------------------------

/** Records one person's approve or reject of a pending approval (eligibility by policy; refusals are values). */
export { vote } from './gateway/approvals/vote.js';
/** An approver vouched for by the local OS account, as the CLI's `--as` does. */
export { localApprover } from './gateway/approvals/vote.js';
/** A person deciding, with how they proved who they are. */
export type { Approver } from './gateway/approvals/vote.js';
/** How an approver authenticated: issuer, subject, method, and when. */
export type { ApproverAuth } from './policy/approver.js';
/** What came of a vote: recorded (and whether that decided the approval), or refused and why. */
export type { VoteOutcome } from './gateway/approvals/vote.js';
/** Approval lifecycle events, as webhooks carry them. */
export type { ApprovalEvent } from './gateway/approvals/events.js';
/** A stored approval: the exact action it binds to, its level, status, deadline and votes. */
export type { ApprovalRecord } from './store/store.js';

// ---- webhooks ------------------------------------------------------------------------------------

/** Checks an approval webhook's `Airlock-Signature` (HMAC and timestamp window); the result is a value, never a throw. */
export { verifyWebhookSignature } from './notify/signature.js';
/** The `Airlock-Signature` header Airlock sends for a body (to test a receiver). */
export { signWebhook } from './notify/signature.js';
/** What `verifyWebhookSignature` checks: the secret(s), the `Airlock-Signature` header, the raw body, the clock. */
export type { VerifyWebhookInput } from './notify/signature.js';
/** The result of `verifyWebhookSignature`: ok, or why not. */
export type { SignatureCheck } from './notify/signature.js';
/** Why a webhook signature was rejected: `malformed`, `expired`, `future` or `mismatch`. */
export type { SignatureFailure } from './notify/signature.js';

// ---- errors --------------------------------------------------------------------------------------

/** The one error Airlock throws (bad input, infrastructure faults), with a string `code` and a `retryable` flag. */
export { AirlockError } from './errors.js';
/** Several problems found at once (a workspace with three mistakes reports all three). */
export { AirlockErrors } from './errors.js';
/** An error as compilers print it: `file:line:col: message` and a hint. */
export { formatError } from './errors.js';
/** The codes an `AirlockError` carries, e.g. `config`, `input`, `not-found`, `connector-timeout`. */
export type { ErrorCode } from './errors.js';

// ---- the domain values an embedder receives ------------------------------------------------------

/** The policy boundary's outcome for one proposed action: allow, deny, approval (with its level) or suggest. */
export type { Decision } from './types.js';
/** Why a decision came out as it did: policy ids, reasons and the policy-set hash. */
export type { Basis } from './types.js';
/** The approval a decision asks for: `single`, `reauth` or `step-up`. */
export type { ApprovalLevel } from './types.js';
/** A declared user, agent or service, with its roles. */
export type { Principal } from './types.js';
/** A run's status, e.g. `completed`, `verified`, `unverified`, `awaiting-approval`. */
export type { RunStatus } from './types.js';
/** A run's id (a branded string). */
export type { RunId } from './types.js';
/** An approval's id (a branded string). */
export type { ApprovalId } from './types.js';
/** A JSON value, as arguments and results are recorded. */
export type { Json } from './types.js';
/** A JSON object. */
export type { JsonObject } from './types.js';
