// The policy decision: one pure function from a compiled policy set and a request to a Decision.
// No clock, no IO, no randomness; Cedar answers, then Airlock's effect, risk and tier rules tighten.
import type { ToolContract } from '../config/schema.js';
import { APPROVAL_LEVELS, type ApprovalLevel, type Basis, type Decision, type Labels, type Principal, type Sha256Hex, type Tier } from '../types.js';
import { CALL_ACTION, principalEntity, principalUid, roleEntity, toolEntity } from './cedar-schema.js';
import type { CompiledPolicies } from './compile.js';
import type { CedarEntity, CedarRequest, CedarValue, EntityUid } from './engine.js';
import { principalRef } from '../identity/principal.js';
import { exposeArgs, exposedRecords, type ExposedRecord } from './expose.js';
import type { ArgProvenance } from '../context/provenance.js';

/** One proposed action as the policy boundary sees it, after authentication and argument validation. */
export interface PolicyRequest {
  /** Who is acting (what authentication proved). */
  readonly principal: Principal;
  /** The human the agent acts for, if any; policies see it as `context.onBehalfOf` (`kind:id`). */
  readonly onBehalfOf?: Principal;
  readonly tool: ToolContract;
  readonly workflow: string;
  readonly tier: Tier;
  /** The validated arguments; policies see only the contract's exposed fields, type-coerced. */
  readonly args: Readonly<Record<string, unknown>>;
  /** The run's taint: highest classification and lowest trust read so far. */
  readonly labels: Labels;
  /** Where each value budget the call counts against stands with it added (`context.value.<budget>`); absent when none applies. */
  readonly value?: Readonly<Record<string, ValueStanding>>;
  /**
   * Where each exposed argument's value came from (`context.provenance.<field>`), in a run; absent outside
   * one. A field exposed as each element of a list is seen, per element, as that element's own (`elements`).
   */
  readonly provenance?: Readonly<Record<string, ArgProvenance>>;
}

/** One value budget as policy sees it for a proposed call. */
export interface ValueStanding {
  readonly spent: number;
  readonly wouldBe: number;
  readonly limit: number;
  readonly exceeds: boolean;
}

/** Effects that need a permit naming the tool in its scope, never a blanket `resource`. */
export const EXPLICIT_PERMIT_EFFECTS: readonly string[] = ['destructive', 'egress', 'financial'];

export { principalRef, exposeArgs, exposedRecords };

/**
 * Decides one request: deny by default, forbids win, critical risk always denies, destructive /
 * egress / financial effects need an explicit permit, permits' `@approval` obligations (strictest
 * wins), then the tier tightens. Evaluation errors become reasons and fail closed; never throws.
 */
export function decide(compiled: CompiledPolicies, request: PolicyRequest): Decision {
  try {
    return decideUnguarded(compiled, request);
  } catch (e) {
    // INVARIANT: decide never throws; input it cannot even read (a throwing getter, a malformed request) is denied.
    return {
      kind: 'deny',
      basis: {
        policyIds: [],
        policySetHash: compiled.policySetHash,
        reasons: [`the request could not be decided (${e instanceof Error ? e.message : String(e)}), so the action is denied (failing closed)`],
      },
    };
  }
}

function decideUnguarded(compiled: CompiledPolicies, request: PolicyRequest): Decision {
  const { tool } = request;
  const hash = compiled.policySetHash;
  const deny = (reasons: readonly string[], policyIds: readonly string[] = []): Decision => ({
    kind: 'deny',
    basis: { policyIds, policySetHash: hash, reasons },
  });

  if (tool.risk === 'critical') {
    return deny([`\`${tool.name}\` has critical risk: critical actions are never executed through an agent`]);
  }

  const exposed = exposedRecords(tool, request.args);
  if (!exposed.ok) return deny(exposed.reasons);
  const [only] = exposed.records;
  if (exposed.records.length === 1 && only !== undefined) return decideRecord(compiled, recordRequest(request, only), only.values);
  // INVARIANT: a call exposing each element of a list is decided per element; it stands only as far as every element does.
  return strictestOf(
    hash,
    exposed.records.map((r) => ({ element: r.element ?? '', decision: decideRecord(compiled, recordRequest(request, r), r.values) })),
  );
}

/** The request as one record of its exposed arguments is decided: for an element of a list, with that element's provenance (`elementProvenance`). */
export function recordRequest(request: PolicyRequest, record: ExposedRecord): PolicyRequest {
  if (!record.at || !request.provenance) return request;
  return { ...request, provenance: elementProvenance(request.provenance, record.at.field, record.at.index) };
}

/**
 * The provenance policy sees when it decides element `index` of the list exposed as `field`: that
 * element's own as `field`, never the list's combined one. An entry without `elements` stands for every
 * element (a policy test's); an element past them has none, like an argument whose origin is not known.
 */
export function elementProvenance(provenance: Readonly<Record<string, ArgProvenance>>, field: string, index: number): Record<string, ArgProvenance> {
  const p = Object.hasOwn(provenance, field) ? provenance[field] : undefined;
  if (p?.elements === undefined) return { ...provenance };
  const own = p.elements[index];
  const rest = Object.entries(provenance).filter(([f]) => f !== field);
  return Object.fromEntries(own === undefined ? rest : [...rest, [field, own]]);
}

/**
 * A workflow that runs below its declared tier (a demotion) is decided at both tiers, and only as far as
 * both allow: tiers are not ordered for every risk (`execute-high` asks step-up of a high-risk call where
 * `execute-low` asks one approval), and a demotion must only ever tighten. `declared` undefined or equal
 * to `request.tier`: `decide` as it is.
 */
export function decideAtTiers(compiled: CompiledPolicies, request: PolicyRequest, declared: Tier | undefined): Decision {
  const running = decide(compiled, request);
  if (declared === undefined || declared === request.tier) return running;
  return strictestOf(compiled.policySetHash, [
    { element: `at tier \`${request.tier}\``, decision: running },
    { element: `at the declared tier \`${declared}\``, decision: decide(compiled, { ...request, tier: declared }) },
  ]);
}

/**
 * The strictest of per-element decisions: any deny denies (its reasons named by element), then a
 * suggestion, then the strictest approval, else allow. Policy ids are the union, reasons deduplicated.
 */
export function strictestOf(policySetHash: Sha256Hex, parts: readonly { readonly element: string; readonly decision: Decision }[]): Decision {
  const ids = (ps: typeof parts) => [...new Set(ps.flatMap((p) => p.decision.basis.policyIds))].sort();
  const denied = parts.filter((p) => p.decision.kind === 'deny');
  if (denied.length > 0) {
    const reasons = [...new Set(denied.flatMap((p) => p.decision.basis.reasons.map((r) => `${p.element}: ${r}`)))];
    return { kind: 'deny', basis: { policyIds: ids(denied), policySetHash, reasons } };
  }
  const basis: Basis = { policyIds: ids(parts), policySetHash, reasons: [...new Set(parts.flatMap((p) => p.decision.basis.reasons))] };
  if (parts.some((p) => p.decision.kind === 'suggest')) return { kind: 'suggest', basis };
  let level: ApprovalLevel | undefined;
  for (const p of parts) if (p.decision.kind === 'approval') level = stricter(level, p.decision.level);
  return level === undefined ? { kind: 'allow', basis } : { kind: 'approval', basis, level };
}

/** Decides one record of exposed arguments (the whole call, or one element of a list). */
function decideRecord(compiled: CompiledPolicies, request: PolicyRequest, args: Readonly<Record<string, CedarValue>>): Decision {
  const { tool } = request;
  const hash = compiled.policySetHash;
  const deny = (reasons: readonly string[], policyIds: readonly string[] = []): Decision => ({
    kind: 'deny',
    basis: { policyIds, policySetHash: hash, reasons },
  });
  const { cedarRequest, entities } = buildCedarCall(compiled, request, args);
  const result = compiled.engine.authorize(cedarRequest, entities);
  if (result.refused !== undefined) return deny(refusedReasons(result.refused));
  // INVARIANT: the basis is the same whichever engine answered (cedar-wasm lists policies in no fixed order).
  const determining = [...result.determining].sort().map((id) => ({ id, policy: compiled.policies.get(id) }));
  const errorReasons = [...result.errors].sort();

  if (result.decision === 'deny') {
    const forbids = determining.filter((d) => d.policy?.effect !== 'permit');
    if (forbids.length === 0) {
      return deny([
        `no policy permits \`${principalRef(request.principal)}\` to call \`${tool.name}\` in workflow \`${request.workflow}\` (deny by default)`,
        ...errorReasons,
      ]);
    }
    return deny(
      [...forbids.map((d) => d.policy?.reason ?? `forbidden by policy \`${d.id}\``), ...errorReasons],
      forbids.map((d) => d.id),
    );
  }

  const permitIds = determining.map((d) => d.id);
  // INVARIANT: an evaluation error may have skipped a forbid; the boundary fails closed.
  if (errorReasons.length > 0) {
    return deny([...errorReasons, 'policy evaluation failed, so the action is denied (failing closed)'], permitIds);
  }

  if (EXPLICIT_PERMIT_EFFECTS.includes(tool.effect) && !determining.some((d) => d.policy?.scopedResource === true)) {
    return deny(
      [
        `\`${tool.name}\` has effect \`${tool.effect}\`, which needs an explicit permit naming it in the scope (\`resource == Airlock::Tool::"${tool.name}"\`); only blanket permits matched`,
      ],
      permitIds,
    );
  }

  let level: ApprovalLevel | undefined;
  const reasons: string[] = [];
  for (const d of determining) {
    level = stricter(level, d.policy?.approval);
    reasons.push(d.policy?.reason ?? `permitted by policy \`${d.id}\``);
  }

  const tiered = crossValue(applyTier(request.tier, tool, level), request.value);
  if (tiered.reason) reasons.push(tiered.reason);
  const basis: Basis = { policyIds: permitIds, policySetHash: hash, reasons };
  switch (tiered.kind) {
    case 'suggest':
      return { kind: 'suggest', basis };
    case 'approval':
      return { kind: 'approval', basis, level: tiered.level };
    case 'allow':
      return { kind: 'allow', basis };
  }
}

/**
 * A call that would take a value budget past its limit is never allowed without a person: an allow
 * becomes one person's approval (a stricter obligation or a suggestion stands), saying which budget.
 */
function crossValue(tiered: TierOutcome, value: PolicyRequest['value']): TierOutcome {
  const crossed = Object.entries(value ?? {}).filter(([, s]) => s.exceeds);
  if (crossed.length === 0 || tiered.kind !== 'allow') return tiered;
  const why = crossed.map(([name, s]) => `value budget \`${name}\` would reach ${s.wouldBe} of its ${s.limit} (${s.spent} already counted)`).join('; ');
  return { kind: 'approval', level: 'single', reason: [tiered.reason, `${why}: past a value budget, a person decides`].filter(Boolean).join('; ') };
}

/** The reasons for a request the engine refused to evaluate (data Cedar refuses): what, and that it fails closed. */
export function refusedReasons(why: string, outcome = 'the action is denied'): string[] {
  return [`the request cannot be evaluated: ${why}`, `Cedar refuses such data, so ${outcome} (failing closed)`];
}

/** The stricter of two obligations: none < `single` < `reauth` < `step-up`. */
export function stricter(a: ApprovalLevel | undefined, b: ApprovalLevel | undefined): ApprovalLevel | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return APPROVAL_LEVELS.indexOf(a) >= APPROVAL_LEVELS.indexOf(b) ? a : b;
}

type TierOutcome =
  | { readonly kind: 'allow'; readonly reason?: string }
  | { readonly kind: 'approval'; readonly level: ApprovalLevel; readonly reason?: string }
  | { readonly kind: 'suggest'; readonly reason: string };

/** Applies the autonomy tier to what policy decided (`level`: the permits' obligation); only ever tightens. */
export function applyTier(tier: Tier, tool: Pick<ToolContract, 'effect' | 'risk'>, level: ApprovalLevel | undefined): TierOutcome {
  const fromPolicy = (): TierOutcome => (level ? { kind: 'approval', level } : { kind: 'allow' });
  const atLeast = (min: ApprovalLevel, why: string): TierOutcome => {
    const l = stricter(level, min) ?? min;
    return l === level ? { kind: 'approval', level: l } : { kind: 'approval', level: l, reason: why };
  };
  if (tool.effect === 'read') return fromPolicy();
  switch (tier) {
    case 'assist':
      return { kind: 'suggest', reason: 'tier `assist`: side effects are only suggested and recorded, never executed' };
    case 'prepare':
      return atLeast('single', 'tier `prepare`: every side effect is a prepared action a human approves');
    case 'execute-low':
      return tool.risk === 'low'
        ? fromPolicy()
        : atLeast('single', `tier \`execute-low\`: a \`${tool.risk}\`-risk action needs approval`);
    case 'execute-high':
      return tool.risk === 'high'
        ? atLeast('step-up', 'tier `execute-high`: a `high`-risk action needs step-up approval')
        : fromPolicy();
  }
}

/** The Cedar request for `call` and the entities it needs: the principal, its roles and the tool, nothing more. */
export function buildCedarCall(
  compiled: CompiledPolicies,
  request: PolicyRequest,
  args: Readonly<Record<string, CedarValue>>,
): { readonly cedarRequest: CedarRequest; readonly entities: readonly CedarEntity[] } {
  return buildCedarRequest(compiled, request.principal, CALL_ACTION, request.tool, callContext(request, args));
}

/** The context every action on a tool shares: workflow, tier, exposed arguments, labels, `onBehalfOf`. */
export function callContext(
  request: Pick<PolicyRequest, 'workflow' | 'tier' | 'labels' | 'value' | 'provenance'> & { readonly onBehalfOf?: Principal | string | undefined },
  args: Readonly<Record<string, CedarValue>>,
): Record<string, CedarValue> {
  const context: Record<string, CedarValue> = {
    workflow: request.workflow,
    tier: request.tier,
    args,
    labels: { classification: request.labels.classification, trust: request.labels.trust },
  };
  const obo = request.onBehalfOf;
  if (obo) context['onBehalfOf'] = typeof obo === 'string' ? obo : principalRef(obo);
  if (request.value && Object.keys(request.value).length > 0) {
    const value: Record<string, CedarValue> = {};
    for (const [name, s] of Object.entries(request.value)) value[name] = { spent: s.spent, wouldBe: s.wouldBe, limit: s.limit, exceeds: s.exceeds };
    context['value'] = value;
  }
  if (request.provenance) {
    const provenance: Record<string, CedarValue> = {};
    for (const [field, p] of Object.entries(request.provenance)) {
      if (!Object.hasOwn(args, field)) continue;
      provenance[field] = { seen: p.seen, trusted: p.trusted, sources: [...p.sources], untrustedSources: [...p.untrustedSources] };
    }
    context['provenance'] = provenance;
  }
  return context;
}

/** A Cedar request of `principal` doing `action` on a tool, with the principal, its roles and the tool as entities. */
export function buildCedarRequest(
  compiled: CompiledPolicies,
  principal: Principal,
  action: EntityUid,
  tool: ToolContract,
  context: Record<string, CedarValue>,
): { readonly cedarRequest: CedarRequest; readonly entities: readonly CedarEntity[] } {
  const toolEnt =
    compiled.tools.get(tool.name) === tool ? (compiled.toolEntities.get(tool.name) ?? toolEntity(tool)) : toolEntity(tool);
  const roles = [...new Set(principal.roles)];
  const entities: CedarEntity[] = [principalEntity({ ...principal, roles }), toolEnt];
  for (const r of roles) entities.push(compiled.roleEntities.get(r) ?? roleEntity(r));
  return { cedarRequest: { principal: principalUid(principal), action, resource: toolEnt.uid, context }, entities };
}

