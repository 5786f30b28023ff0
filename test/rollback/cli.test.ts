// `airlock rollback` and `airlock incidents` from the built CLI on a copy of the demo: the table, the exit
// codes (0 done, 1 waiting or failed, 2 bad input) and what to do next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { openIncident } from '../../src/orchestration/incidents.js';
import { rollbackRunId, type RollbackReport } from '../../src/orchestration/rollback.js';
import type { IncidentRecord } from '../../src/store/store.js';
import type { RunId } from '../../src/types.js';
import { airlock, requireBuild } from '../cli/cli-helpers.js';
import { copyAcme } from '../helpers/workspace.js';

// Each CLI call is a fresh process (a second or more on a busy machine): generous time limits.
describe('airlock rollback and incidents (CLI)', { timeout: 240_000 }, () => {
  let ws: ReturnType<typeof copyAcme>;
  let runId: string;
  const cli = (...args: string[]) => airlock(['-w', ws.dir, ...args]);

  beforeAll(async () => {
    requireBuild();
    ws = copyAcme();
    const demo = await cli('demo');
    const approval = /approve (apr_[0-9a-f]+) --as dana/.exec(demo.stdout)?.[1];
    runId = /run (run_[0-9a-f]+): /.exec(demo.stdout)?.[1] ?? '';
    expect(approval, demo.stdout + demo.stderr).toBeDefined();
    const approved = await cli('approve', approval!, '--as', 'dana');
    expect(approved.stdout).toMatch(/verified/);
  }, 240_000);
  afterAll(() => ws?.cleanup());

  it('refuses agents, undeclared people and unknown runs with exit 2, changing nothing', async () => {
    const agent = await cli('rollback', runId, '--as', 'refund-bot');
    expect(agent.code, agent.stderr).toBe(2);
    expect(agent.stderr).toMatch(/not a person/);
    const mallory = await cli('rollback', runId, '--as', 'mallory');
    expect(mallory.code, mallory.stderr).toBe(2);
    expect(mallory.stderr).toMatch(/not declared/);
    expect((await cli('rollback', 'run_0000000000000000', '--as', 'dana')).code).toBe(2);
    const a = await openAirlock(ws.dir);
    try {
      expect(await a.store.getRun(rollbackRunId(runId as RunId, 1))).toBeNull();
    } finally {
      await a.close();
    }
  });

  it('prints the table, pauses at the reversed refund (exit 1), finishes after another person approves (exit 0)', async () => {
    const first = await cli('rollback', runId, '--as', 'dana');
    expect(first.code, first.stderr).toBe(1);
    expect(first.stdout).toMatch(/step\s+tool\s+outcome\s+detail/);
    expect(first.stdout).toMatch(/1\s+tickets\.set_status\s+undone\s+tickets\.set_status \{"status":"open","ticket_id":"T-311"\}/);
    expect(first.stdout).toMatch(/4\s+payments\.refund\s+pending-approval\s+payments\.reverse_refund \{"refund_id":"RF-1001"\}/);
    expect(first.stdout).toMatch(/someone other than dana approves it/);
    const approval = /waits for approval (apr_[0-9a-f]+)/.exec(first.stdout)?.[1];
    expect(approval).toBeDefined();

    const self = await cli('approve', approval!, '--as', 'dana');
    expect(self.code).toBe(2);
    expect(self.stderr).toMatch(/acts for `user:dana`/);
    expect((await cli('approve', approval!, '--as', 'priya', '--reason', 'roll back the refund')).code).toBe(0);

    const done = await cli('rollback', runId, '--as', 'dana');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/4\s+payments\.refund\s+undone/);
    expect(done.stdout).toMatch(/rolled back: 4 effects undone/);

    const again = await cli('rollback', runId, '--as', 'sam', '--json');
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as RollbackReport;
    expect(report).toMatchObject({ runId, status: 'completed', noop: true });
    expect(report.steps.map((s) => s.outcome)).toEqual(['already-undone', 'already-undone', 'already-undone', 'already-undone']);
  });

  it('lists incidents and lets a person resolve one', async () => {
    const a = await openAirlock(ws.dir);
    let id: string;
    try {
      ({
        incident: { id },
      } = await openIncident(a, { runId: runId as RunId, kind: 'verification-failed', key: 'cli', title: 'ticket T-311 is not resolved', evidence: null }));
    } finally {
      await a.close();
    }
    const list = await cli('incidents');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+open\\s+verification-failed\\s+run ${runId}`));
    expect(list.stdout).toMatch(/owner\s+dana@acme\.example \(domain\)/);

    const toAgent = await cli('incidents', 'assign', id, '--to', 'refund-bot', '--as', 'sam');
    expect(toAgent.code).toBe(2);
    expect(toAgent.stderr).toMatch(/is not a person: incidents go to people/);
    const assigned = await cli('incidents', 'assign', id, '--to', 'dana', '--as', 'sam');
    expect(assigned.code, assigned.stderr).toBe(0);
    expect(assigned.stdout).toMatch(`assigned ${id} to user:dana`);
    expect((await cli('incidents')).stdout).toMatch(/assigned\s+to user:dana at /);

    const agent = await cli('incidents', 'resolve', id, '--as', 'refund-bot', '--note', 'fixed it myself');
    expect(agent.code).toBe(2);
    expect(agent.stderr).toMatch(/only people resolve incidents/);
    const ok = await cli('incidents', 'resolve', id, '--as', 'dana', '--note', 'reopened the ticket by hand');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(`resolved ${id} by user:dana`);

    // What stays open is the security incident of the demo run's read of the planted instruction.
    const open = (await cli('incidents')).stdout;
    expect(open).not.toContain(id);
    expect(open).toMatch(/open\s+injection-suspected/);
    const all = JSON.parse((await cli('incidents', '--all', '--json')).stdout) as IncidentRecord[];
    expect(all.map((i) => [i.kind, i.status, i.resolvedBy]).sort()).toEqual([
      ['injection-suspected', 'open', null],
      ['verification-failed', 'resolved', 'user:dana'],
    ]);
  });
});
