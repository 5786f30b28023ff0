// An external run's calls live beside it, one row each: its saved state stays the same size however
// long the run, and its budget counts every call.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { runHistory } from '../../src/orchestration/run-state.js';
import { copyAcme } from '../helpers/workspace.js';

describe('the tool-call budget of an external run', () => {
  const ws = copyAcme();
  let airlock: Airlock;

  beforeAll(async () => {
    // 105 calls, and room in steps and wall time.
    const file = path.join(ws.dir, 'workflows', 'refund-desk.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/budgets:\n {2}steps: 30\n {2}wallTimeMs: 120000\n/, 'budgets:\n  steps: 1000\n  wallTimeMs: 3600000\n  toolCalls: 105\n'));
    airlock = await openAirlock(ws.dir);
  });
  afterAll(async () => {
    await airlock.close();
    ws.cleanup();
  });

  it('stops at exactly the budget, each call saving a state of the same size', async () => {
    const agent = airlock.principal('agent:refund-bot');
    const workflow = airlock.workspace.workflows.get('refund-desk');
    expect(workflow?.budgets.toolCalls).toBe(105);
    const run = await airlock.sessions.open(workflow!, agent, 'sdk');
    const kinds: string[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < 110; i++) {
      const out = await airlock.sessions.call(run.id, agent, { tool: 'orders.get_order', args: { order_id: '1182' } });
      kinds.push(out.kind);
      if (out.kind === 'refused') break;
      sizes.push(JSON.stringify((await airlock.store.getRun(run.id))?.state).length);
    }
    // Only the counters' digits grow: call 105 saves what call 10 saved, give or take a few bytes.
    expect(Math.max(...sizes.slice(9)) - Math.min(...sizes.slice(9))).toBeLessThanOrEqual(8);
    expect(kinds.filter((k) => k === 'executed')).toHaveLength(105);
    expect(kinds.at(-1)).toBe('refused');
    const ended = await airlock.store.getRun(run.id);
    expect(ended?.status).toBe('failed');
    expect((ended?.state as { reason?: string }).reason).toBe('tool-call budget of 105 exhausted');
    // Every call and its result is kept, in order, beside the run.
    const history = await runHistory(airlock.store, ended!);
    expect(history).toHaveLength(210);
    expect(history.map((h) => h.kind).slice(0, 4)).toEqual(['tool_call', 'tool_result', 'tool_call', 'tool_result']);
    expect(history.at(-1)).toMatchObject({ kind: 'tool_result', id: 'c105', tool: 'orders.get_order', status: 'ok' });
  });
});

describe('the daily tool-call budget, external agents included', () => {
  const ws = copyAcme();
  let airlock: Airlock;

  beforeAll(async () => {
    const file = path.join(ws.dir, 'workflows', 'refund-desk.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^budgets:\n/m, 'budgets:\n  perDay: { toolCalls: 5 }\n'));
    airlock = await openAirlock(ws.dir);
  });
  afterAll(async () => {
    await airlock.close();
    ws.cleanup();
  });

  it("counts every session's calls in the workflow's day: the sixth call of the day is refused, in whichever run it comes", async () => {
    const agent = airlock.principal('agent:refund-bot');
    const workflow = airlock.workspace.workflows.get('refund-desk')!;
    const call = (runId: Parameters<Airlock['sessions']['call']>[0]) => airlock.sessions.call(runId, agent, { tool: 'orders.get_order', args: { order_id: '1182' } });
    const first = await airlock.sessions.open(workflow, agent, 'sdk');
    const kinds: string[] = [];
    for (let i = 0; i < 3; i++) kinds.push((await call(first.id)).kind);
    const second = await airlock.sessions.open(workflow, agent, 'mcp-http');
    for (let i = 0; i < 3; i++) kinds.push((await call(second.id)).kind);
    expect(kinds).toEqual(['executed', 'executed', 'executed', 'executed', 'executed', 'refused']);
    const ended = await airlock.store.getRun(second.id);
    expect(ended?.status).toBe('failed');
    expect((ended?.state as { reason?: string }).reason).toBe('daily tool-call budget of 5 for workflow `refund-desk` reached');
    const today = new Date().toISOString().slice(0, 10);
    const sums = await airlock.store.usageSince(today, ['workflow:refund-desk', 'principal:agent:refund-bot']);
    expect(sums.map((r) => [r.scope, r.toolCalls])).toEqual([
      ['principal:agent:refund-bot', 5],
      ['workflow:refund-desk', 5],
    ]);
  });
});
