// The C range scan (native/audit-scan.c), when it is built: `npm ci` builds it with node-gyp, as it builds
// better-sqlite3. Without it verification gives the same verdicts, scanning ranges in JavaScript, slower.
import { isUtf8 } from 'node:buffer';
import * as nodeCrypto from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { AIRLOCK_ROOT } from '../util/package-root.js';
import type { DigestHex, NativeRangeScan, RangeScanTools } from './store-scan.js';
import type { FrontierExtend } from './checkpoint-check.js';

/** Where node-gyp puts the built addon. */
export const NATIVE_SCAN_FILE = path.join(AIRLOCK_ROOT, 'native', 'build', 'Release', 'airlock_audit_scan.node');

/** The C tree extension (native/audit-scan.c `merkleExtend`): merkle.ts `extendFrontierBytes`, faster. */
export type MerkleExtend = FrontierExtend;

/** The addon's exports, loaded once per thread (null: not built, will not load here, or turned off). */
let addon: Record<string, unknown> | null | undefined;

/** Whether the C scan may be used: it is built, and `AIRLOCK_NATIVE_SCAN=0` does not turn it off. */
function nativeAllowed(): boolean {
  return process.env.AIRLOCK_NATIVE_SCAN !== '0' && existsSync(NATIVE_SCAN_FILE);
}

/** The addon's function `name`, or null when the addon is not built, cannot load here, or is turned off. */
function addonFunction<T>(name: string): T | null {
  if (addon === undefined) {
    addon = null;
    if (nativeAllowed()) {
      try {
        addon = createRequire(import.meta.url)(NATIVE_SCAN_FILE) as Record<string, unknown>;
      } catch {
        // Built for another Node, or its OpenSSL symbols are missing: JavaScript and node:crypto serve.
      }
    }
  }
  const fn = addon?.[name];
  return typeof fn === 'function' ? (fn as T) : null;
}

/**
 * The C scan as a SQLite extension (`audit_scan_range`, an aggregate): the file and entry point to load
 * into a connection, or null when it may not be used.
 */
export function nativeSqliteScan(): { file: string; entryPoint: string } | null {
  return nativeAllowed() ? { file: NATIVE_SCAN_FILE, entryPoint: 'sqlite3_airlock_audit_scan_init' } : null;
}

/**
 * The C scan, or null when it is not built, cannot load here, or `AIRLOCK_NATIVE_SCAN=0` turns it off
 * (to compare the two, or to rule it out).
 */
export function nativeRangeScan(): NativeRangeScan | null {
  return addonFunction<NativeRangeScan>('scanRange');
}

/** The C tree extension, or null as for the scan (then node:crypto extends the tree). */
export function nativeMerkleExtend(): MerkleExtend | null {
  return addonFunction<MerkleExtend>('merkleExtend');
}

const hexHash: DigestHex =
  (nodeCrypto as { hash?: DigestHex }).hash ?? ((algorithm, data, encoding) => nodeCrypto.createHash(algorithm).update(data).digest(encoding));

/**
 * What store-scan.ts `scanAuditRange` scans with on this thread: node:crypto, node:buffer's UTF-8 test, and the
 * C scan if it is built (and `native` is not false).
 */
export function rangeScanTools(native = true): RangeScanTools {
  return { hash: hexHash, isUtf8, native: native ? nativeRangeScan() : null };
}
