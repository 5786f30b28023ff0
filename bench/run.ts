// `npm run bench`: runs every benchmark suite, prints a table, writes bench/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import type { BenchResult, BenchSuite } from './harness.js';

const SUITES: Record<string, () => Promise<{ run: BenchSuite }>> = {
  policy: () => import('./policy.js'),
  audit: () => import('./audit.js'),
  'store-engines': () => import('./store-engines.js'),
  gateway: () => import('./gateway.js'),
  doors: () => import('./doors.js'),
  crash: () => import('./crash.js'),
};

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const results: BenchResult[] = [];
  for (const [name, load] of Object.entries(SUITES)) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name}...\n`);
    const mod = await load();
    results.push(...(await mod.run()));
  }
  const dir = path.join(process.cwd(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const doc = {
    time: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    results,
  };
  writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(doc, null, 2) + '\n');
  for (const suite of [...new Set(results.map((r) => r.suite))]) {
    process.stdout.write(`\n## ${suite}\n`);
    const rows = results.filter((r) => r.suite === suite);
    const cols = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
    process.stdout.write(`| scenario | ${cols.join(' | ')} |\n|---|${cols.map(() => '---:').join('|')}|\n`);
    for (const r of rows) {
      process.stdout.write(`| ${r.name} | ${cols.map((c) => (r.metrics[c] === undefined ? '' : fmt(r.metrics[c] as number))).join(' | ')} |\n`);
    }
    for (const n of rows.flatMap((r) => r.notes ?? [])) process.stdout.write(`- ${n}\n`);
  }
  process.stdout.write(`\nresults written to bench/results/latest.json\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
