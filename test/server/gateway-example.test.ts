// The MCP gateway example (examples/mcp-gateway) end to end: the official MCP SDK client, given only
// the URL and a token, works the real filesystem and memory servers through `airlock serve`.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { verifyStore } from '../../src/audit/log.js';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import type { ApprovalId } from '../../src/types.js';

const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/mcp-gateway');

/** A private copy of the example with API keys for the agent and the two approvers. */
function gatewayWorkspace(): { dir: string; keys: Record<'agent' | 'alex', string>; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-gateway-'));
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}.airlock`) });
  const agent = generateApiKey();
  const alex = generateApiKey();
  const file = path.join(dir, 'airlock.yaml');
  const before = readFileSync(file, 'utf8');
  const after = before.replace(
    /^ {2}apiKeys: \[\]$/m,
    [
      '  apiKeys:',
      `    - { id: laptop, principal: "agent:desktop-agent", sha256: "${agent.sha256}" }`,
      `    - { id: alex-key, principal: "user:alex", sha256: "${alex.sha256}" }`,
    ].join('\n'),
  );
  if (after === before) throw new Error('examples/mcp-gateway/airlock.yaml no longer has `apiKeys: []` to fill in');
  // A careless edit loosens read_multiple_files' schema (its only `items: *relpath`): policy must still hold the line.
  const loosened = after.replace('          items: *relpath\n', '          items: { type: string, minLength: 1 }\n');
  if (loosened === after) throw new Error('examples/mcp-gateway/airlock.yaml no longer has `items: *relpath` under read_multiple_files');
  writeFileSync(file, loosened);
  return { dir, keys: { agent: agent.key, alex: alex.key }, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function textOf(r: unknown): string {
  return (((r as { content?: unknown }).content ?? []) as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
}

function airlockOf(r: unknown): { status?: string; approvalId?: ApprovalId } {
  return ((r as { structuredContent?: { airlock?: object } }).structuredContent?.airlock ?? {}) as { status?: string; approvalId?: ApprovalId };
}

describe('examples/mcp-gateway: an MCP client governed by Airlock', () => {
  let ws: ReturnType<typeof gatewayWorkspace>;
  let airlock: Airlock;
  let server: RunningServer;
  let client: Client;
  /** Every tools/call this test made, in order: the audit must hold an intent for each. */
  const calls: string[] = [];

  const data = (rel: string) => path.join(ws.dir, 'data', rel);
  const memoryFile = () => path.join(ws.dir, '.airlock', 'memory.jsonl');
  /** The memory server's ground truth: its JSONL file, read directly. */
  const memoryEntities = (): string[] =>
    existsSync(memoryFile())
      ? readFileSync(memoryFile(), 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as { type: string; name?: string })
          .filter((r) => r.type === 'entity')
          .map((r) => r.name ?? '')
      : [];

  async function call(name: string, args: Record<string, unknown>) {
    calls.push(name);
    return client.callTool({ name, arguments: args });
  }

  beforeAll(async () => {
    ws = gatewayWorkspace();
    airlock = await openAirlock(ws.dir);
    server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
    // Only what a user would paste into their MCP client: the URL and the key.
    client = new Client({ name: 'desktop-client', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${ws.keys.agent}` } },
      }),
    );
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await server?.close();
    await airlock?.close();
    ws?.cleanup();
  });

  it('lists the governed tools with their contracts, not the upstream servers’ raw tools', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['files.read_text_file', 'files.list_directory', 'files.write_file', 'memory.create_entities', 'memory.read_graph', 'memory.delete_entities']));
    // Forbidden for everyone: not even listed. Undeclared upstream tools never appear.
    expect(names).not.toContain('files.move_file');
    expect(names.some((n) => n.includes('list_allowed_directories') || n.includes('read_media_file'))).toBe(false);
    for (const t of tools) expect((t.inputSchema as { additionalProperties?: unknown }).additionalProperties).toBe(false);
  });

  it('does permitted work on both servers', async () => {
    const read = await call('files.read_text_file', { path: 'notes/welcome.md' });
    expect(read.isError).toBeFalsy();
    expect((read.structuredContent as { content: string }).content).toBe(readFileSync(data('notes/welcome.md'), 'utf8'));

    const list = await call('files.list_directory', { path: '.' });
    expect(list.isError).toBeFalsy();
    expect(textOf(list)).toMatch(/\[DIR\] notes/);
    expect(textOf(list)).toMatch(/\[FILE\] README\.md/);

    const created = await call('memory.create_entities', {
      entities: [{ name: 'Alex', entityType: 'person', observations: ['approves writes to the shared folder'] }],
    });
    expect(created.isError).toBeFalsy();
    const graph = await call('memory.read_graph', {});
    expect(graph.isError).toBeFalsy();
    expect((graph.structuredContent as { entities: { name: string }[] }).entities.map((e) => e.name)).toEqual(['Alex']);
    expect(memoryEntities()).toEqual(['Alex']);
  });

  it('stops a move and names the policy', async () => {
    const moved = await call('files.move_file', { source: 'notes/welcome.md', destination: 'notes/moved.md' });
    expect(moved.isError).toBe(true);
    expect(textOf(moved)).toMatch(/denied by Airlock: moving or renaming files is forbidden/);
    expect(textOf(moved)).toMatch(/policies: files-no-move/);
    expect(airlockOf(moved).status).toBe('denied');
    expect(existsSync(data('notes/welcome.md'))).toBe(true);
    expect(existsSync(data('notes/moved.md'))).toBe(false);
  });

  it('refuses path traversal and paths outside the shared folder as invalid arguments', async () => {
    for (const p of ['../airlock.yaml', 'notes/../../airlock.yaml', './../airlock.yaml', 'data/../../airlock.yaml', '/etc/passwd', path.join(ws.dir, 'airlock.yaml')]) {
      const r = await call('files.read_text_file', { path: p });
      expect(r.isError, p).toBe(true);
      expect(textOf(r), p).toMatch(/invalid arguments: files\.read_text_file: argument `path` must match pattern/);
      expect(airlockOf(r).status, p).toBe('invalid');
    }
    const write = await call('files.write_file', { path: '../escaped.txt', content: 'x' });
    expect(textOf(write)).toMatch(/invalid arguments/);
    expect(existsSync(path.join(ws.dir, 'escaped.txt'))).toBe(false);
  });

  it('decides a multi-file read once per path: one `../` among good paths is denied by policy, nothing crosses, and it is audited', async () => {
    writeFileSync(path.join(ws.dir, 'secret.txt'), 'TOP-SECRET-OUTSIDE-DATA\n');
    const attack = await call('files.read_multiple_files', { paths: ['notes/welcome.md', '../secret.txt', 'notes/groceries.txt'] });
    expect(attack.isError).toBe(true);
    // Not refused by the (loosened) schema: denied by the policy, for the one bad element.
    expect(airlockOf(attack).status).toBe('denied');
    expect(textOf(attack)).toMatch(/denied by Airlock: element `paths\[1\]` \(`"\.\.\/secret\.txt"`\): file paths must stay inside the shared folder/);
    expect(textOf(attack)).toMatch(/policies: files-path-confined/);
    // Nothing crossed: no content at all came back, and the upstream was never called.
    const answer = JSON.stringify(attack);
    expect(answer).not.toContain('TOP-SECRET');
    expect(answer).not.toContain(readFileSync(data('notes/welcome.md'), 'utf8').split('\n')[0]);
    const records = await airlock.store.readAudit(1, 100_000);
    const decision = records.filter((r) => r.type === 'action.decision' && r.body['tool'] === 'files.read_multiple_files');
    expect(decision).toHaveLength(1);
    expect(decision[0]?.body).toMatchObject({ decision: 'deny', policyIds: ['files-path-confined'] });
    expect(records.some((r) => r.type === 'action.intent' && r.body['tool'] === 'files.read_multiple_files' && r.body['actionHash'] === decision[0]?.body['actionHash'])).toBe(true);
    expect(records.some((r) => r.type === 'action.executed' && r.body['tool'] === 'files.read_multiple_files')).toBe(false);

    // The loosened schema still lets good reads through, and policy allows them.
    const good = await call('files.read_multiple_files', { paths: ['notes/welcome.md', 'notes/groceries.txt'] });
    expect(good.isError).toBeFalsy();
    expect(textOf(good)).toContain(readFileSync(data('notes/groceries.txt'), 'utf8').split('\n')[0]);
  });

  it('holds a memory deletion for step-up approval: two people, then it runs once', async () => {
    const pending = await call('memory.delete_entities', { entityNames: ['Alex'] });
    expect(pending.isError).toBe(true);
    expect(textOf(pending)).toMatch(/approval required \(step-up\)/);
    expect(textOf(pending)).toMatch(/two people/);
    const id = airlockOf(pending).approvalId as ApprovalId;
    expect(memoryEntities()).toEqual(['Alex']);

    expect((await vote(airlock.approvalDeps, id, localApprover(airlock.principal('user:alex')), 'approve', 'clean-up')).kind).toBe('recorded');
    const stillPending = await call('memory.delete_entities', { entityNames: ['Alex'] });
    expect(airlockOf(stillPending).approvalId).toBe(id);
    expect(memoryEntities()).toEqual(['Alex']);

    // The same machine account voting again as another person is one login: four eyes need two.
    const sameLogin = await vote(airlock.approvalDeps, id, localApprover(airlock.principal('user:jordan')), 'approve', 'agreed');
    expect(sameLogin).toMatchObject({ kind: 'refused', status: 403 });
    const jordan = localApprover(airlock.principal('user:jordan'));
    const second = await vote(airlock.approvalDeps, id, { ...jordan, auth: { ...jordan.auth, issuer: 'airlock', subject: 'jordan-key', method: 'api-key' } }, 'approve', 'agreed');
    expect(second.kind === 'recorded' && second.decided).toBe(true);
    const deleted = await call('memory.delete_entities', { entityNames: ['Alex'] });
    expect(deleted.isError).toBeFalsy();
    expect(memoryEntities()).toEqual([]);
  });

  it('holds a file write for approval, then the same call executes once and the file is on disk', async () => {
    const args = { path: 'notes/todo.md', content: '- call the plumber\n' };
    const pending = await call('files.write_file', args);
    expect(pending.isError).toBe(true);
    expect(textOf(pending)).toMatch(/approval required \(single\)/);
    expect(textOf(pending)).toMatch(/writing to the shared folder needs one person/);
    const id = airlockOf(pending).approvalId as ApprovalId;
    expect(existsSync(data('notes/todo.md'))).toBe(false);

    // The agent can never approve its own action.
    const self = await vote(airlock.approvalDeps, id, localApprover(airlock.principal('agent:desktop-agent')), 'approve', 'me');
    expect(self.kind).toBe('refused');
    expect((await vote(airlock.approvalDeps, id, localApprover(airlock.principal('user:alex')), 'approve', 'fine')).kind).toBe('recorded');

    const done = await call('files.write_file', args);
    expect(done.isError).toBeFalsy();
    expect(readFileSync(data('notes/todo.md'), 'utf8')).toBe(args.content);

    // Single use: the same write again is a new approval, and it did not run a second time.
    const again = await call('files.write_file', args);
    expect(airlockOf(again).status).toBe('pending');
    expect(airlockOf(again).approvalId).not.toBe(id);
    const executed = (await airlock.store.readAudit(1, 100_000)).filter((r) => r.type === 'action.executed' && r.body['tool'] === 'files.write_file');
    expect(executed).toHaveLength(1);
    expect(executed[0]?.body['approvalId']).toBe(id);
    expect(readFileSync(data('notes/todo.md'), 'utf8')).toBe(args.content);

    const approval = await airlock.store.getApproval(id);
    expect(approval?.status).toBe('consumed');
    expect(approval?.requester).toBe('agent:desktop-agent');
  });

  it('leaves a verifiable audit trail with an intent for every call', async () => {
    const verdict = await verifyStore(airlock.store);
    expect(verdict.ok).toBe(true);

    const started = (await airlock.store.readAudit(1, 100_000)).filter((r) => r.type === 'run.started' && r.body['door'] === 'mcp-http');
    expect(started).toHaveLength(1);
    const runId = started[0]?.runId as string;
    const records = await airlock.store.readAuditForRun(runId);
    const intents = records.filter((r) => r.type === 'action.intent');
    expect(intents.map((r) => r.body['tool'])).toEqual(calls);
    expect(new Set(records.map((r) => r.principal).filter((p) => p !== null))).toEqual(
      new Set(['agent:desktop-agent', 'user:alex', 'user:jordan']),
    );
    // Every executed side effect was preceded by its intent (write-ahead).
    for (const ex of records.filter((r) => r.type === 'action.executed')) {
      const intent = intents.find((i) => i.body['actionHash'] === ex.body['actionHash'] && i.seq < ex.seq);
      expect(intent, String(ex.body['tool'])).toBeDefined();
    }
    const denied = records.find((r) => r.type === 'action.decision' && r.body['tool'] === 'files.move_file');
    expect(denied?.body['policyIds']).toEqual(['files-no-move']);
  });
});
