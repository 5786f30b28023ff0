// The evaluation's memory: each run of a suite appended as one JSON line (its totals and which
// scenarios passed), so the next run can say what got worse. Kept per workspace in
// `.airlock/eval/<suite>.jsonl`, one line per run, for every model the suite was run with.
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { RecordedRun, Totals } from './scoring.js';

/** One line of the history. */
export interface HistoryLine extends RecordedRun {
  readonly suite: string;
  /** How the runs were driven: `playbooks`, `route:NAME` or `agent:COMMAND`. */
  readonly model: string;
  readonly totals: Totals;
  /** The run's verdict, as its exit code said: thresholds met, nothing unevaluated, nothing worse than before. */
  readonly passed: boolean;
}

/** Where a workspace keeps the history of suite `suite`. */
export function historyFile(workspaceDir: string, suite: string): string {
  return path.join(workspaceDir, '.airlock', 'eval', `${suite}.jsonl`);
}

/** The last recorded run of `suite` with `model` (any model when null) in `file`, or null (none, or an unreadable line is skipped). */
export function previousRun(file: string, suite: string, model: string | null): HistoryLine | null {
  if (!existsSync(file)) return null;
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const text = lines[i]?.trim();
    if (!text) continue;
    try {
      const l = JSON.parse(text) as Partial<HistoryLine>;
      if (l.suite === suite && (model === null || l.model === model) && l.totals && Array.isArray(l.scenarios) && typeof l.at === 'string') return l as HistoryLine;
    } catch {
      // a torn line (a run killed while writing) is not history
    }
  }
  return null;
}

/** Appends `line` to `file` (creating its folder). */
export function recordRun(file: string, line: HistoryLine): void {
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, JSON.stringify(line) + '\n');
}

/**
 * The latest recorded result of a suite in the workspace at `workspaceDir`, whatever drove it (the
 * evidence a pilot's graduation step asks for): `suite` is its folder or file, relative to the workspace,
 * or its name. Null when it was never run to the end here.
 */
export function latestEvalResult(workspaceDir: string, suite: string): { readonly suite: string; readonly model: string; readonly passed: boolean; readonly at: string } | null {
  const name = suiteNameAt(path.resolve(workspaceDir, suite)) ?? suite;
  const last = previousRun(historyFile(workspaceDir, name), name, null);
  return last ? { suite: name, model: last.model, passed: last.passed === true, at: last.at } : null;
}

/** The `name` a suite folder's `suite.yaml` (or a suite file) gives, or null. */
function suiteNameAt(p: string): string | null {
  try {
    const file = statSync(p).isDirectory() ? path.join(p, 'suite.yaml') : p;
    const doc = parse(readFileSync(file, 'utf8')) as { name?: unknown } | null;
    return typeof doc?.name === 'string' ? doc.name : null;
  } catch {
    return null;
  }
}
