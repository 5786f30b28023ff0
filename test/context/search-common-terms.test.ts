// Searches of words held by very many chunks (more than COMMON_CANDIDATES): like stop words, they are not
// required when a rarer word is given (every item holds the rarer words); a search of common words only
// takes a bounded set of candidates that hold them all. The entitlement filter holds either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestSources } from '../../src/context/sources/ingest.js';
import { COMMON_CANDIDATES } from '../../src/store/sqlite-context.js';
import type { Store } from '../../src/store/store.js';
import type { ContextConnector } from '../../src/tools/connectors/context.js';
import { contextWorkspace, openContext } from './context-workspace.js';

let ws: ReturnType<typeof contextWorkspace>;
let store: Store;
let connector: ContextConnector;
const PER_FILE = 100;
const FILES = Math.ceil((COMMON_CANDIDATES + 400) / PER_FILE);
beforeAll(async () => {
  const files: Record<string, string> = {};
  // `common` and `word` are in every handbook chunk (more than COMMON_CANDIDATES of them: one paragraph a
  // chunk, two do not fit in 64 characters); `zebra` in one.
  for (let f = 0; f < FILES; f++) {
    files[`docs/handbook/page-${f}.md`] = Array.from({ length: PER_FILE }, (_, p) => `Common word paragraph ${f}-${p} with filler text${f === 3 && p === 7 ? ' zebra' : ''}.`).join('\n\n') + '\n';
  }
  for (let i = 0; i < 5; i++) files[`docs/hr/secret-${i}.md`] = `Common word payroll secret ${i}.\n`;
  // 200 HR chunks that rank far above the one handbook chunk for `zebra`: a staff member's search must look past them.
  files['docs/hr/zebras.md'] = Array.from({ length: 200 }, (_, p) => `Zebra zebra zebra herd ${p}.`).join('\n\n') + '\n';
  ws = contextWorkspace(files);
  const opened = await openContext(ws.dir);
  store = opened.store;
  connector = opened.connector;
  await ingestSources(opened.workspace, store, { now: () => new Date(), chunkChars: 64 });
});
afterAll(async () => {
  await store?.close();
  ws?.cleanup();
});

async function search(query: string, principal: string): Promise<{ document: string; text: string }[]> {
  const res = await connector.call('search', { query }, { timeoutMs: 5000, caller: { principal, onBehalfOf: null } });
  if (!res.ok) throw new Error(res.message);
  return (res.content as { items: { text: string; provenance: { source: string; document: string } }[] }).items.map((i) => ({ document: `${i.provenance.source}/${i.provenance.document}`, text: i.text }));
}

describe('common words in a search', () => {
  it('a rare word with common ones: exactly the chunks holding the rare words', async () => {
    expect((await search('common word zebra', 'user:sam')).map((i) => i.document)).toEqual(['handbook/page-3.md']);
    // The best matches are all HR chunks the caller may not read: the search widens until it finds what it may.
    expect((await search('zebra', 'user:sam')).map((i) => i.document)).toEqual(['handbook/page-3.md']);
    const hr = await search('zebra', 'user:dana');
    expect(hr.length).toBe(20);
    expect(hr.every((i) => i.document === 'hr/zebras.md')).toBe(true);
    expect((await search('common payroll', 'user:dana')).map((i) => i.document).sort()).toEqual(Array.from({ length: 5 }, (_, i) => `hr/secret-${i}.md`));
    expect(await search('common payroll', 'user:sam')).toEqual([]);
  });

  it('common words only: a bounded set of items holding every word, only those the caller may read', async () => {
    // Unranked (score 0): the words are common indeed.
    const hits = await store.searchContext({ terms: ['common', 'word'], entitlements: [['*']], sources: ['handbook', 'hr'], limit: 5 });
    expect(hits.map((h) => h.score)).toEqual([0, 0, 0, 0, 0]);
    const found = await search('common word', 'user:sam');
    expect(found.length).toBeGreaterThan(0);
    for (const i of found) {
      expect(i.document.startsWith('handbook/')).toBe(true);
      expect(i.text.toLowerCase()).toContain('common word');
    }
  });
});
