// The Airlock SDK for in-process tools: ask Airlock before a tool runs, report after; the same
// decisions, approvals and audit as the MCP and HTTP doors. See examples/sdk-agent/README.md.
export type {
  AuthorizeOptions,
  AuthorizeResult,
  CloseResult,
  DecisionPoint,
  Grant,
  Refusal,
  RefusalStatus,
  ReportedOutcome,
  ReportResult,
} from './decision-point.js';
export { localDecisionPoint, type LocalDecisionPointOptions } from './local.js';
export { remoteDecisionPoint, type RemoteDecisionPointOptions } from './remote.js';
export { governTool, type Governed, type GovernedTool } from './govern.js';
export { governOpenAIAgentsTool, type AgentsFunctionToolLike, type GovernAgentsToolOptions } from './adapters/openai-agents.js';
export { governVercelAITool, type AiToolLike, type GovernedAiTool } from './adapters/vercel-ai.js';
export { openAirlock, type Airlock, type OpenOptions } from '../airlock.js';
export { signWebhook, verifyWebhookSignature, type SignatureCheck, type SignatureFailure, type VerifyWebhookInput } from '../notify/signature.js';
