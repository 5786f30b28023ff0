// One bounded walk over the leaves of untrusted JSON (a tool result, a retrieved chunk), with the path
// to each: what provenance and the injection detector read, never deeper than MAX_JSON_DEPTH.
import type { Json } from '../types.js';
import { MAX_JSON_DEPTH } from '../util/json.js';

/** A leaf: a string, number, boolean or null. */
export type JsonLeaf = string | number | boolean | null;

/**
 * Calls `visit` for each leaf of `value` in document order with its path (object keys, array indices;
 * the array is shared and changes as the walk goes on: copy it to keep it). The walk stops when `visit`
 * returns false; deeper than `maxDepth` it goes no further down.
 */
export function forEachLeaf(value: Json, visit: (leaf: JsonLeaf, path: readonly (string | number)[]) => boolean | void, maxDepth = MAX_JSON_DEPTH): void {
  const path: (string | number)[] = [];
  let going = true;
  const walk = (v: Json, depth: number): void => {
    if (!going || depth > maxDepth) return;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length && going; i++) {
        path.push(i);
        walk(v[i] as Json, depth + 1);
        path.pop();
      }
      return;
    }
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (!going) return;
        path.push(k);
        walk(x as Json, depth + 1);
        path.pop();
      }
      return;
    }
    if (visit(v, path) === false) going = false;
  };
  walk(value, 0);
}
