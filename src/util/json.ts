// Checks on untrusted JSON before anything hashes, stores or walks it recursively. Pure; every walk is bounded.
import type { Json } from '../types.js';

/** How deep any JSON Airlock accepts may nest (arguments, request bodies, upstream results). */
export const MAX_JSON_DEPTH = 64;

/** A lone UTF-16 surrogate: not valid Unicode, refused by canonical JSON (RFC 8785) and by Cedar. */
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;

/** True when `s` holds a lone UTF-16 surrogate (a string no Unicode encoding can carry). */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** `s` with each lone surrogate written out as the text `\uXXXX`: well-formed, and nothing silently lost. */
export function escapeLoneSurrogates(s: string): string {
  return s.replace(LONE_SURROGATES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Where a path segment came from, as it is shown in messages: `.key` or `[3]`. */
function segment(key: string | number): string {
  return typeof key === 'number' ? `[${key}]` : `.${printableKey(key)}`;
}

/**
 * Why `value` is not plain JSON Airlock can hold, or null when it is: no NaN or Infinity, no BigInt,
 * no functions, symbols or undefined, no class instances, no cycles, no lone surrogates in strings
 * or keys, and not deeper than `maxDepth`. (Recursive, but never deeper than `maxDepth`.)
 */
export function jsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | null {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): string | null => {
    if (depth > maxDepth) return `${path} is nested deeper than ${maxDepth} levels`;
    if (v === null || typeof v === 'boolean') return null;
    if (typeof v === 'string') return hasLoneSurrogate(v) ? `${path} holds a lone UTF-16 surrogate, which is not valid Unicode text` : null;
    if (typeof v === 'number') return Number.isFinite(v) ? null : `${path} is ${String(v)}, which JSON cannot hold`;
    if (typeof v !== 'object') return `${path} is a ${typeof v}, which JSON cannot hold`;
    if (seen.has(v)) return `${path} refers back to itself`;
    const proto = Object.getPrototypeOf(v) as unknown;
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return `${path} is not a plain object`;
    seen.add(v);
    const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k, x] of entries) {
      if (typeof k === 'string' && hasLoneSurrogate(k)) return `${path}${segment(k)} is a key holding a lone UTF-16 surrogate, which is not valid Unicode text`;
      const p = walk(x, `${path}${segment(k)}`, depth + 1);
      if (p) return p;
    }
    seen.delete(v);
    return null;
  };
  return walk(value, 'arguments', 0);
}

/** Why a door refuses a parsed request body, with where (a dotted path, '' for the whole body). */
export interface RequestProblem {
  readonly path: string;
  readonly code: 'forbidden_key' | 'too_deep';
  readonly message: string;
}

/**
 * How deep a request body may nest at a door: the arguments' limit plus the envelope around them
 * (a JSON-RPC batch, `params`, `arguments`), so arguments are judged by the same limit whichever
 * door they came through (the gateway's `jsonProblem` refuses deeper ones, audited).
 */
export const MAX_REQUEST_DEPTH = MAX_JSON_DEPTH + 4;

/**
 * Why a parsed (JSON.parse) untrusted request body cannot be accepted, or null: an own `__proto__`
 * key (JSON.parse keeps it as data; spreads and schema parsers drop or misread it), or nesting
 * deeper than `maxDepth`. Iterative: no input can overflow the stack. Such input is refused,
 * never stripped, by every door alike. (Lone surrogates are the gateway's to refuse, in arguments.)
 */
export function requestProblem(value: unknown, maxDepth = MAX_REQUEST_DEPTH): RequestProblem | null {
  // Containers only go on the stack, each with a link to its parent: a path is spelt out only for a
  // problem, so a large flat body costs one pass and no strings.
  interface Node {
    readonly v: object;
    readonly depth: number;
    readonly parent: Node | null;
    readonly key: string | number | null;
  }
  const pathOf = (node: Node | null, last?: string | number): string => {
    const keys: (string | number)[] = last === undefined ? [] : [last];
    for (let n = node; n && n.key !== null; n = n.parent) keys.push(n.key);
    return keys.reverse().reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : p ? `${p}.${printableKey(k)}` : printableKey(k)), '');
  };
  if (value === null || typeof value !== 'object') return null;
  const stack: Node[] = [{ v: value, depth: 0, parent: null, key: null }];
  while (stack.length > 0) {
    const node = stack.pop() as Node;
    if (node.depth >= maxDepth) return { path: pathOf(node), code: 'too_deep', message: `is nested deeper than ${maxDepth} levels` };
    const v = node.v;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) {
        const x: unknown = v[i];
        if (x !== null && typeof x === 'object') stack.push({ v: x, depth: node.depth + 1, parent: node, key: i });
      }
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(v, '__proto__')) return { path: pathOf(node, '__proto__'), code: 'forbidden_key', message: '`__proto__` is not an acceptable key' };
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i] as string;
      const x: unknown = (v as Record<string, unknown>)[k];
      if (x !== null && typeof x === 'object') stack.push({ v: x, depth: node.depth + 1, parent: node, key: k });
    }
  }
  return null;
}

/** A key as it may appear in a message or an audit record: lone surrogates written out, at most 200 characters. */
function printableKey(k: string): string {
  return (hasLoneSurrogate(k) ? escapeLoneSurrogates(k) : k).slice(0, 200);
}

/** How many values `recordableJson` copies at most; the rest become `$truncated` markers (bounded work, even for cyclic input). */
export const MAX_RECORDABLE_NODES = 1_000_000;

/**
 * A copy of `value` that canonical JSON can always hold and every later walk can afford: lone
 * surrogates escaped as `\uXXXX` text (in strings and keys), each subtree deeper than `maxDepth`
 * replaced by `{"$truncated": "..."}`, and past `maxNodes` values every remaining one too. Iterative.
 * `changed` says whether anything was rewritten. For data Airlock must record whatever it is
 * (upstream results, error messages).
 */
export function recordableJson(value: unknown, maxDepth = MAX_JSON_DEPTH, maxNodes = MAX_RECORDABLE_NODES): { value: Json; changed: boolean } {
  let changed = false;
  let nodes = 0;
  const fix = (v: unknown, depth: number, put: (x: Json) => void, work: (() => void)[]): void => {
    if (++nodes > maxNodes) {
      changed = true;
      return put({ $truncated: `more than ${maxNodes} values` });
    }
    if (typeof v === 'string') {
      if (hasLoneSurrogate(v)) {
        changed = true;
        put(escapeLoneSurrogates(v));
      } else put(v);
      return;
    }
    if (typeof v === 'number') {
      if (Number.isFinite(v)) put(v);
      else {
        changed = true;
        put(null);
      }
      return;
    }
    if (v === null || typeof v === 'boolean') return put(v);
    if (typeof v !== 'object') {
      changed = true;
      return put(null);
    }
    if (depth >= maxDepth) {
      changed = true;
      return put({ $truncated: `nested deeper than ${maxDepth} levels` });
    }
    if (Array.isArray(v)) {
      const out: Json[] = new Array<Json>(v.length).fill(null);
      put(out);
      v.forEach((x, i) => work.push(() => fix(x, depth + 1, (y) => (out[i] = y), work)));
      return;
    }
    const out: Record<string, Json> = {};
    put(out);
    for (const [k, x] of Object.entries(v)) {
      let key = hasLoneSurrogate(k) ? escapeLoneSurrogates(k) : k;
      if (key !== k) changed = true;
      // Nothing lost: a key that collides once escaped (`"\ud800"` beside a literal `\ud800`) is kept apart.
      if (Object.hasOwn(out, key)) {
        let n = 2;
        while (Object.hasOwn(out, `${key}#${n}`)) n++;
        key = `${key}#${n}`;
        changed = true;
      }
      // Keys are created in order now (and `__proto__` as plain data), filled in as the work runs.
      Object.defineProperty(out, key, { value: null, enumerable: true, writable: true, configurable: true });
      work.push(() => fix(x, depth + 1, (y) => (out[key] = y), work));
    }
  };
  let root: Json = null;
  const work: (() => void)[] = [];
  fix(value, 0, (x) => (root = x), work);
  while (work.length > 0) (work.pop() as () => void)();
  return { value: root, changed };
}
