// `airlock eval`'s engine: runs a loaded suite's scenarios one after another, each in its own copy of
// the workspace, scores them, gates the totals on the suite's thresholds, and compares with the
// previous recorded run of the same suite and model (a scenario that passed then and fails now, a rate
// that moved the wrong way). Failed scenarios have opened incidents on their runs, in their kept copies.
import { mkdtempSync, readdirSync, rmdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AirlockError } from '../../errors.js';
import type { EvalSuite } from './load-suite.js';
import { driverOf, runScenario, type ScenarioOptions, type ScenarioResult } from './run-scenario.js';
import { gate, passed, regressions, totalsOf, type Miss, type Regression, type Totals } from './scoring.js';
import { previousRun, recordRun } from './history.js';
import type { Thresholds } from './suite-schema.js';

/** What an evaluation is asked to do beyond the suite. */
export interface EvalOptions extends Omit<ScenarioOptions, 'root'> {
  /** Only these scenario ids (in suite order). */
  readonly only?: readonly string[] | undefined;
  /** The history file to compare with and append to; null: neither. */
  readonly history: string | null;
  /** Where the scenarios' copies are made (default: the system's temp folder). */
  readonly workDir?: string | undefined;
  readonly now?: (() => Date) | undefined;
  /** Told each scenario's result as it finishes (for progress lines). */
  readonly onScenario?: ((r: ScenarioResult, index: number, of: number) => void) | undefined;
}

/** A whole evaluation: what ran, the numbers, the gate and what got worse. */
export interface EvalReport {
  readonly suite: string;
  readonly path: string;
  readonly workspace: string;
  /** How the runs were driven: `playbooks`, `route:NAME` or `agent:COMMAND`. */
  readonly model: string;
  readonly at: string;
  readonly ms: number;
  readonly thresholds: Thresholds;
  readonly totals: Totals;
  /** Thresholds missed, and scenarios that could not be evaluated. */
  readonly misses: readonly Miss[];
  /** What got worse since `previous`. */
  readonly regressions: readonly Regression[];
  readonly previous: { readonly at: string } | null;
  readonly scenarios: readonly ScenarioResult[];
  /** The folder holding the kept copies (null when none was kept). */
  readonly copies: string | null;
  /** No threshold missed, nothing unevaluated, nothing worse than last time. */
  readonly passed: boolean;
}

/** The label history keeps a run's drivers under: results are compared only with the same one. */
export function modelLabel(opts: Pick<EvalOptions, 'model' | 'agent'>): string {
  if (opts.agent !== undefined) return `agent:${opts.agent}`;
  if (opts.model !== undefined) return `route:${opts.model}`;
  return 'playbooks';
}

/**
 * Evaluates `suite`. Bad input (an unknown scenario id, a run with no way to drive it) is an
 * `input` error before anything runs; everything that happens in a scenario is in its result.
 */
export async function runSuite(suite: EvalSuite, opts: EvalOptions): Promise<EvalReport> {
  const now = opts.now ?? (() => new Date());
  const started = Date.now();
  const unknown = (opts.only ?? []).filter((id) => !suite.scenarios.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new AirlockError('input', `no scenario ${unknown.map((u) => `\`${u}\``).join(', ')} in suite \`${suite.name}\``, { hint: `scenarios: ${suite.scenarios.map((s) => s.id).join(', ')}` });
  }
  const chosen = opts.only && opts.only.length > 0 ? suite.scenarios.filter((s) => opts.only?.includes(s.id)) : suite.scenarios;
  const undriven = chosen.filter((s) => s.runs.some((r) => driverOf(r, opts) === null)).map((s) => s.id);
  if (undriven.length > 0) {
    throw new AirlockError('input', `scenario${undriven.length > 1 ? 's' : ''} ${undriven.map((u) => `\`${u}\``).join(', ')} name${undriven.length > 1 ? '' : 's'} no playbook or agent`, {
      hint: 'give each run a `playbook` or an `agent`, or evaluate a model with `--model ROUTE` or an agent with `--agent CMD`',
    });
  }
  if (opts.model !== undefined && !suite.workspace.file.models[opts.model] && opts.model !== 'auto') {
    throw new AirlockError('input', `model route \`${opts.model}\` is not declared in the workspace`, { hint: `declared: ${Object.keys(suite.workspace.file.models).join(', ') || '(none)'}` });
  }
  const model = modelLabel(opts);
  const previous = opts.history === null ? null : previousRun(opts.history, suite.name, model);
  const root = mkdtempSync(path.join(opts.workDir ?? os.tmpdir(), 'airlock-eval-'));
  const results: ScenarioResult[] = [];
  // Sequentially: each scenario spawns its own systems, and none may see another's state.
  for (const [i, s] of chosen.entries()) {
    const r = await runScenario(suite, s, { ...opts, root });
    results.push(r);
    opts.onScenario?.(r, i, chosen.length);
  }
  const scores = results.map((r) => r.score);
  const totals = totalsOf(scores);
  const misses = gate(totals, suite.thresholds);
  // A partial run (`only`) is compared scenario by scenario, never by its rates.
  const partial = chosen.length < suite.scenarios.length;
  const worse = regressions(scores, partial ? { ...totals, utility: null, utilityUnderAttack: null, attackSuccessRate: null } : totals, previous);
  const at = now().toISOString();
  const ok = misses.length === 0 && worse.length === 0;
  if (opts.history !== null && !partial) {
    recordRun(opts.history, { suite: suite.name, model, at, totals, passed: ok, scenarios: results.map((r) => ({ id: r.id, passed: passed(r.score) })) });
  }
  let copies: string | null = root;
  if (readdirSync(root).length === 0) {
    rmdirSync(root);
    copies = null;
  }
  return {
    suite: suite.name,
    path: suite.path,
    workspace: suite.workspaceDir,
    model,
    at,
    ms: Date.now() - started,
    thresholds: suite.thresholds,
    totals,
    misses,
    regressions: worse,
    previous: previous ? { at: previous.at } : null,
    scenarios: results,
    copies,
    passed: ok,
  };
}
