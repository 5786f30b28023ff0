// The run state machine's pure rules: legal transitions, budgets, and what "done" needs.
import { describe, expect, it } from 'vitest';
import { canTransition, exhaustedBudget, exhaustedDaily, finalStatus, initialState, nextWork, type RunState } from '../../src/orchestration/run-machine.js';

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

  it('daily budgets: the workflow\'s sum and the principal\'s, each currency on its own', () => {
    const run: RunState = { ...base, onBehalfOf: 'user:dana' };
    const rows = [
      { scope: 'workflow:wf', currency: 'USD', modelCalls: 40, inputTokens: 9_000, outputTokens: 800, costMicros: 900_000, toolCalls: 30 },
      { scope: 'workflow:wf', currency: 'EUR', modelCalls: 2, inputTokens: 100, outputTokens: 10, costMicros: 100_000, toolCalls: 0 },
      { scope: 'principal:user:dana', currency: 'USD', modelCalls: 5, inputTokens: 500, outputTokens: 50, costMicros: 50_000, toolCalls: 4 },
      { scope: 'principal:user:other', currency: 'USD', modelCalls: 500, inputTokens: 1, outputTokens: 1, costMicros: 1, toolCalls: 900 },
    ];
    expect(exhaustedDaily(run, { ...budgets, perDay: { modelCalls: 43 } }, rows)).toBeNull();
    expect(exhaustedDaily(run, { ...budgets, perDay: { modelCalls: 42 } }, rows)).toBe('daily model-call budget of 42 for workflow `wf` reached');
    expect(exhaustedDaily(run, { ...budgets, perDay: { cost: 0.95 } }, rows)).toBeNull();
    expect(exhaustedDaily(run, { ...budgets, perDay: { cost: 0.9 } }, rows)).toMatch(/daily cost budget of 0.9 USD for workflow `wf` reached \(0.900000 spent today\)/);
    expect(exhaustedDaily(run, { ...budgets, perPrincipalPerDay: { outputTokens: 50 } }, rows)).toMatch(/daily output-token budget of 50 for `user:dana` reached/);
    expect(exhaustedDaily(run, { ...budgets, perDay: { toolCalls: 30 } }, rows)).toBe('daily tool-call budget of 30 for workflow `wf` reached');
    expect(exhaustedDaily(run, { ...budgets, perPrincipalPerDay: { toolCalls: 5 } }, rows)).toBeNull();
    // Without a person it acts for, the agent's own sum counts.
    expect(exhaustedDaily(base, { ...budgets, perPrincipalPerDay: { modelCalls: 1 } }, rows)).toBeNull();
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
