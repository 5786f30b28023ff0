// Citations checked at the end of a run: a model that searched and quotes an item exactly where its
// `cite` mark says ends verified; one that makes a quote up, moves it, or cites a version that is not
// stored ends unverified with an incident, and the check's record never repeats the document's text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { ingestSources } from '../../src/context/sources/ingest.js';
import type { Model, ModelInput } from '../../src/orchestration/model.js';
import { contextWorkspace } from './context-workspace.js';
import { citeMark } from '../../src/verification/citations.js';

const HANDBOOK = '# Expenses\n\nExpenses are paid monthly with the salary. Receipts are kept for ten years.\n';

let ws: ReturnType<typeof contextWorkspace>;
let a: Airlock;
let model: Model;
beforeAll(async () => {
  ws = contextWorkspace({ 'docs/handbook/expenses.md': HANDBOOK, 'docs/hr/pay.md': '# Pay\n\nConfidential.\n' });
  a = await openAirlock(ws.dir, { modelFor: () => model });
  await ingestSources(a.workspace, a.store, { now: () => new Date() });
});
afterAll(async () => {
  await a?.close();
  ws?.cleanup();
});

/** The first search item the model was given: its text and its cite mark. */
function firstItem(input: ModelInput): { text: string; cite: string } {
  const r = input.history.find((h) => h.kind === 'tool_result' && h.tool === 'context.search');
  const items = r && r.kind === 'tool_result' ? (r.content as { items: { text: string; cite: string }[] }).items : [];
  return items[0] ?? { text: '', cite: '' };
}

/** Runs `ask` with a model that searches, then answers with `answer(item)`. */
async function answering(answer: (item: { text: string; cite: string }) => string) {
  // Searches once, then answers from what the search gave it.
  model = {
    provider: 'test',
    model: 'citing',
    next: (input) =>
      Promise.resolve(
        input.history.some((h) => h.kind === 'tool_result')
          ? { kind: 'final' as const, text: answer(firstItem(input)), claim: 'done' as const }
          : { kind: 'tool_call' as const, tool: 'context.search', args: { query: 'receipts' } },
      ),
  };
  const run = await a.runner.start('ask', { question: 'how long are receipts kept?' });
  const records = await a.store.readAuditForRun(run.id);
  const checked = records.filter((r) => r.type === 'run.checked').flatMap((r) => r.body['checks'] as { name: string; status: string; evidence: Record<string, unknown> }[]);
  return { run, citations: checked.find((c) => c.name === 'citations'), incidents: await a.store.listIncidents({ runId: run.id }) };
}

describe('citations at the end of a run', () => {
  it('an exact quote at its cited place passes, and the run is verified', async () => {
    const { run, citations, incidents } = await answering((item) => `Receipts: "${item.text.slice(item.text.indexOf('Receipts'), item.text.indexOf('years.') + 6)}" ${item.cite.replace(/#(\d+)-(\d+)\]/, (_m, s: string) => `#${Number(s) + item.text.indexOf('Receipts')}-${Number(s) + item.text.indexOf('years.') + 6}]`)}`);
    expect(citations).toMatchObject({ status: 'passed' });
    expect(run.status).toBe('verified');
    expect(incidents).toEqual([]);
  });

  it('a made-up quote, a moved place or a version that is not stored fails: unverified, an incident, no document text on record', async () => {
    const forged = [
      (item: { cite: string }) => `"Receipts are kept for one year." ${item.cite}`,
      (item: { text: string; cite: string }) => `"${item.text}" ${item.cite.replace(/#(\d+)-/, (_m, s: string) => `#${Number(s) + 1}-`)}`,
      (item: { text: string; cite: string }) => `"${item.text}" ${item.cite.replace(/@[0-9a-f]{16}/, '@0123456789abcdef')}`,
    ];
    for (const f of forged) {
      const { run, citations, incidents } = await answering(f);
      expect(citations, String(f)).toMatchObject({ status: 'failed' });
      expect(run.status).toBe('unverified');
      expect(incidents.map((i) => i.kind)).toEqual(['verification-failed']);
      expect(JSON.stringify(citations?.evidence['message'])).not.toContain('ten years');
    }
  });

  it('tells nothing about a document the run may not read: an exact quote of one fails like a quote of none', async () => {
    const [pay] = await a.store.contextDocuments('hr');
    const mark = citeMark({ source: 'hr', path: 'pay.md', versionHash: pay!.versionHash, start: 0, end: 5 });
    const { run, citations } = await answering(() => `"# Pay" ${mark}`);
    expect(run.status).toBe('unverified');
    expect(citations).toMatchObject({ status: 'failed' });
    expect(String(citations?.evidence['message'])).toContain('no document `hr/pay.md` this run may read is stored');
    // A guessed version is not answered with the stored one either.
    const guessed = await answering(() => `"# Pay" ${mark.replace(/@[0-9a-f]{16}/, '@0123456789abcdef')}`);
    expect(String(guessed.citations?.evidence['message'])).toContain('no document `hr/pay.md` this run may read is stored');
    expect(String(guessed.citations?.evidence['message'])).not.toContain(pay!.versionHash.slice(0, 12));
    // An undeclared source reads the same.
    const other = await answering(() => `"# Pay" ${mark.replace('[cite hr/', '[cite payroll/')}`);
    expect(String(other.citations?.evidence['message'])).toContain('no document `payroll/pay.md` this run may read is stored');
  });
});
