// How CEL errors read in Airlock: positions as line and column, parse and runtime errors in words, names of types and operators (pure).
import type { CelError, parse } from '@bufbuild/cel';
import type { CelCompileResult } from './cel-types.js';

type SourceInfo = NonNullable<ReturnType<typeof parse>['sourceInfo']>;

/** Maps an expression id to its 1-based line and column in the expression's text (undefined when unknown). */
export type CelPositions = (id: bigint | undefined) => { line: number; column: number } | undefined;

/** Short names of the library's well-known object types. */
export const SHORT_TYPES: Readonly<Record<string, string>> = { 'google.protobuf.Timestamp': 'timestamp', 'google.protobuf.Duration': 'duration' };

/** How operators are written in the source. */
export const OPERATORS: Readonly<Record<string, string>> = {
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

/** `a` or `an`, for a type name in a message. */
export function article(t: string): string {
  return /^[aeiou]/.test(t) ? 'an' : 'a';
}

/** Maps an expression id to its 1-based line and column in `source`. */
export function positionsOf(source: string, info: SourceInfo | undefined): CelPositions {
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
export function syntaxError(source: string, e: unknown): CelCompileResult {
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
export function runtimeMessage(e: CelError, where: CelPositions): string {
  let message = e.message;
  const field = /^field not found: (.*)$/.exec(message);
  if (field) message = `no field \`${field[1] ?? ''}\``;
  const overload = /^found no matching overload for '([^']*)' applied to '(.*)'$/.exec(message);
  if (overload) message = `no overload of \`${OPERATORS[overload[1] ?? ''] ?? overload[1] ?? ''}\` takes ${overload[2] ?? ''}`;
  if (/^unbound function: @airlock_step/.test(message)) message = 'internal: the iteration counter is missing';
  const pos = where(e.exprId);
  return pos === undefined ? message : `${message} (at ${pos.line > 1 ? `line ${pos.line}, ` : ''}column ${pos.column})`;
}

/** The message of anything thrown. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
