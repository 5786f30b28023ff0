// Maps a path inside parsed YAML (a zod issue path) back to a line and column in the source text.
import { isAlias, isCollection, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/** A 1-based position in a source file. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** Where a path landed: the position, and whether the whole path was found or only an ancestor. */
export interface Located extends SourcePosition {
  /** True when every segment of the path exists; false when the position is a nearest ancestor's. */
  readonly exact: boolean;
}

/** A document path segment, as zod issues carry them (`['tools', 3, 'inputSchema']`). */
export type PathSegment = string | number | symbol;

/**
 * Finds the YAML node at `path` and returns its 1-based line and column.
 * A segment that does not exist stops the walk: the position is then the nearest existing
 * ancestor's (a missing key points at the map that should hold it). With `at: 'key'` a map
 * entry's key is pointed at instead of its value (useful for unknown or badly named keys).
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PathSegment[],
  opts: { readonly at?: 'key' | 'value' } = {},
): Located {
  let node: Node | null = resolveAlias(doc, doc.contents as Node | null);
  // The position of the closest thing found so far: starts at the document's root.
  let offset = node?.range?.[0] ?? 0;
  let exact = true;
  for (const [i, segment] of path.entries()) {
    const last = i === path.length - 1;
    if (node === null || !isCollection(node) || typeof segment === 'symbol') {
      exact = false;
      break;
    }
    if (isMap(node)) {
      const pair = node.items.find((p) => keyMatches(p.key, segment));
      if (!pair) {
        exact = false;
        break;
      }
      const key = isScalar(pair.key) || isCollection(pair.key) ? pair.key : null;
      const raw = (pair.value ?? null) as Node | null;
      const value = resolveAlias(doc, raw);
      // An empty value (`key:` with nothing after it) has no useful position; use the key.
      const emptyValue = value === null || (isScalar(value) && value.value === null && value.source === '');
      if ((last && opts.at === 'key') || emptyValue) {
        offset = key?.range?.[0] ?? offset;
        node = value;
        if (emptyValue && !last) {
          exact = false;
          break;
        }
        continue;
      }
      node = value;
      // An alias points at where it is used, not at its anchor.
      offset = raw?.range?.[0] ?? key?.range?.[0] ?? offset;
    } else if (isSeq(node)) {
      const index = typeof segment === 'number' ? segment : Number.NaN;
      const item = Number.isInteger(index) ? node.items[index] : undefined;
      if (item === undefined) {
        exact = false;
        break;
      }
      const raw = item as Node | null;
      node = resolveAlias(doc, raw);
      offset = raw?.range?.[0] ?? offset;
    }
  }
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col, exact };
}

/** Formats a document path the way users read it: `tools[3].inputSchema`, `expect["$probe.status"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'symbol') out += `[${String(segment)}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function keyMatches(key: unknown, segment: string | number): boolean {
  if (isScalar(key)) return String(key.value) === String(segment);
  return key === segment;
}

function resolveAlias(doc: Document, node: Node | null): Node | null {
  if (node !== null && isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? node;
  return node;
}
