// Embedding vectors of context chunks (optional): the writer's `put-context-vectors` op, the chunks still
// without a vector of a model, and ranking by meaning: every vector of the model held in memory (reloaded
// when the table changes: `ctx_vector_epoch`), scored by dot product, the best candidates then read
// through the same entitlement filter as full-text search, in SQL (the scoring and the fusion: vector-ranking.ts).
import type Database from 'better-sqlite3';
import type { Classification } from '../types.js';
import type { ChunkVector, UnembeddedChunk } from './context-records.js';
import { matrixOf, nearestRows, vectorBytes, type StoredVector, type VectorMatrix } from './vector-ranking.js';

/** Keeps vectors of `model`, each only when its chunk still holds the text it was computed from. */
export function putVectors(db: Database.Database, model: string, rows: readonly ChunkVector[]): void {
  const put = db.prepare(
    `INSERT INTO ctx_vectors (chunk_id, model, vec) SELECT @id, @model, @vec WHERE EXISTS (SELECT 1 FROM ctx_chunks WHERE id = @id AND text = @text)
     ON CONFLICT (chunk_id) DO UPDATE SET model = excluded.model, vec = excluded.vec`,
  );
  for (const r of rows) put.run({ id: r.chunkId, model, text: r.text, vec: vectorBytes(r.vec) });
}

/** The first `limit` chunks of `source` of the given classifications without a vector of `model`. */
export function unembedded(db: Database.Database, source: string, model: string, classifications: readonly Classification[], limit: number): UnembeddedChunk[] {
  return db
    .prepare(
      `SELECT c.id AS chunkId, c.text AS text FROM ctx_documents d CROSS JOIN ctx_chunks c ON c.doc_id = d.id
       WHERE d.source = @source AND d.classification IN (SELECT value FROM json_each(@classes))
         AND NOT EXISTS (SELECT 1 FROM ctx_vectors v WHERE v.chunk_id = c.id AND v.model = @model)
       ORDER BY c.id LIMIT @limit`,
    )
    .all({ source, model, classes: JSON.stringify(classifications), limit }) as UnembeddedChunk[];
}

/** Every vector of one model, in one matrix (a row's document slot is its document id). */
interface Loaded extends VectorMatrix {
  readonly model: string;
  readonly epoch: number;
}

/** The vectors of a model, held in memory and reloaded whenever `ctx_vectors` changed (any process). */
export class VectorIndex {
  private loaded: Loaded | null = null;
  private readonly epoch: Database.Statement<[], { n: number }>;

  constructor(private readonly db: Database.Database) {
    this.epoch = db.prepare('SELECT n FROM ctx_vector_epoch WHERE id = 1');
  }

  /**
   * The chunk ids of the `count` vectors of `model` nearest `query` (a unit vector; the highest dot
   * product first), among chunks of the documents `allowed` holds (by document id). Vectors of another
   * size than the query's are left out.
   */
  nearest(model: string, query: Float32Array, count: number, allowed: Uint8Array): number[] {
    return nearestRows(this.vectors(model, query.length), query, count, allowed);
  }

  private vectors(model: string, dims: number): Loaded {
    const epoch = this.epoch.get()?.n ?? 0;
    const cur = this.loaded;
    if (cur && cur.model === model && cur.epoch === epoch && cur.dims === dims) return cur;
    const rows = this.db
      .prepare('SELECT v.chunk_id AS id, c.doc_id AS doc, v.vec FROM ctx_vectors v CROSS JOIN ctx_chunks c ON c.id = v.chunk_id WHERE v.model = ? AND length(v.vec) = ? ORDER BY v.chunk_id')
      .all(model, dims * 4) as StoredVector[];
    this.loaded = { model, epoch, ...matrixOf(rows, dims) };
    return this.loaded;
  }
}
