// The MCP door: an MCP server whose tools are the workspace's governed tools. Every tools/call goes
// through the same sessions and gateway as Airlock's own agent loop (one decision point).
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Airlock } from '../airlock.js';
import type { WorkflowConfig } from '../config/schema.js';
import type { JsonObject, Principal, RunId } from '../types.js';
import type { SessionCallResult, SessionRefusal } from '../orchestration/sessions.js';
import { toResult } from '../orchestration/results.js';

/** JSON-RPC error codes for refusals before the gateway (server-defined range -32000..-32099). */
export const MCP_REFUSAL_CODES: Readonly<Record<SessionRefusal['status'], number>> = {
  403: -32003,
  404: -32004,
  409: -32009,
  429: -32029,
};

/** Who an MCP session belongs to: proven by authentication (HTTP) or configuration (stdio). */
export interface McpBinding {
  readonly principal: Principal;
  readonly onBehalfOf?: Principal | undefined;
  readonly workflow: WorkflowConfig;
  readonly runId: RunId;
}

/** A JSON-RPC error for a refusal (not your run, budget, limits). */
export function refusalError(r: SessionRefusal): McpError {
  return new McpError(MCP_REFUSAL_CODES[r.status], r.reason, { airlock: { status: r.status } });
}

/** Turns an outcome into an MCP tool result: executed → content; anything else → isError with why. */
export function toCallToolResult(outcome: Exclude<SessionCallResult, SessionRefusal>): CallToolResult {
  const { status, content } = toResult(outcome);
  if (outcome.kind === 'executed') {
    const structured = content !== null && typeof content === 'object' && !Array.isArray(content) ? (content as Record<string, unknown>) : undefined;
    return {
      content: [{ type: 'text', text: JSON.stringify(content) }],
      ...(structured ? { structuredContent: structured } : {}),
      _meta: {
        'airlock/actionHash': outcome.actionHash,
        'airlock/verification': outcome.verification ? outcome.verification.outcome.status : null,
      },
    };
  }
  const text =
    outcome.kind === 'pending-approval'
      ? `approval required (${outcome.level}): approval ${outcome.approvalId}. ${outcome.decision.basis.reasons.join('; ')}. ` +
        'Nothing was executed. Once a person approves it, call this tool again with exactly the same arguments and it executes once.'
      : outcome.kind === 'denied'
        ? `denied by Airlock: ${outcome.reasons.join('; ')}${outcome.policyIds.length > 0 ? ` (policies: ${outcome.policyIds.join(', ')})` : ''}`
        : outcome.kind === 'invalid'
          ? `invalid arguments: ${outcome.errors.join('; ')}`
          : outcome.kind === 'suggested'
            ? 'recorded as a suggestion for a person; not executed at this autonomy tier'
            : outcome.kind === 'failed'
              ? `the tool failed: ${outcome.message}`
              : 'authorized';
  return {
    isError: true,
    content: [{ type: 'text', text }],
    structuredContent: { airlock: { status, ...(content as JsonObject) } },
  };
}

/** An MCP server bound to one principal's run: lists the tools it may see, governs each call. */
export function createGovernedMcpServer(airlock: Airlock, binding: McpBinding): Server {
  const server = new Server(
    { name: 'airlock', version: '0.1.0', title: `Airlock: ${binding.workflow.name}` },
    {
      capabilities: { tools: { listChanged: false } },
      instructions:
        `Tools of workflow ${binding.workflow.name}, governed by Airlock: every call is decided by policy, ` +
        'may need a person to approve it, and is audited. A denied call says why; do not try to work around it.',
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    const run = await airlock.sessions.owned(binding.runId, binding.principal);
    if ('kind' in run) throw refusalError(run);
    return {
      tools: airlock.sessions.tools(binding.workflow, binding.principal).map((t) => ({
        name: t.name,
        description: t.description,
        inputSchema: t.inputSchema as { type: 'object' },
      })),
    };
  });
  server.setRequestHandler(CallToolRequestSchema, async (req) => {
    const outcome = await airlock.sessions.call(binding.runId, binding.principal, {
      tool: req.params.name,
      args: (req.params.arguments ?? {}) as JsonObject,
    });
    if (outcome.kind === 'refused') throw refusalError(outcome);
    return toCallToolResult(outcome);
  });
  return server;
}
