// The workspace's `sources` section (document folders `airlock ingest` reads, each with its labels and
// access list) and the `context` connector kind that serves `context.search`: shapes only (core).
import { z } from 'zod';
import { CLASSIFICATIONS, TRUST } from '../types.js';
import { name, secretSource } from './schema-parts.js';

/** One entry of an access list: `role:<name>`, a principal `kind:id`, or `*` (every declared principal). */
export const accessEntry = z
  .string()
  .regex(/^(\*|role:[a-z][a-z0-9_-]*|(user|agent|service):[a-z][a-z0-9_-]*)$/, 'expected `role:<name>`, `user:<id>`, `agent:<id>`, `service:<id>` or `*`');

/** A principal reference `kind:id` (an owner). */
const principalRefSchema = z.string().regex(/^(user|agent|service):[a-z][a-z0-9_-]*$/, 'expected `kind:id`, e.g. `user:dana`');

/** A document's path inside its source folder: relative, `/`-separated, never leaving the folder. */
const documentPath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), 'expected a relative path inside the source folder, `/`-separated, without `.` or `..`');

/** The labels a document carries; a document may override any of its source's. */
const labelFields = {
  classification: z.enum(CLASSIFICATIONS).describe('How sensitive the content is; a search result is labelled with the highest among its items.'),
  trust: z.enum(TRUST).describe('Trust of the content: text written by outsiders is `untrusted` (data, never instructions).'),
  owner: principalRefSchema.describe('Who owns the content (a declared principal, `kind:id`): answers for its labels and freshness.'),
  access: z
    .array(accessEntry)
    .min(1)
    .max(256)
    .describe('Who may read it: `role:<name>`, `user:<id>`, `agent:<id>`, `service:<id>`, or `*` for every declared principal. An agent acting for a person reads only what both may.'),
  maxAgeDays: z.number().positive().max(36_500).describe('After this many days without a change (the file\'s modification time) the content counts as stale: search flags it.'),
};

/** What one document declares beside its source's labels (any subset). */
export const documentLabelsSchema = z.strictObject({
  classification: labelFields.classification.optional(),
  trust: labelFields.trust.optional(),
  owner: labelFields.owner.optional(),
  access: labelFields.access.optional(),
  maxAgeDays: labelFields.maxAgeDays.optional(),
});

/** A folder of documents (Markdown, plain text, HTML, PDF) read by `airlock ingest`. */
export const folderSourceSchema = z.strictObject({
  kind: z.literal('folder'),
  path: z.string().min(1).describe('The folder, relative to the workspace (or absolute). Files are read below it; symbolic links are not followed.'),
  classification: labelFields.classification,
  trust: labelFields.trust.default('untrusted'),
  owner: labelFields.owner,
  access: labelFields.access,
  maxAgeDays: labelFields.maxAgeDays.default(365),
  documents: z
    .record(documentPath, documentLabelsSchema)
    .default({})
    .describe('Labels of single documents (path inside the folder → what differs from the source\'s labels).'),
});

/** The `sources` section: source name → its declaration. */
export const sourcesSchema = z.record(name, z.discriminatedUnion('kind', [folderSourceSchema])).default({});

/** The connector kind that serves search over the ingested sources (`context.search`) from the store. */
export const contextConnectorSchema = z.strictObject({
  kind: z.literal('context'),
  description: z.string().optional(),
  resultLimit: z.number().int().positive().max(100).default(20).describe('The most items one search returns.'),
});

/**
 * Embeddings for search (optional, never required): `airlock ingest` sends each chunk it may (at most
 * `clearance`) to an OpenAI-compatible embeddings endpoint and keeps the vectors; a search whose run has
 * read nothing above `clearance` sends its query too, and ranks by meaning beside words (reciprocal rank
 * fusion). Anything above `clearance` is never sent: it stays searchable by words.
 */
export const embeddingsSchema = z.strictObject({
  kind: z.literal('openai').describe('An OpenAI-compatible `/embeddings` endpoint (OpenAI, Ollama, vLLM, LM Studio, most gateways).'),
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.openai.com/v1').describe('The API\'s base URL.'),
  model: z.string().min(1).max(200).describe('The embedding model the endpoint knows (`text-embedding-3-small`, `nomic-embed-text`, ...). Changing it re-embeds at the next ingest.'),
  apiKey: secretSource.optional().describe('Where the API key comes from: `{ env: NAME }` or `{ file: PATH }`; a local endpoint may need none.'),
  dimensions: z.number().int().min(8).max(8192).optional().describe('Ask the model for vectors of this size (models that support it).'),
  clearance: z.enum(CLASSIFICATIONS).default('internal').describe('The most sensitive content the endpoint may be sent (chunks and queries alike).'),
  batch: z.number().int().min(1).max(512).default(64).describe('Chunks per request at ingest.'),
  timeoutMs: z.number().int().positive().max(600_000).default(30_000),
  maxRetries: z.number().int().min(0).max(10).default(2),
});

/** A declared source. */
export type SourceConfig = z.infer<typeof folderSourceSchema>;
/** A document's own labels. */
export type DocumentLabelsConfig = z.infer<typeof documentLabelsSchema>;

/** The `embeddings` section. */
export type EmbeddingsConfig = z.infer<typeof embeddingsSchema>;
