// Every span attribute name Airlock sets, in one place: the OpenTelemetry GenAI and MCP semantic
// conventions, and Airlock's own under `airlock.`. Code sets attributes through these constants only;
// test/telemetry/attributes.test.ts fails when src/ names one that is not declared here.
//
// Stable names come from @opentelemetry/semantic-conventions. The GenAI and MCP names are still
// incubating there, and the package asks consumers to copy incubating names rather than import them
// (they may change between minor versions): they are copied below, and the test checks each copy
// against the installed package's `incubating` entry, so a rename upstream is noticed.
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** Names from the stable OpenTelemetry conventions. */
export const OTEL = {
  errorType: ATTR_ERROR_TYPE,
  serviceName: ATTR_SERVICE_NAME,
} as const;

/** The GenAI semantic conventions (incubating upstream: copied, checked by the test). */
export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  agentName: 'gen_ai.agent.name',
  agentId: 'gen_ai.agent.id',
  conversationId: 'gen_ai.conversation.id',
  requestModel: 'gen_ai.request.model',
  responseModel: 'gen_ai.response.model',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  toolName: 'gen_ai.tool.name',
  toolType: 'gen_ai.tool.type',
  toolCallId: 'gen_ai.tool.call.id',
  toolCallArguments: 'gen_ai.tool.call.arguments',
  toolCallResult: 'gen_ai.tool.call.result',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
} as const;

/** The MCP semantic conventions (incubating upstream: copied, checked by the test). */
export const MCP = {
  methodName: 'mcp.method.name',
  sessionId: 'mcp.session.id',
  protocolVersion: 'mcp.protocol.version',
} as const;

/** Airlock's own attributes. */
export const AIRLOCK = {
  runId: 'airlock.run.id',
  runStatus: 'airlock.run.status',
  runReason: 'airlock.run.reason',
  /** 1 on the span of a run that continues a trace begun in an earlier process or segment (after a pause or restart). */
  runResumed: 'airlock.run.resumed',
  workflow: 'airlock.workflow',
  tier: 'airlock.tier',
  outcome: 'airlock.outcome',
  /** The policy decision: allow, deny, approval, suggest, invalid. */
  decision: 'airlock.decision',
  policyIds: 'airlock.policy.ids',
  policySetHash: 'airlock.policy_set.hash',
  /** What the decision obliges before the action runs: none, single (one person) or step-up. */
  obligation: 'airlock.obligation',
  approvalId: 'airlock.approval.id',
  approvalStatus: 'airlock.approval.status',
  approvalLevel: 'airlock.approval.level',
  verification: 'airlock.verification',
  labelClassification: 'airlock.label.classification',
  labelTrust: 'airlock.label.trust',
  /** Injection signal kinds found in an untrusted result (context/injection.ts), and whether it was withheld. */
  injectionSignals: 'airlock.injection.signals',
  injectionQuarantined: 'airlock.injection.quarantined',
  modelRoute: 'airlock.model.route',
  modelRouteWhy: 'airlock.model.route.why',
  modelSetAside: 'airlock.model.set_aside',
  /** Cost in `airlock.cost.currency`: on leaf model-call spans, and the run's rolled-up total on its run span. */
  cost: 'airlock.cost',
  costCurrency: 'airlock.cost.currency',
  /** The run's cost so far, on its run span: the sum of its leaf `airlock.cost` values, from run state (never summed with them). */
  runCost: 'airlock.run.cost',
  incidentIds: 'airlock.incident.ids',
  connector: 'airlock.connector',
  /** Content capture (off by default): what a prompt or result held, hashed, redacted or withheld. */
  contentMode: 'airlock.content.mode',
} as const;

/** Every attribute name Airlock may set. */
export const ATTRIBUTE_NAMES: ReadonlySet<string> = new Set<string>([
  ...Object.values(OTEL),
  ...Object.values(GEN_AI),
  ...Object.values(MCP),
  ...Object.values(AIRLOCK),
]);
