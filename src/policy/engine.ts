// The seam between Airlock's decision logic and a Cedar evaluator: cedar-wasm, or the compiled fast path.
// Plain Cedar JSON shapes only; nothing here knows about workflows or tiers.

/** A Cedar entity reference, e.g. `{ type: 'Airlock::Tool', id: 'payments.refund' }`. */
export interface EntityUid {
  readonly type: string;
  readonly id: string;
}

/** Cedar values in Cedar's JSON form (records, sets as arrays, entity refs as `{ __entity }`, extension values as `{ __extn }`). */
export type CedarValue =
  | boolean
  | number
  | string
  | readonly CedarValue[]
  | { readonly __entity: EntityUid }
  | { readonly __extn: { readonly fn: string; readonly arg: string } }
  | { readonly [k: string]: CedarValue };

export interface CedarEntity {
  readonly uid: EntityUid;
  readonly attrs: { readonly [k: string]: CedarValue };
  readonly parents: readonly EntityUid[];
}

export interface CedarRequest {
  readonly principal: EntityUid;
  readonly action: EntityUid;
  readonly resource: EntityUid;
  readonly context: { readonly [k: string]: CedarValue };
}

/** Cedar's answer: the decision, the ids of the policies that determined it, evaluation errors. */
export interface EngineResult {
  readonly decision: 'allow' | 'deny';
  readonly determining: readonly string[];
  readonly errors: readonly string[];
  /**
   * Set when the engine refused the input without evaluating any policy (data Cedar refuses, such as a
   * lone surrogate or a fraction): why. The decision is then `deny` and `errors` says the same.
   */
  readonly refused?: string;
}

/** The answer for input an engine refuses to evaluate: deny, no determining policy, the reason as an error. */
export function refusedResult(why: string): EngineResult {
  return { decision: 'deny', determining: [], errors: [`cedar refuses the request: ${why}`], refused: why };
}

/**
 * One compiled policy set, answering requests with exact Cedar semantics. INVARIANT: `authorize` never
 * throws; input Cedar refuses is answered with `refusedResult`.
 */
export interface CedarEngine {
  readonly name: string;
  authorize(request: CedarRequest, entities: readonly CedarEntity[]): EngineResult;
}
