// The approval statistics read the newest approvals a page at a time, never the whole history at once
// (gateway/approvals/stats.ts `newestApprovals`): in order, across page boundaries, up to the bound.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newestApprovals } from '../../src/gateway/approvals/stats.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { approval } from '../store/store-suite.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-newest-approvals-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the newest approvals, a page at a time', () => {
  it('reads them newest first across pages, and stops at the bound', async () => {
    const store = await openSqliteStore(path.join(tmp, 'airlock.db'));
    try {
      const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
      await Promise.all(Array.from({ length: 2500 }, (_, i) => store.createApproval(approval(`apr_${String(i).padStart(5, '0')}`, { createdAt: at(i) }))));
      const want = Array.from({ length: 2500 }, (_, i) => `apr_${String(2499 - i).padStart(5, '0')}`);
      expect((await newestApprovals(store)).map((a) => a.id)).toEqual(want);
      expect((await newestApprovals(store, 2100)).map((a) => a.id)).toEqual(want.slice(0, 2100));
      expect((await newestApprovals(store, 1000)).map((a) => a.id)).toEqual(want.slice(0, 1000));
    } finally {
      await store.close();
    }
  }, 60_000);
});
