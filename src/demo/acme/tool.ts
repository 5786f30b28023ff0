// Helpers every Acme system shares: domain outcomes as values, MCP tool results, and idempotent writes.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { canonicalJson, sha256Hex } from '../../util/hash.js';
import type { AcmeDb } from './db.js';

/** What a tool handler produces: a result object, or a domain error the caller can read. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** A successful outcome. */
export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

/** A domain error (lowercase, user input in backticks), returned to the caller as an MCP tool error. */
export function fail(message: string): Outcome<never> {
  return { ok: false, message };
}

/** Turns an outcome into an MCP result: `structuredContent` plus the same JSON as text, or `isError`. */
export function toCallResult<T extends Record<string, unknown>>(outcome: Outcome<T>): CallToolResult {
  if (!outcome.ok) return { content: [{ type: 'text', text: outcome.message }], isError: true };
  return { content: [{ type: 'text', text: JSON.stringify(outcome.value) }], structuredContent: outcome.value };
}

/** The current time as an ISO string (the one clock every system uses for new rows). */
export function nowIso(): string {
  return new Date().toISOString();
}

/** Runs a write without an idempotency key in one immediate transaction. */
export function write<T>(db: AcmeDb, effect: () => Outcome<T>): Outcome<T> {
  return db.transaction(effect).immediate();
}

/**
 * Runs a write in one immediate transaction. With an idempotency key, a repeat of the same
 * request returns the stored original result and does nothing; the same key with different
 * arguments is refused. Only successful results are stored, so a refused request may be retried.
 */
export function writeOnce<T>(
  db: AcmeDb,
  tool: string,
  key: string | undefined,
  args: Record<string, unknown>,
  effect: () => Outcome<T>,
): Outcome<T> {
  return db.transaction((): Outcome<T> => {
    if (key === undefined) return effect();
    const requestHash = sha256Hex(canonicalJson(args));
    const seen = db
      .prepare('SELECT request_hash, result FROM idempotency WHERE tool = ? AND key = ?')
      .get(tool, key) as { request_hash: string; result: string } | undefined;
    if (seen) {
      if (seen.request_hash !== requestHash) {
        return fail(`idempotency key \`${key}\` was already used for a different \`${tool}\` request`);
      }
      return ok(JSON.parse(seen.result) as T);
    }
    const outcome = effect();
    if (outcome.ok) {
      db.prepare('INSERT INTO idempotency (tool, key, request_hash, result, created_at) VALUES (?, ?, ?, ?, ?)').run(
        tool,
        key,
        requestHash,
        JSON.stringify(outcome.value),
        nowIso(),
      );
    }
    return outcome;
  }).immediate();
}
