// How the user invokes the CLI, for the follow-up commands it prints: `airlock` or `npm run airlock --`, with `-w DIR` when needed.
import path from 'node:path';
import { AIRLOCK_ROOT } from '../util/package-root.js';

/** The bundled demo workspace. */
export const DEMO_WORKSPACE = path.join(AIRLOCK_ROOT, 'examples', 'acme');

/**
 * The command prefix that reaches the workspace in `dir` from the current folder: `airlock` (or
 * `npm run airlock --` under npm), plus `-w DIR` unless `dir` is the current folder or the demo.
 */
export function cliPrefix(dir: string): string {
  const base = process.env['npm_lifecycle_event'] ? 'npm run airlock --' : 'airlock';
  return dir === DEMO_WORKSPACE || dir === process.cwd() ? base : `${base} -w ${path.relative(process.cwd(), dir) || '.'}`;
}
