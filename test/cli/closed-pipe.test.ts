// `airlock ... | head`: a reader that closes its end of stdout early. The command stops writing and exits 0
// quietly (no stack trace, no "internal error"), as a Unix filter would; before, an export crashed on EPIPE.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { draft } from '../store/store-suite.js';
import { brokenWorkspace, CLI_JS, REPO_ROOT, requireBuild, type BrokenWorkspace } from './cli-helpers.js';

let ws: BrokenWorkspace;

beforeAll(async () => {
  requireBuild();
  ws = brokenWorkspace();
  // A trail whose export is far past a pipe's buffer (64 KiB): the writer must meet the closed end.
  const a = await openAirlock(ws.dir);
  try {
    for (let i = 0; i < 20; i++) await a.store.appendAudit(Array.from({ length: 100 }, (_, j) => draft(i * 100 + j)));
  } finally {
    await a.close();
  }
});
afterAll(() => ws?.cleanup());

/** Runs the CLI, reads `keep` bytes of its stdout, then closes the pipe; resolves to its exit code and stderr. */
function readThenClose(args: readonly string[], keep: number): Promise<{ code: number | null; stderr: string; read: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_JS, ...args], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let read = 0;
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.on('data', (b: Buffer) => {
      read += b.length;
      if (read >= keep) child.stdout.destroy();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, read }));
  });
}

describe('a reader that closes stdout early', () => {
  it('ends `audit export` quietly with exit 0', async () => {
    const r = await readThenClose(['-w', ws.dir, 'audit', 'export'], 10);
    expect(r.read).toBeGreaterThanOrEqual(10);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
