// Budgets of externally driven runs count every call, not what the run's bounded history still holds.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { copyAcme } from '../helpers/workspace.js';

describe('the tool-call budget of an external run', () => {
  const ws = copyAcme();
  let airlock: Airlock;

  beforeAll(async () => {
    // 105 calls, and room in steps and wall time: the history keeps only the last 100 calls.
    const file = path.join(ws.dir, 'workflows', 'refund-desk.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/budgets:\n {2}steps: 30\n {2}wallTimeMs: 120000\n/, 'budgets:\n  steps: 1000\n  wallTimeMs: 3600000\n  toolCalls: 105\n'));
    airlock = await openAirlock(ws.dir);
  });
  afterAll(async () => {
    await airlock.close();
    ws.cleanup();
  });

  it('stops at exactly the budget, past the history the run keeps', async () => {
    const agent = airlock.principal('agent:refund-bot');
    const workflow = airlock.workspace.workflows.get('refund-desk');
    expect(workflow?.budgets.toolCalls).toBe(105);
    const run = await airlock.sessions.open(workflow!, agent, 'sdk');
    const kinds: string[] = [];
    for (let i = 0; i < 110; i++) {
      const out = await airlock.sessions.call(run.id, agent, { tool: 'orders.get_order', args: { order_id: '1182' } });
      kinds.push(out.kind);
      if (out.kind === 'refused') break;
    }
    expect(kinds.filter((k) => k === 'executed')).toHaveLength(105);
    expect(kinds.at(-1)).toBe('refused');
    const ended = await airlock.store.getRun(run.id);
    expect(ended?.status).toBe('failed');
    expect((ended?.state as { reason?: string }).reason).toBe('tool-call budget of 105 exhausted');
  });
});
