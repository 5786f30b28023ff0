// Test helpers for config loading: a throw-away copy of the Acme example, text edits, error capture.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { loadWorkspace } from '../../src/config/load.js';
import { AirlockError, AirlockErrors, formatError } from '../../src/errors.js';

/** The Acme demo workspace shipped in the repository. */
export const EXAMPLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/acme');

/** A temporary copy of the Acme example; `remove()` deletes it. */
export interface TempWorkspace {
  readonly dir: string;
  read(rel: string): Promise<string>;
  /** Replaces `from` with `to` in a file; fails the test if `from` is not there exactly once. */
  edit(rel: string, from: string, to: string): Promise<void>;
  write(rel: string, text: string): Promise<void>;
  remove(): Promise<void>;
}

/**
 * Copies the example into a temp dir. Policy sources and policy tests belong to other layers
 * and may not exist yet; the copy gets a placeholder where a folder its globs read is empty.
 */
export async function copyExample(): Promise<TempWorkspace> {
  const dir = await mkdtemp(path.join(tmpdir(), 'airlock-config-'));
  await cp(EXAMPLE_DIR, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}.airlock`) });
  await ensureOne(path.join(dir, 'policies'), 'placeholder.cedar', '// placeholder\n');
  await ensureOne(path.join(dir, 'tests', 'policy'), 'placeholder.yaml', 'cases: []\n');
  const ws: TempWorkspace = {
    dir,
    read: (rel) => readFile(path.join(dir, rel), 'utf8'),
    async edit(rel, from, to) {
      const text = await ws.read(rel);
      expect(text.split(from).length - 1, `\`${from}\` should occur once in ${rel}`).toBe(1);
      await ws.write(rel, text.replace(from, to));
    },
    write: (rel, text) => writeFile(path.join(dir, rel), text, 'utf8'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  return ws;
}

async function ensureOne(folder: string, name: string, text: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  const entries = (await readdir(folder)).filter((n) => !n.startsWith('.'));
  if (entries.length === 0) await writeFile(path.join(folder, name), text, 'utf8');
}

/** Loads `dir` expecting failure; returns the individual errors and the formatted text. */
export async function loadErrors(dir: string): Promise<{ errors: readonly AirlockError[]; text: string }> {
  let thrown: unknown;
  try {
    await loadWorkspace(dir);
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'the workspace should not load').toBeInstanceOf(AirlockError);
  const err = thrown as AirlockError;
  const errors = err instanceof AirlockErrors ? err.errors : [err];
  return { errors, text: formatError(err) };
}

/** 1-based line and column of the first occurrence of `needle` in `text` (after `after`, if given). */
export function positionOf(text: string, needle: string, after?: string): { line: number; column: number } {
  const start = after === undefined ? 0 : text.indexOf(after);
  expect(start, `\`${after}\` should be in the text`).toBeGreaterThanOrEqual(0);
  const i = text.indexOf(needle, start);
  expect(i, `\`${needle}\` should be in the text`).toBeGreaterThanOrEqual(0);
  const before = text.slice(0, i).split('\n');
  return { line: before.length, column: (before[before.length - 1]?.length ?? 0) + 1 };
}

/** What one expected error must say: where it points and (part of) its message. */
export interface ExpectedError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path?: string;
  readonly message: string | RegExp;
  readonly hint?: string | RegExp;
}

/** Asserts that exactly one of `errors` matches `want`, checking its formatted `file:line:col at \`path\`` head too. */
export function expectError(errors: readonly AirlockError[], want: ExpectedError): AirlockError {
  const matches = errors.filter((e) =>
    typeof want.message === 'string' ? e.message.includes(want.message) : want.message.test(e.message),
  );
  expect(matches.map(formatError), `one error should say ${String(want.message)}; got:\n${errors.map(formatError).join('\n')}`).toHaveLength(1);
  const e = matches[0]!;
  expect(e.code).toBe('config');
  expect(e.location).toEqual({
    file: want.file,
    line: want.line,
    column: want.column,
    ...(want.path === undefined ? {} : { path: want.path }),
  });
  const head = `error: ${want.file}:${want.line}:${want.column}${want.path === undefined ? '' : ` at \`${want.path}\``}: `;
  expect(formatError(e).startsWith(head), `${formatError(e)}\nshould start with ${head}`).toBe(true);
  if (want.hint !== undefined) {
    if (typeof want.hint === 'string') expect(e.hint).toContain(want.hint);
    else expect(e.hint).toMatch(want.hint);
  }
  return e;
}
