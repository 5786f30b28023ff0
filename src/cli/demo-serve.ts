// `airlock demo --serve` (what `npm start` runs): after the demo run pauses, serve the web console so a
// new user decides the refund, watches it verify, and rolls it back from the browser.
import type { Airlock } from '../airlock.js';
import { verifyPassword } from '../console/passwords.js';
import type { RunId } from '../types.js';
import { bold, dim, green } from './render.js';

/** The demo's console passwords are `<id>-demo` (examples/acme/airlock.yaml): shown only where the stored hash confirms it. */
async function demoSignIns(a: Airlock): Promise<string[]> {
  const lines: string[] = [];
  for (const u of a.workspace.file.console?.users ?? []) {
    const id = u.principal.slice('user:'.length);
    if (!(await verifyPassword(`${id}-demo`, u.password))) continue;
    const roles = a.workspace.file.identity.principals.find((p) => p.kind === 'user' && p.id === id)?.roles ?? [];
    lines.push(`    ${id.padEnd(8)} password ${`${id}-demo`.padEnd(12)} ${dim(roles.join(', '))}`);
  }
  return lines;
}

/** Serves `/console` (and `/mcp`, `/v1`) until Ctrl-C, after printing the URL and the demo sign-ins. */
export async function serveDemoConsole(a: Airlock, port: number | undefined, runId: RunId, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const { startHttpServer } = await import('../server/serve.js');
  const { pino } = await import('pino');
  const log = pino({ name: 'airlock', level: process.env['AIRLOCK_LOG_LEVEL'] ?? 'warn' }, pino.destination(2));
  const server = await startHttpServer(a, { ...(port !== undefined ? { port } : {}), log });
  out('');
  out(`${green('console')}  ${bold(`${server.url}/console`)}   (the run: ${server.url}/console/runs/${runId})`);
  const signIns = await demoSignIns(a);
  if (signIns.length > 0) {
    out('  demo sign-ins (DEMO ONLY):');
    for (const l of signIns) out(l);
    out(dim('  dana (finance approver) decides the refund; sam (support lead) may not; the rollback needs a second person.'));
  }
  out(dim('  serving until Ctrl-C'));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
}
