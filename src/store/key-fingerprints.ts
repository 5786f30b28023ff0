// Workspace keys every instance on one store must share (`.airlock/payloads.key`, `.airlock/audit.key`): the store
// knows each by a fingerprint (an HMAC of a fixed text under the key, so nothing of the key shows), kept by the
// first instance to open it. An instance whose key differs refuses to start, before it seals or hashes anything
// under a key the others cannot open or match.
import { createHmac } from 'node:crypto';
import { AirlockError } from '../errors.js';
import type { Store } from './store.js';

/** The fingerprint of `key` as the workspace key `name`. */
export function keyFingerprint(name: string, key: Uint8Array): string {
  return createHmac('sha256', key).update(`airlock key fingerprint v1\n${name}`).digest('hex');
}

/** Keeps `key`'s fingerprint in `store` if none is kept for `name`; a `config` error when another one is. */
export async function checkSharedKey(store: Store, name: string, key: Uint8Array, file: string): Promise<void> {
  const mine = keyFingerprint(name, key);
  const kept = await store.keyFingerprint(name, mine);
  if (kept === mine) return;
  throw new AirlockError('config', `\`${file}\` is not the ${name} of this store: another instance on it opened it with a different one`, {
    hint: `every instance on one store needs the same ${path(file)}: copy it from an instance already running on this store (or restore it from backup), then start again`,
    location: { file },
  });
}

/** The file's name in its `.airlock` folder, as the hint shows it. */
function path(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts.slice(-2).join('/');
}
