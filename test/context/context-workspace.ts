// Test helper: a small workspace with document sources (a handbook everyone may read, an HR folder for
// role `hr` only), a `context` connector and its `context.search` contract; and the connector over its store.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadWorkspace } from '../../src/config/load.js';
import type { Workspace } from '../../src/config/schema.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { ContextConnector } from '../../src/tools/connectors/context.js';
import { createTestDatabase } from '../helpers/postgres.js';

/** The workspace file: `hr` sources only `role:hr` may read; `agent:helper` acts for people. */
export const AIRLOCK_YAML = `version: 1
name: ctx
identity:
  principals:
    - { id: helper, kind: agent, roles: [assistant] }
    - { id: hr-bot, kind: agent, roles: [assistant, hr] }
    - { id: dana, kind: user, roles: [hr] }
    - { id: sam, kind: user, roles: [staff] }
connectors:
  context: { kind: context }
tools:
  - name: context.search
    connector: context
    description: Search the handbook and HR documents.
    effect: read
    risk: low
    classification: confidential
    trust: untrusted
    inputSchema: { type: object, properties: { query: { type: string } }, required: [query] }
sources:
  handbook:
    kind: folder
    path: docs/handbook
    classification: internal
    owner: user:dana
    access: ['*']
    maxAgeDays: 30
  hr:
    kind: folder
    path: docs/hr
    classification: confidential
    trust: trusted
    owner: user:dana
    access: [role:hr]
    documents:
      public-holidays.md: { classification: internal, access: ['role:hr', 'role:staff', 'role:assistant'] }
policies: ["policies/*.cedar"]
workflows: ["workflows/*.yaml"]
`;

/** A workspace folder with `files` (relative path → text) beside the workspace file and a starter policy and workflow. */
export function contextWorkspace(files: Readonly<Record<string, string | Uint8Array>>, yaml = AIRLOCK_YAML): { dir: string; write: (rel: string, text: string | Uint8Array) => void; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-context-'));
  const write = (rel: string, text: string | Uint8Array): void => {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  };
  write('airlock.yaml', yaml);
  write('policies/read.cedar', 'permit (principal in Airlock::Role::"assistant", action == Airlock::Action::"call", resource) when { resource.effect == "read" };\n');
  write('workflows/ask.yaml', 'name: ask\ntier: assist\nagent: helper\ntools: [context.search]\n');
  for (const [rel, text] of Object.entries(files)) write(rel, text);
  return { dir, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Copies a folder (a fixture corpus) into the workspace. */
export function copyInto(dir: string, from: string, to: string): void {
  cpSync(from, path.join(dir, to), { recursive: true });
}

/**
 * The store of a context test: the workspace's SQLite file, or with `AIRLOCK_TEST_STORE=postgres` a throwaway
 * PostgreSQL database (`AIRLOCK_TEST_PG`'s server), dropped when the store closes.
 */
async function openTestStore(dir: string): Promise<Store> {
  if (process.env['AIRLOCK_TEST_STORE'] !== 'postgres') return openSqliteStore(path.join(dir, '.airlock', 'airlock.db'));
  const db = await createTestDatabase('airlock_ctxws');
  const store = await openPostgresStore(db.url).catch(async (e: unknown) => {
    await db.drop();
    throw e;
  });
  const close = async (): Promise<void> => {
    await store.close();
    await db.drop();
  };
  return new Proxy(store, { get: (t, k) => (k === 'close' ? close : (Reflect.get(t, k) as unknown)) });
}

/** The workspace loaded, its store opened, and its `context` connector at `now`. */
export async function openContext(dir: string, now: () => Date = () => new Date()): Promise<{ workspace: Workspace; store: Store; connector: ContextConnector }> {
  const workspace = await loadWorkspace(dir);
  const store = await openTestStore(dir);
  const connector = new ContextConnector('context', { store, principals: workspace.file.identity.principals, sources: Object.keys(workspace.file.sources), now, resultLimit: 20 });
  return { workspace, store, connector };
}
