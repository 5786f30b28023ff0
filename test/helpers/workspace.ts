// Test helper: a private copy of the Acme demo workspace in a temp folder, with Acme reset to its seed.
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import type { ApprovalId, RunId } from '../../src/types.js';
import os from 'node:os';
import path from 'node:path';
import { openAcmeDb, resetAcme, snapshotAcme, type AcmeSnapshot } from '../../src/demo/acme/db.js';
import { loadWorkspace } from '../../src/config/load.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabaseSync, ON_POSTGRES } from './postgres.js';

export const EXAMPLE_DIR = path.resolve(import.meta.dirname, '../../examples/acme');

/**
 * Copies examples/acme (without its .airlock state) to a fresh temp dir; returns its path and a cleanup.
 * With `AIRLOCK_TEST_STORE=postgres` the copy's store is a throwaway PostgreSQL database (named in its
 * airlock.yaml, so child processes use it too), dropped by the cleanup.
 */
export function copyAcme(): { dir: string; acmeDb: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-acme-'));
  cpSync(EXAMPLE_DIR, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}.airlock`) });
  const acmeDb = path.join(dir, '.airlock', 'acme.db');
  resetAcme(acmeDb);
  const db = ON_POSTGRES ? createTestDatabaseSync('airlock_acme') : null;
  if (db) {
    // Appended as text: tests edit the file's lines as they are, and Acme's names no store of its own.
    appendFileSync(path.join(dir, 'airlock.yaml'), `\nstore: ${db.url}\n`);
  }
  return {
    dir,
    acmeDb,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      db?.drop();
    },
  };
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

/**
 * The Acme refund desk on model routes of kind `openai-chat` (each entry: route name → what it sets
 * beside `model` and `maxRetries: 0`, e.g. `baseUrl`), its workflow on `model` (a route or `auto`
 * with `routing` rules), optionally with a declared input classification.
 */
export function acmeDeskOnRoutes(models: Record<string, object>, model: string, routing: object[] = [], inputClassification?: string): ReturnType<typeof copyAcme> {
  const ws = copyAcme();
  const file = path.join(ws.dir, 'airlock.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  for (const [name, m] of Object.entries(models)) doc.setIn(['models', name], doc.createNode({ kind: 'openai-chat', model: name, maxRetries: 0, ...m }));
  if (routing.length > 0) doc.set('routing', doc.createNode(routing));
  writeFileSync(file, doc.toString());
  const wf = path.join(ws.dir, 'workflows', 'refund-desk.yaml');
  writeFileSync(wf, readFileSync(wf, 'utf8').replace(/^model: playbook$/m, `model: ${model}${inputClassification ? `\ninputClassification: ${inputClassification}` : ''}`));
  return ws;
}

/**
 * The Acme demo with a notification channel declared (`notifications.<channel>` set to `config`) and
 * `server.publicUrl`, opened, its refund run paused for approval: the pending approval's id.
 */
export async function acmeAwaitingApproval(channel: 'slack' | 'email', config: object): Promise<{ ws: ReturnType<typeof copyAcme>; a: Airlock; runId: RunId; approvalId: ApprovalId }> {
  const ws = copyAcme();
  const file = path.join(ws.dir, 'airlock.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['notifications', channel], doc.createNode(config));
  doc.setIn(['server', 'publicUrl'], 'https://airlock.acme.example/');
  writeFileSync(file, doc.toString());
  const a = await openAirlock(ws.dir);
  const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
  return { ws, a, runId: run.id, approvalId: (run.state as unknown as RunState).pending!.approvalId };
}

/**
 * The store of the workspace in `dir` opened on its own (as another process would), with the workspace's
 * payload key: run state and sensitive payloads are sealed at rest, and open only with it.
 */
export async function openWorkspaceStore(dir: string): Promise<Store> {
  // Whatever store the workspace uses (SQLite, or PostgreSQL when it or AIRLOCK_STORE_URL names one).
  const workspace = await loadWorkspace(dir);
  const keyFile = path.join(dir, '.airlock', 'payloads.key');
  return openStore(workspace.dir, workspace.file.store, { sealing: { mode: workspace.file.store.sensitivePayloads, key: () => readFileSync(keyFile) } });
}
