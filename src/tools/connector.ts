// The connector seam: how the gateway reaches a real system (an MCP server over stdio or HTTP, an HTTP API, the caller's own process).
import type { Classification, Json, JsonObject } from '../types.js';

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

/** How one upstream request is made. */
export interface CallOptions {
  /** How long the upstream has to answer. */
  readonly timeoutMs: number;
  /**
   * The request may run twice (the gateway sets it for contracts whose effect is `read`): a call
   * lost only because its connection was discarded under it (another call on it timed out, or it
   * crashed while an older call was running) is retried once on a healthy connection. Never set
   * for writes: their outcome stays unknown. Default false.
   */
  readonly retryable?: boolean;
  /**
   * Who the call is made for: the acting principal (`kind:id`) and the person it acts for, if any. Set
   * by the gateway for connectors that answer per caller (`context`: search under the caller's
   * entitlements); a connector that needs it and finds none refuses the call.
   */
  readonly caller?: {
    readonly principal: string;
    readonly onBehalfOf: string | null;
    /** The most sensitive content the run has read before this call (what a query it wrote may carry). */
    readonly classification?: Classification;
  };
}

/** One real system as the gateway reaches it; the pool hands out each one with its results normalised. */
export interface Connector {
  readonly name: string;
  /** Calls one upstream tool; never throws for a tool or transport failure, returns it. */
  call(tool: string, args: { readonly [k: string]: Json }, opts: CallOptions): Promise<ConnectorResult>;
  listTools(): Promise<readonly UpstreamTool[]>;
  /** MCP upstreams: reads one resource (result content `{ contents }`). */
  readResource?(uri: string, opts: CallOptions): Promise<ConnectorResult>;
  /** MCP upstreams: renders one prompt (result content `{ description?, messages }`). */
  getPrompt?(name: string, args: Readonly<Record<string, string>>, opts: CallOptions): Promise<ConnectorResult>;
  listResources?(): Promise<readonly UpstreamResource[]>;
  close(): Promise<void>;
}
