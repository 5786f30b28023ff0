// A CedarEngine over the official cedar-wasm build, with the policy set preparsed once per wasm instance.
import type * as CedarWasm from '@cedar-policy/cedar-wasm/nodejs';
import { AirlockError } from '../errors.js';
import { cedarInputProblem } from './cedar-input.js';
import { withCedar, type Cedar } from './cedar-runtime.js';
import { refusedResult, type CedarEngine, type CedarEntity, type CedarRequest, type EngineResult } from './engine.js';

/** The Cedar version the wasm engine evaluates with (e.g. `4.13.0`). */
export function cedarVersion(): string {
  return withCedar((c) => c.getCedarVersion());
}

/**
 * An engine answering with cedar-wasm's `statefulIsAuthorized` over a preparsed policy set.
 * `policies` maps policy id → policy text (already parsed and validated by `compilePolicies`);
 * `setId` names the preparsed set in cedar-wasm's cache: equal ids must mean equal policies
 * (use the policy-set hash). Throws `AirlockError('internal')` if the policies do not parse.
 * Input cedar-wasm refuses is refused before the call (`cedarInputProblem`), and an instance that
 * throws anyway is replaced (`withCedar`), the set preparsed again in the fresh one.
 */
export function createWasmEngine(policies: Readonly<Record<string, string>>, setId: string): CedarEngine {
  const pset = `airlock-${setId}`;
  const texts = { ...policies };
  /** The instances this set is preparsed in (a replaced instance starts empty). */
  const parsedIn = new WeakSet<Cedar>();
  const prepare = (c: Cedar): void => {
    if (parsedIn.has(c)) return;
    const parsed = c.preparsePolicySet(pset, { staticPolicies: texts });
    if (parsed.type === 'failure') {
      throw new AirlockError('internal', `cedar-wasm refused a policy set that compiled: ${parsed.errors.map((e) => e.message).join('; ')}`);
    }
    parsedIn.add(c);
  };
  withCedar(prepare);
  return {
    name: `cedar-wasm ${cedarVersion()}`,
    authorize(request: CedarRequest, entities: readonly CedarEntity[]): EngineResult {
      const { problem } = cedarInputProblem(request, entities);
      if (problem !== null) return refusedResult(problem);
      let answer: CedarWasm.AuthorizationAnswer;
      try {
        answer = withCedar((c) => {
          prepare(c);
          return c.statefulIsAuthorized({
            principal: request.principal,
            action: request.action,
            resource: request.resource,
            context: request.context as CedarWasm.Context,
            preparsedPolicySetId: pset,
            entities: entities as unknown as CedarWasm.EntityJson[],
          });
        });
      } catch (e) {
        // INVARIANT: the engine never throws on a request; a failure is a deny with a diagnostic.
        return { decision: 'deny', determining: [], errors: [`cedar-wasm failed: ${e instanceof Error ? e.message : String(e)}`] };
      }
      if (answer.type === 'failure') {
        const why = answer.errors.map((e) => e.message).join('; ');
        return refusedResult(why);
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
