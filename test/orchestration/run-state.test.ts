// A run's stored state: typed by driver, parsed on load (a trust boundary), rows of the earlier
// version upgraded, and each stored version parsed once.
import { describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { runHistory, runStateOf, upgradeRunState } from '../../src/orchestration/run-state.js';
import type { RunRecord, RunStep } from '../../src/store/store.js';
import type { Json, RunId } from '../../src/types.js';

/** A state as version 1 stored it: no driver, no tool-call counter. */
const v1 = (extra: Record<string, Json> = {}): Record<string, Json> => ({
  schema: 1,
  workflow: 'refund-desk',
  input: {},
  agent: 'refund-bot',
  onBehalfOf: null,
  labels: { classification: 'public', trust: 'trusted' },
  history: [
    { kind: 'tool_call', id: 'c1', tool: 'orders.get_order', args: { order_id: '1182' } },
    { kind: 'tool_result', id: 'c1', tool: 'orders.get_order', status: 'ok', content: { total_cents: 8990 } },
  ],
  steps: 1,
  activeMs: 20,
  pending: null,
  inFlight: null,
  verifications: [],
  final: null,
  reason: null,
  ...extra,
});

let n = 0;
const row = (state: Json): RunRecord => ({ id: `run_${++n}` as RunId, workflow: 'refund-desk', status: 'running', version: 1, createdAt: 't', updatedAt: 't', state });

describe('run state', () => {
  it('upgrades version-1 rows: the driver from the door, the tool-call counter from the history', () => {
    expect(runStateOf(row(v1()))).toMatchObject({ schema: 2, driver: 'model', toolCalls: 1 });
    expect(runStateOf(row(v1({ door: 'mcp-http', instance: 'ins_1' })))).toMatchObject({ driver: 'agent', door: 'mcp-http', instance: 'ins_1' });
    const rollback = runStateOf(row(v1({ door: 'rollback', rollback: { of: 'run_0', attempt: 1, requestedBy: 'user:dana', lease: null } })));
    expect(rollback).toMatchObject({ driver: 'rollback', rollback: { of: 'run_0' } });
    // A counter already there (external runs kept one) is kept.
    expect(upgradeRunState(v1({ door: 'sdk', toolCalls: 140 }))).toMatchObject({ toolCalls: 140 });
  });

  it('refuses a stored state that does not parse, naming the run and the field', () => {
    const bad = row(v1({ labels: { classification: 'top-secret', trust: 'trusted' } }));
    expect(() => runStateOf(bad)).toThrow(AirlockError);
    expect(() => runStateOf(bad)).toThrow(/stored state of run `run_\d+` is invalid at `labels.classification`/);
    expect(() => runStateOf(row(v1({ door: 'carrier-pigeon' })))).toThrow(/invalid at `door`/);
    expect(() => runStateOf(row({ ...v1(), schema: 3 }))).toThrow(/store-corrupt|invalid/);
  });

  it('parses each stored version once: the same run at the same version is the same state', () => {
    const r = row(v1());
    const first = runStateOf(r);
    expect(runStateOf({ ...r })).toBe(first);
    expect(runStateOf({ ...r, version: 2 })).not.toBe(first);
  });

  it('reads the history from the state, then the steps kept beside the run, refusing a step that does not parse', async () => {
    const r = row(v1({ door: 'sdk', schema: 1 }));
    const steps: RunStep[] = [
      { n: 3, item: { kind: 'tool_call', id: 'c2', tool: 'orders.get_order', args: { order_id: '1183' } } },
      { n: 4, item: { kind: 'tool_result', id: 'c2', tool: 'orders.get_order', status: 'denied', content: null } },
    ];
    const store = { listRunSteps: () => Promise.resolve(steps) };
    expect((await runHistory(store, r)).map((h) => (h.kind === 'final' || h.kind === 'notice' ? h.kind : `${h.kind}:${h.id}`))).toEqual(['tool_call:c1', 'tool_result:c1', 'tool_call:c2', 'tool_result:c2']);
    const tampered = { listRunSteps: () => Promise.resolve([{ n: 3, item: { kind: 'tool_call', id: 'c2', tool: 'x', args: 'not an object' } }]) };
    await expect(runHistory(tampered, row(v1({ door: 'sdk' })))).rejects.toThrow(/step 3 of run `run_\d+` is invalid/);
  });
});
