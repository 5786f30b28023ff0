// Several `airlock serve` instances on one store (#15), on PostgreSQL (a database made and dropped here)
// and on the embedded store: three instances start scripted refund-desk runs, people approve each refund
// over the HTTP API of a random live instance, and one instance is SIGKILLed mid-load. Every run ends
// (verified, or failed and marked for review), no effect happens twice (Acme's rows and idempotency keys),
// none without its write-ahead intent, the audit chain verifies, and the last checkpoint a file witness
// kept is consistent with the final tree.
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MULTI_INSTANCE_OPTIONS, MULTI_INSTANCE_WORKER_JS, multiInstanceSummary, runMultiInstance, type MultiInstanceReport } from '../../bench/multi-instance.js';
import { requireBuild } from '../cli/cli-helpers.js';
import { createTestDatabase } from '../helpers/postgres.js';

/** Fixed, so a failure can be replayed; `MULTI_SEED` tries another. */
const SEED = Number(process.env['MULTI_SEED'] ?? 20260115);

beforeAll(() => {
  requireBuild();
  if (!existsSync(MULTI_INSTANCE_WORKER_JS)) throw new Error(`${MULTI_INSTANCE_WORKER_JS} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
});

/** The properties every multi-instance run must show, whatever the store. */
function expectSafe(r: MultiInstanceReport): void {
  const why = `seed ${SEED} (replay: MULTI_SEED=${SEED} npx vitest run test/crash/multi-instance.test.ts)\n${multiInstanceSummary(r)}`;
  expect(r.errors, why).toEqual([]);
  expect(r.killed, why).not.toBeNull();
  const c = r.checks;
  // Every run ended: verified (or completed, unverified), or failed and marked for review; none left waiting.
  expect(c.unended, why).toBe(0);
  expect(c.failedOther, why).toBe(0);
  expect(c.markedForReview, why).toBe(c.byStatus.failed ?? 0);
  expect(c.runs, why).toBeGreaterThan(0);
  // Decisions reached runs started elsewhere: a run started on one instance resumed on another.
  expect(r.decisions.total, why).toBeGreaterThan(0);
  expect(r.decisions.perInstance.filter((n) => n > 0).length, why).toBeGreaterThan(1);
  expect(r.resumedElsewhere + r.tookOver, why).toBeGreaterThan(0);
  // No effect twice, none without its write-ahead intent, unknown outcomes only in runs marked for review.
  expect(c.duplicatedEffects, why).toBe(0);
  expect(c.auditGaps, why).toBe(0);
  expect(c.unreviewedUnknownOutcomes, why).toBe(0);
  expect(c.effects.refunds, why).toBeGreaterThan(0);
  expect(c.lifecycleGaps, why).toEqual({ runFinished: 0, approvalDecided: 0, approvalConsumed: 0, orphanRunStarted: 0 });
  // `airlock audit verify` passes, and the last witnessed checkpoint is consistent with the final tree.
  expect(c.verify, why).toEqual({ ok: true, message: null });
  expect(r.checkpoints, why).toMatchObject({ ok: true, message: null });
  expect(r.checkpoints.witnessedSize, why).toBeGreaterThan(0);
}

/** Sized for a busy 2-core machine: three instance processes, 18 runs, a kill once a third of them are decided. */
const OPTIONS = { ...DEFAULT_MULTI_INSTANCE_OPTIONS, seed: SEED, runsPerInstance: 6, concurrency: 2, killAfterDecisions: 6 };

describe('three instances on one store, one SIGKILLed mid-load', () => {
  it('on PostgreSQL: every run ends or is marked for review, no effect twice, verify ok, the witnessed checkpoint holds', async () => {
    const db = await createTestDatabase('airlock_multi');
    try {
      expectSafe(await runMultiInstance({ ...OPTIONS, storeUrl: db.url }));
    } finally {
      await db.drop();
    }
  }, 240_000);

  it('on the embedded store (one SQLite file): the same', async () => {
    expectSafe(await runMultiInstance(OPTIONS));
  }, 240_000);
});
