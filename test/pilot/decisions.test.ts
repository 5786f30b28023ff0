// What people decide about a pilot, on the real demo: the decision that ends it stands once the named
// people signed (nobody else may sign; an agent cannot decide); a demotion takes effect in the gateway at
// once (a write the declared tier lets run now waits for a person); a failing incident demotes by rule,
// once; a promotion needs every rule and every named sign-off, and never passes the declared tier.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { localApprover, vote, type Approver } from '../../src/gateway/approvals/vote.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import { openIncident, resolveIncident } from '../../src/orchestration/incidents.js';
import { demote, effectiveTierOf, latestDecision, proposeDecision, signDecision, signPromotion } from '../../src/pilot/decisions.js';
import type { RunId } from '../../src/types.js';
import { copyAcme } from '../helpers/workspace.js';
import { historyFile, recordRun } from '../../src/pilot/eval/history.js';
import { pilotContext } from '../../src/pilot/eval/pilot-context.js';
import { parse } from 'yaml';

describe('pilot decisions and tiers', () => {
  let ws: ReturnType<typeof copyAcme>;
  let a: Airlock;
  const workflowFile = (): string => path.join(ws.dir, 'workflows', 'refund-desk.yaml');
  const reopen = async (): Promise<void> => {
    await a.close();
    a = await openAirlock(ws.dir);
  };
  beforeEach(async () => {
    ws = copyAcme();
    a = await openAirlock(ws.dir);
  });
  afterEach(async () => {
    await a?.close();
    ws?.cleanup();
  });
  const records = async (type: string) => (await a.store.readAudit(1, 100_000)).filter((r) => r.type === type);
  /** A person with a login of their own (as an API key or a JWT gives one). */
  const who = (ref: string, subject = ref): Approver => ({ principal: a.principal(ref), auth: { issuer: 'test-idp', subject, method: 'jwt', amr: [], authTime: null } });

  it('a decision stands once everyone named signed it; nobody else signs; an agent cannot decide', async () => {
    const proposed = await proposeDecision(a, 'refund-desk', 'scale', 'verified on every case, no overrides', who('user:dana'));
    expect(proposed).toMatchObject({ outcome: 'scale', proposedBy: 'user:dana', signOffs: [{ by: 'user:dana' }], missing: ['user:priya'] });
    expect(await signDecision(a, 'refund-desk', who('user:sam'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('user:sam is not among the people who sign') });
    expect(await signDecision(a, 'refund-desk', who('user:dana'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('signed this decision already') });
    // One login cannot sign as two people.
    expect(await signDecision(a, 'refund-desk', who('user:priya', 'user:dana'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('this login signed this decision already as user:dana') });
    const stands = await signDecision(a, 'refund-desk', who('user:priya'));
    expect(stands).toMatchObject({ missing: [], signOffs: [{ by: 'user:dana' }, { by: 'user:priya' }] });
    expect((await latestDecision(a.store, 'refund-desk'))?.evidence).toMatchObject({ recommendation: { verdict: expect.any(String) }, kpis: { runs: 0 } });
    expect((await records('pilot.decided')).map((r) => [r.principal, r.body['outcome']])).toEqual([['user:dana', 'scale']]);
    expect((await records('pilot.signed')).map((r) => r.principal)).toEqual(['user:dana', 'user:priya']);
    expect(await proposeDecision(a, 'refund-desk', 'scale', 'x', who('agent:refund-bot'))).toMatchObject({ kind: 'refused' });
    expect(await proposeDecision(a, 'refund-desk', 'stop', 'not mine to decide', who('user:sam'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining("user:sam is not among the people who sign the pilot's decision") });
    expect(await proposeDecision(a, 'refund-desk', 'stop', 'two\nlines', who('user:dana'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('control characters') });
    expect(await proposeDecision(a, 'refund-desk', 'expand', 'x', who('user:dana'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('scale, redesign, stop') });
    expect(await proposeDecision(a, 'refund-desk', 'stop', '  ', who('user:dana'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('say why') });
  });

  it('a demotion applies in the gateway at once: after the approved refund, the reply draft now waits for a person too', async () => {
    expect(await demote(a, 'refund-desk', who('user:dana'), 'two wrong refunds this week')).toBe('prepare');
    expect(await effectiveTierOf(a.store, a.workspace, 'refund-desk')).toBe('prepare');
    const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    const approval = (run.state as unknown as RunState).pending!.approvalId;
    expect((await vote(a.approvalDeps, approval, localApprover(a.principal('user:dana')), 'approve', 'fine')).kind).toBe('recorded');
    const resumed = await a.runner.resume(run.id as RunId);
    expect(resumed.status).toBe('awaiting-approval');
    expect((resumed.state as unknown as RunState).pending?.tool).toBe('mail.draft');
    const decision = (await a.store.readAuditForRun(run.id)).find((r) => r.type === 'action.decision' && r.body['tool'] === 'mail.draft');
    expect(decision?.body['reasons']).toEqual(expect.arrayContaining(['tier `prepare`: every side effect is a prepared action a human approves']));
    expect((await records('autonomy.changed')).map((r) => [r.principal, r.body['from'], r.body['to'], r.body['automatic']])).toEqual([['user:dana', 'execute-low', 'prepare', false]]);
  });

  it('with demoteOn.incident, a failing incident steps the workflow down once, by rule; a caught injection does not', async () => {
    writeFileSync(workflowFile(), readFileSync(workflowFile(), 'utf8').replace('  decisionSignOff:', '  demoteOn: { incident: true }\n  decisionSignOff:'));
    await reopen();
    const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    // The demo run itself opened an injection-suspected incident (the planted FAQ): no demotion for a caught attempt.
    expect((await a.store.listIncidents({ runId: run.id })).map((i) => i.kind)).toEqual(['injection-suspected']);
    expect(await effectiveTierOf(a.store, a.workspace, 'refund-desk')).toBe('execute-low');
    await openIncident(a, { runId: run.id, kind: 'verification-failed', title: 'the refund is not on the order', evidence: {} });
    expect(await effectiveTierOf(a.store, a.workspace, 'refund-desk')).toBe('prepare');
    await openIncident(a, { runId: run.id, kind: 'verification-failed', title: 'the refund is not on the order', evidence: {} });
    expect(await effectiveTierOf(a.store, a.workspace, 'refund-desk')).toBe('prepare');
    expect((await records('autonomy.changed')).map((r) => [r.principal, r.body['to'], r.body['automatic']])).toEqual([[null, 'prepare', true]]);
  });

  it('a promotion needs every rule and every named sign-off, and goes no higher than the declared tier', async () => {
    // Declared execute-high; the evidence asks little, so one verified run is enough; demoted first.
    const yaml = readFileSync(workflowFile(), 'utf8')
      .replace('tier: execute-low', 'tier: execute-high')
      // Declared execute-high, mail.send would need a second path: this workflow copy does without it.
      .replace('  - mail.send\n', '')
      .replace(/minRuns: 200[\s\S]*?signOff: \[user:dana, user:kai\]/, 'minRuns: 1\n      maxOverrideRate: 0.5\n      minVerifiedRate: 0.5\n      reversibleWrites: false\n      evalSuite: scenarios\n      signOff: [user:dana, user:kai]');
    writeFileSync(workflowFile(), yaml);
    await reopen();
    expect(await signPromotion(pilotContext(a), 'refund-desk', who('user:dana'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('do not recommend a step up') });
    await demote(a, 'refund-desk', who('user:dana'), 'start the pilot one tier down');
    expect(await signPromotion(pilotContext(a), 'refund-desk', who('user:dana'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('finished runs') });
    const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    const approval = (run.state as unknown as RunState).pending!.approvalId;
    await vote(a.approvalDeps, approval, localApprover(a.principal('user:dana')), 'approve', 'fine');
    expect((await a.runner.resume(run.id as RunId)).status).toBe('verified');
    // The planted FAQ opened an incident: no step up while it is open.
    expect(await signPromotion(pilotContext(a), 'refund-desk', who('user:dana'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('open incidents is 1') });
    for (const i of await a.store.listIncidents({ status: 'open' })) await resolveIncident(a, i.id, a.principal('user:dana'), 'the partner FAQ was cleaned');
    // The step names the eval suite: never run here, it cannot hold; a failed run neither; a passed one does.
    expect(await signPromotion(pilotContext(a), 'refund-desk', who('user:dana'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('eval suite scenarios is never run') });
    const suite = (parse(readFileSync(path.join(ws.dir, 'scenarios', 'suite.yaml'), 'utf8')) as { name: string }).name;
    const line = (passed: boolean) => ({ suite, model: 'playbooks', totals: {} as never, scenarios: [], at: new Date().toISOString(), passed });
    recordRun(historyFile(ws.dir, suite), line(false));
    expect(await signPromotion(pilotContext(a), 'refund-desk', who('user:dana'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('eval suite scenarios is failed') });
    recordRun(historyFile(ws.dir, suite), line(true));
    expect(await signPromotion(pilotContext(a), 'refund-desk', who('user:sam'))).toMatchObject({ kind: 'refused', reason: expect.stringContaining('not among the people who sign a step up to execute-high') });
    expect(await signPromotion(pilotContext(a), 'refund-desk', who('user:dana'))).toEqual({ kind: 'signed', tier: 'execute-high', missing: ['user:kai'], promoted: false });
    expect(await effectiveTierOf(a.store, a.workspace, 'refund-desk')).toBe('execute-low');
    expect(await signPromotion(pilotContext(a), 'refund-desk', who('user:kai'))).toEqual({ kind: 'signed', tier: 'execute-high', missing: [], promoted: true });
    expect(await effectiveTierOf(a.store, a.workspace, 'refund-desk')).toBe('execute-high');
    // At the declared tier: nothing above it to sign.
    expect(await signPromotion(pilotContext(a), 'refund-desk', who('user:dana'))).toMatchObject({ kind: 'refused' });
    expect((await records('autonomy.signed')).map((r) => r.principal)).toEqual(['user:dana', 'user:kai']);
  });
});
