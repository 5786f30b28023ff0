// Second-path verification at tier execute-high: before a high-risk step executes, an independent rule
// over ground truth must agree; its verdict is shown to the approvers, and a disagreement that appears
// after they approved stops the execution for a person to look again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approver } from '../../src/gateway/approvals/vote.js';
import { vote } from '../../src/gateway/approvals/vote.js';
import type { ApprovalId } from '../../src/types.js';
import { editFile, openHostile, recordsOf, refund, results, stateOf, type Hostile } from '../security/harness.js';
import path from 'node:path';
import { copyExample, expectError, loadErrors, positionOf } from '../config/helpers.js';

const SECOND_PATH = `    secondPath:
      probe: payments.list_refunds
      args: { order_id: "$args.order_id" }
      check: '!probe.refunds.exists(r, r.status == "completed")'
`;

describe('second path at execute-high', () => {
  let h: Hostile;
  beforeAll(async () => {
    h = await openHostile((dir) => {
      editFile(dir, 'workflows/refund-desk.yaml', 'tier: execute-low', 'tier: execute-high');
      editFile(dir, 'workflows/refund-desk.yaml', '  - mail.send\n', '');
      // Refunds become high risk, with a second path: no refund on an order that already has one, unless a person saw it.
      editFile(dir, 'airlock.yaml', /(- name: payments\.refund\n(?:.*\n)*?    risk: )medium/, '$1high');
      editFile(dir, 'airlock.yaml', '    idempotencyKey: idempotency_key\n    expose:\n      order_id: string', `    idempotencyKey: idempotency_key\n${SECOND_PATH}    expose:\n      order_id: string`);
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const login = (who: string): Approver => {
    const principal = h.a.principal(who);
    return { principal, auth: { issuer: 'airlock', subject: `${principal.id}-key`, method: 'api-key', amr: [], authTime: null } };
  };
  const approve = async (id: ApprovalId) => {
    expect(await vote(h.a.approvalDeps, id, login('user:dana'), 'approve', 'checked')).toMatchObject({ kind: 'recorded' });
    expect(await vote(h.a.approvalDeps, id, login('user:priya'), 'approve', 'checked too')).toMatchObject({ decided: true });
  };

  it('shows the approvers that the second path agrees, and executes once they approve', async () => {
    const run = await h.run([refund({ order_id: '1201', amount_cents: 1000 })]);
    const id = stateOf(run).pending!.approvalId;
    const approval = await h.a.store.getApproval(id);
    expect(approval).toMatchObject({ level: 'step-up', summary: { secondPath: { status: 'passed' } } });
    await approve(id);
    expect((await h.a.runner.resume(run.id)).status).toBe('verified');
    expect(recordsOf(await h.audit(run.id), 'action.second-path').map((r) => r.body['status'])).toEqual(['passed', 'passed']);
  });

  it('a disagreement at proposal is shown to the approvers; approving knowingly lets it run', async () => {
    const run = await h.run([refund({ order_id: '1201', amount_cents: 500 })]);
    const id = stateOf(run).pending!.approvalId;
    expect(await h.a.store.getApproval(id)).toMatchObject({ summary: { secondPath: { status: 'failed', message: expect.stringMatching(/disagrees/) } } });
    await approve(id);
    expect((await h.a.runner.resume(run.id)).status).toBe('verified');
  });

  it('a disagreement that appears after approval stops the execution: nothing happens, and it is audited', async () => {
    const first = await h.run([refund({ order_id: '1190', amount_cents: 700 })]);
    const second = await h.run([refund({ order_id: '1190', amount_cents: 800 })]);
    const firstId = stateOf(first).pending!.approvalId;
    const secondId = stateOf(second).pending!.approvalId;
    for (const id of [firstId, secondId]) expect(await h.a.store.getApproval(id)).toMatchObject({ summary: { secondPath: { status: 'passed' } } });
    await approve(firstId);
    await approve(secondId);
    expect((await h.a.runner.resume(first.id)).status).toBe('verified');
    const before = h.ground();
    const stopped = await h.a.runner.resume(second.id);
    expect(results(stopped).find((r) => r.tool === 'payments.refund')).toMatchObject({ status: 'denied' });
    expect(JSON.stringify(results(stopped).find((r) => r.tool === 'payments.refund')?.content)).toMatch(/second path disagrees at execution/);
    expect(h.ground()).toEqual(before);
    expect(recordsOf(await h.audit(second.id), 'action.not-executed').map((r) => r.body['why'])).toContain('second-path-disagreed');
    expect((await h.a.store.getApproval(secondId))?.status).toBe('expired'); // void, never consumed: nothing ran, and the same action asks people again
  });

  it('a high-risk tool at execute-high without a second path is a config error, located', async () => {
    const ws = await copyExample();
    try {
      await ws.edit('workflows/refund-desk.yaml', 'tier: execute-low', 'tier: execute-high');
      const { errors } = await loadErrors(ws.dir);
      expectError(errors, {
        file: path.join(ws.dir, 'workflows/refund-desk.yaml'),
        ...positionOf(await ws.read('workflows/refund-desk.yaml'), 'mail.send'),
        path: 'tools[12]',
        message: 'tool `mail.send` is a `high`-risk `egress` tool without a second path',
      });
    } finally {
      await ws.remove();
    }
  });
});
