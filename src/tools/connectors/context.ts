// The `context` connector: `search` over the ingested sources, answered from the store under the calling
// principal's entitlements (the filter runs inside the store's query), each item with its provenance.
import { citeMark } from '../../verification/citations.js';
import type { PrincipalConfig } from '../../config/schema.js';
import { entitlementSets, isStale, searchTerms } from '../../context/entitlements.js';
import { resolvePrincipal } from '../../identity/principal.js';
import type { Store } from '../../store/store.js';
import { CLASSIFICATIONS, type Classification, type Json, type Principal } from '../../types.js';
import type { CallOptions, Connector, ConnectorResult, UpstreamTool } from '../connector.js';

/** What a `context` connector reads from: the store, the declared principals and sources, the clock. */
export interface ContextConnectorDeps {
  readonly store: Pick<Store, 'searchContext'>;
  readonly principals: readonly PrincipalConfig[];
  /** The sources declared now: documents of any other source are never returned. */
  readonly sources: readonly string[];
  readonly now: () => Date;
  /** The most items one search returns. */
  readonly resultLimit: number;
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

/**
 * Full-text search as a governed tool. It answers only calls that say who they are for
 * (`CallOptions.caller`): the agent's entitlements, and the person's when it acts for one (a document
 * must be granted to both). The result holds `items` (text and provenance: source, document, version
 * hash, chunk and offsets, retrieved-at, classification, trust, owner, modified-at, stale) and the
 * highest `classification` and lowest `trust` among them.
 */
export class ContextConnector implements Connector {
  constructor(
    readonly name: string,
    private readonly deps: ContextConnectorDeps,
  ) {}

  async call(tool: string, args: { readonly [k: string]: Json }, opts: CallOptions): Promise<ConnectorResult> {
    if (tool !== 'search') return refuse(`connector \`${this.name}\` serves one tool, \`search\`, not \`${tool}\``);
    if (!opts.caller) return refuse(`\`${this.name}.search\` answers per caller, and this call names none: nothing is searched without the caller's entitlements`);
    const agent = this.principal(opts.caller.principal);
    const person = opts.caller.onBehalfOf === null ? null : this.principal(opts.caller.onBehalfOf);
    if (agent === undefined || person === undefined) return refuse('the caller is not a declared principal: nothing is searched');
    const query = args['query'];
    const limit = args['limit'] ?? this.deps.resultLimit;
    const source = args['source'];
    if (typeof query !== 'string') return refuse('`query` must be a string');
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) return refuse('`limit` must be a whole number from 1');
    if (source !== undefined && (typeof source !== 'string' || !this.deps.sources.includes(source))) {
      return refuse(`\`source\` must name a declared source: ${this.deps.sources.map((s) => `\`${s}\``).join(', ') || 'none is declared'}`);
    }
    const retrievedAt = this.deps.now();
    let hits;
    try {
      hits = await this.deps.store.searchContext({
        terms: searchTerms(query),
        entitlements: entitlementSets(agent, person),
        sources: source === undefined ? this.deps.sources : [source],
        limit: Math.min(limit, this.deps.resultLimit),
      });
    } catch (e) {
      return { ok: false, failure: 'crash', message: `the context store failed: ${e instanceof Error ? e.message : String(e)}` };
    }
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
    const content = { items, classification, trust };
    return { ok: true, content, text: JSON.stringify(content) };
  }

  async listTools(): Promise<readonly UpstreamTool[]> {
    return [{ name: 'search', description: 'Full-text search over the declared sources the caller may read: items hold every word given (words most documents hold count only when no rarer word is given); each item carries its provenance and a cite mark to quote it by.', inputSchema: SEARCH_INPUT_SCHEMA }];
  }

  async close(): Promise<void> {}

  /** The declared principal `ref` (undefined when it is not declared). */
  private principal(ref: string): Principal | undefined {
    const found = resolvePrincipal(this.deps.principals, ref);
    return found.ok ? found.principal : undefined;
  }
}

function refuse(message: string): ConnectorResult {
  return { ok: false, failure: 'tool-error', message };
}
