// Test helper: a private copy of the Acme demo workspace in a temp folder, with Acme reset to its seed.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openAcmeDb, resetAcme, snapshotAcme, type AcmeSnapshot } from '../../src/demo/acme/db.js';

export const EXAMPLE_DIR = path.resolve(import.meta.dirname, '../../examples/acme');

/** Copies examples/acme (without its .airlock state) to a fresh temp dir; returns its path and a cleanup. */
export function copyAcme(): { dir: string; acmeDb: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-acme-'));
  cpSync(EXAMPLE_DIR, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}.airlock`) });
  const acmeDb = path.join(dir, '.airlock', 'acme.db');
  resetAcme(acmeDb);
  return { dir, acmeDb, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Acme's ground truth right now: every table of the demo database. */
export function groundTruth(acmeDb: string): AcmeSnapshot {
  const db = openAcmeDb(acmeDb);
  try {
    return snapshotAcme(db);
  } finally {
    db.close();
  }
}

/**
 * A scratch workspace in a temp folder: each entry of `files` (path relative to the workspace →
 * text) is written, folders made as needed; `playbook.yaml` defaults to an empty playbook.
 */
export function scratchWorkspace(prefix: string, files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `airlock-${prefix}-`));
  for (const [rel, text] of Object.entries({ 'playbook.yaml': 'steps: []\n', ...files })) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return dir;
}
