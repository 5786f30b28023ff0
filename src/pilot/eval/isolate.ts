// Each scenario's own world: a fresh copy of the workspace without its `.airlock/` state (store, keys,
// and the ground truth a demo keeps there, which its systems seed again on first use), with the
// scenario's fault injection in its connectors and, for an external agent, a one-off API key.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { WORKSPACE_FILE } from '../../config/load.js';
import type { ScenarioSpec } from './suite-schema.js';

/** Folders never copied: the workspace's state, version control, installed packages. */
const SKIPPED = new Set(['.airlock', '.git', 'node_modules']);

/** What the copy gets beyond the workspace's files. */
export interface IsolationPatch {
  /** Environment added to these stdio connectors. */
  readonly connectors: ScenarioSpec['connectors'];
  /** An API key declared for the external agent (its SHA-256 only), named `id`. */
  readonly apiKey?: { readonly id: string; readonly principal: string; readonly sha256: string } | undefined;
}

/**
 * Copies the workspace at `from` into the new folder `to` (its parent must exist), leaving out
 * `.airlock/`, `.git/` and `node_modules/` at any depth, and applies `patch` to the copy's
 * airlock.yaml. Returns `to`.
 */
export function isolateWorkspace(from: string, to: string, patch: IsolationPatch): string {
  mkdirSync(to);
  const root = path.resolve(from);
  cpSync(root, to, {
    recursive: true,
    filter: (src) => !path.relative(root, src).split(path.sep).some((part) => SKIPPED.has(part)),
  });
  const file = path.join(to, WORKSPACE_FILE);
  const entries = Object.entries(patch.connectors);
  if (entries.length === 0 && !patch.apiKey) return to;
  const doc = parseDocument(readFileSync(file, 'utf8'));
  for (const [name, { env }] of entries) {
    for (const [k, v] of Object.entries(env)) doc.setIn(['connectors', name, 'env', k], v);
  }
  if (patch.apiKey) {
    const keys = doc.getIn(['identity', 'apiKeys']);
    const entry = doc.createNode({ id: patch.apiKey.id, principal: patch.apiKey.principal, sha256: patch.apiKey.sha256 });
    if (keys === undefined || keys === null) doc.setIn(['identity', 'apiKeys'], doc.createNode([]));
    doc.addIn(['identity', 'apiKeys'], entry);
  }
  writeFileSync(file, doc.toString());
  return to;
}

/** Removes a scenario's copy (never throws: a leftover temp folder is not a failed evaluation). */
export function removeCopy(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // left for the OS to clean up
  }
}
