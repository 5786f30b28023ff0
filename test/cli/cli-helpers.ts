// Test helpers for the CLI: run the built `airlock` as a child process, and throw-away workspace copies to break.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';

/** The repository root (the CLI resolves `examples/acme` relative to it). */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
/** The built CLI entry point; `npx tsc -p tsconfig.build.json` makes it. */
export const CLI_JS = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
export const EXAMPLE_DIR = path.join(REPO_ROOT, 'examples', 'acme');

/** What one CLI invocation did. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time in milliseconds. */
  readonly ms: number;
}

/** Fails early with a clear message when the CLI has not been built. */
export function requireBuild(): void {
  if (!existsSync(CLI_JS)) throw new Error(`${CLI_JS} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
}

/**
 * Runs `node dist/src/cli/main.js ...args` asynchronously (so tests can hold a lock meanwhile),
 * without colours and with a deterministic command prefix; kills it after `timeoutMs`.
 */
export function airlock(args: readonly string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env['npm_lifecycle_event'];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_JS, ...args], { cwd: opts.cwd ?? REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A private copy of examples/acme (without its `.airlock` state) that a test may break. */
export interface BrokenWorkspace {
  readonly dir: string;
  read(rel: string): string;
  /**
   * Replaces the single occurrence of `from` with `to` in `rel`; returns the 1-based line and
   * column where the replacement starts (fails the test when `from` is not there exactly once).
   */
  edit(rel: string, from: string, to: string): { line: number; column: number };
  write(rel: string, text: string | Buffer): void;
  cleanup(): void;
}

export function brokenWorkspace(): BrokenWorkspace {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-cli-'));
  cpSync(EXAMPLE_DIR, dir, { recursive: true, filter: (src) => !path.relative(EXAMPLE_DIR, src).split(path.sep).includes('.airlock') });
  const ws: BrokenWorkspace = {
    dir,
    read: (rel) => readFileSync(path.join(dir, rel), 'utf8'),
    edit(rel, from, to) {
      const text = ws.read(rel);
      expect(text.split(from).length - 1, `\`${from}\` should occur once in ${rel}`).toBe(1);
      const at = text.indexOf(from);
      const before = text.slice(0, at);
      const line = before.split('\n').length;
      const column = at - before.lastIndexOf('\n');
      ws.write(rel, text.replace(from, to));
      return { line, column };
    },
    write(rel, text) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
  return ws;
}
