// Embeddings for search (optional): an OpenAI-compatible `/embeddings` endpoint through the official
// `openai` SDK (its retries and timeouts), each answer checked (one vector per input, all of one size,
// finite numbers) and normalised to unit length, so ranking by meaning is a dot product.
import OpenAI from 'openai';
import type { EmbeddingsConfig } from '../../config/sources-schema.js';
import { readSecret } from '../../config/secrets.js';
import { AirlockError } from '../../errors.js';
import { CLASSIFICATIONS, type Classification } from '../../types.js';

/** The most characters of one input sent (a chunk is at most 16,000; a query at most 1,000). */
export const EMBED_MAX_CHARS = 16_000;

/** Turns texts into unit vectors; `model` names them in the store. */
export interface Embedder {
  readonly model: string;
  /** The most sensitive content it may be sent. */
  readonly clearance: Classification;
  /** The batch size ingest sends. */
  readonly batch: number;
  /** One unit vector per text, in order. Throws `AirlockError` (`connector`) when the endpoint fails or answers wrong. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/** Whether content of `classification` may be sent to `embedder`. */
export function mayEmbed(embedder: Pick<Embedder, 'clearance'>, classification: Classification): boolean {
  return CLASSIFICATIONS.indexOf(classification) <= CLASSIFICATIONS.indexOf(embedder.clearance);
}

/** The embedder of a workspace's `embeddings` section; its key is read now (`config` error when named but missing). */
export function openAIEmbedder(dir: string, c: EmbeddingsConfig): Embedder {
  const client = new OpenAI({ apiKey: readSecret(dir, 'embeddings', c.apiKey) ?? 'no-key', baseURL: c.baseUrl, timeout: c.timeoutMs, maxRetries: c.maxRetries });
  // The model and size name the vectors: changing either re-embeds at the next ingest.
  const model = c.dimensions === undefined ? c.model : `${c.model}@${c.dimensions}`;
  return {
    model,
    clearance: c.clearance,
    batch: c.batch,
    async embed(texts) {
      if (texts.length === 0) return [];
      let res: OpenAI.Embeddings.CreateEmbeddingResponse;
      try {
        res = await client.embeddings.create({
          model: c.model,
          input: texts.map((t) => t.slice(0, EMBED_MAX_CHARS)),
          encoding_format: 'float',
          ...(c.dimensions === undefined ? {} : { dimensions: c.dimensions }),
        });
      } catch (e) {
        throw new AirlockError('connector', `the embeddings endpoint failed: ${e instanceof Error ? e.message : String(e)}`.slice(0, 500), { hint: `check \`embeddings.baseUrl\` (${c.baseUrl}) and \`embeddings.model\` (${c.model})` });
      }
      return unitVectors(res, texts.length);
    },
  };
}

/** The answer's vectors in input order, each checked and scaled to unit length; a `connector` error when malformed. */
export function unitVectors(res: unknown, count: number): Float32Array[] {
  const data = (res as { data?: unknown } | null)?.data;
  const bad = (why: string): never => {
    throw new AirlockError('connector', `the embeddings endpoint answered wrong: ${why}`);
  };
  if (!Array.isArray(data) || data.length !== count) return bad(`expected ${count} vectors, got ${Array.isArray(data) ? data.length : 'none'}`);
  const out: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(count);
  let dims = -1;
  for (const item of data as unknown[]) {
    const { index, embedding } = (item ?? {}) as { index?: unknown; embedding?: unknown };
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count || out[index] !== undefined) return bad('vector indices are not 0..n-1, once each');
    if (!Array.isArray(embedding) || embedding.length === 0 || embedding.length > 8192) return bad(`vector ${index} is not a list of 1 to 8192 numbers`);
    if (dims !== -1 && embedding.length !== dims) return bad('vectors of different sizes');
    dims = embedding.length;
    const v = new Float32Array(dims);
    let norm = 0;
    for (let i = 0; i < dims; i++) {
      const x = embedding[i] as unknown;
      if (typeof x !== 'number' || !Number.isFinite(x)) return bad(`vector ${index} holds a value that is not a finite number`);
      v[i] = x;
      norm += x * x;
    }
    if (norm === 0) return bad(`vector ${index} is all zeros`);
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < dims; i++) v[i] = (v[i] as number) * scale;
    out[index] = v;
  }
  return out as Float32Array[];
}
