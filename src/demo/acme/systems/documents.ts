// The Acme knowledge base: document search and retrieval (bodies may carry planted instructions).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { AcmeDb } from '../db.js';
import { fail, ok, toCallResult, type Outcome } from '../tool.js';

/** One search hit. */
export type DocumentHit = { readonly doc_id: string; readonly title: string; readonly snippet: string };

/** A whole document. */
export type AcmeDocument = { readonly doc_id: string; readonly title: string; readonly body: string };

const STOPWORDS = new Set(['a', 'an', 'and', 'the', 'of', 'for', 'to', 'in', 'on', 'is', 'my', 'what', 'how', 'do', 'i']);
const SNIPPET_CHARS = 200;

function terms(query: string): string[] {
  const words = query.toLowerCase().split(/[^\p{L}\p{N}]+/u);
  return [...new Set(words.filter((w) => w.length > 0 && !STOPWORDS.has(w)))];
}

function occurrences(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

function snippet(body: string, at: number): string {
  const start = Math.max(0, at - SNIPPET_CHARS / 4);
  const end = Math.min(body.length, start + SNIPPET_CHARS);
  const text = body.slice(start, end).replace(/\s+/g, ' ').trim();
  return `${start > 0 ? '…' : ''}${text}${end < body.length ? '…' : ''}`;
}

/**
 * Ranks documents by how often the query's words occur (title counts triple), best first;
 * words match as substrings, so `refund` finds `refunds`. Documents matching nothing are left out.
 */
export function searchDocuments(db: AcmeDb, query: string): Outcome<{ hits: DocumentHit[] }> {
  const words = terms(query);
  if (words.length === 0) return fail(`the query \`${query}\` has no searchable words`);
  const docs = db.prepare('SELECT id, title, body FROM documents ORDER BY id').all() as {
    id: string;
    title: string;
    body: string;
  }[];
  const scored = docs
    .map((d) => {
      const title = d.title.toLowerCase();
      const body = d.body.toLowerCase();
      const score = words.reduce((s, w) => s + 3 * occurrences(title, w) + occurrences(body, w), 0);
      const firsts = words.map((w) => body.indexOf(w)).filter((i) => i >= 0);
      const at = firsts.length > 0 ? Math.min(...firsts) : 0;
      return { hit: { doc_id: d.id, title: d.title, snippet: snippet(d.body, at) }, score };
    })
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || a.hit.doc_id.localeCompare(b.hit.doc_id));
  return ok({ hits: scored.map((s) => s.hit) });
}

/** Reads one whole document. */
export function getDocument(db: AcmeDb, docId: string): Outcome<AcmeDocument> {
  const row = db.prepare('SELECT id AS doc_id, title, body FROM documents WHERE id = ?').get(docId) as
    | AcmeDocument
    | undefined;
  return row ? ok({ ...row }) : fail(`document \`${docId}\` not found`);
}

/** Registers the knowledge base's tools (`search`, `get`). */
export function registerDocuments(server: McpServer, db: AcmeDb): void {
  server.registerTool(
    'search',
    {
      description: 'Search the knowledge base; returns hits (doc_id, title, snippet), best first.',
      inputSchema: { query: z.string().min(1).max(500) },
      outputSchema: { hits: z.array(z.object({ doc_id: z.string(), title: z.string(), snippet: z.string() })) },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ query }) => toCallResult(searchDocuments(db, query)),
  );

  server.registerTool(
    'get',
    {
      description: 'Get a whole document by id, e.g. `refund-policy`.',
      inputSchema: { doc_id: z.string().min(1) },
      outputSchema: { doc_id: z.string(), title: z.string(), body: z.string() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ doc_id }) => toCallResult(getDocument(db, doc_id)),
  );
}
