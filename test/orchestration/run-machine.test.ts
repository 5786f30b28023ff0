// The run state machine's pure rules: legal transitions, budgets, and what "done" needs.
import { describe, expect, it } from 'vitest';
import { canTransition, exhaustedBudget, finalStatus, initialState, nextWork, type RunState } from '../../src/orchestration/run-machine.js';

const base = initialState('wf', {}, 'bot', null, { classification: 'public', trust: 'trusted' });
const budgets = { steps: 5, wallTimeMs: 1000 };

describe('run machine', () => {
  it('terminal statuses go nowhere; a paused run can resume or be cancelled', () => {
    expect(canTransition('verified', 'running')).toBe(false);
    expect(canTransition('failed', 'running')).toBe(false);
    expect(canTransition('awaiting-approval', 'running')).toBe(true);
    expect(canTransition('awaiting-approval', 'cancelled')).toBe(true);
    expect(canTransition('awaiting-approval', 'verified')).toBe(false);
    expect(canTransition('queued', 'running')).toBe(true);
  });

  it('budgets: steps, wall time and tool calls', () => {
    expect(exhaustedBudget(base, budgets)).toBeNull();
    expect(exhaustedBudget({ ...base, steps: 5 }, budgets)).toMatch(/step budget/);
    expect(exhaustedBudget({ ...base, activeMs: 1000 }, budgets)).toMatch(/wall-time/);
    // The counter in state is what counts (an external run's history is bounded); the runner keeps both.
    const calls: RunState = { ...base, history: [{ kind: 'tool_call', id: 'c1', tool: 't.x', args: {} }], toolCalls: 1 };
    expect(exhaustedBudget(calls, { ...budgets, toolCalls: 1 })).toMatch(/tool-call budget/);
  });

  it('budgets: model calls, tokens and cost, from the usage kept in state', () => {
    const used: RunState = { ...base, usage: { modelCalls: 3, inputTokens: 900, outputTokens: 120, costMicros: 250_000, currency: 'USD' } };
    expect(exhaustedBudget(used, { ...budgets, steps: 100 })).toBeNull();
    expect(exhaustedBudget(used, { ...budgets, steps: 100, modelCalls: 3 })).toMatch(/model-call budget of 3/);
    expect(exhaustedBudget(used, { ...budgets, steps: 100, inputTokens: 900 })).toMatch(/input-token budget of 900 exhausted \(900 used\)/);
    expect(exhaustedBudget(used, { ...budgets, steps: 100, outputTokens: 121 })).toBeNull();
    expect(exhaustedBudget(used, { ...budgets, steps: 100, cost: 0.25 })).toBe('cost budget of 0.25 USD exhausted (0.250000 spent)');
    expect(exhaustedBudget(used, { ...budgets, steps: 100, cost: 0.26 })).toBeNull();
  });

  it('"done" needs evidence: a failed check makes the run unverified whatever the model claims', () => {
    const done = { ...base, final: { text: 'all done', claim: 'done' as const } };
    expect(finalStatus(done)).toBe('completed');
    expect(finalStatus({ ...done, verifications: [{ callId: 'c1', tool: 'p.r', status: 'passed' }] })).toBe('verified');
    expect(
      finalStatus({
        ...done,
        verifications: [
          { callId: 'c1', tool: 'p.r', status: 'passed' },
          { callId: 'c2', tool: 'p.r', status: 'failed' },
        ],
      }),
    ).toBe('unverified');
    expect(finalStatus({ ...done, verifications: [{ callId: 'c1', tool: 'p.r', status: 'error' }] })).toBe('unverified');
    expect(finalStatus({ ...base, final: { text: 'stuck', claim: 'gave-up' } })).toBe('failed');
  });

  it('next work: a call in flight after a crash is recovered, never re-sent', () => {
    expect(nextWork('running', base)).toBe('call-model');
    expect(nextWork('running', { ...base, inFlight: { callId: 'c1', tool: 'payments.refund' } })).toBe('recover-in-flight');
    expect(nextWork('awaiting-approval', base)).toBe('check-approval');
    expect(nextWork('verified', base)).toBe('none');
  });
});
