// The shapes of compiled CEL expressions and their outcomes, shared by the checker, the JSON bridge,
// the messages and the entry points of cel.ts (so none of them imports another in a circle). Types only.
import type { parse } from '@bufbuild/cel';
import type { Json } from '../types.js';

/** A parsed expression node. */
export type CelExpr = ReturnType<typeof parse>['expr'];

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

