// What Cedar refuses, checked before any engine evaluates: a request and its entities must be Cedar JSON
// data that cedar-wasm accepts and that both engines read alike. Pure; every walk is bounded.
import { MAX_JSON_DEPTH, hasLoneSurrogate } from '../util/json.js';
import { parseDecimal } from './decimal.js';
import type { CedarEntity, CedarRequest, EntityUid } from './engine.js';

/** What `cedarInputProblem` found: why the input is refused, and whether it holds extension values other than `decimal`. */
export interface CedarInputCheck {
  /** Why Cedar would refuse this input (or evaluate something other than what was given), or null. */
  readonly problem: string | null;
  /** True when a value is an `ip`, `datetime` or `duration` extension value (only cedar-wasm checks and compares those). */
  readonly otherExtensions: boolean;
}

/** Entities checked once and deep-frozen (`sealCedarEntity`): their contents need no second look. */
const sealed = new WeakSet<CedarEntity>();

/**
 * Checks an entity Airlock builds once and reuses (tools, roles, declared principals) and deep-freezes it,
 * so later requests skip walking its attributes. Returns the problem, or null when sealed.
 */
export function sealCedarEntity(entity: CedarEntity): string | null {
  const { problem } = cedarInputProblem({ principal: entity.uid, action: entity.uid, resource: entity.uid, context: {} }, [entity]);
  if (problem !== null) return problem;
  deepFreeze(entity);
  sealed.add(entity);
  return null;
}

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}

/** Extension functions Cedar's JSON escape `{ "__extn": { fn, arg } }` may name. */
const EXTENSIONS: ReadonlySet<string> = new Set(['decimal', 'ip', 'datetime', 'duration']);
/** Identifiers Cedar reserves: no entity type name may have one as a component. */
const RESERVED: ReadonlySet<string> = new Set(['true', 'false', 'if', 'then', 'else', 'in', 'is', 'like', 'has', '__cedar']);
const IDENT = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

/**
 * Why cedar-wasm would refuse this request or these entities, or null; and whether they hold extension
 * values only cedar-wasm evaluates. Refused: a lone UTF-16 surrogate in any string or key; `null`,
 * `undefined`, NaN, infinities, fractions and integers past 2^53 (a JavaScript number past 2^53 is already
 * rounded, so Cedar would judge another number than the one meant); BigInts, functions, symbols and class
 * instances; cycles and nesting past `MAX_JSON_DEPTH`; malformed entity references (`__entity`) and
 * extension values (`__extn`, including a malformed `decimal`); `__expr`; entity type names Cedar cannot
 * parse; entities without `uid`, `attrs` or `parents`; duplicate entities; a cycle among parents.
 * Never throws: input that cannot even be read (a throwing getter) is refused too.
 */
export function cedarInputProblem(request: CedarRequest, entities: readonly CedarEntity[]): CedarInputCheck {
  const state = { otherExtensions: false };
  try {
    const problem = check(request, entities, state);
    return { problem, otherExtensions: state.otherExtensions };
  } catch (e) {
    return { problem: `the input could not be read (${e instanceof Error ? e.message : String(e)})`, otherExtensions: state.otherExtensions };
  }
}

function check(request: CedarRequest, entities: readonly CedarEntity[], state: { otherExtensions: boolean }): string | null {
  if (!isPlainObject(request)) return 'the request is not a plain object';
  for (const part of ['principal', 'action', 'resource'] as const) {
    const p = uidProblem(request[part], part);
    if (p) return p;
  }
  if (!isPlainObject(request.context) || isEscape(request.context)) return 'the context is not a record';
  const p = valueProblem(request.context, 'context', state);
  if (p) return p;

  if (!Array.isArray(entities)) return 'the entities are not a list';
  const byUid = new Map<string, CedarEntity>();
  for (let i = 0; i < entities.length; i++) {
    const e = entities[i] as CedarEntity;
    const where = `entities[${i}]`;
    const isSealed = sealed.has(e);
    if (!isSealed) {
      if (!isPlainObject(e as unknown)) return `${where} is not an entity object`;
      const up = uidProblem(e.uid, `${where}.uid`);
      if (up) return up;
    }
    const key = uidKey(e.uid);
    if (byUid.has(key)) return `${where}: duplicate entity \`${uidText(e.uid)}\``;
    byUid.set(key, e);
    if (isSealed) continue;
    if (!Object.hasOwn(e, 'attrs')) return `${where} (\`${uidText(e.uid)}\`) has no \`attrs\``;
    if (!isPlainObject(e.attrs as unknown) || isEscape(e.attrs)) return `${where}.attrs is not a record`;
    const ap = valueProblem(e.attrs, `${where}.attrs`, state);
    if (ap) return ap;
    const tags = (e as { tags?: unknown }).tags;
    if (tags !== undefined) {
      if (!isPlainObject(tags) || isEscape(tags)) return `${where}.tags is not a record`;
      const tp = valueProblem(tags, `${where}.tags`, state);
      if (tp) return tp;
    }
    if (!Array.isArray(e.parents as unknown)) return `${where} (\`${uidText(e.uid)}\`) has no \`parents\` list`;
    for (let j = 0; j < e.parents.length; j++) {
      const pp = uidProblem(e.parents[j], `${where}.parents[${j}]`);
      if (pp) return pp;
    }
  }
  return cycleProblem(byUid);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isEscape(v: Record<string, unknown>): boolean {
  return Object.hasOwn(v, '__entity') || Object.hasOwn(v, '__extn') || Object.hasOwn(v, '__expr');
}

function uidKey(u: EntityUid): string {
  return `${u.type}\u0000${u.id}`;
}

function uidText(u: EntityUid): string {
  return `${u.type}::${JSON.stringify(u.id)}`;
}

/** Type names already judged (few distinct ones reach the boundary); cleared when it grows past a bound. */
const typeProblems = new Map<string, string | null>();

/** Why `type` is not an entity type name Cedar parses (`Ns::Type`, ASCII identifiers, none reserved), or null. */
export function entityTypeProblem(type: string): string | null {
  const known = typeProblems.get(type);
  if (known !== undefined) return known;
  const problem = judgeType(type);
  if (typeProblems.size >= 1024) typeProblems.clear();
  typeProblems.set(type, problem);
  return problem;
}

function judgeType(type: string): string | null {
  for (const part of type.split('::')) {
    if (!IDENT.test(part)) return `\`${type.slice(0, 100)}\` is not a Cedar entity type name`;
    if (RESERVED.has(part)) return `\`${type.slice(0, 100)}\` is not a Cedar entity type name (\`${part}\` is reserved)`;
  }
  return null;
}

/** Why `u` is not an entity uid `{ type, id }` Cedar accepts, or null. */
function uidProblem(u: unknown, where: string): string | null {
  if (!isPlainObject(u)) return `${where} is not an entity reference \`{ type, id }\``;
  const keys = Object.keys(u);
  if (keys.length !== 2 || typeof u.type !== 'string' || typeof u.id !== 'string') return `${where} is not an entity reference \`{ type, id }\` of two strings`;
  const tp = entityTypeProblem(u.type);
  if (tp) return `${where}: ${tp}`;
  if (hasLoneSurrogate(u.id)) return `${where}.id holds a lone UTF-16 surrogate, which is not valid Unicode text`;
  return null;
}

/**
 * Why a Cedar value (record, set, string, Long, bool, entity reference, extension value) is refused, or null.
 * The path in a message is built only when there is one; a cycle shows as nesting past the depth limit and
 * is then named as a cycle.
 */
function valueProblem(root: unknown, rootPath: string, state: { otherExtensions: boolean }): string | null {
  /** `keys[i]` leads from `chain[i]` to the value at depth i + 1. */
  const keys: (string | number)[] = [];
  const chain: object[] = [];
  const at = (depth: number): string => {
    let p = rootPath;
    for (let i = 0; i < depth; i++) {
      const k = keys[i] as string | number;
      p += typeof k === 'number' ? `[${k}]` : `.${k.slice(0, 100)}`;
    }
    return p;
  };
  const walk = (v: unknown, depth: number): string | null => {
    if (depth > MAX_JSON_DEPTH) {
      // The shallowest object met a second time on the way down is where the value refers back to itself.
      for (let i = 1; i < chain.length; i++) if (chain.indexOf(chain[i] as object) < i) return `${at(i)} refers back to itself (a cycle)`;
      return `${at(depth)} is nested deeper than ${MAX_JSON_DEPTH} levels`;
    }
    switch (typeof v) {
      case 'boolean':
        return null;
      case 'string':
        return loneSurrogate(v) ? `${at(depth)} holds a lone UTF-16 surrogate, which is not valid Unicode text` : null;
      case 'number':
        if (Number.isSafeInteger(v)) return null;
        if (Number.isInteger(v)) return `${at(depth)} is ${String(v)}, past 2^53: a JavaScript number that large is already rounded (pass a smaller whole number)`;
        return `${at(depth)} is ${String(v)}: Cedar has no fractions, NaN or infinities (a Long is a whole number; use a \`decimal\` for fractions)`;
      case 'object':
        break;
      default:
        return `${at(depth)} is a ${typeof v}, which Cedar cannot hold`;
    }
    if (v === null) return `${at(depth)} is null: Cedar has no null (leave the attribute out instead)`;
    chain[depth] = v;
    chain.length = depth + 1;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        keys[depth] = i;
        const p = walk(v[i], depth + 1);
        if (p) return p;
      }
      return null;
    }
    if (!isPlainObject(v)) return `${at(depth)} is not a plain object`;
    if (hasOwn.call(v, '__expr')) return `${at(depth)} uses the \`__expr\` escape, which Cedar no longer supports`;
    if (hasOwn.call(v, '__entity')) {
      if (Object.keys(v).length !== 1) return `${at(depth)} mixes \`__entity\` with other keys`;
      return uidProblem(v.__entity, `${at(depth)}.__entity`);
    }
    if (hasOwn.call(v, '__extn')) return extensionProblem(v, at(depth), state);
    for (const k in v) {
      if (!hasOwn.call(v, k)) continue;
      if (loneSurrogate(k)) return `${at(depth)} has a key holding a lone UTF-16 surrogate, which is not valid Unicode text`;
      keys[depth] = k;
      const p = walk(v[k], depth + 1);
      if (p) return p;
    }
    return null;
  };
  return walk(root, 0);
}

const hasOwn = Object.prototype.hasOwnProperty;

/** `hasLoneSurrogate`, without a regular expression for the common case: most strings have no surrogate at all. */
function loneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if ((s.charCodeAt(i) & 0xf800) === 0xd800) return hasLoneSurrogate(s);
  }
  return false;
}

function extensionProblem(v: Record<string, unknown>, path: string, state: { otherExtensions: boolean }): string | null {
  const x = v.__extn;
  if (Object.keys(v).length !== 1 || !isPlainObject(x)) return `${path} is not an extension value \`{ __extn: { fn, arg } }\``;
  const keys = Object.keys(x);
  if (keys.length !== 2 || typeof x.fn !== 'string' || typeof x.arg !== 'string') return `${path} is not an extension value \`{ __extn: { fn, arg } }\` of two strings`;
  if (!EXTENSIONS.has(x.fn)) return `${path}: extension function \`${x.fn.slice(0, 100)}\` does not exist`;
  if (hasLoneSurrogate(x.arg)) return `${path}.__extn.arg holds a lone UTF-16 surrogate, which is not valid Unicode text`;
  if (x.fn === 'decimal') {
    const d = parseDecimal(x.arg);
    return 'error' in d ? `${path}: ${d.error}` : null;
  }
  state.otherExtensions = true;
  return null;
}

/** Cedar refuses entities whose parents form a cycle (an entity its own ancestor). Iterative. */
function cycleProblem(byUid: ReadonlyMap<string, CedarEntity>): string | null {
  // Common case first: no entity is its own parent and no parent present here has parents of its own.
  let deep = false;
  for (const [key, entity] of byUid) {
    for (const parent of entity.parents) {
      const pk = uidKey(parent);
      if (pk === key) return `the entities' parents form a cycle through \`${uidText(parent)}\``;
      if ((byUid.get(pk)?.parents.length ?? 0) > 0) deep = true;
    }
  }
  if (!deep) return null;
  const DONE = 2;
  const ACTIVE = 1;
  const mark = new Map<string, number>();
  for (const [start, entity] of byUid) {
    if (mark.get(start) === DONE) continue;
    const stack: { key: string; entity: CedarEntity; next: number }[] = [{ key: start, entity, next: 0 }];
    mark.set(start, ACTIVE);
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { key: string; entity: CedarEntity; next: number };
      const parent = top.entity.parents[top.next++];
      if (parent === undefined) {
        mark.set(top.key, DONE);
        stack.pop();
        continue;
      }
      const key = uidKey(parent);
      const pe = byUid.get(key);
      if (pe === undefined) continue;
      const m = mark.get(key);
      if (m === ACTIVE) return `the entities' parents form a cycle through \`${uidText(parent)}\``;
      if (m === DONE) continue;
      mark.set(key, ACTIVE);
      stack.push({ key, entity: pe, next: 0 });
    }
  }
  return null;
}
