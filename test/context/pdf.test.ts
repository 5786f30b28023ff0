// PDF documents: `airlock ingest` reads a PDF's text layer (pdf.js on a worker thread), chunks it with
// exact offsets into that text and searches it like any document; a file that is not a PDF, or one
// whose reading breaks the reader's memory cap, is skipped with the reason, and the next file is read.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ingestSources } from '../../src/context/sources/ingest.js';
import { PDF_LIMITS, PdfReader, pdfPagesText } from '../../src/context/sources/pdf-text.js';
import type { Workspace } from '../../src/config/schema.js';
import type { Store } from '../../src/store/store.js';
import { makePdf } from '../helpers/pdf.js';
import { uncaughtDuring } from '../helpers/uncaught.js';
import { contextWorkspace, openContext } from './context-workspace.js';

describe('PDF text', () => {
  let ws: ReturnType<typeof contextWorkspace>;
  let store: Store;
  let workspace: Workspace;
  const now = (): Date => new Date('2030-01-10T00:00:00Z');

  beforeEach(async () => {
    ws = contextWorkspace({
      'docs/handbook/policy.pdf': makePdf([['Refund policy (2030)', 'Refunds within 30 days of delivery.'], ['Warranty claims go to the quartermaster.']]),
      'docs/handbook/broken.pdf': '%PDF-1.4\nthis is no PDF at all\n',
      'docs/handbook/plain.md': 'plain words\n',
    });
    ({ store, workspace } = await openContext(ws.dir));
  });
  afterEach(async () => {
    await store.close();
    ws.cleanup();
  });

  it('ingests the text of every page, searchable with offsets into the extracted text', async () => {
    const [report] = await ingestSources(workspace, store, { now, source: 'handbook' });
    expect(report).toMatchObject({ files: 3, added: 2 });
    expect(report?.skipped).toEqual([{ path: 'broken.pdf', reason: expect.stringMatching(/^not readable as PDF: /) }]);
    const hits = await store.searchContext({ terms: ['quartermaster'], entitlements: [['*']], sources: ['handbook'], limit: 10 });
    expect(hits.map((h) => h.path)).toEqual(['policy.pdf']);
    const text = 'Refund policy (2030)\nRefunds within 30 days of delivery.\n\nWarranty claims go to the quartermaster.';
    expect(hits[0]?.text).toBe(text);
    expect([hits[0]?.start, hits[0]?.end]).toEqual([0, text.length]);
    // Unchanged bytes are not parsed again.
    const [again] = await ingestSources(workspace, store, { now, source: 'handbook' });
    expect(again).toMatchObject({ unchanged: 2, added: 0, chunks: 0 });
  });

  it('joins text items into lines and pages, dropping empty pages and trailing spaces', () => {
    const pages = [[{ str: 'One ', hasEOL: false }, { str: 'line  ', hasEOL: true }, { str: 'two', hasEOL: false }], [], [{ str: '  ', hasEOL: true }], [{ str: 'Three', hasEOL: false }]];
    expect(pdfPagesText(pages)).toBe('One line\ntwo\n\nThree');
    expect(pdfPagesText(pages, 6)).toBe('One li');
  });

  it('skips a file whose reading breaks the memory cap, and the next reader reads again', async () => {
    const pdf = makePdf([['hello there']]);
    const starved = new PdfReader({ ...PDF_LIMITS, heapMb: 1 });
    try {
      const out = await starved.read(pdf);
      expect(out).toEqual({ skip: expect.stringMatching(/^the PDF reader (failed|stopped)/) });
    } finally {
      await starved.close();
    }
    const reader = new PdfReader();
    try {
      expect(await reader.read(pdf)).toEqual({ text: 'hello there' });
      expect(await reader.read(new Uint8Array([1, 2, 3]))).toEqual({ skip: expect.stringMatching(/^not readable as PDF/) });
      expect(await reader.read(makePdf([['again']]))).toEqual({ text: 'again' });
    } finally {
      await reader.close();
    }
  });

  it('drops a reader thread that fails between reads (nothing uncaught), and reads the next file on a new one', async () => {
    const reader = new PdfReader();
    try {
      expect(await reader.read(makePdf([['first']]))).toEqual({ text: 'first' });
      // As when pdf.js fails while cleaning up after it answered: the thread's error event, no read waiting.
      const thread = (reader as unknown as { worker: import('node:worker_threads').Worker | null }).worker;
      expect(thread).not.toBeNull();
      const uncaught = await uncaughtDuring(async () => void thread?.emit('error', new Error('failed after answering')), 50);
      expect(uncaught).toEqual([]);
      expect((reader as unknown as { worker: unknown }).worker).toBeNull();
      expect(await reader.read(makePdf([['second']]))).toEqual({ text: 'second' });
    } finally {
      await reader.close();
    }
  });
});
