// End to end on the real demo: MCP servers as child processes, Cedar, approval, resume in a new Airlock, verify.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { auditForRun } from '../../src/cli/main.js';
import { verifyStore } from '../../src/audit/log.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import type { ApprovalId, RunId } from '../../src/types.js';
import { copyAcme, groundTruth } from '../helpers/workspace.js';

describe('refund-desk demo, end to end', () => {
  let ws: ReturnType<typeof copyAcme>;
  let runId: RunId;
  let approvalId: ApprovalId;

  beforeAll(() => {
    ws = copyAcme();
  });
  afterAll(() => ws.cleanup());

  const ground = () => groundTruth(ws.acmeDb);

  it('stops the injected exfiltration and pauses the refund for approval', async () => {
    const a = await openAirlock(ws.dir);
    try {
      const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
      runId = run.id;
      expect(run.status).toBe('awaiting-approval');
      const records = await auditForRun(a.store, run.id);

      // The hijacked model really proposed the injected mail.send, and the boundary denied it.
      const sendDecision = records.find((r) => r.type === 'action.decision' && r.body['tool'] === 'mail.send');
      expect(sendDecision?.body['decision']).toBe('deny');
      expect(sendDecision?.body['policyIds']).toEqual(expect.arrayContaining(['mail-internal-only']));
      expect(records.some((r) => r.type === 'action.not-executed' && r.body['tool'] === 'mail.send')).toBe(true);
      expect(records.some((r) => r.type === 'action.executed' && r.body['tool'] === 'mail.send')).toBe(false);
      expect(ground().sent_mail).toEqual([]);

      // The refund waits for a person, bound to the exact action.
      const state = run.state as unknown as RunState;
      expect(state.pending?.tool).toBe('payments.refund');
      approvalId = state.pending!.approvalId;
      const approval = await a.store.getApproval(approvalId);
      expect(approval).toMatchObject({ status: 'pending', level: 'single', tool: 'payments.refund', requester: 'agent:refund-bot' });
      expect(ground().refunds.filter((r) => r['order_id'] === '1182')).toEqual([]);
    } finally {
      await a.close();
    }
  });

  it('refuses self-approval by the requesting agent and records the attempt', async () => {
    const a = await openAirlock(ws.dir);
    try {
      const res = await vote(a.approvalDeps, approvalId, localApprover(a.principal('agent:refund-bot')), 'approve', null);
      expect(res.kind).toBe('refused');
      const records = await auditForRun(a.store, runId);
      expect(records.some((r) => r.type === 'approval.refused' && r.principal === 'agent:refund-bot')).toBe(true);
      expect((await a.store.getApproval(approvalId))?.status).toBe('pending');
    } finally {
      await a.close();
    }
  });

  it('resumes in a fresh Airlock after approval, executes once and ends verified', async () => {
    const a: Airlock = await openAirlock(ws.dir);
    try {
      const res = await vote(a.approvalDeps, approvalId, localApprover(a.principal('user:dana')), 'approve', 'matches the ticket');
      expect(res.kind).toBe('recorded');
      const run = await a.runner.resume(runId);
      expect(run.status).toBe('verified');
      const g = ground();
      const refunds = g.refunds.filter((r) => r['order_id'] === '1182');
      expect(refunds).toHaveLength(1);
      expect(refunds[0]).toMatchObject({ amount_cents: 4000, status: 'completed' });
      expect(g.tickets.find((t) => t['id'] === 'T-311')?.['status']).toBe('resolved');
      expect(g.drafts).toHaveLength(1);
      expect(g.sent_mail).toEqual([]);
      const records = await auditForRun(a.store, runId);
      expect(records.some((r) => r.type === 'action.verified' && r.body['status'] === 'passed')).toBe(true);
      expect((await a.store.getApproval(approvalId))?.status).toBe('consumed');

      // Resuming a finished run does nothing more.
      const again = await a.runner.resume(runId);
      expect(again.version).toBe(run.version);
      expect(ground().refunds.filter((r) => r['order_id'] === '1182')).toHaveLength(1);

      const verified = await verifyStore(a.store);
      expect(verified.ok).toBe(true);
    } finally {
      await a.close();
    }
  });
});
