// Runs due now, announced on PostgreSQL (postgres-due-runs.ts, #15): a holder's release of a run people decided on
// while it held it is announced (LISTEN/NOTIFY), a listener dropped by the server listens again, and an instance
// whose housekeeping would not pass for an hour drives such a run on at once.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { localApprover } from '../../src/gateway/approvals/vote.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import { decideApproval } from '../../src/server/approval-decisions.js';
import { startHousekeeping } from '../../src/server/housekeeping.js';
import { listenForDueRuns } from '../../src/store/postgres-due-runs.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import type { RunId } from '../../src/types.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { copyAcme } from '../helpers/workspace.js';

const made: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(made.map((d) => d.drop()));
});

/** Waits (polling, up to a minute: a liveness bound, not a timing claim) until `done` says so. */
async function until(what: string, done: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`still waiting for ${what} after a minute`);
}

describe('runs due now, announced on PostgreSQL', () => {
  it('announces a run released after a wake, and listens again after the server drops the listener', async () => {
    const db = await createTestDatabase();
    made.push(db);
    const store = await openPostgresStore(db.url, { max: 2 });
    const errors: unknown[] = [];
    let heard = 0;
    const watch = listenForDueRuns(db.url, () => heard++, (e) => errors.push(e), 50);
    try {
      await watch.ready;
      expect(heard).toBe(1); // once as it starts listening, for what it may have missed
      const now = new Date().toISOString();
      await store.renewLease({ id: 'ins_a', host: 'h', pid: 1, startedAt: now, expiresAt: new Date(Date.now() + 60_000).toISOString() });
      const run = 'run_1' as RunId;
      expect(await store.claimRun(run, 'ins_a', now)).toBe(true);
      await store.wakeRun(run, now);
      await store.releaseRun(run, 'ins_a', new Date(Date.now() + 3_600_000).toISOString());
      await until('the release to be announced', () => heard >= 2);
      // The server ends the listening connection: it listens again, and hears the next one.
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ ended: boolean }>("SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'");
        expect(rows.map((r) => r.ended)).toEqual([true]);
      } finally {
        await admin.end();
      }
      await until('the listener to listen again', () => heard >= 3);
      expect(errors.length).toBeGreaterThan(0);
      expect(await store.claimRun(run, 'ins_a', now)).toBe(true);
      await store.wakeRun(run, now);
      await store.releaseRun(run, 'ins_a', null);
      await until('the second release to be announced', () => heard >= 4);
    } finally {
      await watch.stop();
      await store.close();
    }
  }, 120_000);

  it('drives on at once a run its holder released after people decided, on an instance that would not look for an hour', async () => {
    const db = await createTestDatabase('airlock_due');
    made.push(db);
    const ws = copyAcme();
    appendFileSync(path.join(ws.dir, 'airlock.yaml'), `\nstore: ${db.url}\n`);
    const a = await openAirlock(ws.dir);
    const b = await openAirlock(ws.dir);
    const housekeeping = startHousekeeping(b, { intervalMs: 3_600_000 });
    try {
      const started = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
      expect(started.status).toBe('awaiting-approval');
      const approvalId = (started.state as unknown as RunState).pending?.approvalId;
      if (!approvalId) throw new Error('the demo run asked for no approval');
      // Instance a holds the run (say it is driving it); dana approves on b, which hands it off.
      const holder = a.sessions.instance.id;
      expect(await a.store.claimRun(started.id, holder, new Date().toISOString())).toBe(true);
      const decided = await decideApproval(b, approvalId, localApprover(b.principal('user:dana')), 'approve', 'matches the ticket');
      expect(decided).toMatchObject({ kind: 'voted', decided: true, fate: { kind: 'handed-off' } });
      // a lets go of it: announced, and b drives it on without waiting for a housekeeping pass.
      await a.store.releaseRun(started.id, holder, null);
      await until('the run to be driven on', async () => (await a.store.getRun(started.id))?.status === 'verified');
      const executed = (await a.store.readAuditForRun(started.id)).filter((r) => r.type === 'action.executed' && r.body['tool'] === 'payments.refund');
      expect(executed).toHaveLength(1);
    } finally {
      await housekeeping.stop();
      await a.close();
      await b.close();
      ws.cleanup();
    }
  }, 120_000);
});
