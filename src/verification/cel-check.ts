// The static check of a CEL expression against declared variables: names, overloads, fields, size and comprehension nesting (pure).
import { celEnv, type CelType } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import type { CelExpr, CelFieldRef } from './cel-types.js';
import { STEP } from './cel-iterations.js';
import { CEL_LIMITS } from './cel-limits.js';
import { article, OPERATORS, SHORT_TYPES } from './cel-messages.js';

/** The parsed syntax tree of an expression. */

/** A problem the static check found: what, at which expression id, and what to do. */
export class CheckError extends Error {
  constructor(
    message: string,
    readonly id: bigint,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Identifiers that name a type (`type(x) == int`). */
const TYPE_IDENTS = new Set(['bool', 'int', 'uint', 'double', 'string', 'bytes', 'list', 'map', 'null_type', 'type']);

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
export class StaticCheck {
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

  check(e: CelExpr | undefined, scope: ReadonlyMap<string, string>, depth: number): string {
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

  private checkCall(id: bigint, call: Extract<CelExpr['exprKind'], { case: 'callExpr' }>['value'], scope: ReadonlyMap<string, string>, depth: number): string {
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
function qualifiedName(e: CelExpr): string | undefined {
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
