// What happens to a model reply that cannot be used (pure): arguments that are not a JSON object, a
// reply cut off, a refusal, an empty reply, or a tool the model was not offered. None of it is ever
// acted on. The first in a row is recorded and answered with a notice telling the model what was
// wrong (one repair turn); a second in a row ends the run, on record, saying why.
import type { HistoryItem, MalformedProblem } from './model.js';

/** The longest detail or excerpt a record keeps of an unusable reply. */
const MAX_DETAIL = 300;

/** An unusable reply as the run records it (a run event): with `repair`, the model is told why before its next turn. */
export interface MalformedEvent {
  readonly type: 'model-malformed';
  readonly problem: MalformedProblem;
  readonly detail: string;
  readonly tool: string | null;
  readonly excerpt: string | null;
  readonly repair: boolean;
}

/** Whether the turn about to be asked is the repair turn: the last thing the model was told is a notice. */
export function isRepairTurn(history: readonly HistoryItem[]): boolean {
  return history[history.length - 1]?.kind === 'notice';
}

/** The event for an unusable reply; `repairing` when it came in the repair turn (no second notice). */
export function malformedEvent(m: { problem: MalformedProblem; detail: string; tool?: string | undefined; excerpt?: string | undefined }, repairing: boolean): MalformedEvent {
  return {
    type: 'model-malformed',
    problem: m.problem,
    detail: m.detail.slice(0, MAX_DETAIL),
    tool: m.tool ?? null,
    excerpt: m.excerpt === undefined ? null : m.excerpt.slice(0, MAX_DETAIL),
    repair: !repairing,
  };
}

/** Why the run ended after its repair turn was unusable too. */
export function unusableReason(e: MalformedEvent): string {
  return `the model's reply could not be used, again after a repair turn (${e.problem}: ${e.detail})`;
}

/** What the model is told before its repair turn: what was wrong and what a usable reply is. */
export function repairNotice(problem: MalformedProblem, detail: string, tool: string | null): string {
  const usable = 'Reply with exactly one call to one of the tools you were given, with a JSON object of arguments that matches its schema, or finish with a short summary and no tool call.';
  switch (problem) {
    case 'invalid-arguments':
      return `Your last reply could not be used: ${tool ? `its call to \`${tool}\` had arguments that were not usable` : 'its tool call had unusable arguments'} (${detail}). Nothing was executed. ${usable}`;
    case 'truncated':
      return `Your last reply was cut off before it ended (${detail}), so none of it was used. Answer more briefly. ${usable}`;
    case 'refused':
      return `Your last reply was a refusal (${detail}). If the task cannot or should not be done, finish with a short summary saying why and no tool call. ${usable}`;
    case 'empty':
      return `Your last reply held nothing usable (${detail}). ${usable}`;
    case 'unknown-tool':
      return `\`${tool ?? '?'}\` is not one of the tools you were given, and it was not called. ${usable}`;
  }
}
