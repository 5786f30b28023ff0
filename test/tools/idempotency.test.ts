// Exactly-once effects: every call of a contract with `idempotencyKey` carries Airlock's key, derived
// from the run, the step and the action hash, written ahead in the intent; the agent cannot choose it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { idempotencyKey } from '../../src/gateway/action.js';
import type { RunId, Sha256Hex } from '../../src/types.js';
import { openHostile, recordsOf, refund, stateOf, type Hostile } from '../security/harness.js';

describe('idempotency keys', () => {
  let h: Hostile;
  beforeAll(async () => {
    h = await openHostile();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('are derived, deterministic and distinct per run, step and action', () => {
    const hash = 'a'.repeat(64) as Sha256Hex;
    const k = idempotencyKey('run_1' as RunId, 3, hash);
    expect(k).toMatch(/^airlock-[0-9a-f]{40}$/);
    expect(idempotencyKey('run_1' as RunId, 3, hash)).toBe(k);
    expect(idempotencyKey('run_2' as RunId, 3, hash)).not.toBe(k);
    expect(idempotencyKey('run_1' as RunId, 4, hash)).not.toBe(k);
    expect(idempotencyKey('run_1' as RunId, 3, 'b'.repeat(64) as Sha256Hex)).not.toBe(k);
  });

  it('the upstream sees Airlock\'s key, not the one the agent put in its arguments; the key is on record before the call', async () => {
    // An agent that tries to replay the key of someone else's refund gets a new, separate effect under its own key.
    const run = await h.run([refund({ order_id: '1201', amount_cents: 1700, idempotency_key: 'victim-key' })]);
    const id = stateOf(run).pending!.approvalId;
    expect(await vote(h.a.approvalDeps, id, localApprover(h.a.principal('user:dana')), 'approve', 'ok')).toMatchObject({ decided: true });
    expect((await h.a.runner.resume(run.id)).status).toBe('verified');
    const records = await h.audit(run.id);
    const intent = recordsOf(records, 'action.intent', 'payments.refund')[0];
    const consumed = recordsOf(records, 'approval.consumed', 'payments.refund')[0];
    const executed = recordsOf(records, 'action.executed', 'payments.refund')[0];
    const key = idempotencyKey(run.id, Number(intent?.body['step']), intent?.body['actionHash'] as Sha256Hex);
    expect(intent?.body['idempotencyKey']).toBe(key);
    expect(consumed?.body['idempotencyKey']).toBe(key);
    expect(executed?.body['idempotencyKey']).toBe(key);
    expect(intent!.seq).toBeLessThan(executed!.seq);
    const keys = h.ground().idempotency.filter((r) => r['tool'] === 'payments.refund').map((r) => r['key']);
    expect(keys).toContain(key);
    expect(keys).not.toContain('victim-key');
  });

  it('a caller that executes itself (authorize mode) is handed the key to send, and it is on record', async () => {
    const run = await h.run([{ tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' } }]);
    const ctx = { ...h.ctx(run), mode: 'authorize' as const, step: 7 };
    const out = await h.a.gateway.propose(ctx, { tool: 'tickets.comment', args: { ticket_id: 'T-311', body: 'refund on its way' } });
    expect(out.kind).toBe('authorized');
    if (out.kind !== 'authorized') return;
    expect(out.idempotencyKey).toBe(idempotencyKey(run.id, 7, out.actionHash));
    expect(recordsOf(await h.audit(run.id), 'action.authorized').at(-1)?.body['idempotencyKey']).toBe(out.idempotencyKey);
  });
});
