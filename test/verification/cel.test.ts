// CEL for verification: compile errors with positions, static types, evaluation over JSON, and the bounds.
import { describe, expect, it } from 'vitest';
import { compileCel, evalCel, type CelProgram } from '../../src/verification/cel.js';
import { CEL_LIMITS } from '../../src/verification/cel-limits.js';
import type { Json } from '../../src/types.js';

function program(source: string, vars: readonly string[], result: 'bool' | 'any' = 'any'): CelProgram {
  const c = compileCel(source, vars, { result });
  if (!c.ok) throw new Error(`should compile: ${source}: ${c.message}`);
  return c.program;
}

function run(source: string, bindings: Record<string, Json>, result: 'bool' | 'any' = 'any'): ReturnType<typeof evalCel> {
  return evalCel(program(source, Object.keys(bindings), result), bindings);
}

describe('compileCel: syntax errors', () => {
  it('reports a syntax error with its line and column in the expression', () => {
    const c = compileCel('probe.status == "resolved" &&', ['probe']);
    expect(c).toMatchObject({ ok: false, line: 1, column: 28 });
    expect(!c.ok && c.message).toMatch(/^syntax error near `&&`/);
    expect(!c.ok && c.hint).toBeTruthy();
  });

  it('counts lines in a multi-line expression', () => {
    const c = compileCel('probe.a == 1 &&\n  probe.b == ) 2', ['probe']);
    expect(c).toMatchObject({ ok: false, line: 2 });
  });

  it('refuses an empty expression and an unterminated string', () => {
    expect(compileCel('  ', ['probe'])).toMatchObject({ ok: false, message: 'the expression is empty' });
    expect(compileCel('probe.status == "open', ['probe'])).toMatchObject({ ok: false, line: 1 });
  });
});

describe('compileCel: static checks', () => {
  it('refuses an unknown variable, naming the ones there are, at its column', () => {
    const c = compileCel('args.amount_cents == prob.amount_cents', ['args', 'result', 'probe']);
    expect(c).toMatchObject({ ok: false, message: 'unknown variable `prob`', line: 1, column: 22 });
    expect(!c.ok && c.hint).toBe('the variables here are `args`, `result`, `probe`');
  });

  it('knows comprehension variables only inside their macro', () => {
    expect(compileCel('probe.refunds.exists(r, r.status == "completed")', ['probe'], { result: 'bool' }).ok).toBe(true);
    expect(compileCel('probe.refunds.exists(r, true) && r.status == "x"', ['probe'], { result: 'bool' })).toMatchObject({ ok: false, message: 'unknown variable `r`' });
  });

  it('refuses a check whose type is known not to be bool, naming the type', () => {
    expect(compileCel('probe.amount_cents + 1', ['probe'], { result: 'bool' })).toMatchObject({ ok: false, message: 'the expression gives an `int`, not a `bool`' });
    expect(compileCel('"resolved"', ['probe'], { result: 'bool' })).toMatchObject({ ok: false, message: 'the expression gives a `string`, not a `bool`' });
    expect(compileCel('probe.refunds.filter(r, true)', ['probe'], { result: 'bool' })).toMatchObject({ ok: false, message: 'the expression gives a `list`, not a `bool`' });
    // The same expressions are fine where any value is wanted (a probe argument).
    expect(compileCel('probe.amount_cents + 1', ['probe']).ok).toBe(true);
  });

  it('refuses unknown functions, impossible overloads and fields of scalars', () => {
    expect(compileCel('now() > 0', [], { result: 'bool' })).toMatchObject({ ok: false, message: 'unknown function `now`', column: 1 });
    expect(compileCel('size(probe) + 1.5 > 0', ['probe'], { result: 'bool' })).toMatchObject({ ok: false, message: 'no overload of `+` takes (`int`, `double`)' });
    expect(compileCel('"abc".status == 1', [], { result: 'bool' })).toMatchObject({ ok: false, message: 'a `string` has no field `status`' });
    expect(compileCel('"a".startsWith(1)', [], { result: 'bool' })).toMatchObject({ ok: false, message: 'no overload of `startsWith` takes (`int`) on a `string`' });
    expect(compileCel('1 && true', [], { result: 'bool' })).toMatchObject({ ok: false, message: '`&&` needs a `bool` on each side, found an `int`' });
  });

  it('lists the fields read off each variable, to check against schemas', () => {
    const p = program('probe.amount_cents == args.amount_cents && probe.refunds.exists(args, args.x == 1)', ['args', 'probe'], 'bool');
    expect(p.fields.map((f) => `${f.variable}.${f.field}@${f.column}`)).toEqual(['probe.amount_cents@7', 'args.amount_cents@28', 'probe.refunds@50']);
  });
});

describe('evalCel', () => {
  it('treats integral JSON numbers as int and the rest as double', () => {
    expect(run('probe.amount_cents == args.amount_cents', { probe: { amount_cents: 4000 }, args: { amount_cents: 4000 } }, 'bool')).toEqual({ ok: true, value: true });
    expect(run('probe.total_cents >= 4000', { probe: { total_cents: 8990 } }, 'bool')).toEqual({ ok: true, value: true });
    expect(run('probe.total_cents - 990', { probe: { total_cents: 8990 } })).toEqual({ ok: true, value: 8000 });
    expect(run('probe.rate == 0.5 && probe.rate < 1', { probe: { rate: 0.5 } }, 'bool')).toEqual({ ok: true, value: true });
    expect(run('probe.n == 2.0', { probe: { n: 2 } }, 'bool')).toEqual({ ok: true, value: true });
    expect(run('probe.rate * 2.0', { probe: { rate: 0.25 } })).toEqual({ ok: true, value: 0.5 });
  });

  it('makes a missing field an error with its column, never a silent false', () => {
    const r = run('probe.missing == 1', { probe: { status: 'open' } }, 'bool');
    expect(r).toEqual({ ok: false, message: 'no field `missing` (at column 6)' });
    expect(run('has(probe.missing) && probe.missing == 1', { probe: {} }, 'bool')).toEqual({ ok: true, value: false });
    expect(run('probe.xs[3] == 1', { probe: { xs: [1] } }, 'bool')).toMatchObject({ ok: false });
  });

  it('evaluates lists and the exists, all, filter, map and size macros', () => {
    const probe = { refunds: [{ refund_id: 'RF-1', status: 'completed', amount_cents: 4000 }, { refund_id: 'RF-2', status: 'reversed', amount_cents: 100 }] };
    expect(run('size(probe.refunds.filter(r, r.status == "completed")) == 1', { probe }, 'bool')).toEqual({ ok: true, value: true });
    expect(run('probe.refunds.exists(r, r.amount_cents == 4000)', { probe }, 'bool')).toEqual({ ok: true, value: true });
    expect(run('probe.refunds.all(r, r.amount_cents > 1000)', { probe }, 'bool')).toEqual({ ok: true, value: false });
    expect(run('probe.refunds.exists_one(r, r.status == "reversed")', { probe }, 'bool')).toEqual({ ok: true, value: true });
    expect(run('probe.refunds.map(r, r.refund_id)', { probe })).toEqual({ ok: true, value: ['RF-1', 'RF-2'] });
    expect(run('"RF-2" in probe.refunds.map(r, r.refund_id)', { probe }, 'bool')).toEqual({ ok: true, value: true });
    expect(run('{"ids": probe.refunds.map(r, r.refund_id), "n": size(probe.refunds)}', { probe })).toEqual({ ok: true, value: { ids: ['RF-1', 'RF-2'], n: 2 } });
    expect(run('probe.email.lowerAscii().endsWith("@acme.example")', { probe: { email: 'Dana@ACME.example' } }, 'bool')).toEqual({ ok: true, value: true });
  });

  it('compares maps and lists structurally', () => {
    expect(run('a.args == b.args', { a: { args: { x: 1, y: [1, 2] } }, b: { args: { y: [1, 2], x: 1 } } }, 'bool')).toEqual({ ok: true, value: true });
  });

  it('errors, naming the type, when a bool program gives anything else at run time', () => {
    expect(run('probe.status', { probe: { status: 'resolved' } }, 'bool')).toEqual({ ok: false, message: 'the expression gave a `string`, not a `bool`' });
    expect(run('probe.n', { probe: { n: 3 } }, 'bool')).toEqual({ ok: false, message: 'the expression gave an `int`, not a `bool`' });
    expect(run('probe.x', { probe: { x: null } }, 'bool')).toEqual({ ok: false, message: 'the expression gave a `null_type`, not a `bool`' });
  });

  it('reports type mismatches in the data and unbound variables as errors', () => {
    expect(run('probe.n + 1 > 0', { probe: { n: 'x' } }, 'bool')).toMatchObject({ ok: false, message: expect.stringMatching(/^no overload of `\+` takes/) });
    expect(evalCel(program('probe.n == 1', ['probe'], 'bool'), {})).toEqual({ ok: false, message: 'variable `probe` has no value' });
  });

  it('is deterministic and leaves its inputs as they were', () => {
    const probe = Object.freeze({ xs: Object.freeze([3, 1, 2]), at: '2024-05-10T07:55:00Z' });
    const p = program('probe.xs.map(x, x * 2) + [timestamp(probe.at) > timestamp("2024-01-01T00:00:00Z")]', ['probe']);
    const first = evalCel(p, { probe });
    expect(first).toEqual({ ok: true, value: [6, 2, 4, true] });
    expect(evalCel(p, { probe })).toEqual(first);
    expect(probe).toEqual({ xs: [3, 1, 2], at: '2024-05-10T07:55:00Z' });
  });
});

describe('no side effects, bounded cost', () => {
  it('has no function that reads a clock, the environment, a file or the network', () => {
    for (const fn of ['now()', 'env("HOME")', 'read("/etc/passwd")', 'readFile("/etc/passwd")', 'fetch("http://x")', 'http.get("http://x")', 'exec("ls")', 'eval("1")', 'import("fs")', 'require("fs")']) {
      const c = compileCel(`${fn} == null`, [], { result: 'bool' });
      expect(c.ok, fn).toBe(false);
    }
  });

  it('refuses an expression longer than the limit', () => {
    const long = Array.from({ length: 800 }, (_, i) => `probe.a == ${i}`).join(' || ');
    expect(long.length).toBeGreaterThan(CEL_LIMITS.maxSourceLength);
    expect(compileCel(long, ['probe'], { result: 'bool' })).toMatchObject({ ok: false, message: expect.stringContaining('more than the limit') });
  });

  it('refuses deep nesting, in parentheses and in comprehensions', () => {
    expect(compileCel(`${'('.repeat(1500)}1${')'.repeat(1500)} == 1`, [], { result: 'bool' }).ok).toBe(false);
    const nested = 'probe.xs.exists(a, probe.xs.exists(b, probe.xs.exists(c, probe.xs.exists(d, d == a))))';
    expect(compileCel(nested, ['probe'], { result: 'bool' })).toMatchObject({ ok: false, message: expect.stringContaining('nest deeper than 3') });
  });

  it('stops an evaluation past the iteration limit, even when the error would be absorbed', () => {
    const xs = Array.from({ length: 300 }, (_, i) => i);
    const p = program('probe.xs.map(a, probe.xs.map(b, a * b)).size() > 0 || true', ['probe'], 'bool');
    expect(evalCel(p, { probe: { xs } })).toEqual({ ok: false, message: `evaluation stopped after ${CEL_LIMITS.maxIterations} comprehension iterations (the limit)` });
    // The budget is per evaluation: a small input runs fine afterwards.
    expect(evalCel(p, { probe: { xs: [1, 2] } })).toEqual({ ok: true, value: true });
  });

  it('refuses bound JSON that is too large or too deep', () => {
    const p = program('size(probe.xs) > 0', ['probe'], 'bool');
    expect(evalCel(p, { probe: { xs: new Array<Json>(CEL_LIMITS.maxInputValues + 1).fill(1) } })).toMatchObject({ ok: false, message: expect.stringContaining('more than') });
    let deep: Json = 1;
    for (let i = 0; i < CEL_LIMITS.maxInputDepth + 2; i++) deep = { d: deep };
    expect(evalCel(p, { probe: { xs: [deep] } })).toMatchObject({ ok: false, message: expect.stringContaining('nested deeper') });
  });
});
