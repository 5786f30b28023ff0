// Benchmark workspaces: private copies of the Acme demo, and edits to a workspace's airlock.yaml through the YAML document API.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { resetAcme } from '../src/demo/acme/db.js';
import { AIRLOCK_ROOT } from '../src/util/package-root.js';

/** A private workspace in a temp folder. */
export interface BenchWorkspaceDir {
  readonly dir: string;
  cleanup(): void;
}

/** A private copy of examples/acme (without its `.airlock` state) in a fresh temp folder, Acme's database reset to the seed. */
export function acmeCopy(prefix: string): BenchWorkspaceDir & { readonly acmeDb: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `airlock-${prefix}-`));
  cpSync(path.join(AIRLOCK_ROOT, 'examples', 'acme'), dir, { recursive: true, filter: (s) => !s.includes(`${path.sep}.airlock`) });
  const acmeDb = path.join(dir, '.airlock', 'acme.db');
  mkdirSync(path.dirname(acmeDb), { recursive: true });
  resetAcme(acmeDb);
  return { dir, acmeDb, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Edits `<dir>/airlock.yaml` as a YAML document (comments and layout kept), so an edit merges into
 * what the file already holds instead of appending text that could repeat a key.
 */
export function editWorkspaceYaml(dir: string, edit: (doc: Document) => void): void {
  const file = path.join(dir, 'airlock.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'), { uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(`${file} does not parse: ${doc.errors[0]?.message ?? ''}`);
  edit(doc);
  writeFileSync(file, doc.toString());
}

/** One `identity.apiKeys` entry. */
export interface ApiKeyEntry {
  readonly id: string;
  readonly principal: string;
  readonly sha256: string;
}

/** Adds API keys to `identity.apiKeys`, after the keys already there (the list is made when absent). */
export function addApiKeys(doc: Document, keys: readonly ApiKeyEntry[]): void {
  const existing = doc.getIn(['identity', 'apiKeys']);
  if (existing !== undefined && !isSeq(existing)) throw new Error('`identity.apiKeys` is not a list');
  for (const k of keys) doc.addIn(['identity', 'apiKeys'], doc.createNode({ ...k }, { flow: true }));
}

/** Sets `server.limits.<name>` (making `server` and `limits` when absent, keeping what else they hold). */
export function setServerLimit(doc: Document, name: 'maxRequestBytes' | 'callsPerMinute' | 'concurrentCallsPerRun', value: number): void {
  const server = doc.get('server');
  if (server !== undefined && !isMap(server)) throw new Error('`server` is not a map');
  doc.setIn(['server', 'limits', name], value);
}
