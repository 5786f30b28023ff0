// PDF text for `airlock ingest`: each PDF is parsed by Mozilla's pdf.js (`pdfjs-dist`, the legacy build,
// which runs on Node 20) in a worker thread with a memory cap and a deadline, so a hostile file (a
// decompression bomb, a parser loop) costs one skipped document, never the ingest process.
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { builtModule } from '../../util/package-root.js';

/** Bounds on reading one PDF. */
export interface PdfLimits {
  readonly pages: number;
  readonly chars: number;
  /** The worker's heap cap (old generation), in MB. */
  readonly heapMb: number;
  readonly timeoutMs: number;
}

/** The bounds `airlock ingest` reads PDFs within. */
export const PDF_LIMITS: PdfLimits = { pages: 2000, chars: 4_000_000, heapMb: 512, timeoutMs: 60_000 };

/** One piece of text as pdf.js gives it: the string, and whether a line ends after it. */
export interface PdfTextItem {
  readonly str: string;
  readonly hasEOL: boolean;
}

/**
 * A document's text from its pages' text items (pure): items in order, a line break where pdf.js marks
 * one, a blank line between pages (so a chunk prefers to end at a page), trailing spaces of each line
 * dropped. Stops at `maxChars`.
 */
export function pdfPagesText(pages: readonly (readonly PdfTextItem[])[], maxChars: number = PDF_LIMITS.chars): string {
  let out = '';
  for (const items of pages) {
    let page = '';
    for (const it of items) {
      page += it.str;
      if (it.hasEOL) page = page.replace(/[ \t]+$/, '') + '\n';
    }
    page = page.trim();
    if (page === '') continue;
    out += (out === '' ? '' : '\n\n') + page;
    if (out.length >= maxChars) return out.slice(0, maxChars);
  }
  return out;
}

/** What the worker answers for one file. */
export type PdfAnswer = { readonly id: number; readonly text: string; readonly pages: number } | { readonly id: number; readonly error: string };

/** Reads PDFs' text, one at a time, on a worker thread it restarts after a crash or a deadline. */
export class PdfReader {
  private worker: Worker | null = null;
  private next = 1;

  constructor(private readonly limits: PdfLimits = PDF_LIMITS) {}

  /** The text of the PDF `bytes`, or why it could not be read (the file is then skipped, the reason reported). */
  async read(bytes: Uint8Array): Promise<{ readonly text: string } | { readonly skip: string }> {
    const module = builtModule('context/sources/pdf-worker');
    if (module === undefined) return { skip: 'PDF text needs the built worker (run `npm run build`)' };
    const worker = (this.worker ??= this.start(module));
    const id = this.next++;
    return new Promise((resolve) => {
      const done = (r: { text: string } | { skip: string }, restart: boolean): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (restart) this.drop(worker);
        resolve(r);
      };
      const onMessage = (m: PdfAnswer): void => {
        if (m.id !== id) return;
        done('error' in m ? { skip: `not readable as PDF: ${m.error.slice(0, 300)}` } : { text: m.text }, false);
      };
      const onError = (e: Error): void => done({ skip: `the PDF reader failed: ${e.message.slice(0, 300)}` }, true);
      const onExit = (code: number): void => done({ skip: `the PDF reader stopped (code ${code}), likely past its ${this.limits.heapMb} MB memory cap` }, true);
      const timer = setTimeout(() => done({ skip: `reading took longer than ${this.limits.timeoutMs / 1000} s` }, true), this.limits.timeoutMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      const copy = bytes.slice();
      worker.postMessage({ id, bytes: copy, pages: this.limits.pages, chars: this.limits.chars }, [copy.buffer]);
    });
  }

  /** Stops the worker thread (a later `read` starts a new one). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  /** A new worker; one that fails between reads (pdf.js cleaning up after an answer) is dropped, never left to crash the process. */
  private start(module: string): Worker {
    const worker = new Worker(pathToFileURL(module), { resourceLimits: { maxOldGenerationSizeMb: this.limits.heapMb } });
    worker.on('error', () => this.drop(worker));
    return worker;
  }

  private drop(worker: Worker): void {
    if (this.worker === worker) this.worker = null;
    void worker.terminate();
  }
}
