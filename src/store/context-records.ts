// What the store keeps of context from declared sources: documents with their labels, their chunks,
// the changes `airlock ingest` makes, and what a search asks and gets back (types only).
import type { Chunk } from '../context/chunk.js';
import type { Classification, Trust } from '../types.js';

/** The labels a document carries (its source's, with its own overrides), as declared in the workspace. */
export interface ContextLabels {
  readonly classification: Classification;
  readonly trust: Trust;
  /** The owner, `kind:id`. */
  readonly owner: string;
  /** Who may read it: `role:<name>`, `kind:id` or `*`. */
  readonly access: readonly string[];
  readonly maxAgeDays: number;
}

/** A stored document as ingest compares it with the file: its path in the source, version and labels. */
export interface ContextDocumentState {
  readonly path: string;
  /** SHA-256 (hex) of the file's bytes: the version. */
  readonly versionHash: string;
  readonly labels: ContextLabels;
}

/** One document to store: a new version with all its chunks, or (no `chunks`) new labels for the stored version. */
export interface ContextDocumentDraft {
  readonly path: string;
  readonly versionHash: string;
  /** When the content last changed (the file's modification time, ISO-8601): staleness counts from here. */
  readonly modifiedAt: string;
  readonly labels: ContextLabels;
  readonly chunks?: readonly Chunk[];
}

/** What one ingest step changes in one source, in one transaction. */
export interface ContextChanges {
  readonly source: string;
  /** ISO-8601: when it was ingested. */
  readonly at: string;
  readonly put: readonly ContextDocumentDraft[];
  /** Paths to remove (a deleted file), or `all`: the source is gone. */
  readonly remove: readonly string[] | 'all';
}

/**
 * A search: every term must occur (and, with a `vector`, the chunks nearest it in meaning are fused in);
 * a document must be granted to a grantee of every entitlement set.
 */
export interface ContextQuery {
  /** Plain words (letters and digits); the store quotes them. At least one. */
  readonly terms: readonly string[];
  /** One set of grantee names per party acting (`*`, `kind:id`, `role:<name>`); at least one, at most four. */
  readonly entitlements: readonly (readonly string[])[];
  /** Only these sources (the ones still declared). */
  readonly sources: readonly string[];
  readonly limit: number;
  /** The query's embedding (a unit vector) and its model: ranks by meaning beside words, fused. */
  readonly vector?: { readonly model: string; readonly values: Float32Array };
}

/** A whole document read for a caller: returned only when it is granted to a grantee of every entitlement set. */
export interface ContextDocumentQuery {
  readonly source: string;
  readonly path: string;
  /** As a search's: one set of grantee names per party acting; at least one, at most four. */
  readonly entitlements: readonly (readonly string[])[];
  /** The most chunks returned, from the first. */
  readonly maxChunks: number;
}

/** One chunk a search found, with the provenance of where it came from (best first, by BM25). */
export interface ContextHit {
  readonly source: string;
  readonly path: string;
  readonly versionHash: string;
  readonly chunk: number;
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly classification: Classification;
  readonly trust: Trust;
  readonly owner: string;
  readonly modifiedAt: string;
  readonly maxAgeDays: number;
  /** BM25 as SQLite FTS5 reports it: lower is better. */
  readonly score: number;
}

/** What the store holds at a cited place of a document's current version. */
export type ContextCited =
  | { readonly kind: 'text'; readonly versionHash: string; readonly text: string }
  | { readonly kind: 'not-in-a-chunk'; readonly versionHash: string }
  | { readonly kind: 'no-document' };

/** One vector to keep: the chunk, the text it was computed from (a chunk since replaced is skipped), the unit vector. */
export interface ChunkVector {
  readonly chunkId: number;
  readonly text: string;
  readonly vec: Float32Array;
}

/** A chunk waiting for its vector. */
export interface UnembeddedChunk {
  readonly chunkId: number;
  readonly text: string;
}
