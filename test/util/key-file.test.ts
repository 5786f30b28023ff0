// A state key made by whichever process comes first: every process racing to make it reads the same
// 32 bytes, never an empty or half-written file, and nothing is left beside it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stateKey } from '../../src/util/key-file.js';
import { requireBuild, REPO_ROOT } from '../cli/cli-helpers.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-keyfile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const wrong = (file: string, bytes: number): never => {
  throw new Error(`${file} is ${bytes} bytes`);
};

function racer(dir: string): Promise<string> {
  const script = `import { stateKey } from ${JSON.stringify(path.join(REPO_ROOT, 'dist/src/util/key-file.js'))};
process.stdout.write(Buffer.from(stateKey(${JSON.stringify(dir)}, 'race.key', (f, n) => { throw new Error(f + ' is ' + n + ' bytes'); })).toString('hex'));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
  });
}

describe('stateKey', () => {
  it('gives every process racing to make it the same whole key, mode 600, and nothing beside it', async () => {
    requireBuild();
    for (let round = 0; round < 3; round++) {
      const dir = path.join(tmp, `race-${round}`);
      const keys = await Promise.all(Array.from({ length: 6 }, () => racer(dir)));
      expect(new Set(keys).size).toBe(1);
      expect(keys[0]).toMatch(/^[0-9a-f]{64}$/);
      expect(readdirSync(dir)).toEqual(['race.key']);
      expect(statSync(path.join(dir, 'race.key')).mode & 0o777).toBe(0o600);
    }
  });

  it('reads a key that exists, and refuses a file of another length', () => {
    const dir = path.join(tmp, 'existing');
    const first = stateKey(dir, 'k.key', wrong);
    expect(Buffer.from(stateKey(dir, 'k.key', wrong)).equals(Buffer.from(first))).toBe(true);
    writeFileSync(path.join(dir, 'short.key'), 'short');
    expect(() => stateKey(dir, 'short.key', wrong)).toThrow(/is 5 bytes/);
  });
});
