// The context store suite on the embedded store (SQLite FTS5), and that its index's tokenizer is the one other stores borrow.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { FTS5_TOKENIZER } from '../../src/store/fts5-tokens.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { contextStoreSuite } from './context-store-suite.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-context-sqlite-'));
let n = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

contextStoreSuite('sqlite', async () => {
  const store = await openSqliteStore(path.join(tmp, `t${++n}`, '.airlock', 'airlock.db'));
  return { store, close: () => store.close() };
});

it("splits words for other stores with the embedded index's own tokenizer (fts5-tokens.ts)", async () => {
  const file = path.join(tmp, 'tokenizer', '.airlock', 'airlock.db');
  await (await openSqliteStore(file)).close();
  const db = new Database(file, { readonly: true });
  try {
    const sql = (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'ctx_fts'").get() as { sql: string }).sql;
    expect(sql).toContain(`tokenize = '${FTS5_TOKENIZER}'`);
  } finally {
    db.close();
  }
});
