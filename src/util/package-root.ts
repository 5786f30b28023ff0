// Finds the Airlock package's root folder (the one holding package.json), from source or from dist/.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function find(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the Airlock package root (no package.json above the code)');
    dir = up;
  }
}

/** Root folder of the Airlock package: holds package.json, dist/ and examples/. */
export const AIRLOCK_ROOT = find();

/**
 * The compiled file of the module `src/<rel>.ts` (a worker thread's module: threads load JavaScript, so
 * from source, as in tests, the built copy is used); undefined when Airlock has not been built.
 */
export function builtModule(rel: string): string | undefined {
  const file = path.join(AIRLOCK_ROOT, 'dist', 'src', ...rel.split('/')) + '.js';
  return existsSync(file) ? file : undefined;
}
