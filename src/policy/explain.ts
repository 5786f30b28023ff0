// Renders a decision and its request as readable text: what was decided, every policy that matched,
// which of them decided, and why.
import type { ApprovalLevel, Decision } from '../types.js';
import type { CompiledPolicies } from './compile.js';
import { buildCedarCall, decide, elementProvenance, exposeArgs, exposedRecords, principalRef, recordRequest, stricter, type PolicyRequest } from './decide.js';
import type { CedarEngine, CedarValue } from './engine.js';
import { createWasmEngine } from './wasm-engine.js';

/** Every policy whose scope and conditions hold for a request (not only those Cedar names as determining). */
export interface PolicyMatches {
  readonly permits: readonly string[];
  readonly forbids: readonly string[];
}

/** Engines over each set's permits alone, to find the permits a matching forbid overrode. */
const permitEngines = new WeakMap<CompiledPolicies, CedarEngine | null>();

function permitEngine(compiled: CompiledPolicies): CedarEngine | null {
  let engine = permitEngines.get(compiled);
  if (engine === undefined) {
    const permits = [...compiled.policies.values()].filter((p) => p.effect === 'permit');
    engine = permits.length === 0 ? null : createWasmEngine(Object.fromEntries(permits.map((p) => [p.id, p.text])), `${compiled.policySetHash}-explain-permits`);
    permitEngines.set(compiled, engine);
  }
  return engine;
}

/**
 * Every permit and forbid that matches `request` (sorted ids), or null when policy never sees it (its
 * arguments are refused). Cedar names only the forbids when one matches, so the permits a forbid overrode
 * come from evaluating the permits alone.
 */
export function matchingPolicies(compiled: CompiledPolicies, request: PolicyRequest): PolicyMatches | null {
  const exposed = exposedRecords(request.tool, request.args);
  const [only] = exposed.ok ? exposed.records : [];
  // A call decided element by element has matches per element: ask with one element at a time.
  if (!exposed.ok || exposed.records.length !== 1 || only === undefined) return null;
  const { cedarRequest, entities } = buildCedarCall(compiled, recordRequest(request, only), only.values);
  const all = compiled.engine.authorize(cedarRequest, entities);
  if (all.refused !== undefined) return null;
  const sorted = (ids: readonly string[]) => [...ids].sort();
  if (all.decision === 'allow') return { permits: sorted(all.determining), forbids: [] };
  const forbids = sorted(all.determining.filter((id) => compiled.policies.get(id)?.effect === 'forbid'));
  const permitsOnly = forbids.length > 0 ? permitEngine(compiled)?.authorize(cedarRequest, entities) : undefined;
  return { permits: permitsOnly?.decision === 'allow' ? sorted(permitsOnly.determining) : [], forbids };
}

/**
 * A multi-line explanation: the decision (and approval level), the request, the arguments policy
 * saw, every matching policy with its `file:line` and reason, marking the one(s) that decided (a
 * matching forbid overrides every permit; among matching permits the strictest `@approval` wins), the
 * reasons, and the policy-set hash. Pass `compiled` to find every match and resolve ids to their
 * source; without it only the decision's policy ids are printed.
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
    if (seen.each) shown.push(`${seen.each.field}=each of ${seen.each.source}: ${seen.each.values.map(cedarText).join(', ') || '(none)'}`);
    lines.push(`args:     ${shown.length > 0 ? shown.join(' ') : '(none exposed to policy)'}`);
  }
  const each = seen.ok && seen.each !== undefined && seen.each.values.length > 0 ? seen.each : undefined;
  const matches = compiled && !each ? matchingPolicies(compiled, request) : null;
  if (compiled && each) {
    // One decision per element; the strictest stands. Each element is explained as a call with that element alone.
    each.raw.forEach((raw, i) => {
      const provenance = request.provenance ? { provenance: elementProvenance(request.provenance, each.field, i) } : {};
      const one: PolicyRequest = { ...request, args: { ...request.args, [each.source]: [raw] }, ...provenance };
      const d = decide(compiled, one);
      lines.push(`element ${each.source}[${i}] (${each.field}=${cedarText(each.values[i] as CedarValue)}): ${d.kind}${d.kind === 'approval' ? ` (${d.level})` : ''}`);
      const m = matchingPolicies(compiled, one);
      for (const l of m ? matchLines(d, compiled, m) : basisLines(d, compiled)) lines.push(`  ${l}`);
    });
    lines.push(`decided:  each element of \`${each.source}\` on its own; the strictest decision stands`);
  } else if (compiled && matches) lines.push(...matchLines(decision, compiled, matches));
  else lines.push(...basisLines(decision, compiled));
  lines.push('reasons:');
  for (const r of decision.basis.reasons) lines.push(`  - ${r}`);
  if (decision.basis.reasons.length === 0) lines.push('  - (none given)');
  lines.push(`policy set: ${decision.basis.policySetHash}`);
  return lines.join('\n');
}

/** The decision's own policy ids, as the policies section (no matching computed). */
function basisLines(decision: Decision, compiled: CompiledPolicies | undefined): string[] {
  if (decision.basis.policyIds.length === 0) return ['policies: none'];
  return ['policies:', ...decision.basis.policyIds.map((id) => `  - ${policyText(id, compiled)}`)];
}

/** Every matching policy, the one(s) that decided marked, then a `decided:` line saying how. */
function matchLines(decision: Decision, compiled: CompiledPolicies, m: PolicyMatches): string[] {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const marks = new Map<string, string>();
  let decided: string;
  const basis = decision.basis;
  if (decision.kind === 'deny' && m.forbids.length > 0 && basis.policyIds.length > 0 && basis.policyIds.every((id) => m.forbids.includes(id))) {
    for (const id of m.forbids) marks.set(id, '← decided (a matching forbid overrides every permit)');
    for (const id of m.permits) marks.set(id, '(overridden by the forbid)');
    decided = `${m.forbids.length === 1 ? 'the forbid' : `the ${m.forbids.length} forbids`} ${m.forbids.map((id) => `\`${id}\``).join(', ')}`;
  } else if (decision.kind === 'deny') {
    decided = basis.reasons[0] ?? 'deny';
  } else {
    const levels = m.permits.map((id) => compiled.policies.get(id)?.approval);
    const strictest = levels.reduce<ApprovalLevel | undefined>((a, b) => stricter(a, b), undefined);
    const deciding = m.permits.filter((_, i) => levels[i] === strictest);
    const only = m.permits.length === 1;
    const why = only ? '' : strictest === undefined ? ': permits; none asks for approval' : `: its @approval(${strictest}) is the strictest (the strictest obligation wins)`;
    for (const id of deciding) marks.set(id, `← decided${why}`);
    const named = deciding.map((id) => `\`${id}\``).join(', ');
    if (strictest === undefined) decided = only ? `the permit ${named}, which asks for no approval` : `the ${m.permits.length} matching permits, none asking for approval`;
    else decided = `${named} with @approval(${strictest}), ${only ? 'the only matching permit' : `the strictest of ${count(m.permits.length, 'matching permit')}`}`;
    const final = decision.kind === 'approval' ? decision.level : undefined;
    if (decision.kind === 'suggest') decided += `; then the tier \`assist\` made it a suggestion`;
    else if (final !== strictest) decided += `; then the tier raised it to ${final === undefined ? 'allow' : `approval (${final})`}`;
  }
  const none = m.permits.length === 0 && m.forbids.length === 0;
  const lines = [none ? 'policies: none matched' : `policies: ${count(m.permits.length, 'permit')} and ${count(m.forbids.length, 'forbid')} matched`];
  for (const id of [...m.forbids, ...m.permits]) lines.push(`  - ${policyText(id, compiled)}${marks.has(id) ? `  ${marks.get(id) as string}` : ''}`);
  lines.push(`decided:  ${decided}`);
  return lines;
}

function policyText(id: string, compiled: CompiledPolicies | undefined): string {
  const p = compiled?.policies.get(id);
  if (!p) return id;
  const obligation = p.approval ? ` @approval(${p.approval})` : '';
  return `${id} (${p.effect}${obligation}) at ${p.file}:${p.line}${p.reason ? `: ${p.reason}` : ''}`;
}

/** A Cedar value as a policy would write it: JSON, except a decimal as `decimal("99.99")`. */
function cedarText(v: CedarValue): string {
  const x = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as { __extn?: { fn: string; arg: string } }).__extn : undefined;
  return x ? `${x.fn}(${JSON.stringify(x.arg)})` : JSON.stringify(v);
}
