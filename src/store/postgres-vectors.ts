// Embedding vectors of context chunks on PostgreSQL (optional; no pgvector needed): kept as float32 bytes,
// as SQLite keeps them; the chunks still without a vector of a model; and the vectors of a model held in
// memory per instance, reloaded when `ctx_vector_epoch` moves (any instance's write), scored as SQLite's
// store scores them (vector-ranking.ts).
import type pg from 'pg';
import type { Classification } from '../types.js';
import type { ChunkVector, UnembeddedChunk } from './context-records.js';
import { matrixOf, nearestRows, vectorBytes, type StoredVector, type VectorMatrix } from './vector-ranking.js';

/** Rows per page when a model's vectors are loaded (keyset pages: no query is unbounded). */
const PAGE = 5000;
/** The most chunks one `unembedded` read returns. */
const MAX_UNEMBEDDED = 10_000;

/** Keeps vectors of `model`, each only when its chunk still holds the text it was computed from (the last of a repeated chunk wins). */
export async function putPgVectors(pool: pg.Pool, model: string, rows: readonly ChunkVector[]): Promise<void> {
  const last = new Map(rows.map((r) => [r.chunkId, r]));
  if (last.size === 0) return;
  const rs = [...last.values()];
  await pool.query(
    `INSERT INTO ctx_vectors (chunk_id, model, vec)
     SELECT r.id, $1, r.vec FROM unnest($2::bigint[], $3::text[], $4::bytea[]) AS r (id, text, vec)
     WHERE EXISTS (SELECT 1 FROM ctx_chunks c WHERE c.id = r.id AND c.text = r.text)
     ON CONFLICT (chunk_id) DO UPDATE SET model = excluded.model, vec = excluded.vec`,
    [model, rs.map((r) => r.chunkId), rs.map((r) => r.text), rs.map((r) => vectorBytes(r.vec))],
  );
}

/** The first `limit` chunks of `source` of the given classifications without a vector of `model`, in the order stored. */
export async function pgUnembedded(pool: pg.Pool, source: string, model: string, classifications: readonly Classification[], limit: number): Promise<UnembeddedChunk[]> {
  const r = await pool.query<{ id: string; text: string }>(
    `SELECT c.id, c.text FROM ctx_documents d JOIN ctx_chunks c ON c.doc_id = d.id
     WHERE d.source = $1 AND d.classification = ANY ($2::text[])
       AND NOT EXISTS (SELECT 1 FROM ctx_vectors v WHERE v.chunk_id = c.id AND v.model = $3)
     ORDER BY c.id LIMIT $4`,
    [source, classifications, model, Math.max(0, Math.min(MAX_UNEMBEDDED, Math.floor(limit)))],
  );
  return r.rows.map((row) => ({ chunkId: Number(row.id), text: row.text }));
}

/** The vectors' epoch, as a column beside a read of the documents to rank among (one round trip for both). */
export const EPOCH_SQL = '(SELECT n FROM ctx_vector_epoch WHERE id = 1)::text';

/** Every vector of one model, in one matrix; a row's document slot indexes `slots`' values. */
interface Loaded extends VectorMatrix {
  readonly model: string;
  readonly epoch: string;
  /** Document id → slot (document ids are not dense on PostgreSQL: a bitmap by id could be large). */
  readonly slots: ReadonlyMap<number, number>;
}

/** The vectors of a model, held in memory and reloaded whenever `ctx_vectors` changed (any instance). */
export class PgVectorIndex {
  private loaded: Promise<Loaded> | null = null;

  constructor(private readonly pool: pg.Pool) {}

  /**
   * The nearest-vector ranking of `model` for queries of `dims` values among the documents `docIds`: a
   * function giving the chunk ids of the `count` nearest (highest dot product first, ties by chunk id).
   * `epoch` is `ctx_vector_epoch` as read with the documents (`EPOCH_SQL`): the vectors held are reloaded
   * when it moved.
   */
  async ranking(model: string, dims: number, docIds: readonly number[], epoch: string): Promise<(query: Float32Array, count: number) => number[]> {
    const v = await this.vectors(model, dims, epoch);
    const allowed = new Uint8Array(v.slots.size);
    for (const id of docIds) {
      const slot = v.slots.get(id);
      if (slot !== undefined) allowed[slot] = 1;
    }
    return (query, count) => nearestRows(v, query, count, allowed);
  }

  private async vectors(model: string, dims: number, epoch: string): Promise<Loaded> {
    const cur = this.loaded && (await this.loaded.catch(() => null));
    if (cur && cur.model === model && cur.epoch === epoch && cur.dims === dims) return cur;
    this.loaded = this.load(model, dims, epoch);
    return this.loaded;
  }

  private async load(model: string, dims: number, epoch: string): Promise<Loaded> {
    const rows: StoredVector[] = [];
    const slots = new Map<number, number>();
    for (let after = 0; ; ) {
      const page = await this.pool.query<{ id: string; doc: string; vec: Buffer }>(
        `SELECT v.chunk_id AS id, c.doc_id AS doc, v.vec FROM ctx_vectors v JOIN ctx_chunks c ON c.id = v.chunk_id
         WHERE v.model = $1 AND length(v.vec) = $2 AND v.chunk_id > $3 ORDER BY v.chunk_id LIMIT ${PAGE}`,
        [model, dims * 4, after],
      );
      for (const r of page.rows) {
        const doc = Number(r.doc);
        let slot = slots.get(doc);
        if (slot === undefined) slots.set(doc, (slot = slots.size));
        rows.push({ id: Number(r.id), doc: slot, vec: r.vec });
      }
      if (page.rows.length < PAGE) break;
      after = rows[rows.length - 1]?.id ?? after;
    }
    return { model, epoch, slots, ...matrixOf(rows, dims) };
  }
}
