// The store's writes on one connection: every write handed over together commits in one transaction (one fsync), each under a savepoint of its own.
// Writes travel as plain data (`WriteOp` in sqlite-write-ops.ts: strings and numbers, records already serialised), so the same batch can run on the
// main thread (inline) or in the writer thread (sqlite-worker.ts); errors travel back as `WireError`.
import type Database from 'better-sqlite3';
import { GENESIS_HASH, sealLeaf } from '../audit/chain.js';
import { AirlockError } from '../errors.js';
import type { Sha256Hex } from '../types.js';
import type { ApprovalRecord, AuditPayload, GrantRecord, IncidentRecord, IncidentStatus, NotificationRecord } from './store.js';
import { addUsage, addValue } from './sqlite-ledgers.js';
import { addSpans } from './sqlite-spans.js';
import { changeContext } from './sqlite-context.js';
import { putVectors } from './sqlite-vectors.js';
import { addPilotEvent } from './sqlite-pilot.js';
import { liftHalt, startHalt } from './sqlite-halts.js';
import { addPolicyEvent } from './sqlite-policy.js';
import { addCheckpoint } from './sqlite-checkpoints.js';
import { claimDueRuns, claimRun, releaseRun, takeRate, wakeRun } from './sqlite-claims.js';
import { AUDIT_PAGE_BITS, isConstraint, RECENT_GROUP_BITS, storeError } from './sqlite-file.js';
import { grantSchema, incidentSchema, notificationSchema, RowReader, type ApprovalRow, type IdRecordRow, type RunRow } from './sqlite-rows.js';
import { DOING, type ApprovalWant, type RunColumns, type SealedHashes, type WireLeaf, type WriteOp, type WriteOutcome, type WriteResult } from './sqlite-write-ops.js';

/** The audit head while a batch commits: advanced only past items that applied. */
interface Chain {
  seq: number;
  prev: Sha256Hex;
}

// sealLeaf reads only the canonical text of the body, never the body itself.
const NO_BODY = Object.freeze({});

/** The write side of one store file, on one connection. Used from a single thread. */
export class SqliteWriter {
  private readonly rows: RowReader;
  /** `applyUnwrapped` as a nested transaction: a savepoint per item. */
  private readonly applyOne: (op: WriteOp, chain: Chain, fresh: Set<string>) => unknown;
  /** `page:runId` pairs already in the run index (bounded: forgetting one only costs an INSERT OR IGNORE). */
  private knownRuns = new Set<string>();
  /** The group of pages (RECENT_GROUP_BITS) of the last record this writer indexed: a newer one settles the groups before it. */
  private recentGroup = -1;
  private readonly stmt: {
    head: Database.Statement<[], { seq: number; chain_hash: string }>;
    insertAudit: Database.Statement<[number, string, string, string, string]>;
    insertPayload: Database.Statement<[string, string, number]>;
    insertRunPage: Database.Statement<[number, string]>;
    settleRunPages: Database.Statement<[number]>;
    dropRecentRunPages: Database.Statement<[number]>;
    deletePayload: Database.Statement<[string]>;
    insertRun: Database.Statement<[string, string, string, number, string, string, string]>;
    countOpenRuns: Database.Statement<[string]>;
    insertRunStep: Database.Statement<[string, number, string]>;
    updateRun: Database.Statement<[string, string, number, string, string, string, number]>;
    getRunVersion: Database.Statement<[string], Pick<RunRow, 'version'>>;
    insertApproval: Database.Statement<[string, string, string, string, string]>;
    getApproval: Database.Statement<[string], ApprovalRow>;
    casApproval: Database.Statement<[string, string, string, string]>;
  };

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
  ) {
    this.rows = new RowReader(file);
    this.applyOne = db.transaction(this.applyUnwrapped.bind(this));
    this.stmt = {
      head: db.prepare('SELECT seq, chain_hash FROM audit ORDER BY seq DESC LIMIT 1'),
      insertAudit: db.prepare('INSERT INTO audit (seq, leaf, prev_hash, leaf_hash, chain_hash) VALUES (?, ?, ?, ?, ?)'),
      insertPayload: db.prepare('INSERT OR IGNORE INTO audit_payloads (hash, data, seq) VALUES (?, ?, ?)'),
      insertRunPage: db.prepare('INSERT OR IGNORE INTO audit_run_pages_recent (page, run_id) VALUES (?, ?)'),
      settleRunPages: db.prepare(
        'INSERT OR IGNORE INTO audit_run_pages (run_id, page) SELECT run_id, page FROM audit_run_pages_recent WHERE page < ? ORDER BY run_id, page',
      ),
      dropRecentRunPages: db.prepare('DELETE FROM audit_run_pages_recent WHERE page < ?'),
      deletePayload: db.prepare('DELETE FROM audit_payloads WHERE hash = ?'),
      insertRun: db.prepare('INSERT INTO runs (id, workflow, status, version, created_at, updated_at, state) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      // An external agent's runs open (a sealed state keeps `agent` and `driver` readable: sealed-payloads.ts).
      countOpenRuns: db.prepare("SELECT count(*) AS n FROM runs WHERE status = 'running' AND json_extract(state, '$.agent') = ? AND json_extract(state, '$.driver') = 'agent'"),
      insertRunStep: db.prepare('INSERT INTO run_steps (run_id, n, item) VALUES (?, ?, ?)'),
      updateRun: db.prepare('UPDATE runs SET workflow = ?, status = ?, version = ?, updated_at = ?, state = ? WHERE id = ? AND version = ?'),
      getRunVersion: db.prepare('SELECT version FROM runs WHERE id = ?'),
      insertApproval: db.prepare('INSERT INTO approvals (id, run_id, status, created_at, record) VALUES (?, ?, ?, ?, ?)'),
      getApproval: db.prepare('SELECT id, status, record FROM approvals WHERE id = ?'),
      casApproval: db.prepare('UPDATE approvals SET status = ?, record = ? WHERE id = ? AND status = ?'),
    };
  }

  /**
   * Commits `batch` in one IMMEDIATE transaction (one fsync) and answers each write in order.
   * INVARIANT: one write never fails another: each is a savepoint of its own, and the audit chain
   * advances only past items that applied. If the transaction itself fails (the file is locked past
   * the busy timeout, the disk refuses the commit), every write in it fails with that error.
   */
  commit(batch: readonly WriteOp[]): WriteOutcome[] {
    const results: WriteOutcome[] = [];
    // Runs first seen in this commit; remembered only once it has committed.
    const fresh = new Set<string>();
    try {
      this.db
        .transaction(() => {
          // The head is read inside the write transaction: other processes' appends are already in it.
          const head = this.stmt.head.get();
          const chain: Chain = { seq: head?.seq ?? 0, prev: (head?.chain_hash ?? GENESIS_HASH) as Sha256Hex };
          for (const op of batch) {
            try {
              results.push({ ok: true, value: this.applyOne(op, chain, fresh) });
            } catch (e) {
              results.push({ ok: false, error: storeError(e, this.file, DOING[op.op]) });
            }
          }
        })
        .immediate();
    } catch (e) {
      return batch.map((op) => ({ ok: false, error: storeError(e, this.file, DOING[op.op]) }));
    }
    for (const r of fresh) this.rememberRun(r);
    return results;
  }

  private rememberRun(pageRun: string): void {
    if (this.knownRuns.size >= 10_000) this.knownRuns = new Set();
    this.knownRuns.add(pageRun);
  }

  /** One write inside the batch's transaction; throws to roll back its savepoint. */
  private applyUnwrapped(op: WriteOp, chain: Chain, fresh: Set<string>): WriteResult[WriteOp['op']] {
    switch (op.op) {
      case 'append':
        return this.appendLeaves(op.leaves, op.payloads, chain, fresh);
      case 'save-run':
        this.saveRun(op.run);
        for (const step of op.steps ?? []) {
          this.insertUnique('run step', `${op.run.id}#${step.n}`, 'steps are numbered once per run: the save that made it is already stored', () => {
            this.stmt.insertRunStep.run(op.run.id, step.n, step.item);
          });
        }
        for (const u of op.usage ?? []) addUsage(this.db, u);
        return this.appendLeaves(op.leaves, op.payloads, chain, fresh);
      case 'create-run': {
        // The count and the insert share the write transaction, which one process at a time holds.
        const held = op.within ? (this.stmt.countOpenRuns.get(op.within.agent) as { n: number }).n : 0;
        if (op.within && held >= op.within.max) return { held };
        this.insertUnique('run', op.run.id, 'run ids are unique; create the run under a new id', () => {
          const r = op.run;
          this.stmt.insertRun.run(r.id, r.workflow, r.status, r.version, r.createdAt, r.updatedAt, r.stateText);
        });
        return { sealed: this.appendLeaves(op.leaves, op.payloads, chain, fresh) };
      }
      case 'delete-payload':
        this.stmt.deletePayload.run(op.hash);
        return null;
      case 'create-approval':
        this.insertUnique('approval', op.id, 'approval ids are unique; create it under a new id', () => {
          this.stmt.insertApproval.run(op.id, op.runId, op.status, op.createdAt, op.record);
        });
        return null;
      case 'update-approval': {
        const approval = this.updateApproval(op.id, op.want, op.update);
        return approval ? { approval, sealed: this.appendLeaves(op.leaves, op.payloads, chain, fresh) } : null;
      }
      case 'create-grant':
        this.insertUnique('grant', op.id, 'grant ids are unique', () => {
          this.db
            .prepare('INSERT INTO grants (id, workflow, tool, status, uses, created_at, expires_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
            .run(op.id, op.workflow, op.tool, op.status, op.uses, op.createdAt, op.expiresAt, op.record);
        });
        return null;
      case 'use-grant':
        return this.changeGrant(op.id, (g) => (g.status === 'active' && g.uses === op.expectedUses ? { ...g, uses: g.uses + 1 } : null));
      case 'revoke-grant':
        return this.changeGrant(op.id, (g) => (g.status === 'active' ? { ...g, status: 'revoked' } : null));
      case 'enqueue-notifications': {
        const insert = this.db.prepare(
          'INSERT OR IGNORE INTO notifications (id, status, attempts, next_attempt_at, created_at, record) VALUES (?, ?, ?, ?, ?, ?)',
        );
        for (const n of op.rows) insert.run(n.id, n.status, n.attempts, n.nextAttemptAt, n.createdAt, n.record);
        return null;
      }
      case 'claim-notification':
        return this.claimNotification(op.id, op.expectedAttempts, op.leaseUntil);
      case 'finish-notification':
        this.finishNotification(op.id, op.attempt, op.update, op.delivery);
        return null;
      case 'create-incident':
        return this.createIncident(op);
      case 'update-incident':
        return this.updateIncident(op.id, op.expected, op.update, op.expectedAssignee);
      case 'renew-lease':
        this.db
          .prepare('INSERT INTO leases (id, started_at, record) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record')
          .run(op.id, op.startedAt, op.record);
        return null;
      case 'add-value':
        return addValue(this.db, op);
      case 'uncount-value':
        this.db.prepare('DELETE FROM value_ledger WHERE count_id = ?').run(op.countId);
        return null;
      case 'drop-lease':
        this.db.prepare('DELETE FROM leases WHERE id = ?').run(op.id);
        return null;
      case 'add-spans':
        addSpans(this.db, op.rows);
        return null;
      case 'redeem-link':
        // Links that have expired can never be used again anyway: they need no memory.
        this.db.prepare('DELETE FROM used_links WHERE expires_at < ?').run(op.usedAt);
        return this.db.prepare('INSERT INTO used_links (jti, used_at, expires_at) VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING').run(op.jti, op.usedAt, op.expiresAt).changes === 1;
      case 'add-checkpoint':
        return addCheckpoint(this.db, op.checkpoint);
      case 'key-fingerprint':
        this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(`key-fingerprint:${op.name}`, op.fingerprint);
        return keptFingerprint(this.db, op.name) as string;
      case 'claim-run':
        return claimRun(this.db, op.runId, op.holder, op.now, op.gone);
      case 'release-run':
        releaseRun(this.db, op.runId, op.holder, op.due);
        return null;
      case 'wake-run':
        wakeRun(this.db, op.runId, op.at);
        return null;
      case 'claim-due-runs':
        return claimDueRuns(this.db, op.holder, op.now, op.limit, op.gone);
      case 'take-rate':
        return takeRate(this.db, op.key, op.count, op.limit, op.windowMs, op.nowMs);
      case 'change-context':
        changeContext(this.db, op.changes);
        return null;
      case 'put-context-vectors':
        putVectors(this.db, op.model, op.rows);
        return null;
      case 'add-pilot-event': {
        const added = addPilotEvent(this.db, op.event, op.after);
        if (added) this.appendLeaves(op.leaves, op.payloads, chain, fresh);
        return added;
      }
      case 'start-halt': {
        const active = startHalt(this.db, this.rows, op.halt);
        if (active === null) this.appendLeaves(op.leaves, op.payloads, chain, fresh);
        return active;
      }
      case 'lift-halt': {
        const lifted = liftHalt(this.db, this.rows, op.id, op.lift);
        if (lifted) this.appendLeaves(op.leaves, op.payloads, chain, fresh);
        return lifted;
      }
      case 'add-policy-event': {
        const moved = addPolicyEvent(this.db, this.rows, op.event, op.expected);
        if (moved === null) this.appendLeaves(op.leaves, op.payloads, chain, fresh);
        return moved;
      }
    }
  }

  /**
   * Moves the run index's rows of the groups of pages before `page`'s from the recent part (page order) to
   * `audit_run_pages` (run order), sorted, in the transaction at hand: one pass per group of pages, so each
   * index page of a run is written once per group rather than once per commit. Any writer may do it (again:
   * it is idempotent); one rolled back leaves the rows in the recent part, which reads cover too.
   */
  private settleRunPages(page: number): void {
    const group = page >> RECENT_GROUP_BITS;
    if (group > this.recentGroup) {
      const below = group << RECENT_GROUP_BITS;
      this.stmt.settleRunPages.run(below);
      this.stmt.dropRecentRunPages.run(below);
    }
    this.recentGroup = group;
  }

  /** Seals and inserts one caller's records at the chain's head, then moves the head past them. */
  private appendLeaves(leaves: readonly WireLeaf[], payloads: readonly (readonly AuditPayload[])[], chain: Chain, fresh: Set<string>): SealedHashes[] {
    let { seq, prev } = chain;
    const runs: string[] = [];
    const out = leaves.map((leaf, i): SealedHashes => {
      seq += 1;
      const s = sealLeaf({ ...leaf, body: NO_BODY }, seq, prev);
      prev = s.chainHash;
      this.stmt.insertAudit.run(seq, s.text, s.prevHash, s.leafHash, s.chainHash);
      if (leaf.runId) {
        const page = seq >> AUDIT_PAGE_BITS;
        if (page >> RECENT_GROUP_BITS !== this.recentGroup) this.settleRunPages(page);
        const key = `${page}:${leaf.runId}`;
        if (!this.knownRuns.has(key) && !fresh.has(key) && !runs.includes(key)) {
          this.stmt.insertRunPage.run(page, leaf.runId);
          runs.push(key);
        }
      }
      for (const pl of payloads[i] ?? []) this.stmt.insertPayload.run(pl.hash, pl.data, seq);
      return { seq, prevHash: s.prevHash, leafHash: s.leafHash, chainHash: s.chainHash };
    });
    chain.seq = seq;
    chain.prev = prev;
    for (const r of runs) fresh.add(r);
    return out;
  }

  /** A run save's compare-and-set: applies only on the version after the stored one. */
  private saveRun(r: RunColumns): void {
    const changed = this.stmt.updateRun.run(r.workflow, r.status, r.version, r.updatedAt, r.stateText, r.id, r.version - 1).changes;
    if (changed === 1) return;
    const stored = this.stmt.getRunVersion.get(r.id);
    if (!stored) throw new AirlockError('not-found', `run \`${r.id}\` does not exist`, { hint: 'create it with createRun first' });
    throw new AirlockError('conflict', `run \`${r.id}\` is at version ${stored.version}; this save expected version ${r.version - 1}`, {
      hint: 'someone else saved the run first: reload it, re-apply the transition, save again',
    });
  }

  /** An INSERT whose unique key is the id: a `conflict` naming the id when it is taken. */
  private insertUnique(what: string, id: string, hint: string, insert: () => void): void {
    try {
      insert();
    } catch (e) {
      if (isConstraint(e)) throw new AirlockError('conflict', `${what} \`${id}\` already exists`, { hint });
      throw e;
    }
  }

  private updateApproval(id: string, want: ApprovalWant, updateText: string): ApprovalRecord | null {
    const row = this.stmt.getApproval.get(id);
    if (!row) {
      throw new AirlockError('not-found', `approval \`${id}\` does not exist`, { hint: 'list pending approvals with `airlock approvals`' });
    }
    if (row.status !== want.status) return null;
    const current = this.rows.approval(row);
    // A vote counted against a stale list of votes would overwrite a concurrent one (a lost step-up vote).
    if (want.votes !== undefined && current.decisions.length !== want.votes) return null;
    // Two sweepers escalating the same approval: only the first one's escalation counts.
    if (want.escalations !== undefined && current.escalations !== want.escalations) return null;
    const next = { ...current, ...(JSON.parse(updateText) as Partial<ApprovalRecord>) } as ApprovalRecord;
    // INVARIANT: the WHERE on status (and the vote count, read inside this IMMEDIATE transaction)
    // makes this a compare-and-set even across processes.
    const changed = this.stmt.casApproval.run(next.status, JSON.stringify(next), id, want.status).changes;
    return changed === 1 ? next : null;
  }

  /** Read-modify-write of one grant inside the IMMEDIATE transaction (a compare-and-set across processes). */
  private changeGrant(id: string, change: (g: GrantRecord) => GrantRecord | null): GrantRecord | null {
    const row = this.db.prepare('SELECT id, record FROM grants WHERE id = ?').get(id) as IdRecordRow | undefined;
    if (!row) throw new AirlockError('not-found', `grant \`${id}\` does not exist`, { hint: 'list grants with `airlock grants`' });
    const next = change(this.rows.record('grants', row, grantSchema));
    if (!next) return null;
    this.db.prepare('UPDATE grants SET status = ?, uses = ?, record = ? WHERE id = ?').run(next.status, next.uses, JSON.stringify(next), id);
    return next;
  }

  private claimNotification(id: string, expectedAttempts: number, leaseUntil: string): NotificationRecord | null {
    const row = this.db.prepare('SELECT id, record FROM notifications WHERE id = ?').get(id) as IdRecordRow | undefined;
    if (!row) return null;
    const n = this.rows.record('notifications', row, notificationSchema);
    if (n.status !== 'pending' || n.attempts !== expectedAttempts) return null;
    const next: NotificationRecord = { ...n, attempts: n.attempts + 1, nextAttemptAt: leaseUntil };
    this.db
      .prepare('UPDATE notifications SET attempts = ?, next_attempt_at = ?, record = ? WHERE id = ?')
      .run(next.attempts, next.nextAttemptAt, JSON.stringify(next), id);
    return next;
  }

  private finishNotification(id: string, attempt: number, updateText: string, deliveryText: string): void {
    const row = this.db.prepare('SELECT id, record FROM notifications WHERE id = ?').get(id) as IdRecordRow | undefined;
    if (!row) throw new AirlockError('not-found', `notification \`${id}\` does not exist`);
    const current = this.rows.record('notifications', row, notificationSchema);
    // Only the attempt that holds the claim may settle it: a late finisher (paused past its lease
    // while another process took over) only adds its row to the delivery log.
    if (current.attempts === attempt) {
      const next = { ...current, ...(JSON.parse(updateText) as Partial<NotificationRecord>) } as NotificationRecord;
      this.db
        .prepare('UPDATE notifications SET status = ?, next_attempt_at = ?, record = ? WHERE id = ?')
        .run(next.status, next.nextAttemptAt, JSON.stringify(next), id);
    }
    this.db.prepare('INSERT INTO deliveries (notification_id, record) VALUES (?, ?)').run(id, deliveryText);
  }

  private createIncident(i: Extract<WriteOp, { op: 'create-incident' }>): IncidentRecord | null {
    if (this.db.prepare('SELECT 1 FROM incidents WHERE id = ?').get(i.id)) {
      throw new AirlockError('conflict', `incident \`${i.id}\` already exists`, { hint: 'incident ids are unique' });
    }
    // INVARIANT: the partial unique index keeps one open incident per (run, kind, key), across processes too.
    const open = this.db
      .prepare("SELECT id, record FROM incidents WHERE run_id = ? AND kind = ? AND dedupe_key = ? AND status = 'open'")
      .get(i.runId, i.kind, i.key) as IdRecordRow | undefined;
    if (open) return this.rows.record('incidents', open, incidentSchema) as IncidentRecord;
    this.db
      .prepare('INSERT INTO incidents (id, run_id, kind, dedupe_key, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(i.id, i.runId, i.kind, i.key, i.status, i.createdAt, i.record);
    return null;
  }

  private updateIncident(id: string, expected: IncidentStatus, updateText: string, expectedAssignee?: string | null): IncidentRecord | null {
    const row = this.db.prepare('SELECT id, record FROM incidents WHERE id = ?').get(id) as IdRecordRow | undefined;
    if (!row) throw new AirlockError('not-found', `incident \`${id}\` does not exist`, { hint: 'list incidents with `airlock incidents --all`' });
    const current = this.rows.record('incidents', row, incidentSchema) as IncidentRecord;
    if (current.status !== expected) return null;
    if (expectedAssignee !== undefined && (current.assignee ?? null) !== expectedAssignee) return null;
    const next = { ...current, ...(JSON.parse(updateText) as Partial<IncidentRecord>) } as IncidentRecord;
    // Reopening would break the one-open-per-key rule if a newer one is open: the index refuses it.
    try {
      this.db.prepare('UPDATE incidents SET status = ?, record = ? WHERE id = ? AND status = ?').run(next.status, JSON.stringify(next), id, expected);
    } catch (e) {
      if (isConstraint(e)) return null;
      throw e;
    }
    return next;
  }
}

/** The fingerprint kept in `meta` for the workspace key `name` (store/key-fingerprints.ts), or null. */
export function keptFingerprint(db: Database.Database, name: string): string | null {
  return (db.prepare('SELECT value FROM meta WHERE key = ?').get(`key-fingerprint:${name}`) as { value: string } | undefined)?.value ?? null;
}
