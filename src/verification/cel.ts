// CEL (Common Expression Language) for verification checks: compile once against declared variables, evaluate over JSON (pure).
import {
  celEnv,
  celFunc,
  CelScalar,
  isCelError,
  parse,
  plan,
  type CelEnv,
  type CelInput,
  type CelResult,
  type CelValue,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import type { Json } from '../types.js';
import { CheckError, StaticCheck } from './cel-check.js';
import type { CelCompileResult, CelEvalResult, CelProgram, CelResultKind } from './cel-types.js';

export type { CelCompileResult, CelEvalResult, CelFieldRef, CelProgram, CelResultKind } from './cel-types.js';
import { countIterations, STEP } from './cel-iterations.js';
import { celToJson, jsonToCel, typeName } from './cel-json.js';
import { CEL_LIMITS } from './cel-limits.js';
import { article, errorMessage, positionsOf, runtimeMessage, syntaxError, type CelPositions } from './cel-messages.js';

/** How a compiled program runs: its plan and its iteration counter (evaluation is synchronous, one at a time). */
interface Internals {
  readonly run: (bindings: Record<string, CelInput>) => CelResult;
  readonly budget: { left: number };
  readonly positions: CelPositions;
}

const internals = new WeakMap<CelProgram, Internals>();

/**
 * Parses `source` and checks it against `vars` (each bound to JSON, so of type `dyn`): unknown
 * variables and functions, calls no overload accepts, fields of values that have none, and (with
 * `result: 'bool'`) an expression whose type is known not to be `bool`. Never throws.
 */
export function compileCel(source: string, vars: readonly string[], opts: { readonly result?: CelResultKind } = {}): CelCompileResult {
  const result = opts.result ?? 'any';
  if (source.trim() === '') return { ok: false, message: 'the expression is empty', hint: 'write a CEL expression, e.g. `probe.status == "resolved"`' };
  if (source.length > CEL_LIMITS.maxSourceLength) {
    return { ok: false, message: `the expression is ${source.length} characters long, more than the limit of ${CEL_LIMITS.maxSourceLength}`, hint: 'split it into several checks' };
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(source);
  } catch (e) {
    return syntaxError(source, e);
  }
  const where = positionsOf(source, parsed.sourceInfo);
  const checker = new StaticCheck(new Set(vars), where);
  let type: string;
  try {
    type = checker.check(parsed.expr, new Map(), 0);
  } catch (e) {
    if (!(e instanceof CheckError)) return { ok: false, message: `the expression cannot be checked: ${e instanceof RangeError ? 'it nests too deeply' : errorMessage(e)}` };
    const pos = where(e.id);
    return { ok: false, message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }), ...(pos ?? {}) };
  }
  if (result === 'bool' && type !== 'bool' && type !== 'dyn') {
    return {
      ok: false,
      message: `the expression gives ${article(type)} \`${type}\`, not a \`bool\``,
      hint: 'a check must be true or false: compare the value, e.g. `probe.status == "resolved"` or `size(probe.refunds) == 1`',
      line: 1,
      column: 1,
    };
  }
  const budget = { left: 0 };
  const step = celFunc(STEP, [CelScalar.DYN], CelScalar.DYN, (v: CelValue): CelInput => {
    budget.left--;
    if (budget.left < 0) throw new Error(`evaluation stopped after ${CEL_LIMITS.maxIterations} comprehension iterations (the limit)`);
    return v as CelInput;
  });
  const env: CelEnv = celEnv({ funcs: [...strings, step], variables: Object.fromEntries(vars.map((v) => [v, CelScalar.DYN])) });
  let run: Internals['run'];
  try {
    const counted = countIterations(parsed.expr, checker.maxId() + 1n);
    run = plan(env, counted) as Internals['run'];
  } catch (e) {
    return { ok: false, message: `the expression cannot be planned: ${errorMessage(e)}` };
  }
  const program: CelProgram = { source, vars: [...vars], result, type, fields: checker.fields };
  internals.set(program, { run, budget, positions: where });
  return { ok: true, program };
}

/**
 * Evaluates a compiled program with each of its variables bound to JSON. Deterministic and
 * without side effects: no function reads a clock, a file or the network. A `bool` program
 * that gives anything but a bool is an error naming the type. Never throws.
 */
export function evalCel(program: CelProgram, bindings: Readonly<Record<string, Json>>): CelEvalResult {
  const inner = internals.get(program);
  if (inner === undefined) return { ok: false, message: 'not a compiled CEL program (use `compileCel`)' };
  const input: Record<string, CelInput> = {};
  const size = { left: CEL_LIMITS.maxInputValues, chars: CEL_LIMITS.maxInputChars };
  for (const name of program.vars) {
    const value = bindings[name];
    if (value === undefined) return { ok: false, message: `variable \`${name}\` has no value` };
    const converted = jsonToCel(value, size, 0);
    if (!converted.ok) return { ok: false, message: `variable \`${name}\`: ${converted.message}` };
    input[name] = converted.value;
  }
  inner.budget.left = CEL_LIMITS.maxIterations;
  let out: CelResult;
  try {
    out = inner.run(input);
  } catch (e) {
    return { ok: false, message: e instanceof RangeError ? 'the evaluation ran out of stack (too deeply nested values or lists)' : errorMessage(e) };
  }
  if (inner.budget.left < 0) {
    return { ok: false, message: `evaluation stopped after ${CEL_LIMITS.maxIterations} comprehension iterations (the limit)` };
  }
  if (isCelError(out)) return { ok: false, message: runtimeMessage(out, inner.positions) };
  if (program.result === 'bool' && typeof out !== 'boolean') {
    return { ok: false, message: `the expression gave ${article(typeName(out))} \`${typeName(out)}\`, not a \`bool\`` };
  }
  const json = celToJson(out, 0);
  return json.ok ? { ok: true, value: json.value } : json;
}

/** Compiled programs by result kind, variables and source: an expression from the workspace compiles once per process. */
const cache = new Map<string, CelCompileResult>();

/** `compileCel`, remembered: for expressions already checked when the workspace loaded. */
export function compileCelCached(source: string, vars: readonly string[], opts: { readonly result?: CelResultKind } = {}): CelCompileResult {
  const key = `${opts.result ?? 'any'}\n${vars.join(',')}\n${source}`;
  let c = cache.get(key);
  if (c === undefined) {
    c = compileCel(source, vars, opts);
    if (cache.size >= 1000) cache.clear();
    cache.set(key, c);
  }
  return c;
}
