// CEL (Common Expression Language) for verification checks: compile once against declared variables, evaluate over JSON (pure).
import {
  celEnv,
  celFunc,
  CelScalar,
  celType,
  isCelError,
  isCelList,
  isCelMap,
  isCelType,
  isCelUint,
  parse,
  plan,
  type CelEnv,
  type CelError,
  type CelInput,
  type CelResult,
  type CelType,
  type CelValue,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import type { Json } from '../types.js';

/**
 * What an expression may cost. The library has no cost tracker, so Airlock bounds what it can:
 * the source and its syntax tree by size, comprehensions (`exists`, `all`, `filter`, `map`,
 * `exists_one`) by nesting and, at run time, by the total number of iterations of one evaluation;
 * the JSON bound to the variables by count, characters and depth. The worst case is still
 * iterations × the cost of one string function on the longest bound string.
 */
export const CEL_LIMITS = {
  /** Characters of source. */
  maxSourceLength: 4096,
  /** Nodes of the syntax tree (after macro expansion). */
  maxNodes: 2000,
  /** Comprehensions nested inside one another. */
  maxComprehensionDepth: 3,
  /** Comprehension iterations in one evaluation, all comprehensions together. */
  maxIterations: 50_000,
  /** JSON values (every scalar, array and object) bound to the variables of one evaluation. */
  maxInputValues: 200_000,
  /** Characters of all strings and keys bound to the variables of one evaluation. */
  maxInputChars: 2_000_000,
  /** Nesting of the JSON bound to a variable. */
  maxInputDepth: 64,
} as const;

/** What a program must produce: a `bool` (a check) or any JSON value (an argument). */
export type CelResultKind = 'bool' | 'any';

/** A compiled expression: parsed and statically checked. Evaluate it with `evalCel`. */
export interface CelProgram {
  readonly source: string;
  /** The variables it may use, each bound to JSON when it is evaluated. */
  readonly vars: readonly string[];
  readonly result: CelResultKind;
  /** The static type of the expression (`bool`, `int`, `string`, `list`, `map`, ... or `dyn` when it depends on the data). */
  readonly type: string;
  /** The fields read directly off each variable (`args.order_id` → `{ variable: 'args', field: 'order_id' }`), to check against schemas. */
  readonly fields: readonly CelFieldRef[];
}

/** A field read directly off a variable, with where it is (1-based, in the expression's text). */
export interface CelFieldRef {
  readonly variable: string;
  readonly field: string;
  readonly line: number;
  readonly column: number;
}

/** The outcome of `compileCel`: a program, or what is wrong and where (1-based, in the expression's own text). */
export type CelCompileResult =
  | { readonly ok: true; readonly program: CelProgram }
  | { readonly ok: false; readonly message: string; readonly hint?: string; readonly line?: number; readonly column?: number };

/** The outcome of `evalCel`. An evaluation error (a missing field, a type mismatch, a limit) is a value. */
export type CelEvalResult = { readonly ok: true; readonly value: Json } | { readonly ok: false; readonly message: string };

type Expr = ReturnType<typeof parse>['expr'];
type SourceInfo = NonNullable<ReturnType<typeof parse>['sourceInfo']>;

/** How a compiled program runs: its plan and its iteration counter (evaluation is synchronous, one at a time). */
interface Internals {
  readonly run: (bindings: Record<string, CelInput>) => CelResult;
  readonly budget: { left: number };
  readonly positions: (id: bigint | undefined) => { line: number; column: number } | undefined;
}

const internals = new WeakMap<CelProgram, Internals>();

/** The name of the iteration counter spliced into every comprehension; `@` keeps it out of reach of the source. */
const STEP = '@airlock_step';

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

// --- JSON in, JSON out ---------------------------------------------------------------------

const INT64_MAX = 2n ** 63n - 1n;

/**
 * JSON to CEL: an integral number is an `int` (so it equals an int literal and adds to one),
 * any other number a `double`; objects are maps, arrays lists.
 */
function jsonToCel(v: Json, size: { left: number; chars: number }, depth: number): { ok: true; value: CelInput } | { ok: false; message: string } {
  if (--size.left < 0) return { ok: false, message: `more than ${CEL_LIMITS.maxInputValues} JSON values` };
  if (depth > CEL_LIMITS.maxInputDepth) return { ok: false, message: `JSON nested deeper than ${CEL_LIMITS.maxInputDepth} levels` };
  if (typeof v === 'string') {
    size.chars -= v.length;
    if (size.chars < 0) return { ok: false, message: `more than ${CEL_LIMITS.maxInputChars} characters of strings` };
  }
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return { ok: true, value: v };
  if (typeof v === 'number') {
    if (Number.isInteger(v)) {
      const big = BigInt(v);
      if (big <= INT64_MAX && big >= -INT64_MAX - 1n) return { ok: true, value: big };
    }
    return { ok: true, value: v };
  }
  if (Array.isArray(v)) {
    const out: CelInput[] = [];
    for (const item of v as readonly Json[]) {
      const c = jsonToCel(item, size, depth + 1);
      if (!c.ok) return c;
      out.push(c.value);
    }
    return { ok: true, value: out };
  }
  const out = new Map<string, CelInput>();
  for (const [k, item] of Object.entries(v as Readonly<Record<string, Json>>)) {
    size.chars -= k.length;
    if (size.chars < 0) return { ok: false, message: `more than ${CEL_LIMITS.maxInputChars} characters of strings` };
    const c = jsonToCel(item, size, depth + 1);
    if (!c.ok) return c;
    out.set(k, c.value);
  }
  return { ok: true, value: out };
}

/** CEL to JSON: ints and doubles become numbers, maps objects (keys as strings), lists arrays. */
function celToJson(v: CelValue, depth: number): CelEvalResult {
  if (depth > CEL_LIMITS.maxInputDepth) return { ok: false, message: `the value is nested deeper than ${CEL_LIMITS.maxInputDepth} levels` };
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return { ok: true, value: v };
  if (typeof v === 'number') {
    return Number.isFinite(v) ? { ok: true, value: v } : { ok: false, message: `the value \`${String(v)}\` is not a JSON number` };
  }
  if (typeof v === 'bigint') {
    return bigintToJson(v);
  }
  if (isCelUint(v)) return bigintToJson(v.value);
  if (isCelList(v)) {
    const out: Json[] = [];
    for (const item of v) {
      const j = celToJson(item, depth + 1);
      if (!j.ok) return j;
      out.push(j.value);
    }
    return { ok: true, value: out };
  }
  if (isCelMap(v)) {
    const out: Record<string, Json> = {};
    for (const [k, item] of v) {
      const j = celToJson(item, depth + 1);
      if (!j.ok) return j;
      Object.defineProperty(out, isCelUint(k) ? String(k.value) : String(k), { value: j.value, enumerable: true, writable: true, configurable: true });
    }
    return { ok: true, value: out };
  }
  return { ok: false, message: `${article(typeName(v))} \`${typeName(v)}\` has no JSON form` };
}

function bigintToJson(v: bigint): CelEvalResult {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
    ? { ok: true, value: Number(v) }
    : { ok: false, message: `the integer ${v} is too large for a JSON number` };
}

/** The CEL type name of a runtime value (`int`, `string`, `list`, `map`, `null_type`, ...). */
function typeName(v: CelValue): string {
  if (isCelType(v)) return 'type';
  const name = celType(v).name;
  return SHORT_TYPES[name] ?? name;
}

// --- the static check ----------------------------------------------------------------------

class CheckError extends Error {
  constructor(
    message: string,
    readonly id: bigint,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const SHORT_TYPES: Readonly<Record<string, string>> = { 'google.protobuf.Timestamp': 'timestamp', 'google.protobuf.Duration': 'duration' };

/** Identifiers that name a type (`type(x) == int`). */
const TYPE_IDENTS = new Set(['bool', 'int', 'uint', 'double', 'string', 'bytes', 'list', 'map', 'null_type', 'type']);

/** How operators are written in the source. */
const OPERATORS: Readonly<Record<string, string>> = {
  '_+_': '+',
  '_-_': '-',
  '_*_': '*',
  '_/_': '/',
  '_%_': '%',
  '-_': '-',
  '!_': '!',
  '_==_': '==',
  '_!=_': '!=',
  '_<_': '<',
  '_<=_': '<=',
  '_>_': '>',
  '_>=_': '>=',
  '@in': 'in',
  '_&&_': '&&',
  '_||_': '||',
  '_?_:_': '? :',
  '_[_]': '[]',
};

function typeOf(t: CelType): string {
  switch (t.kind) {
    case 'list':
      return 'list';
    case 'map':
      return 'map';
    case 'object':
      return SHORT_TYPES[t.name] ?? 'dyn';
    default:
      return t.name;
  }
}

const accepts = (param: string, arg: string): boolean => param === 'dyn' || arg === 'dyn' || param === arg;

/** Walks the parsed expression once: declared names, overloads, fields, and the comprehension limits. */
class StaticCheck {
  private nodes = 0;
  private maxSeen = 0n;
  /** Fields read directly off a declared variable. */
  readonly fields: CelFieldRef[] = [];
  private readonly funcs = celEnv({ funcs: strings }).funcs;

  constructor(
    private readonly vars: ReadonlySet<string>,
    private readonly where: (id: bigint | undefined) => { line: number; column: number } | undefined,
  ) {}

  maxId(): bigint {
    return this.maxSeen;
  }

  check(e: Expr | undefined, scope: ReadonlyMap<string, string>, depth: number): string {
    if (e === undefined) return 'dyn';
    if (e.id > this.maxSeen) this.maxSeen = e.id;
    if (++this.nodes > CEL_LIMITS.maxNodes) throw new CheckError(`the expression is too large (more than ${CEL_LIMITS.maxNodes} parts)`, e.id, 'split it into several checks');
    const k = e.exprKind;
    switch (k.case) {
      case 'constExpr':
        switch (k.value.constantKind.case) {
          case 'boolValue':
            return 'bool';
          case 'int64Value':
            return 'int';
          case 'uint64Value':
            return 'uint';
          case 'doubleValue':
            return 'double';
          case 'stringValue':
            return 'string';
          case 'bytesValue':
            return 'bytes';
          case 'nullValue':
            return 'null_type';
          case 'durationValue':
            return 'duration';
          case 'timestampValue':
            return 'timestamp';
          default:
            return 'dyn';
        }
      case 'identExpr': {
        const name = k.value.name;
        const local = scope.get(name);
        if (local !== undefined) return local;
        if (this.vars.has(name)) return 'dyn';
        if (TYPE_IDENTS.has(name)) return 'type';
        throw new CheckError(
          `unknown variable \`${name}\``,
          e.id,
          this.vars.size > 0 ? `the variables here are ${[...this.vars].map((v) => `\`${v}\``).join(', ')}` : 'no variables are available here',
        );
      }
      case 'selectExpr': {
        const operand = k.value.operand?.exprKind;
        if (operand?.case === 'identExpr' && !scope.has(operand.value.name) && this.vars.has(operand.value.name)) {
          const pos = this.where(e.id);
          this.fields.push({ variable: operand.value.name, field: k.value.field, line: pos?.line ?? 1, column: (pos?.column ?? 0) + 1 });
        }
        const t = this.check(k.value.operand, scope, depth);
        if (t !== 'map' && t !== 'dyn') {
          throw new CheckError(`${article(t)} \`${t}\` has no field \`${k.value.field}\``, e.id, t === 'list' ? 'pick an element first, e.g. `xs[0].field`, or use `xs.exists(x, x.field == ...)`' : undefined);
        }
        return k.value.testOnly ? 'bool' : 'dyn';
      }
      case 'listExpr':
        for (const el of k.value.elements) this.check(el, scope, depth);
        return 'list';
      case 'structExpr':
        if (k.value.messageName !== '') throw new CheckError(`message \`${k.value.messageName}\` is not available`, e.id, 'build a map instead: `{"key": value}`');
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') this.check(entry.keyKind.value, scope, depth);
          this.check(entry.value, scope, depth);
        }
        return 'map';
      case 'comprehensionExpr': {
        const c = k.value;
        if (depth + 1 > CEL_LIMITS.maxComprehensionDepth) {
          throw new CheckError(`comprehensions (\`exists\`, \`all\`, \`filter\`, \`map\`) nest deeper than ${CEL_LIMITS.maxComprehensionDepth}`, e.id, 'split the expression into several checks');
        }
        const range = this.check(c.iterRange, scope, depth);
        if (range !== 'list' && range !== 'map' && range !== 'dyn') {
          throw new CheckError(`cannot iterate over ${article(range)} \`${range}\``, c.iterRange?.id ?? e.id, 'a macro like `exists` or `filter` works on a list or a map');
        }
        const accu = this.check(c.accuInit, scope, depth);
        const inner = new Map(scope);
        inner.set(c.iterVar, 'dyn');
        if (c.iterVar2 !== '') inner.set(c.iterVar2, 'dyn');
        inner.set(c.accuVar, accu);
        this.check(c.loopCondition, inner, depth + 1);
        this.check(c.loopStep, inner, depth + 1);
        const outer = new Map(scope);
        outer.set(c.accuVar, accu);
        return this.check(c.result, outer, depth + 1);
      }
      case 'callExpr':
        return this.checkCall(e.id, k.value, scope, depth);
      default:
        throw new CheckError('an empty expression', e.id);
    }
  }

  private checkCall(id: bigint, call: Extract<Expr['exprKind'], { case: 'callExpr' }>['value'], scope: ReadonlyMap<string, string>, depth: number): string {
    const fn = call.function;
    // A namespaced function: `strings.quote(x)` parses as a method call on `strings`.
    const qualified = call.target ? qualifiedName(call.target) : undefined;
    if (qualified !== undefined && !scope.has(qualified.split('.')[0] ?? '') && !this.vars.has(qualified.split('.')[0] ?? '')) {
      const group = this.funcs.find(`${qualified}.${fn}`);
      if (group !== undefined) {
        for (const a of call.args) this.check(a, scope, depth);
        return 'dyn';
      }
    }
    const target = call.target ? this.check(call.target, scope, depth) : undefined;
    const args = call.args.map((a) => this.check(a, scope, depth));
    const shown = OPERATORS[fn] ?? fn;
    switch (fn) {
      case '_&&_':
      case '_||_':
        args.forEach((t, i) => {
          if (!accepts('bool', t)) throw new CheckError(`\`${shown}\` needs a \`bool\` on each side, found ${article(t)} \`${t}\``, call.args[i]?.id ?? id);
        });
        return 'bool';
      case '_?_:_': {
        const [cond = 'dyn', a = 'dyn', b = 'dyn'] = args;
        if (!accepts('bool', cond)) throw new CheckError(`the condition of \`? :\` must be a \`bool\`, found ${article(cond)} \`${cond}\``, call.args[0]?.id ?? id);
        return a === b ? a : 'dyn';
      }
      case '_[_]': {
        const [of = 'dyn', index = 'dyn'] = args;
        if (of !== 'list' && of !== 'map' && of !== 'dyn') throw new CheckError(`cannot index ${article(of)} \`${of}\``, id, 'only lists (`xs[0]`) and maps (`m["key"]`) can be indexed');
        if (of === 'list' && !['int', 'uint', 'dyn'].includes(index)) throw new CheckError(`a list index must be an \`int\`, found ${article(index)} \`${index}\``, call.args[1]?.id ?? id);
        return 'dyn';
      }
      case '@not_strictly_false':
      case '__not_strictly_false__':
        return 'bool';
      default:
        break;
    }
    const group = this.funcs.find(fn);
    if (group === undefined || fn === STEP) {
      throw new CheckError(`unknown function \`${fn}\``, id, 'CEL has `size`, `contains`, `startsWith`, `endsWith`, `matches`, `exists`, `all`, `exists_one`, `filter`, `map`, `has`, conversions like `int` and `string`, and string helpers like `lowerAscii`, `trim`, `split`');
    }
    const arity = [...group].filter((f) => (f.target !== undefined) === (target !== undefined) && f.arguments.length === args.length);
    const fits = arity.filter((f) => (target === undefined || f.target === undefined || accepts(typeOf(f.target), target)) && f.arguments.every((p, i) => accepts(typeOf(p), args[i] ?? 'dyn')));
    if (fits.length === 0) {
      const types = `(${args.map((t) => `\`${t}\``).join(', ')})`;
      const on = target === undefined ? '' : ` on ${article(target)} \`${target}\``;
      throw new CheckError(
        arity.length === 0
          ? `\`${shown}\` cannot be called ${target === undefined ? 'like this' : 'as a method'} with ${args.length} argument${args.length === 1 ? '' : 's'}`
          : `no overload of \`${shown}\` takes ${types}${on}`,
        id,
        arity.length === 0 ? `call it as ${describeForms(group)}` : 'convert a value first, e.g. `double(x)` or `int(x)`; JSON numbers without a fraction are `int`',
      );
    }
    const results = new Set(fits.map((f) => typeOf(f.result)));
    return results.size === 1 ? [...results][0] ?? 'dyn' : 'dyn';
  }
}

/** `a.b.c` as a dotted name, when the expression is only identifiers and selections. */
function qualifiedName(e: Expr): string | undefined {
  const k = e.exprKind;
  if (k.case === 'identExpr') return k.value.name;
  if (k.case === 'selectExpr' && !k.value.testOnly && k.value.operand) {
    const base = qualifiedName(k.value.operand);
    return base === undefined ? undefined : `${base}.${k.value.field}`;
  }
  return undefined;
}

function describeForms(group: Iterable<{ readonly target: CelType | undefined; readonly arguments: readonly CelType[]; readonly name: string }>): string {
  const forms = new Set<string>();
  for (const f of group) {
    const args = f.arguments.map(() => '_').join(', ');
    forms.add(f.target === undefined ? `\`${f.name}(${args})\`` : `\`x.${f.name}(${args})\``);
  }
  return [...forms].slice(0, 4).join(' or ');
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? 'an' : 'a';
}

/**
 * Splices the iteration counter into every comprehension: its loop condition `c` becomes
 * `@airlock_step(c)`, evaluated once per iteration; past the budget it is an error, which ends the loop.
 */
function countIterations(root: Expr, firstId: bigint): Expr {
  let next = firstId;
  const visit = (e: Expr | undefined): void => {
    if (e === undefined) return;
    const k = e.exprKind;
    switch (k.case) {
      case 'selectExpr':
        visit(k.value.operand);
        return;
      case 'callExpr':
        visit(k.value.target);
        k.value.args.forEach(visit);
        return;
      case 'listExpr':
        k.value.elements.forEach(visit);
        return;
      case 'structExpr':
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value);
          visit(entry.value);
        }
        return;
      case 'comprehensionExpr': {
        const c = k.value;
        [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result].forEach(visit);
        const cond = c.loopCondition;
        if (cond !== undefined) {
          c.loopCondition = {
            $typeName: 'cel.expr.Expr',
            id: next++,
            exprKind: { case: 'callExpr', value: { $typeName: 'cel.expr.Expr.Call', function: STEP, args: [cond] } },
          };
        }
        return;
      }
      default:
        return;
    }
  };
  visit(root);
  return root;
}

// --- positions and messages ----------------------------------------------------------------

/** Maps an expression id to its 1-based line and column in `source`. */
function positionsOf(source: string, info: SourceInfo | undefined): (id: bigint | undefined) => { line: number; column: number } | undefined {
  return (id) => {
    if (id === undefined || info === undefined) return undefined;
    const offset = info.positions[String(id)];
    return offset === undefined ? undefined : lineColumn(source, offset);
  };
}

function lineColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, offset).split('\n');
  return { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 };
}

/** A parse error from the library as Airlock says it: where, near what, and what to look at. */
function syntaxError(source: string, e: unknown): CelCompileResult {
  if (e instanceof RangeError) return { ok: false, message: 'the expression nests too deeply', hint: 'use fewer nested parentheses, lists or maps' };
  const err = e as { location?: { start?: { offset?: number } }; expected?: readonly { type?: string; description?: string; text?: string }[] };
  const offset = err.location?.start?.offset;
  const pos = offset === undefined ? undefined : lineColumn(source, offset);
  const near = offset === undefined ? '' : source.slice(offset, offset + 16).split('\n')[0]?.trim() ?? '';
  const expected = (err.expected ?? []).map((x) => x.description ?? x.text ?? x.type ?? '').filter((x) => x !== '' && x !== 'whitespace' && x !== 'comment');
  const onlyEnd = expected.length > 0 && expected.every((x) => x === 'end' || x === 'end of input');
  const hint = onlyEnd
    ? 'the expression cannot go on from here: is an operand missing after an operator, a quote or a bracket unbalanced, or an operator misspelt (`==`, `&&`, `||`)?'
    : 'check the quotes, brackets and operators (`==`, `&&`, `||`) here';
  return { ok: false, message: near === '' ? 'syntax error at the end of the expression' : `syntax error near \`${near}\``, hint, ...(pos ?? {}) };
}

/** A runtime error from the library, with where it happened. */
function runtimeMessage(e: CelError, where: Internals['positions']): string {
  let message = e.message;
  const field = /^field not found: (.*)$/.exec(message);
  if (field) message = `no field \`${field[1] ?? ''}\``;
  const overload = /^found no matching overload for '([^']*)' applied to '(.*)'$/.exec(message);
  if (overload) message = `no overload of \`${OPERATORS[overload[1] ?? ''] ?? overload[1] ?? ''}\` takes ${overload[2] ?? ''}`;
  if (/^unbound function: @airlock_step/.test(message)) message = 'internal: the iteration counter is missing';
  const pos = where(e.exprId);
  return pos === undefined ? message : `${message} (at ${pos.line > 1 ? `line ${pos.line}, ` : ''}column ${pos.column})`;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
