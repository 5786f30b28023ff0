// `npm run bench`: runs every benchmark suite (or the ones named), prints a table, writes bench/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { isEntryPoint } from '../src/util/entry-point.js';
import { benchTables, type BenchOptions, type BenchResult, type BenchSuite } from './harness.js';

/** Every suite, in the order `npm run bench` runs them. */
export const SUITES: Readonly<Record<string, () => Promise<{ run: BenchSuite }>>> = {
  policy: () => import('./policy.js'),
  audit: () => import('./audit.js'),
  'store-engines': () => import('./store-engines.js'),
  'store-writes': () => import('./store-writes.js'),
  gateway: () => import('./gateway.js'),
  doors: () => import('./doors.js'),
  crash: () => import('./crash.js'),
  'hostile-load': () => import('./hostile-load.js'),
  console: () => import('./console.js'),
  context: () => import('./context.js'),
  'context-search': () => import('./context-search.js'),
  instances: () => import('./instances.js'),
};

const USAGE = 'usage: node dist/bench/run.js [--smoke] [--out FILE] [SUITE...]';

interface Args {
  readonly suites: readonly string[];
  readonly smoke: boolean;
  readonly out: string;
}

/** Reads the command line; a message (exit 2) for an unknown option or suite. */
function parseArgs(argv: readonly string[]): Args | { error: string } {
  const suites: string[] = [];
  let smoke = false;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--smoke') smoke = true;
    else if (a === '--out') {
      out = argv[++i];
      if (!out) return { error: `\`--out\` needs a file path\n${USAGE}` };
    } else if (a.startsWith('-')) return { error: `unknown option \`${a}\`\n${USAGE}` };
    else if (!(a in SUITES)) return { error: `unknown suite \`${a}\`; the suites are ${Object.keys(SUITES).join(', ')}` };
    else suites.push(a);
  }
  // A smoke run's numbers mean nothing: they never replace the measured ones.
  const file = out ?? path.join(process.cwd(), 'bench', 'results', smoke ? 'smoke.json' : 'latest.json');
  return { suites, smoke, out: path.resolve(file) };
}

async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  if ('error' in args) {
    process.stderr.write(`bench: ${args.error}\n`);
    process.exitCode = 2;
    return;
  }
  const opts: BenchOptions = { smoke: args.smoke };
  const results: BenchResult[] = [];
  for (const [name, load] of Object.entries(SUITES)) {
    if (args.suites.length > 0 && !args.suites.includes(name)) continue;
    process.stderr.write(`bench: ${name}${args.smoke ? ' (smoke)' : ''}...\n`);
    const mod = await load();
    results.push(...(await mod.run(opts)));
  }
  mkdirSync(path.dirname(args.out), { recursive: true });
  const doc = {
    time: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    smoke: args.smoke,
    results,
  };
  writeFileSync(args.out, JSON.stringify(doc, null, 2) + '\n');
  process.stdout.write(benchTables(results));
  process.stdout.write(`\nresults written to ${path.relative(process.cwd(), args.out) || args.out}\n`);
  const failed = results.filter((r) => (r.failures ?? []).length > 0);
  if (failed.length > 0) {
    process.stderr.write(`bench: ${failed.length} scenario(s) failed a property they promise: ${failed.map((r) => `${r.suite} / ${r.name}`).join('; ')}\n`);
    process.exitCode = 1;
  }
}

if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
