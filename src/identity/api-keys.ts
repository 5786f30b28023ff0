// Bearer API keys: generation, hashing, and a constant-time lookup over the configured SHA-256 hashes.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config/schema.js';
import type { Sha256Hex } from '../types.js';

/** Every Airlock API key starts with this, so secret scanners and people recognise one. */
export const API_KEY_PREFIX = 'alk_';

/** Random bytes in a key (256 bits of entropy). */
const KEY_BYTES = 32;

/** `alk_` + base64url of 32 bytes (43 characters, no padding). */
const API_KEY_FORMAT = /^alk_[A-Za-z0-9_-]{43}$/;

/** True when `text` has the shape of an Airlock API key (it says nothing about whether the key is valid). */
export function isApiKeyFormat(text: string): boolean {
  return API_KEY_FORMAT.test(text);
}

/** SHA-256 (lowercase hex) of a key, as written under `identity.apiKeys[].sha256`. */
export function hashApiKey(key: string): Sha256Hex {
  return createHash('sha256').update(key, 'utf8').digest('hex') as Sha256Hex;
}

/**
 * A fresh API key and its hash. The key is shown to its owner once and never stored by Airlock;
 * the workspace holds only `sha256`.
 */
export function generateApiKey(): { key: string; sha256: Sha256Hex } {
  const key = API_KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
  return { key, sha256: hashApiKey(key) };
}

/** A configured key with its digest decoded once, ready for comparison. */
interface KeyEntry {
  readonly config: ApiKeyConfig;
  readonly digest: Buffer;
}

/** The configured API keys, looked up by the digest of a presented key. */
export interface ApiKeyTable {
  /** The configured key whose hash equals SHA-256(key), or undefined. Takes the same time whichever entry matches. */
  find(key: string): ApiKeyConfig | undefined;
}

/** Builds the lookup table from `identity.apiKeys` (hashes are validated as 64 hex characters by the schema). */
export function createApiKeyTable(keys: readonly ApiKeyConfig[]): ApiKeyTable {
  const entries: readonly KeyEntry[] = keys.map((config) => ({ config, digest: Buffer.from(config.sha256, 'hex') }));
  return {
    find(key: string): ApiKeyConfig | undefined {
      const digest = createHash('sha256').update(key, 'utf8').digest();
      // INVARIANT: every entry is compared, with no early exit, and every comparison is between two
      // 32-byte digests, so the time taken does not depend on which entry (if any) matches or on
      // how many leading bytes agree.
      let found: ApiKeyConfig | undefined;
      for (const entry of entries) {
        const equal = entry.digest.length === digest.length && timingSafeEqual(entry.digest, digest);
        if (equal && found === undefined) found = entry.config;
      }
      return found;
    },
  };
}
