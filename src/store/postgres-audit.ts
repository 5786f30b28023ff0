// The append path of the PostgreSQL store: group commit. Writes handed over while a commit runs go together in the
// next transaction, each under a savepoint of its own (one that fails never fails another caller's commit); a
// transaction that appends records first locks the one-row `audit_head` (SELECT ... FOR UPDATE), so appends from
// every instance on the database take one order, and seals the records with `sealLeaf` exactly as SQLite's writer
// does: the same records hash the same on both backends.
import type pg from 'pg';
import { GENESIS_HASH, sealLeaf, type PreparedLeaf } from '../audit/chain.js';
import { AirlockError } from '../errors.js';
import type { Sha256Hex } from '../types.js';
import type { AuditPayload } from './store.js';
import type { SealedHashes } from './sqlite-write-ops.js';
import { isLostConnection, isRetryable, pgError, transaction, underSavepoint, type RetryPolicy } from './postgres-connection.js';

/** One caller's write in a group commit: its own rows (if any), and the audit records that say so. */
export interface GroupItem<T> {
  /** How the write is named in its error messages ("failed to <doing>"). */
  readonly doing: string;
  /** Records canonicalised already (`prepareLeaf`), appended only when `apply` says so (or there is no `apply`). */
  readonly leaves: readonly PreparedLeaf[];
  /** Each record's payloads, sealed already. */
  readonly payloads: readonly (readonly AuditPayload[])[];
  /**
   * The write's own rows, run under its savepoint: its value, and whether its records are appended (a
   * compare-and-set that did not apply appends none). Throwing undoes its rows alone. May run more than once
   * (the transaction is run again after a serialisation failure or a deadlock), so it reads what it decides on.
   */
  readonly apply?: (c: pg.PoolClient) => Promise<{ readonly value: T; readonly append: boolean }>;
  /** Takes the audit lock even with no records: a compare-and-set that must see every instance's writes in order. */
  readonly serialise?: boolean;
}

/** What a write in a group commit answers: its value, and where its records landed. */
export interface GroupResult<T> {
  readonly value: T;
  readonly sealed: readonly SealedHashes[];
}

interface Waiting {
  readonly item: GroupItem<unknown>;
  readonly resolve: (r: GroupResult<unknown>) => void;
  readonly reject: (e: unknown) => void;
}

type Outcome = { readonly ok: true; readonly value: GroupResult<unknown> } | { readonly ok: false; readonly error: AirlockError };

/** The rows a transaction appends, collected while its writes apply and inserted together before it commits. */
class AuditRows {
  readonly seq: string[] = [];
  readonly runId: (string | null)[] = [];
  readonly leaf: string[] = [];
  readonly prev: string[] = [];
  readonly leafHash: string[] = [];
  readonly chain: string[] = [];
  readonly payloadHash: string[] = [];
  readonly payloadData: Buffer[] = [];
  readonly payloadSeq: string[] = [];

  constructor(
    public seq0: number,
    public head: Sha256Hex,
  ) {}

  /** Seals `item`'s records after the head and moves the head past them. */
  add(leaves: readonly PreparedLeaf[], payloads: readonly (readonly AuditPayload[])[]): SealedHashes[] {
    return leaves.map((leaf, i) => {
      const seq = this.seq0 + 1;
      const s = sealLeaf(leaf, seq, this.head);
      this.seq0 = seq;
      this.head = s.chainHash;
      this.seq.push(String(seq));
      this.runId.push(leaf.runId);
      this.leaf.push(s.text);
      this.prev.push(s.prevHash);
      this.leafHash.push(s.leafHash);
      this.chain.push(s.chainHash);
      for (const p of payloads[i] ?? []) {
        this.payloadHash.push(p.hash);
        this.payloadData.push(Buffer.from(p.data, 'utf8'));
        this.payloadSeq.push(String(seq));
      }
      return { seq, prevHash: s.prevHash, leafHash: s.leafHash, chainHash: s.chainHash };
    });
  }

  /** Inserts the records and payloads (one statement each) and moves `audit_head`. */
  async insert(c: pg.PoolClient): Promise<void> {
    if (this.seq.length === 0) return;
    await c.query(
      `INSERT INTO audit (seq, run_id, leaf, prev_hash, leaf_hash, chain_hash)
       SELECT s, r, l, decode(p, 'hex'), decode(h, 'hex'), decode(x, 'hex') FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t (s, r, l, p, h, x)`,
      [this.seq, this.runId, this.leaf, this.prev, this.leafHash, this.chain],
    );
    if (this.payloadHash.length > 0) {
      // The same payload referred to again is kept once (the first record that referred to it).
      await c.query('INSERT INTO audit_payloads (hash, data, seq) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[]) ON CONFLICT (hash) DO NOTHING', [
        this.payloadHash,
        this.payloadData,
        this.payloadSeq,
      ]);
    }
    await c.query(`UPDATE audit_head SET seq = $1, chain_hash = decode($2, 'hex') WHERE id = 1`, [String(this.seq0), this.head]);
  }
}

/** Writes per transaction at most: a longer queue goes in the next one. */
const MAX_BATCH = 1000;

/** The group commit of one store: one transaction at a time, carrying every write queued while the last one ran. */
export class GroupCommit {
  private queue: Waiting[] = [];
  private draining: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly shown: string,
    /** Told how many writes each transaction carries. */
    private readonly onBatch?: (writes: number) => void,
    private readonly retry?: RetryPolicy,
  ) {}

  /** Queues `item` for the next group commit; settles once its transaction committed (or it failed, alone). */
  submit<T>(item: GroupItem<T>): Promise<GroupResult<T>> {
    return new Promise<GroupResult<T>>((resolve, reject) => {
      this.queue.push({ item, resolve: resolve as (r: GroupResult<unknown>) => void, reject });
      // INVARIANT: every write queued before the next transaction starts shares it.
      this.draining ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Settles once every write queued so far has committed (or failed). */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        this.onBatch?.(batch.length);
        let outcomes: Outcome[];
        try {
          outcomes = await transaction(this.pool, (c) => this.commit(c, batch), this.retry);
        } catch (e) {
          outcomes = batch.map((w) => ({ ok: false, error: pgError(e, this.shown, w.item.doing) }));
        }
        batch.forEach((w, i) => {
          const o = outcomes[i] as Outcome;
          if (o.ok) w.resolve(o.value);
          else w.reject(o.error);
        });
      }
    } finally {
      this.draining = null;
    }
  }

  /**
   * Applies `batch` in the transaction `c` is in (committed by the caller) and answers each write in order.
   * INVARIANT: one write never fails another: each applies under its own savepoint, and the chain advances only
   * past writes that applied. A failure of the transaction itself (the audit lock's statement timeout, the
   * commit) fails every write in it; a serialisation failure, a deadlock or a connection lost before the commit
   * throws, and the whole batch is run again (`transaction`).
   */
  private async commit(c: pg.PoolClient, batch: readonly Waiting[]): Promise<Outcome[]> {
    // The lock comes first, before any row lock, so two transactions never wait on each other for it.
    const rows = batch.some((w) => w.item.leaves.length > 0 || w.item.serialise) ? await this.lockHead(c) : new AuditRows(0, GENESIS_HASH);
    const out: Outcome[] = [];
    for (const w of batch) out.push(await this.applyOne(c, w.item, rows));
    await rows.insert(c);
    return out;
  }

  /** Locks the chain's head for this transaction: other instances' appends wait until it commits. */
  private async lockHead(c: pg.PoolClient): Promise<AuditRows> {
    const { rows } = await c.query<{ seq: string; chain_hash: Buffer }>('SELECT seq, chain_hash FROM audit_head WHERE id = 1 FOR UPDATE');
    const head = rows[0];
    if (!head) throw new AirlockError('store-corrupt', `store \`${this.shown}\` has no audit head row`, { hint: 'the table `audit_head` was edited outside Airlock; restore the database from a backup' });
    return new AuditRows(Number(head.seq), head.chain_hash.toString('hex') as Sha256Hex);
  }

  private async applyOne(c: pg.PoolClient, item: GroupItem<unknown>, rows: AuditRows): Promise<Outcome> {
    let value: unknown = null;
    let append = true;
    if (item.apply) {
      const apply = item.apply;
      try {
        ({ value, append } = await underSavepoint(c, () => apply(c)));
      } catch (e) {
        // The whole transaction is run again: its locks may be what another one waits for; or its connection
        // is gone (the server rolled it back), and no other write in it can apply either.
        if (isRetryable(e) || isLostConnection(e)) throw e;
        return { ok: false, error: pgError(e, this.shown, item.doing) };
      }
    }
    return { ok: true, value: { value, sealed: append ? rows.add(item.leaves, item.payloads) : [] } };
  }
}
