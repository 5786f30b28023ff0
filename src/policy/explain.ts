// Renders a decision and its request as readable text: what was decided, by which policies, and why.
import type { Decision } from '../types.js';
import type { CompiledPolicies } from './compile.js';
import type { CedarValue } from './engine.js';
import { exposeArgs, principalRef, type PolicyRequest } from './decide.js';

/**
 * A multi-line explanation: the decision (and approval level), the request, the arguments policy
 * saw, each determining policy with its `file:line` and reason, the reasons, and the policy-set hash.
 * Pass `compiled` to resolve policy ids to their source; without it only the ids are printed.
 */
export function explainDecision(decision: Decision, request: PolicyRequest, compiled?: CompiledPolicies): string {
  const { tool } = request;
  const lines: string[] = [];
  lines.push(`decision: ${decision.kind}${decision.kind === 'approval' ? ` (${decision.level})` : ''}`);
  lines.push(
    `request:  \`${principalRef(request.principal)}\` calls \`${tool.name}\` (${tool.effect}, ${tool.risk} risk)` +
      (request.onBehalfOf ? ` on behalf of \`${principalRef(request.onBehalfOf)}\`` : ''),
  );
  lines.push(
    `          workflow \`${request.workflow}\`, tier \`${request.tier}\`, labels ${request.labels.classification}/${request.labels.trust}`,
  );
  const seen = exposeArgs(tool, request.args);
  if (seen.ok) {
    const shown = Object.entries(seen.values).map(([k, v]) => `${k}=${cedarText(v)}`);
    lines.push(`args:     ${shown.length > 0 ? shown.join(' ') : '(none exposed to policy)'}`);
  }
  if (decision.basis.policyIds.length === 0) {
    lines.push('policies: none');
  } else {
    lines.push('policies:');
    for (const id of decision.basis.policyIds) {
      const p = compiled?.policies.get(id);
      if (!p) {
        lines.push(`  - ${id}`);
        continue;
      }
      const obligation = p.approval ? ` @approval(${p.approval})` : '';
      lines.push(`  - ${id} (${p.effect}${obligation}) at ${p.file}:${p.line}${p.reason ? `: ${p.reason}` : ''}`);
    }
  }
  lines.push('reasons:');
  for (const r of decision.basis.reasons) lines.push(`  - ${r}`);
  if (decision.basis.reasons.length === 0) lines.push('  - (none given)');
  lines.push(`policy set: ${decision.basis.policySetHash}`);
  return lines.join('\n');
}

/** A Cedar value as a policy would write it: JSON, except a decimal as `decimal("99.99")`. */
function cedarText(v: CedarValue): string {
  const x = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as { __extn?: { fn: string; arg: string } }).__extn : undefined;
  return x ? `${x.fn}(${JSON.stringify(x.arg)})` : JSON.stringify(v);
}
