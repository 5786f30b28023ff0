// Test helper: a scripted adversary standing in for the model. It proposes whatever its script says, in order.
import type { HistoryItem, Model, ModelInput, ModelTurn } from '../../src/orchestration/model.js';
import type { JsonObject } from '../../src/types.js';

/** One proposal: a tool name and arguments, exactly as a hostile model would emit them (nothing is cleaned). */
export interface AttackProposal {
  readonly tool: string;
  readonly args: JsonObject;
  readonly reasoning?: string;
}

/** A scripted step: a fixed proposal, or one computed from what the run has seen so far (a "hijacked" model). */
export type AttackStep = AttackProposal | ((input: ModelInput) => AttackProposal);

export interface AttackerOptions {
  /** Proposed forever once the script is used up (a model stuck in a loop); no final is ever given. */
  readonly loop?: AttackStep;
  /** What the attacker claims at the end (default: "done"). */
  readonly final?: { readonly text: string; readonly claim: 'done' | 'gave-up' };
}

/**
 * A Model whose turns are a fixed list of proposals, then a final claim. The position in the script
 * is the number of tool calls already in the run's history, so the attacker picks up where it left
 * off after an approval pause, a resume or a fresh Airlock: it is stateless across processes.
 */
export class ScriptedAttacker implements Model {
  readonly provider = 'test';
  readonly model = 'scripted-attacker';
  /** Every input the attacker was given, for assertions on what the model may see. */
  readonly seen: ModelInput[] = [];

  constructor(
    private readonly steps: readonly AttackStep[],
    private readonly opts: AttackerOptions = {},
  ) {}

  async next(input: ModelInput): Promise<ModelTurn> {
    this.seen.push(input);
    const i = input.history.filter((h) => h.kind === 'tool_call').length;
    const step = i < this.steps.length ? this.steps[i] : this.opts.loop;
    if (step === undefined) {
      const f = this.opts.final ?? { text: 'all done, trust me', claim: 'done' as const };
      return { kind: 'final', text: f.text, claim: f.claim };
    }
    const p = typeof step === 'function' ? step(input) : step;
    return { kind: 'tool_call', tool: p.tool, args: p.args, ...(p.reasoning ? { reasoning: p.reasoning } : {}) };
  }
}

/** An attacker that makes the given proposals, then claims success. */
export function attacker(...steps: AttackStep[]): ScriptedAttacker {
  return new ScriptedAttacker(steps);
}

/**
 * Dispatches model turns to the attacker registered for the run's `input.attack`, so one Airlock
 * (opened once with `modelFor: () => registry`) can replay many attacks, across pauses and resumes.
 */
export class AttackRegistry implements Model {
  readonly provider = 'test';
  readonly model = 'attack-registry';
  private readonly byName = new Map<string, Model>();
  private counter = 0;

  /** Registers `model` under a fresh name and returns the run input that selects it. */
  register(model: Model, input: JsonObject = { task: 'a scripted attack on the refund desk' }): JsonObject {
    const name = `attack-${++this.counter}`;
    this.byName.set(name, model);
    return { ...input, attack: name };
  }

  async next(input: ModelInput): Promise<ModelTurn> {
    const name = input.input['attack'];
    const model = typeof name === 'string' ? this.byName.get(name) : undefined;
    if (!model) throw new Error(`no attacker registered for run input ${JSON.stringify(input.input)}`);
    return model.next(input);
  }
}

/** The latest successful result of `tool` in a history (what a hijacked model would read). */
export function lastResult(history: readonly HistoryItem[], tool: string): JsonObject | undefined {
  for (let i = history.length - 1; i >= 0; i--) {
    const h = history[i]!;
    if (h.kind === 'tool_result' && h.tool === tool && h.status === 'ok') return h.content as JsonObject;
  }
  return undefined;
}
