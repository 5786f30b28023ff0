// `airlock incidents [--all]` lists incidents (open ones by default); `incidents assign ID --to USER --as USER` gives one
// to a person; `incidents resolve ID --as USER --note TEXT` closes one.
import type { Command } from 'commander';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';
import { assignIncident, resolveIncident } from '../../orchestration/incidents.js';
import type { IncidentRecord } from '../../store/store.js';
import { bold, dim, green, red, yellow } from '../render.js';

/** What `registerIncidentsCommand` needs from the program that hosts it. */
export type IncidentsCommandHelpers = WorkspaceCommandHelpers;

/** Adds `incidents [--all] [--json]` and `incidents resolve <id> --as USER --note TEXT` to `program`. */
export function registerIncidentsCommand(program: Command, helpers: IncidentsCommandHelpers): Command {
  const { out } = helpers;
  const withAirlock = workspaceRunner(helpers);

  const incidents = program
    .command('incidents')
    .description('incidents (open ones, oldest first): failed verifications, failed rollbacks, runs that kept hitting policy; `incidents resolve ID`')
    .option('--all', 'resolved ones too (the newest 1,000, newest first)')
    .option('--json', 'machine-readable output')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      await withAirlock(async (a) => {
        // Open ones are few and stay until a person resolves them; all of them pile up: the newest thousand.
        const list = o.all ? await a.store.pageIncidents({ limit: 1000 }) : await a.store.listIncidents({ status: 'open' });
        if (o.json) out(JSON.stringify(list, null, 2));
        else if (list.length === 0) out(o.all ? 'no incidents' : 'no open incidents');
        else out(list.map(renderIncident).join('\n\n'));
      });
    });

  incidents
    .command('resolve <incident>')
    .description('resolve an open incident (people only), saying what was done')
    .requiredOption('--as <user>', 'who resolves it (a declared person)')
    .requiredOption('--note <text>', 'what was done about it (recorded)')
    .action(async (id: string, o: { as: string; note: string }) => {
      await withAirlock(async (a) => {
        const res = await resolveIncident(a, id, a.principal(o.as), o.note);
        if (res.kind === 'refused') {
          process.stderr.write(red(`refused: ${res.reason}`) + '\n');
          process.exitCode = 2;
          return;
        }
        out(`${green('resolved')} ${res.incident.id} by ${res.incident.resolvedBy ?? '?'}: ${res.incident.resolution ?? ''}`);
      });
    });

  incidents
    .command('assign <incident>')
    .description('assign an open incident to a person (people only), who then owns looking at it')
    .requiredOption('--to <user>', 'the declared person it goes to')
    .requiredOption('--as <user>', 'who assigns it (a declared person)')
    .action(async (id: string, o: { to: string; as: string }) => {
      await withAirlock(async (a) => {
        const res = await assignIncident(a, id, a.principal(o.as), o.to);
        if (res.kind === 'refused') {
          process.stderr.write(red(`refused: ${res.reason}`) + '\n');
          process.exitCode = 2;
          return;
        }
        out(`${green('assigned')} ${res.incident.id} to ${res.incident.assignee ?? '?'}`);
      });
    });

  return incidents;
}

/** One incident: id, status, kind, run, owner, then its title and (when resolved) the resolution. */
export function renderIncident(i: IncidentRecord): string {
  const status = i.status === 'open' ? red('open') : green('resolved');
  const lines = [
    `${bold(i.id)}  ${status}  ${yellow(i.kind)}  run ${i.runId}  ${dim(i.createdAt)}`,
    `  ${i.title}`,
    `  owner     ${i.owner ?? dim('(nobody named)')} ${dim(`(${i.boundary})`)}`,
  ];
  if (i.assignee) lines.push(`  assigned  to ${i.assignee} at ${i.assignedAt ?? '?'}`);
  if (i.status === 'resolved') lines.push(`  resolved  by ${i.resolvedBy ?? '?'} at ${i.resolvedAt ?? '?'}: ${i.resolution ?? ''}`);
  return lines.join('\n');
}
