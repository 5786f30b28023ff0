// The one way Airlock reaches an upstream: a contract's tool call, resource read or prompt, through
// its connector, under its upstream name, with its timeout and retry rule (reads may be retried once
// on a healthy connection, writes never). Executions and ground-truth probes alike; a probe (a read
// Airlock makes for its own checks, not the agent's) is audited as such.
import type { ToolContract, Workspace } from '../config/schema.js';
import type { AuditSubject, AuditWriter } from '../audit/writer.js';
import { rec } from '../audit/records.js';
import type { JsonObject } from '../types.js';
import type { CallOptions, ConnectorResult } from '../tools/connector.js';
import type { ConnectorPool } from '../tools/connectors/pool.js';
import { upstreamNameOf } from '../tools/import.js';
import { expandTemplate } from '../util/uri-template.js';
import type { Metrics } from '../telemetry/metrics.js';
import { withSpan } from '../telemetry/spans.js';
import { AIRLOCK, GEN_AI, MCP, OTEL } from '../telemetry/attributes.js';

/** Why Airlock reads ground truth: the purpose recorded with each probe read. */
export type ProbePurpose = 'verification' | 'second-path' | 'evidence' | 'run-check';

/** A read of ground truth made for Airlock's own checks: the declared read tool by name, for a run. */
export type ReadProbe = (name: string, args: JsonObject, purpose: ProbePurpose, subject: AuditSubject) => Promise<ConnectorResult>;

/** Upstream requests for the gateway and everything that reads ground truth. */
export class Dispatcher {
  constructor(
    private readonly deps: { readonly workspace: Workspace; readonly connectors: Pick<ConnectorPool, 'get'>; readonly audit: AuditWriter; readonly metrics?: Pick<Metrics, 'observeTool'> | undefined },
  ) {}

  /** How long a call to `contract` may take: its own timeout, else its connector's, else 10 s. */
  timeoutOf(contract: ToolContract): number {
    if (contract.timeoutMs !== undefined) return contract.timeoutMs;
    const cfg = this.deps.workspace.file.connectors[contract.connector];
    return cfg && 'timeoutMs' in cfg ? cfg.timeoutMs : 10_000;
  }

  /**
   * One upstream request as the contract says: a tool call, a resource read or a prompt. Never throws
   * for the upstream's failure. A client span per request (named and enriched per the MCP conventions
   * when the upstream is an MCP server, whose connector carries the span's traceparent in `_meta`),
   * and its latency and failure counted by connector. `caller`: who the call is for (the run's
   * principal and the person it acts for), for connectors that answer per caller.
   */
  send(contract: ToolContract, args: JsonObject, caller?: CallOptions['caller']): Promise<ConnectorResult> {
    const kind = this.deps.workspace.file.connectors[contract.connector]?.kind;
    const mcp = kind === 'mcp-stdio' || kind === 'mcp-http';
    const method = contract.resource ? 'resources/read' : contract.prompt ? 'prompts/get' : 'tools/call';
    const target = contract.resource ?? contract.prompt ?? upstreamNameOf(contract);
    const attributes = {
      [AIRLOCK.connector]: contract.connector,
      [GEN_AI.toolName]: contract.name,
      ...(mcp ? { [MCP.methodName]: method } : {}),
    };
    return withSpan(mcp ? `${method} ${target}` : `call ${contract.name}`, async (span) => {
      const started = performance.now();
      const res = await this.sendNow(contract, args, caller);
      this.deps.metrics?.observeTool(contract.name, performance.now() - started, res.ok ? null : res.failure, contract.connector);
      if (!res.ok) span.setAttribute(OTEL.errorType, res.failure);
      return res;
    }, { attributes });
  }

  private sendNow(contract: ToolContract, args: JsonObject, caller: CallOptions['caller']): Promise<ConnectorResult> {
    const connector = this.deps.connectors.get(contract.connector);
    const opts = { timeoutMs: this.timeoutOf(contract), retryable: contract.effect === 'read', ...(caller ? { caller } : {}) };
    if (contract.resource) {
      if (!connector.readResource) return Promise.resolve(unsupported(connector.name, 'resources'));
      return connector.readResource(expandTemplate(contract.resource, args), opts);
    }
    if (contract.prompt) {
      if (!connector.getPrompt) return Promise.resolve(unsupported(connector.name, 'prompts'));
      const strings: Record<string, string> = {};
      for (const [k, v] of Object.entries(args)) strings[k] = typeof v === 'string' ? v : JSON.stringify(v);
      return connector.getPrompt(contract.prompt, strings, opts);
    }
    return connector.call(upstreamNameOf(contract), args, opts);
  }

  /**
   * Reads ground truth through the declared read tool `name` (a verification, second-path, evidence
   * or run-check probe) and records the read (`probe.read`: purpose, arguments, result or failure,
   * by Airlock for the run). Never throws for the tool's failure; an undeclared or non-read probe
   * is a failure value too.
   */
  readonly probe: ReadProbe = async (name, args, purpose, subject) => {
    const contract = this.deps.workspace.tools.get(name);
    if (!contract) return { ok: false, failure: 'tool-error', message: `probe tool \`${name}\` is not declared` };
    if (contract.effect !== 'read') return { ok: false, failure: 'tool-error', message: `probe tool \`${name}\` has effect \`${contract.effect}\`: a probe only reads` };
    const res = await this.send(contract, args);
    const argsRef = this.deps.audit.payloadRef(args, contract.classification);
    const resultRef = res.ok ? this.deps.audit.payloadRef(res.content, contract.classification) : null;
    await this.deps.audit.append({ runId: subject.runId, principal: null, onBehalfOf: subject.onBehalfOf }, [
      rec(
        'probe.read',
        res.ok
          ? { probe: name, purpose, argsHash: argsRef.hash, outcome: 'ok', resultHash: resultRef?.hash }
          : { probe: name, purpose, argsHash: argsRef.hash, outcome: 'error', failure: res.failure, message: res.message.slice(0, 2000) },
        resultRef ? [argsRef, resultRef] : [argsRef],
      ),
    ]);
    return res;
  };
}

function unsupported(connector: string, what: string): ConnectorResult {
  return { ok: false, failure: 'tool-error', message: `connector \`${connector}\` does not serve ${what}` };
}
