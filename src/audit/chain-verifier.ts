// The audit chain verifier (pure): records fed in order, a verdict that names the first bad record and how the chain is broken.
import type { Sha256Hex } from '../types.js';
import { chainHash, GENESIS_HASH, leafHashOfText, leafText, seqOfLeafText, type ChainAnchor, type ChainedRecord } from './chain.js';

/** How a chain is broken. See `ChainVerifier` for how each is told apart. */
export type ChainProblem = 'changed' | 'deleted' | 'inserted' | 'reordered' | 'broken-link';

/** The outcome of verifying a chain: its length and head, or the first bad record and why. */
export type ChainVerdict =
  | { readonly ok: true; readonly count: number; readonly head: ChainAnchor | null }
  | { readonly ok: false; readonly seq: number; readonly problem: ChainProblem; readonly message: string };

/** Where verification starts and what it must reach. */
export interface VerifyOptions {
  /** Verify a segment: the record before the first one fed (default: genesis, first seq 1). */
  readonly start?: ChainAnchor | undefined;
  /** A trusted head (e.g. a signed checkpoint): the chain must reach it with this exact hash. */
  readonly expectedHead?: ChainAnchor | undefined;
  /** How many records past a gap to scan to tell a deletion from a reordering (default 10,000). */
  readonly lookahead?: number | undefined;
}

/** What the verifier knows about one fed record; the costly hash check is done only when needed. */
interface Item {
  /** The seq the record claims (NaN when it has none). */
  readonly seq: number;
  readonly prevHash: string;
  readonly leafHash: string;
  readonly chainHash: string;
  /** Computes the record's own integrity: null when intact, else what is wrong. */
  readonly check: () => 'content' | 'hashes' | null;
}

function item(seq: number, text: string | null, prevHash: string, leaf: string, chain: string): Item {
  return {
    seq,
    prevHash,
    leafHash: leaf,
    chainHash: chain,
    check: () => {
      if (text === null || leafHashOfText(text) !== leaf) return 'content';
      return chainHash(prevHash, leaf) === chain ? null : 'hashes';
    },
  };
}

type Pending =
  | { readonly kind: 'bad'; readonly x: Item; readonly why: 'content' | 'hashes' | 'malformed'; readonly note: string }
  | { readonly kind: 'link'; readonly x: Item }
  | {
      readonly kind: 'gap';
      readonly x: Item;
      scanned: number;
      foundExpected: boolean;
      dupSeq: boolean;
      forkPrev: boolean;
      successor: boolean;
      predecessor: boolean;
    };

/**
 * Incremental chain verifier: feed records in the order the store or export holds them; it stops at
 * the first bad record and tells the kind apart, looking ahead only after that record:
 *
 * - `changed`: a record's content does not match its leafHash, or its own hashes do not add up
 *   (reported at the seq expected at that position; a changed seq field is still `changed`).
 * - `deleted`: a gap in seq whose missing records do not turn up later (named: the first missing seq).
 * - `reordered`: a gap whose missing record turns up later, the out-of-place record still linked
 *   to its real neighbours (named: the first record found out of place).
 * - `inserted`: a record that belongs to no position: a seq already used, a second record claiming
 *   the same predecessor, a foreign record the intact chain continues around, or one that links to
 *   the previous record while skipping seqs (named: the seq it claims).
 * - `broken-link`: an intact record in its expected place whose prevHash is not the previous
 *   record's chainHash (the previous record was rewritten with recomputed hashes, or the chain was
 *   spliced), or a chain that misses the expected head's hash.
 *
 * A deleted tail cannot be seen from the records alone: pass `expectedHead` (a signed checkpoint).
 */
export class ChainVerifier {
  private expected: number;
  private prev: string;
  private count = 0;
  private head: ChainAnchor | null;
  private pending: Pending | null = null;
  private verdict: ChainVerdict | null = null;
  private readonly expectedHead: ChainAnchor | undefined;
  private readonly lookahead: number;

  /**
   * A verifier positioned at `opts.start`, or at genesis. `resume`: the position after `count` records
   * ending at `head` that a fast path (scan.ts) already accepted by this verifier's own test for an
   * intact record in its place; verification goes on from there as if they had been pushed.
   */
  constructor(opts: VerifyOptions = {}, resume?: { readonly head: ChainAnchor; readonly count: number }) {
    const at = resume && resume.count > 0 ? resume.head : opts.start;
    this.expected = (at?.seq ?? 0) + 1;
    this.prev = at?.chainHash ?? GENESIS_HASH;
    this.head = at ?? null;
    this.count = resume?.count ?? 0;
    this.expectedHead = opts.expectedHead;
    this.lookahead = opts.lookahead ?? 10_000;
  }

  /** Feeds the next record; false once the verdict is known (feeding more is then pointless). */
  push(r: ChainedRecord): boolean {
    if (this.verdict) return false;
    let text: string | null = null;
    try {
      text = leafText(r);
    } catch {
      // no canonical form (a hand-made object): its content cannot match any leaf hash
    }
    if (this.pending === null && text !== null && this.accepts(r.seq, text, r.prevHash, r.leafHash, r.chainHash)) {
      return true;
    }
    let seq = Number.NaN;
    try {
      seq = Number.isSafeInteger(r.seq) ? r.seq : Number.NaN;
    } catch {
      return this.pushMalformed('the record is not an object');
    }
    return this.feed(item(seq, text, r.prevHash, r.leafHash, r.chainHash));
  }

  /** Feeds the next record as exported text: the exact leaf text and the three hashes beside it. */
  pushText(text: string, prevHash: string, leaf: string, chain: string): boolean {
    if (this.verdict) return false;
    if (this.pending === null && this.accepts(seqOfLeafText(text), text, prevHash, leaf, chain)) return true;
    return this.feed(item(seqOfLeafText(text), text, prevHash, leaf, chain));
  }

  /** Feeds a record that could not be read at all (an unparsable export line); `why` says how. */
  pushMalformed(why: string): boolean {
    if (this.verdict) return false;
    return this.feed({ seq: Number.NaN, prevHash: '', leafHash: '', chainHash: '', check: () => 'content' }, why);
  }

  /**
   * Where it stands while every record fed so far was intact and in its place (null from the first that
   * was not, whose verdict is then pending or given): the position a fast path may go on from.
   */
  position(): { readonly head: ChainAnchor | null; readonly count: number } | null {
    return this.pending === null && this.verdict === null ? { head: this.head, count: this.count } : null;
  }

  /** The verdict on everything fed so far, taken as the whole chain. */
  finish(): ChainVerdict {
    if (this.verdict) return this.verdict;
    if (this.pending) return this.decide(this.pending, null);
    const want = this.expectedHead;
    const last = this.head?.seq ?? 0;
    if (want && last < want.seq) {
      return this.fail(
        last + 1,
        'deleted',
        `the chain ends at seq ${last} but the expected head is seq ${want.seq}: records ${last + 1}–${want.seq} are missing`,
      );
    }
    return (this.verdict = { ok: true, count: this.count, head: this.head });
  }

  /** The fast path: an intact record in its place, linked to the last one. Advances and says true, or says false. */
  private accepts(seq: number, text: string, prevHash: string, leaf: string, chain: string): boolean {
    const e = this.expected;
    if (seq !== e || prevHash !== this.prev || leafHashOfText(text) !== leaf || chainHash(prevHash, leaf) !== chain) {
      return false;
    }
    const want = this.expectedHead;
    if (want !== undefined && want.seq === e && want.chainHash !== chain) return false;
    this.prev = chain;
    this.head = { seq: e, chainHash: chain as Sha256Hex };
    this.expected = e + 1;
    this.count++;
    return true;
  }

  private feed(x: Item, malformed?: string): boolean {
    const p = this.pending;
    if (p) {
      if (p.kind === 'gap') {
        this.scanGap(p, x);
        if (++p.scanned >= this.lookahead) this.decide(p, null);
      } else {
        this.decide(p, x);
      }
      return this.verdict === null;
    }
    const e = this.expected;
    if (malformed !== undefined) {
      this.pending = { kind: 'bad', x, why: 'malformed', note: malformed };
      return true;
    }
    const broken = x.check() ?? (Number.isNaN(x.seq) ? 'content' : null);
    if (broken) {
      this.pending = { kind: 'bad', x, why: broken, note: '' };
      return true;
    }
    if (x.seq !== e) {
      if (x.seq > e) {
        this.pending = {
          kind: 'gap',
          x,
          scanned: 0,
          foundExpected: false,
          dupSeq: false,
          forkPrev: false,
          successor: false,
          predecessor: false,
        };
        return true;
      }
      this.fail(
        x.seq,
        'inserted',
        `a second record with seq ${x.seq} appears after record ${e - 1}: it was inserted (or replayed)`,
      );
      return false;
    }
    if (x.prevHash !== this.prev) {
      this.pending = { kind: 'link', x };
      return true;
    }
    const want = this.expectedHead;
    if (want && want.seq === e && want.chainHash !== x.chainHash) {
      this.fail(
        e,
        'broken-link',
        `record ${e} does not have the expected head's chain hash: the chain up to it was rewritten with recomputed hashes`,
      );
      return false;
    }
    this.prev = x.chainHash;
    this.head = { seq: e, chainHash: x.chainHash as Sha256Hex };
    this.expected = e + 1;
    this.count++;
    return true;
  }

  /** True when `n` is the intact record expected at the current position, linked to the last good one. */
  private fitsHere(n: Item | null): boolean {
    return n !== null && n.seq === this.expected && n.prevHash === this.prev && n.check() === null;
  }

  private scanGap(p: Extract<Pending, { kind: 'gap' }>, n: Item): void {
    if (n.seq === this.expected) p.foundExpected = true;
    if (n.seq === p.x.seq) p.dupSeq = true;
    if (n.prevHash === p.x.prevHash) p.forkPrev = true;
    if (n.prevHash === p.x.chainHash) p.successor = true;
    if (n.chainHash === p.x.prevHash) p.predecessor = true;
  }

  /** Settles the first problem, given the record after it (`next`, for 'bad' and 'link') or the scan. */
  private decide(p: Pending, next: Item | null): ChainVerdict {
    const e = this.expected;
    const x = p.x;
    switch (p.kind) {
      case 'bad': {
        if (this.fitsHere(next)) {
          const claims = Number.isNaN(x.seq) ? e : x.seq;
          const what = p.why === 'malformed' ? `an unreadable record (${p.note})` : `a record claiming seq ${claims}`;
          return this.fail(claims, 'inserted', `${what} was inserted before record ${e}; the chain continues intact around it`);
        }
        const claim = !Number.isNaN(x.seq) && x.seq !== e ? ` (it now claims seq ${x.seq})` : '';
        const how =
          p.why === 'malformed'
            ? `it cannot be read: ${p.note}`
            : p.why === 'content'
              ? 'its content does not match its leafHash'
              : 'its chainHash is not sha256(domain || prevHash || leafHash)';
        return this.fail(e, 'changed', `record ${e} was changed${claim}: ${how}`);
      }
      case 'link':
        if (this.fitsHere(next)) {
          return this.fail(
            e,
            'inserted',
            `a record claiming seq ${e} that does not link to record ${e - 1} was inserted before the real record ${e}`,
          );
        }
        return this.fail(
          e,
          'broken-link',
          e === 1
            ? 'record 1 does not start from the genesis hash: the chain was cut or spliced here'
            : `record ${e}'s prevHash is not record ${e - 1}'s chainHash: record ${e - 1} was rewritten with recomputed hashes, or the chain was spliced here`,
        );
      case 'gap': {
        const s = x.seq;
        const missing = s - 1 > e ? `records ${e}–${s - 1} are` : `record ${e} is`;
        if (!p.foundExpected) {
          if (x.prevHash === this.prev) {
            return this.fail(
              s,
              'inserted',
              `record ${s} follows record ${e - 1} directly while skipping seq ${e}: it was forged or renumbered`,
            );
          }
          return this.fail(e, 'deleted', `${missing} missing: record ${s} follows record ${e - 1}`);
        }
        if (p.dupSeq || p.forkPrev || !(p.successor || p.predecessor)) {
          return this.fail(s, 'inserted', `a record claiming seq ${s} was inserted before record ${e}`);
        }
        return this.fail(s, 'reordered', `record ${s} is out of order: it appears where record ${e} belongs`);
      }
    }
  }

  private fail(seq: number, problem: ChainProblem, message: string): ChainVerdict {
    this.pending = null;
    return (this.verdict = { ok: false, seq, problem, message });
  }
}

/** Records one by one, or batches of them (how stores stream), sync or async. */
export type ChainSource =
  | Iterable<ChainedRecord | readonly ChainedRecord[]>
  | AsyncIterable<ChainedRecord | readonly ChainedRecord[]>;

/** Verifies a whole chain (or the segment after `opts.start`), naming the first bad record. */
export async function verifyChain(source: ChainSource, opts: VerifyOptions = {}): Promise<ChainVerdict> {
  const v = new ChainVerifier(opts);
  const feed = (item: ChainedRecord | readonly ChainedRecord[]): boolean => {
    if (!Array.isArray(item)) return v.push(item as ChainedRecord);
    for (const r of item as readonly ChainedRecord[]) if (!v.push(r)) return false;
    return true;
  };
  if (Symbol.asyncIterator in source) {
    for await (const item of source) if (!feed(item)) break;
  } else {
    for (const item of source) if (!feed(item)) break;
  }
  return v.finish();
}
