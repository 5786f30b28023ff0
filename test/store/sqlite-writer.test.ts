// The SQLite store's writer thread: errors cross it intact, close() commits what it accepted, and a write waiting on the file never blocks this thread.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain-verifier.js';
import { AirlockError } from '../../src/errors.js';
import { openSqliteStore as openStore, type SqliteStoreOptions } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import type { ApprovalId, RunId } from '../../src/types.js';
import { approval, delivery, draft, grant, incident, notification, rejection, run } from './store-suite.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-writer-'));
let n = 0;
const freshPath = (): string => path.join(tmp, `t${++n}`, 'airlock.db');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A store whose writes go through the writer thread (unless `opts` says otherwise). */
const openSqliteStore = (file: string, opts: SqliteStoreOptions = {}): Promise<Store> => openStore(file, { writer: 'thread', ...opts });

/** What a caller can see of an error, with the store's own path written as `<file>`. */
function visible(e: AirlockError, file: string): Record<string, unknown> {
  const cause = e.cause as { name?: unknown; code?: unknown } | undefined;
  return {
    name: e.name,
    code: e.code,
    message: e.message.replaceAll(file, '<file>'),
    hint: e.hint,
    retryable: e.retryable,
    isUserError: e.isUserError,
    location: e.location === undefined ? undefined : { ...e.location, file: e.location.file?.replaceAll(file, '<file>') },
    cause: cause === undefined ? undefined : { name: cause.name, code: cause.code },
  };
}

/** Every way a write is refused, on a store set up the same way each time. */
async function refusals(writer: NonNullable<SqliteStoreOptions['writer']>): Promise<Record<string, unknown>[]> {
  const file = freshPath();
  const s = await openSqliteStore(file, { writer, busyTimeoutMs: 50 });
  const raw = new Database(file);
  try {
    await s.createRun(run('run_a'));
    await s.createApproval(approval('apr_1'));
    await s.createGrant(grant('g_1'));
    // A row edited outside Airlock: the writer reads it back inside a compare-and-set.
    await s.createApproval(approval('apr_bad'));
    raw.prepare(`UPDATE approvals SET record = '{"id":"apr_bad"}' WHERE id = 'apr_bad'`).run();
    const errors = [
      await rejection(s.createRun(run('run_a'))),
      await rejection(s.saveRun(run('run_a', { version: 5 }))),
      await rejection(s.saveRun(run('run_missing', { version: 2 }))),
      await rejection(s.createApproval(approval('apr_1'))),
      await rejection(s.updateApproval('apr_missing' as ApprovalId, 'pending', { status: 'approved' })),
      await rejection(s.updateApproval('apr_bad' as ApprovalId, 'pending', { status: 'approved' })),
      await rejection(s.createGrant(grant('g_1'))),
      await rejection(s.useGrant('g_missing', 0)),
      await rejection(s.finishNotification('n_missing', { status: 'delivered', nextAttemptAt: 'x', lastError: null }, delivery('n_missing', 1))),
      await rejection(s.updateIncident('i_missing', 'open', { status: 'resolved' })),
      await rejection(s.createIncident(incident('i_1', { evidence: { big: 10n } as never }))),
      await rejection(s.saveRun(run('run_a', { version: 2, state: { cycle: undefined as never, f: (() => 1) as never, n: 1n as never } }))),
    ];
    raw.exec('BEGIN IMMEDIATE');
    errors.push(await rejection(s.appendAudit([draft(1)])));
    raw.exec('ROLLBACK');
    return errors.map((e) => visible(e, file));
  } finally {
    raw.close();
    await s.close();
  }
}

describe('sqlite store: the writer thread', () => {
  it('hands back each refusal as the same AirlockError the inline writer gives (code, message, hint, location, retryable, cause)', async () => {
    const thread = await refusals('thread');
    const inline = await refusals('inline');
    expect(thread).toEqual(inline);
    expect(thread.map((e) => e['code'])).toEqual([
      'conflict',
      'conflict',
      'not-found',
      'conflict',
      'not-found',
      'store-corrupt',
      'conflict',
      'not-found',
      'not-found',
      'not-found',
      'store',
      'input',
      'store-locked',
    ]);
    const locked = thread[thread.length - 1] as Record<string, unknown>;
    expect(locked).toMatchObject({ retryable: true, isUserError: true, location: { file: '<file>' } });
    expect(String((locked['cause'] as { code: string }).code)).toMatch(/^SQLITE_BUSY/);
    expect(thread[5]).toMatchObject({ location: { path: 'approvals[apr_bad]' } });
    expect(thread[1]).toMatchObject({ message: 'run `run_a` is at version 1; this save expected version 4', hint: expect.stringMatching(/reload it/) });
    for (const e of thread) expect(e['name']).toBe('AirlockError');
  });

  it('commits every write it accepted before close() resolves, and answers each of them', async () => {
    const file = freshPath();
    const s = await openSqliteStore(file, { busyTimeoutMs: 60_000 });
    await s.createRun(run('run_a'));
    // The first write waits for a lock held here, so the later writes and the close reach the thread while it waits.
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    const settled: string[] = [];
    const track = <T>(name: string, p: Promise<T>): Promise<T> => p.then((v) => (settled.push(name), v));
    const first = track('first', s.appendAudit([draft(0)]));
    await new Promise((r) => setTimeout(r, 20));
    // None of these is awaited before close().
    const writes = [
      first,
      track('append', s.appendAudit(Array.from({ length: 50 }, (_, i) => draft(i + 1)))),
      track('save', s.saveRunWithAudit(run('run_a', { version: 2, status: 'completed' }), [draft(99, { runId: 'run_a' })])),
      track('approval', s.createApproval(approval('apr_1'))),
      track('grant', s.createGrant(grant('g_1'))),
      track('notify', s.enqueueNotifications([notification('n_1')])),
      track('incident', s.createIncident(incident('i_1'))),
      ...Array.from({ length: 100 }, (_, i) => track(`append ${i}`, s.appendAudit([draft(100 + i)]))),
    ];
    const closing = s.close();
    holder.exec('ROLLBACK');
    holder.close();
    await closing;
    expect(settled).toHaveLength(writes.length);
    await Promise.all(writes);
    const again = await openSqliteStore(file);
    try {
      const all = await again.readAudit(1, 1000);
      expect(all).toHaveLength(152);
      expect((await verifyChain(all)).ok).toBe(true);
      expect(await again.getRun('run_a' as RunId)).toMatchObject({ version: 2, status: 'completed' });
      expect(await again.getApproval('apr_1' as ApprovalId)).toMatchObject({ id: 'apr_1' });
      expect(await again.getGrant('g_1')).toMatchObject({ id: 'g_1' });
      expect(await again.listNotifications()).toHaveLength(1);
      expect(await again.getIncident('i_1')).toMatchObject({ id: 'i_1' });
    } finally {
      await again.close();
    }
  });

  it('keeps this thread free while a write waits for the file: reads answer, and the lock holder here can let it through', async () => {
    const file = freshPath();
    // A long busy timeout: the write waits for the lock rather than failing.
    const s = await openSqliteStore(file, { busyTimeoutMs: 60_000 });
    const holder = new Database(file);
    try {
      await s.appendAudit([draft(0)]);
      holder.exec('BEGIN IMMEDIATE');
      let settled = false;
      const waiting = s.appendAudit([draft(1)]).finally(() => (settled = true));
      // With inline writes this thread would sit in SQLite's busy handler and never get here to release the lock.
      await new Promise((r) => setTimeout(r, 50));
      expect(await s.auditHead()).toMatchObject({ seq: 1 });
      expect((await s.readAudit(1, 10)).map((r) => r.seq)).toEqual([1]);
      expect(settled).toBe(false);
      holder.exec('ROLLBACK');
      expect((await waiting)[0]?.seq).toBe(2);
    } finally {
      holder.close();
      await s.close();
    }
  });

  it('serves every store of the process, two on one file among them: one chain per file, and closing one leaves the others writing', async () => {
    const shared = freshPath();
    const a = await openSqliteStore(shared);
    const b = await openSqliteStore(shared);
    const c = await openSqliteStore(freshPath());
    try {
      const waves = Array.from({ length: 20 }, (_, i) => [a.appendAudit([draft(i, { principal: 'agent:a' })]), b.appendAudit([draft(i, { principal: 'agent:b' })]), c.appendAudit([draft(i)])]);
      await Promise.all(waves.flat());
      await a.close();
      expect((await b.appendAudit([draft(99, { principal: 'agent:b' })]))[0]?.seq).toBe(41);
      expect((await c.appendAudit([draft(99)]))[0]?.seq).toBe(21);
      const chain = await b.readAudit(1, 100);
      expect(chain.filter((r) => r.principal === 'agent:a')).toHaveLength(20);
      expect(await verifyChain(chain)).toMatchObject({ ok: true, count: 41 });
      expect(await verifyChain(await c.readAudit(1, 100))).toMatchObject({ ok: true, count: 21 });
    } finally {
      await a.close();
      await b.close();
      await c.close();
    }
  });

  it('fails only the caller whose write cannot cross to the thread', async () => {
    await withThreadStore(async (s) => {
      const good = Array.from({ length: 10 }, (_, i) => s.appendAudit([draft(i)]));
      const bad = s.appendAudit([{ ...draft(50), payloads: [{ hash: 'a'.repeat(64) as never, data: (() => 'x') as never }] }]);
      expect((await rejection(bad)).code).toBe('input');
      const ok = (await Promise.all(good)).flat();
      expect(ok.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect((await verifyChain(await s.readAudit(1, 100))).ok).toBe(true);
    });
  });
});

async function withThreadStore(fn: (s: Store) => Promise<void>): Promise<void> {
  const s = await openSqliteStore(freshPath());
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}
