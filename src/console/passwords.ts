// Console passwords: scrypt hashes (`scrypt$N$r$p$salt$hash`, base64url) from `node:crypto`, compared in constant time.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt's cost parameters for new hashes (N = 2^15: about 32 MiB and tens of milliseconds per check). */
export const SCRYPT_DEFAULTS = { N: 32768, r: 8, p: 1 } as const;

const KEY_BYTES = 32;
const FORMAT = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

function derive(password: string, salt: Buffer, N: number, r: number, p: number, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, bytes, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a password for `console.users[].password` in airlock.yaml. */
export async function hashPassword(password: string, params: { N: number; r: number; p: number } = SCRYPT_DEFAULTS): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params.N, params.r, params.p, KEY_BYTES);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Whether a stored hash is well formed with sane parameters (N a power of two, bounded cost). */
export function parseHash(stored: string): { N: number; r: number; p: number; salt: Buffer; key: Buffer } | null {
  const m = FORMAT.exec(stored);
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  const key = Buffer.from(m[5] ?? '', 'base64url');
  if (key.length < 16 || key.length > 64) return null;
  return { N, r, p, salt: Buffer.from(m[4] ?? '', 'base64url'), key };
}

/**
 * Whether `password` matches `stored`. The derived key is compared in constant time; a malformed
 * hash never matches. Pass a hash of the same cost for unknown users so that a wrong name and a
 * wrong password take the same time.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return false;
  const key = await derive(password, h.salt, h.N, h.r, h.p, h.key.length);
  return timingSafeEqual(key, h.key);
}
