// Which tools a principal may even see: a tool is listed only if some permit's scope could apply to it
// and no unconditional forbid or tier rule rules it out. Pure; it never grants anything (calls are decided per call).
import type { ToolContract } from '../config/schema.js';
import type { Principal, Tier } from '../types.js';
import type { CompiledPolicies } from './compile.js';
import { buildCedarCall } from './decide.js';
import type { CedarEngine } from './engine.js';
import { compileFastEngineFromJson } from './fast/engine.js';

/** A compiled scope check for one policy set: permits with their conditions dropped, and only unconditional forbids. */
export interface Visibility {
  /** True when `principal` may see `tool` in a workflow at `tier`. */
  visible(principal: Principal, tool: ToolContract, workflow: string, tier: Tier): boolean;
}

/**
 * Builds the scope check. Conditions often depend on arguments (an amount) that are unknown when
 * listing, so a permit whose scope matches makes the tool visible; a forbid hides it only if it
 * has no condition at all. Critical tools are never listed: nothing may execute them.
 */
export function compileVisibility(compiled: CompiledPolicies): Visibility {
  const scoped = [...compiled.policies.values()]
    .filter((p) => p.effect === 'permit' || p.json.conditions.length === 0)
    .map((p) => ({ id: p.id, json: { ...p.json, conditions: [] } }));
  const fast = compileFastEngineFromJson(scoped);
  const engine: CedarEngine | null = 'engine' in fast ? fast.engine : null;
  return {
    visible(principal, tool, workflow, tier) {
      if (tool.risk === 'critical') return false;
      if (!engine) return true; // cannot tell: listing is advisory, every call is still decided in full
      const { cedarRequest, entities } = buildCedarCall(
        compiled,
        { principal, tool, workflow, tier, args: {}, labels: { classification: 'public', trust: 'trusted' } },
        {},
      );
      return engine.authorize(cedarRequest, entities).decision === 'allow';
    },
  };
}
