// The context store suite on the embedded store (SQLite FTS5).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { contextStoreSuite } from './context-store-suite.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-context-sqlite-'));
let n = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

contextStoreSuite('sqlite', async () => {
  const store = await openSqliteStore(path.join(tmp, `t${++n}`, '.airlock', 'airlock.db'));
  return { store, close: () => store.close() };
});
