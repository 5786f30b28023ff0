// What policy would decide for one hypothetical request (principal, tool, arguments, labels), checked the
// way the gateway checks a proposal first: `airlock policy explain` and the console's policy simulator.
import type { Workspace } from '../config/schema.js';
import { resolvePrincipal } from '../identity/principal.js';
import type { CompiledPolicies } from '../policy/compile.js';
import { decide, type PolicyRequest } from '../policy/decide.js';
import { explainDecision } from '../policy/explain.js';
import { ArgumentValidator } from '../tools/validate.js';
import { TIERS, type Decision, type JsonObject, type Tier } from '../types.js';

/** The request to simulate, as a person types it. */
export interface SimulationInput {
  /** Who proposes: a declared principal, `kind:id` or a bare id. */
  readonly as: string;
  readonly tool: string;
  readonly args: JsonObject;
  /** Default: the first workflow using the tool. */
  readonly workflow?: string | undefined;
  readonly tier?: string | undefined;
  readonly classification: string;
  readonly trust: string;
}

/** The decision with its explanation, or why the request cannot be simulated (the gateway would refuse it before policy). */
export type Simulation =
  | { readonly ok: true; readonly decision: Decision; readonly request: PolicyRequest; readonly explanation: string }
  | { readonly ok: false; readonly error: string; readonly hint?: string };

/** Simulates one request against the compiled policies (pure given its inputs). */
export function simulateDecision(workspace: Workspace, compiled: CompiledPolicies, o: SimulationInput): Simulation {
  const tool = workspace.tools.get(o.tool);
  if (!tool) return { ok: false, error: `tool \`${o.tool}\` is not declared`, hint: `declared: ${[...workspace.tools.keys()].join(', ')}` };
  const wf = o.workflow ? workspace.workflows.get(o.workflow) : [...workspace.workflows.values()].find((w) => w.tools.includes(o.tool));
  if (!wf) return { ok: false, error: o.workflow ? `workflow \`${o.workflow}\` is not declared` : `no workflow uses tool \`${o.tool}\`` };
  if (o.tier && !(TIERS as readonly string[]).includes(o.tier)) return { ok: false, error: `tier \`${o.tier}\` is not one of ${TIERS.join(', ')}` };
  if (!wf.tools.includes(tool.name)) {
    return { ok: false, error: `tool \`${tool.name}\` is not part of workflow \`${wf.name}\` (the gateway denies it before policy is consulted)`, hint: `tools of \`${wf.name}\`: ${wf.tools.join(', ')}` };
  }
  // The gateway refuses invalid arguments before policy sees them: explaining a decision for them would mislead.
  const argErrors = new ArgumentValidator(workspace.tools).validate(tool.name, o.args);
  if (argErrors.length > 0) {
    return {
      ok: false,
      error: `--args do not fit the contract of \`${tool.name}\`: ${argErrors.join('; ')}`,
      hint: 'pass the complete arguments, as the agent would propose them (the gateway denies invalid ones as `invalid-arguments`)',
    };
  }
  // Only declared principals can propose anything: resolve `kind:id` or a bare id the way `approve --as` does.
  const principals = workspace.file.identity.principals;
  const declared = resolvePrincipal(principals, o.as);
  if (!declared.ok) {
    return {
      ok: false,
      error: `principal \`${o.as}\` is not declared in the workspace${declared.reason === 'wrong-kind' ? ` as that kind (it is \`${declared.declaredKind ?? '?'}\`)` : ''}`,
      hint: `declared: ${principals.map((p) => `${p.kind}:${p.id}`).join(', ')}`,
    };
  }
  if (!['public', 'internal', 'confidential', 'restricted'].includes(o.classification)) return { ok: false, error: `classification \`${o.classification}\` is not one of public, internal, confidential, restricted` };
  if (!['trusted', 'untrusted'].includes(o.trust)) return { ok: false, error: `trust \`${o.trust}\` is not trusted or untrusted` };
  const request: PolicyRequest = {
    principal: declared.principal,
    tool,
    workflow: wf.name,
    tier: (o.tier ?? wf.tier) as Tier,
    args: o.args,
    labels: { classification: o.classification as 'internal', trust: o.trust as 'trusted' },
  };
  const decision = decide(compiled, request);
  return { ok: true, decision, request, explanation: explainDecision(decision, request, compiled) };
}
