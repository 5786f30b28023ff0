// The one state machine every driver applies: what each event does to a run, the steps it appends
// beside an external run, the records it commits with the change, and the moves it refuses.
import { describe, expect, it } from 'vitest';
import { initialState, type AgentRunState, type RollbackRunState, type RunState } from '../../src/orchestration/run-machine.js';
import { transition, type RunEvent } from '../../src/orchestration/run-transition.js';
import { AirlockError } from '../../src/errors.js';
import type { ApprovalId, RunId } from '../../src/types.js';

const model = initialState('wf', {}, 'bot', null, { classification: 'public', trust: 'trusted' });
const agent: AgentRunState = { ...model, driver: 'agent', door: 'mcp-http' };
const rollback: RollbackRunState = { ...model, driver: 'rollback', door: 'rollback', rollback: { of: 'r1' as RunId, attempt: 1, requestedBy: 'user:ann', lease: null } };
const raised = { classification: 'confidential', trust: 'untrusted' } as const;

const types = (records: readonly { type: string }[]): string[] => records.map((r) => r.type);
const internal = (fn: () => unknown): void => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockError);
    expect((e as AirlockError).code).toBe('internal');
    return;
  }
  throw new Error('expected an internal error');
};

describe('run transition', () => {
  it("Airlock's own loop: a call goes into the conversation, is counted, and is in flight until its answer", () => {
    const sent = transition({ status: 'running', state: model }, { type: 'step' }, { type: 'call-sent', id: 'c1', tool: 'crm.read', args: { id: 7 }, reasoning: 'look' });
    expect(sent.state).toMatchObject({ steps: 1, toolCalls: 1, inFlight: { callId: 'c1', tool: 'crm.read' } });
    expect(sent.state.history).toEqual([{ kind: 'tool_call', id: 'c1', tool: 'crm.read', args: { id: 7 }, reasoning: 'look' }]);
    expect(sent.steps).toEqual([]);
    expect(sent.records).toEqual([]);

    const back = transition(sent, { type: 'call-returned', id: 'c1', tool: 'crm.read', status: 'ok', content: { name: 'x' }, labels: raised, verification: 'passed' });
    expect(back.state.inFlight).toBeNull();
    expect(back.state.labels).toEqual(raised);
    expect(back.state.verifications).toEqual([{ callId: 'c1', tool: 'crm.read', status: 'passed' }]);
    expect(back.state.history.at(-1)).toEqual({ kind: 'tool_result', id: 'c1', tool: 'crm.read', status: 'ok', content: { name: 'x' } });
  });

  it("an external agent's calls are its steps, appended beside the run with numbers that never repeat; its state stays small", () => {
    let at: { status: 'running'; state: RunState } = { status: 'running', state: agent };
    const numbers: number[] = [];
    for (let i = 1; i <= 105; i++) {
      const id = `c${at.state.steps + 1}`;
      const t = transition(at, { type: 'call-sent', id, tool: 't.w', args: { i } }, { type: 'call-returned', id, tool: 't.w', status: 'ok', content: i });
      numbers.push(...t.steps.map((s) => s.n));
      expect(t.steps.map((s) => (s.item as { kind: string }).kind)).toEqual(['tool_call', 'tool_result']);
      at = { status: 'running', state: t.state };
    }
    expect(at.state).toMatchObject({ steps: 105, toolCalls: 105, history: [], inFlight: null });
    expect(numbers).toEqual(Array.from({ length: 210 }, (_, i) => i + 1));
  });

  it('a call for a person waits aside, goes in flight when approved, and its answer resumes the run', () => {
    const sent = transition({ status: 'running', state: model }, { type: 'call-sent', id: 'c1', tool: 'pay', args: { a: 1 } });
    const waiting = transition(sent, { type: 'approval-awaited', approvalId: 'ap1' as ApprovalId, id: 'c1', tool: 'pay', args: { a: 1 } });
    expect(waiting.status).toBe('awaiting-approval');
    expect(waiting.state.inFlight).toBeNull();
    expect(waiting.state.pending).toEqual({ approvalId: 'ap1', callId: 'c1', tool: 'pay', args: { a: 1 } });
    expect(waiting.records).toEqual([{ type: 'run.status', body: { from: 'running', to: 'awaiting-approval', reason: null } }]);

    const approved = transition({ status: waiting.status, state: waiting.state }, { type: 'approved-call-sent' });
    expect(approved.status).toBe('running');
    expect(approved.state.inFlight).toEqual({ callId: 'c1', tool: 'pay' });
    const done = transition(approved, { type: 'call-returned', id: 'c1', tool: 'pay', status: 'ok', content: 'paid' });
    expect(done.state.pending).toBeNull();
    expect(done.state.inFlight).toBeNull();

    // A rejection answers the waiting call directly: the run runs again, and the move is recorded.
    const rejected = transition({ status: waiting.status, state: waiting.state }, { type: 'call-returned', id: 'c1', tool: 'pay', status: 'rejected', content: { error: 'no' } });
    expect(rejected.status).toBe('running');
    expect(types(rejected.records)).toEqual(['run.status']);
    internal(() => transition({ status: 'running', state: model }, { type: 'approved-call-sent' }));
  });

  it('a budget stop fails the run with the budget, the status change and the end in one set of records', () => {
    const t = transition({ status: 'running', state: { ...agent, steps: 3 } }, { type: 'time', ms: 250 }, { type: 'budget-exhausted', reason: 'step budget of 3 exhausted', endedBy: 'session' });
    expect(t.status).toBe('failed');
    expect(t.state.reason).toBe('step budget of 3 exhausted');
    expect(types(t.records)).toEqual(['run.budget-exhausted', 'run.status', 'run.finished']);
    expect(t.records[0]?.body).toEqual({ reason: 'step budget of 3 exhausted', steps: 3, activeMs: 250 });
    expect(t.records[2]?.body).toMatchObject({ status: 'failed', steps: 3, activeMs: 250, claim: null, endedBy: 'session' });
  });

  it('an end keeps the reason it had unless it gives one, and clears what was in flight', () => {
    const claimed = transition({ status: 'running', state: { ...model, reason: 'check failed' } }, { type: 'claimed', text: 'all done', claim: 'done' }, { type: 'ended', status: 'unverified', reason: null });
    expect(claimed.state.reason).toBe('check failed');
    expect(claimed.state.final).toEqual({ text: 'all done', claim: 'done' });
    expect(claimed.state.history.at(-1)).toEqual({ kind: 'final', text: 'all done', claim: 'done' });
    // An external agent's history is not kept in state: its claim is the run's final, not a new item.
    expect(transition({ status: 'running', state: agent }, { type: 'claimed', text: 'bye', claim: 'done' }).state.history).toEqual([]);

    const interrupted = transition({ status: 'running', state: { ...model, inFlight: { callId: 'c2', tool: 'pay' } } }, { type: 'ended', status: 'failed', reason: 'interrupted' });
    expect(interrupted.state.inFlight).toBeNull();
    expect(interrupted.records[1]?.body).toMatchObject({ status: 'failed', reason: 'interrupted', activeMs: 0 });
    expect(interrupted.records[1]?.body).not.toHaveProperty('endedBy');
  });

  it('a rollback run holds a lease, pauses at an approval, and ends with no active time of its own', () => {
    const started = transition({ status: 'failed', state: rollback }, { type: 'leased', lease: { holder: 'h', until: 'later' } });
    expect(started.state).toMatchObject({ rollback: { lease: { holder: 'h', until: 'later' } } });
    const paused = transition({ status: 'running', state: started.state }, { type: 'step' }, { type: 'leased', lease: null }, { type: 'paused', reason: 'waiting for approval' });
    expect(paused.status).toBe('awaiting-approval');
    expect(paused.records).toEqual([{ type: 'run.status', body: { from: 'running', to: 'awaiting-approval', reason: 'waiting for approval' } }]);
    const resumed = transition({ status: paused.status, state: paused.state }, { type: 'started', clearReason: true });
    expect(resumed.state.reason).toBeNull();
    const done = transition(resumed, { type: 'ended', status: 'completed' });
    expect(done.records.at(-1)?.body).toMatchObject({ status: 'completed', steps: 1, activeMs: null });
    internal(() => transition({ status: 'running', state: model }, { type: 'leased', lease: null }));
  });

  it("counts a model turn's tokens and cost (micro-units of the price's currency) and records it", () => {
    const price = { version: 'p1', currency: 'EUR', inputPerMillion: 3, outputPerMillion: 15 };
    const one = transition({ status: 'running', state: model }, { type: 'model-answered', route: 'big', provider: 'openai', model: 'm', usage: { inputTokens: 1000, outputTokens: 200 }, price, at: '2026-12-06T10:00:00.000Z' });
    expect(one.state.steps).toBe(1);
    expect(one.state.usage).toEqual({ modelCalls: 1, inputTokens: 1000, outputTokens: 200, costMicros: 6000, currency: 'EUR' });
    expect(one.records).toEqual([{ type: 'model.called', body: { route: 'big', provider: 'openai', model: 'm', inputTokens: 1000, outputTokens: 200, cost: 0.006, currency: 'EUR', priceVersion: 'p1' } }]);
    // A turn with no usage reported, on an unpriced route: counted as a call, nothing guessed.
    const two = transition({ status: 'running', state: one.state }, { type: 'model-answered', route: 'script', provider: 'airlock-scripted', model: 's', at: '2026-12-07T00:00:01.000Z' });
    expect(two.state.usage).toEqual({ modelCalls: 2, inputTokens: 1000, outputTokens: 200, costMicros: 6000, currency: 'EUR' });
    expect(two.records[0]?.body).toMatchObject({ inputTokens: null, outputTokens: null, cost: null, currency: null, priceVersion: null });
    // Each turn adds to the daily sums of its workflow, its principals and its route, on its own UTC day.
    expect(one.usage).toEqual([{ scopes: ['workflow:wf', 'principal:agent:bot', 'route:big'], day: '2026-12-06', currency: 'EUR', modelCalls: 1, inputTokens: 1000, outputTokens: 200, costMicros: 6000, toolCalls: 0 }]);
    expect(two.usage).toEqual([{ scopes: ['workflow:wf', 'principal:agent:bot', 'route:script'], day: '2026-12-07', currency: '', modelCalls: 1, inputTokens: 0, outputTokens: 0, costMicros: 0, toolCalls: 0 }]);
  });

  it('a halt holds a run waiting for an owner (a queued one starts first); lifted, it runs on, or keeps waiting on its approval', () => {
    const queued = transition({ status: 'queued', state: model }, { type: 'halted', haltId: 'hlt_1', reason: 'halted: stopped' });
    expect(queued.status).toBe('awaiting-approval');
    expect(queued.state).toMatchObject({ halt: { id: 'hlt_1' }, reason: 'halted: stopped', inFlight: null, pending: null });
    expect(queued.records.map((r) => [r.type, r.body['to']])).toEqual([['run.status', 'running'], ['run.status', 'awaiting-approval']]);
    const lifted = transition(queued, { type: 'halt-lifted' });
    expect(lifted.status).toBe('running');
    expect(lifted.state.halt).toBeUndefined();
    expect(lifted.state.reason).toBeNull();

    // An approved call about to be sent when the halt came: it goes back to waiting, its approval kept aside.
    const waiting = transition({ status: 'running', state: model }, { type: 'call-sent', id: 'c1', tool: 'pay', args: {} }, { type: 'approval-awaited', approvalId: 'ap1' as ApprovalId, id: 'c1', tool: 'pay', args: {} });
    const held = transition(waiting, { type: 'approved-call-sent' }, { type: 'halted', haltId: 'hlt_2', reason: 'halted' });
    expect(held.status).toBe('awaiting-approval');
    expect(held.state).toMatchObject({ inFlight: null, pending: { approvalId: 'ap1' }, halt: { id: 'hlt_2' } });
    const on = transition(held, { type: 'halt-lifted' });
    expect(on.status).toBe('awaiting-approval');
    expect(on.state).toMatchObject({ pending: { approvalId: 'ap1' }, halt: undefined });
  });

  it('refuses illegal moves: out of a terminal status, or an end that is not terminal', () => {
    const ended: RunEvent[] = [{ type: 'ended', status: 'verified' }];
    internal(() => transition({ status: 'cancelled', state: model }, ...ended));
    internal(() => transition({ status: 'verified', state: model }, { type: 'started' }));
    internal(() => transition({ status: 'running', state: model }, { type: 'ended', status: 'awaiting-approval' }));
    internal(() => transition({ status: 'completed', state: model }, { type: 'approval-awaited', approvalId: 'a' as ApprovalId, id: 'c', tool: 't', args: {} }));
  });
});
