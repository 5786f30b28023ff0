// governTool: wraps an in-process function so it runs only when Airlock allows that exact call, and
// its outcome is reported to the audit trail. The adapters (OpenAI Agents, AI SDK) are built on it.
import { jsonProblem } from '../util/json.js';
import { errorText, type AuthorizeOptions, type DecisionPoint, type Refusal } from './decision-point.js';

/** What a governed call returns: the function's value, or why it did not run. */
export type Governed<R> =
  | {
      readonly ok: true;
      readonly value: R;
      /** Set when the function ran but its outcome could not be recorded (the effect happened; do not retry it blindly). */
      readonly unreported?: string;
    }
  | Refusal;

/** A governed function: same arguments, and a value that says whether it ran. */
export type GovernedTool<A extends Readonly<Record<string, unknown>>, R> = (args: A, opts?: AuthorizeOptions) => Promise<Governed<R>>;

/**
 * Wraps `fn` as the tool `tool` (a contract name such as `app.issue_credit`). Each call asks `dp`;
 * `fn` runs only when the call is allowed, with a frozen copy of exactly the arguments Airlock
 * decided on, and then the outcome is reported (`ok`, or `error` and the error is re-thrown). A
 * refusal is returned as a value and `fn` never runs. A call pending approval: call again with the
 * same arguments once a person approved it, and it runs once.
 */
export function governTool<A extends Readonly<Record<string, unknown>>, R>(
  dp: DecisionPoint,
  tool: string,
  fn: (args: A) => R | Promise<R>,
): GovernedTool<A, R> {
  return async (args, opts) => {
    // INVARIANT: what runs is what was decided. A copy taken before asking cannot be changed while the caller awaits.
    const decided = (jsonProblem(args) === null ? deepFreeze(structuredClone(args)) : args) as A;
    const answer = await dp.authorize(tool, decided, opts);
    if (!answer.ok) return answer;
    let value: R;
    try {
      value = await fn(decided);
    } catch (err) {
      await dp.report(answer.grant, { outcome: 'error', message: errorText(err) });
      throw err;
    }
    const reported = await dp.report(answer.grant, { outcome: 'ok', result: value });
    return reported.ok ? { ok: true, value } : { ok: true, value, unreported: reported.message };
  };
}

/** Freezes a JSON value and everything in it. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
