// What the workspace commands (incidents, rollback, webhooks) need from the program, and how they
// open the workspace: one Airlock per command, closed whatever happens.
import { openAirlock, type Airlock } from '../../airlock.js';

/** What a command that works on one workspace needs from the program that hosts it. */
export interface WorkspaceCommandHelpers {
  /** Writes one line to stdout. */
  readonly out: (line: string) => void;
  /** The workspace folder the command works on. */
  readonly workspaceDir: () => string;
  /** Opens the workspace (default: `openAirlock`); the command closes it. */
  readonly open?: (dir: string) => Promise<Airlock>;
}

/** Runs `fn` on the helpers' workspace, closing it afterwards. */
export function workspaceRunner(helpers: WorkspaceCommandHelpers): <T>(fn: (a: Airlock) => Promise<T>) => Promise<T> {
  return async (fn) => {
    const a = await (helpers.open ?? openAirlock)(helpers.workspaceDir());
    try {
      return await fn(a);
    } finally {
      await a.close();
    }
  };
}
