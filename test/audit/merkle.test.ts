// The RFC 9162 Merkle tree: the tree heads of Certificate Transparency's test vectors; inclusion and
// consistency proofs that verify for every size and position, and fail for an edited or removed leaf,
// a wrong index, a tampered proof and a forked history (a tree's size is bound to its head by the
// signed checkpoint, issue #15).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consistencyProof, extendFrontier, extendFrontierBytes, frontierHead, inclusionProof, joinHashes, leafHash, treeHead, verifyConsistency, verifyInclusion } from '../../src/audit/merkle.js';
import { nativeMerkleExtend } from '../../src/audit/native-scan.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
// The eight inputs of the CT test vectors and the tree heads of their first 1..8 leaves.
const DATA = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
const HEADS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const leavesOf = (n: number, salt = 0): Uint8Array[] => Array.from({ length: n }, (_, i) => leafHash(Uint8Array.from(Buffer.from(`record ${i + salt}`))));

describe('RFC 9162 Merkle tree', () => {
  it('gives the test vectors’ tree heads, and SHA-256 of nothing for the empty tree', () => {
    const leaves = DATA.map(leafHash);
    expect(hex(treeHead([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(HEADS.map((_, i) => hex(treeHead(leaves.slice(0, i + 1))))).toEqual(HEADS);
  });

  it('proves every leaf of every tree up to 40 leaves, and nothing else', () => {
    for (let n = 1; n <= 40; n++) {
      const leaves = leavesOf(n);
      const root = treeHead(leaves);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(leaves, i);
        expect(verifyInclusion(leaves[i]!, i, n, proof, root), `${i} of ${n}`).toBe(true);
        if (n > 1) expect(verifyInclusion(leaves[(i + 1) % n]!, i, n, proof, root)).toBe(false);
        if (n > 1) expect(verifyInclusion(leaves[i]!, (i + 1) % n, n, proof, root)).toBe(false);
        expect(verifyInclusion(leaves[i]!, i, n, proof, treeHead(leavesOf(n, 1)))).toBe(false);
      }
    }
  });

  it('proves every prefix consistent up to 40 leaves; an edited, reordered or cut history fails', () => {
    for (let n = 1; n <= 40; n++) {
      const leaves = leavesOf(n);
      const root2 = treeHead(leaves);
      for (let m = 1; m <= n; m++) {
        const root1 = treeHead(leaves.slice(0, m));
        const proof = consistencyProof(leaves, m);
        expect(verifyConsistency(m, n, proof, root1, root2), `${m} of ${n}`).toBe(true);
        // A first tree whose leaf was edited is no prefix of this one.
        const edited = [...leaves.slice(0, m)];
        edited[m - 1] = leafHash(Uint8Array.of(0xff));
        expect(verifyConsistency(m, n, proof, treeHead(edited), root2)).toBe(false);
        // A cut tail: the trail's last leaves removed has another head, and no proof leads back from the longer tree.
        if (m < n) {
          expect(hex(treeHead(leaves.slice(0, n - 1)))).not.toBe(hex(root2));
          expect(() => consistencyProof(leaves.slice(0, n - 1), n)).toThrow(RangeError);
        }
      }
    }
  });

  it('holds as a property: random sizes and positions, tampered proofs and forks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), fc.nat(), (n, a, b, flip) => {
        const leaves = leavesOf(n);
        const root = treeHead(leaves);
        const i = a % n;
        const proof = inclusionProof(leaves, i);
        expect(verifyInclusion(leaves[i]!, i, n, proof, root)).toBe(true);
        if (proof.length > 0) {
          const bad = proof.map((p) => Uint8Array.from(p));
          bad[flip % bad.length]![0]! ^= 1;
          expect(verifyInclusion(leaves[i]!, i, n, bad, root)).toBe(false);
        }
        const m = 1 + (b % n);
        const c = consistencyProof(leaves, m);
        expect(verifyConsistency(m, n, c, treeHead(leaves.slice(0, m)), root)).toBe(true);
        // A fork: the same first m leaves, then other ones; its head is not consistent with this proof.
        if (m < n) {
          const fork = [...leaves.slice(0, m), ...leavesOf(n - m, 10_000)];
          expect(verifyConsistency(m, n, c, treeHead(leaves.slice(0, m)), treeHead(fork))).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses what is no tree position', () => {
    const leaves = leavesOf(5);
    expect(() => inclusionProof(leaves, 5)).toThrow(RangeError);
    expect(() => consistencyProof(leaves, 0)).toThrow(RangeError);
    expect(() => consistencyProof(leaves, 6)).toThrow(RangeError);
    expect(verifyConsistency(0, 5, [], treeHead([]), treeHead(leaves))).toBe(false);
    expect(verifyConsistency(5, 5, [], treeHead(leaves), treeHead(leaves))).toBe(true);
    expect(verifyConsistency(5, 4, [], treeHead(leaves), treeHead(leaves))).toBe(false);
  });

  it('extends a tree by its right edge: any split of the leaves into appends gives the same heads as the whole tree', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 6 }), (n, cuts) => {
        const leaves = leavesOf(n);
        const points = [...new Set(cuts.map((c) => c % (n + 1)))].sort((a, b) => a - b);
        let frontier: Uint8Array[] = [];
        let size = 0;
        for (const p of [...points, n]) {
          frontier = extendFrontier(frontier, size, leaves.slice(size, p));
          size = p;
          expect(hex(frontierHead(frontier))).toBe(hex(treeHead(leaves.slice(0, size))));
        }
      }),
      { numRuns: 200 },
    );
    expect(() => extendFrontier([], 3, [])).toThrow(RangeError);
  });

  it('extends the same in C (native/audit-scan.c merkleExtend) as here, for any split, and refuses a frontier that does not fit', () => {
    const native = nativeMerkleExtend();
    expect(native, 'the C extension is built by npm ci').not.toBeNull();
    const c = native as NonNullable<typeof native>;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }), fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 6 }), (n, cuts) => {
        const leaves = joinHashes(leavesOf(n));
        const points = [...new Set(cuts.map((x) => x % (n + 1)))].sort((a, b) => a - b);
        let js: Uint8Array = new Uint8Array(0);
        let inC: Uint8Array = new Uint8Array(0);
        let size = 0;
        for (const p of [...points, n]) {
          const chunk = leaves.subarray(size * 32, p * 32);
          js = extendFrontierBytes(js, size, chunk);
          inC = c(inC, size, chunk);
          size = p;
          expect(hex(inC)).toBe(hex(js));
        }
      }),
      { numRuns: 300 },
    );
    expect(() => c(new Uint8Array(32), 3, new Uint8Array(0))).toThrow(RangeError);
    expect(() => c(new Uint8Array(0), 0, new Uint8Array(31))).toThrow(RangeError);
    expect(() => c(new Uint8Array(0), -1, new Uint8Array(0))).toThrow(RangeError);
    expect(() => (c as unknown as (...a: unknown[]) => unknown)('x', 0, new Uint8Array(0))).toThrow(TypeError);
    // A tree of 2^40 - 1 leaves has 40 subtrees: one more leaf folds them all into one.
    const big = 2 ** 40 - 1;
    const edge = joinHashes(leavesOf(40, 7));
    expect(hex(c(edge, big, joinHashes(leavesOf(1, 99))))).toBe(hex(extendFrontierBytes(edge, big, joinHashes(leavesOf(1, 99)))));
  });
});
