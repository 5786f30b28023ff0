// Store errors across the writer thread: an `AirlockError` as plain data (structured clone keeps no
// class), and back, with its code, message, hint, location, retryable flag and the cause's name and code.
import { AirlockError, type ErrorCode, type Location } from '../errors.js';

/** An `AirlockError` as plain data, to cross a thread: code, message, hint, location and retryable survive; the cause keeps its name, message and code. */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint: string | undefined;
  readonly retryable: boolean;
  readonly location: Location | undefined;
  readonly cause: { readonly name: string; readonly message: string; readonly code: string | undefined } | undefined;
}

/** `e` as plain data (`fromWire` turns it back). */
export function toWire(e: AirlockError): WireError {
  const c = e.cause;
  const code = (c as { code?: unknown } | undefined)?.code;
  return {
    code: e.code,
    message: e.message,
    hint: e.hint,
    retryable: e.retryable,
    location: e.location,
    cause: c instanceof Error ? { name: c.name, message: c.message, code: typeof code === 'string' ? code : undefined } : undefined,
  };
}

/** The `AirlockError` that `toWire` wrote down. */
export function fromWire(w: WireError): AirlockError {
  let cause: Error | undefined;
  if (w.cause) {
    cause = Object.assign(new Error(w.cause.message), { name: w.cause.name }, w.cause.code === undefined ? {} : { code: w.cause.code });
  }
  return new AirlockError(w.code, w.message, {
    ...(w.hint === undefined ? {} : { hint: w.hint }),
    ...(w.location === undefined ? {} : { location: w.location }),
    retryable: w.retryable,
    ...(cause === undefined ? {} : { cause }),
  });
}
