// The Merkle tree of RFC 9162 (Certificate Transparency 2.0, section 2.1) over audit leaves, pure: the
// tree head of the first n leaves, inclusion proofs (a leaf is in a tree) and consistency proofs (a
// smaller tree is a prefix of a larger one), and their verification. A removed tail, an edited or
// reordered leaf, or a forked history makes a proof fail. Issue #15 builds signed checkpoints on it.
import { createHash } from 'node:crypto';

/** A 32-byte SHA-256 value. */
export type Hash = Uint8Array;

function sha256(...parts: readonly Uint8Array[]): Hash {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

/** The hash of one leaf: SHA-256(0x00 || data). */
export function leafHash(data: Uint8Array): Hash {
  return sha256(LEAF, data);
}

/** The hash of an inner node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Hash, right: Hash): Hash {
  return sha256(NODE, left, right);
}

/** The largest power of two smaller than `n` (n > 1): where RFC 9162 splits a tree of n leaves. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The tree head (root hash) of `leaves` (leaf hashes, in order); the empty tree's is SHA-256 of nothing. */
export function treeHead(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return sha256();
  return subtree(leaves, 0, leaves.length);
}

function subtree(leaves: readonly Hash[], from: number, to: number): Hash {
  const n = to - from;
  if (n === 1) return leaves[from] as Hash;
  const k = split(n);
  return nodeHash(subtree(leaves, from, from + k), subtree(leaves, from + k, to));
}

/** A range of leaves [from, to): each node of a proof is the tree head of the leaves of one range. */
export type LeafRange = readonly [from: number, to: number];

/** The leaf ranges whose tree heads make the inclusion proof of leaf `index` in a tree of `size` (RFC 9162 2.1.3.1), leaf to root. */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path = (from: number, to: number, m: number): LeafRange[] => {
    const n = to - from;
    if (n === 1) return [];
    const k = split(n);
    return m < k ? [...path(from, from + k, m), [from + k, to]] : [...path(from + k, to, m - k), [from, from + k]];
  };
  return path(0, size, index);
}

/** The leaf ranges whose tree heads make the consistency proof between the first `m` leaves and a tree of `n` (RFC 9162 2.1.4.1). */
export function consistencyRanges(m: number, n: number): LeafRange[] {
  if (!Number.isInteger(m) || m < 1 || m > n) throw new RangeError(`a tree of ${m} leaves is not a prefix of a tree of ${n}`);
  const sub = (from: number, to: number, k: number, whole: boolean): LeafRange[] => {
    const size = to - from;
    if (k === size) return whole ? [] : [[from, to]];
    const s = split(size);
    return k <= s ? [...sub(from, from + s, k, whole), [from + s, to]] : [...sub(from + s, to, k - s, false), [from, from + s]];
  };
  return sub(0, n, m, true);
}

/** The inclusion proof of leaf `index` in the tree of `leaves` (RFC 9162 2.1.3.1), leaf to root. */
export function inclusionProof(leaves: readonly Hash[], index: number): Hash[] {
  return inclusionRanges(index, leaves.length).map(([from, to]) => subtree(leaves, from, to));
}

/** The consistency proof between the first `m` leaves and all of `leaves` (RFC 9162 2.1.4.1). */
export function consistencyProof(leaves: readonly Hash[], m: number): Hash[] {
  return consistencyRanges(m, leaves.length).map(([from, to]) => subtree(leaves, from, to));
}

/** Whether `proof` shows the leaf hash `leaf` at `index` in a tree of `size` leaves with head `root` (RFC 9162 2.1.3.2). */
export function verifyInclusion(leaf: Hash, index: number, size: number, proof: readonly Hash[], root: Hash): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(p, r);
      [fn, sn] = upToRightEdge(fn, sn);
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && equal(r, root);
}

/**
 * Whether `proof` shows the tree of `size1` leaves with head `root1` to be a prefix of the tree of
 * `size2` leaves with head `root2` (RFC 9162 2.1.4.2): nothing of the first was removed, changed or
 * reordered in the second.
 */
export function verifyConsistency(size1: number, size2: number, proof: readonly Hash[], root1: Hash, root2: Hash): boolean {
  if (!Number.isInteger(size1) || !Number.isInteger(size2) || size1 < 1 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  let path = [...proof];
  // A first tree that is a whole power of two is a node of the second: the proof starts from it.
  if ((size1 & (size1 - 1)) === 0) path = [root1, ...path];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while ((fn & 1) === 1) {
    fn >>= 1;
    sn >>= 1;
  }
  if (path.length === 0) return false;
  let fr = path[0] as Hash;
  let sr = path[0] as Hash;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if ((fn & 1) === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      [fn, sn] = upToRightEdge(fn, sn);
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return equal(fr, root1) && equal(sr, root2) && sn === 0;
}

/** RFC 9162's step for a node on its subtree's right edge: up the tree while `fn` is a left child (even) and not the root. */
function upToRightEdge(fn: number, sn: number): [number, number] {
  while ((fn & 1) === 0 && fn !== 0) {
    fn >>= 1;
    sn >>= 1;
  }
  return [fn, sn];
}

function equal(a: Hash, b: Hash): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

/**
 * The right edge of a tree of `size` leaves: the roots of its perfect subtrees, largest first (one per
 * set bit of `size`). With it, leaves are appended and tree heads computed without the earlier leaves.
 */
export function extendFrontier(frontier: readonly Hash[], size: number, leaves: Iterable<Hash>): Hash[] {
  if (!Number.isInteger(size) || size < 0 || frontier.length !== popcount(size)) {
    throw new RangeError(`a frontier of ${frontier.length} subtrees does not fit a tree of ${size} leaves`);
  }
  const stack = [...frontier];
  let n = size;
  for (const leaf of leaves) {
    stack.push(leaf);
    for (let t = n; t % 2 === 1; t = Math.floor(t / 2)) {
      const right = stack.pop() as Hash;
      const left = stack.pop() as Hash;
      stack.push(nodeHash(left, right));
    }
    n++;
  }
  return stack;
}

/** The tree head of the tree whose right edge is `frontier` (see `extendFrontier`). */
/** `extendFrontier` on bytes: the frontier and the leaves as 32-byte hashes back to back (what the C version takes). */
export function extendFrontierBytes(frontier: Uint8Array, size: number, leaves: Uint8Array): Uint8Array {
  return joinHashes(extendFrontier([...hashesIn(frontier)], size, hashesIn(leaves)));
}

/** Hashes back to back, 32 bytes each. */
export function joinHashes(hashes: readonly Hash[]): Uint8Array {
  const out = new Uint8Array(hashes.length * 32);
  hashes.forEach((h, i) => out.set(h, i * 32));
  return out;
}

export function frontierHead(frontier: readonly Hash[]): Hash {
  if (frontier.length === 0) return sha256();
  let r = frontier[frontier.length - 1] as Hash;
  for (let i = frontier.length - 2; i >= 0; i--) r = nodeHash(frontier[i] as Hash, r);
  return r;
}

function popcount(n: number): number {
  let c = 0;
  for (let t = n; t > 0; t = Math.floor(t / 2)) c += t % 2;
  return c;
}

/** Whether two hashes are equal (in constant time for their length). */
export function sameHash(a: Hash, b: Hash): boolean {
  return equal(a, b);
}

/** The 32-byte hashes laid end to end in `bytes` (as stores hand leaf hashes back), in order. */
export function* hashesIn(bytes: Uint8Array): Generator<Hash> {
  for (let i = 0; i + 32 <= bytes.length; i += 32) yield bytes.subarray(i, i + 32);
}
