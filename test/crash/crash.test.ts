// Crash safety: the Airlock worker is SIGKILLed at seeded random points of scripted refund-desk runs
// and restarted; after the last recovery every run has ended (resumed to its end or marked for
// review), no effect happened twice or without its write-ahead intent, and the audit chain verifies.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { CRASH_WORKER_JS, DEFAULT_CRASH_OPTIONS, checkCrashWorkspace, crashTable, crashWorkspace, runCrashHarness, type CrashReport } from '../../bench/crash.js';
import { openAirlock } from '../../src/airlock.js';
import { openAcmeDb } from '../../src/demo/acme/db.js';
import type { RunId } from '../../src/types.js';
import { requireBuild } from '../cli/cli-helpers.js';
import { createTestDatabase, ON_POSTGRES, type TestDatabase } from '../helpers/postgres.js';
import pg from 'pg';

/** Fixed, so a failure can be replayed; `CRASH_SEED` tries another. */
const SEED = Number(process.env['CRASH_SEED'] ?? 20261125);
/**
 * Each kill costs a worker start (~1.8 CPU-seconds of module loading, cedar-wasm and ajv; 3 to 7 s of
 * wall time on 2 shared cores): 8 keeps the test under a minute on a busy machine. `CRASH_TEST_KILLS`
 * asks for more; `npm run bench` does 200.
 */
const KILLS = Number(process.env['CRASH_TEST_KILLS'] ?? 8);

/**
 * With `AIRLOCK_TEST_STORE=postgres`, each test's workspace keeps its store in a throwaway database: the
 * workers the harness spawns inherit `AIRLOCK_STORE_URL`, as instances on one database would.
 */
async function onTestStore<T>(fn: (db: TestDatabase | null) => Promise<T>): Promise<T> {
  if (!ON_POSTGRES) return fn(null);
  const db = await createTestDatabase('airlock_crash');
  process.env['AIRLOCK_STORE_URL'] = db.url;
  try {
    return await fn(db);
  } finally {
    delete process.env['AIRLOCK_STORE_URL'];
    await db.drop();
  }
}

/** Changes one byte of audit record #1 behind the store's back (its append-only guard dropped first). */
async function tamperFirstRecord(dir: string, db: TestDatabase | null): Promise<void> {
  if (db) {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('ALTER TABLE audit DISABLE TRIGGER audit_no_change');
      await c.query("UPDATE audit SET leaf = replace(leaf, 'refund-desk', 'refund-desX') WHERE seq = 1");
    } finally {
      await c.end();
    }
    return;
  }
  const store = new Database(path.join(dir, '.airlock', 'airlock.db'));
  try {
    store.exec('DROP TRIGGER IF EXISTS audit_no_update');
    store.prepare("UPDATE audit SET leaf = replace(leaf, 'refund-desk', 'refund-desX') WHERE seq = 1").run();
  } finally {
    store.close();
  }
}

beforeAll(() => {
  requireBuild();
  if (!existsSync(CRASH_WORKER_JS)) throw new Error(`${CRASH_WORKER_JS} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
});

/** Everything a failure message needs to replay and understand it. */
function explain(r: CrashReport): string {
  return [`seed ${SEED}, ${KILLS} kills (replay: CRASH_SEED=${SEED} CRASH_TEST_KILLS=${KILLS} npx vitest run test/crash)`, crashTable(r), ...r.checks.problems, ...r.workerErrors].join('\n');
}

describe('crash safety under SIGKILL', () => {
  it(`survives ${KILLS} kills at random points: every run ended, no effect twice, no audit gap, verify ok`, () => onTestStore(async () => {
    // Shorter windows than the bench: each kill lands within the first run or two of a worker.
    const r = await runCrashHarness({ ...DEFAULT_CRASH_OPTIONS, kills: KILLS, seed: SEED, windowMs: [0, 800], maxStep: 100, faultEvery: 5, faultTimeoutMs: 2000 });
    const why = explain(r);
    expect(r.workerErrors, why).toEqual([]);
    expect(r.kills, why).toBe(KILLS);

    // (1) Every run ended: resumed to a normal end, or failed (interrupted runs are marked for review).
    const c = r.checks;
    expect(c.unended, why).toBe(0);
    const ended = (c.byStatus.verified ?? 0) + (c.byStatus.completed ?? 0) + (c.byStatus.unverified ?? 0) + (c.byStatus.failed ?? 0);
    expect(ended, why).toBe(c.runs);
    expect(c.markedForReview + c.failedOther, why).toBe(c.byStatus.failed ?? 0);
    // Kills landed mid-run: the next worker found runs unfinished and resumed them.
    expect(r.runsResumed, why).toBeGreaterThan(0);

    // (2) No effect twice, (3) none without its write-ahead intent, and unknown outcomes only in failed runs.
    expect(c.duplicatedEffects, why).toBe(0);
    expect(c.auditGaps, why).toBe(0);
    expect(c.unreviewedUnknownOutcomes, why).toBe(0);
    expect(c.effects.refunds + c.effects.comments, why).toBeGreaterThan(0);
    // No lifecycle record lost to a kill: each state change commits with the record that says so.
    expect(c.lifecycleGaps, why).toEqual({ runFinished: 0, approvalDecided: 0, approvalConsumed: 0, orphanRunStarted: 0 });

    // (4) `airlock audit verify` passes.
    expect(c.verify, why).toEqual({ ok: true, message: null });
  }), 240_000);
});

describe('the crash checks', () => {
  it('find a refund done twice, a refund without its intent, and a changed audit record', () => onTestStore(async (testDb) => {
    const { dir, acmeDb } = crashWorkspace();
    try {
      // Two runs to completion, no kill: clean.
      const worker = spawnSync(process.execPath, [CRASH_WORKER_JS, dir, '--runs', '2'], { encoding: 'utf8', timeout: 120_000 });
      expect(worker.status, worker.stderr).toBe(0);
      const clean = await checkCrashWorkspace(dir);
      expect(clean.problems).toEqual([]);
      expect(clean).toMatchObject({ runs: 2, unended: 0, duplicatedEffects: 0, auditGaps: 0, verify: { ok: true } });
      expect(clean.lifecycleGaps).toEqual({ runFinished: 0, approvalDecided: 0, approvalConsumed: 0, orphanRunStarted: 0 });
      expect(clean.effects.refunds).toBe(2);

      // A run that refunded again at a later step (a re-run step, with its own intent and key): done twice.
      const a = await openAirlock(dir);
      const [run] = await a.store.listRuns();
      try {
        await a.audit.append({ runId: run?.id as RunId, principal: a.principal('agent:refund-bot') }, [
          { type: 'action.intent', body: { tool: 'payments.refund', step: 42, actionHash: 'f'.repeat(64), idempotencyKey: 'airlock-replayed' } },
        ]);
        // A run that ended with no records at all (as if its status were saved apart from them), and
        // a `run.started` for a run the store never got.
        if (run) await a.store.createRun({ ...run, id: 'run_silent' as RunId, status: 'failed' });
        await a.audit.append({ runId: 'run_never' as RunId, principal: a.principal('agent:refund-bot') }, [{ type: 'run.started', body: { workflow: 'refund-desk' } }]);
      } finally {
        await a.close();
      }
      const db = openAcmeDb(acmeDb);
      try {
        const now = new Date().toISOString();
        const refund = db.prepare("INSERT INTO refunds (id, order_id, amount_cents, currency, reason, status, created_at) VALUES (?, '1190', 10, 'EUR', 'x', 'completed', ?)");
        refund.run('RF-9001', now);
        db.prepare("INSERT INTO idempotency (tool, key, request_hash, result, created_at) VALUES ('payments.refund', 'airlock-replayed', 'h', ?, ?)").run(
          JSON.stringify({ refund_id: 'RF-9001' }),
          now,
        );
        // A refund nobody wrote ahead: no key, so no intent can be tied to it.
        refund.run('RF-9002', now);
      } finally {
        db.close();
      }
      const broken = await checkCrashWorkspace(dir);
      expect(broken.duplicatedEffects).toBeGreaterThanOrEqual(1);
      expect(broken.problems.join('\n')).toMatch(/payments\.refund produced 2 effects/);
      expect(broken.auditGaps).toBe(1);
      expect(broken.problems.join('\n')).toMatch(/RF-9002 was made without an idempotency key/);
      expect(broken.lifecycleGaps).toMatchObject({ runFinished: 1, orphanRunStarted: 1 });

      // One changed byte in the trail: verification names it.
      await tamperFirstRecord(dir, testDb);
      expect((await checkCrashWorkspace(dir)).verify.ok).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }), 120_000);
});
