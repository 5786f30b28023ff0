// Compiles Cedar JSON EST condition expressions into JavaScript closures with Cedar's evaluation semantics.
import { parseDecimal } from '../decimal.js';
import type { CedarEntity, CedarRequest, CedarValue, EntityUid } from '../engine.js';

/** A runtime value: Cedar JSON values, plus `bigint` for Longs outside JavaScript's safe-integer range. */
export type Value = CedarValue | bigint;

/** A compiled expression: evaluates against one request, throws `EvalError` where Cedar raises an evaluation error. */
export type Compiled = (env: EvalEnv) => Value;

/** The outcome of compiling an expression: a closure, or why the fast path cannot take it. */
export type CompileResult = { readonly fn: Compiled } | { readonly unsupported: string };

/**
 * A Cedar evaluation error (missing attribute, type error, overflow...). Thrown by compiled closures and caught
 * per policy; deliberately not an `Error`, so throwing it captures no stack trace.
 */
export class EvalError {
  constructor(readonly message: string) {}
}

/**
 * Thrown when request data holds a value the fast path does not model exactly (an `__extn` extension value
 * reaching an operation whose Cedar result depends on it). The engine then answers with its fallback.
 */
export class NeedsFallback {
  constructor(readonly message: string) {}
}

type EntityRef = { readonly __entity: EntityUid };
type RecordValue = { readonly [k: string]: CedarValue };

const hasOwn = Object.prototype.hasOwnProperty;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;
/** Above this many entities a request's entities are indexed in a Map; below, a linear scan is cheaper. */
const LINEAR_SCAN_MAX = 12;

/**
 * The per-request evaluation environment: the four variables, and the request's entities indexed lazily by uid
 * with ancestor sets computed once per entity per request.
 */
export class EvalEnv {
  readonly principal: EntityRef;
  readonly action: EntityRef;
  readonly resource: EntityRef;
  readonly context: RecordValue;
  private readonly entities: readonly CedarEntity[];
  private index: Map<string, Map<string, CedarEntity>> | undefined;
  private ancestorCache: Map<CedarEntity, readonly EntityUid[]> | undefined;

  constructor(request: CedarRequest, entities: readonly CedarEntity[]) {
    this.principal = { __entity: request.principal };
    this.action = { __entity: request.action };
    this.resource = { __entity: request.resource };
    this.context = request.context;
    this.entities = entities;
  }

  /** The entity with this uid among the request's entities (the first one, if duplicated), or undefined. */
  entity(uid: EntityUid): CedarEntity | undefined {
    const list = this.entities;
    if (list.length <= LINEAR_SCAN_MAX) {
      for (let i = 0; i < list.length; i++) {
        const e = list[i] as CedarEntity;
        if (e.uid.id === uid.id && e.uid.type === uid.type) return e;
      }
      return undefined;
    }
    let index = this.index;
    if (index === undefined) {
      index = new Map();
      for (const e of list) {
        let byId = index.get(e.uid.type);
        if (byId === undefined) index.set(e.uid.type, (byId = new Map()));
        if (!byId.has(e.uid.id)) byId.set(e.uid.id, e);
      }
      this.index = index;
    }
    return index.get(uid.type)?.get(uid.id);
  }

  /** All transitive ancestors of `uid` (parents of entities absent from the request end the walk), cached per request. */
  ancestors(uid: EntityUid): readonly EntityUid[] {
    const start = this.entity(uid);
    if (start === undefined) return NO_UIDS;
    let cache = this.ancestorCache;
    if (cache === undefined) this.ancestorCache = cache = new Map();
    const hit = cache.get(start);
    if (hit !== undefined) return hit;
    const out: EntityUid[] = [];
    const stack: EntityUid[] = [...start.parents];
    while (stack.length > 0) {
      const p = stack.pop() as EntityUid;
      if (indexOfUid(out, p) >= 0) continue;
      out.push(p);
      const pe = this.entity(p);
      if (pe !== undefined) for (const q of pe.parents) stack.push(q);
    }
    cache.set(start, out);
    return out;
  }

  /** Cedar's `in` on two entities: equal, or `target` is an ancestor of `uid`. */
  isIn(uid: EntityUid, target: EntityUid): boolean {
    if (uid.id === target.id && uid.type === target.type) return true;
    return indexOfUid(this.ancestors(uid), target) >= 0;
  }
}

const NO_UIDS: readonly EntityUid[] = Object.freeze([]);

/** Index of `uid` in `list` by type and id, or -1. */
function indexOfUid(list: readonly EntityUid[], uid: EntityUid): number {
  for (let i = 0; i < list.length; i++) {
    const u = list[i] as EntityUid;
    if (u.id === uid.id && u.type === uid.type) return i;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------------------------
// Value helpers

function isObj(v: Value): v is { readonly [k: string]: CedarValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True for an entity reference `{ __entity: uid }`. */
function isEntity(v: Value): v is EntityRef {
  return isObj(v) && (v as { __entity?: unknown }).__entity !== undefined;
}

function isExtn(v: Value): boolean {
  return isObj(v) && (v as { __extn?: unknown }).__extn !== undefined;
}

type ExtnValue = { readonly __extn: { readonly fn: string; readonly arg: string } };

/** Decimal values seen so far, with their value in ten-thousandths (parsed once per value object). */
const DECIMALS = new WeakMap<object, bigint>();

/** The value of a Cedar `decimal` in ten-thousandths, or undefined for anything else. */
function decimalOf(v: Value): bigint | undefined {
  if (!isObj(v)) return undefined;
  const cached = DECIMALS.get(v);
  if (cached !== undefined) return cached;
  const x = (v as Partial<ExtnValue>).__extn;
  if (x === undefined || x.fn !== 'decimal') return undefined;
  const parsed = parseDecimal(x.arg);
  // INVARIANT: the engine boundary refused malformed decimals (cedarInputProblem), so this parse succeeds.
  if ('error' in parsed) throw new EvalError(`error while evaluating \`decimal\` extension function: ${parsed.error}`);
  DECIMALS.set(v, parsed.scaled);
  return parsed.scaled;
}

/** A decimal value built by `decimal("…")` in a policy: the JSON form, with its parsed value cached. */
function makeDecimal(arg: string): Value {
  const parsed = parseDecimal(arg);
  if ('error' in parsed) throw new EvalError(`error while evaluating \`decimal\` extension function: ${parsed.error}`);
  const v = Object.freeze({ __extn: Object.freeze({ fn: 'decimal', arg }) });
  DECIMALS.set(v, parsed.scaled);
  return v;
}


function isLong(v: Value): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint';
}

/** Cedar's name for a value's type, for error messages. */
function typeName(v: Value): string {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'long';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return 'set';
  if (isEntity(v)) return 'entity';
  if (isExtn(v)) return (v as ExtnValue).__extn.fn;
  return 'record';
}

function typeError(expected: string, v: Value): EvalError {
  return new EvalError(`type error: expected ${expected}, got ${typeName(v)}`);
}

function uidText(u: EntityUid): string {
  return `${u.type}::${JSON.stringify(u.id)}`;
}

/**
 * Cedar's `==`: structural, never an error; sets compare as sets, records by keys and values, entities by uid.
 * INVARIANT: Longs are numbers when safe and bigints only when not, so a number never equals a bigint.
 */
function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const aSet = Array.isArray(a);
  const bSet = Array.isArray(b);
  if (aSet || bSet) {
    if (!aSet || !bSet) return false;
    const as = a as readonly Value[];
    const bs = b as readonly Value[];
    for (const x of as) if (!setHas(bs, x)) return false;
    for (const y of bs) if (!setHas(as, y)) return false;
    return true;
  }
  const ae = (a as { __entity?: EntityUid }).__entity;
  const be = (b as { __entity?: EntityUid }).__entity;
  if (ae !== undefined || be !== undefined) {
    if (ae === undefined || be === undefined) return false;
    return ae.id === be.id && ae.type === be.type;
  }
  const ax = (a as { __extn?: unknown }).__extn !== undefined;
  const bx = (b as { __extn?: unknown }).__extn !== undefined;
  if (ax || bx) {
    if (!ax || !bx) return false;
    const ad = decimalOf(a);
    const bd = decimalOf(b);
    if (ad !== undefined && bd !== undefined) return ad === bd;
    if (ad !== undefined || bd !== undefined) return false;
    throw new NeedsFallback('equality of extension values');
  }
  const ar = a as RecordValue;
  const br = b as RecordValue;
  let n = 0;
  for (const k in ar) {
    if (!hasOwn.call(ar, k)) continue;
    if (!hasOwn.call(br, k) || !valueEquals(ar[k] as Value, br[k] as Value)) return false;
    n++;
  }
  let m = 0;
  for (const k in br) if (hasOwn.call(br, k)) m++;
  return n === m;
}

function setHas(set: readonly Value[], x: Value): boolean {
  if (typeof x !== 'object') {
    for (let i = 0; i < set.length; i++) if (set[i] === x) return true;
    return false;
  }
  for (let i = 0; i < set.length; i++) if (valueEquals(set[i] as Value, x)) return true;
  return false;
}

function normalizeLong(r: bigint): number | bigint {
  if (r > I64_MAX || r < I64_MIN) throw new EvalError('integer overflow');
  return r <= BigInt(MAX_SAFE) && r >= -BigInt(MAX_SAFE) ? Number(r) : r;
}

function toBig(v: number | bigint): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isInteger(v)) throw new EvalError('a Long must be an integer');
  return BigInt(v);
}

function checkLongs(a: Value, b: Value): void {
  checkLong(a);
  checkLong(b);
}

function checkLong(v: Value): void {
  // Cedar's `<` also orders datetimes and durations (only cedar-wasm evaluates those); never decimals.
  if (isExtn(v) && decimalOf(v) === undefined) throw new NeedsFallback('arithmetic or comparison on an extension value');
  if (!isLong(v)) throw typeError('long', v);
}

// INVARIANT: the number path is exact: for safe-integer operands, a float result within ±MAX_SAFE is the exact result.
function add(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
  }
  checkLongs(a, b);
  return normalizeLong(toBig(a as number | bigint) + toBig(b as number | bigint));
}

function sub(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a - b;
    if (r <= MAX_SAFE && r >= -MAX_SAFE) return r;
  }
  checkLongs(a, b);
  return normalizeLong(toBig(a as number | bigint) - toBig(b as number | bigint));
}

function mul(a: Value, b: Value): Value {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a * b;
    if (r <= MAX_SAFE && r >= -MAX_SAFE) return r === 0 ? 0 : r; // no -0
  }
  checkLongs(a, b);
  return normalizeLong(toBig(a as number | bigint) * toBig(b as number | bigint));
}

function neg(a: Value): Value {
  if (typeof a === 'number') return a === 0 ? 0 : -a;
  if (typeof a === 'bigint') return normalizeLong(-a);
  if (isExtn(a) && decimalOf(a) === undefined) throw new NeedsFallback('negation of an extension value');
  throw typeError('long', a);
}

function getAttr(env: EvalEnv, v: Value, attr: string): Value {
  if (isObj(v)) {
    const uid = (v as { __entity?: EntityUid }).__entity;
    if (uid !== undefined) {
      const e = env.entity(uid);
      if (e === undefined) throw new EvalError(`entity \`${uidText(uid)}\` does not exist`);
      if (!hasOwn.call(e.attrs, attr)) throw new EvalError(`\`${uidText(uid)}\` does not have the attribute \`${attr}\``);
      return e.attrs[attr] as Value;
    }
    if ((v as { __extn?: unknown }).__extn !== undefined) throw typeError('entity or record', v);
    if (!hasOwn.call(v, attr)) throw new EvalError(`record does not have the attribute \`${attr}\``);
    return (v as RecordValue)[attr] as Value;
  }
  throw typeError('entity or record', v);
}

function hasAttr(env: EvalEnv, v: Value, attr: string): boolean {
  if (isObj(v)) {
    const uid = (v as { __entity?: EntityUid }).__entity;
    if (uid !== undefined) {
      const e = env.entity(uid);
      return e !== undefined && hasOwn.call(e.attrs, attr);
    }
    if ((v as { __extn?: unknown }).__extn !== undefined) throw typeError('entity or record', v);
    return hasOwn.call(v, attr);
  }
  throw typeError('entity or record', v);
}

function asBool(v: Value): boolean {
  if (v === true || v === false) return v;
  throw typeError('bool', v);
}

function asSet(v: Value): readonly Value[] {
  if (Array.isArray(v)) return v as readonly Value[];
  throw typeError('set', v);
}

function asUid(v: Value): EntityUid {
  if (isObj(v)) {
    const uid = (v as { __entity?: EntityUid }).__entity;
    if (uid !== undefined) return uid;
  }
  throw typeError('entity', v);
}

/** Cedar's `in`: the left an entity, the right an entity or a set of entities (every element checked). */
function evalIn(env: EvalEnv, l: Value, r: Value): boolean {
  const uid = asUid(l);
  if (Array.isArray(r)) {
    const targets = r as readonly Value[];
    for (const t of targets) asUid(t);
    for (const t of targets) if (env.isIn(uid, asUid(t))) return true;
    return false;
  }
  return env.isIn(uid, asUid(r));
}

// ---------------------------------------------------------------------------------------------------------------
// `like`

/** Compiles a Cedar `like` pattern (literal runs and `*` wildcards) into a string predicate. */
function compileLike(segments: readonly string[], leading: boolean, trailing: boolean): (s: string) => boolean {
  // segments: literal runs between wildcards; `leading`/`trailing`: the pattern starts/ends with a wildcard.
  if (segments.length === 0) return leading ? () => true : (s) => s === '';
  const first = segments[0] as string;
  const last = segments[segments.length - 1] as string;
  if (!leading && !trailing && segments.length === 1) return (s) => s === first;
  if (!leading && trailing && segments.length === 1) return (s) => s.startsWith(first);
  if (leading && !trailing && segments.length === 1) return (s) => s.endsWith(first);
  const prefix = leading ? '' : first;
  const suffix = trailing ? '' : last;
  const middle = segments.slice(leading ? 0 : 1, trailing ? segments.length : segments.length - 1);
  // INVARIANT: with only `*` wildcards, leftmost-greedy placement of each middle literal is complete.
  return (s) => {
    if (s.length < prefix.length + suffix.length) return false;
    if (!s.startsWith(prefix) || !s.endsWith(suffix)) return false;
    let pos = prefix.length;
    const end = s.length - suffix.length;
    for (const seg of middle) {
      const i = s.indexOf(seg, pos);
      if (i < 0 || i + seg.length > end) return false;
      pos = i + seg.length;
    }
    return true;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The compiler

/** Internal signal while compiling: the expression leaves the supported subset. */
class Unsupported {
  constructor(readonly reason: string) {}
}

type Est = { readonly [k: string]: unknown };

/**
 * Compiles one EST expression (`{ Value }`, `{ Var }`, `{ "&&": { left, right } }`...) into a closure.
 * Anything outside the supported subset (slots, extension functions, tags, big literals) is reported as unsupported.
 */
export function compileExpr(est: unknown): CompileResult {
  try {
    return { fn: compile(est) };
  } catch (e) {
    if (e instanceof Unsupported) return { unsupported: e.reason };
    throw e;
  }
}

/** Compiles a `when`/`unless` body into a predicate: the body must evaluate to a bool, else a type error. */
export function compileCondition(est: unknown, kind: 'when' | 'unless'): { readonly fn: (env: EvalEnv) => boolean } | { readonly unsupported: string } {
  const r = compileExpr(est);
  if ('unsupported' in r) return r;
  const body = r.fn;
  return { fn: kind === 'when' ? (env) => asBool(body(env)) : (env) => !asBool(body(env)) };
}

/** Checks a literal value from the EST and returns it frozen; big Longs, floats and extension values are unsupported. */
function literal(v: unknown): Value {
  if (typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Unsupported(`the Long literal ${v} is outside the safe-integer range`);
    return v === 0 ? 0 : v;
  }
  if (Array.isArray(v)) return Object.freeze(v.map(literal)) as readonly CedarValue[];
  if (typeof v === 'object' && v !== null) {
    const o = v as Est;
    if (o.__extn !== undefined) throw new Unsupported('extension value literal');
    if (o.__entity !== undefined) return Object.freeze({ __entity: uidOf(o.__entity) });
    const out: Record<string, CedarValue> = {};
    for (const [k, x] of Object.entries(o)) {
      checkRecordKey(k);
      out[k] = literal(x) as CedarValue;
    }
    return Object.freeze(out);
  }
  throw new Unsupported(`literal ${JSON.stringify(v)}`);
}

function checkRecordKey(k: string): void {
  if (k === '__proto__' || k === '__entity' || k === '__extn') throw new Unsupported(`record key \`${k}\``);
}

/** Reads an EST entity uid (`{ type, id }` or `{ __entity: { type, id } }`) into a frozen `EntityUid`, or undefined. */
export function entityUid(v: unknown): EntityUid | undefined {
  if (typeof v === 'object' && v !== null) {
    const o = v as Est;
    if (o.__entity !== undefined) return entityUid(o.__entity);
    if (typeof o.type === 'string' && typeof o.id === 'string') return Object.freeze({ type: o.type, id: o.id });
  }
  return undefined;
}

function uidOf(v: unknown): EntityUid {
  const u = entityUid(v);
  if (u === undefined) throw new Unsupported(`entity reference ${JSON.stringify(v)}`);
  return u;
}

function bin(est: Est, op: string): [Compiled, Compiled] {
  const b = est[op] as { left?: unknown; right?: unknown } | undefined;
  if (b === undefined || b.left === undefined || b.right === undefined) throw new Unsupported(`malformed \`${op}\``);
  return [compile(b.left), compile(b.right)];
}

function compile(e: unknown): Compiled {
  if (typeof e !== 'object' || e === null) throw new Unsupported(`expression ${JSON.stringify(e)}`);
  const est = e as Est;
  const keys = Object.keys(est);
  if (keys.length !== 1) throw new Unsupported(`expression with keys ${keys.join(', ')}`);
  const op = keys[0] as string;
  switch (op) {
    case 'Value': {
      const v = literal(est.Value);
      return () => v;
    }
    case 'Var': {
      switch (est.Var) {
        case 'principal':
          return (env) => env.principal;
        case 'action':
          return (env) => env.action;
        case 'resource':
          return (env) => env.resource;
        case 'context':
          return (env) => env.context;
        default:
          throw new Unsupported(`variable ${String(est.Var)}`);
      }
    }
    case 'Slot':
      throw new Unsupported('template slot');
    case '!': {
      const a = compile((est['!'] as { arg: unknown }).arg);
      return (env) => !asBool(a(env));
    }
    case 'neg': {
      const a = compile((est.neg as { arg: unknown }).arg);
      return (env) => neg(a(env));
    }
    case '==':
      return compileEq(est);
    case '!=': {
      const [l, r] = bin(est, op);
      return (env) => !valueEquals(l(env), r(env));
    }
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compileCompare(est, op);
    case '&&': {
      const [l, r] = bin(est, op);
      return (env) => asBool(l(env)) && asBool(r(env));
    }
    case '||': {
      const [l, r] = bin(est, op);
      return (env) => asBool(l(env)) || asBool(r(env));
    }
    case '+': {
      const [l, r] = bin(est, op);
      return (env) => add(l(env), r(env));
    }
    case '-': {
      const [l, r] = bin(est, op);
      return (env) => sub(l(env), r(env));
    }
    case '*': {
      const [l, r] = bin(est, op);
      return (env) => mul(l(env), r(env));
    }
    case 'in': {
      const [l, r] = bin(est, op);
      return (env) => evalIn(env, l(env), r(env));
    }
    case 'contains': {
      const [l, r] = bin(est, op);
      return (env) => {
        const set = asSet(l(env));
        return setHas(set, r(env));
      };
    }
    case 'containsAll': {
      const [l, r] = bin(est, op);
      return (env) => {
        const a = asSet(l(env));
        const b = asSet(r(env));
        for (const x of b) if (!setHas(a, x)) return false;
        return true;
      };
    }
    case 'containsAny': {
      const [l, r] = bin(est, op);
      return (env) => {
        const a = asSet(l(env));
        const b = asSet(r(env));
        for (const x of b) if (setHas(a, x)) return true;
        return false;
      };
    }
    case 'isEmpty': {
      const a = compile((est.isEmpty as { arg: unknown }).arg);
      return (env) => asSet(a(env)).length === 0;
    }
    case '.':
      return compileGetAttr(est);
    case 'has':
      return compileHas(est);
    case 'like':
      return compileLikeExpr(est);
    case 'is':
      return compileIs(est);
    case 'if-then-else': {
      const b = est['if-then-else'] as { if: unknown; then: unknown; else: unknown };
      const c = compile(b.if);
      const t = compile(b.then);
      const f = compile(b.else);
      return (env) => (asBool(c(env)) ? t(env) : f(env));
    }
    case 'Set': {
      if (!Array.isArray(est.Set)) throw new Unsupported('malformed set literal');
      const items = (est.Set as unknown[]).map(compile);
      return (env) => {
        const out: Value[] = new Array<Value>(items.length);
        for (let i = 0; i < items.length; i++) out[i] = (items[i] as Compiled)(env);
        return out as CedarValue[];
      };
    }
    case 'Record': {
      const fields = Object.entries(est.Record as Est).map(([k, x]): [string, Compiled] => {
        checkRecordKey(k);
        return [k, compile(x)];
      });
      return (env) => {
        const out: Record<string, Value> = {};
        for (const [k, f] of fields) out[k] = f(env);
        return out as CedarValue;
      };
    }
    case 'decimal':
      return compileDecimal(est);
    case 'lessThan':
    case 'lessThanOrEqual':
    case 'greaterThan':
    case 'greaterThanOrEqual':
      return compileDecimalCompare(est, op);
    case 'getTag':
    case 'hasTag':
      throw new Unsupported(`entity tags (\`${op}\`)`);
    default:
      throw new Unsupported(`the function or operator \`${op}\``);
  }
}

function compileEq(est: Est): Compiled {
  const b = est['=='] as { left: Est; right: Est };
  const [l, r] = bin(est, '==');
  // Specialise comparison against a primitive literal: `===` is exact for those (see valueEquals' invariant).
  const litSide = b.right.Value !== undefined ? b.right : b.left.Value !== undefined ? b.left : undefined;
  if (litSide !== undefined) {
    const lit = literal(litSide.Value);
    const other = litSide === b.right ? l : r;
    if (typeof lit !== 'object') return (env) => other(env) === lit;
    if (isEntity(lit)) {
      const u = lit.__entity;
      return (env) => {
        const v = other(env);
        if (typeof v !== 'object' || v === null) return false;
        const w = (v as { __entity?: EntityUid }).__entity;
        if (w !== undefined) return w.id === u.id && w.type === u.type;
        return valueEquals(v, lit);
      };
    }
  }
  return (env) => valueEquals(l(env), r(env));
}

function compileCompare(est: Est, op: '<' | '<=' | '>' | '>='): Compiled {
  const [l, r] = bin(est, op);
  const check = (a: Value, c: Value): void => {
    if (typeof a !== 'number' || typeof c !== 'number') checkLongs(a, c);
  };
  // INVARIANT: JavaScript's relational operators compare number and bigint by exact mathematical value.
  switch (op) {
    case '<':
      return (env) => {
        const a = l(env);
        const c = r(env);
        check(a, c);
        return (a as number) < (c as number);
      };
    case '<=':
      return (env) => {
        const a = l(env);
        const c = r(env);
        check(a, c);
        return (a as number) <= (c as number);
      };
    case '>':
      return (env) => {
        const a = l(env);
        const c = r(env);
        check(a, c);
        return (a as number) > (c as number);
      };
    case '>=':
      return (env) => {
        const a = l(env);
        const c = r(env);
        check(a, c);
        return (a as number) >= (c as number);
      };
  }
}

function compileGetAttr(est: Est): Compiled {
  const b = est['.'] as { left: Est; attr: unknown };
  if (typeof b.attr !== 'string') throw new Unsupported('malformed attribute access');
  const attr = b.attr;
  if (b.left.Var === 'context') {
    return (env) => {
      const c = env.context;
      if (!hasOwn.call(c, attr)) throw new EvalError(`record does not have the attribute \`${attr}\``);
      return c[attr] as Value;
    };
  }
  const l = compile(b.left);
  return (env) => getAttr(env, l(env), attr);
}

function compileHas(est: Est): Compiled {
  const b = est.has as { left: unknown; attr: unknown };
  const l = compile(b.left);
  const path = typeof b.attr === 'string' ? [b.attr] : b.attr;
  if (!Array.isArray(path) || path.length === 0 || !path.every((a) => typeof a === 'string')) throw new Unsupported('malformed `has`');
  const attrs = path as readonly string[];
  if (attrs.length === 1) {
    const attr = attrs[0] as string;
    return (env) => hasAttr(env, l(env), attr);
  }
  // `e has a.b.c` is `e has a && e.a has b && e.a.b has c`.
  return (env) => {
    let v = l(env);
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i] as string;
      if (!hasAttr(env, v, a)) return false;
      if (i + 1 < attrs.length) v = getAttr(env, v, a);
    }
    return true;
  };
}

function compileLikeExpr(est: Est): Compiled {
  const b = est.like as { left: unknown; pattern: unknown };
  if (!Array.isArray(b.pattern)) throw new Unsupported('malformed `like`');
  const segments: string[] = [];
  let cur: string | undefined;
  let leading = false;
  let trailing = false;
  b.pattern.forEach((p: unknown) => {
    if (p === 'Wildcard') {
      if (segments.length === 0 && cur === undefined) leading = true;
      if (cur !== undefined) segments.push(cur);
      cur = undefined;
      trailing = true;
    } else if (typeof p === 'object' && p !== null && typeof (p as Est).Literal === 'string') {
      const lit = (p as Est).Literal as string;
      if (lit.length > 0) {
        cur = (cur ?? '') + lit;
        trailing = false;
      }
    } else {
      throw new Unsupported('malformed `like` pattern');
    }
  });
  if (cur !== undefined) segments.push(cur);
  const match = compileLike(segments, leading, trailing);
  const l = compile(b.left);
  return (env) => {
    const s = l(env);
    if (typeof s !== 'string') throw typeError('string', s);
    return match(s);
  };
}

function compileIs(est: Est): Compiled {
  const b = est.is as { left: unknown; entity_type: unknown; in?: unknown };
  if (typeof b.entity_type !== 'string') throw new Unsupported('malformed `is`');
  const type = b.entity_type;
  const l = compile(b.left);
  if (b.in === undefined) return (env) => asUid(l(env)).type === type;
  // `e is T in x` is `e is T && e in x`: `x` is evaluated only when the type matches.
  const r = compile(b.in);
  return (env) => {
    const v = l(env);
    if (asUid(v).type !== type) return false;
    return evalIn(env, v, r(env));
  };
}

/** `decimal("…")`: a literal argument is parsed once, when the policy compiles (an error still surfaces per request). */
function compileDecimal(est: Est): Compiled {
  const args = est.decimal;
  if (!Array.isArray(args) || args.length !== 1) throw new Unsupported('malformed `decimal`');
  const arg = args[0] as Est;
  if (typeof arg === 'object' && arg !== null && typeof arg.Value === 'string') {
    try {
      const v = makeDecimal(arg.Value);
      return () => v;
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      return () => {
        throw e;
      };
    }
  }
  const a = compile(arg);
  return (env) => {
    const s = a(env);
    if (typeof s !== 'string') throw typeError('string', s);
    return makeDecimal(s);
  };
}

/** The decimal comparison methods: `a.lessThan(b)`, `lessThanOrEqual`, `greaterThan`, `greaterThanOrEqual`. */
function compileDecimalCompare(est: Est, op: 'lessThan' | 'lessThanOrEqual' | 'greaterThan' | 'greaterThanOrEqual'): Compiled {
  const args = est[op];
  if (!Array.isArray(args) || args.length !== 2) throw new Unsupported(`malformed \`${op}\``);
  const l = compile(args[0]);
  const r = compile(args[1]);
  const operand = (v: Value): bigint => {
    const d = decimalOf(v);
    if (d !== undefined) return d;
    if (isExtn(v)) throw new NeedsFallback(`\`${op}\` on an extension value other than decimal`);
    throw typeError('decimal', v);
  };
  const test: (a: bigint, b: bigint) => boolean =
    op === 'lessThan' ? (a, b) => a < b : op === 'lessThanOrEqual' ? (a, b) => a <= b : op === 'greaterThan' ? (a, b) => a > b : (a, b) => a >= b;
  return (env) => {
    const a = l(env);
    const b = r(env);
    return test(operand(a), operand(b));
  };
}
