// The kill switch across processes: `airlock stop` run as a child process halts, in this process's
// Airlock (already open, mid-work), a run waiting for approval (its approval is neither approved nor
// used), a run mid-loop (it stops at its next step and waits), and an external agent's next call (and
// any new run, at every door). Nothing reaches Acme's systems while it holds; a non-owner cannot lift
// it; an owner can, and the held run and approval go on from where they stood.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { verifyStore } from '../../src/audit/log.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { liftHalt } from '../../src/gateway/halt-control.js';
import { continueHeld } from '../../src/orchestration/halted-runs.js';
import type { Model, ModelInput, ModelTurn } from '../../src/orchestration/model.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import { toResult } from '../../src/orchestration/results.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import type { AuditRecord } from '../../src/store/store.js';
import type { ApprovalId } from '../../src/types.js';
import { airlock as cli, requireBuild } from '../cli/cli-helpers.js';
import { doorWorkspace, type DoorWorkspace } from '../server/fixtures.js';
import { groundTruth } from '../helpers/workspace.js';

const REASON = 'refunds are landing on the wrong orders';
const stateOf = (run: { state: unknown }): RunState => run.state as RunState;
const ofType = (records: readonly AuditRecord[], type: string): AuditRecord[] => records.filter((r) => r.type === type);

describe('the kill switch, across two processes', () => {
  let ws: DoorWorkspace;
  let a: Airlock;
  const ground = () => groundTruth(ws.acmeDb);
  const stop = (...args: string[]) => cli(['-w', ws.dir, 'stop', ...args, '--reason', REASON]);
  const resume = (...args: string[]) => cli(['-w', ws.dir, 'resume', ...args], { timeoutMs: 60_000 });

  beforeAll(async () => {
    requireBuild();
    ws = doorWorkspace();
    a = await openAirlock(ws.dir);
  });
  afterAll(async () => {
    await a?.close();
    ws?.cleanup();
  });

  it('stops a run waiting for approval: its approval is not approved, nor used if it already was; an owner resumes it and it goes on', async () => {
    // Two refund runs wait for a person; one of them is approved just before the halt, and not yet driven on.
    const approvedFirst = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    const stillPending = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    expect([approvedFirst.status, stillPending.status]).toEqual(['awaiting-approval', 'awaiting-approval']);
    const approved = stateOf(approvedFirst).pending?.approvalId as ApprovalId;
    const pending = stateOf(stillPending).pending?.approvalId as ApprovalId;
    expect((await vote(a.approvalDeps, approved, localApprover(a.principal('user:dana')), 'approve', 'matches the ticket')).kind).toBe('recorded');
    const before = ground();

    const stopped = await stop('refund-desk', '--as', 'dana');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/stopped workflow `refund-desk` \(hlt_[0-9a-f]{12}\) by user:dana/);
    expect(stopped.stdout).toContain('1 pending approval(s) in it');
    const halt = (await a.store.listHalts({ status: 'active' }))[0];
    expect(halt).toMatchObject({ scope: 'workflow:refund-desk', stoppedBy: 'user:dana', reason: REASON });

    // The pending one: an approve vote is refused, on record; it stays pending for after.
    const refused = await vote(a.approvalDeps, pending, localApprover(a.principal('user:dana')), 'approve', 'matches the ticket');
    expect(refused).toMatchObject({ kind: 'refused', status: 409 });
    expect(refused.kind === 'refused' && refused.reason).toContain(`halted: workflow \`refund-desk\` was stopped by \`user:dana\``);
    expect((await a.store.getApproval(pending))?.status).toBe('pending');

    // The approved one: driving its run on executes nothing; the run waits, held, the approval unused.
    const held = await a.runner.resume(approvedFirst.id);
    expect(held.status).toBe('awaiting-approval');
    expect(stateOf(held).halt).toEqual({ id: halt?.id });
    expect(await a.store.getApproval(approved)).toMatchObject({ status: 'approved', consumedAt: null });
    // And the gateway itself refuses to use it (whoever calls it), on record as `halted`.
    const workflow = a.workspace.workflows.get('refund-desk');
    if (!workflow) throw new Error('no refund-desk');
    const p = stateOf(held).pending;
    if (!p) throw new Error('the held run lost its pending call');
    const direct = await a.gateway.executeApproved({ runId: held.id, workflow, principal: a.principal('agent:refund-bot'), labels: stateOf(held).labels, step: 99 }, { tool: p.tool, args: p.args }, approved);
    expect(direct).toMatchObject({ kind: 'denied', halt: halt?.id });
    expect(await a.store.getApproval(approved)).toMatchObject({ status: 'approved', consumedAt: null });
    const trail = await a.store.readAuditForRun(held.id);
    expect(ofType(trail, 'action.not-executed').filter((r) => r.body['why'] === 'halted')).toEqual([expect.objectContaining({ body: expect.objectContaining({ approvalId: approved, code: halt?.id }) })]);
    expect(ofType(trail, 'approval.consumed')).toEqual([]);
    // Nothing reached Acme.
    expect(ground()).toEqual(before);

    // A person who owns nothing here cannot lift it (exit 2, on record); the halt stands.
    const notOwner = await resume('refund-desk', '--as', 'priya', '--reason', 'looks fine to me');
    expect(notOwner.code).toBe(2);
    expect(notOwner.stderr).toMatch(/refused: only an owner of workflow `refund-desk` resumes it/);
    expect((await a.store.getHalt(halt?.id ?? ''))?.status).toBe('active');

    // The domain owner lifts it, in another process; that process drives the held run on: the refund executes, once.
    const lifted = await resume('refund-desk', '--as', 'dana', '--reason', 'order lookup fixed and checked');
    expect(lifted.code, lifted.stderr).toBe(0);
    expect(lifted.stdout).toContain(`resumed workflow \`refund-desk\` (${halt?.id}`);
    expect(lifted.stdout).toContain(`run ${approvedFirst.id}: verified`);
    expect((await a.store.getRun(approvedFirst.id))?.status).toBe('verified');
    expect(ground().refunds.filter((r) => r['order_id'] === '1182')).toHaveLength(1);
    // The pending approval can be decided now.
    expect((await vote(a.approvalDeps, pending, localApprover(a.principal('user:dana')), 'approve', 'matches the ticket')).kind).toBe('recorded');

    const all = await a.store.readAudit(1, 100_000);
    expect(ofType(all, 'halt.started')).toEqual([expect.objectContaining({ principal: 'user:dana', runId: null, body: expect.objectContaining({ haltId: halt?.id, scope: 'workflow:refund-desk', reason: REASON, authMethod: 'local' }) })]);
    expect(ofType(all, 'halt.refused')).toEqual([expect.objectContaining({ principal: 'user:priya', body: expect.objectContaining({ attempted: 'resume', haltId: halt?.id }) })]);
    expect(ofType(all, 'halt.lifted')).toEqual([expect.objectContaining({ principal: 'user:dana', body: expect.objectContaining({ haltId: halt?.id, stoppedBy: 'user:dana', reason: 'order lookup fixed and checked' }) })]);
    expect((await verifyStore(a.store)).ok).toBe(true);
  });

  it('stops a run mid-loop at its next step: the model is not asked again until an owner resumes it', async () => {
    // A scripted model whose second turn is taken while another process pulls the switch.
    const asked: ModelInput[] = [];
    const turns: (() => Promise<ModelTurn>)[] = [
      () => Promise.resolve({ kind: 'tool_call', tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' } }),
      async () => {
        const s = await stop('refund-desk', '--as', 'dana');
        expect(s.code, s.stderr).toBe(0);
        return { kind: 'tool_call', tool: 'orders.get_order', args: { order_id: '1182' } };
      },
      () => Promise.resolve({ kind: 'final', text: 'done', claim: 'done' }),
    ];
    const model: Model = { provider: 'test', model: 'halting', next: (input) => (asked.push(input), (turns[asked.length - 1] as () => Promise<ModelTurn>)()) };
    const b = await openAirlock(ws.dir, { modelFor: () => model });
    try {
      const before = ground();
      const run = await b.runner.start('refund-desk', {});
      expect(run.status).toBe('awaiting-approval');
      expect(asked).toHaveLength(2);
      const halt = await b.store.activeHalt(['workflow:refund-desk']);
      expect(stateOf(run)).toMatchObject({ halt: { id: halt?.id }, pending: null, inFlight: null });
      expect(stateOf(run).reason).toContain('halted: workflow `refund-desk`');
      const trail = await b.store.readAuditForRun(run.id);
      expect(ofType(trail, 'action.executed').map((r) => r.body['tool'])).toEqual(['tickets.get_ticket']);
      expect(ofType(trail, 'action.not-executed').map((r) => [r.body['tool'], r.body['why']])).toEqual([['orders.get_order', 'halted']]);
      expect(ofType(trail, 'run.status').at(-1)?.body).toMatchObject({ from: 'running', to: 'awaiting-approval' });

      // Driven again while halted (a restart, another process): it stays held and asks nothing.
      expect((await b.runner.resume(run.id)).status).toBe('awaiting-approval');
      expect(asked).toHaveLength(2);
      // No new run starts in the halted workflow either, and the refusal is on record.
      await expect(b.runner.start('refund-desk', {})).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('halted') });
      expect(ground()).toEqual(before);

      // An owner lifts it; the held run goes on, and the model hears why its call was not made.
      const lifted = await liftHalt(b, localApprover(b.principal('user:dana')), halt?.id ?? '', 'checked: safe to go on');
      expect(lifted.kind).toBe('lifted');
      const fates = await continueHeld({ store: b.store, resume: (id) => b.runner.resume(id) }, halt?.id ?? '');
      expect(fates).toEqual([{ runId: run.id, status: 'completed' }]);
      expect(asked).toHaveLength(3);
      expect(asked[2]?.history.at(-1)).toMatchObject({ kind: 'tool_result', tool: 'orders.get_order', status: 'denied', content: { error: 'halted' } });
    } finally {
      await b.close();
    }
  });

  it("refuses an external agent's next call, and every new run at every door, until it is resumed", async () => {
    const agent = a.principal('agent:refund-bot');
    const workflow = a.workspace.workflows.get('refund-desk');
    if (!workflow) throw new Error('no refund-desk');
    const open = await a.sessions.tryOpen(workflow, agent, 'sdk');
    if ('kind' in open) throw new Error(open.reason);
    const read = { tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' } };
    expect((await a.sessions.call(open.id, agent, read)).kind).toBe('executed');
    const before = ground();

    const stopped = await stop('--principal', 'agent:refund-bot', '--as', 'sam');
    expect(stopped.code, stopped.stderr).toBe(0);
    const halt = await a.store.activeHalt(['principal:agent:refund-bot']);

    // Its next call: refused, on record; the agent is told to wait, not to retry.
    const next = await a.sessions.call(open.id, agent, read);
    expect(next).toMatchObject({ kind: 'denied', halt: halt?.id, policyIds: [] });
    if (next.kind !== 'denied') throw new Error('not denied');
    expect(toResult(next).content).toMatchObject({ error: 'halted', next: expect.stringContaining('do not retry') });
    const trail = await a.store.readAuditForRun(open.id);
    expect(ofType(trail, 'action.not-executed').at(-1)?.body).toMatchObject({ why: 'halted', tool: 'tickets.get_ticket', code: halt?.id });
    // Refusals under a halt are not the agent pushing against policy: no incident.
    expect(await a.store.listIncidents({ runId: open.id })).toEqual([]);

    // New runs: refused in this process, and at the HTTP doors of a server on the same store.
    const again = await a.sessions.tryOpen(workflow, agent, 'sdk');
    expect(again).toMatchObject({ kind: 'refused', status: 409, reason: expect.stringContaining('halted: principal `agent:refund-bot`') });
    let server: RunningServer | undefined;
    try {
      server = await startHttpServer(a, { host: '127.0.0.1', port: 0 });
      const auth = { authorization: `Bearer ${ws.keys['refund-bot']}`, 'content-type': 'application/json' };
      const api = await fetch(`${server.url}/v1/runs`, { method: 'POST', headers: auth, body: '{}' });
      expect(api.status).toBe(409);
      expect(((await api.json()) as { error: string }).error).toContain('halted: principal `agent:refund-bot`');
      const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
      const mcp = await fetch(`${server.url}/mcp`, { method: 'POST', headers: { ...auth, accept: 'application/json, text/event-stream' }, body: JSON.stringify(init) });
      expect(mcp.status).toBe(409);
      expect(((await mcp.json()) as { error: { message: string } }).error.message).toContain('halted');
    } finally {
      await server?.close();
    }
    const refusals = ofType(await a.store.readAudit(1, 100_000), 'request.refused').filter((r) => r.body['why'] === 'halted' && String(r.body['reason']).includes(halt?.id ?? '?'));
    expect(refusals.map((r) => r.body['door'])).toEqual(['sdk', 'http-api', 'mcp-http']);
    expect(ground()).toEqual(before);

    // Lifted by security (principal scopes are theirs to resume): the agent opens a run and calls again.
    // (The server's shutdown ended the runs this process served, the first session's too.)
    const lifted = await resume('--principal', 'agent:refund-bot', '--as', 'sam', '--reason', 'agent credentials rotated');
    expect(lifted.code, lifted.stderr).toBe(0);
    const reopened = await a.sessions.tryOpen(workflow, agent, 'sdk');
    if ('kind' in reopened) throw new Error(reopened.reason);
    expect((await a.sessions.call(reopened.id, agent, read)).kind).toBe('executed');
    expect(await a.sessions.close(reopened.id, agent)).toMatchObject({ id: reopened.id });
  });
});
