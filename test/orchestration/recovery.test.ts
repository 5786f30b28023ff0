// Loose ends after a crash (pure parts): which calls may have reached an upstream with no outcome on
// record, and which leases still speak for a live process.
import { describe, expect, it } from 'vitest';
import { leaseLive, unsettledIntents } from '../../src/orchestration/recovery.js';
import type { AuditRecord, InstanceLease } from '../../src/store/store.js';
import type { Json, Sha256Hex } from '../../src/types.js';

let seq = 0;
/** A record of the given type and body (hashes are not looked at here). */
function rec(type: string, body: Record<string, Json>): AuditRecord {
  seq += 1;
  const h = '0'.repeat(64) as Sha256Hex;
  return { seq, schemaVersion: 1, type, time: 't', runId: 'run_1', principal: 'agent:a', onBehalfOf: null, body, prevHash: h, leafHash: h, chainHash: h };
}
const intent = (hash: string, tool = 'payments.refund', step = 1) => rec('action.intent', { tool, actionHash: hash, step, idempotencyKey: `airlock-${hash}` });
const decision = (hash: string, d: string, recheck = false) => rec('action.decision', { actionHash: hash, decision: d, ...(recheck ? { recheck: true } : {}) });

describe('unsettledIntents', () => {
  it('finds an allowed call with no outcome, and nothing else', () => {
    const records = [
      intent('A', 'orders.get_order'),
      decision('A', 'allow'),
      rec('action.executed', { actionHash: 'A', outcome: 'ok' }),
      intent('B', 'mail.send', 2),
      decision('B', 'deny'),
      rec('action.not-executed', { actionHash: 'B', why: 'denied' }),
      intent('C', 'tickets.comment', 3),
      decision('C', 'allow'),
      rec('action.intent', { tool: 'x', step: 4, argsHash: null }), // refused before any hash: settled in its own append
      rec('action.not-executed', { tool: 'x', why: 'invalid-arguments' }),
    ];
    expect(unsettledIntents(records)).toEqual([{ seq: records[6]!.seq, tool: 'tickets.comment', actionHash: 'C', step: 3, idempotencyKey: 'airlock-C' }]);
  });

  it('a call waiting for a person sent nothing; once approved and consumed, its outcome must follow', () => {
    const asked = [intent('R'), decision('R', 'approval'), rec('approval.requested', { actionHash: 'R', approvalId: 'apr_1' })];
    expect(unsettledIntents(asked)).toEqual([]);
    // Asking again while it is pending: the same approval, nothing sent.
    const again = [...asked, intent('R'), decision('R', 'approval')];
    expect(unsettledIntents(again)).toEqual([]);
    // The external agent re-calls after approval: the consumption lets it go ahead; no outcome yet.
    const recall = [...again, intent('R'), decision('R', 'approval', true), rec('approval.consumed', { actionHash: 'R', tool: 'payments.refund', step: 5 })];
    expect(unsettledIntents(recall).map((u) => u.seq)).toEqual([recall[5]!.seq]);
    expect(unsettledIntents([...recall, rec('action.executed', { actionHash: 'R', outcome: 'ok' })])).toEqual([]);
    // Airlock's own loop resumes without a new intent: the consumption itself is the open call.
    const resumed = [...asked, decision('R', 'approval', true), rec('approval.consumed', { actionHash: 'R', tool: 'payments.refund', step: 1 })];
    expect(unsettledIntents(resumed)).toEqual([expect.objectContaining({ tool: 'payments.refund', step: 1, seq: resumed.at(-1)!.seq })]);
  });

  it('a standing grant stands in for the person: the call goes ahead and needs its outcome', () => {
    const granted = [intent('G'), decision('G', 'approval'), rec('grant.used', { actionHash: 'G', grantId: 'grt_1' })];
    expect(unsettledIntents(granted)).toHaveLength(1);
    expect(unsettledIntents([...granted, rec('action.executed', { actionHash: 'G', outcome: 'error' })])).toEqual([]);
  });

  it('an edit the policy allows outright still goes to a person (approval.requested closes it)', () => {
    expect(unsettledIntents([intent('E'), decision('E', 'allow'), rec('approval.requested', { actionHash: 'E' })])).toEqual([]);
  });

  it('authorize mode: the caller executes, so the authorization is the outcome Airlock records', () => {
    expect(unsettledIntents([intent('Z'), decision('Z', 'allow'), rec('action.authorized', { actionHash: 'Z' })])).toEqual([]);
  });
});

describe('leaseLive', () => {
  const lease: InstanceLease = { id: 'ins_1', host: 'here', pid: 123, startedAt: 't', expiresAt: '2030-01-01T00:00:00.000Z' };
  const now = Date.parse('2029-12-31T23:59:00.000Z');

  it('an expired lease is gone wherever it is', () => {
    expect(leaseLive(lease, Date.parse('2030-01-01T00:00:00.000Z'), 'elsewhere', () => true)).toBe(false);
  });

  it('on this host a dead process ends its lease at once; on another host only expiry does', () => {
    expect(leaseLive(lease, now, 'here', () => false)).toBe(false);
    expect(leaseLive(lease, now, 'here', () => true)).toBe(true);
    expect(leaseLive(lease, now, 'elsewhere', () => false)).toBe(true);
  });
});
