// Admission, pure: what a proposal must be before anything decides on it: JSON Airlock can hold, a
// tool the workspace declares and the workflow lists, arguments its reviewed schema accepts. A
// refused proposal comes back with the records that say so (intent and non-execution, together).
import { expandTemplate, matchTemplate, templateVars } from '../util/uri-template.js';
import type { ToolContract } from '../config/schema.js';
import type { Sha256Hex } from '../types.js';
import { jsonProblem } from '../util/json.js';
import { rec, type TypedItem } from '../audit/records.js';
import { notExecuted, refusedArgs } from './action.js';
import type { CallContext, GatewayOutcome, Proposal } from './types.js';

/** Admitted, with the contract; or refused, with the outcome and the records to append. */
export type Admission =
  | { readonly ok: true; readonly contract: ToolContract; readonly toolDefHash: Sha256Hex }
  | { readonly ok: false; readonly outcome: Extract<GatewayOutcome, { kind: 'invalid' | 'denied' }>; readonly records: readonly TypedItem[] };

/** What admission looks things up in: the contracts, their hashes, the argument validator. */
export interface AdmissionRules {
  readonly tools: ReadonlyMap<string, ToolContract>;
  readonly toolDefHash: (c: ToolContract) => Sha256Hex;
  /** The schema errors of `args` for tool `name` (empty: valid). */
  readonly validate: (name: string, args: unknown) => readonly string[];
}

/**
 * Admits a proposal or says why not. Deny by default: an undeclared tool, or one outside the
 * workflow, is unreachable. Values JSON cannot hold (only an in-process caller can send them) are
 * refused before anything hashes them; refused arguments are kept as a hash and a preview.
 */
export function admit(ctx: Pick<CallContext, 'step' | 'workflow'>, proposal: Proposal, rules: AdmissionRules): Admission {
  const notJson = jsonProblem(proposal.args);
  if (notJson) {
    const tool = String(proposal.tool).slice(0, 200);
    return {
      ok: false,
      outcome: { kind: 'invalid', errors: [notJson] },
      records: [rec('action.intent', { tool, step: ctx.step, argsHash: null }), notExecuted('invalid-arguments', [notJson], { tool, step: ctx.step })],
    };
  }
  const contract = rules.tools.get(proposal.tool);
  if (!contract || !ctx.workflow.tools.includes(proposal.tool)) {
    const shown = String(proposal.tool).slice(0, 200);
    const reason = !contract
      ? `tool \`${shown}\` is not declared in the workspace (deny by default)`
      : `tool \`${shown}\` is not part of workflow \`${ctx.workflow.name}\` (deny by default)`;
    return {
      ok: false,
      outcome: { kind: 'denied', reasons: [reason], policyIds: [], actionHash: null },
      records: [rec('action.intent', { tool: shown, step: ctx.step, ...refusedArgs(proposal.args) }), notExecuted('unknown-tool', [reason], { tool: shown, step: ctx.step })],
    };
  }
  const toolDefHash = rules.toolDefHash(contract);
  const errors = [...rules.validate(contract.name, proposal.args), ...resourceProblems(contract, proposal.args)];
  if (errors.length > 0) {
    return {
      ok: false,
      outcome: { kind: 'invalid', errors },
      records: [
        rec('action.intent', { tool: contract.name, step: ctx.step, toolDefHash, ...refusedArgs(proposal.args) }),
        notExecuted('invalid-arguments', errors, { tool: contract.name, step: ctx.step }),
      ],
    };
  }
  return { ok: true, contract, toolDefHash };
}

/**
 * A resource contract's arguments must name exactly one URI its template matches: filled in and read
 * back, they come back the same. What the MCP door's `resources/read` checks by matching holds on every
 * door (a resource contract proposed as a tool call, the JSON API, Airlock's own loop): a value with
 * `..`, `.`, an empty segment, `?` or `#` (or `/` in a one-segment variable) never reaches the upstream.
 */
function resourceProblems(contract: { readonly resource?: string | undefined }, args: unknown): string[] {
  if (contract.resource === undefined || args === null || typeof args !== 'object' || Array.isArray(args)) return [];
  const given = args as Record<string, unknown>;
  const back = matchTemplate(contract.resource, expandTemplate(contract.resource, given));
  const vars = templateVars(contract.resource);
  if (back !== null && vars.every((v) => back[v] === String(given[v] ?? ''))) return [];
  return [`the arguments do not name one resource of \`${contract.resource}\`: a value holds \`..\`, \`.\`, an empty segment, \`?\` or \`#\`, or \`/\` where one segment is expected`];
}
