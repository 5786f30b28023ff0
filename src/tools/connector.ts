// The connector seam: how the gateway reaches a real system. MCP over stdio today; HTTP and built-ins later.
import type { Json, JsonObject } from '../types.js';

/** What a connector call produced. Failures are values: the gateway audits them and tells the agent. */
export type ConnectorResult =
  | { readonly ok: true; readonly content: Json; readonly text: string }
  | {
      readonly ok: false;
      /** `tool-error`: the system refused (a domain rule); the others are infrastructure faults. */
      readonly failure: 'tool-error' | 'timeout' | 'crash' | 'protocol';
      readonly message: string;
    };

/** A tool as the upstream system describes it (data, never instructions). */
export interface UpstreamTool {
  readonly name: string;
  readonly description: string;
  readonly inputSchema: Json;
  /**
   * MCP tool annotations (`readOnlyHint`, `destructiveHint`, `idempotentHint`, `openWorldHint`, `title`)
   * exactly as the upstream sent them: unverified claims, never a basis for trust.
   */
  readonly annotations?: JsonObject;
  /** The upstream's JSON Schema of its structured result, when it declares one. */
  readonly outputSchema?: Json;
}

/** A resource as the upstream lists it (data, never instructions). */
export interface UpstreamResource {
  readonly uri: string;
  readonly name: string;
  readonly description: string;
  readonly mimeType?: string;
}

export interface Connector {
  readonly name: string;
  /** Calls one upstream tool; never throws for a tool or transport failure, returns it. */
  call(tool: string, args: { readonly [k: string]: Json }, opts: { timeoutMs: number }): Promise<ConnectorResult>;
  listTools(): Promise<readonly UpstreamTool[]>;
  /** MCP upstreams: reads one resource (result content `{ contents }`). */
  readResource?(uri: string, opts: { timeoutMs: number }): Promise<ConnectorResult>;
  /** MCP upstreams: renders one prompt (result content `{ description?, messages }`). */
  getPrompt?(name: string, args: Readonly<Record<string, string>>, opts: { timeoutMs: number }): Promise<ConnectorResult>;
  listResources?(): Promise<readonly UpstreamResource[]>;
  close(): Promise<void>;
}
