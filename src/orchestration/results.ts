// What an agent is told about each gateway outcome: the same words whether it is Airlock's model or an external agent.
import type { Json, JsonObject } from '../types.js';
import { canonicalJson, sha256Hex } from '../util/hash.js';
import { jsonProblem } from '../util/json.js';
import type { GatewayOutcome } from '../gateway/types.js';
import type { ToolResultStatus } from './model.js';

/** What the model is told about an outcome. Denials carry their reasons so the agent can change course. */
export function toResult(outcome: GatewayOutcome): { status: ToolResultStatus; content: Json } {
  switch (outcome.kind) {
    case 'executed':
      // The agent hears that a person changed what it proposed, and to what.
      return outcome.revisedArgs
        ? { status: 'ok', content: { editedByApprover: { executedArguments: outcome.revisedArgs }, result: outcome.result } }
        : { status: 'ok', content: outcome.result };
    case 'denied':
      // A halt is people stopping everything in a scope, not a policy's answer to this call: retrying changes nothing until they resume it.
      if (outcome.halt) return { status: 'denied', content: { error: 'halted', reasons: [...outcome.reasons], next: 'a person stopped this scope; nothing was executed; do not retry until an owner resumes it' } };
      return { status: 'denied', content: { error: 'denied by policy', reasons: [...outcome.reasons], policies: [...outcome.policyIds] } };
    case 'invalid':
      return { status: 'invalid', content: { error: 'invalid arguments', problems: [...outcome.errors] } };
    case 'suggested':
      return { status: 'suggested', content: { note: 'recorded as a suggestion for a human; not executed at this autonomy tier' } };
    case 'failed':
      // A crash or time-out after the call was sent leaves the effect unknown: say so, so the agent does not retry blindly.
      return {
        status: 'failed',
        content:
          outcome.failure === 'tool-error'
            ? { error: outcome.message }
            : { error: outcome.message, outcome: 'unknown', advice: 'the effect may or may not have happened; check before retrying' },
      };
    case 'authorized':
      return {
        status: 'ok',
        content: { authorized: true, actionHash: outcome.actionHash, approvalId: outcome.approvalId, ...(outcome.idempotencyKey ? { idempotencyKey: outcome.idempotencyKey } : {}) },
      };
    case 'pending-approval':
      return {
        status: 'pending',
        content: {
          pending: 'approval required',
          approvalId: outcome.approvalId,
          level: outcome.level,
          reasons: [...outcome.decision.basis.reasons],
          next: 'a person must approve it; call again with exactly the same arguments once approved, and it executes once',
        },
      };
  }
}

/**
 * Arguments as a run's state keeps them: as they are when they are JSON Airlock accepts (and, with
 * `maxChars`, no longer than that as text); else a note (`$invalid`, or `truncated` with size and
 * hash). INVARIANT: nothing a request carries reaches the store unvalidated; the audit trail keeps
 * what the gateway accepted, whole.
 */
export function storableArgs(args: unknown, maxChars = Infinity): JsonObject {
  const problem = typeof args === 'object' && args !== null && !Array.isArray(args) ? jsonProblem(args) : 'arguments are not a JSON object';
  if (problem) return { $invalid: problem.slice(0, 500) };
  const obj = args as JsonObject;
  if (maxChars === Infinity) return obj;
  const text = canonicalJson(obj);
  return text.length <= maxChars ? obj : { truncated: true, bytes: text.length, argsHash: sha256Hex(text) };
}
