// The writes of the two ledgers beside the trail, inside the writer's transaction: value budgets'
// amounts (value_ledger: counted under limits, on the sums a decision saw) and model and tool
// usage per scope and day (usage_daily).
import type Database from 'better-sqlite3';
import type { UsageDelta, ValueEntry } from './store.js';

/** An action's amounts to count, on the sums its decision saw (`expected`), under their limits. */
export interface ValueCount {
  readonly entries: readonly ValueEntry[];
  readonly at: string;
  readonly runId: string;
  readonly actionHash: string;
  readonly countId: string;
  readonly expected: readonly number[] | null;
}

/** Adds one model turn's (or tool call's) usage to each of its scopes' daily sums. */
export function addUsage(db: Database.Database, u: UsageDelta): void {
  const upsert = db.prepare(
    'INSERT INTO usage_daily (scope, day, currency, model_calls, input_tokens, output_tokens, cost_micros, tool_calls) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ' +
      'ON CONFLICT (scope, day, currency) DO UPDATE SET model_calls = model_calls + excluded.model_calls, input_tokens = input_tokens + excluded.input_tokens, ' +
      'output_tokens = output_tokens + excluded.output_tokens, cost_micros = cost_micros + excluded.cost_micros, tool_calls = tool_calls + excluded.tool_calls',
  );
  for (const scope of u.scopes) upsert.run(scope, u.day, u.currency, u.modelCalls, u.inputTokens, u.outputTokens, u.costMicros, u.toolCalls);
}

/** Counts one action's amounts, or none of them when a sum moved or one would pass its limit (the sums found come back). */
export function addValue(db: Database.Database, op: ValueCount): number[] | null {
  const sum = db.prepare('SELECT COALESCE(SUM(amount), 0) AS s FROM value_ledger WHERE budget = ? AND bucket = ? AND at > ?');
  const spent = op.entries.map((e) => (sum.get(e.budget, e.bucket, e.since) as { s: number }).s);
  // INVARIANT: the sums are read inside the IMMEDIATE transaction, so no other writer counts between the check and the insert.
  const moved = op.expected !== null && op.entries.some((_, i) => spent[i] !== op.expected?.[i]);
  if (moved || op.entries.some((e, i) => e.limit !== null && (spent[i] ?? 0) + e.amount > e.limit)) return spent;
  const insert = db.prepare('INSERT INTO value_ledger (budget, bucket, amount, at, run_id, action_hash, count_id) VALUES (?, ?, ?, ?, ?, ?, ?)');
  for (const e of op.entries) insert.run(e.budget, e.bucket, e.amount, op.at, op.runId, op.actionHash, op.countId);
  return null;
}
