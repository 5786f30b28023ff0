#!/usr/bin/env node
// The `airlock` command line: init, demo, runs, approvals, policy, audit, validate, models. Exit 2 on bad input.
import { Command, CommanderError } from 'commander';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { AirlockError, formatError } from '../errors.js';
import { loadAndCompile, openAirlock, type Airlock } from '../airlock.js';
import { WORKSPACE_FILE } from '../config/load.js';
import { modelFor } from '../routing/route.js';
import { formatPolicyTestReport, runPolicyTests } from '../policy/policy-tests.js';
import { startTracing, type Tracing } from '../telemetry/tracing.js';
import { withTraceIds } from '../telemetry/logging.js';
import { registerAuditCommands } from './commands/audit.js';
import type { Json, JsonObject, RunId } from '../types.js';
import { bold, dim, green, renderRuns, statusColor, yellow } from './render.js';
import { auditForRun, reportRun } from './run-report.js';
import { cliPrefix, DEMO_WORKSPACE } from './prefix.js';
import { resetAcme } from '../demo/acme/db.js';
import { registerInitCommand } from './commands/init.js';
import { registerKeysCommand } from './commands/keys.js';
import { registerApprovalCommands } from './commands/approvals.js';
import { registerToolsCommand } from './commands/tools.js';
import { registerWebhooksCommand } from './commands/webhooks.js';
import { registerRollbackCommand } from './commands/rollback.js';
import { registerIncidentsCommand } from './commands/incidents.js';
import { registerUsageCommand } from './commands/usage.js';
import { registerIngestCommand } from './commands/ingest.js';
import { registerModelsCommand } from './commands/models.js';
import { registerPilotCommands } from './commands/pilot.js';
import { registerConsoleCommand } from './commands/console.js';
import { serveDemoConsole } from './demo-serve.js';
import { simulateDecision } from '../gateway/simulate.js';
import { registerWhatIfCommand } from './commands/what-if.js';
import { registerPolicyLifecycleCommands } from './commands/policy-lifecycle.js';
import { activeShadow, undeployedWarning } from '../gateway/policy-lifecycle.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerHaltCommands } from './commands/halt.js';
import { registerMigrateCommand } from './commands/migrate.js';

/** The bundled demo workspace, and a run's audit records (for tests and scripts). */
export { DEMO_WORKSPACE, auditForRun };

/** The workspace a command works on: `--workspace`, else the current folder if it has airlock.yaml, else the demo. */
function workspaceDir(opt: string | undefined): string {
  if (opt) return path.resolve(opt);
  if (existsSync(path.join(process.cwd(), WORKSPACE_FILE))) return process.cwd();
  return DEMO_WORKSPACE;
}

function parseJsonArg(name: string, text: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new AirlockError('input', `${name} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, {
      hint: `pass a JSON object, e.g. ${name} '{"id":"42"}'`,
    });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new AirlockError('input', `${name} must be a JSON object`);
  return v as JsonObject;
}

/** A file the user asked us to write: its folder must exist and it must not be a folder (exit 2, not an export error). */
function checkOutFile(name: string, file: string): void {
  const folder = path.dirname(path.resolve(file));
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new AirlockError('input', `${name} \`${file}\`: the folder \`${folder}\` does not exist`, { hint: 'create the folder first, or write elsewhere' });
  }
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new AirlockError('input', `${name} \`${file}\` is a folder`, { hint: 'name a file to write, e.g. audit.jsonl' });
  }
}

let tracing: Tracing | undefined;

async function withAirlock<T>(dir: string, fn: (a: Airlock) => Promise<T>, opts: { trace?: boolean } = {}): Promise<T> {
  const airlock = await openAirlock(dir);
  // Spans are kept in the store (a run's trace for the console, no collector needed), printed with
  // `--trace` or `telemetry.console`, and exported to a collector when `telemetry.otlp` says so.
  const t = airlock.workspace.file.telemetry;
  try {
    tracing ??= startTracing({ console: opts.trace === true || t.console, store: airlock.store, otlp: t.otlp });
  } catch (e) {
    await airlock.close();
    throw e;
  }
  try {
    return await fn(airlock);
  } catch (e) {
    // A store another process holds (or that failed) is not written to again on the way out: its spans are dropped.
    if (e instanceof AirlockError && (e.code === 'store-locked' || e.code === 'store')) tracing?.dropLocal();
    throw e;
  } finally {
    // Spans are flushed into the store before it closes.
    await tracing?.shutdown();
    tracing = undefined;
    await airlock.close();
  }
}

const out = (s: string) => process.stdout.write(s + '\n');

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('airlock')
    .description('The production boundary for run-time AI agents: agents propose, Airlock decides.')
    .option('-w, --workspace <dir>', 'workspace folder (default: the current folder if it has airlock.yaml, else the bundled demo)')
    .option('--trace', 'print OpenTelemetry spans to the console')
    .showHelpAfterError()
    .exitOverride();

  const ws = () => workspaceDir(program.opts<{ workspace?: string }>().workspace);
  const traceOpt = () => ({ trace: Boolean(program.opts<{ trace?: boolean }>().trace) });

  program
    .command('demo')
    .description('run the refund-desk demo on the bundled Acme enterprise')
    .option('--reset', 'restore the Acme systems to their seed state first')
    .option('--ticket <id>', 'the support ticket to work', 'T-311')
    .option('--serve', 'then keep serving the web console (and /mcp, /v1) so the demo goes on in the browser; Ctrl-C stops')
    .option('--port <port>', 'with --serve: the port (default: server.port, 8787; 0 picks a free one)')
    .action(async (o: { reset?: boolean; ticket: string; serve?: boolean; port?: string }) => {
      const port = o.port === undefined ? undefined : Number(o.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new AirlockError('input', `--port \`${o.port}\` is not a port number (0-65535)`);
      const dir = ws();
      await withAirlock(
        dir,
        async (a) => {
          // Reset only once the workspace loaded and its store opened: bad input must change nothing.
          if (o.reset) {
            resetAcme(path.join(a.workspace.dir, '.airlock', 'acme.db'));
            out(dim('Acme systems reset to their seed state.'));
          }
          out(`${bold('Airlock demo')}: workflow refund-desk works ticket ${o.ticket} as agent refund-bot (tier ${a.workspace.workflows.get('refund-desk')?.tier ?? '?'}).`);
          out(dim(`workspace ${dir}, policy set ${a.policies.policySetHash.slice(0, 12)}`));
          const undeployed = await undeployedWarning(a.store, a.policies, cliPrefix(dir));
          if (undeployed) out(yellow(`warning: ${undeployed}`));
          out('');
          const run = await a.runner.start('refund-desk', { ticket_id: o.ticket });
          await reportRun(a, run.id, cliPrefix(dir));
          if (o.serve) await serveDemoConsole(a, port, run.id);
        },
        traceOpt(),
      );
    });

  program
    .command('run <workflow>')
    .description('start a run of a workflow')
    .option('--input <json>', 'the run input as a JSON object', '{}')
    .option('--on-behalf-of <user>', 'the person the agent acts for')
    .action(async (workflow: string, o: { input: string; onBehalfOf?: string }) => {
      const input = parseJsonArg('--input', o.input);
      await withAirlock(
        ws(),
        async (a) => {
          // Airlock's own loop needs the workflow's model: refuse before anything is recorded.
          const wf = a.workspace.workflows.get(workflow);
          if (wf) modelFor(a.workspace, wf);
          const run = await a.runner.start(workflow, input, o.onBehalfOf ? { onBehalfOf: o.onBehalfOf.includes(':') ? o.onBehalfOf : `user:${o.onBehalfOf}` } : {});
          await reportRun(a, run.id, cliPrefix(ws()));
          if (run.status === 'failed' || run.status === 'unverified') process.exitCode = 1;
        },
        traceOpt(),
      );
    });

  // The kill switch (stop, resume, halts); `resume RUN` continues one run from the store.
  registerHaltCommands(program, { out, workspaceDir: ws, withAirlock, traceOpt, reportRun: (a, runId) => reportRun(a, runId, cliPrefix(ws())) });

  program
    .command('validate [dir]')
    .description('check a workspace (config, workflows, contracts, policies) without running anything')
    .action(async (dir?: string) => {
      const { workspace, compiled } = await loadAndCompile(dir ? path.resolve(dir) : ws());
      for (const w of compiled.warnings) out(yellow(`warning: ${w}`));
      out(
        `${green('ok')}: ${workspace.dir}: ${workspace.workflows.size} workflow(s), ${workspace.tools.size} tool contracts, ` +
          `${compiled.policies.size} policies (set ${compiled.policySetHash.slice(0, 12)})`,
      );
    });

  const policy = program.command('policy').description('test, explain, replay, deploy and shadow policies');
  policy
    .command('test [dir]')
    .description('run the workspace\'s YAML policy test cases')
    .action(async (dir?: string) => {
      const { workspace, compiled } = await loadAndCompile(dir ? path.resolve(dir) : ws());
      const { readFileSync } = await import('node:fs');
      const files = (workspace.policyTestFiles ?? []).map((f) => ({ file: f, text: readFileSync(path.join(workspace.dir, f), 'utf8') }));
      if (files.length === 0) throw new AirlockError('input', 'the workspace declares no policy tests', { hint: 'add files under `policyTests:` in airlock.yaml' });
      const report = runPolicyTests(compiled, workspace, files);
      out(formatPolicyTestReport(report));
      if (report.failed > 0) process.exitCode = 1;
    });
  policy
    .command('explain')
    .description('print the decision for one request and the policies that produced it')
    .requiredOption('--as <principal>', 'who proposes: a declared principal, `kind:id` (e.g. agent:NAME)')
    .requiredOption('--tool <name>', 'the tool: a declared contract, `connector.tool`')
    .option('--args <json>', 'the arguments', '{}')
    .option('--workflow <name>', 'the workflow (default: the first one using the tool)')
    .option('--tier <tier>', 'override the workflow tier')
    .option('--classification <c>', 'label: classification of the data in context', 'internal')
    .option('--trust <t>', 'label: trusted or untrusted', 'trusted')
    .action(async (o: { as: string; tool: string; args: string; workflow?: string; tier?: string; classification: string; trust: string }) => {
      const { workspace, compiled } = await loadAndCompile(ws());
      const args = parseJsonArg('--args', o.args);
      // The one simulation path, shared with the console's policy simulator (gateway/simulate.ts).
      const sim = simulateDecision(workspace, compiled, { as: o.as, tool: o.tool, args, workflow: o.workflow, tier: o.tier, classification: o.classification, trust: o.trust });
      if (!sim.ok) throw new AirlockError('input', sim.error, sim.hint ? { hint: sim.hint } : {});
      out(sim.explanation);
    });
  // Which recorded proposals a draft policy set would decide differently (gateway/what-if.ts, shared with the console).
  registerWhatIfCommand(policy, { out, workspaceDir: ws });
  // Versions, deployment and the shadow set (gateway/policy-lifecycle.ts, gateway/shadow.ts).
  registerPolicyLifecycleCommands(policy, { out, workspaceDir: ws, cli: () => cliPrefix(ws()) });

  registerApprovalCommands(program, {
    out,
    workspaceDir: ws,
    withAirlock,
    traceOpt,
    reportRun: (a, runId) => reportRun(a, runId, cliPrefix(ws())),
  });

  const runs = program.command('runs').description('list runs; `runs show ID` prints one run\'s timeline');
  runs.option('--json', 'machine-readable output').action(async (o: { json?: boolean }) => {
    await withAirlock(ws(), async (a) => {
      const list = await a.store.listRuns({ limit: 50 });
      out(o.json ? JSON.stringify(list, null, 2) : renderRuns(list));
    });
  });
  runs
    .command('show <run>')
    .description('the timeline of one run: each step, decision, policy ids, approval and verification')
    .option('--json', 'the run and its audit records as JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      await withAirlock(ws(), async (a) => {
        const run = await a.store.getRun(id as RunId);
        if (!run) throw new AirlockError('not-found', `run \`${id}\` does not exist`, { hint: 'list runs with `airlock runs`' });
        if (o.json) out(JSON.stringify({ run, audit: await auditForRun(a.store, id) }, null, 2));
        else await reportRun(a, run.id, cliPrefix(ws()));
      });
    });
  runs
    .command('cancel <run>')
    .description('cancel a run that has not ended')
    .requiredOption('--as <user>', 'who cancels')
    .requiredOption('--reason <text>', 'why')
    .action(async (id: string, o: { as: string; reason: string }) => {
      await withAirlock(ws(), async (a) => {
        const who = a.principal(o.as);
        const run = await a.runner.cancel(id as RunId, `${who.kind}:${who.id}`, o.reason);
        out(`run ${run.id}: ${statusColor(run.status)}`);
      });
    });

  program
    .command('serve')
    .description('serve the MCP endpoint (/mcp, Streamable HTTP) and the JSON API (/v1) for external agents')
    .option('--host <host>', 'interface to listen on (default: server.host, 127.0.0.1)')
    .option('--port <port>', 'port (default: server.port, 8787; 0 picks a free one)')
    .action(async (o: { host?: string; port?: string }) => {
      const port = o.port === undefined ? undefined : Number(o.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
        throw new AirlockError('input', `--port \`${o.port}\` is not a port number (0-65535)`);
      }
      await withAirlock(ws(), async (a) => {
        const { startHttpServer } = await import('../server/serve.js');
        const { pino } = await import('pino');
        // Request logs go to stderr as JSON lines (stdout carries the banner).
        // Lines written inside a span carry its trace_id and span_id.
        const log = pino(withTraceIds({ name: 'airlock', level: process.env['AIRLOCK_LOG_LEVEL'] ?? 'info' }), pino.destination(2));
        // Listening for the stop before anything is served: a SIGTERM right after the banner still closes cleanly (the lease given back).
        const stopped = new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        const server = await startHttpServer(a, { ...(o.host ? { host: o.host } : {}), ...(port !== undefined ? { port } : {}), log });
        out(`${green('airlock')} serving workspace ${a.workspace.file.name}`);
        out(`  MCP (Streamable HTTP)  ${server.url}/mcp`);
        out(`  JSON API               ${server.url}/v1   (OpenAPI: ${server.url}/openapi.json)`);
        out(dim('  authenticate with `Authorization: Bearer <API key or JWT>`; Ctrl-C stops'));
        // The files loaded are what is enforced; say so when they are not what people last deployed.
        const undeployed = await undeployedWarning(a.store, a.policies, cliPrefix(ws()));
        if (undeployed) out(yellow(`warning: ${undeployed}`));
        const shadow = await activeShadow(a.store);
        if (shadow) out(dim(`  shadow policy set ${shadow.policySetHash.slice(0, 12)} (set by ${shadow.by} at ${shadow.at}): decided beside the enforced set and recorded, never enforced`));
        await stopped;
        await server.close();
      }, traceOpt());
    });

  program
    .command('mcp')
    .description('serve MCP over stdio for a local client, as `server.stdioPrincipal`')
    .option('--workflow <name>', 'the workflow (default: the principal\'s only one)')
    .action(async (o: { workflow?: string }) => {
      await withAirlock(ws(), async (a) => {
        const { runStdioMcp } = await import('../server/serve.js');
        const { closed } = await runStdioMcp(a, o.workflow);
        await closed;
      });
    });

  registerInitCommand(program, { out });
  registerKeysCommand(program, { out, workspaceDir: ws });
  registerToolsCommand(program, { out, workspaceDir: ws });
  registerWebhooksCommand(program, { out, workspaceDir: ws });
  registerRollbackCommand(program, { out, workspaceDir: ws });
  registerIncidentsCommand(program, { out, workspaceDir: ws });
  registerUsageCommand(program, { out, workspaceDir: ws });
  registerIngestCommand(program, { out, workspaceDir: ws });
  registerModelsCommand(program, { out, workspaceDir: ws });
  registerPilotCommands(program, { out, workspaceDir: ws });
  registerConsoleCommand(program, { out });
  registerEvalCommand(program, { out });
  registerMigrateCommand(program, { out, workspaceDir: ws });

  registerAuditCommands(program, { out, workspaceDir: ws, checkOutFile });

  return program;
}

/** True for a write to a reader that closed its end of the pipe (`airlock audit export | head`). */
function readerGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof AirlockError) {
      process.stderr.write(formatError(err) + '\n');
      return err.isUserError ? 2 : 1;
    }
    // The reader of stdout stopped reading (`| head`): what it wanted it has; the rest is dropped, quietly.
    if (readerGone(err)) return 0;
    process.stderr.write(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1] ? path.resolve(process.argv[1]) : ''}` || process.argv[1]?.endsWith('/airlock')) {
  // Output past a reader that closed the pipe is dropped: the command goes on (or ends, where writing is its work).
  process.stdout.on('error', (e) => {
    if (!readerGone(e)) throw e;
  });
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

export type { Json };
