// Audit payloads, stored apart from the chain by hash: their hashing (HMAC when sensitive), the check of an exported payload line, references in a body.
import type { AuditPayload } from '../store/store.js';
import type { Json } from '../types.js';
import { canonicalJson, hashJson, hmacJson } from '../util/hash.js';

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * A payload to store apart from the chain, addressed by hash: SHA-256 of its canonical JSON, or
 * HMAC-SHA-256 under the audit key `key` when `sensitive` (confidential or restricted data), so the
 * hash in the chain reveals nothing guessable. The one definition of payload hashing: `AuditWriter`
 * builds its payload refs with it and `verifyJsonl` recomputes keyed payloads with it.
 */
export function payloadOf(key: Uint8Array | string, value: Json, sensitive: boolean): AuditPayload {
  return sensitive ? { hash: hmacJson(key, value), data: canonicalJson(value), sensitive: true } : { hash: hashJson(value), data: canonicalJson(value) };
}

/** Null when the payload line is intact (or keyed without a key to check it), else what is wrong. */
export function checkPayload(
  line: string,
  key: Uint8Array | string | undefined,
  counts: { verified: number; unverifiable: number },
): string | null {
  let p: { hash?: unknown; keyed?: unknown; data?: unknown } | undefined;
  try {
    p = (JSON.parse(line) as { payload?: typeof p }).payload;
  } catch {
    return 'a payload line is not valid JSON';
  }
  if (typeof p !== 'object' || p === null || typeof p.hash !== 'string' || typeof p.data !== 'string' || typeof p.keyed !== 'boolean') {
    return 'a payload line does not have the shape {"payload":{"hash","keyed","data"}}';
  }
  if (p.keyed && key === undefined) {
    counts.unverifiable++;
    return null;
  }
  const mismatch = `payload \`${p.hash}\` does not match its ${p.keyed ? 'HMAC' : 'hash'}`;
  let value: Json;
  try {
    value = JSON.parse(p.data) as Json;
  } catch {
    return mismatch;
  }
  // Recompute exactly as the writer did; the data must also be byte for byte its canonical form.
  const expected = payloadOf(key ?? '', value, p.keyed);
  if (expected.hash !== p.hash || expected.data !== p.data) return mismatch;
  counts.verified++;
  return null;
}

/** Every 64-hex string anywhere in a body: the candidates for payload references. */
export function hashesIn(v: Json, out: string[] = []): string[] {
  if (typeof v === 'string') {
    if (v.length === 64 && HEX64.test(v)) out.push(v);
  } else if (Array.isArray(v)) {
    for (const x of v as readonly Json[]) hashesIn(x, out);
  } else if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) hashesIn(x, out);
  }
  return out;
}
