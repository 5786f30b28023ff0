// The import graph of src/ (relative imports between .ts files, type-only ones included), its cycles and its upward imports.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One import statement of one file by another. */
export interface ImportSite {
  /** 1-based line of the import in the importing file. */
  readonly line: number;
  /** `import type`, `export type ... from`, an import whose every name is `type`, or `import('x').T` in a type. */
  readonly typeOnly: boolean;
}

/** Everything file `from` imports from file `to` (paths relative to the root, with `/`). */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  /** Each statement, in source order (a file may import another twice: once for types, once for values). */
  readonly sites: readonly ImportSite[];
}

/** Files (sorted) and, per file, its edges (sorted by target). */
export interface ImportGraph {
  readonly files: readonly string[];
  readonly edges: ReadonlyMap<string, readonly ImportEdge[]>;
}

/** Every `.ts` and `.tsx` file under `dir` (relative to `root`), sorted; follows no symlinks and refuses trees deeper than `maxDepth`. */
export function sourceFiles(root: string, dir: string, maxDepth = 32): string[] {
  const out: string[] = [];
  const walk = (rel: string, depth: number): void => {
    if (depth > maxDepth) throw new Error(`source tree deeper than ${maxDepth} folders at \`${rel}\``);
    for (const entry of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child, depth + 1);
      else if (entry.isFile() && /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(child);
    }
  };
  walk(dir, 0);
  return out.sort();
}

/**
 * The graph of the relative imports among `files`: static imports, re-exports, dynamic `import()`
 * and `import('x')` types. A relative import that lands on no file of `files` is an error (the
 * graph would silently miss an edge).
 */
export function importGraph(root: string, files: readonly string[]): ImportGraph {
  const known = new Set(files);
  const edges = new Map<string, ImportEdge[]>();
  for (const from of files) {
    const source = ts.createSourceFile(from, readFileSync(path.join(root, from), 'utf8'), ts.ScriptTarget.Latest, true, from.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
    const sites = new Map<string, ImportSite[]>();
    const add = (specifier: ts.Node | undefined, at: ts.Node, typeOnly: boolean): void => {
      if (!specifier || !ts.isStringLiteralLike(specifier) || !specifier.text.startsWith('.')) return;
      const line = source.getLineAndCharacterOfPosition(at.getStart(source)).line + 1;
      const to = resolveRelative(from, specifier.text, known);
      if (to === null) throw new Error(`${from}:${line}: import \`${specifier.text}\` is no file of the graph`);
      sites.set(to, [...(sites.get(to) ?? []), { line, typeOnly }]);
    };
    // The AST of a source file is as deep as its nesting; ours are shallow, and TypeScript parsed it already.
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, node, importIsTypeOnly(node));
      else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, node, exportIsTypeOnly(node));
      else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression, node, node.isTypeOnly);
      else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal, node, true);
      else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0], node, false);
      ts.forEachChild(node, visit);
    };
    visit(source);
    edges.set(from, [...sites].sort(([a], [b]) => a.localeCompare(b)).map(([to, s]) => ({ from, to, sites: s })));
  }
  return { files: [...files], edges };
}

/** `./x.js` written in `a/b.ts` → `a/x.ts` (or `a/x.tsx`, `a/x/index.ts`) when that file is known; null otherwise. */
function resolveRelative(from: string, specifier: string, known: ReadonlySet<string>): string | null {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  const stem = base.replace(/\.(js|ts)$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}.tsx`, `${base}/index.ts`]) if (known.has(candidate)) return candidate;
  return null;
}

function importIsTypeOnly(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // `import './x.js'`: for its side effects
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  if (!bindings || ts.isNamespaceImport(bindings)) return false;
  return bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

function exportIsTypeOnly(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  return !!clause && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly);
}

/** `src/a.ts:12 (type) -> src/b.ts`: the importing file, the lines of its imports, the imported file. */
export function describeEdge(edge: ImportEdge): string {
  return `${fromAndLines(edge)} -> ${edge.to}`;
}

/** `src/a.ts:3,9 (type)`: a line is marked `(type)` when that import brings in types only. */
function fromAndLines(edge: ImportEdge): string {
  return `${edge.from}:${edge.sites.map((s) => `${s.line}${s.typeOnly ? ' (type)' : ''}`).join(',')}`;
}

// ---- cycles ------------------------------------------------------------------------------------

/** The strongly connected components with a cycle (two or more files, or a file importing itself), each sorted, in file order. */
export function tangledComponents(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative (an explicit stack instead of recursion).
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  for (const start of graph.files) {
    if (index.has(start)) continue;
    const work: { file: string; i: number }[] = [{ file: start, i: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const out_ = graph.edges.get(top.file) ?? [];
      if (top.i < out_.length) {
        const to = out_[top.i++]!.to;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ file: to, i: 0 });
        } else if (onStack.has(to)) {
          low.set(top.file, Math.min(low.get(top.file)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.file, Math.min(low.get(parent.file)!, low.get(top.file)!));
      if (low.get(top.file) !== index.get(top.file)) continue;
      const component: string[] = [];
      for (;;) {
        const f = stack.pop()!;
        onStack.delete(f);
        component.push(f);
        if (f === top.file) break;
      }
      const selfLoop = component.length === 1 && (graph.edges.get(top.file) ?? []).some((e) => e.to === top.file);
      if (component.length > 1 || selfLoop) out.push(component.sort());
    }
  }
  return out.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** The elementary cycles found, and whether the search stopped at its limit before finding them all. */
export interface Cycles {
  /** Each cycle as its edges, starting at its smallest file; sorted. */
  readonly cycles: readonly (readonly ImportEdge[])[];
  readonly truncated: boolean;
}

/**
 * Every elementary cycle inside the tangled components (each found once: from its smallest file,
 * through larger files only), up to `maxCycles` cycles and `maxSteps` steps of the search.
 */
export function importCycles(graph: ImportGraph, maxCycles = 200, maxSteps = 1_000_000): Cycles {
  const cycles: ImportEdge[][] = [];
  let steps = 0;
  let truncated = false;
  for (const component of tangledComponents(graph)) {
    const members = new Set(component);
    for (const start of component) {
      // Depth-first over files of the component larger than `start`, a path at a time (no revisits on the path).
      const path_: ImportEdge[] = [];
      const onPath = new Set<string>([start]);
      const work: { file: string; i: number }[] = [{ file: start, i: 0 }];
      while (work.length > 0 && !truncated) {
        if (++steps > maxSteps || cycles.length >= maxCycles) {
          truncated = true;
          break;
        }
        const top = work[work.length - 1]!;
        const out = (graph.edges.get(top.file) ?? []).filter((e) => members.has(e.to) && e.to >= start);
        if (top.i >= out.length) {
          work.pop();
          onPath.delete(top.file);
          path_.pop();
          continue;
        }
        const edge = out[top.i++]!;
        if (edge.to === start) cycles.push([...path_, edge]);
        else if (!onPath.has(edge.to)) {
          onPath.add(edge.to);
          path_.push(edge);
          work.push({ file: edge.to, i: 0 });
        }
      }
    }
  }
  const key = (c: readonly ImportEdge[]): string => c.map((e) => e.from).join(' ');
  return { cycles: cycles.sort((a, b) => key(a).localeCompare(key(b))), truncated };
}

/** `a.ts:3 -> b.ts:10 (type) -> a.ts`: each hop with the lines of its imports. */
export function describeCycle(cycle: readonly ImportEdge[]): string {
  return `${cycle.map(fromAndLines).join(' -> ')} -> ${cycle[0]!.from}`;
}

// ---- layers ------------------------------------------------------------------------------------

/** One layer of src/: the folders (`src/x/`) and files (`src/x.ts`) it holds. */
export interface Layer {
  readonly name: string;
  readonly paths: readonly string[];
}

/** The layer (its position, 0 = lowest) a file belongs to: the one naming the longest path that holds it. */
export function layerOf(layers: readonly Layer[], file: string): number | null {
  let rank: number | null = null;
  let longest = 0;
  for (const [i, layer] of layers.entries()) {
    for (const p of layer.paths) {
      const holds = p.endsWith('/') ? file.startsWith(p) : file === p;
      if (holds && p.length > longest) {
        rank = i;
        longest = p.length;
      }
    }
  }
  return rank;
}

/** The imports that reach up: from a file to a file of a higher layer (files in no layer are skipped: check them apart). */
export function upwardImports(graph: ImportGraph, layers: readonly Layer[]): ImportEdge[] {
  const out: ImportEdge[] = [];
  for (const file of graph.files) {
    const from = layerOf(layers, file);
    if (from === null) continue;
    for (const edge of graph.edges.get(file) ?? []) {
      const to = layerOf(layers, edge.to);
      if (to !== null && to > from) out.push(edge);
    }
  }
  return out;
}
