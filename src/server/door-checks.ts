// What every MCP door checks in a parsed JSON-RPC body before the SDK sees it: bounded shape,
// calls counted against the principal's rate, tool calls well-formed. Pure but for the rate limiter (the store's count).
import { CallToolRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { requestProblem } from '../util/json.js';
import type { CallRate } from './limits.js';
import { MCP_REFUSAL_CODES } from './mcp.js';

/** Why a door refuses a message: what the audit record says, and the JSON-RPC error (with an HTTP status). */
export interface DoorRefusal {
  readonly why: 'malformed' | 'rate-limit';
  readonly status: 400 | 429;
  readonly code: number;
  /** For the caller. */
  readonly message: string;
  /** For the audit record. */
  readonly reason: string;
}

/** How many messages of `method` (one name, or any of several) a JSON-RPC message or batch holds. A shallow look. */
export function countMethod(body: unknown, method: string | ReadonlySet<string>): number {
  const one = (m: unknown) => {
    const name = typeof m === 'object' && m !== null ? (m as { method?: unknown }).method : undefined;
    return typeof name === 'string' && (typeof method === 'string' ? name === method : method.has(name));
  };
  return Array.isArray(body) ? body.filter(one).length : one(body) ? 1 : 0;
}

/**
 * The MCP methods that reach an upstream or the gateway, each counted against `callsPerMinute`:
 * tool calls, resource reads and prompts (governed actions), and the listings that ask upstreams.
 */
export const RATED_METHODS: ReadonlySet<string> = new Set(['tools/call', 'resources/read', 'prompts/get', 'resources/list']);

/** Why a JSON-RPC message (or batch) holds a malformed tools/call, or null. */
export function malformedToolCall(body: unknown): string | null {
  for (const m of Array.isArray(body) ? body : [body]) {
    if (typeof m !== 'object' || m === null || (m as { method?: unknown }).method !== 'tools/call') continue;
    // The SDK's schema would refuse it without Airlock seeing it; refused (and audited) here instead.
    const parsed = CallToolRequestSchema.safeParse(m);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return `${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'does not match the MCP schema'}`;
    }
  }
  return null;
}

/**
 * Screens one parsed body at an MCP door, in order: its calls fit the principal's rate (every
 * rated method counts, each of a batch, all or none; checked first because it is a shallow look),
 * its shape is bounded (no `__proto__` key, no absurd nesting), and, with `toolCalls`, each tool call
 * is well-formed. Null when it may pass.
 */
export async function screenMcpBody(
  body: unknown,
  opts: { readonly rate: CallRate; readonly who: string; readonly nowMs: number; readonly perMinute: number; readonly toolCalls: boolean },
): Promise<DoorRefusal | null> {
  const calls = countMethod(body, RATED_METHODS);
  if (calls > 0 && !(await opts.rate.take(opts.who, opts.nowMs, calls))) {
    return {
      why: 'rate-limit',
      status: 429,
      code: MCP_REFUSAL_CODES[429],
      message: `rate limit: at most ${opts.perMinute} tool calls per minute for ${opts.who}`,
      reason: `more than ${opts.perMinute} calls per minute (${calls} in this request)`,
    };
  }
  const bad = requestProblem(body);
  if (bad) {
    const reason = `${bad.path || 'the body'}: ${bad.message}`;
    return { why: 'malformed', status: 400, code: bad.code === 'forbidden_key' ? -32602 : -32600, message: `invalid request: ${reason}`, reason };
  }
  const malformed = opts.toolCalls ? malformedToolCall(body) : null;
  if (malformed) return { why: 'malformed', status: 400, code: -32602, message: `invalid tools/call: ${malformed}`, reason: malformed };
  return null;
}
