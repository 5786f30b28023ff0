// Test helper: a scratch workspace governing the misbehaving MCP test server (test/helpers/mcp-test-server.mjs), opened as an Airlock.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import type { CallContext } from '../../src/gateway/types.js';
import type { RunId } from '../../src/types.js';
import { scratchWorkspace } from './workspace.js';

/** The test server's entry point (plain JS: spawned without a build). */
export const TEST_SERVER = path.resolve(import.meta.dirname, 'mcp-test-server.mjs');

/** A fresh state folder for one test server (its `calls.log` and `release` marker). */
export function serverState(): { dir: string; release: string; calls: () => { pid: number; note: string | null }[]; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-upstream-'));
  const log = path.join(dir, 'calls.log');
  return {
    dir,
    release: path.join(dir, 'release'),
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { pid: number; note: string | null })
        : [],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Starts the test server in its Streamable HTTP mode; resolves with its MCP URL and a stop. */
export async function startHttpTestServer(stateDir: string): Promise<{ url: string; stop: () => void }> {
  const server = spawn(process.execPath, [TEST_SERVER, '--state', stateDir, '--http'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    server.stdout.once('data', (c: Buffer) => resolve((JSON.parse(c.toString('utf8')) as { url: string }).url));
    server.once('exit', (code) => reject(new Error(`the test server exited with ${code}`)));
  });
  return { url, stop: () => void server.kill() };
}

/** The contracts the workspace declares for the test server (all on connector `up`). */
const CONTRACTS = `tools:
  - { name: up.pid, connector: up, description: Which process answers., effect: read, risk: low, inputSchema: { type: object, additionalProperties: false } }
  - { name: up.count, connector: up, description: Records one call., effect: write, risk: low, irreversible: true, inputSchema: { type: object, properties: { note: { type: string } }, additionalProperties: false } }
  - { name: up.block, connector: up, description: Blocks its process., effect: write, risk: low, irreversible: true, inputSchema: { type: object, additionalProperties: false } }
  - { name: up.deep, connector: up, description: A deep result., effect: read, risk: low, inputSchema: { type: object, properties: { depth: { type: number } }, additionalProperties: false } }
  - { name: up.surrogate, connector: up, description: A lone surrogate., effect: read, risk: low, inputSchema: { type: object, additionalProperties: false } }
  - { name: up.deep_resource, connector: up, description: A deep resource., effect: read, risk: low, resource: "test://deep/{depth}", inputSchema: { type: object, properties: { depth: { type: string } }, required: [depth], additionalProperties: false } }
  - { name: up.surrogate_prompt, connector: up, description: A prompt with a lone surrogate., effect: read, risk: low, prompt: surrogate, inputSchema: { type: object, additionalProperties: false } }
`;

/**
 * Opens an Airlock whose connector `up` is the test server: over stdio (`connector` is the rest of
 * its YAML flow map, e.g. `pool: 2, timeoutMs: 20000`), or a given mcp-http URL. Every tool is permitted.
 */
export async function openTestUpstream(opts: { state: string; connector?: string; url?: string }): Promise<{ a: Airlock; dir: string; close: () => Promise<void> }> {
  const extra = opts.connector ? `, ${opts.connector}` : '';
  const up = opts.url
    ? `{ kind: mcp-http, url: ${JSON.stringify(opts.url)}${extra} }`
    : `{ kind: mcp-stdio, command: "\${node}", args: [${JSON.stringify(TEST_SERVER)}, "--state", ${JSON.stringify(opts.state)}]${extra} }`;
  const dir = scratchWorkspace('upstream', {
    'airlock.yaml': `version: 1
name: upstream
identity:
  principals:
    - { id: bot, kind: agent }
connectors:
  up: ${up}
${CONTRACTS}policies: [policies/*.cedar]
models: { playbook: { kind: scripted, playbook: playbook.yaml } }
workflows: [workflows/*.yaml]
`,
    'policies/all.cedar': '@id("all") permit (principal == Airlock::Agent::"bot", action == Airlock::Action::"call", resource);\n',
    'workflows/w.yaml': `name: w
tier: execute-low
agent: bot
owners: { product: p, architecture: a, platform: pl, security: s, domain: d, compliance: c }
tools: [up.pid, up.count, up.block, up.deep, up.surrogate, up.deep_resource, up.surrogate_prompt]
model: playbook
`,
  });
  let a: Airlock;
  try {
    a = await openAirlock(dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    a,
    dir,
    close: async () => {
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let runs = 0;
/** A call context for a fresh run of workflow `w` as `agent:bot`. */
export function upstreamCtx(a: Airlock): CallContext {
  const workflow = a.workspace.workflows.get('w');
  if (!workflow) throw new Error('workflow `w` is missing');
  return { runId: `run_upstream${++runs}` as RunId, workflow, principal: a.principal('agent:bot'), labels: { classification: 'public', trust: 'trusted' }, step: 1 };
}

/** True while a process with this id exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
