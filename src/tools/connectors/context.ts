// The `context` connector: `search` over the ingested sources and `read` of one document (a tool, and the
// resource `context://SOURCE/PATH`), answered from the store under the calling principal's entitlements
// (the filter runs inside the store's query), each item with its provenance.
import { citeMark } from '../../verification/citations.js';
import { mayEmbed, type Embedder } from '../../context/sources/embeddings.js';
import type { PrincipalConfig } from '../../config/schema.js';
import { entitlementSets, isStale, searchTerms } from '../../context/entitlements.js';
import { resolvePrincipal } from '../../identity/principal.js';
import type { ContextHit, Store } from '../../store/store.js';
import { CLASSIFICATIONS, type Classification, type Json, type Principal } from '../../types.js';
import type { CallOptions, Connector, ConnectorResult, UpstreamTool } from '../connector.js';

/** What a `context` connector reads from: the store, the declared principals and sources, the clock. */
export interface ContextConnectorDeps {
  readonly store: Pick<Store, 'searchContext' | 'readContextDocument'>;
  readonly principals: readonly PrincipalConfig[];
  /** The sources declared now: documents of any other source are never returned. */
  readonly sources: readonly string[];
  readonly now: () => Date;
  /** The most items one search returns. */
  readonly resultLimit: number;
  /** Embeddings (workspace `embeddings`): a search may rank by meaning too. Built on first use; may throw `config`. */
  readonly embedder?: () => Embedder;
}

/** The input schema of `search`, as `listTools` describes it (a contract may narrow it). */
export const SEARCH_INPUT_SCHEMA = {
  type: 'object',
  properties: {
    query: { type: 'string', minLength: 1, maxLength: 1000, description: 'Words to find; every word must occur.' },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
    source: { type: 'string', description: 'Search only this declared source.' },
  },
  required: ['query'],
  additionalProperties: false,
} as const;

/** The input schema of `read`: one document of a declared source, by its path in the source folder. */
export const READ_INPUT_SCHEMA = {
  type: 'object',
  properties: {
    source: { type: 'string', minLength: 1, maxLength: 100, description: 'A declared source.' },
    path: { type: 'string', minLength: 1, maxLength: 1024, description: 'The document\'s path in its source folder, `/`-separated.' },
  },
  required: ['source', 'path'],
  additionalProperties: false,
} as const;

/** The resource URI of a document: `context://SOURCE/PATH`, each segment percent-encoded. */
export function contextUri(source: string, path: string): string {
  return `context://${encodeURIComponent(source)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** The most chunks one `read` returns (the document's first ones; `truncated` says when there were more). */
export const READ_MAX_CHUNKS = 200;

/**
 * Search and reading of the ingested sources as governed tools. It answers only calls that say who they
 * are for (`CallOptions.caller`): the agent's entitlements, and the person's when it acts for one (a
 * document must be granted to both). Results are as `answer` describes.
 */
export class ContextConnector implements Connector {
  constructor(
    readonly name: string,
    private readonly deps: ContextConnectorDeps,
  ) {}

  async call(tool: string, args: { readonly [k: string]: Json }, opts: CallOptions): Promise<ConnectorResult> {
    if (tool === 'search') return this.search(args, opts);
    if (tool === 'read') return this.read(args['source'], args['path'], opts);
    return refuse(`connector \`${this.name}\` serves \`search\` and \`read\`, not \`${tool}\``);
  }

  /** The resource `context://SOURCE/PATH`: the document as `read` gives it, as one text content per chunk. */
  async readResource(uri: string, opts: CallOptions): Promise<ConnectorResult> {
    const m = /^context:\/\/([^/?#]+)\/([^?#]+)$/.exec(uri);
    let source: string | undefined;
    let path: string | undefined;
    try {
      source = m ? decodeURIComponent(m[1] as string) : undefined;
      path = m ? (m[2] as string).split('/').map(decodeURIComponent).join('/') : undefined;
    } catch {
      source = undefined;
    }
    if (source === undefined || path === undefined) return refuse(`\`${uri.slice(0, 200)}\` is not a document URI: expected \`context://SOURCE/PATH\``);
    const read = await this.read(source, path, opts);
    if (!read.ok) return read;
    const doc = read.content as { items: { text: string; cite: string; provenance: { start: number; end: number } }[] };
    const contents = doc.items.map((it) => ({ uri: `${contextUri(source, path)}#${it.provenance.start}-${it.provenance.end}`, mimeType: 'text/plain', text: it.text, _meta: it as unknown as Json }));
    return { ok: true, content: { ...(read.content as object), contents } as unknown as Json, text: JSON.stringify(contents) };
  }

  private async search(args: { readonly [k: string]: Json }, opts: CallOptions): Promise<ConnectorResult> {
    const caller = this.caller(`${this.name}.search`, opts);
    if ('ok' in caller) return caller;
    const query = args['query'];
    const limit = args['limit'] ?? this.deps.resultLimit;
    const source = args['source'];
    if (typeof query !== 'string') return refuse('`query` must be a string');
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) return refuse('`limit` must be a whole number from 1');
    if (source !== undefined && !this.declared(source)) return refuse(this.undeclared());
    const retrievedAt = this.deps.now();
    const meaning = await this.queryVector(query, opts);
    try {
      const hits = await this.deps.store.searchContext({
        terms: searchTerms(query),
        entitlements: caller.entitlements,
        sources: source === undefined ? this.deps.sources : [source as string],
        limit: Math.min(limit, this.deps.resultLimit),
        ...('vector' in meaning ? { vector: meaning.vector } : {}),
      });
      return answer(hits, retrievedAt, 'vector' in meaning ? { ranking: 'words and meaning' } : { ranking: 'words', ...(meaning.why ? { meaningUnavailable: meaning.why } : {}) });
    } catch (e) {
      return { ok: false, failure: 'crash', message: `the context store failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /**
   * One document, its first `READ_MAX_CHUNKS` chunks, for the caller. A document that does not exist and
   * one the caller may not read get the same answer: which documents exist is not told either.
   */
  private async read(source: Json | undefined, path: Json | undefined, opts: CallOptions): Promise<ConnectorResult> {
    const caller = this.caller(`${this.name}.read`, opts);
    if ('ok' in caller) return caller;
    if (!this.declared(source)) return refuse(this.undeclared());
    if (typeof path !== 'string' || path.length === 0 || path.length > 1024) return refuse('`path` must be a document\'s path in its source folder');
    const retrievedAt = this.deps.now();
    let hits;
    try {
      hits = await this.deps.store.readContextDocument({ source: source as string, path, entitlements: caller.entitlements, maxChunks: READ_MAX_CHUNKS + 1 });
    } catch (e) {
      return { ok: false, failure: 'crash', message: `the context store failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (hits.length === 0) return refuse(`no document \`${path.slice(0, 200)}\` in \`${String(source)}\` that this caller may read`);
    return answer(hits.slice(0, READ_MAX_CHUNKS), retrievedAt, { source: source as Json, path, truncated: hits.length > READ_MAX_CHUNKS });
  }

  /**
   * The query's embedding, when the workspace has embeddings and the run has read nothing above their
   * clearance (the query is written by an agent that has read all of it); else why not. Never fails the
   * search: an endpoint that fails leaves ranking by words.
   */
  private async queryVector(query: string, opts: CallOptions): Promise<{ vector: { model: string; values: Float32Array } } | { why?: string }> {
    if (!this.deps.embedder) return {};
    let embedder: Embedder;
    try {
      embedder = this.deps.embedder();
    } catch (e) {
      return { why: e instanceof Error ? e.message : String(e) };
    }
    const read = opts.caller?.classification ?? 'restricted';
    if (!mayEmbed(embedder, read)) return { why: `the run has read \`${read}\` content, and embeddings are cleared for \`${embedder.clearance}\` at most: the query stays here` };
    try {
      const [values] = await embedder.embed([query]);
      return values ? { vector: { model: embedder.model, values } } : { why: 'no vector' };
    } catch (e) {
      return { why: e instanceof Error ? e.message : String(e) };
    }
  }

  /** The caller's entitlement sets (an agent, and the person it acts for), or the refusal: nothing is read for no one. */
  private caller(what: string, opts: CallOptions): { readonly entitlements: string[][] } | ConnectorResult {
    if (!opts.caller) return refuse(`\`${what}\` answers per caller, and this call names none: nothing is read without the caller's entitlements`);
    const agent = this.principal(opts.caller.principal);
    const person = opts.caller.onBehalfOf === null ? null : this.principal(opts.caller.onBehalfOf);
    if (agent === undefined || person === undefined) return refuse('the caller is not a declared principal: nothing is read');
    return { entitlements: entitlementSets(agent, person) };
  }

  private declared(source: Json | undefined): boolean {
    return typeof source === 'string' && this.deps.sources.includes(source);
  }

  private undeclared(): string {
    return `\`source\` must name a declared source: ${this.deps.sources.map((s) => `\`${s}\``).join(', ') || 'none is declared'}`;
  }

  async listTools(): Promise<readonly UpstreamTool[]> {
    return [
      {
        name: 'search',
        description: this.deps.embedder
          ? 'Search over the declared sources the caller may read, by words and by meaning (the two rankings fused): an item need not hold every word given; each item carries its provenance and a cite mark to quote it by.'
          : 'Full-text search over the declared sources the caller may read: items hold every word given (words most documents hold count only when no rarer word is given); each item carries its provenance and a cite mark to quote it by.',
        inputSchema: SEARCH_INPUT_SCHEMA,
      },
      { name: 'read', description: `One document the caller may read, by source and path: its chunks in order (the first ${READ_MAX_CHUNKS}), each with its provenance and a cite mark.`, inputSchema: READ_INPUT_SCHEMA },
    ];
  }

  async close(): Promise<void> {}

  /** The declared principal `ref` (undefined when it is not declared). */
  private principal(ref: string): Principal | undefined {
    const found = resolvePrincipal(this.deps.principals, ref);
    return found.ok ? found.principal : undefined;
  }
}

/**
 * The result of a search or read: `items` (text and provenance: source, document, version hash, chunk
 * and offsets, retrieved-at, classification, trust, owner, modified-at, stale; a cite mark), the highest
 * `classification` and lowest `trust` among them, and `extra` fields.
 */
function answer(hits: readonly ContextHit[], retrievedAt: Date, extra: { readonly [k: string]: Json }): ConnectorResult {
  let classification: Classification = 'public';
  let trust: 'trusted' | 'untrusted' = 'trusted';
  const items = hits.map((h) => {
    if (CLASSIFICATIONS.indexOf(h.classification) > CLASSIFICATIONS.indexOf(classification)) classification = h.classification;
    if (h.trust === 'untrusted') trust = 'untrusted';
    return {
      text: h.text,
      // To quote this item in an answer: `"<exact text>" <cite>`; the run's `citations` check reads it back.
      cite: citeMark({ source: h.source, path: h.path, versionHash: h.versionHash, start: h.start, end: h.end }),
      provenance: {
        source: h.source,
        document: h.path,
        versionHash: h.versionHash,
        chunk: h.chunk,
        start: h.start,
        end: h.end,
        retrievedAt: retrievedAt.toISOString(),
        classification: h.classification,
        trust: h.trust,
        owner: h.owner,
        modifiedAt: h.modifiedAt,
        stale: isStale(h.modifiedAt, h.maxAgeDays, retrievedAt),
      },
    };
  });
  const content = { ...extra, items, classification, trust };
  return { ok: true, content, text: JSON.stringify(content) };
}

function refuse(message: string): ConnectorResult {
  return { ok: false, failure: 'tool-error', message };
}
