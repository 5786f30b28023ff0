// Halts by scope kind, in process on the Acme demo: a connector halt stops only calls to that connector,
// a principal halt what that agent does or what is done for that person, `all` everything; a workflow
// halt is in test/security/kill-switch.test.ts (across processes). Who may stop (easy) and resume (strict).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { localApprover } from '../../src/gateway/approvals/vote.js';
import { liftHalt, mayResume, mayStop, reasonProblem, stopScope, touchedWorkflows, type StopOutcome } from '../../src/gateway/halt-control.js';
import { scopeKey, scopeOf, type HaltScope } from '../../src/gateway/halts.js';
import type { HaltRecord } from '../../src/store/store.js';
import type { JsonObject } from '../../src/types.js';
import { copyAcme, groundTruth } from '../helpers/workspace.js';

describe('halts by scope', () => {
  let ws: ReturnType<typeof copyAcme>;
  let a: Airlock;
  const as = (who: string) => localApprover(a.principal(who));
  const stopped = (o: StopOutcome): HaltRecord => {
    if (o.kind !== 'stopped') throw new Error(`not stopped: ${JSON.stringify(o)}`);
    return o.halt;
  };
  const lift = async (h: HaltRecord, who = 'user:sam') => expect((await liftHalt(a, as(who), h.id, 'checked')).kind).toBe('lifted');
  /** Opens an external run (acting for `onBehalfOf`) and makes one call: what came of each. */
  async function session(tool: string, args: JsonObject, onBehalfOf?: string) {
    const wf = a.workspace.workflows.get('refund-desk');
    if (!wf) throw new Error('no refund-desk');
    const agent = a.principal('agent:refund-bot');
    const run = await a.sessions.tryOpen(wf, agent, 'sdk', onBehalfOf ? a.principal(onBehalfOf) : undefined);
    if ('kind' in run) return { opened: run, call: null };
    const call = await a.sessions.call(run.id, agent, { tool, args });
    await a.sessions.close(run.id, agent);
    return { opened: run, call };
  }

  beforeAll(async () => {
    ws = copyAcme();
    a = await openAirlock(ws.dir);
  });
  afterAll(async () => {
    await a?.close();
    ws?.cleanup();
  });

  it('keys scopes one way and reads them back', () => {
    const scopes: HaltScope[] = [{ kind: 'workflow', name: 'refund-desk' }, { kind: 'principal', ref: 'user:dana' }, { kind: 'connector', name: 'payments' }, { kind: 'all' }];
    expect(scopes.map(scopeKey)).toEqual(['workflow:refund-desk', 'principal:user:dana', 'connector:payments', 'all']);
    expect(scopes.map((s) => scopeOf(scopeKey(s)))).toEqual(scopes);
    expect(() => scopeOf('tool:x')).toThrow(/not one this version knows/);
  });

  it('a connector halt stops calls to that connector only', async () => {
    const h = stopped(await stopScope(a, as('user:dana'), { kind: 'connector', name: 'payments' }, 'payment provider incident'));
    const before = groundTruth(ws.acmeDb);
    expect((await session('payments.list_refunds', { order_id: '1182' })).call).toMatchObject({ kind: 'denied', halt: h.id });
    expect((await session('tickets.get_ticket', { ticket_id: 'T-311' })).call).toMatchObject({ kind: 'executed' });
    expect(groundTruth(ws.acmeDb)).toEqual(before);
    // The domain owner may stop it (refund-desk uses payments) but not resume it: that is security's or platform's.
    const refused = await liftHalt(a, as('user:dana'), h.id, 'looks fine');
    expect(refused).toMatchObject({ kind: 'refused', status: 403, reason: expect.stringContaining('only a security or platform owner of a workflow it touches') });
    await lift(h);
    expect((await session('payments.list_refunds', { order_id: '1182' })).call).toMatchObject({ kind: 'executed' });
  });

  it('a principal halt on a person stops what agents do for them, and nothing else', async () => {
    const h = stopped(await stopScope(a, as('user:sam'), { kind: 'principal', ref: 'user:dana' }, "dana's account may be compromised"));
    expect((await session('tickets.get_ticket', { ticket_id: 'T-311' }, 'user:dana')).opened).toMatchObject({ kind: 'refused', status: 409, reason: expect.stringContaining('principal `user:dana`') });
    expect((await session('tickets.get_ticket', { ticket_id: 'T-311' })).call).toMatchObject({ kind: 'executed' });
    await expect(a.runner.start('refund-desk', { ticket_id: 'T-311' }, { onBehalfOf: 'user:dana' })).rejects.toMatchObject({ code: 'conflict' });
    await lift(h);
  });

  it('`all` stops everything; whoever owns a workflow may pull it, only security or platform lifts it', async () => {
    const h = stopped(await stopScope(a, as('user:dana'), { kind: 'all' }, 'stop everything while we look'));
    expect((await session('tickets.get_ticket', { ticket_id: 'T-311' })).opened).toMatchObject({ kind: 'refused', status: 409, reason: expect.stringContaining('halted: everything') });
    await expect(a.runner.start('refund-desk', { ticket_id: 'T-311' })).rejects.toMatchObject({ code: 'conflict' });
    // Stopping `all` again is the same halt: nothing new is written.
    expect(await stopScope(a, as('user:sam'), { kind: 'all' }, 'again')).toEqual({ kind: 'already', halt: h });
    expect((await liftHalt(a, as('user:dana'), h.id, 'done looking')).kind).toBe('refused');
    await lift(h, 'user:sam');
    expect((await session('tickets.get_ticket', { ticket_id: 'T-311' })).call).toMatchObject({ kind: 'executed' });
    expect((await liftHalt(a, as('user:sam'), h.id, 'again')).kind).toBe('refused');
  });

  it('stopping is easy and resuming strict; people only, with a bounded reason; every refusal is on record', async () => {
    const ws_ = a.workspace;
    const dana = a.principal('user:dana');
    const priya = a.principal('user:priya');
    const sam = a.principal('user:sam');
    const desk: HaltScope = { kind: 'workflow', name: 'refund-desk' };
    expect(touchedWorkflows(ws_, { kind: 'connector', name: 'payments' }).map((w) => w.name)).toEqual(['refund-desk']);
    expect(touchedWorkflows(ws_, { kind: 'principal', ref: 'agent:refund-bot' }).map((w) => w.name)).toEqual(['refund-desk']);
    expect(mayStop(ws_, dana, desk)).toEqual({ ok: true, as: 'domain owner of workflow `refund-desk`' });
    expect(mayStop(ws_, sam, { kind: 'all' })).toEqual({ ok: true, as: 'security owner of workflow `refund-desk`' });
    expect(mayStop(ws_, priya, desk).ok).toBe(false);
    expect(mayResume(ws_, dana, desk).ok).toBe(true);
    // Any boundary's owner of the workflow resumes it (sam is its security owner); someone who owns none does not.
    expect(mayResume(ws_, sam, desk).ok).toBe(true);
    expect(mayResume(ws_, priya, desk)).toEqual({ ok: false, reason: 'only an owner of workflow `refund-desk` resumes it (its `owners:`), and `user:priya` is none' });
    expect(mayResume(ws_, dana, { kind: 'principal', ref: 'agent:refund-bot' }).ok).toBe(false);
    expect(mayResume(ws_, sam, { kind: 'principal', ref: 'agent:refund-bot' }).ok).toBe(true);

    expect(await stopScope(a, as('user:priya'), desk, 'why not')).toMatchObject({ kind: 'refused', status: 403 });
    expect(await stopScope(a, as('agent:refund-bot'), desk, 'stop me')).toMatchObject({ kind: 'refused', status: 403, reason: expect.stringContaining('not a person') });
    expect(await stopScope(a, as('user:dana'), desk, '   ')).toMatchObject({ kind: 'refused', status: 422 });
    await expect(stopScope(a, as('user:dana'), { kind: 'connector', name: 'nope' }, 'x')).rejects.toMatchObject({ code: 'input', message: expect.stringContaining('connector `nope` is not declared') });
    expect(reasonProblem('x'.repeat(501))).toBe('the reason is 501 characters; at most 500');
    expect(reasonProblem('two\nlines')).toContain('control characters');
    expect(await a.store.listHalts({ status: 'active' })).toEqual([]);
    const refused = (await a.store.readAudit(1, 100_000)).filter((r) => r.type === 'halt.refused');
    expect(refused.map((r) => [r.principal, r.body['attempted']])).toEqual(
      expect.arrayContaining([
        ['user:priya', 'stop'],
        ['agent:refund-bot', 'stop'],
        ['user:dana', 'resume'],
      ]),
    );
  });
});
