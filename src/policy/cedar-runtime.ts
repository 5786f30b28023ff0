// The cedar-wasm instance Airlock calls, replaced by a fresh copy after any call throws.
// A call that throws inside cedar-wasm (a trap) leaves its instance's stack pointer behind; after about
// a thousand such throws every later call fails with `memory access out of bounds`. A fresh copy of the
// JS glue instantiates its own module, so one bad call never poisons the process.
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import type * as CedarWasm from '@cedar-policy/cedar-wasm/nodejs';
import { AirlockError } from '../errors.js';

/** The cedar-wasm API (the `@cedar-policy/cedar-wasm/nodejs` module). */
export type Cedar = typeof CedarWasm;

// INVARIANT: optimized code never inlines a call into wasm. Node 20's V8 aborts the whole process ("unreachable
// code" in Deoptimizer::DoComputeBuiltinContinuation) when code that inlined a JS-to-wasm call returning a JS
// object (every cedar-wasm export) is deoptimized during that call, which JavaScript run inside it (cedar-wasm's
// own JSON.parse and JSON.stringify, a getter in the data) can cause. The flag is read when code is optimized,
// so setting it here, before cedar-wasm is loaded or called, covers every call.
setFlagsFromString('--no-turbo-inline-js-wasm-calls');

const load = createRequire(import.meta.url);
const MODULE = load.resolve('@cedar-policy/cedar-wasm/nodejs');

let current = load(MODULE) as Cedar;
let replacements = 0;

/** The cedar-wasm instance in use now. Prefer `withCedar`, which replaces a broken one. */
export function cedarWasm(): Cedar {
  return current;
}

/** How many times an instance was replaced since the process started. */
export function cedarReplacements(): number {
  return replacements;
}

/**
 * Replaces `broken` by a fresh cedar-wasm instance (a new copy of its JS glue, which instantiates its
 * own wasm module), unless it was replaced already. State kept inside the old instance, such as
 * preparsed policy sets, does not carry over. Throws `AirlockError('internal')` if no copy loads.
 */
export function replaceCedar(broken: Cedar): Cedar {
  if (broken !== current) return current;
  const cached = load.cache[MODULE];
  delete load.cache[MODULE];
  try {
    current = load(MODULE) as Cedar;
  } catch (e) {
    if (cached) load.cache[MODULE] = cached;
    throw new AirlockError('internal', `could not load a fresh cedar-wasm instance: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  replacements++;
  return current;
}

/**
 * Calls `f` with the current instance. If it throws, the instance is replaced and `f` runs once more on
 * the fresh one (cedar-wasm calls are deterministic, so a retry answers what the first call should have);
 * if that throws too, that instance is replaced as well and the error propagates.
 */
export function withCedar<T>(f: (cedar: Cedar) => T): T {
  const first = current;
  try {
    return f(first);
  } catch {
    const fresh = replaceCedar(first);
    try {
      return f(fresh);
    } catch (e) {
      replaceCedar(fresh);
      throw e;
    }
  }
}
