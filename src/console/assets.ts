// The console's static files (one script, one stylesheet), shipped in the package's `assets/console/`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TYPES: Readonly<Record<string, string>> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/** `assets/console/` of the package, from src/console (vitest) or dist/src/console (built). */
function assetDir(): string {
  for (const rel of ['../../assets/console/', '../../../assets/console/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}console.js`)) return dir;
  }
  return fileURLToPath(new URL('../../../assets/console/', import.meta.url));
}

const DIR = assetDir();

/** The file for a static name the console serves, or null: only the known names, never a path. */
export function assetFile(name: string): { path: string; type: string } | null {
  const type = TYPES[name];
  return type ? { path: `${DIR}${name}`, type } : null;
}
