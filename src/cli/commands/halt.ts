// The kill switch from the command line: `airlock stop WORKFLOW | --principal P | --connector C | --all
// --as USER --reason TEXT` halts a scope in every process on the store; `airlock resume ... --as USER
// --reason TEXT` lifts it (an owner) and drives on the runs it held; `airlock halts` lists them.
// `airlock resume RUN` (no --as) still continues one run from the store. Exit 2 for bad input and refusals.
import type { Command } from 'commander';
import type { Airlock } from '../../airlock.js';
import { AirlockError } from '../../errors.js';
import { localApprover } from '../../gateway/approvals/vote.js';
import { summaryView } from '../../gateway/approvals/rules.js';
import { describeScope, scopeKey, scopeOf, scopesOf, type HaltScope } from '../../gateway/halts.js';
import { liftHalt, reasonProblem, scopeProblem, stopScope, touchedWorkflows } from '../../gateway/halt-control.js';
import { continueHeld } from '../../orchestration/halted-runs.js';
import { runStateOf } from '../../orchestration/run-state.js';
import type { HaltRecord } from '../../store/store.js';
import type { RunId } from '../../types.js';
import { bold, dim, green, red, statusColor, yellow } from '../render.js';

/** What the halt commands need from the program that hosts them. */
export interface HaltCommandHelpers {
  readonly out: (line: string) => void;
  readonly workspaceDir: () => string;
  /** Opens the workspace, runs `fn`, closes it (with tracing when asked). */
  readonly withAirlock: <T>(dir: string, fn: (a: Airlock) => Promise<T>, opts?: { trace?: boolean }) => Promise<T>;
  readonly traceOpt: () => { trace: boolean };
  /** Prints where a run stands after it was driven on. */
  readonly reportRun: (a: Airlock, runId: RunId) => Promise<void>;
}

/** The scope options `stop` and `resume` share. */
interface ScopeOptions {
  readonly principal?: string;
  readonly connector?: string;
  readonly all?: boolean;
  readonly as?: string;
  readonly reason?: string;
}

/** Adds `stop`, `resume` and `halts` to `program`. */
export function registerHaltCommands(program: Command, h: HaltCommandHelpers): void {
  const { out } = h;
  const ws = h.workspaceDir;

  program
    .command('stop [workflow]')
    .description('the kill switch: halt a workflow (or --principal, --connector, --all) at once, in every process: no call executes, no run starts, nothing is approved until an owner resumes it')
    .option('--principal <kind:id>', 'halt a principal: an agent acting, or the person agents act for')
    .option('--connector <name>', 'halt every call to a connector')
    .option('--all', 'halt everything')
    .requiredOption('--as <user>', 'who stops it (a declared person who owns a workflow it touches, or a security or platform owner)')
    .requiredOption('--reason <text>', `why (required, one line, at most 500 characters): every agent and person it stops is told`)
    .action(async (workflow: string | undefined, o: ScopeOptions) => {
      const scope = scopeFrom('stop', workflow, o);
      const reason = checkedReason(o.reason);
      await h.withAirlock(ws(), async (a) => {
        const problem = scopeProblem(a.workspace, scope);
        if (problem) throw new AirlockError('input', `airlock stop: ${problem}`);
        const res = await stopScope(a, localApprover(a.principal(o.as ?? '')), scope, reason);
        if (res.kind === 'refused') return refuse(res.reason);
        if (res.kind === 'already') {
          out(`${yellow('already stopped')}: ${renderHalt(res.halt).join('\n')}`);
          return;
        }
        out(`${red('stopped')} ${describeScope(scope)} ${dim(`(${res.halt.id})`)} by ${res.halt.stoppedBy} at ${res.halt.stoppedAt}: ${res.halt.reason}`);
        for (const line of await heldNow(a, scope)) out(`  ${line}`);
        out(dim(`  an owner resumes it: airlock resume ${resumeTarget(scope)} --as USER --reason "..."`));
      });
    });

  program
    .command('resume [target]')
    .description('lift a halt (an owner: `resume WORKFLOW`, --principal, --connector, --all, or a halt id, with --as and --reason) and drive on the runs it held; `resume RUN` continues one run from the store')
    .option('--principal <kind:id>', 'lift the halt on a principal')
    .option('--connector <name>', 'lift the halt on a connector')
    .option('--all', 'lift the halt on everything')
    .option('--as <user>', 'who resumes it (an owner of the workflow; for a principal, a connector or everything, a security or platform owner)')
    .option('--reason <text>', 'why it may go on again (required with --as, one line, at most 500 characters)')
    .action(async (target: string | undefined, o: ScopeOptions) => {
      const lifting = o.as !== undefined || o.reason !== undefined || o.principal !== undefined || o.connector !== undefined || o.all === true;
      if (!lifting) {
        if (!target) throw new AirlockError('input', 'airlock resume: name a run to continue, or a halt to lift (WORKFLOW, --principal, --connector or --all, with --as USER --reason TEXT)');
        await h.withAirlock(ws(), async (a) => {
          if (a.workspace.workflows.has(target) || target.startsWith('hlt_')) {
            throw new AirlockError('input', `airlock resume ${target}: lifting a halt needs an owner and a reason`, { hint: `airlock resume ${target} --as USER --reason "..."` });
          }
          const run = await a.runner.resume(target as RunId);
          await h.reportRun(a, run.id);
        }, h.traceOpt());
        return;
      }
      if (o.as === undefined) throw new AirlockError('input', 'airlock resume: --as USER is required to lift a halt: only an owner resumes what people stopped');
      if (target?.startsWith('run_')) throw new AirlockError('input', `airlock resume: \`${target}\` is a run; \`airlock resume ${target}\` (without --as) continues it`);
      const byId = target?.startsWith('hlt_') && o.principal === undefined && o.connector === undefined && o.all !== true ? target : null;
      const scope = byId ? null : scopeFrom('resume', target, o);
      const reason = checkedReason(o.reason);
      await h.withAirlock(ws(), async (a) => {
        const halt = byId ? await a.store.getHalt(byId) : await a.store.activeHalt([scopeKey(scope as HaltScope)]);
        if (!halt) {
          const what = byId ? `halt \`${byId}\`` : describeScope(scope as HaltScope);
          const hint = scope ? scopeProblem(a.workspace, scope) : null;
          throw new AirlockError('not-found', `airlock resume: ${what} is not halted${byId ? ' (no such halt)' : ''}${hint ? `; ${hint}` : ''}`, { hint: 'list active halts with `airlock halts`' });
        }
        const res = await liftHalt(a, localApprover(a.principal(o.as ?? '')), halt.id, reason);
        if (res.kind === 'refused') return refuse(res.reason);
        const lifted = res.halt;
        const seconds = Math.round((Date.parse(lifted.liftedAt ?? lifted.stoppedAt) - Date.parse(lifted.stoppedAt)) / 1000);
        out(`${green('resumed')} ${describeScope(scopeOf(lifted.scope))} ${dim(`(${lifted.id}, halted ${seconds} s)`)} by ${lifted.liftedBy ?? '?'}: ${lifted.liftReason ?? ''}`);
        // A wider halt may still hold the same scope: lifting this one does not let anything through that.
        const still = await a.store.activeHalt(lifted.scope === 'all' ? [] : ['all']);
        if (still) out(yellow(`  still halted: ${describeScope(scopeOf(still.scope))} (${still.id}) holds everything until it is lifted too`));
        for (const fate of await continueHeld({ store: a.store, resume: (id) => a.runner.resume(id) }, lifted.id)) {
          out(`  run ${fate.runId}: ${statusColor(fate.status)}${'error' in fate ? ` ${red(fate.error)}` : ''}`);
        }
      }, h.traceOpt());
    });

  program
    .command('halts')
    .description('the active halts (the kill switch): what is stopped, by whom, since when and why')
    .option('--all', 'lifted ones too (newest first)')
    .option('--json', 'machine-readable output')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      await h.withAirlock(ws(), async (a) => {
        const list = await a.store.listHalts(o.all ? {} : { status: 'active' });
        if (o.json) out(JSON.stringify(list, null, 2));
        else if (list.length === 0) out(o.all ? 'no halts' : 'nothing is halted');
        else out(list.map((x) => renderHalt(x).join('\n')).join('\n\n'));
      });
    });
}

/** One halt: id, status, scope, who and when, the reason, and (once lifted) by whom and why. */
export function renderHalt(x: HaltRecord): string[] {
  const lines = [`${bold(x.id)}  ${x.status === 'active' ? red('active') : green('lifted')}  ${describeScope(scopeOf(x.scope))}  ${dim(`stopped by ${x.stoppedBy} at ${x.stoppedAt}`)}`, `  reason  ${x.reason}`];
  if (x.status === 'lifted') lines.push(`  lifted  by ${x.liftedBy ?? '?'} at ${x.liftedAt ?? '?'}: ${x.liftReason ?? ''}`);
  return lines;
}

/** The one scope the arguments name; anything else is an `input` error saying which arguments. */
function scopeFrom(command: 'stop' | 'resume', target: string | undefined, o: ScopeOptions): HaltScope {
  const given = [target !== undefined ? `\`${target}\`` : null, o.principal !== undefined ? '--principal' : null, o.connector !== undefined ? '--connector' : null, o.all ? '--all' : null].filter((g) => g !== null);
  if (given.length === 0) throw new AirlockError('input', `airlock ${command}: say what: a WORKFLOW, --principal kind:id, --connector NAME or --all`);
  if (given.length > 1) throw new AirlockError('input', `airlock ${command}: name one scope, not ${given.join(' and ')}`, { hint: 'a halt has one scope; run the command once per scope' });
  if (o.all) return { kind: 'all' };
  if (o.connector !== undefined) return { kind: 'connector', name: o.connector };
  if (o.principal !== undefined) {
    if (!/^(user|agent|service):[^:\s]+$/.test(o.principal)) throw new AirlockError('input', `airlock ${command}: --principal \`${o.principal}\` is not \`kind:id\``, { hint: 'e.g. --principal agent:refund-bot or --principal user:dana' });
    return { kind: 'principal', ref: o.principal };
  }
  return { kind: 'workflow', name: target as string };
}

/** `--reason`, checked (required, bounded, one line); an `input` error naming the option when not. */
function checkedReason(reason: string | undefined): string {
  const problem = reasonProblem(reason ?? '');
  if (problem) throw new AirlockError('input', `--reason: ${problem}`);
  return (reason ?? '').trim();
}

/** What `airlock resume` is given to lift a halt on `scope`. */
function resumeTarget(scope: HaltScope): string {
  return scope.kind === 'workflow' ? scope.name : scope.kind === 'all' ? '--all' : scope.kind === 'principal' ? `--principal ${scope.ref}` : `--connector ${scope.name}`;
}

/** A refusal (already audited): said on stderr, exit 2. */
function refuse(reason: string): void {
  process.stderr.write(red(`refused: ${reason}`) + '\n');
  process.exitCode = 2;
}

/** What the halt holds now: the runs and the pending approvals in its scope. */
async function heldNow(a: Airlock, scope: HaltScope): Promise<string[]> {
  const key = scopeKey(scope);
  const touched = new Set(touchedWorkflows(a.workspace, scope).map((w) => w.name));
  const inScope = (s: { workflow: string; principal: string; onBehalfOf: string | null }): boolean => scopesOf(s).includes(key) || (scope.kind === 'connector' && touched.has(s.workflow));
  const runs = [...(await a.store.listRuns({ status: 'running' })), ...(await a.store.listRuns({ status: 'awaiting-approval' }))].filter((r) => {
    const st = runStateOf(r);
    return inScope({ workflow: r.workflow, principal: `agent:${st.agent}`, onBehalfOf: st.onBehalfOf });
  });
  const approvals = (await a.store.listApprovals({ status: 'pending' })).filter((ap) => inScope({ workflow: ap.workflow, principal: ap.requester, onBehalfOf: summaryView(ap).onBehalfOf }) || scopesOf({ workflow: ap.workflow, principal: ap.requester, connector: a.workspace.tools.get(ap.tool)?.connector }).includes(key));
  const own = runs.filter((r) => runStateOf(r).driver === 'model').length;
  return [
    `${runs.length} open run(s) in it: ${own} of Airlock's own stop at their next step and wait; ${runs.length - own} driven by agents or rollbacks are refused at their next call`,
    `${approvals.length} pending approval(s) in it: none can be approved until it is resumed (rejecting still works)`,
  ];
}
