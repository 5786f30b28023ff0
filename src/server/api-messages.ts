// How the API words its answers: error bodies, zod issues and broken JSON in words, user input made printable, the mount prefix for hints.
import type { Context } from 'hono';
import type { z } from 'zod';
import type { ErrorResponse } from './api-common-schemas.js';

/** The JSON body of every refusal (`ErrorResponse`). */
export type ErrorBody = z.infer<typeof ErrorResponse>;

/** An error body: the message, and the hint and run when given. */
export function errorBody(error: string, hint?: string, runId?: string): ErrorBody {
  return { error, ...(hint !== undefined ? { hint } : {}), ...(runId !== undefined ? { runId } : {}) };
}

/** The 404 of an unknown route. */
export function notFound(c: Context): Response {
  return c.json(errorBody(`no route \`${c.req.method} ${printable(c.req.path, 200)}\``, 'see the OpenAPI document (schema/openapi.json) for the routes'), 404);
}

/** Where the routes are mounted (`/v1`), from the matched route path, for `Location` headers and hints. */
export function mountPrefix(c: Context): string {
  const route = c.req.routePath;
  const i = route.search(/\/(runs|actions|decisions|outcomes|approvals)(\/|$)/);
  return i > 0 ? route.slice(0, i) : '';
}

/** `arguments.amount_cents`, `items[2].id`; empty for the body itself. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** Zod's message, lowercased, with the offending keys named the way Airlock names user input. */
export function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') {
    const named = i.keys.slice(0, 5).map((k) => `\`${printable(k, 64)}\``).join(', ');
    return `unknown field${i.keys.length === 1 ? '' : 's'} ${named}${i.keys.length > 5 ? ` and ${i.keys.length - 5} more` : ''}`;
  }
  return lowerFirst(i.message);
}

/** Where JSON.parse stopped, from the position in its message (Node 20) as offset, line and column (1-based). */
export function jsonErrorPlace(text: string, err: unknown): { position: number; line: number; column: number } | undefined {
  const message = err instanceof Error ? err.message : '';
  const m = /position (\d+)/.exec(message);
  const position = m ? Number(m[1]) : /end of JSON input/.test(message) ? text.length : undefined;
  if (position === undefined) return undefined;
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return { position, line, column };
}

/** A message with its first letter lowercased (unless it starts with an acronym). */
export function lowerFirst(s: string): string {
  return s.length > 0 && !/^[A-Z]{2}/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}

/** User input fit for a message: printable ASCII without backticks, bounded. */
export function printable(text: string, max = 128): string {
   
  const clean = text.replace(/[^\x20-\x7e]/g, '?').replace(/`/g, "'");
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
