// The PDF reader's worker thread (pdf-text.ts starts it): parses one PDF at a time with pdf.js and
// answers with its text. pdf.js runs without eval, fonts or a canvas: only the text layer is read.
import { parentPort } from 'node:worker_threads';
import { pdfPagesText, type PdfAnswer, type PdfTextItem } from './pdf-text.js';

interface Ask {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly pages: number;
  readonly chars: number;
}

async function read(ask: Ask): Promise<PdfAnswer> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({ data: ask.bytes, isEvalSupported: false, disableFontFace: true, useSystemFonts: false, stopAtErrors: false, verbosity: 0 }).promise;
  try {
    const pages: PdfTextItem[][] = [];
    let chars = 0;
    for (let i = 1; i <= Math.min(doc.numPages, ask.pages) && chars < ask.chars; i++) {
      const page = await doc.getPage(i);
      const content = await page.getTextContent();
      const items = content.items.flatMap((it) => ('str' in it ? [{ str: it.str, hasEOL: it.hasEOL }] : []));
      for (const it of items) chars += it.str.length;
      pages.push(items);
      page.cleanup();
    }
    return { id: ask.id, text: pdfPagesText(pages, ask.chars), pages: pages.length };
  } finally {
    await doc.destroy();
  }
}

parentPort?.on('message', (ask: Ask) => {
  read(ask).then(
    (answer) => parentPort?.postMessage(answer),
    (e: unknown) => parentPort?.postMessage({ id: ask.id, error: e instanceof Error ? e.message : String(e) } satisfies PdfAnswer),
  );
});
