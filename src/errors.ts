// The one small error tree: thrown only for bugs, bad input at load time and infrastructure faults.
// Outcomes (deny, approval needed, verification mismatch) are values, never errors.

export type ErrorCode =
  | 'config'
  | 'policy'
  | 'input'
  | 'store'
  | 'store-locked'
  | 'store-corrupt'
  /** The connection to the store was lost while a change was committed: it may or may not have been applied. */
  | 'store-unknown'
  | 'connector'
  | 'connector-timeout'
  | 'not-found'
  | 'conflict'
  | 'internal';

/** Where a piece of bad input lives, so the message can point at it. */
export interface Location {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** JSON-path-like location inside the document, e.g. `workflows[0].owners.security`. */
  readonly path?: string;
}

export class AirlockError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly hint: string | undefined;
  readonly location: Location | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; location?: Location; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AirlockError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.hint = opts.hint;
    this.location = opts.location;
  }

  /** True for errors caused by what the user gave us (CLI exit code 2). */
  get isUserError(): boolean {
    return (
      this.code === 'config' ||
      this.code === 'policy' ||
      this.code === 'input' ||
      this.code === 'not-found' ||
      this.code === 'store-locked' ||
      this.code === 'store-corrupt' ||
      this.code === 'conflict'
    );
  }
}

/** Several problems found at once (a config with three mistakes reports all three). */
export class AirlockErrors extends AirlockError {
  readonly errors: readonly AirlockError[];
  constructor(errors: readonly AirlockError[]) {
    const first = errors[0];
    super(first?.code ?? 'internal', errors.map((e) => formatError(e)).join('\n'));
    this.name = 'AirlockErrors';
    this.errors = errors;
  }
}

/** `file:line:col: path: message` then an indented hint, the way compilers print. */
export function formatError(e: AirlockError): string {
  if (e instanceof AirlockErrors) return e.message;
  const loc = e.location;
  const where: string[] = [];
  if (loc?.file) {
    let f = loc.file;
    if (loc.line !== undefined) f += `:${loc.line}`;
    if (loc.line !== undefined && loc.column !== undefined) f += `:${loc.column}`;
    where.push(f);
  }
  if (loc?.path) where.push(`at \`${loc.path}\``);
  const head = where.length > 0 ? `${where.join(' ')}: ` : '';
  return `error: ${head}${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`;
}
