// The shape of src/: no import cycles (type-only imports count), and the layers of layers.json point one way.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AIRLOCK_ROOT } from '../../src/util/package-root.js';
import {
  describeCycle,
  describeEdge,
  importCycles,
  importGraph,
  layerOf,
  sourceFiles,
  tangledComponents,
  upwardImports,
  type ImportEdge,
  type ImportGraph,
} from './import-graph.js';
import layersJson from './layers.json' with { type: 'json' };

/** layers.json: the layers, lowest first, and the upward imports still allowed while they are being fixed. */
const table = layersJson as { readonly layers: typeof layersJson.layers; readonly pending: readonly { readonly import: string; readonly fix: string }[] };

const SRC = importGraph(AIRLOCK_ROOT, sourceFiles(AIRLOCK_ROOT, 'src'));

describe('src/', () => {
  // Type-only imports are edges too: a type-only cycle still means neither file can be read, moved
  // or tested without the other (and `import type` is how the gateway <-> approvals cycle hid).
  it('has no import cycles', () => {
    const { cycles, truncated } = importCycles(SRC);
    expect(cycles.map(describeCycle)).toEqual([]);
    expect(truncated).toBe(false);
  });

  it('puts every file in a layer of layers.json', () => {
    expect(SRC.files.filter((f) => layerOf(table.layers, f) === null)).toEqual([]);
  });

  it('imports no file of a layer above its own, except the pending ones, and each pending one still happens', () => {
    const upward = upwardImports(SRC, table.layers);
    const pending = new Set(table.pending.map((p) => p.import));
    expect(upward.filter((e) => !pending.has(pairOf(e))).map(describeLayered)).toEqual([]);
    expect([...pending].filter((p) => !upward.some((e) => pairOf(e) === p))).toEqual([]);
  });
});

/** `src/a.ts -> src/b.ts`, as layers.json's `pending` names an import. */
function pairOf(edge: ImportEdge): string {
  return `${edge.from} -> ${edge.to}`;
}

/** `core imports tools: src/a.ts:3 (type) -> src/b.ts`. */
function describeLayered(edge: ImportEdge): string {
  const name = (f: string): string => table.layers[layerOf(table.layers, f)!]!.name;
  return `${name(edge.from)} imports ${name(edge.to)}: ${describeEdge(edge)}`;
}

describe('the import graph', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-imports-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, text: string): void => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  };

  it('sees static, type-only, re-exported, dynamic and `import()` type imports, with their lines', () => {
    write('src/a.ts', "import { b } from './b.js';\nimport type { C } from './c/c.js';\nexport type { D } from './d.js';\n");
    write('src/b.ts', "export const b = 1;\nexport async function e() { return import('./e.js'); }\nexport type F = import('./f.js').F;\n");
    write('src/c/c.ts', "import { type D } from '../d.js';\nimport { type E, e } from '../e.js';\nexport type C = D | E | typeof e;\n");
    write('src/d.ts', "import 'node:fs';\nexport * from './c/index.js';\nexport type D = 1;\n");
    write('src/c/index.ts', 'export {};\n');
    write('src/e.ts', 'export type E = 2;\nexport const e = 2;\n');
    write('src/f.ts', 'export type F = 3;\n');
    const graph = importGraph(dir, sourceFiles(dir, 'src'));
    expect([...graph.edges.values()].flat().map(describeEdge)).toEqual([
      'src/a.ts:1 -> src/b.ts',
      'src/a.ts:2 (type) -> src/c/c.ts',
      'src/a.ts:3 (type) -> src/d.ts',
      'src/b.ts:2 -> src/e.ts',
      'src/b.ts:3 (type) -> src/f.ts',
      'src/c/c.ts:1 (type) -> src/d.ts',
      'src/c/c.ts:2 -> src/e.ts',
      'src/d.ts:2 -> src/c/index.ts',
    ]);
  });

  it('refuses a relative import that lands on no file', () => {
    write('other/x.ts', "import { y } from './y.js';\n");
    expect(() => importGraph(dir, sourceFiles(dir, 'other'))).toThrow("other/x.ts:1: import `./y.js` is no file of the graph");
  });

  it('finds every cycle once, each from its smallest file, type-only edges included', () => {
    const g = graphOf({ a: ['b', 'c'], b: ['a', 'c'], c: ['a'], d: ['d', 'e'], e: [], f: ['e'] });
    expect(tangledComponents(g)).toEqual([['a', 'b', 'c'], ['d']]);
    expect(importCycles(g)).toEqual({
      cycles: [
        [edge(g, 'a', 'b'), edge(g, 'b', 'a')],
        [edge(g, 'a', 'b'), edge(g, 'b', 'c'), edge(g, 'c', 'a')],
        [edge(g, 'a', 'c'), edge(g, 'c', 'a')],
        [edge(g, 'd', 'd')],
      ],
      truncated: false,
    });
    expect(importCycles(g).cycles.map(describeCycle)).toEqual(['a:1 -> b:1 -> a', 'a:1 -> b:1 (type) -> c:1 -> a', 'a:1 (type) -> c:1 -> a', 'd:1 -> d']);
  });

  it('finds none in a graph without one, and says when it stopped at its limit', () => {
    expect(importCycles(graphOf({ a: ['b', 'c'], b: ['c'], c: [] })).cycles).toEqual([]);
    const ring = graphOf({ a: ['b', 'c'], b: ['a', 'c'], c: ['a'] });
    expect(importCycles(ring, 2)).toMatchObject({ truncated: true });
    expect(importCycles(ring, 2).cycles).toHaveLength(2);
  });

  it('places a file by the longest path of the table, and finds the imports that reach up', () => {
    const layers = [
      { name: 'low', paths: ['src/x/one.ts', 'src/low/'] },
      { name: 'high', paths: ['src/x/'] },
    ];
    expect([layerOf(layers, 'src/x/one.ts'), layerOf(layers, 'src/x/two.ts'), layerOf(layers, 'src/low/a/b.ts'), layerOf(layers, 'src/elsewhere.ts')]).toEqual([0, 1, 0, null]);
    const g = graphOf({ 'src/low/a.ts': ['src/x/one.ts', 'src/x/two.ts'], 'src/x/one.ts': ['src/x/two.ts'], 'src/x/two.ts': ['src/low/a.ts'], 'src/elsewhere.ts': ['src/x/two.ts'] });
    expect(upwardImports(g, layers).map(describeEdge)).toEqual(['src/low/a.ts:1 -> src/x/two.ts', 'src/x/one.ts:1 -> src/x/two.ts']);
  });
});

/** A graph from `file: [imports]`; an import of `c` is type-only (to show the marking), every other a value import on line 1. */
function graphOf(spec: Readonly<Record<string, readonly string[]>>): ImportGraph {
  const files = Object.keys(spec).sort();
  return {
    files,
    edges: new Map(files.map((from) => [from, [...spec[from]!].sort().map((to) => ({ from, to, sites: [{ line: 1, typeOnly: to === 'c' }] }))])),
  };
}

function edge(g: ImportGraph, from: string, to: string): ImportEdge {
  return g.edges.get(from)!.find((e) => e.to === to)!;
}
