// An upstream MCP server reached over Streamable HTTP (server-everything in its HTTP mode), governed like a stdio one.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { scratchWorkspace } from '../helpers/workspace.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import type { RunId } from '../../src/types.js';
import { AIRLOCK_ROOT } from '../../src/util/package-root.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

describe('mcp-http connector', () => {
  let upstream: ChildProcess;
  let dir: string;
  let airlock: Airlock;

  beforeAll(async () => {
    const port = await freePort();
    upstream = spawn(process.execPath, [path.join(AIRLOCK_ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: 'ignore',
    });
    await waitForPort(port, 15_000);
    dir = scratchWorkspace('mcp-http', {
      'airlock.yaml': `version: 1
name: remote
identity:
  principals:
    - { id: bot, kind: agent }
connectors:
  remote: { kind: mcp-http, url: "http://127.0.0.1:${port}/mcp", headers: { X-Airlock-Test: { env: AIRLOCK_TEST_UPSTREAM_TOKEN } } }
tools:
  - name: remote.echo
    connector: remote
    description: Echo a message.
    effect: read
    risk: low
    inputSchema: { type: object, properties: { message: { type: string, maxLength: 200 } }, required: [message], additionalProperties: false }
  - name: remote.get_sum
    connector: remote
    upstream: get-sum
    description: Add two numbers.
    effect: read
    risk: low
    inputSchema: { type: object, properties: { a: { type: number }, b: { type: number } }, required: [a, b], additionalProperties: false }
policies: [policies/*.cedar]
models: { playbook: { kind: scripted, playbook: playbook.yaml } }
workflows: [workflows/*.yaml]
`,
      'policies/p.cedar': `@id("echo-only") permit (principal == Airlock::Agent::"bot", action == Airlock::Action::"call", resource == Airlock::Tool::"remote.echo");\n`,
      'workflows/w.yaml': `name: remote-work
tier: execute-low
agent: bot
owners: { product: p, architecture: a, platform: pl, security: s, domain: d, compliance: c }
tools: [remote.echo, remote.get_sum]
model: playbook
`,
    });
    airlock = await openAirlock(dir);
  });
  afterAll(async () => {
    await airlock?.close();
    upstream?.kill();
    rmSync(dir, { recursive: true, force: true });
    delete process.env['AIRLOCK_TEST_UPSTREAM_TOKEN'];
  });

  const ctx = () => ({
    runId: 'run_remote' as RunId,
    workflow: airlock.workspace.workflows.get('remote-work')!,
    principal: airlock.principal('agent:bot'),
    labels: { classification: 'public', trust: 'trusted' } as const,
    step: 0,
  });

  it('refuses to connect while the credential it must send is missing, and says which', async () => {
    delete process.env['AIRLOCK_TEST_UPSTREAM_TOKEN'];
    const out = await airlock.gateway.propose(ctx(), { tool: 'remote.echo', args: { message: 'hi' } });
    expect(out.kind).toBe('failed');
    expect(out.kind === 'failed' && out.message).toMatch(/AIRLOCK_TEST_UPSTREAM_TOKEN/);
  });

  it('governs a remote upstream: permitted calls execute, others are denied by default', async () => {
    process.env['AIRLOCK_TEST_UPSTREAM_TOKEN'] = 'secret-token';
    await new Promise((r) => setTimeout(r, 10));
    const echoed = await airlock.gateway.propose(ctx(), { tool: 'remote.echo', args: { message: 'hello over http' } });
    expect(echoed.kind).toBe('executed');
    expect(JSON.stringify(echoed.kind === 'executed' ? echoed.result : null)).toMatch(/hello over http/);
    const sum = await airlock.gateway.propose(ctx(), { tool: 'remote.get_sum', args: { a: 1, b: 2 } });
    expect(sum.kind).toBe('denied');
  });
});
