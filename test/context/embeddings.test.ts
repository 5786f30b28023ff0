// Embeddings for search (optional): ingest sends only chunks cleared for the endpoint, keeps unit vectors,
// and embeds only what has none of the model (after a failure, the rest next time; after a model change,
// all again). A search ranks by meaning beside words, still under the caller's entitlements inside the
// store's query; its query is sent only when the run has read nothing above the clearance, and a failing
// endpoint leaves ranking by words. The endpoint is a loopback fake whose vectors count concepts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAIEmbedder, unitVectors } from '../../src/context/sources/embeddings.js';
import { ingestSources } from '../../src/context/sources/ingest.js';
import type { Workspace } from '../../src/config/schema.js';
import type { Store } from '../../src/store/store.js';
import { ContextConnector } from '../../src/tools/connectors/context.js';
import type { Classification } from '../../src/types.js';
import { FakeEndpoint, startedForSuite, type Answer, type Seen } from '../helpers/fake-model-endpoint.js';
import { AIRLOCK_YAML, contextWorkspace, openContext } from './context-workspace.js';

/** Words of one concept share a dimension; any other word gets one of the rest by its letters. */
const CONCEPTS = [['refund', 'refunds', 'reimbursement', 'money', 'back'], ['holiday', 'holidays', 'vacation', 'leave', 'closed', 'closes'], ['salary', 'payroll', 'wage', 'band']];
const DIMS = 24;
function conceptVector(text: string): number[] {
  const v: number[] = new Array<number>(DIMS).fill(0);
  for (const w of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    const c = CONCEPTS.findIndex((ws) => ws.includes(w));
    const d = c >= 0 ? c : 3 + ([...w].reduce((h, ch) => h * 31 + ch.charCodeAt(0), 7) % (DIMS - 3));
    v[d] = (v[d] as number) + (c >= 0 ? 4 : 1);
  }
  if (!v.some((x) => x !== 0)) v[DIMS - 1] = 1;
  return v;
}
const embeddings = (seen: Seen): Answer => ({
  status: 200,
  body: { object: 'list', model: seen.body.model, data: (seen.body.input as string[]).map((t, index) => ({ object: 'embedding', index, embedding: conceptVector(t) })), usage: { prompt_tokens: 1, total_tokens: 1 } },
});

const endpoint = startedForSuite(new FakeEndpoint('/v1'));
const FILES = {
  'docs/handbook/refunds.md': '# Returns\n\nCustomers get their money back within 30 days.\n',
  'docs/handbook/intro.md': '# Intro\n\nWelcome to the team.\n',
  'docs/hr/salaries.md': '# Pay\n\nThe wage band for engineers is confidential.\n',
  'docs/hr/public-holidays.md': '# Public holidays\n\nThe office closes on public holidays.\n',
  'docs/hr/leave.md': '# Leave\n\nVacation requests go to HR.\n',
};

describe('embeddings', () => {
  let ws: ReturnType<typeof contextWorkspace>;
  let store: Store;
  let workspace: Workspace;
  const now = (): Date => new Date('2030-01-10T00:00:00Z');
  const sent = (): string[] => endpoint.seen.flatMap((s) => s.body.input as string[]);

  beforeEach(async () => {
    endpoint.reset();
    endpoint.otherwise = embeddings;
    const yaml = AIRLOCK_YAML.replace("      public-holidays.md: { classification: internal, access: ['role:hr', 'role:staff', 'role:assistant'] }\n", "      public-holidays.md: { classification: internal, access: ['role:hr', 'role:staff', 'role:assistant'] }\n      leave.md: { classification: internal }\n").replace(
      'policies:',
      `embeddings: { kind: openai, baseUrl: "${endpoint.url}", model: concept-embed, clearance: internal, batch: 2, maxRetries: 0 }\npolicies:`,
    );
    ws = contextWorkspace(FILES, yaml);
    ({ store, workspace } = await openContext(ws.dir, now));
  });
  afterEach(async () => {
    await store.close();
    ws.cleanup();
  });

  const embedder = () => openAIEmbedder(ws.dir, workspace.file.embeddings!);
  const connector = (withEmbeddings = true) =>
    new ContextConnector('context', { store, principals: workspace.file.identity.principals, sources: ['handbook', 'hr'], now, resultLimit: 5, ...(withEmbeddings ? { embedder } : {}) });
  async function search(c: ContextConnector, query: string, caller: { principal: string; onBehalfOf: string | null; classification: Classification }) {
    const res = await c.call('search', { query }, { timeoutMs: 5000, caller });
    if (!res.ok) throw new Error(res.message);
    const content = res.content as { items: { provenance: { source: string; document: string } }[]; ranking: string; meaningUnavailable?: string };
    return { docs: content.items.map((i) => `${i.provenance.source}/${i.provenance.document}`), ranking: content.ranking, why: content.meaningUnavailable };
  }

  it('sends only chunks cleared for the endpoint, and embeds each once per model', async () => {
    const reports = await ingestSources(workspace, store, { now, embedder: embedder() });
    expect(reports.map((r) => [r.source, r.embedded, r.embedFailed])).toEqual([['handbook', 2, undefined], ['hr', 2, undefined]]);
    expect(sent().join('\n')).not.toContain('wage band');
    expect(sent()).toHaveLength(4);
    // Batches of two, as configured.
    expect(endpoint.seen.every((s) => (s.body.input as string[]).length <= 2 && s.body.model === 'concept-embed' && s.body.encoding_format === 'float')).toBe(true);

    endpoint.reset();
    endpoint.otherwise = embeddings;
    const again = await ingestSources(workspace, store, { now, embedder: embedder() });
    expect(again.map((r) => r.embedded)).toEqual([0, 0]);
    expect(endpoint.seen).toHaveLength(0);

    // Another model (here: another vector size) embeds everything again.
    const other = openAIEmbedder(ws.dir, { ...workspace.file.embeddings!, dimensions: 64 });
    expect((await ingestSources(workspace, store, { now, embedder: other })).map((r) => r.embedded)).toEqual([2, 2]);
    expect(endpoint.seen.every((s) => s.body.dimensions === 64)).toBe(true);
  });

  it('stops at a failing endpoint, keeping what it stored, and the next ingest embeds the rest', async () => {
    endpoint.otherwise = null;
    endpoint.replies.push(embeddings, { status: 400, body: { error: { message: 'model not found' } } });
    const first = await ingestSources(workspace, store, { now, embedder: embedder() });
    expect(first.map((r) => [r.source, r.added, r.embedded, r.embedFailed])).toEqual([
      ['handbook', 2, 2, undefined],
      ['hr', 3, 0, expect.stringContaining('the embeddings endpoint failed: 400 model not found')],
    ]);
    endpoint.reset();
    endpoint.otherwise = embeddings;
    const later = await ingestSources(workspace, store, { now, embedder: embedder() });
    expect(later.map((r) => [r.source, r.unchanged, r.embedded, r.embedFailed])).toEqual([['handbook', 2, 0, undefined], ['hr', 3, 2, undefined]]);
  });

  it('ranks by meaning beside words, under the caller’s entitlements', async () => {
    await ingestSources(workspace, store, { now, embedder: embedder() });
    const sam = { principal: 'agent:helper', onBehalfOf: 'user:sam', classification: 'internal' as const };
    const dana = { principal: 'agent:hr-bot', onBehalfOf: 'user:dana', classification: 'internal' as const };
    // No document holds the word; by meaning, the refunds page is nearest.
    expect(await search(connector(false), 'reimbursement', sam)).toEqual({ docs: [], ranking: 'words', why: undefined });
    const meaning = await search(connector(), 'reimbursement', sam);
    expect(meaning.ranking).toBe('words and meaning');
    expect(meaning.docs[0]).toBe('handbook/refunds.md');
    // leave.md is nearest "vacation" but granted to role:hr only: sam's agent never gets it; dana's does.
    expect((await search(connector(), 'vacation', sam)).docs).not.toContain('hr/leave.md');
    expect((await search(connector(), 'vacation', sam)).docs).toContain('hr/public-holidays.md');
    expect((await search(connector(), 'vacation', dana)).docs[0]).toBe('hr/leave.md');
  });

  it('keeps the query here when the run has read above the clearance, and falls back to words when the endpoint fails', async () => {
    await ingestSources(workspace, store, { now, embedder: embedder() });
    endpoint.reset();
    const secretRun = { principal: 'agent:hr-bot', onBehalfOf: 'user:dana', classification: 'confidential' as const };
    const withheld = await search(connector(), 'wage band', secretRun);
    expect(endpoint.seen).toHaveLength(0);
    expect(withheld).toMatchObject({ ranking: 'words', docs: ['hr/salaries.md'], why: expect.stringContaining('cleared for `internal`') });

    endpoint.otherwise = { status: 503, body: { error: { message: 'down' } } };
    const down = await search(connector(), 'holidays', { ...secretRun, classification: 'internal' });
    expect(down).toMatchObject({ ranking: 'words', docs: ['hr/public-holidays.md'], why: expect.stringContaining('the embeddings endpoint failed') });
  });

  it('sees a changed document by its new meaning (vectors reloaded after a change)', async () => {
    await ingestSources(workspace, store, { now, embedder: embedder() });
    const sam = { principal: 'agent:helper', onBehalfOf: 'user:sam', classification: 'internal' as const };
    const c = connector();
    expect((await search(c, 'reimbursement', sam)).docs[0]).toBe('handbook/refunds.md');
    ws.write('docs/handbook/intro.md', '# Intro\n\nRefunds and money back: ask finance.\n');
    ws.write('docs/handbook/refunds.md', '# Returns\n\nSee the intro.\n');
    await ingestSources(workspace, store, { now, embedder: embedder(), source: 'handbook' });
    expect((await search(c, 'reimbursement', sam)).docs[0]).toBe('handbook/intro.md');
  });

  it('refuses malformed answers: wrong count, indices, sizes, non-numbers, zero vectors', () => {
    const data = (...embeddings: unknown[]) => ({ data: embeddings.map((embedding, index) => ({ index, embedding })) });
    expect(() => unitVectors(data([1, 0]), 2)).toThrow(/expected 2 vectors, got 1/);
    expect(() => unitVectors({ data: [{ index: 0, embedding: [1] }, { index: 0, embedding: [1] }] }, 2)).toThrow(/indices/);
    expect(() => unitVectors(data([1, 0], [1]), 2)).toThrow(/different sizes/);
    expect(() => unitVectors(data([1, 'x']), 1)).toThrow(/not a finite number/);
    expect(() => unitVectors(data([0, 0]), 1)).toThrow(/all zeros/);
    const [v] = unitVectors(data([3, 4]), 1);
    expect([...v!].map((x) => Math.round(x * 1000) / 1000)).toEqual([0.6, 0.8]);
  });
});
