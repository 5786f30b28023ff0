// Embedding vectors of context chunks (optional): the writer's `put-context-vectors` op, the chunks still
// without a vector of a model, and ranking by meaning: every vector of the model held in memory (reloaded
// when the table changes: `ctx_vector_epoch`), scored by dot product, the best candidates then read
// through the same entitlement filter as full-text search, in SQL.
import type Database from 'better-sqlite3';
import type { Classification } from '../types.js';
import type { ChunkVector, UnembeddedChunk } from './context-records.js';

/** Keeps vectors of `model`, each only when its chunk still holds the text it was computed from. */
export function putVectors(db: Database.Database, model: string, rows: readonly ChunkVector[]): void {
  const put = db.prepare(
    `INSERT INTO ctx_vectors (chunk_id, model, vec) SELECT @id, @model, @vec WHERE EXISTS (SELECT 1 FROM ctx_chunks WHERE id = @id AND text = @text)
     ON CONFLICT (chunk_id) DO UPDATE SET model = excluded.model, vec = excluded.vec`,
  );
  for (const r of rows) put.run({ id: r.chunkId, model, text: r.text, vec: Buffer.from(r.vec.buffer, r.vec.byteOffset, r.vec.byteLength) });
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

/** Every vector of one model, in one matrix. */
interface Loaded {
  readonly model: string;
  readonly epoch: number;
  readonly dims: number;
  readonly ids: Float64Array;
  /** Each vector's document id (the entitlement filter is by document). */
  readonly docs: Int32Array;
  readonly matrix: Float32Array;
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
    const v = this.vectors(model, query.length);
    const n = v.ids.length;
    const k = Math.min(count, n);
    if (k === 0) return [];
    // A min-heap of the best k (score, row) so far: one pass, O(n log k).
    const heapScore = new Float64Array(k);
    const heapRow = new Int32Array(k);
    let size = 0;
    const dims = v.dims;
    const m = v.matrix;
    const tail = dims - (dims % 4);
    for (let row = 0; row < n; row++) {
      if (allowed[v.docs[row] as number] !== 1) continue;
      // Four sums at once: about twice as fast as one in V8.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let b = row * dims;
      for (let i = 0; i < tail; i += 4, b += 4) {
        s0 += (m[b] as number) * (query[i] as number);
        s1 += (m[b + 1] as number) * (query[i + 1] as number);
        s2 += (m[b + 2] as number) * (query[i + 2] as number);
        s3 += (m[b + 3] as number) * (query[i + 3] as number);
      }
      for (let i = tail; i < dims; i++, b++) s0 += (m[b] as number) * (query[i] as number);
      const s = s0 + s1 + s2 + s3;
      if (size < k) {
        let i = size++;
        while (i > 0) {
          const p = (i - 1) >> 1;
          if ((heapScore[p] as number) <= s) break;
          heapScore[i] = heapScore[p] as number;
          heapRow[i] = heapRow[p] as number;
          i = p;
        }
        heapScore[i] = s;
        heapRow[i] = row;
      } else if (s > (heapScore[0] as number)) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= k) break;
          const r = l + 1;
          const c = r < k && (heapScore[r] as number) < (heapScore[l] as number) ? r : l;
          if ((heapScore[c] as number) >= s) break;
          heapScore[i] = heapScore[c] as number;
          heapRow[i] = heapRow[c] as number;
          i = c;
        }
        heapScore[i] = s;
        heapRow[i] = row;
      }
    }
    const order = Array.from({ length: size }, (_, i) => i).sort((a, b) => (heapScore[b] as number) - (heapScore[a] as number) || (heapRow[a] as number) - (heapRow[b] as number));
    return order.map((i) => v.ids[heapRow[i] as number] as number);
  }

  private vectors(model: string, dims: number): Loaded {
    const epoch = this.epoch.get()?.n ?? 0;
    const cur = this.loaded;
    if (cur && cur.model === model && cur.epoch === epoch && cur.dims === dims) return cur;
    const rows = this.db
      .prepare('SELECT v.chunk_id AS id, c.doc_id AS doc, v.vec FROM ctx_vectors v CROSS JOIN ctx_chunks c ON c.id = v.chunk_id WHERE v.model = ? AND length(v.vec) = ? ORDER BY v.chunk_id')
      .all(model, dims * 4) as { id: number; doc: number; vec: Buffer }[];
    const ids = new Float64Array(rows.length);
    const docs = new Int32Array(rows.length);
    const matrix = new Float32Array(rows.length * dims);
    rows.forEach((r, i) => {
      ids[i] = r.id;
      docs[i] = r.doc;
      matrix.set(new Float32Array(r.vec.buffer.slice(r.vec.byteOffset, r.vec.byteOffset + r.vec.byteLength)), i * dims);
    });
    this.loaded = { model, epoch, dims, ids, docs, matrix };
    return this.loaded;
  }
}

/**
 * Reciprocal rank fusion (Cormack et al.): each list gives an item 1 / (60 + rank); the sum orders the
 * result. Items are compared by `key`; the first list's item is kept when both hold one.
 */
export function fuseRanks<T>(lists: readonly (readonly T[])[], key: (t: T) => string, limit: number): T[] {
  const score = new Map<string, { item: T; score: number; first: number }>();
  let at = 0;
  for (const list of lists) {
    list.forEach((item, rank) => {
      const k = key(item);
      const cur = score.get(k);
      if (cur) cur.score += 1 / (61 + rank);
      else score.set(k, { item, score: 1 / (61 + rank), first: at++ });
    });
  }
  return [...score.values()].sort((a, b) => b.score - a.score || a.first - b.first).slice(0, limit).map((e) => e.item);
}
