// Signed checkpoints of the audit trail as the store keeps them (issue #15): the RFC 9162 tree head of
// the first `size` records, the signed note that commits to it, and the tree's frontier so the next
// checkpoint extends it without reading the trail from the start. audit/checkpoints.ts makes them.
import type { Sha256Hex } from '../types.js';

/** A checkpoint of the audit trail: the Merkle tree head of records 1..size, signed. */
export interface StoredCheckpoint {
  /** How many records the tree covers (records 1..size). */
  readonly size: number;
  /** The RFC 9162 tree head over the records' leaf hashes, hex. */
  readonly rootHash: Sha256Hex;
  /** When it was made (ISO-8601). */
  readonly time: string;
  /** The C2SP signed note (body, blank line, signature lines) exactly as signed. */
  readonly note: string;
  /** The roots of the tree's perfect subtrees at `size`, largest first (hex): the tree's right edge. */
  readonly frontier: readonly Sha256Hex[];
}
