// A 32-byte secret kept in a workspace's state folder (`.airlock/`), created on first use with mode
// 600, shared by every process on that folder: the first to create it wins, the others read it.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The key in `stateDir/name`, made now when there is none. A file of another length is not a key:
 * `wrongLength(file, bytes)` says what to do about it (it throws).
 */
export function stateKey(stateDir: string, name: string, wrongLength: (file: string, bytes: number) => never): Uint8Array {
  const file = path.join(stateDir, name);
  if (existsSync(file)) {
    const key = readFileSync(file);
    if (key.length !== 32) wrongLength(file, key.length);
    return key;
  }
  mkdirSync(stateDir, { recursive: true });
  const key = randomBytes(32);
  // Written whole beside the target, then linked into place: the link either creates the file with all
  // 32 bytes or fails because another process made it first. (Creating it with 'wx' and then writing
  // left a moment when another process read an empty key.)
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, key, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return stateKey(stateDir, name, wrongLength);
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  chmodSync(file, 0o600);
  return key;
}
