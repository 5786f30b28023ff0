// `airlock ingest`: reads the declared source folders, chunks what changed (a new content hash), relabels
// what only changed labels, removes what was deleted, and stores it all through the store, a batch at a time.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SourceConfig } from '../../config/sources-schema.js';
import type { Workspace } from '../../config/schema.js';
import { AirlockError } from '../../errors.js';
import type { ContextDocumentDraft, ContextLabels, Store } from '../../store/store.js';
import { canonicalJson, sha256Hex } from '../../util/hash.js';
import { chunkText, DEFAULT_CHUNK_CHARS } from '../chunk.js';
import { htmlToText } from '../html-text.js';
import { PdfReader } from './pdf-text.js';
import { mayEmbed, type Embedder } from './embeddings.js';
import { CLASSIFICATIONS } from '../../types.js';

/** The files a folder source reads, by extension; every other file is left alone. */
export const DOCUMENT_KINDS: Readonly<Record<string, 'text' | 'html' | 'pdf'>> = { '.md': 'text', '.markdown': 'text', '.txt': 'text', '.text': 'text', '.html': 'html', '.htm': 'html', '.pdf': 'pdf' };

/** Bounds on the walk over a source folder and on what is read. */
export const INGEST_LIMITS = { files: 200_000, depth: 32, fileBytes: 8 * 1024 * 1024, batchChunks: 4000, batchDocuments: 500 } as const;

/** Where one source's ingest stands (after each file). */
export interface IngestProgress {
  readonly source: string;
  readonly done: number;
  readonly total: number;
}

/** What ingest did to one source. */
export interface SourceReport {
  readonly source: string;
  readonly files: number;
  readonly added: number;
  readonly changed: number;
  readonly relabelled: number;
  readonly unchanged: number;
  readonly removed: number;
  readonly chunks: number;
  /** Files left out, with why (too large, unreadable). */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
  /** With embeddings: chunks embedded now, and why embedding stopped early (the rest waits for the next ingest). */
  readonly embedded?: number;
  readonly embedFailed?: string;
}

/** What ingest needs besides the workspace and the store. */
export interface IngestOptions {
  /** Only this source (else every declared source, and stored sources no longer declared are removed). */
  readonly source?: string;
  readonly now: () => Date;
  readonly onProgress?: (p: IngestProgress) => void;
  readonly chunkChars?: number;
  /** Embeds each stored chunk it may be sent that has no vector of its model yet (workspace `embeddings`). */
  readonly embedder?: Embedder;
}

/**
 * Ingests the workspace's sources into `store`. Incremental: a file whose content hash is the stored
 * version is not read into chunks again (only its labels are updated if the workspace changed them);
 * a changed file gets a new version with new chunks; a deleted file is removed. Throws `input` for an
 * undeclared `--source` and `config` for a source folder that is missing (naming the workspace file and
 * the path in it).
 */
export async function ingestSources(workspace: Workspace, store: Store, opts: IngestOptions): Promise<SourceReport[]> {
  const declared = workspace.file.sources;
  if (opts.source !== undefined && !Object.hasOwn(declared, opts.source)) {
    const names = Object.keys(declared);
    throw new AirlockError('input', `no source \`${opts.source}\` is declared`, { hint: names.length > 0 ? `use one of: ${names.map((n) => `\`${n}\``).join(', ')}` : 'declare it under `sources` in airlock.yaml' });
  }
  const names = opts.source === undefined ? Object.keys(declared) : [opts.source];
  const reports: SourceReport[] = [];
  const pdf = new PdfReader();
  try {
    for (const name of names) reports.push(await ingestSource(workspace, name, declared[name] as SourceConfig, store, opts, pdf));
  } finally {
    await pdf.close();
  }
  if (opts.source === undefined) {
    for (const gone of await store.contextSources()) {
      if (!Object.hasOwn(declared, gone)) await store.changeContext({ source: gone, at: opts.now().toISOString(), put: [], remove: 'all' });
    }
  }
  return reports;
}

async function ingestSource(workspace: Workspace, name: string, s: SourceConfig, store: Store, opts: IngestOptions, pdf: PdfReader): Promise<SourceReport> {
  const root = path.resolve(workspace.dir, s.path);
  const where = { file: path.join(workspace.dir, 'airlock.yaml'), path: `sources.${name}.path` };
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory()) {
    throw new AirlockError('config', `source \`${name}\`: folder \`${s.path}\` ${info ? 'is not a folder' : 'does not exist'}`, { location: where, hint: `create \`${root}\`, or fix \`sources.${name}.path\` (relative to the workspace folder)` });
  }
  const files = await walk(root, name);
  const stored = new Map((await store.contextDocuments(name)).map((d) => [d.path, d]));
  const report = { source: name, files: files.length, added: 0, changed: 0, relabelled: 0, unchanged: 0, removed: 0, chunks: 0, skipped: [] as { path: string; reason: string }[] };
  let batch: ContextDocumentDraft[] = [];
  let batchChunks = 0;
  const flush = async (remove: readonly string[] = []): Promise<void> => {
    if (batch.length === 0 && remove.length === 0) return;
    await store.changeContext({ source: name, at: opts.now().toISOString(), put: batch, remove });
    batch = [];
    batchChunks = 0;
  };
  const seen = new Set<string>();
  for (const [i, rel] of files.entries()) {
    seen.add(rel);
    const labels = labelsOf(s, rel);
    const before = stored.get(rel);
    const file = path.join(root, ...rel.split('/'));
    const read = await readDocument(file);
    if ('skip' in read) {
      report.skipped.push({ path: rel, reason: read.skip });
      seen.delete(rel); // a file that cannot be read now is not searchable either
    } else if (before?.versionHash === read.hash) {
      if (canonicalJson(before.labels) === canonicalJson(labels)) report.unchanged++;
      else {
        batch.push({ path: rel, versionHash: read.hash, modifiedAt: read.modifiedAt, labels });
        report.relabelled++;
      }
    } else {
      const text = await documentText(DOCUMENT_KINDS[path.extname(rel).toLowerCase()] ?? 'text', read.bytes, pdf);
      if (typeof text !== 'string') {
        report.skipped.push({ path: rel, reason: text.skip });
        seen.delete(rel);
        opts.onProgress?.({ source: name, done: i + 1, total: files.length });
        continue;
      }
      const chunks = chunkText(text, opts.chunkChars ?? DEFAULT_CHUNK_CHARS);
      batch.push({ path: rel, versionHash: read.hash, modifiedAt: read.modifiedAt, labels, chunks });
      batchChunks += chunks.length;
      report.chunks += chunks.length;
      if (before) report.changed++;
      else report.added++;
    }
    if (batchChunks >= INGEST_LIMITS.batchChunks || batch.length >= INGEST_LIMITS.batchDocuments) await flush();
    opts.onProgress?.({ source: name, done: i + 1, total: files.length });
  }
  const gone = [...stored.keys()].filter((p) => !seen.has(p));
  report.removed = gone.length;
  await flush(gone);
  return opts.embedder ? { ...report, ...(await embedSource(store, name, opts.embedder)) } : report;
}

/**
 * Embeds the chunks of `source` the embedder may be sent (by their document's classification) that have
 * no vector of its model: new and changed documents, and all of them after the model changed. Stops at
 * the first failure, saying why; what was stored stays, and the next ingest goes on from there.
 */
async function embedSource(store: Store, source: string, embedder: Embedder): Promise<{ embedded: number; embedFailed?: string }> {
  const cleared = CLASSIFICATIONS.filter((c) => mayEmbed(embedder, c));
  let embedded = 0;
  let last = -1;
  for (;;) {
    const chunks = await store.contextUnembedded(source, embedder.model, cleared, embedder.batch);
    // No progress since the last batch (its chunks changed under it): leave the rest to the next ingest.
    if (chunks.length === 0 || chunks[0]?.chunkId === last) return { embedded };
    last = chunks[0]?.chunkId ?? -1;
    let vectors: Float32Array[];
    try {
      vectors = await embedder.embed(chunks.map((c) => c.text));
    } catch (e) {
      return { embedded, embedFailed: e instanceof Error ? e.message : String(e) };
    }
    await store.putContextVectors(embedder.model, chunks.map((c, i) => ({ chunkId: c.chunkId, text: c.text, vec: vectors[i] as Float32Array })));
    embedded += chunks.length;
  }
}

/** A document's labels: its source's, with what the workspace declares for that one document. */
export function labelsOf(s: SourceConfig, rel: string): ContextLabels {
  const own = s.documents[rel] ?? {};
  return {
    classification: own.classification ?? s.classification,
    trust: own.trust ?? s.trust,
    owner: own.owner ?? s.owner,
    access: [...(own.access ?? s.access)].sort(),
    maxAgeDays: own.maxAgeDays ?? s.maxAgeDays,
  };
}

/** The document files below `root` (relative, `/`-separated, sorted): hidden entries and symbolic links skipped, bounded in depth and count. */
async function walk(root: string, name: string): Promise<string[]> {
  const out: string[] = [];
  const stack: { dir: string; rel: string; depth: number }[] = [{ dir: root, rel: '', depth: 0 }];
  while (stack.length > 0) {
    const { dir, rel, depth } = stack.pop() as { dir: string; rel: string; depth: number };
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      // INVARIANT: symbolic links are never followed: a link could lead out of the declared folder.
      if (e.isDirectory() && depth + 1 < INGEST_LIMITS.depth) stack.push({ dir: path.join(dir, e.name), rel: childRel, depth: depth + 1 });
      else if (e.isFile() && DOCUMENT_KINDS[path.extname(e.name).toLowerCase()] !== undefined) out.push(childRel);
      if (out.length > INGEST_LIMITS.files) {
        throw new AirlockError('input', `source \`${name}\` holds more than ${INGEST_LIMITS.files} documents`, { hint: 'split it into several sources' });
      }
    }
  }
  return out.sort();
}

/** A file's bytes, content hash and modification time; or why it is skipped. */
async function readDocument(file: string): Promise<{ bytes: Buffer; hash: string; modifiedAt: string } | { skip: string }> {
  try {
    const info = await stat(file);
    if (info.size > INGEST_LIMITS.fileBytes) return { skip: `larger than ${INGEST_LIMITS.fileBytes} bytes` };
    const bytes = await readFile(file);
    return { bytes, hash: sha256Hex(bytes), modifiedAt: info.mtime.toISOString() };
  } catch (e) {
    return { skip: `unreadable: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * A document's text by its kind: UTF-8 without a byte-order mark, HTML's visible text, or a PDF's text
 * layer; a NUL (U+0000) stands as U+FFFD, one code unit for one, offsets unchanged: PostgreSQL's text holds
 * no NUL, and every store keeps the same text.
 */
async function documentText(kind: 'text' | 'html' | 'pdf', bytes: Buffer, pdf: PdfReader): Promise<string | { skip: string }> {
  if (kind === 'pdf') {
    const read = await pdf.read(bytes);
    return 'skip' in read ? read : read.text.replaceAll('\u0000', '\ufffd');
  }
  const decoded = new TextDecoder('utf-8').decode(bytes);
  const text = (decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded).replaceAll('\u0000', '\ufffd');
  return kind === 'html' ? htmlToText(text) : text;
}
