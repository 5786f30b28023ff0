// Run-level checks: the pure steps, a probe that fails or throws, and the Acme checks against the real demo servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import type { RunCheckSpec } from '../../src/config/schema.js';
import type { ConnectorResult } from '../../src/tools/connector.js';
import type { Json, JsonObject, RunId } from '../../src/types.js';
import { judgeRunCheck, planRunCheck, runChecks, truncateJson, type ReadTool, type RunAction } from '../../src/verification/run-checks.js';
import { copyAcme } from '../helpers/workspace.js';

const refund: RunAction = { tool: 'payments.refund', args: { order_id: '1182', amount_cents: 4000, currency: 'EUR' }, result: { refund_id: 'RF-1001', status: 'completed' }, ok: true };
const ctx = { input: { ticket_id: 'T-311' }, actions: [refund] };

const ticketResolved: RunCheckSpec = { name: 'ticket-resolved', probe: 'tickets.get_ticket', args: { ticket_id: 'input.ticket_id' }, expect: 'probe.status == "resolved"' };

const ok = (content: Json): ConnectorResult => ({ ok: true, content, text: JSON.stringify(content) });

describe('the pure steps', () => {
  it('evaluates the probe arguments over input and actions', () => {
    expect(planRunCheck(ticketResolved, ctx)).toEqual({ kind: 'probe', tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' } });
    const byAction: RunCheckSpec = { name: 'r', probe: 'payments.list_refunds', args: { order_id: 'actions.filter(a, a.tool == "payments.refund")[0].args.order_id' }, expect: 'true' };
    expect(planRunCheck(byAction, ctx)).toEqual({ kind: 'probe', tool: 'payments.list_refunds', args: { order_id: '1182' } });
  });

  it('skips a check whose `when` is false, with the condition as evidence', () => {
    const mail: RunCheckSpec = { name: 'mail', when: 'actions.exists(a, a.tool == "mail.send")', args: {}, expect: 'false' };
    expect(planRunCheck(mail, ctx)).toEqual({ kind: 'done', result: { name: 'mail', status: 'skipped', evidence: { expression: mail.when, value: false } } });
  });

  it('judges `expect` over the probe result, with the probe, its arguments, result and value as evidence', () => {
    const probe = { tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' }, result: { id: 'T-311', status: 'open' } };
    expect(judgeRunCheck(ticketResolved, ctx, probe)).toEqual({
      name: 'ticket-resolved',
      status: 'failed',
      evidence: { expression: 'probe.status == "resolved"', value: false, probe: 'tickets.get_ticket', probeArgs: { ticket_id: 'T-311' }, probeResult: { id: 'T-311', status: 'open' } },
    });
    expect(judgeRunCheck(ticketResolved, ctx, { ...probe, result: { status: 'resolved' } }).status).toBe('passed');
  });

  it('makes an argument or an expect it cannot evaluate an error', () => {
    const badArg: RunCheckSpec = { ...ticketResolved, args: { ticket_id: 'input.ticket' } };
    expect(planRunCheck(badArg, ctx)).toMatchObject({ kind: 'done', result: { status: 'error', evidence: { message: 'probe argument `ticket_id`: no field `ticket` (at column 6)' } } });
    const r = judgeRunCheck(ticketResolved, ctx, { tool: 'tickets.get_ticket', args: {}, result: { state: 'resolved' } });
    expect(r).toMatchObject({ status: 'error', evidence: { message: '`expect`: no field `status` (at column 6)' } });
  });

  it('truncates long strings and lists in the evidence', () => {
    const t = truncateJson({ body: 'x'.repeat(600), xs: Array.from({ length: 60 }, (_, i) => i) }) as { body: string; xs: Json[] };
    expect(t.body).toHaveLength(500 + '… (600 characters)'.length);
    expect(t.xs).toHaveLength(51);
    expect(t.xs[50]).toBe('… (10 more)');
  });
});

describe('runChecks with a probe that fails', () => {
  it('gives status error for a failing or throwing probe, and goes on with the next check', async () => {
    const failing: ReadTool = () => Promise.resolve({ ok: false, failure: 'tool-error', message: 'ticket `T-311` not found' });
    const throwing: ReadTool = () => Promise.reject(new Error('connector crashed'));
    const noProbe: RunCheckSpec = { name: 'one-refund', args: {}, expect: 'size(actions.filter(a, a.tool == "payments.refund" && a.ok)) == 1' };
    const a = await runChecks([ticketResolved, noProbe], ctx, failing);
    expect(a.map((r) => r.status)).toEqual(['error', 'passed']);
    expect(a[0]?.evidence).toEqual({ expression: 'probe.status == "resolved"', probe: 'tickets.get_ticket', probeArgs: { ticket_id: 'T-311' }, message: 'probe `tickets.get_ticket` failed: ticket `T-311` not found' });
    const b = await runChecks([ticketResolved], ctx, throwing);
    expect(b[0]).toMatchObject({ status: 'error', evidence: { message: 'probe `tickets.get_ticket` failed: connector crashed' } });
  });

  it('calls the probe once per check, in order, and never for a skipped one', async () => {
    const calls: string[] = [];
    const read: ReadTool = (tool) => {
      calls.push(tool);
      return Promise.resolve(ok({ status: 'resolved' }));
    };
    const skipped: RunCheckSpec = { ...ticketResolved, name: 'never', when: 'false' };
    const out = await runChecks([ticketResolved, skipped, { ...ticketResolved, name: 'again' }], ctx, read);
    expect(out.map((r) => `${r.name}:${r.status}`)).toEqual(['ticket-resolved:passed', 'never:skipped', 'again:passed']);
    expect(calls).toEqual(['tickets.get_ticket', 'tickets.get_ticket']);
  });
});

/** Every executed call of a run, from its audit trail: tool, arguments, result, and whether it succeeded. */
async function actionsOf(a: Airlock, runId: RunId): Promise<RunAction[]> {
  const records = await a.store.readAuditForRun(runId);
  const argsByAction = new Map<string, string>();
  const actions: RunAction[] = [];
  const payload = async (hash: unknown): Promise<Json> => (typeof hash === 'string' ? (JSON.parse((await a.store.getPayload(hash as never)) ?? 'null') as Json) : null);
  for (const r of records) {
    if (r.type === 'action.intent' && typeof r.body['actionHash'] === 'string' && typeof r.body['argsHash'] === 'string') argsByAction.set(r.body['actionHash'], r.body['argsHash']);
    if (r.type === 'action.executed') {
      const args = (await payload(argsByAction.get(String(r.body['actionHash'])))) as JsonObject;
      actions.push({ tool: String(r.body['tool']), args, result: await payload(r.body['resultHash']), ok: r.body['outcome'] === 'ok' });
    }
  }
  return actions;
}

describe('the Acme refund-desk checks against the real demo servers', () => {
  let ws: ReturnType<typeof copyAcme>;
  let a: Airlock;
  let runId: RunId;
  let input: JsonObject;
  let read: ReadTool;

  beforeAll(async () => {
    ws = copyAcme();
    a = await openAirlock(ws.dir);
    const started = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    const approvalId = (started.state as unknown as RunState).pending!.approvalId;
    await vote(a.approvalDeps, approvalId, localApprover(a.principal('user:dana')), 'approve', 'matches the ticket');
    const run = await a.runner.resume(started.id);
    expect(run.status).toBe('verified');
    runId = run.id;
    input = (run.state as unknown as RunState).input as JsonObject;
    read = (tool, args) => {
      const c = a.workspace.tools.get(tool)!;
      return a.connectors.get(c.connector).call(c.upstream ?? tool.slice(tool.indexOf('.') + 1), args, { timeoutMs: 10_000 });
    };
  });
  afterAll(async () => {
    await a.close();
    ws.cleanup();
  });

  const checks = (): readonly RunCheckSpec[] => a.workspace.workflows.get('refund-desk')!.checks ?? [];

  it('pass on a normal demo run (no mail was sent: that check is skipped)', async () => {
    const actions = await actionsOf(a, runId);
    expect(actions.map((x) => x.tool)).toContain('payments.refund');
    const results = await runChecks(checks(), { input, actions }, read);
    expect(results.map((r) => `${r.name}:${r.status}`)).toEqual(['ticket-resolved:passed', 'refunds-exist-once:passed', 'sent-mail-was-drafted:skipped', 'requested-refund-landed:passed']);
    expect(results[1]?.evidence).toMatchObject({ probe: 'payments.list_refunds', probeArgs: { order_id: '1182' }, value: true, probeResult: { refunds: [{ order_id: '1182', amount_cents: 4000, status: 'completed' }] } });
  });

  it('pass for sent mail that is a draft of the run, and fail for mail that is not', async () => {
    const actions = await actionsOf(a, runId);
    const draft = actions.find((x) => x.tool === 'mail.draft')!;
    const sent: RunAction = { tool: 'mail.send', args: draft.args, result: { message_id: 'MSG-1001' }, ok: true };
    const mail = checks().filter((c) => c.name === 'sent-mail-was-drafted');
    expect((await runChecks(mail, { input, actions: [...actions, sent] }, read))[0]?.status).toBe('passed');
    const other: RunAction = { ...sent, args: { ...draft.args, to: 'audit@exfil-partner.example' } };
    expect((await runChecks(mail, { input, actions: [...actions, other] }, read))[0]?.status).toBe('failed');
  });

  it('fail when ground truth disagrees: a reversed refund, a reopened ticket', async () => {
    const actions = await actionsOf(a, runId);
    const refundId = String((actions.find((x) => x.tool === 'payments.refund')!.result as JsonObject)['refund_id']);
    expect((await a.connectors.get('payments').call('reverse_refund', { refund_id: refundId }, { timeoutMs: 10_000 })).ok).toBe(true);
    expect((await a.connectors.get('tickets').call('set_status', { ticket_id: 'T-311', status: 'open' }, { timeoutMs: 10_000 })).ok).toBe(true);
    const results = await runChecks(checks(), { input, actions }, read);
    expect(results.map((r) => `${r.name}:${r.status}`)).toEqual(['ticket-resolved:failed', 'refunds-exist-once:failed', 'sent-mail-was-drafted:skipped', 'requested-refund-landed:failed']);
    expect(results[1]?.evidence.probeResult).toMatchObject({ refunds: [{ refund_id: refundId, status: 'reversed' }] });
  });

  it('report an error when the probe fails on the real server', async () => {
    const results = await runChecks([checks()[0]!], { input: { ticket_id: 'T-999' }, actions: [] }, read);
    expect(results[0]).toMatchObject({ status: 'error', evidence: { message: expect.stringContaining('T-999') } });
  });
});
