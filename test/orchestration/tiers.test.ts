// Tier semantics are enforced by the engine on real runs: assist records suggestions, prepare turns writes into approvals.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { openAcmeDb, snapshotAcme } from '../../src/demo/acme/db.js';
import { auditForRun } from '../../src/cli/main.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import { copyAcme } from '../helpers/workspace.js';

function withTier(dir: string, tier: string): void {
  const file = path.join(dir, 'workflows', 'refund-desk.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^tier: .*$/m, `tier: ${tier}`));
}

function ground(db: string) {
  const h = openAcmeDb(db);
  try {
    return snapshotAcme(h);
  } finally {
    h.close();
  }
}

describe('autonomy tiers on a real run', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it('assist: no side effect executes; every write is a recorded suggestion', async () => {
    const ws = copyAcme();
    cleanup = ws.cleanup;
    withTier(ws.dir, 'assist');
    const before = ground(ws.acmeDb);
    const a = await openAirlock(ws.dir);
    try {
      const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
      expect(run.status).toBe('completed');
      const state = run.state as unknown as RunState;
      const results = state.history.filter((h) => h.kind === 'tool_result');
      for (const tool of ['payments.refund', 'mail.draft', 'tickets.comment', 'tickets.set_status']) {
        expect(results.find((r) => r.tool === tool)?.status).toBe('suggested');
      }
      expect(results.find((r) => r.tool === 'tickets.get_ticket')?.status).toBe('ok');
      const after = ground(ws.acmeDb);
      expect(after).toEqual(before);
      const records = await auditForRun(a.store, run.id);
      expect(records.filter((r) => r.type === 'action.not-executed' && r.body['why'] === 'suggested')).toHaveLength(4);
      expect(records.some((r) => r.type === 'action.executed' && r.body['tool'] !== undefined && String(r.body['tool']).match(/refund|draft|comment|set_status/))).toBe(false);
    } finally {
      await a.close();
    }
  });

  it('prepare: reads run, and the first write becomes a prepared action awaiting a human', async () => {
    const ws = copyAcme();
    cleanup = ws.cleanup;
    withTier(ws.dir, 'prepare');
    const a = await openAirlock(ws.dir);
    try {
      const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
      expect(run.status).toBe('awaiting-approval');
      const state = run.state as unknown as RunState;
      expect(state.pending?.tool).toBe('payments.refund');
      const approval = await a.store.getApproval(state.pending!.approvalId);
      expect(approval?.status).toBe('pending');
      expect(ground(ws.acmeDb).refunds.filter((r) => r['order_id'] === '1182')).toEqual([]);
    } finally {
      await a.close();
    }
  });
});
