// `airlock eval SUITE [--model ROUTE | --agent CMD] [--scenario ID...] [--json FILE] [--keep] [--copies DIR] [--no-history]`:
// runs a scenario suite (src/pilot/eval/), each scenario in its own copy of the workspace, and prints a
// table of utility and attack success. Exit 0: every threshold met, nothing unevaluated, nothing worse
// than the previous run; 1: not so; 2: bad input (a suite file that does not load names file:line:col).
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AirlockError } from '../../errors.js';
import { loadSuite } from '../../pilot/eval/load-suite.js';
import { runSuite, type EvalReport } from '../../pilot/eval/eval.js';
import { historyFile } from '../../pilot/eval/history.js';
import { renderReport, risksCovered } from '../../pilot/eval/report.js';
import { startTracing } from '../../telemetry/tracing.js';
import { bold, dim, green, red, yellow } from '../render.js';

/** What the eval command needs from the program. */
export interface EvalCommandHelpers {
  readonly out: (line: string) => void;
}

interface EvalFlags {
  readonly model?: string;
  readonly agent?: string;
  readonly scenario?: string[];
  readonly json?: string;
  readonly keep?: boolean;
  readonly copies?: string;
  readonly history: boolean;
}

/** Adds `eval`. */
export function registerEvalCommand(program: Command, helpers: EvalCommandHelpers): Command {
  const { out } = helpers;
  return program
    .command('eval <suite>')
    .description('run a scenario suite (benign and adversarial tasks, each on a fresh copy of the workspace): utility, attack success, human touches; exit 1 when a threshold is missed')
    .option('--model <route>', 'drive every run with this declared model route instead of the playbooks')
    .option('--agent <command>', 'drive every run with this external agent command (it gets the doors\' URLs and an API key in its environment)')
    .option('--scenario <id...>', 'only these scenarios')
    .option('--json <file>', 'also write the whole report (every run\'s trail) as JSON')
    .option('--keep', 'keep every scenario\'s copy of the workspace (default: only those that failed)')
    .option('--copies <dir>', 'make the scenarios\' copies in this folder (default: the system\'s temp folder), e.g. for CI artifacts')
    .option('--no-history', 'neither compare with nor record into the workspace\'s history (.airlock/eval/SUITE.jsonl)')
    .action(async (given: string, o: EvalFlags) => {
      if (o.model !== undefined && o.agent !== undefined) throw new AirlockError('input', '`--model` and `--agent` drive the runs two different ways: pass one');
      if (o.json !== undefined) checkOutFile(o.json);
      if (o.copies !== undefined && !(existsSync(o.copies) && statSync(o.copies).isDirectory())) {
        throw new AirlockError('input', `--copies \`${o.copies}\` is not a folder`, { hint: 'create it first' });
      }
      const suite = await loadSuite(given);
      const report = await runSuite(suite, {
        model: o.model,
        agent: o.agent,
        only: o.scenario,
        keep: o.keep ? 'all' : 'failed',
        workDir: o.copies,
        history: o.history ? historyFile(suite.workspaceDir, suite.name) : null,
        // Each scenario's runs are traced into its own store: the trace ids in the table open in its console.
        tracing: (store) => startTracing({ store }),
        onScenario: (r, i, n) => process.stderr.write(dim(`[${i + 1}/${n}] ${r.id}: ${r.outcome} (${(r.ms / 1000).toFixed(1)} s)`) + '\n'),
      });
      for (const line of renderReport(report, { good: green, bad: red, warn: yellow, dim, bold })) out(line);
      if (o.json !== undefined) {
        writeFileSync(o.json, JSON.stringify(jsonOf(report), null, 2) + '\n');
        out(dim(`report written to ${o.json}`));
      }
      if (!report.passed) process.exitCode = 1;
    });
}

/** The `--json` document: the report, with the OWASP risks it covers. */
function jsonOf(r: EvalReport): object {
  return { ...r, risks: risksCovered(r) };
}

/** `--json FILE`: its folder must exist, and it must not be a folder (exit 2 before anything runs). */
function checkOutFile(file: string): void {
  const folder = path.dirname(path.resolve(file));
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new AirlockError('input', `--json \`${file}\`: the folder \`${folder}\` does not exist`, { hint: 'create the folder first, or write elsewhere' });
  if (existsSync(file) && statSync(file).isDirectory()) throw new AirlockError('input', `--json \`${file}\` is a folder`, { hint: 'name a file to write, e.g. eval.json' });
}
