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
    tool: m.tool === undefined ? null : m.tool.slice(0, MAX_DETAIL),
    excerpt: m.excerpt === undefined ? null : m.excerpt.slice(0, MAX_DETAIL),
    repair: !repairing,
  };
}

/** Why the run ended after its repair turn was unusable too. */
export function unusableReason(e: MalformedEvent): string {
  return `the model's reply could not be used, again after a repair turn (${e.problem}: ${e.detail})`;
}

/**
 * What the model is told before its repair turn: what kind of thing was wrong and what a usable reply
 * is. Fixed text only: nothing the model chose (a tool name, its arguments, a parser's message that
 * quotes them) is ever put in Airlock's voice; the details are in the `model.malformed` record.
 */
export function repairNotice(problem: MalformedProblem): string {
  const usable = 'Reply with exactly one call to one of the tools you were given, with a JSON object of arguments that matches its schema, or finish with a short summary and no tool call.';
  const what: Record<MalformedProblem, string> = {
    'invalid-arguments': 'Your last reply called a tool with arguments that were not a JSON object. Nothing was executed.',
    truncated: 'Your last reply was cut off before it ended, so none of it was used. Answer more briefly.',
    refused: 'Your last reply was a refusal. If the task cannot or should not be done, finish with a short summary saying why and no tool call.',
    empty: 'Your last reply held nothing usable.',
    unreadable: 'Your last reply could not be read (it did not finish, or was not in the expected form), so none of it was used.',
    'unknown-tool': 'Your last reply called a tool that is not one of those you were given; nothing was called.',
  };
  return `${what[problem]} ${usable}`;
}
