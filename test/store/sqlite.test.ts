// The SQLite store: the shared Store suite, plus what only a file on disk can show (triggers, corruption, locks, two processes).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain-verifier.js';
import { AirlockError } from '../../src/errors.js';
import { openSqliteStore as openStore, SQLITE_SCHEMA_VERSION, type SqliteStoreOptions } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import type { ApprovalId, RunId } from '../../src/types.js';
import { draft, storeSuite } from './store-suite.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-sqlite-'));
let n = 0;
const freshPath = (): string => path.join(tmp, `t${++n}`, '.airlock', 'airlock.db');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Writer = NonNullable<SqliteStoreOptions['writer']>;
const WRITERS: readonly Writer[] = ['inline', 'thread'];

storeSuite('sqlite (inline writes)', () => openStore(freshPath()));
storeSuite('sqlite (writer thread)', () => openStore(freshPath(), { writer: 'thread' }));

async function failure(p: Promise<unknown>): Promise<AirlockError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockError);
    return e as AirlockError;
  }
  throw new Error('expected the promise to reject');
}

async function withStoreOpts<T>(file: string, fn: (s: Store) => Promise<T>, opts: SqliteStoreOptions = {}): Promise<T> {
  const s = await openStore(file, opts);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe.each(WRITERS)('sqlite store on disk (writer: %s)', (writer) => {
  const withStore = <T>(file: string, fn: (s: Store) => Promise<T>): Promise<T> => withStoreOpts(file, fn, { writer });
  const openSqliteStore = (file: string, opts: SqliteStoreOptions = {}): Promise<Store> => openStore(file, { writer, ...opts });

  it('creates folder, file and schema on first use, durable settings on, data kept across reopen', async () => {
    const file = freshPath();
    await withStore(file, async (s) => {
      await s.appendAudit([draft(1)]);
    });
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).get()).toEqual({
        value: String(SQLITE_SCHEMA_VERSION),
      });
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
    await withStore(file, async (s) => {
      expect(await s.auditHead()).toMatchObject({ seq: 1 });
      const [second] = await s.appendAudit([draft(2)]);
      expect(second?.seq).toBe(2);
    });
  });

  it('refuses UPDATE and DELETE of audit rows (triggers), allows payload deletion', async () => {
    const file = freshPath();
    await withStore(file, (s) => s.appendAudit([draft(1), draft(2)]));
    const raw = new Database(file);
    try {
      expect(() => raw.prepare(`UPDATE audit SET leaf = '{}' WHERE seq = 1`).run()).toThrow(/append-only: UPDATE/);
      expect(() => raw.prepare('DELETE FROM audit WHERE seq = 2').run()).toThrow(/append-only: DELETE/);
      expect(raw.prepare('SELECT count(*) AS n FROM audit').get()).toEqual({ n: 2 });
    } finally {
      raw.close();
    }
  });

  it('names a file that is not a database: store-corrupt with a hint', async () => {
    const file = path.join(tmp, 'garbage.db');
    writeFileSync(file, 'this is not a database, just text that is long enough to have a header.'.repeat(20));
    const err = await failure(openSqliteStore(file));
    expect(err.code).toBe('store-corrupt');
    expect(err.message).toContain(file);
    expect(err.hint).toMatch(/backup/);
    expect(err.location?.file).toBe(file);
  });

  it('reports a database locked by another connection as store-locked (retryable, with a hint)', async () => {
    const file = freshPath();
    const s = await openSqliteStore(file, { busyTimeoutMs: 50 });
    const other = new Database(file);
    try {
      other.exec('BEGIN IMMEDIATE');
      const err = await failure(s.appendAudit([draft(1)]));
      expect(err.code).toBe('store-locked');
      expect(err.retryable).toBe(true);
      expect(err.hint).toMatch(/another Airlock process/);
      expect(err.message).toContain(file);
      other.exec('ROLLBACK');
      expect((await s.appendAudit([draft(1)]))[0]?.seq).toBe(1);
    } finally {
      other.close();
      await s.close();
    }
  });

  it('refuses a file written by a newer schema', async () => {
    const file = freshPath();
    await withStore(file, async () => {});
    const raw = new Database(file);
    raw.prepare(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`).run();
    raw.close();
    const err = await failure(openSqliteStore(file));
    expect(err.code).toBe('store');
    expect(err.hint).toMatch(/upgrade/);
  });

  it('fails clearly when used after close', async () => {
    const s = await openSqliteStore(freshPath());
    await s.close();
    await s.close(); // idempotent
    expect((await failure(s.appendAudit([draft(1)]))).message).toMatch(/closed/);
    expect((await failure(s.readAudit(1, 1))).message).toMatch(/closed/);
  });

  it('keeps 1,000 appends from 1,000 concurrent promises gapless', async () => {
    await withStore(freshPath(), async (s) => {
      const recs = (await Promise.all(Array.from({ length: 1000 }, (_, i) => s.appendAudit([draft(i)])))).flat();
      expect(recs.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
      const stored = await s.readAudit(1, 2000);
      expect(stored).toHaveLength(1000);
      expect((await verifyChain(stored)).ok).toBe(true);
    });
  });

  it('isolates an item the database refuses inside a group commit: the others commit, the chain stays gapless', async () => {
    const file = freshPath();
    await withStore(file, async (s) => {
      await s.appendAudit([draft(0)]);
      await s.createRun({ id: 'run_ok' as RunId, workflow: 'w', status: 'running', version: 1, createdAt: 't', updatedAt: 't', state: {} });
      // A fault the store cannot foresee (a full disk, a constraint), planted for one caller's record only.
      const raw = new Database(file);
      raw.exec(`CREATE TRIGGER poison BEFORE INSERT ON audit WHEN NEW.leaf LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'planted fault'); END`);
      raw.close();
      const before = Array.from({ length: 20 }, (_, i) => s.appendAudit([draft(i + 1), draft(i + 100)]));
      const bad = s.appendAudit([draft(50, { body: { note: 'poison' } })]);
      const save = s.saveRun({ id: 'run_ok' as RunId, workflow: 'w', status: 'running', version: 2, createdAt: 't', updatedAt: 't', state: { saved: true } });
      const after = Array.from({ length: 20 }, (_, i) => s.appendAudit([draft(i + 200)]));
      const err = await failure(bad);
      expect(err.message).toMatch(/planted fault/);
      await save;
      const ok = (await Promise.all([...before, ...after])).flat();
      expect(ok).toHaveLength(60);
      const stored = await s.readAudit(1, 1000);
      expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 61 }, (_, i) => i + 1));
      expect(stored.some((r) => JSON.stringify(r.body).includes('poison'))).toBe(false);
      expect((await verifyChain(stored)).ok).toBe(true);
      expect((await s.getRun('run_ok' as RunId))?.state).toEqual({ saved: true });
    });
  });

  it('stays one valid chain when two processes append to the same file', async () => {
    const file = freshPath();
    await withStore(file, (s) => s.appendAudit([draft(0)]));
    const perProcess = 300;
    const barrier = path.join(tmp, `barrier-${n}`);
    const child = spawnAppender(file, perProcess, barrier, writer);
    await withStore(file, async (s) => {
      // Start together: wait for the child to open the store, then let both go.
      while (!existsSync(`${barrier}.ready`)) await new Promise((r) => setTimeout(r, 2));
      writeFileSync(`${barrier}.go`, '');
      // Append in small concurrent waves while the child does the same.
      for (let wave = 0; wave < perProcess / 10; wave++) {
        await Promise.all(Array.from({ length: 10 }, (_, i) => s.appendAudit([draft(wave * 10 + i, { principal: 'agent:parent' })])));
        // SQLite's busy handler is not fair: without a pause one writer can run all its waves first.
        await new Promise((r) => setTimeout(r, 3));
      }
    });
    const { code, stderr } = await child;
    expect(stderr).not.toMatch(/error/i);
    expect(code).toBe(0);
    await withStore(file, async (s) => {
      const all = await s.readAudit(1, 10_000);
      expect(all).toHaveLength(1 + 2 * perProcess);
      expect(await verifyChain(all)).toMatchObject({ ok: true, count: 1 + 2 * perProcess });
      expect(all.filter((r) => r.principal === 'agent:child')).toHaveLength(perProcess);
      // The two writers really interleaved (else this test would prove nothing).
      const switches = all.filter((r, i) => i > 1 && r.principal !== all[i - 1]?.principal).length;
      expect(switches).toBeGreaterThan(2);
    });
  });
});

/**
 * Runs a child Node process that appends `count` records to `file` through the real store. The
 * child loads the TypeScript sources through a tiny loader that transpiles with `typescript`.
 */
function spawnAppender(
  file: string,
  count: number,
  barrier: string,
  writer: Writer,
): Promise<{ code: number | null; stderr: string }> {
  const dir = mkdtempSync(path.join(tmp, 'child-'));
  const tsPath = createRequire(import.meta.url).resolve('typescript');
  const here = path.dirname(fileURLToPath(import.meta.url));
  const storeUrl = pathToFileURL(path.join(here, '../../src/store/sqlite.ts')).href;
  writeFileSync(
    path.join(dir, 'hooks.mjs'),
    `import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
const ts = createRequire(import.meta.url)(${JSON.stringify(tsPath)});
export async function resolve(spec, ctx, next) {
  if (spec.startsWith('.') && spec.endsWith('.js') && ctx.parentURL && ctx.parentURL.endsWith('.ts')) {
    const url = new URL(spec.slice(0, -3) + '.ts', ctx.parentURL);
    if (existsSync(fileURLToPath(url))) return { url: url.href, format: 'module', shortCircuit: true };
  }
  return next(spec, ctx);
}
export async function load(url, ctx, next) {
  if (!url.endsWith('.ts')) return next(url, ctx);
  const out = ts.transpileModule(readFileSync(fileURLToPath(url), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}
`,
  );
  writeFileSync(
    path.join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
  );
  writeFileSync(
    path.join(dir, 'child.mjs'),
    `const { openSqliteStore } = await import(${JSON.stringify(storeUrl)});
const { existsSync, writeFileSync } = await import('node:fs');
const store = await openSqliteStore(process.argv[2], { writer: process.argv[5] });
const count = Number(process.argv[3]);
const barrier = process.argv[4];
writeFileSync(barrier + '.ready', '');
while (!existsSync(barrier + '.go')) await new Promise((r) => setTimeout(r, 2));
for (let wave = 0; wave < count / 10; wave++) {
  await Promise.all(Array.from({ length: 10 }, (_, i) => store.appendAudit([{
    type: 'action.intent', time: new Date(0).toISOString(), runId: 'run_child', principal: 'agent:child',
    onBehalfOf: null, body: { i: wave * 10 + i },
  }])));
  await new Promise((r) => setTimeout(r, 3));
}
await store.close();
`,
  );
  const proc = spawn(
    process.execPath,
    ['--import', pathToFileURL(path.join(dir, 'register.mjs')).href, path.join(dir, 'child.mjs'), file, String(count), barrier, writer],
    // The test runner's NODE_OPTIONS would load vitest hooks into the child.
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stderr }));
  });
}
