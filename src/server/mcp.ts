// The MCP door: an MCP server whose tools are the workspace's governed tools. Every tools/call goes
// through the same sessions and gateway as Airlock's own agent loop (one decision point).
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  UrlElicitationRequiredError,
  type CallToolResult,
  type GetPromptResult,
  type ReadResourceResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Airlock } from '../airlock.js';
import type { WorkflowConfig } from '../config/schema.js';
import type { Json, JsonObject, Principal, RunId } from '../types.js';
import { matchTemplate } from '../util/uri-template.js';
import type { SessionCallResult, SessionRefusal } from '../orchestration/sessions.js';
import { toResult } from '../orchestration/results.js';
import { rec } from '../audit/records.js';
import { checkRefusals } from '../orchestration/incidents.js';
import { contextFromTraceparent, withSpan } from '../telemetry/spans.js';
import { runStateOf } from '../orchestration/run-state.js';
import { AIRLOCK, GEN_AI, MCP } from '../telemetry/attributes.js';

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

/** The approval's page in the console, when the server knows its public address (`server.publicUrl`). */
function approvalPage(airlock: Airlock, approvalId: string): string | null {
  const base = airlock.workspace.file.server.publicUrl;
  return base ? `${base.replace(/\/$/, '')}/console/approvals/${encodeURIComponent(approvalId)}` : null;
}

function textOf(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** An MCP server bound to one principal's run: lists the tools it may see, governs each call. */
export function createGovernedMcpServer(airlock: Airlock, binding: McpBinding): Server {
  const server = new Server(
    { name: 'airlock', version: '0.1.0', title: `Airlock: ${binding.workflow.name}` },
    {
      capabilities: { tools: { listChanged: false }, resources: {}, prompts: {} },
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
  // The run's own trace (begun when the session opened), read once.
  let runTrace: Promise<string | undefined> | undefined;
  const runTraceparent = () =>
    (runTrace ??= airlock.store.getRun(binding.runId).then(
      (r) => (r ? runStateOf(r).trace?.traceparent : undefined),
      () => undefined,
    ));
  // The MCP server span of each call (MCP semantic conventions): under the client's span when its `_meta` carries a `traceparent`, else in the run's trace.
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) =>
    withSpan(
      `tools/call ${req.params.name}`,
      async () => {
        const outcome = await airlock.sessions.call(binding.runId, binding.principal, {
          tool: req.params.name,
          args: (req.params.arguments ?? {}) as JsonObject,
        });
        if (outcome.kind === 'refused') throw refusalError(outcome);
        // A client that can open a URL for its user is pointed to the approval page (MCP URL-mode
        // elicitation): the call cannot go on until a person decides there; then it is called again.
        const page = outcome.kind === 'pending-approval' ? approvalPage(airlock, outcome.approvalId) : null;
        if (page && outcome.kind === 'pending-approval' && server.getClientCapabilities()?.elicitation?.url) {
          const text = textOf(toCallToolResult(outcome));
          throw new UrlElicitationRequiredError([{ mode: 'url', elicitationId: outcome.approvalId, url: page, message: `A person must approve ${req.params.name} before it runs (${outcome.level}). Open the approval to decide, or pass it to someone who may; then call the tool again with the same arguments.` }], text);
        }
        return toCallToolResult(outcome);
      },
      {
        parent: contextFromTraceparent(req.params._meta?.['traceparent'], contextFromTraceparent(await runTraceparent())),
        attributes: {
          [MCP.methodName]: 'tools/call',
          [GEN_AI.toolName]: req.params.name,
          [GEN_AI.operationName]: 'execute_tool',
          [AIRLOCK.runId]: binding.runId,
          ...(extra.sessionId ? { [MCP.sessionId]: extra.sessionId } : {}),
        },
      },
    ),
  );

  // Resources and prompts go through the same decision point: reading a classified resource is an action.
  const owned = async () => {
    const run = await airlock.sessions.owned(binding.runId, binding.principal);
    if ('kind' in run) throw refusalError(run);
  };
  const visible = () => airlock.sessions.visibleContracts(binding.workflow, binding.principal);
  /** Runs a resource read or prompt through the gateway; anything but execution is a JSON-RPC error saying why. */
  const governed = async (tool: string, args: JsonObject): Promise<Json> => {
    const outcome = await airlock.sessions.call(binding.runId, binding.principal, { tool, args });
    if (outcome.kind === 'refused') throw refusalError(outcome);
    if (outcome.kind === 'executed') return outcome.result;
    const why = toCallToolResult(outcome).content[0];
    throw new McpError(ErrorCode.InvalidRequest, why && why.type === 'text' ? why.text : outcome.kind, { airlock: toResult(outcome).content });
  };

  server.setRequestHandler(ListResourcesRequestSchema, async () => {
    await owned();
    const resources: { uri: string; name: string; description?: string; mimeType?: string }[] = [];
    for (const c of visible()) {
      if (!c.resource) continue;
      const connector = airlock.connectors.get(c.connector);
      const listed = connector.listResources ? await connector.listResources() : [];
      for (const r of listed) {
        if (matchTemplate(c.resource, r.uri)) {
          resources.push({ uri: r.uri, name: r.name, description: c.description, ...(r.mimeType ? { mimeType: r.mimeType } : {}) });
        }
      }
    }
    return { resources };
  });
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => {
    await owned();
    return {
      resourceTemplates: visible()
        .filter((c) => c.resource)
        .map((c) => ({ uriTemplate: c.resource as string, name: c.name, description: c.description })),
    };
  });
  server.setRequestHandler(ReadResourceRequestSchema, async (req) => {
    await owned();
    // The contract is found by the URI; a URI no contract of this workflow covers is unreachable.
    for (const name of binding.workflow.tools) {
      const c = airlock.workspace.tools.get(name);
      const args = c?.resource ? matchTemplate(c.resource, req.params.uri) : null;
      if (c && args) {
        const result = (await governed(c.name, args)) as { contents?: unknown };
        return { contents: (Array.isArray(result?.contents) ? result.contents : []) as ReadResourceResult['contents'] };
      }
    }
    await airlock.audit.append({ runId: binding.runId, principal: binding.principal }, [
      rec('action.not-executed', { resource: req.params.uri.slice(0, 500), why: 'unknown-tool', reasons: ['no resource contract of this workflow covers this URI (deny by default)'] }),
    ]);
    await checkRefusals(airlock, binding.runId);
    throw new McpError(ErrorCode.InvalidParams, `resource \`${req.params.uri.slice(0, 200)}\` is not declared for workflow \`${binding.workflow.name}\` (deny by default)`);
  });
  server.setRequestHandler(ListPromptsRequestSchema, async () => {
    await owned();
    return {
      prompts: visible()
        .filter((c) => c.prompt)
        .map((c) => {
          const schema = c.inputSchema as { properties?: Record<string, { description?: string }>; required?: string[] };
          return {
            name: c.name,
            description: c.description,
            arguments: Object.entries(schema.properties ?? {}).map(([arg, p]) => ({
              name: arg,
              ...(p.description ? { description: p.description } : {}),
              required: (schema.required ?? []).includes(arg),
            })),
          };
        }),
    };
  });
  server.setRequestHandler(GetPromptRequestSchema, async (req) => {
    await owned();
    const c = airlock.workspace.tools.get(req.params.name);
    if (!c?.prompt || !binding.workflow.tools.includes(c.name)) {
      await airlock.audit.append({ runId: binding.runId, principal: binding.principal }, [
        rec('action.not-executed', { prompt: req.params.name.slice(0, 200), why: 'unknown-tool', reasons: ['no prompt contract of this workflow has this name (deny by default)'] }),
      ]);
      await checkRefusals(airlock, binding.runId);
      throw new McpError(ErrorCode.InvalidParams, `prompt \`${req.params.name.slice(0, 200)}\` is not declared for workflow \`${binding.workflow.name}\` (deny by default)`);
    }
    const result = (await governed(req.params.name, (req.params.arguments ?? {}) as JsonObject)) as { description?: string; messages?: unknown };
    return {
      ...(typeof result?.description === 'string' ? { description: result.description } : {}),
      messages: (Array.isArray(result?.messages) ? result.messages : []) as GetPromptResult['messages'],
    };
  });
  return server;
}
