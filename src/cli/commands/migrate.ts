// `airlock migrate`: brings the workspace's store to the schema this Airlock writes. On PostgreSQL, the versioned
// migrations not yet applied, under the advisory lock (instances starting meanwhile wait, then find nothing to do);
// a database migrated by a newer Airlock is refused. The embedded store migrates its file the same way at open.
import type { Command } from 'commander';
import { loadWorkspace } from '../../config/load.js';
import { migratePostgres, POSTGRES_SCHEMA_VERSION } from '../../store/postgres-migrations.js';
import { openStore, storeTarget } from '../../store/open-store.js';
import { SQLITE_SCHEMA_VERSION } from '../../store/sqlite.js';
import { green } from '../render.js';
import type { WorkspaceCommandHelpers } from './open-workspace.js';

export function registerMigrateCommand(program: Command, helpers: Pick<WorkspaceCommandHelpers, 'out' | 'workspaceDir'>): Command {
  const { out } = helpers;
  return program
    .command('migrate')
    .description("bring the store's schema up to date (PostgreSQL: versioned migrations under an advisory lock; instances also migrate at start-up); AIRLOCK_STORE_URL overrides the workspace's store")
    .action(async () => {
      const workspace = await loadWorkspace(helpers.workspaceDir());
      const target = storeTarget(workspace.dir, workspace.file.store);
      if (target.kind === 'sqlite') {
        // Opening the file migrates it (under SQLite's write lock); nothing is written when it is up to date.
        await (await openStore(workspace.dir, workspace.file.store)).close();
        return out(`${green('ok')}: store \`${target.shown}\` at schema version ${SQLITE_SCHEMA_VERSION}`);
      }
      const report = await migratePostgres(target.url, target.shown);
      for (const m of report.applied) out(`applied migration ${m}`);
      out(`${green('ok')}: database \`${target.shown}\` at schema version ${POSTGRES_SCHEMA_VERSION}${report.applied.length === 0 ? ' (already up to date)' : ` (was ${report.from})`}`);
    });
}
