// Checks that a value is plain JSON (what crosses a boundary), before anything hashes or stores it. Pure.

/**
 * Why `value` is not plain JSON, or null when it is: no NaN or Infinity, no BigInt, no
 * functions, symbols or undefined, no class instances, no cycles, and not deeper than `maxDepth`.
 */
export function jsonProblem(value: unknown, maxDepth = 64): string | null {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): string | null => {
    if (depth > maxDepth) return `${path} is nested deeper than ${maxDepth} levels`;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return null;
    if (typeof v === 'number') return Number.isFinite(v) ? null : `${path} is ${String(v)}, which JSON cannot hold`;
    if (typeof v !== 'object') return `${path} is a ${typeof v}, which JSON cannot hold`;
    if (seen.has(v)) return `${path} refers back to itself`;
    const proto = Object.getPrototypeOf(v) as unknown;
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return `${path} is not a plain object`;
    seen.add(v);
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [`[${i}]`, x]) : Object.entries(v).map(([k, x]) => [`.${k}`, x]);
    for (const [k, x] of entries) {
      const p = walk(x, `${path}${k}`, depth + 1);
      if (p) return p;
    }
    seen.delete(v);
    return null;
  };
  return walk(value, 'arguments', 0);
}

/**
 * Where a parsed JSON value holds an own `__proto__` key (JSON.parse keeps it as data; object
 * spreads and schema parsers drop or misread it), or null. Such input is refused, never stripped.
 */
export function protoKeyPath(value: unknown, path = ''): string | null {
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = protoKeyPath(value[i], `${path}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (Object.prototype.hasOwnProperty.call(value, '__proto__')) return `${path ? `${path}.` : ''}__proto__`;
  for (const [k, v] of Object.entries(value)) {
    const p = protoKeyPath(v, path ? `${path}.${k}` : k);
    if (p) return p;
  }
  return null;
}
