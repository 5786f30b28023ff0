// Every benchmark suite in smoke mode (`node dist/bench/run.js --smoke SUITE`: the same code path, a few iterations):
// it exits 0, writes a well-formed result where it is told (never over bench/results/latest.json) and prints its
// table, so no suite rots unseen. Speed is never asserted; the hostile-load suite's invariants are.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUITES } from '../../bench/run.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RUN_JS = path.join(ROOT, 'dist', 'bench', 'run.js');
const LATEST = path.join(ROOT, 'bench', 'results', 'latest.json');

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface ResultDoc {
  readonly smoke: boolean;
  readonly node: string;
  readonly results: readonly { suite: unknown; name: unknown; metrics: unknown; notes?: unknown; failures?: unknown }[];
}

/** `node dist/bench/run.js ...args` from the repository root; killed after `timeoutMs`. */
function bench(args: readonly string[], timeoutMs = 150_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN_JS, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The Markdown table printed for `suite`: its data rows (after the header and the separator). */
function tableRows(stdout: string, suite: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.indexOf(`## ${suite}`);
  if (start < 0) return [];
  const rows: string[] = [];
  for (const line of lines.slice(start + 3)) {
    if (!line.startsWith('| ')) break;
    rows.push(line);
  }
  return lines[start + 1]?.startsWith('| scenario |') && lines[start + 2]?.startsWith('|---|') ? rows : [];
}

let out: string;
let latestBefore: number | null;

beforeAll(() => {
  if (!existsSync(RUN_JS)) throw new Error(`${RUN_JS} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
  out = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-smoke-'));
  latestBefore = existsSync(LATEST) ? statSync(LATEST).mtimeMs : null;
});

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
});

/** What a suite promises beyond a well-formed result, checked on its smoke run. */
const PROMISES: Readonly<Record<string, (doc: ResultDoc) => void>> = {
  // Issue #15: verification from the store runs the C scan (built by npm ci), beside the JavaScript scan.
  audit: (doc) => {
    const found = doc.results.find((x) => String(x.name).startsWith('verifyStore from the SQLite store'));
    expect(found, JSON.stringify(doc.results.map((x) => x.name))).toBeDefined();
    const m = found!.metrics as Record<string, number>;
    expect(m['C scan built']).toBe(1);
    expect(m['records/s']).toBeGreaterThan(0);
    expect(m['records/s, JavaScript scan']).toBeGreaterThan(0);
  },
  // Issue #9: a load run with a hostile client in parallel.
  'hostile-load': (doc) => {
    const row = (prefix: string): Record<string, number> => {
      const found = doc.results.find((x) => String(x.name).startsWith(prefix));
      if (!found) throw new Error(`no \`${prefix}\` row in ${JSON.stringify(doc.results.map((x) => x.name))}`);
      return found.metrics as Record<string, number>;
    };
    // No good call failed.
    const good = row('good clients');
    expect(good['calls']).toBeGreaterThan(0);
    expect(good['failed_calls']).toBe(0);
    // Every upstream execution has its outcome record, and the reverse.
    const outcomes = row('upstream executions');
    expect(outcomes['executions']).toBeGreaterThan(0);
    expect(outcomes['outcome_records']).toBe(outcomes['executions']);
    expect(outcomes).toMatchObject({ executions_without_outcome: 0, outcomes_without_execution: 0, unhandled_rejections: 0 });
    // The audit trail verifies.
    expect(row('audit trail')['verify_ok']).toBe(1);
    // Every attack was sent.
    const attacks = doc.results.filter((x) => String(x.name).startsWith('hostile: '));
    for (const a of ['deep arguments (5,000 levels)', 'lone surrogates', '`__proto__` keys', 'JSON-RPC batch', 'oversized body', 'initialize requests']) {
      expect(attacks.some((x) => String(x.name).includes(a)), `${a} in ${attacks.map((x) => String(x.name)).join('; ')}`).toBe(true);
    }
    for (const x of attacks) expect((x.metrics as Record<string, number>)['sent'], String(x.name)).toBeGreaterThan(0);
  },
};

describe('every bench suite in smoke mode', () => {
  for (const suite of Object.keys(SUITES)) {
    it(`${suite}: runs, writes a well-formed result, prints its table${PROMISES[suite] ? ' and keeps its promises' : ''}`, async () => {
      const file = path.join(out, `${suite}.json`);
      const r = await bench(['--smoke', '--out', file, suite]);
      const why = `exit ${String(r.code)}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;
      expect(r.code, why).toBe(0);
      const doc = JSON.parse(readFileSync(file, 'utf8')) as ResultDoc;
      expect(doc.smoke).toBe(true);
      expect(doc.node).toBe(process.version);
      expect(doc.results.length, why).toBeGreaterThan(0);
      for (const res of doc.results) {
        expect(res.suite).toBe(suite);
        expect(typeof res.name === 'string' && res.name.length > 0, JSON.stringify(res)).toBe(true);
        // Metrics are numbers (NaN and Infinity come back as null from JSON); each row has at least one real number.
        const values = Object.values(res.metrics as Record<string, unknown>);
        expect(values.every((v) => typeof v === 'number' || v === null), JSON.stringify(res)).toBe(true);
        expect(values.some((v) => typeof v === 'number' && Number.isFinite(v)), JSON.stringify(res)).toBe(true);
        if (res.notes !== undefined) expect(Array.isArray(res.notes) && res.notes.every((n) => typeof n === 'string')).toBe(true);
        expect(res.failures ?? [], `${suite} / ${String(res.name)}`).toEqual([]);
      }
      expect(tableRows(r.stdout, suite)).toHaveLength(doc.results.length);
      PROMISES[suite]?.(doc);
    }, 180_000);
  }

  it('never writes over bench/results/latest.json', () => {
    expect(existsSync(LATEST) ? statSync(LATEST).mtimeMs : null).toBe(latestBefore);
  });
});

describe('bench/run.ts', () => {
  it('refuses an unknown suite with exit 2, naming the suites', async () => {
    const r = await bench(['--smoke', 'no-such-suite']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown suite `no-such-suite`');
    expect(r.stderr).toContain('hostile-load');
  });
});
