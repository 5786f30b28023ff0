// An external agent under evaluation: its command runs with the doors of the scenario's copy in its
// environment (the MCP endpoint and the JSON API on loopback, an API key for the workflow's agent),
// so it reaches the systems only through the boundary, like any agent Airlock governs. While it runs,
// the scripted people decide the approvals it meets; a run it leaves open is ended by Airlock.
import { spawn } from 'node:child_process';
import type { Airlock } from '../../airlock.js';
import type { RunRecord } from '../../store/store.js';
import type { RunId } from '../../types.js';
import type { HumanTouch } from './humans.js';
import type { EvalRun } from './load-suite.js';

/** What the agent's environment holds (besides the evaluator's own environment). */
export const AGENT_ENV = {
  url: 'AIRLOCK_URL',
  mcp: 'AIRLOCK_MCP_URL',
  api: 'AIRLOCK_API_URL',
  key: 'AIRLOCK_API_KEY',
  workflow: 'AIRLOCK_WORKFLOW',
  input: 'AIRLOCK_INPUT',
  onBehalfOf: 'AIRLOCK_ON_BEHALF_OF',
  scenario: 'AIRLOCK_SCENARIO',
} as const;

/** How the agent command is run. */
export interface AgentOptions {
  readonly cwd: string;
  readonly timeoutMs: number;
  /** The API key declared for the workflow's agent in the copy. */
  readonly apiKey: string;
  readonly scenario: string;
  /** Decides what run `runId` waits on (the scripted people). */
  readonly decide: (runId: RunId) => Promise<{ touches: HumanTouch[] }>;
}

/** What came of the command: the runs it opened, the people's touches, and how it ended. */
export interface AgentOutcome {
  readonly runs: RunRecord[];
  readonly touches: HumanTouch[];
  /** Which run each decided approval belonged to. */
  readonly approvalsOf: Map<string, string>;
  /** Its exit code, `timeout`, or the signal that ended it. */
  readonly exit: string;
  /** The tail of what it printed (stdout and stderr). */
  readonly output: string;
}

/** How much of the agent's output is kept. */
const OUTPUT_LIMIT = 16_384;
/** How often pending approvals are looked for while the agent runs. */
const POLL_MS = 100;

/** Serves the copy's doors, runs `command` (through `sh -c`) until it exits or times out, and collects its runs. */
export async function driveAgent(a: Airlock, run: EvalRun, command: string, opts: AgentOptions): Promise<AgentOutcome> {
  const { startHttpServer } = await import('../../server/serve.js');
  const before = new Set((await a.store.listRuns({ limit: 1000 })).map((r) => r.id));
  const server = await startHttpServer(a, { host: '127.0.0.1', port: 0 });
  const touches: HumanTouch[] = [];
  const approvalsOf = new Map<string, string>();
  let output = '';
  try {
    const child = spawn('sh', ['-c', command], {
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        [AGENT_ENV.url]: server.url,
        [AGENT_ENV.mcp]: `${server.url}/mcp`,
        [AGENT_ENV.api]: `${server.url}/v1`,
        [AGENT_ENV.key]: opts.apiKey,
        [AGENT_ENV.workflow]: run.workflow,
        [AGENT_ENV.input]: JSON.stringify(run.input),
        [AGENT_ENV.onBehalfOf]: run.onBehalfOf ?? '',
        [AGENT_ENV.scenario]: opts.scenario,
      },
    });
    const keep = (b: Buffer): void => {
      output = (output + b.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let exit: string | null = null;
    const ended = new Promise<void>((resolve) => {
      child.once('error', (e) => {
        exit = `could not start: ${e.message}`;
        resolve();
      });
      child.once('exit', (code, signal) => {
        exit ??= code !== null ? String(code) : `signal ${signal ?? '?'}`;
        resolve();
      });
    });
    const deadline = Date.now() + opts.timeoutMs;
    while (exit === null) {
      if (Date.now() > deadline) {
        exit = 'timeout';
        child.kill('SIGKILL');
        break;
      }
      // Only the agent's own runs: a run before it that still waits is not this run's people's to decide.
      for (const p of (await a.store.listApprovals({ status: 'pending' })).filter((x) => !before.has(x.runId))) {
        const d = await opts.decide(p.runId);
        for (const t of d.touches) approvalsOf.set(t.approvalId, p.runId);
        touches.push(...d.touches);
      }
      await Promise.race([ended, new Promise((r) => setTimeout(r, POLL_MS))]);
    }
    await ended;
    const runs: RunRecord[] = [];
    for (const r of (await a.store.listRuns({ limit: 1000 })).filter((x) => !before.has(x.id)).reverse()) {
      // A run the agent left open is concluded by Airlock against ground truth, as when a session ends.
      const ended2 = r.status === 'running' ? await a.sessions.endSession(r.id, `the agent command ended (${exit}) without closing its run`) : r;
      runs.push(ended2 ?? r);
    }
    return { runs, touches, approvalsOf, exit: exit ?? '?', output };
  } finally {
    await server.close();
  }
}
