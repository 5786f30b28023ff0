// External agents' runs across instances on one store (#15). The cap on an agent's open runs
// (`server.limits.openRunsPerPrincipal`) holds across them: a scripted agent opens runs on two instances at once,
// and exactly the cap's number open, the others refused with a record each and nothing else written; a run closed
// on one instance frees a place on the other. And a run whose calls reach another instance than the one that
// opened it (a load balancer) is not ended as idle by the first while it is in use.
// Runs on the embedded store, and on PostgreSQL in the second pass (AIRLOCK_TEST_STORE=postgres).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { verifyStore } from '../../src/audit/log.js';
import type { WorkflowConfig } from '../../src/config/schema.js';
import type { RunRecord } from '../../src/store/store.js';
import type { Principal } from '../../src/types.js';
import { editWorkspaceYaml } from '../../bench/workspace.js';
import { copyAcme } from '../helpers/workspace.js';

const CAP = 3;

describe("an external agent's runs across instances", () => {
  const ws = copyAcme();
  let a: Airlock;
  let b: Airlock;
  let agent: Principal;
  let workflow: WorkflowConfig;
  // One clock for both instances, moved by the idle test.
  let clock = Date.now();
  const now = (): Date => new Date(clock);

  beforeAll(async () => {
    editWorkspaceYaml(ws.dir, (doc) => doc.setIn(['server', 'limits', 'openRunsPerPrincipal'], CAP));
    a = await openAirlock(ws.dir, { now });
    b = await openAirlock(ws.dir, { now });
    agent = a.principal('agent:refund-bot');
    workflow = a.workspace.workflows.get('refund-desk') as WorkflowConfig;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    ws.cleanup();
  });

  it('opens exactly the cap of runs asked for on two instances at once, refusing the rest on record', async () => {
    const head = (await a.store.auditHead())?.seq ?? 0;
    const asked = await Promise.all([a, b, a, b, a, b, a, b].map((inst, i) => inst.sessions.tryOpen(workflow, agent, i % 2 ? 'http-api' : 'mcp-http')));
    const opened = asked.filter((x): x is RunRecord => !('kind' in x));
    const refused = asked.filter((x) => 'kind' in x);
    expect(opened).toHaveLength(CAP);
    expect(refused).toEqual(Array.from({ length: 8 - CAP }, () => expect.objectContaining({ kind: 'refused', status: 429, reason: expect.stringMatching(/already holds 3 open runs \(at most 3\)/) })));
    // Each refusal is on record; only the runs opened were written, with their start.
    const records = await a.store.readAudit(head + 1, 1000);
    expect(records.filter((r) => r.type === 'request.refused').map((r) => [r.principal, r.body['why']])).toEqual(Array.from({ length: 8 - CAP }, () => ['agent:refund-bot', 'open-runs-limit']));
    expect(records.filter((r) => r.type === 'run.started').map((r) => r.runId).sort()).toEqual(opened.map((r) => r.id).sort());
    expect((await a.store.listRuns({ limit: 100 })).filter((r) => r.status === 'running').map((r) => r.id).sort()).toEqual(opened.map((r) => r.id).sort());

    // Full on both; a run closed on one instance frees a place on the other.
    expect(await b.sessions.tryOpen(workflow, agent, 'mcp-http')).toMatchObject({ kind: 'refused', status: 429 });
    const mine = opened.find((r) => a.sessions.serving(r.id)) ?? opened[0]!;
    const owner = a.sessions.serving(mine.id) ? a : b;
    expect(await owner.sessions.close(mine.id, agent)).not.toHaveProperty('kind', 'refused');
    const other = owner === a ? b : a;
    const again = await other.sessions.tryOpen(workflow, agent, 'mcp-http');
    expect(again).not.toHaveProperty('kind');
    expect(await a.sessions.tryOpen(workflow, agent, 'mcp-http')).toMatchObject({ kind: 'refused', status: 429 });
    expect((await verifyStore(a.store)).ok).toBe(true);
  }, 60_000);

  it("ends a run of its own that it no longer serves (an end that failed) at its next recovery, so it holds no place in the cap", async () => {
    await Promise.all((await a.store.listRuns({ status: 'running' })).map((r) => (a.sessions.serving(r.id) ? a : b).sessions.close(r.id, agent)));
    const opened = await a.sessions.tryOpen(workflow, agent, 'http-api');
    if ('kind' in opened) throw new Error(opened.reason);
    // As if its end had failed after a forgets it: the same run, running in the store under a's instance, unknown to a.
    const forgotten = { ...opened, id: 'run_forgotten00000' as RunRecord['id'] };
    await a.store.createRun(forgotten);
    expect(a.sessions.serving(forgotten.id)).toBe(false);
    const report = await a.sessions.recover();
    expect(report.ended).toEqual([forgotten.id]);
    expect((await a.store.getRun(forgotten.id))?.status).not.toBe('running');
    expect((await a.store.getRun(opened.id))?.status).toBe('running');
    expect(await b.sessions.recover()).toEqual({ ended: [], incidents: [] });
  }, 60_000);

  it('keeps a run in use through another instance from being ended as idle by the one that opened it', async () => {
    await Promise.all((await a.store.listRuns({ status: 'running' })).map((r) => (a.sessions.serving(r.id) ? a : b).sessions.close(r.id, agent)));
    const opened = await a.sessions.tryOpen(workflow, agent, 'http-api');
    if ('kind' in opened) throw new Error(opened.reason);
    const IDLE = 60_000;
    // 50 s later its calls go to instance b; 20 s after that, a has not seen it for 70 s.
    clock += 50_000;
    expect(await b.sessions.call(opened.id, agent, { tool: 'orders.get_order', args: { order_id: '1182' } })).toMatchObject({ kind: 'executed' });
    clock += 20_000;
    expect(await a.sessions.endIdle(IDLE, ['http-api'])).toEqual([]);
    expect((await a.store.getRun(opened.id))?.status).toBe('running');
    // Idle everywhere for a minute: ended, once.
    clock += 45_000;
    expect(await a.sessions.endIdle(IDLE, ['http-api'])).toEqual([opened.id]);
    const ended = await a.store.getRun(opened.id);
    expect(ended?.status).not.toBe('running');
    expect((await a.store.readAuditForRun(opened.id)).filter((r) => r.type === 'run.finished')).toHaveLength(1);
    expect(await a.sessions.endIdle(IDLE, ['http-api'])).toEqual([]);
  }, 60_000);

});
