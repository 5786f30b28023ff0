// Which tools a principal may even see (MCP tools/list): a tool is listed when policy could permit it.
// Pure; it never grants anything: every call is still decided in full.
import type { ToolContract } from '../config/schema.js';
import type { Principal, Tier } from '../types.js';
import type { CompiledPolicies } from './compile.js';
import { buildCedarCall, decide } from './decide.js';
import type { CedarEngine } from './engine.js';
import { compileFastEngineFromJson } from './fast/engine.js';

/** The listing check for one policy set. */
export interface Visibility {
  /** True when `principal` may see `tool` in a workflow at `tier`. */
  visible(principal: Principal, tool: ToolContract, workflow: string, tier: Tier): boolean;
}

/** True when a policy's conditions read `context.args` (so they cannot be judged before the call). */
function readsArgs(json: unknown): boolean {
  return JSON.stringify(json).includes('"attr":"args"');
}

/**
 * A tool is visible when the decision without arguments is not a denial (a permit holds on what is
 * known at listing time), or when a permit whose conditions depend on the arguments has a scope that
 * matches (an amount decides the call, not the listing). Critical tools are never listed.
 */
export function compileVisibility(compiled: CompiledPolicies): Visibility {
  const argPermits = [...compiled.policies.values()]
    .filter((p) => p.effect === 'permit' && readsArgs(p.json.conditions))
    .map((p) => ({ id: p.id, json: { ...p.json, conditions: [] } }));
  const fast = argPermits.length > 0 ? compileFastEngineFromJson(argPermits) : null;
  const scopeEngine: CedarEngine | null = fast && 'engine' in fast ? fast.engine : null;
  return {
    visible(principal, tool, workflow, tier) {
      if (tool.risk === 'critical') return false;
      const labels = { classification: 'public', trust: 'trusted' } as const;
      const d = decide(compiled, { principal, tool, workflow, tier, args: {}, labels });
      if (d.kind !== 'deny') return true;
      if (!scopeEngine) return false;
      const { cedarRequest, entities } = buildCedarCall(compiled, { principal, tool, workflow, tier, args: {}, labels }, {});
      return scopeEngine.authorize(cedarRequest, entities).decision === 'allow';
    },
  };
}
