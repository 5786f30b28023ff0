// The fast Cedar engine: a policy set compiled from Cedar's JSON EST into indexed JavaScript closures.
import type * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { withCedar } from '../cedar-runtime.js';
import { cedarInputProblem } from '../cedar-input.js';
import { refusedResult, type CedarEngine, type CedarEntity, type CedarRequest, type EngineResult, type EntityUid } from '../engine.js';
import { EvalEnv, EvalError, NeedsFallback, compileCondition, entityUid } from './compile-expr.js';

/** Policies to compile: `{ id, text }` pairs, an id → text map, or one policy-set text (ids: `@id`, else Cedar's `policyN`). */
export type FastPolicyInput = readonly { readonly id: string; readonly text: string }[] | Readonly<Record<string, string>> | string;

/** Options for `compileFastEngine`. */
export interface FastEngineOptions {
  /**
   * The engine that answers a request whose data holds extension values other than `decimal` (`ip`, `datetime`,
   * `duration`), which only cedar-wasm checks and compares. Without one, such a request is refused.
   */
  readonly fallback?: CedarEngine;
}

/** The result of compiling: an engine, or why the policy set must go to cedar-wasm instead. */
export type FastCompileResult = { readonly engine: CedarEngine } | { readonly unsupported: string };

type Check = (env: EvalEnv) => boolean;

interface CompiledPolicy {
  readonly id: string;
  readonly forbid: boolean;
  /** Scope checks, then `when`/`unless` predicates, in Cedar's evaluation order. */
  readonly checks: readonly Check[];
  /** The last request epoch that visited this policy (dedups policies reachable through several index keys). */
  mark: number;
}

/**
 * Compiles a policy set with cedar-wasm's parser (`policyToJson`) into a fast engine, or reports why it cannot
 * (a construct outside the supported subset, a template, a parse error): the caller then uses cedar-wasm.
 */
export function compileFastEngine(input: FastPolicyInput, options: FastEngineOptions = {}): FastCompileResult {
  const pairs = toPairs(input);
  if ('unsupported' in pairs) return pairs;
  const jsons: { id: string; json: cedar.PolicyJson }[] = [];
  for (const { id, text } of pairs.pairs) {
    const r = withCedar((c) => c.policyToJson(text));
    if (r.type === 'failure') return { unsupported: `policy \`${id}\` does not parse: ${r.errors.map((e) => e.message).join('; ')}` };
    jsons.push({ id, json: r.json });
  }
  return compileFastEngineFromJson(jsons, options);
}

function toPairs(input: FastPolicyInput): { pairs: { id: string; text: string }[] } | { unsupported: string } {
  let pairs: { id: string; text: string }[];
  if (typeof input === 'string') {
    const parts = withCedar((c) => c.policySetTextToParts(input));
    if (parts.type === 'failure') return { unsupported: `the policy set does not parse: ${parts.errors.map((e) => e.message).join('; ')}` };
    if (parts.policy_templates.length > 0) return { unsupported: 'templates' };
    // policySetTextToParts returns the policies sorted by Cedar's generated ids (`policy0`, `policy1`, `policy10`...).
    const generated = parts.policies.map((_, i) => `policy${i}`).sort();
    pairs = [];
    for (const [i, text] of parts.policies.entries()) {
      const est = withCedar((c) => c.policyToJson(text));
      const annotated = est.type === 'success' ? est.json.annotations?.id : undefined;
      pairs.push({ id: annotated ?? (generated[i] as string), text });
    }
  } else if (Array.isArray(input)) {
    pairs = (input as readonly { id: string; text: string }[]).map(({ id, text }) => ({ id, text }));
  } else {
    pairs = Object.entries(input as Readonly<Record<string, string>>).map(([id, text]) => ({ id, text }));
  }
  const seen = new Set<string>();
  for (const { id } of pairs) {
    if (seen.has(id)) return { unsupported: `duplicate policy id \`${id}\`` };
    seen.add(id);
  }
  return { pairs };
}

/** Compiles policies already in Cedar's JSON EST form (`policyToJson`'s output) into a fast engine. */
export function compileFastEngineFromJson(
  policies: readonly { readonly id: string; readonly json: cedar.PolicyJson }[],
  options: FastEngineOptions = {},
): FastCompileResult {
  const index = new PolicyIndex();
  try {
    for (const { id, json } of policies) index.add(compilePolicy(id, json), json);
  } catch (e) {
    if (e instanceof UnsupportedPolicy) return { unsupported: e.reason };
    throw e;
  }
  return { engine: new FastEngine(index, policies.length, options.fallback) };
}

class UnsupportedPolicy {
  constructor(readonly reason: string) {}
}

function unsupported(id: string, what: string): never {
  throw new UnsupportedPolicy(`policy \`${id}\` uses ${what}, which the fast engine does not compile`);
}

function compilePolicy(id: string, json: cedar.PolicyJson): CompiledPolicy {
  const checks: Check[] = [];
  const uid = (v: unknown): EntityUid => entityUid(v) ?? unsupported(id, `the scope entity ${JSON.stringify(v)}`);
  const scope = (c: cedar.PrincipalConstraint, v: 'principal' | 'resource'): void => {
    const get = v === 'principal' ? (env: EvalEnv) => env.principal.__entity : (env: EvalEnv) => env.resource.__entity;
    switch (c.op) {
      case 'All':
        return;
      case '==': {
        if (!('entity' in c)) return unsupported(id, 'a template slot');
        const t = uid(c.entity);
        checks.push((env) => {
          const u = get(env);
          return u.id === t.id && u.type === t.type;
        });
        return;
      }
      case 'in': {
        if (!('entity' in c)) return unsupported(id, 'a template slot');
        const t = uid(c.entity);
        checks.push((env) => env.isIn(get(env), t));
        return;
      }
      case 'is': {
        const type = c.entity_type;
        if (c.in === undefined) {
          checks.push((env) => get(env).type === type);
          return;
        }
        if (!('entity' in c.in)) return unsupported(id, 'a template slot');
        const t = uid(c.in.entity);
        checks.push((env) => {
          const u = get(env);
          return u.type === type && env.isIn(u, t);
        });
        return;
      }
      default:
        return unsupported(id, `the scope operator ${JSON.stringify((c as { op: unknown }).op)}`);
    }
  };
  scope(json.principal, 'principal');
  const a = json.action;
  if (a.op === '==') {
    if (!('entity' in a)) unsupported(id, 'a template slot');
    const t = uid(a.entity);
    checks.push((env) => {
      const u = env.action.__entity;
      return u.id === t.id && u.type === t.type;
    });
  } else if (a.op === 'in') {
    const targets = 'entity' in a ? [uid(a.entity)] : a.entities.map(uid);
    if (targets.length === 1) {
      const t = targets[0] as EntityUid;
      checks.push((env) => env.isIn(env.action.__entity, t));
    } else {
      checks.push((env) => {
        const u = env.action.__entity;
        for (const t of targets) if (env.isIn(u, t)) return true;
        return false;
      });
    }
  } else if (a.op !== 'All') {
    unsupported(id, `the action scope operator ${JSON.stringify((a as { op: unknown }).op)}`);
  }
  scope(json.resource, 'resource');
  for (const clause of json.conditions) {
    const r = compileCondition(clause.body, clause.kind);
    if ('unsupported' in r) unsupported(id, r.unsupported);
    checks.push(r.fn);
  }
  if (json.effect !== 'permit' && json.effect !== 'forbid') unsupported(id, `the effect ${JSON.stringify(json.effect)}`);
  return { id, forbid: json.effect === 'forbid', checks, mark: 0 };
}

/** Policies bucketed by entity type, then id. */
class UidBuckets {
  private readonly byType = new Map<string, Map<string, CompiledPolicy[]>>();
  size = 0;

  add(uid: EntityUid, p: CompiledPolicy): void {
    let byId = this.byType.get(uid.type);
    if (byId === undefined) this.byType.set(uid.type, (byId = new Map()));
    const list = byId.get(uid.id);
    if (list === undefined) byId.set(uid.id, [p]);
    else list.push(p);
    this.size++;
  }

  get(uid: EntityUid): readonly CompiledPolicy[] | undefined {
    return this.byType.get(uid.type)?.get(uid.id);
  }
}

/**
 * Each policy is filed under its most selective scope constraint, so a request meets only policies whose scope can
 * hold. INVARIANT: a policy not reached through the index has a false scope for the request, and scopes never error,
 * so skipping it changes neither the decision nor the errors.
 */
class PolicyIndex {
  /** `resource == R`, `resource in R`, `resource is T in R`: filed under R. */
  readonly resourceUid = new UidBuckets();
  /** Set when a resource key may match through the hierarchy (`in`), not only by equality. */
  resourceUsesIn = false;
  /** `action == A`, `action in A`, `action in [A, ...]`: filed under each A. */
  readonly actionUid = new UidBuckets();
  actionUsesIn = false;
  /** `resource is T`: filed under T. */
  readonly resourceType = new Map<string, CompiledPolicy[]>();
  /** `principal == P`, `principal in P`, `principal is T in P`: filed under P. */
  readonly principalUid = new UidBuckets();
  principalUsesIn = false;
  /** `principal is T`: filed under T. */
  readonly principalType = new Map<string, CompiledPolicy[]>();
  /** Policies with no constraining scope. */
  readonly global: CompiledPolicy[] = [];

  add(p: CompiledPolicy, json: cedar.PolicyJson): void {
    const r = json.resource;
    const a = json.action;
    const pr = json.principal;
    if ((r.op === '==' || r.op === 'in') && 'entity' in r) {
      this.resourceUid.add(key(r.entity), p);
      if (r.op === 'in') this.resourceUsesIn = true;
    } else if (r.op === 'is' && r.in !== undefined && 'entity' in r.in) {
      this.resourceUid.add(key(r.in.entity), p);
      this.resourceUsesIn = true;
    } else if (a.op === '==' && 'entity' in a) {
      this.actionUid.add(key(a.entity), p);
    } else if (a.op === 'in') {
      for (const e of 'entity' in a ? [a.entity] : a.entities) this.actionUid.add(key(e), p);
      this.actionUsesIn = true;
    } else if (r.op === 'is') {
      pushTo(this.resourceType, r.entity_type, p);
    } else if ((pr.op === '==' || pr.op === 'in') && 'entity' in pr) {
      this.principalUid.add(key(pr.entity), p);
      if (pr.op === 'in') this.principalUsesIn = true;
    } else if (pr.op === 'is' && pr.in !== undefined && 'entity' in pr.in) {
      this.principalUid.add(key(pr.in.entity), p);
      this.principalUsesIn = true;
    } else if (pr.op === 'is') {
      pushTo(this.principalType, pr.entity_type, p);
    } else {
      this.global.push(p);
    }
  }
}

/** A scope entity already accepted by `compilePolicy`. */
function key(v: unknown): EntityUid {
  return entityUid(v) as EntityUid;
}

function pushTo(map: Map<string, CompiledPolicy[]>, key: string, p: CompiledPolicy): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [p]);
  else list.push(p);
}

/** What one request collected: satisfied permits and forbids, and errored policies with their messages. */
interface Tally {
  permits: string[] | undefined;
  forbids: string[] | undefined;
  errors: { id: string; message: string }[] | undefined;
}

class FastEngine implements CedarEngine {
  readonly name: string;
  private epoch = 0;

  constructor(
    private readonly index: PolicyIndex,
    count: number,
    private readonly fallback: CedarEngine | undefined,
  ) {
    this.name = `airlock-fast (${count} policies compiled from Cedar EST)`;
  }

  authorize(request: CedarRequest, entities: readonly CedarEntity[]): EngineResult {
    // INVARIANT: the fast path evaluates only what cedar-wasm accepts (and refuses the rest, as cedar-wasm does).
    const input = cedarInputProblem(request, entities);
    if (input.problem !== null) return refusedResult(input.problem);
    if (input.otherExtensions) {
      return this.fallback !== undefined
        ? this.fallback.authorize(request, entities)
        : refusedResult('`ip`, `datetime` and `duration` values need the cedar-wasm fallback, and this engine has none');
    }
    const env = new EvalEnv(request, entities);
    // INVARIANT: authorize is synchronous and calls nothing that re-enters it, so one epoch counter suffices.
    const epoch = ++this.epoch;
    const tally: Tally = { permits: undefined, forbids: undefined, errors: undefined };
    try {
      this.collect(env, epoch, tally);
    } catch (e) {
      if (e instanceof NeedsFallback && this.fallback !== undefined) return this.fallback.authorize(request, entities);
      throw e;
    }
    const errors = tally.errors === undefined ? NONE : sortErrors(tally.errors);
    if (tally.forbids !== undefined) return { decision: 'deny', determining: sortIds(tally.forbids), errors };
    if (tally.permits !== undefined) return { decision: 'allow', determining: sortIds(tally.permits), errors };
    return { decision: 'deny', determining: NONE, errors };
  }

  private collect(env: EvalEnv, epoch: number, tally: Tally): void {
    const ix = this.index;
    const { principal, action, resource } = env;
    if (ix.resourceUid.size > 0) {
      this.visit(ix.resourceUid.get(resource.__entity), env, epoch, tally);
      if (ix.resourceUsesIn) for (const u of env.ancestors(resource.__entity)) this.visit(ix.resourceUid.get(u), env, epoch, tally);
    }
    if (ix.actionUid.size > 0) {
      this.visit(ix.actionUid.get(action.__entity), env, epoch, tally);
      if (ix.actionUsesIn) for (const u of env.ancestors(action.__entity)) this.visit(ix.actionUid.get(u), env, epoch, tally);
    }
    if (ix.resourceType.size > 0) this.visit(ix.resourceType.get(resource.__entity.type), env, epoch, tally);
    if (ix.principalUid.size > 0) {
      this.visit(ix.principalUid.get(principal.__entity), env, epoch, tally);
      if (ix.principalUsesIn) for (const u of env.ancestors(principal.__entity)) this.visit(ix.principalUid.get(u), env, epoch, tally);
    }
    if (ix.principalType.size > 0) this.visit(ix.principalType.get(principal.__entity.type), env, epoch, tally);
    this.visit(ix.global, env, epoch, tally);
  }

  private visit(list: readonly CompiledPolicy[] | undefined, env: EvalEnv, epoch: number, tally: Tally): void {
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const p = list[i] as CompiledPolicy;
      if (p.mark === epoch) continue;
      p.mark = epoch;
      let satisfied = true;
      try {
        const checks = p.checks;
        for (let j = 0; j < checks.length; j++) {
          if (!(checks[j] as Check)(env)) {
            satisfied = false;
            break;
          }
        }
      } catch (e) {
        if (e instanceof NeedsFallback && this.fallback !== undefined) throw e;
        // INVARIANT: a failing policy is skipped and reported, never a crash (Cedar's semantics).
        const message = e instanceof EvalError || e instanceof NeedsFallback ? e.message : `internal error: ${e instanceof Error ? e.message : String(e)}`;
        (tally.errors ??= []).push({ id: p.id, message });
        continue;
      }
      if (!satisfied) continue;
      if (p.forbid) (tally.forbids ??= []).push(p.id);
      else (tally.permits ??= []).push(p.id);
    }
  }
}

const NONE: readonly string[] = Object.freeze([]);

function sortIds(ids: string[]): readonly string[] {
  if (ids.length > 1) ids.sort();
  return ids;
}

function sortErrors(errors: { id: string; message: string }[]): readonly string[] {
  if (errors.length > 1) errors.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  return errors.map((e) => `policy \`${e.id}\` failed to evaluate: ${e.message}`);
}

/** The policy id in an error line of an `EngineResult` (`policy \`id\` failed to evaluate: ...`), or undefined. */
export function erroredPolicyId(line: string): string | undefined {
  const m = /^policy `(.*?)` failed to evaluate: /s.exec(line);
  return m?.[1];
}
