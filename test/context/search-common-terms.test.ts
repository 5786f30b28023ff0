// Words most chunks hold: left out of a search that has a rarer word (every item found still holds the
// rarer words), and a search of common words only ranks a bounded set of candidates; the entitlement
// filter holds either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestSources } from '../../src/context/sources/ingest.js';
import type { Store } from '../../src/store/store.js';
import type { ContextConnector } from '../../src/tools/connectors/context.js';
import { contextWorkspace, openContext } from './context-workspace.js';

let ws: ReturnType<typeof contextWorkspace>;
let store: Store;
let connector: ContextConnector;
beforeAll(async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 30; i++) files[`docs/handbook/page-${i}.md`] = `Common knowledge page ${i}.${i === 7 ? ' The zebra crossing is outside.' : ''}\n`;
  // `common` is in every chunk; `zebra` in 3 of 40 (rare); `payroll` in the 10 HR chunks (common: a quarter).
  for (let i = 0; i < 10; i++) files[`docs/hr/secret-${i}.md`] = `Common payroll secret ${i}${i < 2 ? ': zebra bonus' : ''}.\n`;
  ws = contextWorkspace(files);
  const opened = await openContext(ws.dir);
  store = opened.store;
  connector = opened.connector;
  await ingestSources(opened.workspace, store, { now: () => new Date() });
});
afterAll(async () => {
  await store?.close();
  ws?.cleanup();
});

async function search(query: string, principal: string): Promise<string[]> {
  const res = await connector.call('search', { query }, { timeoutMs: 1000, caller: { principal, onBehalfOf: null } });
  if (!res.ok) throw new Error(res.message);
  return (res.content as { items: { provenance: { source: string; document: string } }[] }).items.map((i) => `${i.provenance.source}/${i.provenance.document}`).sort();
}

describe('common words in a search', () => {
  it('a rarer word decides what is found; the common word does not have to be scored everywhere', async () => {
    expect(await search('common zebra', 'user:sam')).toEqual(['handbook/page-7.md']);
    expect(await search('common zebra', 'user:dana')).toEqual(['handbook/page-7.md', 'hr/secret-0.md', 'hr/secret-1.md']);
    // Two common words and a rare one: the rare one must occur; the person without the entitlement gets none of HR.
    expect(await search('common payroll zebra', 'user:dana')).toEqual(['handbook/page-7.md', 'hr/secret-0.md', 'hr/secret-1.md']);
    expect(await search('common payroll zebra', 'user:sam')).toEqual(['handbook/page-7.md']);
  });

  it('common words alone still find items, only those the caller may read', async () => {
    const found = await search('common', 'user:sam');
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((d) => d.startsWith('handbook/'))).toBe(true);
    expect(await search('common', 'agent:helper')).toEqual(found);
    expect((await search('common payroll', 'user:dana')).filter((d) => d.startsWith('hr/'))).toHaveLength(10);
    expect(await search('common payroll', 'user:sam')).toEqual([]);
  });
});
