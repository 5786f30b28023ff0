// A CedarEngine over the official cedar-wasm build, with the policy set preparsed once and cached.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { AirlockError } from '../errors.js';
import type { CedarEngine, CedarEntity, CedarRequest, EngineResult } from './engine.js';

/** The Cedar version the wasm engine evaluates with (e.g. `4.13.0`). */
export function cedarVersion(): string {
  return cedar.getCedarVersion();
}

/**
 * An engine answering with cedar-wasm's `statefulIsAuthorized` over a preparsed policy set.
 * `policies` maps policy id → policy text (already parsed and validated by `compilePolicies`);
 * `setId` names the preparsed set in cedar-wasm's cache: equal ids must mean equal policies
 * (use the policy-set hash). Throws `AirlockError('internal')` if the policies do not parse.
 */
export function createWasmEngine(policies: Readonly<Record<string, string>>, setId: string): CedarEngine {
  const pset = `airlock-${setId}`;
  const parsed = cedar.preparsePolicySet(pset, { staticPolicies: { ...policies } });
  if (parsed.type === 'failure') {
    throw new AirlockError('internal', `cedar-wasm refused a policy set that compiled: ${parsed.errors.map((e) => e.message).join('; ')}`);
  }
  return {
    name: `cedar-wasm ${cedar.getCedarVersion()}`,
    authorize(request: CedarRequest, entities: readonly CedarEntity[]): EngineResult {
      let answer: cedar.AuthorizationAnswer;
      try {
        answer = cedar.statefulIsAuthorized({
          principal: request.principal,
          action: request.action,
          resource: request.resource,
          context: request.context as cedar.Context,
          preparsedPolicySetId: pset,
          entities: entities as unknown as cedar.EntityJson[],
        });
      } catch (e) {
        // INVARIANT: the engine never throws on a request; a failure is a deny with a diagnostic.
        return { decision: 'deny', determining: [], errors: [`cedar-wasm failed: ${e instanceof Error ? e.message : String(e)}`] };
      }
      if (answer.type === 'failure') {
        return { decision: 'deny', determining: [], errors: answer.errors.map((e) => `cedar rejected the request: ${e.message}`) };
      }
      const { decision, diagnostics } = answer.response;
      return {
        decision,
        determining: diagnostics.reason,
        errors: diagnostics.errors.map((e) => `policy \`${e.policyId}\` failed to evaluate: ${e.error.message}`),
      };
    },
  };
}
