// native/audit-scan.c reads rows someone with the database file may have left there: its byte scan, fuzzed under
// AddressSanitizer and UndefinedBehaviorSanitizer (native/fuzz-audit-scan.c), must never read or write out of bounds.
// Needs a C compiler with the sanitizers and OpenSSL's libcrypto, as the native build does (CC, default cc).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AIRLOCK_ROOT } from '../../src/util/package-root.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-native-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the C range scan under sanitizers', () => {
  it('survives edited, cut and misframed rows without a bad read or write, and still accepts intact ones', () => {
    const exe = path.join(tmp, 'fuzz');
    const nodeHeaders = path.join(path.dirname(process.execPath), '..', 'include', 'node');
    const sqliteHeaders = path.join(AIRLOCK_ROOT, 'node_modules', 'better-sqlite3', 'deps', 'sqlite3');
    execFileSync(
      process.env.CC ?? 'cc',
      ['-O1', '-g', '-std=c11', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer', `-I${nodeHeaders}`, `-I${sqliteHeaders}`,
        path.join(AIRLOCK_ROOT, 'native', 'fuzz-audit-scan.c'), '-o', exe, '-lcrypto'],
      { stdio: 'pipe' },
    );
    for (const seed of ['1', '2']) {
      // A sanitizer report ends the run with a non-zero exit: execFileSync throws with it.
      const out = execFileSync(exe, ['150000', seed], { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
      const m = /(\d+) iterations, (\d+) accepted \((\d+) of two rows\), (\d+) undecided/.exec(out);
      expect(m, out).not.toBeNull();
      expect(Number(m![2])).toBeGreaterThan(1000);
      expect(Number(m![3])).toBeGreaterThan(100);
    }
  }, 120_000);
});
