// Run-level checks: when a run ends, probe ground truth and judge the claimed end state with CEL (pure parts, one IO seam).
import type { RunCheckSpec } from '../config/schema.js';
import type { Json, JsonObject } from '../types.js';
import { compileCelCached, evalCel, type CelResultKind } from './cel.js';

/** The variables of a run check's `when` and `args`; `expect` also sees `probe`. */
export const RUN_CHECK_VARS = ['input', 'actions'] as const;

/** One executed call of the run, as a run check sees it (in `actions`, in order). */
export interface RunAction {
  readonly tool: string;
  readonly args: JsonObject;
  /** What the tool returned; `null` when the call failed. */
  readonly result: Json;
  /** True when the call executed and the system accepted it. */
  readonly ok: boolean;
}

/** What a run check is evaluated over. */
export interface RunCheckContext {
  /** The run's input object. */
  readonly input: JsonObject;
  /** Every executed call of the run, in order. */
  readonly actions: readonly RunAction[];
}

/** Calls a read tool of the workflow (the probe). Failures are values; a throw is caught and becomes an `error`. */
export type ReadTool = (tool: string, args: JsonObject) => Promise<ProbeResult>;

/** What a probe read gave: the content, or why it failed (a connector's result has this shape). */
export type ProbeResult = { readonly ok: true; readonly content: Json } | { readonly ok: false; readonly message: string };

/** What a check saw: enough for a reviewer to redo it by hand. */
export interface RunCheckEvidence {
  /** The expression that decided the status: `expect`, or `when` for a skipped check. */
  readonly expression: string;
  /** Its value, when it was evaluated. */
  readonly value?: Json;
  readonly probe?: string;
  readonly probeArgs?: JsonObject;
  /** The probe's result, truncated (long strings and lists are cut, marked with `…`). */
  readonly probeResult?: Json;
  /** Why the check could not be evaluated (status `error`). */
  readonly message?: string;
}

export type RunCheckStatus = 'passed' | 'failed' | 'skipped' | 'error';

export interface RunCheckResult {
  readonly name: string;
  readonly status: RunCheckStatus;
  readonly evidence: RunCheckEvidence;
}

/** The first step of a check (pure): skip it, fail it with an error, or call its probe with these arguments. */
export type RunCheckPlan =
  | { readonly kind: 'done'; readonly result: RunCheckResult }
  | { readonly kind: 'probe'; readonly tool: string; readonly args: JsonObject }
  | { readonly kind: 'judge' };

/**
 * Runs each check in order: `when` (skipped, counted as passed, when false), the probe's
 * arguments, one probe call through `readTool`, then `expect`. Never throws: a failing probe, a
 * thrown `readTool` or an expression that cannot be evaluated gives status `error`.
 */
export async function runChecks(checks: readonly RunCheckSpec[], ctx: RunCheckContext, readTool: ReadTool): Promise<RunCheckResult[]> {
  const results: RunCheckResult[] = [];
  for (const check of checks) {
    const step = planRunCheck(check, ctx);
    if (step.kind === 'done') {
      results.push(step.result);
      continue;
    }
    if (step.kind === 'judge') {
      results.push(judgeRunCheck(check, ctx));
      continue;
    }
    let res: ProbeResult;
    try {
      res = await readTool(step.tool, step.args);
    } catch (e) {
      res = { ok: false, message: e instanceof Error ? e.message : String(e) };
    }
    results.push(
      res.ok
        ? judgeRunCheck(check, ctx, { tool: step.tool, args: step.args, result: res.content })
        : error(check, { expression: check.expect, probe: step.tool, probeArgs: step.args, message: `probe \`${step.tool}\` failed: ${res.message}` }),
    );
  }
  return results;
}

/** Evaluates `when` and the probe's arguments (pure). */
export function planRunCheck(check: RunCheckSpec, ctx: RunCheckContext): RunCheckPlan {
  const bindings = bindingsOf(ctx);
  if (check.when !== undefined) {
    const when = evaluate(check.when, RUN_CHECK_VARS, 'bool', bindings);
    if (!when.ok) return { kind: 'done', result: error(check, { expression: check.when, message: `\`when\`: ${when.message}` }) };
    if (when.value !== true) return { kind: 'done', result: { name: check.name, status: 'skipped', evidence: { expression: check.when, value: when.value } } };
  }
  if (check.probe === undefined) return { kind: 'judge' };
  const args: Record<string, Json> = {};
  for (const [name, source] of Object.entries(check.args)) {
    const v = evaluate(source, RUN_CHECK_VARS, 'any', bindings);
    if (!v.ok) {
      return { kind: 'done', result: error(check, { expression: source, probe: check.probe, message: `probe argument \`${name}\`: ${v.message}` }) };
    }
    args[name] = v.value;
  }
  return { kind: 'probe', tool: check.probe, args };
}

/** Evaluates `expect` over the run and, when the check has one, the probe's result (pure). */
export function judgeRunCheck(
  check: RunCheckSpec,
  ctx: RunCheckContext,
  probe?: { readonly tool: string; readonly args: JsonObject; readonly result: Json },
): RunCheckResult {
  const seen: Omit<RunCheckEvidence, 'expression'> = probe ? { probe: probe.tool, probeArgs: probe.args, probeResult: truncateJson(probe.result) } : {};
  const vars = probe ? [...RUN_CHECK_VARS, 'probe'] : RUN_CHECK_VARS;
  const v = evaluate(check.expect, vars, 'bool', probe ? { ...bindingsOf(ctx), probe: probe.result } : bindingsOf(ctx));
  if (!v.ok) return error(check, { expression: check.expect, ...seen, message: `\`expect\`: ${v.message}` });
  return { name: check.name, status: v.value === true ? 'passed' : 'failed', evidence: { expression: check.expect, value: v.value, ...seen } };
}

function bindingsOf(ctx: RunCheckContext): Record<string, Json> {
  return { input: ctx.input, actions: ctx.actions.map((a) => ({ tool: a.tool, args: a.args, result: a.result, ok: a.ok })) };
}

function evaluate(source: string, vars: readonly string[], result: CelResultKind, bindings: Readonly<Record<string, Json>>): { ok: true; value: Json } | { ok: false; message: string } {
  const c = compileCelCached(source, vars, { result });
  if (!c.ok) return { ok: false, message: `${c.message}${c.column === undefined ? '' : ` (at column ${c.column})`}` };
  return evalCel(c.program, bindings);
}

function error(check: RunCheckSpec, evidence: RunCheckEvidence): RunCheckResult {
  return { name: check.name, status: 'error', evidence };
}

/** Limits of `truncateJson`. */
const TRUNCATE = { maxString: 500, maxItems: 50, maxDepth: 8 } as const;

/**
 * A bounded copy of a JSON value for evidence: strings past 500 characters and lists past 50
 * items are cut (a `…` marks the cut), objects and lists below depth 8 become `"…"`.
 */
export function truncateJson(v: Json, depth = 0): Json {
  if (typeof v === 'string') return v.length > TRUNCATE.maxString ? `${v.slice(0, TRUNCATE.maxString)}… (${v.length} characters)` : v;
  if (v === null || typeof v !== 'object') return v;
  if (depth >= TRUNCATE.maxDepth) return '…';
  if (Array.isArray(v)) {
    const items = (v as readonly Json[]).slice(0, TRUNCATE.maxItems).map((x) => truncateJson(x, depth + 1));
    return v.length > TRUNCATE.maxItems ? [...items, `… (${v.length - TRUNCATE.maxItems} more)`] : items;
  }
  const entries = Object.entries(v as Readonly<Record<string, Json>>);
  const out: Record<string, Json> = {};
  for (const [k, x] of entries.slice(0, TRUNCATE.maxItems)) {
    Object.defineProperty(out, k, { value: truncateJson(x, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  if (entries.length > TRUNCATE.maxItems) out['…'] = `${entries.length - TRUNCATE.maxItems} more keys`;
  return out;
}
