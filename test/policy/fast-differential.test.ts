// Differential tests of the compiled fast Cedar engine against cedar-wasm, plus unit tests of the compiler's tricky cases.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import { Gen } from '../helpers/gen.js';
import type { CedarEntity, CedarRequest, CedarValue, EngineResult, EntityUid } from '../../src/policy/engine.js';
import { compileFastEngine, erroredPolicyId } from '../../src/policy/fast/engine.js';
import { createWasmEngine } from '../../src/policy/wasm-engine.js';

// ---------------------------------------------------------------------------------------------------------------
// Comparing with cedar-wasm

interface Normalised {
  readonly decision: 'allow' | 'deny';
  readonly determining: readonly string[];
  readonly errored: readonly string[];
}

function normaliseFast(r: EngineResult): Normalised {
  const errored = r.errors.map((e) => erroredPolicyId(e) ?? `?${e}`).sort();
  return { decision: r.decision, determining: [...r.determining].sort(), errored };
}

function normaliseWasm(a: cedar.AuthorizationAnswer): Normalised {
  if (a.type === 'failure') throw new Error(`cedar-wasm refused the request: ${a.errors.map((e) => e.message).join('; ')}`);
  const d = a.response.diagnostics;
  return { decision: a.response.decision, determining: [...d.reason].sort(), errored: d.errors.map((e) => e.policyId).sort() };
}

function wasmCall(setId: string, request: CedarRequest, entities: readonly CedarEntity[]): Normalised {
  return normaliseWasm(
    cedar.statefulIsAuthorized({
      principal: request.principal,
      action: request.action,
      resource: request.resource,
      context: request.context as cedar.Context,
      preparsedPolicySetId: setId,
      entities: entities as unknown as cedar.EntityJson[],
    }),
  );
}

/** Evaluates one case with both engines; returns both normalised answers. */
function both(policies: Record<string, string>, request: CedarRequest, entities: readonly CedarEntity[]): { fast: Normalised; wasm: Normalised } {
  const compiled = compileFastEngine(policies);
  if ('unsupported' in compiled) throw new Error(compiled.unsupported);
  const wasm = normaliseWasm(
    cedar.isAuthorized({
      principal: request.principal,
      action: request.action,
      resource: request.resource,
      context: request.context as cedar.Context,
      policies: { staticPolicies: { ...policies } },
      entities: entities as unknown as cedar.EntityJson[],
    }),
  );
  return { fast: normaliseFast(compiled.engine.authorize(request, entities)), wasm };
}

// ---------------------------------------------------------------------------------------------------------------
// A seeded generator of worlds, policies and requests



const NS = 'Airlock';
const uid = (type: string, id: string): EntityUid => ({ type: `${NS}::${type}`, id });
const ref = (u: EntityUid): CedarValue => ({ __entity: u });
const lit = (u: EntityUid): string => `${u.type}::${JSON.stringify(u.id)}`;

const ROLES = ['r0', 'r1', 'r2', 'r3'];
const USERS = ['u0', 'u1', 'u2', 'u3'];
const AGENTS = ['a0', 'a1'];
const TOOLS = ['t0', 't1', 't2', 't3', 't4', 't5'];
const GROUPS = ['g0', 'g1', 'g2'];
const ACTIONS = ['call', 'read', 'write'];
const WORDS = ['read', 'write', 'low', 'high', 'mcp', 'http', 'public', 'internal', 'a*b', 'x@y.z', 'é😀', '', 'ab', 'b\\a'];
const CHARS = ['a', 'b', '*', '@', '.', 'é', '😀', '\\'];
/** What `like` patterns and the strings they are matched against are mostly made of: few letters, so matches are common. */
const LIKE_CHARS = ['a', 'b', 'a', 'b', 'a', 'b', '*', '😀'];
const ATTRS = ['level', 'email', 'active', 'tags', 'manager', 'effect', 'risk', 'limit', 'missing'];

/** Escapes a string for a Cedar string literal. */
function cedarString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function genWorld(g: Gen): CedarEntity[] {
  const out: CedarEntity[] = [];
  for (const [i, r] of ROLES.entries()) {
    const parents = i === 0 ? [] : g.subset(ROLES.slice(0, i), 0.4).map((p) => uid('Role', p));
    out.push({ uid: uid('Role', r), attrs: { rank: i }, parents });
  }
  const word = (): string => g.pick(WORDS);
  for (const u of USERS) {
    if (u === 'u3' && g.chance(0.5)) continue; // sometimes the principal does not exist
    const attrs: Record<string, CedarValue> = { level: g.int(10), active: g.chance(0.7) };
    if (g.chance(0.6)) attrs.email = g.pick(['a@x.com', 'b@y.org', '*@x.com', 'éa😀']);
    if (g.chance(0.6)) attrs.tags = g.subset(WORDS, 0.2);
    if (g.chance(0.4)) attrs.manager = ref(uid('User', g.pick(USERS)));
    if (g.chance(0.1)) attrs.level = 'high'; // a type error waiting to happen
    if (g.chance(0.5)) attrs.budget = g.chance(0.9) ? decimalValue(g) : 7; // a decimal, or a Long where a decimal is expected
    out.push({ uid: uid('User', u), attrs, parents: g.subset(ROLES, 0.35).map((r) => uid('Role', r)) });
  }
  for (const a of AGENTS) {
    out.push({ uid: uid('Agent', a), attrs: { level: g.int(5), active: true }, parents: g.subset(ROLES, 0.35).map((r) => uid('Role', r)) });
  }
  for (const [i, grp] of GROUPS.entries()) {
    out.push({ uid: uid('ToolGroup', grp), attrs: {}, parents: i === 2 && g.chance(0.6) ? [uid('ToolGroup', 'g0')] : [] });
  }
  for (const t of TOOLS) {
    if (t === 't5' && g.chance(0.6)) continue;
    const attrs: Record<string, CedarValue> = {
      effect: g.pick(['read', 'write', 'financial', 'egress']),
      risk: g.pick(['low', 'medium', 'high']),
      connector: g.pick(['mcp', 'http', 'builtin']),
      classification: g.pick(['public', 'internal', 'confidential']),
      irreversible: g.chance(0.3),
    };
    if (g.chance(0.5)) attrs.limit = g.pick([0, 100, 5000, 2 ** 31, 2 ** 40]);
    out.push({ uid: uid('Tool', t), attrs, parents: g.subset(GROUPS, 0.4).map((x) => uid('ToolGroup', x)) });
  }
  if (g.chance(0.8)) out.push({ uid: uid('Action', 'any'), attrs: {}, parents: [] });
  for (const a of ACTIONS) {
    out.push({ uid: uid('Action', a), attrs: {}, parents: a === 'write' ? [] : [uid('Action', 'any')] });
  }
  return out;
}

/**
 * The entities sent with a request: the request's own entities, the hierarchy (roles, groups, actions) and a few
 * others (managers, context targets). Now and then part of it is missing: entities that do not exist, broken chains.
 * Keeping the list short keeps cedar-wasm fast (it parses every entity on every call).
 */
function entitiesFor(g: Gen, world: readonly CedarEntity[], r: CedarRequest): CedarEntity[] {
  const own = (u: EntityUid): boolean => [r.principal, r.action, r.resource].some((x) => x.type === u.type && x.id === u.id);
  const hierarchy = (u: EntityUid): boolean => /::(Role|ToolGroup|Action)$/.test(u.type);
  const keep = g.chance(0.1) ? 0.8 : 1;
  return world.filter((e) => (own(e.uid) || hierarchy(e.uid) || g.chance(0.15)) && g.chance(keep));
}

/** Decimal text Cedar accepts: signs, zeros, the range's ends, every number of digits after the point. */
const DECIMALS = ['0.0', '99.99', '99.9900', '100.0', '-0.5', '-0.0', '0.0001', '-99.99', '007.50', '922337203685477.5807', '-922337203685477.5808', '1.5'];

/** A Cedar decimal value in its JSON form. */
function decimalValue(g: Gen): CedarValue {
  return { __extn: { fn: 'decimal', arg: g.pick(DECIMALS) } };
}

/** A random string over `LIKE_CHARS`, up to `max` characters. */
function likeString(g: Gen, max = 10): string {
  let out = '';
  for (let i = g.int(max + 1); i > 0; i--) out += g.pick(LIKE_CHARS);
  return out;
}

/** A piece of literal pattern text (escaped for a Cedar string), 1 to 3 characters over `LIKE_CHARS`. */
function likePiece(g: Gen): string {
  let out = '';
  for (let i = 1 + g.int(3); i > 0; i--) {
    const c = g.pick(LIKE_CHARS);
    out += c === '*' ? '\\*' : c;
  }
  return out;
}

/**
 * A structured `like` pattern: an optional literal prefix, then wildcards around 0 to 3 literal middles, then an
 * optional literal suffix (`ab*b*ba`, `*a*ab*`, `b*a*a*b`...): the shapes where placing the middles goes wrong.
 */
function likePattern(g: Gen): string {
  const prefix = g.chance(0.6) ? likePiece(g) : '';
  const suffix = g.chance(0.6) ? likePiece(g) : '';
  let out = `${prefix}*`;
  for (let i = g.int(4); i > 0; i--) out += `${likePiece(g)}*`.repeat(g.chance(0.1) ? 2 : 1);
  if (g.chance(0.1)) out += '*';
  return `"${out}${suffix}"`;
}

function genContext(g: Gen): Record<string, CedarValue> {
  const ctx: Record<string, CedarValue> = {
    s: likeString(g),
    price: g.chance(0.85) ? decimalValue(g) : g.pick([1, 'cheap']),
    workflow: g.pick(['refund', 'support', 'a*b']),
    tier: g.pick(['assist', 'prepare', 'execute-low', 'execute-high']),
    amount: g.pick([0, 1, 7, 50, 4000, -3, 2 ** 31, 2 ** 40, 2 ** 52, -(2 ** 53 - 1), 2 ** 53 - 1]),
    labels: { classification: g.pick(['public', 'internal', 'confidential']), trust: g.pick(['trusted', 'untrusted']) },
    items: g.subset(WORDS, 0.25),
    flag: g.chance(0.85) ? g.chance(0.5) : 'yes',
  };
  const args: Record<string, CedarValue> = {};
  if (g.chance(0.6)) args.reason = g.pick(WORDS);
  if (g.chance(0.6)) args.amount_cents = g.pick([0, 10, 4000, 9000, 2 ** 33]);
  if (g.chance(0.2)) args.nested = { deep: g.pick(WORDS) };
  ctx.args = args;
  if (g.chance(0.5)) ctx.onBehalfOf = g.pick(['C-1042', 'a@x.com']);
  if (g.chance(0.5)) ctx.target = ref(g.chance(0.5) ? uid('ToolGroup', g.pick(GROUPS)) : uid('Tool', g.pick(TOOLS)));
  // Now and then an extension value only cedar-wasm evaluates: in production the fast path hands these to its fallback.
  if (g.chance(0.1)) ctx.addr = { __extn: { fn: 'ip', arg: g.pick(['10.0.0.1', '192.168.0.0/16', '::1']) } } as unknown as CedarValue;
  return ctx;
}

function genRequest(g: Gen): CedarRequest {
  const principal = g.chance(0.75) ? uid('User', g.pick(USERS)) : g.chance(0.9) ? uid('Agent', g.pick(AGENTS)) : uid('Role', g.pick(ROLES));
  return {
    principal,
    action: uid('Action', g.pick(g.chance(0.9) ? ACTIONS : ['any', 'nope'])),
    resource: g.chance(0.95) ? uid('Tool', g.pick(TOOLS)) : uid('ToolGroup', g.pick(GROUPS)),
    context: genContext(g),
  };
}

/** Generates Cedar expression text of (mostly) a requested type; wrong types appear on purpose, as do missing attributes. */
class ExprGen {
  constructor(readonly g: Gen) {}

  bool(d: number): string {
    const g = this.g;
    // Decimal comparisons: the methods, `==`, and `<` (a type error on decimals).
    if (g.chance(0.06)) {
      const op = g.pick(['lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual', '==', '!=', '<']);
      const l = this.dec(d - 1);
      const r = this.dec(d - 1);
      return op.length <= 2 ? `(${l}) ${op} (${r})` : `(${l}).${op}(${r})`;
    }
    // `like` on strings that often match its pattern (the widened generator: prefix, middles, suffix).
    if (g.chance(0.08)) return `${g.pick(['context.s', 'context.s', 'principal.email', 'context.args.reason'])} like ${this.pattern()}`;
    const k = g.int(d <= 0 ? 6 : 24);
    switch (k) {
      case 0:
        return g.pick(['true', 'false']);
      case 1:
        return g.pick(['context.flag', 'resource.irreversible', 'principal.active', 'context has onBehalfOf', 'context.args has reason']);
      case 2:
        return `${this.ent(0)} has ${g.pick(ATTRS)}`;
      case 3:
        return `${g.pick(['resource.risk', 'resource.effect', 'context.tier', 'context.labels.classification'])} == ${cedarString(g.pick(['low', 'high', 'read', 'write', 'financial', 'assist', 'internal', 'public']))}`;
      case 4:
        return `principal in ${lit(uid('Role', g.pick(ROLES)))}`;
      case 5:
        return `${g.pick(['context.amount', 'principal.level', 'resource.limit', 'context.args.amount_cents'])} ${g.pick(['<', '<=', '>', '>='])} ${g.pick([0, 5, 100, 4000, 2 ** 31])}`;
      case 6:
        return `(${this.bool(d - 1)}) && (${this.bool(d - 1)})`;
      case 7:
        return `(${this.bool(d - 1)}) || (${this.bool(d - 1)})`;
      case 8:
        return `!(${this.bool(d - 1)})`;
      case 9:
        return `(${this.long(d - 1)}) ${g.pick(['<', '<=', '>', '>='])} (${this.long(d - 1)})`;
      case 10:
        return `(${this.any(d - 1)}) ${g.pick(['==', '!='])} (${this.any(d - 1)})`;
      case 11:
        return `(${this.str(d - 1)}) like ${this.pattern()}`;
      case 12:
        return `(${this.ent(d - 1)}) in (${g.chance(0.6) ? this.ent(d - 1) : this.set(d - 1)})`;
      case 13:
        return g.chance(0.5)
          ? `(${this.ent(d - 1)}) is ${NS}::${g.pick(['User', 'Agent', 'Tool', 'Role'])}`
          : `(${this.ent(d - 1)}) is ${NS}::${g.pick(['User', 'Tool'])} in (${this.ent(d - 1)})`;
      case 14:
        return `(${this.rec(d - 1)}) has ${g.pick(['args', 'reason', 'amount_cents', 'a', 'missing', 'onBehalfOf'])}`;
      case 15:
        return `context has ${g.pick(['args.reason', 'args.nested.deep', 'labels.trust', 'target.x'])}`;
      case 16:
        return `(${this.set(d - 1)}).contains(${this.any(d - 1)})`;
      case 17:
        return `(${this.set(d - 1)}).${g.pick(['containsAll', 'containsAny'])}(${this.set(d - 1)})`;
      case 18:
        return `(${this.set(d - 1)}).isEmpty()`;
      case 19:
        return `if (${this.bool(d - 1)}) then (${this.bool(d - 1)}) else (${this.bool(d - 1)})`;
      case 20:
        return this.any(d - 1); // often not a bool: a type error
      case 21:
        return `action in ${g.chance(0.5) ? lit(uid('Action', 'any')) : `[${lit(uid('Action', g.pick(ACTIONS)))}, ${lit(uid('Action', 'any'))}]`}`;
      case 22:
        return `(context has args.amount_cents) && context.args.amount_cents ${g.pick(['<', '>'])} ${g.pick([50, 5000])}`;
      default:
        return `resource in ${lit(uid('ToolGroup', g.pick(GROUPS)))}`;
    }
  }

  long(d: number): string {
    const g = this.g;
    const k = g.int(d <= 0 ? 3 : 9);
    switch (k) {
      case 0:
        return String(g.pick([0, 1, -1, 7, 100, 4000, 2 ** 31, 2 ** 52, 9007199254740991, -9007199254740991]));
      case 1:
        return g.pick(['context.amount', 'principal.level', 'resource.limit', 'context.args.amount_cents']);
      case 2:
        return g.pick(['context.amount', '2147483648']);
      case 3:
        return `(${this.long(d - 1)}) + (${this.long(d - 1)})`;
      case 4:
        return `(${this.long(d - 1)}) - (${this.long(d - 1)})`;
      case 5:
        return `(${this.long(d - 1)}) * (${this.long(d - 1)})`;
      case 6:
        return `-(${this.long(d - 1)})`;
      case 7:
        return `if (${this.bool(d - 1)}) then (${this.long(d - 1)}) else (${this.long(d - 1)})`;
      default:
        return `{a: ${this.long(d - 1)}, b: ${this.str(d - 1)}}.${g.pick(['a', 'a', 'b'])}`;
    }
  }

  str(d: number): string {
    const g = this.g;
    const k = g.int(d <= 0 ? 3 : 4);
    switch (k) {
      case 0:
        return cedarString(g.pick(WORDS));
      case 1:
        return g.pick(['resource.risk', 'resource.effect', 'resource.connector', 'principal.email', 'context.tier', 'context.workflow']);
      case 2:
        return g.pick(['context.args.reason', 'context.onBehalfOf', 'context.labels.classification', 'context.args.nested.deep', 'context.s', 'context.s']);
      default:
        return `if (${this.bool(d - 1)}) then (${this.str(d - 1)}) else (${this.str(d - 1)})`;
    }
  }

  ent(d: number): string {
    const g = this.g;
    const k = g.int(d <= 0 ? 4 : 5);
    switch (k) {
      case 0:
        return g.pick(['principal', 'resource', 'action']);
      case 1:
        return lit(g.chance(0.5) ? uid('Role', g.pick(ROLES)) : uid('ToolGroup', g.pick(GROUPS)));
      case 2:
        return g.pick(['context.target', 'principal.manager', 'principal']);
      case 3:
        return lit(g.chance(0.5) ? uid('User', g.pick(USERS)) : uid('Tool', g.pick(TOOLS)));
      default:
        return `if (${this.bool(d - 1)}) then (${this.ent(d - 1)}) else (${this.ent(d - 1)})`;
    }
  }

  set(d: number): string {
    const g = this.g;
    const k = g.int(d <= 0 ? 4 : 5);
    switch (k) {
      case 0:
        return `[${g.subset(WORDS, 0.2).map(cedarString).join(', ')}]`;
      case 1:
        return g.pick(['context.items', 'principal.tags']);
      case 2:
        return `[${[...g.subset(ROLES, 0.5).map((r) => lit(uid('Role', r))), ...(g.chance(0.3) ? ['1'] : [])].join(', ')}]`;
      case 3:
        return `[${g.pick([1, 2, 7])}, ${cedarString(g.pick(WORDS))}]`;
      default:
        return `[${this.any(d - 1)}, ${this.any(d - 1)}]`;
    }
  }

  rec(d: number): string {
    const g = this.g;
    const k = g.int(d <= 0 ? 2 : 3);
    switch (k) {
      case 0:
        return g.pick(['context', 'context.args', 'context.labels', 'principal', 'resource']);
      case 1:
        return `{a: 1, reason: ${cedarString(g.pick(WORDS))}}`;
      default:
        return `{a: ${this.any(d - 1)}, args: ${this.rec(d - 1)}}`;
    }
  }

  /** An expression of (mostly) type decimal: literals (now and then malformed), context and attribute values. */
  dec(d: number): string {
    const g = this.g;
    switch (g.int(d <= 0 ? 4 : 5)) {
      case 0:
        return `decimal(${cedarString(g.chance(0.9) ? g.pick(DECIMALS) : g.pick(['1.23456', '1', 'x', '922337203685477.5808']))})`;
      case 1:
        return 'context.price';
      case 2:
        return g.pick(['principal.budget', 'context.price', 'context.amount']);
      case 3:
        return `decimal(${g.pick(['context.s', '"12.5"', 'context.workflow'])})`;
      default:
        return `if (${this.bool(d - 1)}) then (${this.dec(d - 1)}) else (${this.dec(d - 1)})`;
    }
  }

  any(d: number): string {
    if (this.g.chance(0.03)) return 'context.addr';
    if (this.g.chance(0.05)) return this.dec(d);
    switch (this.g.int(6)) {
      case 0:
        return this.bool(d);
      case 1:
        return this.long(d);
      case 2:
        return this.str(d);
      case 3:
        return this.ent(d);
      case 4:
        return this.set(d);
      default:
        return this.rec(d);
    }
  }

  pattern(): string {
    if (this.g.chance(0.6)) return likePattern(this.g);
    const n = this.g.int(5);
    let out = '';
    for (let i = 0; i < n; i++) {
      if (this.g.chance(0.35)) out += '*';
      else {
        const c = this.g.pick(CHARS);
        out += c === '*' ? '\\*' : c === '\\' ? '\\\\' : c;
      }
    }
    return `"${out}"`;
  }
}

function genScope(g: Gen): string {
  const principal = g.pick([
    'principal',
    `principal == ${lit(uid('User', g.pick(USERS)))}`,
    `principal in ${lit(uid('Role', g.pick(ROLES)))}`,
    `principal is ${NS}::User`,
    `principal is ${NS}::Agent in ${lit(uid('Role', g.pick(ROLES)))}`,
  ]);
  const action = g.pick([
    'action',
    `action == ${lit(uid('Action', g.pick(ACTIONS)))}`,
    `action in [${lit(uid('Action', g.pick(ACTIONS)))}, ${lit(uid('Action', g.pick(ACTIONS)))}]`,
    `action in ${lit(uid('Action', 'any'))}`,
  ]);
  const resource = g.pick([
    'resource',
    `resource == ${lit(uid('Tool', g.pick(TOOLS)))}`,
    `resource in ${lit(uid('ToolGroup', g.pick(GROUPS)))}`,
    `resource is ${NS}::Tool`,
    `resource is ${NS}::Tool in ${lit(uid('ToolGroup', g.pick(GROUPS)))}`,
  ]);
  return `${principal}, ${action}, ${resource}`;
}

function genPolicySet(g: Gen, n: number): Record<string, string> {
  const e = new ExprGen(g);
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const effect = g.chance(0.65) ? 'permit' : 'forbid';
    let clauses = '';
    const nc = g.int(3);
    for (let c = 0; c < nc; c++) clauses += ` ${g.chance(0.7) ? 'when' : 'unless'} { ${e.bool(g.int(4))} }`;
    out[`p${i}`] = `${effect}(${genScope(g)})${clauses};`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The differential run

describe('fast engine vs cedar-wasm (differential)', () => {
  // 100,000 generated requests in four parts of 25,000 (400 policy sets in all), each part its own test
  // with its own seed, so that a slow machine never turns one long test into a timeout.
  for (const [part, seed] of [[1, 0xa1c0c], [2, 0xa1c0d], [3, 0xa1c0e], [4, 0xa1c0f]] as const) it(`agrees on decision, determining policies and errored policies over 25,000 generated requests (part ${part} of 4), alone and as in production (with the cedar-wasm fallback)`, () => {
    const SETS = 100;
    const REQUESTS = 250;
    const g = new Gen(seed);
    let compared = 0;
    let fallbackCalls = 0;
    const stats = { allow: 0, deny: 0, withErrors: 0, withDetermining: 0 };
    const mismatches: string[] = [];
    for (let s = 0; s < SETS && mismatches.length < 3; s++) {
      const policies = genPolicySet(g, 4 + g.int(20));
      const setId = `fast-diff-${part}-${s}`;
      const parsed = cedar.preparsePolicySet(setId, { staticPolicies: policies });
      if (parsed.type === 'failure') throw new Error(`generated an unparsable set: ${parsed.errors.map((x) => x.message).join('; ')}\n${Object.values(policies).join('\n')}`);
      const compiled = compileFastEngine(policies);
      if ('unsupported' in compiled) throw new Error(`fast engine refused a generated set: ${compiled.unsupported}`);
      // As `compilePolicies` sets it up: the fast path, with cedar-wasm for values only it evaluates.
      const wasm = createWasmEngine(policies, setId);
      const fallback = { name: wasm.name, authorize: (r: CedarRequest, e: readonly CedarEntity[]) => (fallbackCalls++, wasm.authorize(r, e)) };
      const production = compileFastEngine(policies, { fallback });
      if ('unsupported' in production) throw new Error(production.unsupported);
      const world = genWorld(g);
      for (let q = 0; q < REQUESTS; q++) {
        const request = genRequest(g);
        const entities = entitiesFor(g, world, request);
        const want = wasmCall(setId, request, entities);
        const got = normaliseFast(production.engine.authorize(request, entities));
        // Alone, the fast path refuses values only cedar-wasm evaluates (an `ip` in the context); otherwise it must agree too.
        const alone = hasIp(request) ? got : normaliseFast(compiled.engine.authorize(request, entities));
        compared++;
        stats[want.decision]++;
        if (want.errored.length > 0) stats.withErrors++;
        if (want.determining.length > 0) stats.withDetermining++;
        if (JSON.stringify(want) !== JSON.stringify(got) || JSON.stringify(want) !== JSON.stringify(alone)) {
          mismatches.push(
            `set ${s}, request ${q}\nwasm: ${JSON.stringify(want)}\nproduction: ${JSON.stringify(got)}\nfast alone: ${JSON.stringify(alone)}\nrequest: ${JSON.stringify(request)}\n` +
              `policies:\n${Object.entries(policies).map(([id, t]) => `  ${id}: ${t}`).join('\n')}\nentities: ${JSON.stringify(entities)}`,
          );
          break;
        }
      }
    }
    console.log(`fast-differential part ${part}: ${compared} requests, ${fallbackCalls} answered by the fallback`, stats);
    expect(mismatches.join('\n\n')).toBe('');
    expect(compared).toBeGreaterThanOrEqual(25_000);
    // The generator must exercise both decisions, the error path and the fallback in earnest.
    expect(stats.allow).toBeGreaterThan(compared * 0.1);
    expect(stats.deny).toBeGreaterThan(compared * 0.1);
    expect(stats.withErrors).toBeGreaterThan(compared * 0.1);
    expect(fallbackCalls).toBeGreaterThan(compared * 0.03);
    expect(fallbackCalls).toBeLessThan(compared * 0.3);
  }, 240_000);

  it('like: patterns with a prefix, middles and a suffix agree with cedar-wasm on strings they often match', () => {
    const g = new Gen(0x11ce);
    let compared = 0;
    let matched = 0;
    const shapes = { multiMiddle: 0, prefixMiddleSuffix: 0 };
    const mismatches: string[] = [];
    for (let s = 0; s < 60 && mismatches.length === 0; s++) {
      const policies: Record<string, string> = {};
      for (let i = 0; i < 40; i++) {
        const pattern = likePattern(g);
        const body = pattern.slice(1, -1).replace(/\\\*/g, '');
        const pieces = body.split('*');
        if (pieces.length >= 4) shapes.multiMiddle++;
        if (pieces.length >= 3 && pieces[0] !== '' && pieces[pieces.length - 1] !== '') shapes.prefixMiddleSuffix++;
        policies[`p${i}`] = `permit(principal, action, resource) when { context.s like ${pattern} };`;
      }
      const setId = `like-diff-${s}`;
      const parsed = cedar.preparsePolicySet(setId, { staticPolicies: policies });
      if (parsed.type === 'failure') throw new Error(parsed.errors.map((x) => x.message).join('; '));
      const compiled = compileFastEngine(policies);
      if ('unsupported' in compiled) throw new Error(compiled.unsupported);
      for (let q = 0; q < 200; q++) {
        const request = req({ s: likeString(g, 12) });
        const want = wasmCall(setId, request, baseEntities);
        const got = normaliseFast(compiled.engine.authorize(request, baseEntities));
        compared++;
        matched += want.determining.length;
        if (JSON.stringify(want) !== JSON.stringify(got)) {
          const differ = [...new Set([...want.determining, ...got.determining])].filter((id) => want.determining.includes(id) !== got.determining.includes(id));
          mismatches.push(`string ${JSON.stringify(request.context['s'])}: ${differ.map((id) => `${policies[id]} (cedar-wasm: ${want.determining.includes(id)})`).join('; ')}`);
          break;
        }
      }
    }
    expect(mismatches.join('\n')).toBe('');
    expect(compared).toBe(12_000);
    // Matches must be common (not a test of non-matching), and the tricky shapes present.
    expect(matched).toBeGreaterThan(compared * 40 * 0.05);
    expect(shapes.multiMiddle).toBeGreaterThan(200);
    expect(shapes.prefixMiddleSuffix).toBeGreaterThan(200);
  }, 60_000);
});

/** True when a request's context carries an `ip` extension value (only cedar-wasm evaluates those). */
function hasIp(request: CedarRequest): boolean {
  return JSON.stringify(request.context).includes('"fn":"ip"');
}

// ---------------------------------------------------------------------------------------------------------------
// Tricky cases, each checked against cedar-wasm as well as against the expected answer

const alice = uid('User', 'alice');
const call = uid('Action', 'call');
const refund = uid('Tool', 'payments.refund');
const baseEntities: CedarEntity[] = [
  { uid: alice, attrs: { level: 3, email: 'alice@acme.com' }, parents: [uid('Role', 'support')] },
  { uid: uid('Role', 'support'), attrs: {}, parents: [uid('Role', 'staff')] },
  { uid: refund, attrs: { risk: 'medium', effect: 'financial' }, parents: [uid('ToolGroup', 'payments')] },
];
const req = (context: Record<string, CedarValue> = {}, over: Partial<CedarRequest> = {}): CedarRequest => ({
  principal: alice,
  action: call,
  resource: refund,
  context,
  ...over,
});

function check(policies: Record<string, string>, request: CedarRequest, expected: Normalised, entities: readonly CedarEntity[] = baseEntities): void {
  const { fast, wasm } = both(policies, request, entities);
  expect(wasm).toEqual(expected);
  expect(fast).toEqual(expected);
}

describe('fast engine: tricky cases', () => {
  it('short-circuit hides an error on the right of && and ||', () => {
    check(
      {
        a: 'permit(principal, action, resource) when { false && context.missing };',
        b: 'permit(principal, action, resource) when { true || context.missing };',
        c: 'permit(principal, action, resource) when { true && context.missing };',
      },
      req(),
      { decision: 'allow', determining: ['b'], errored: ['c'] },
    );
  });

  it('a non-bool operand of && is a type error, and so is a non-bool condition', () => {
    check(
      {
        a: 'permit(principal, action, resource) when { 1 && true };',
        b: 'permit(principal, action, resource) when { context.n };',
        c: 'forbid(principal, action, resource) unless { context.s };',
      },
      req({ n: 1, s: 'x' }),
      { decision: 'deny', determining: [], errored: ['a', 'b', 'c'] },
    );
  });

  it('unless: a true body stops the policy, an erroring body errors it', () => {
    check(
      {
        a: 'permit(principal, action, resource) unless { resource.risk == "medium" };',
        b: 'permit(principal, action, resource) unless { resource.risk == "high" };',
        c: 'forbid(principal, action, resource) when { false } unless { context.missing };',
        d: 'forbid(principal, action, resource) unless { principal.missing };',
      },
      req(),
      { decision: 'allow', determining: ['b'], errored: ['d'] },
    );
  });

  it('like: wildcards, escaped stars, non-ASCII', () => {
    check(
      {
        star: String.raw`permit(principal, action, resource) when { context.s like "a\*b" };`,
        wild: 'permit(principal, action, resource) when { context.s like "a*b" };',
        overlap: 'permit(principal, action, resource) when { context.t like "ab*ba" };',
        emoji: 'permit(principal, action, resource) when { context.u like "*😀?" };',
      },
      req({ s: 'a*b', t: 'aba', u: 'é😀?' }),
      { decision: 'allow', determining: ['emoji', 'star', 'wild'], errored: [] },
    );
    check({ star: String.raw`permit(principal, action, resource) when { context.s like "a\*b" };` }, req({ s: 'axb' }), {
      decision: 'deny',
      determining: [],
      errored: [],
    });
  });

  it('Long arithmetic overflows at 64 bits, exactly beyond 2^53', () => {
    check(
      {
        over: 'permit(principal, action, resource) when { context.n * context.n > 0 };',
        exact: 'permit(principal, action, resource) when { (context.m * context.m + 1) - context.m * context.m == 1 };',
        edge: 'permit(principal, action, resource) when { 9007199254740991 + 9007199254740991 > 9007199254740991 };',
        min: 'permit(principal, action, resource) when { -((context.m * context.m - 1) * 2 + 1) - 1 < 0 };',
        under: 'permit(principal, action, resource) when { -((context.m * context.m - 1) * 2 + 1) - 2 < 0 };',
      },
      req({ n: 2 ** 40, m: 2 ** 31 }),
      { decision: 'allow', determining: ['edge', 'exact', 'min'], errored: ['over', 'under'] },
    );
  });

  it('has on a missing entity is false; attribute access on it is an error', () => {
    check(
      {
        has: 'permit(principal, action, resource) when { !(context.who has level) };',
        get: 'permit(principal, action, resource) when { context.who.level > 1 };',
      },
      req({ who: ref(uid('User', 'ghost')) }),
      { decision: 'allow', determining: ['has'], errored: ['get'] },
    );
  });

  it('in: transitive, reflexive, and a set with a non-entity is a type error', () => {
    check(
      {
        trans: 'permit(principal in Airlock::Role::"staff", action, resource);',
        refl: 'permit(principal, action, resource) when { principal in principal };',
        bad: 'permit(principal, action, resource) when { principal in [Airlock::Role::"support", 1] };',
        isin: 'forbid(principal is Airlock::User in Airlock::Role::"nobody", action, resource);',
      },
      req(),
      { decision: 'allow', determining: ['refl', 'trans'], errored: ['bad'] },
    );
  });

  it('is ... in evaluates its right side only when the type matches', () => {
    check(
      {
        hidden: 'permit(principal, action, resource) when { principal is Airlock::Agent in context.missing };',
        shown: 'permit(principal, action, resource) when { principal is Airlock::User in context.missing };',
      },
      req(),
      { decision: 'deny', determining: [], errored: ['shown'] },
    );
  });

  it('sets and records compare structurally', () => {
    check(
      {
        set: 'permit(principal, action, resource) when { [1, 2, 2] == [2, 1] && context.s.containsAll(["a"]) && !context.s.containsAny([]) };',
        rec: 'permit(principal, action, resource) when { {a: 1, b: [Airlock::Role::"x"]} == context.r };',
        neq: 'forbid(principal, action, resource) when { {a: 1} == {a: 1, b: 2} };',
      },
      req({ s: ['a', 'b'], r: { b: [ref(uid('Role', 'x'))], a: 1 } }),
      { decision: 'allow', determining: ['rec', 'set'], errored: [] },
    );
  });

  it('decimal: compared by value with its methods and ==; < and mixed types are type errors; a malformed literal errors', () => {
    const d = (arg: string): CedarValue => ({ __extn: { fn: 'decimal', arg } });
    check(
      {
        eq: 'permit(principal, action, resource) when { context.p == decimal("99.9900") && context.p != decimal("99.98") };',
        lte: 'permit(principal, action, resource) when { context.p.lessThanOrEqual(decimal("99.99")) && !context.p.lessThan(decimal("99.99")) };',
        neg: 'permit(principal, action, resource) when { decimal("-0.5").lessThan(decimal("-0.0")) && context.min.lessThan(context.p) };',
        text: 'permit(principal, action, resource) when { decimal(context.t).greaterThanOrEqual(context.p) };',
        set: 'permit(principal, action, resource) when { [decimal("1.0"), context.p].contains(decimal("99.990")) };',
        long: 'forbid(principal, action, resource) when { context.p == 99 };',
        lt: 'forbid(principal, action, resource) when { context.p < decimal("100.0") };',
        mixed: 'forbid(principal, action, resource) when { context.p.lessThan(100) };',
        bad: 'forbid(principal, action, resource) when { context.p.lessThan(decimal("1.23456")) };',
        over: 'forbid(principal, action, resource) when { decimal("922337203685477.5808") == context.p };',
      },
      req({ p: d('99.99'), min: d('-922337203685477.5808'), t: '100.0' }),
      { decision: 'allow', determining: ['eq', 'lte', 'neg', 'set', 'text'], errored: ['bad', 'lt', 'mixed', 'over'] },
    );
  });

  it('a satisfied forbid overrides permits and alone determines the deny', () => {
    check(
      {
        p: 'permit(principal, action == Airlock::Action::"call", resource in Airlock::ToolGroup::"payments");',
        f: 'forbid(principal, action, resource is Airlock::Tool) when { resource.effect == "financial" && context.amount > 5000 };',
      },
      req({ amount: 9000 }),
      { decision: 'deny', determining: ['f'], errored: [] },
    );
  });

  it('refuses what it does not compile, so the caller falls back', () => {
    for (const text of [
      'permit(principal, action, resource) when { ip("10.0.0.1").isLoopback() };',
      'permit(principal, action, resource) when { context.d < datetime("2024-01-01") };',
      'permit(principal == ?principal, action, resource);',
      'permit(principal, action, resource) when { context.n > 9223372036854775807 };',
      'permit(principal, action, resource) when { resource.hasTag("a") };',
    ]) {
      expect(compileFastEngine({ x: text })).toHaveProperty('unsupported');
    }
    expect(compileFastEngine({ x: 'permit(principal, action, resource' })).toHaveProperty('unsupported');
  });

  it('takes a policy-set text, with @id or Cedar’s own policyN ids', () => {
    const text = Array.from({ length: 12 }, (_, i) => `permit(principal, action, resource) when { context.i == ${i} };`).join('\n');
    const compiled = compileFastEngine(`@id("first") forbid(principal, action, resource) when { context.i == 99 };\n${text}`);
    if ('unsupported' in compiled) throw new Error(compiled.unsupported);
    expect(compiled.engine.authorize(req({ i: 10 }), baseEntities).determining).toEqual(['policy11']);
    expect(compiled.engine.authorize(req({ i: 99 }), baseEntities).determining).toEqual(['first']);
  });

  it('hands requests carrying extension values that matter to the fallback engine', () => {
    const fallback = { name: 'stub', authorize: (): EngineResult => ({ decision: 'allow', determining: ['stub'], errors: [] }) };
    const compiled = compileFastEngine({ x: 'permit(principal, action, resource) when { context.a == context.b };' }, { fallback });
    if ('unsupported' in compiled) throw new Error(compiled.unsupported);
    const extn = (): CedarValue => ({ __extn: { fn: 'ip', arg: '10.0.0.1' } }) as unknown as CedarValue;
    expect(compiled.engine.authorize(req({ a: extn(), b: extn() }), baseEntities).determining).toEqual(['stub']);
    expect(compiled.engine.authorize(req({ a: 1, b: 1 }), baseEntities).determining).toEqual(['x']);
  });
});
