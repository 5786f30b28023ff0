// What reaches the process as an uncaught exception while a test runs something: for tests that prove a
// failure (a dropped connection, a reader gone) is handled where it happens, never left to crash the process.

/** Runs `fn`, and returns the uncaught exceptions raised meanwhile and in the `settleMs` after it. */
export async function uncaughtDuring(fn: () => Promise<void>, settleMs = 200): Promise<unknown[]> {
  const seen: unknown[] = [];
  const note = (e: unknown): void => void seen.push(e);
  process.on('uncaughtException', note);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    process.off('uncaughtException', note);
  }
  return seen;
}
