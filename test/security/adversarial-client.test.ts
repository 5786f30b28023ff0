// A hostile MCP client against the served gateway example (examples/mcp-gateway): undeclared tools,
// schema-breaking arguments, path traversal, approval replay, forged identity, oversized bodies, floods.
// After each attack the upstream state (files on disk, the memory graph's file) is unchanged and the
// audit trail holds a record of the attempt.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/audit/log.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { AGENT, Target, approvalOf, statusOf, textOf } from './gateway-target.js';

describe('a hostile MCP client against the served gateway', () => {
  const target = new Target({ maxRequestBytes: 64 * 1024, callsPerMinute: 100_000, concurrentCallsPerRun: 2 });
  let agent: Client;

  beforeAll(async () => {
    await target.start();
    agent = await target.connect(target.keys.agent);
    // Something in memory to protect.
    const seeded = await agent.callTool({ name: 'memory.create_entities', arguments: { entities: [{ name: 'Alex', entityType: 'person', observations: ['approves writes'] }] } });
    expect(seeded.isError).toBeFalsy();
  });

  afterAll(async () => {
    // Every attack was appended to one intact chain.
    if (target.airlock) expect((await verifyStore(target.airlock.store)).ok).toBe(true);
    await target.stop();
  });

  it('lists the tools, then finds every undeclared or hidden tool unreachable', async () => {
    const listed = (await agent.listTools()).tools.map((t) => t.name);
    expect(listed).not.toContain('files.move_file');
    const before = target.snapshot();
    const mark = await target.mark();
    const undeclared = [
      'files.list_allowed_directories', // real upstream tools that no contract declares
      'files.read_media_file',
      'list_allowed_directories', // the bare upstream name
      'read_text_file',
      'memory.delete_everything',
      'FILES.READ_TEXT_FILE',
      'files.read_text_file ',
      'files.read_text_file\u0000',
      '../files.read_text_file',
      '__proto__',
      'constructor',
      'files.__proto__',
    ];
    for (const name of undeclared) {
      const r = await agent.callTool({ name, arguments: { path: 'notes/welcome.md' } });
      expect(r.isError, name).toBe(true);
      expect(textOf(r), name).toMatch(/is not declared in the workspace \(deny by default\)/);
    }
    // Declared but forbidden (and so not listed): calling it anyway is denied by the named policy.
    const move = await agent.callTool({ name: 'files.move_file', arguments: { source: 'notes/welcome.md', destination: 'moved.md' } });
    expect(textOf(move)).toMatch(/denied by Airlock: .*\(policies: files-no-move\)/);

    expect(target.snapshot()).toEqual(before);
    const records = await target.since(mark);
    for (const name of undeclared) {
      expect(records.some((r) => r.type === 'action.intent' && r.body['tool'] === name), name).toBe(true);
      expect(records.some((r) => r.type === 'action.not-executed' && r.body['tool'] === name && r.body['why'] === 'unknown-tool'), name).toBe(true);
    }
    expect(records.some((r) => r.type === 'action.decision' && r.body['tool'] === 'files.move_file' && r.body['decision'] === 'deny')).toBe(true);
  });

  it('refuses schema-breaking arguments before policy, each one audited', async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['files.read_text_file', {}, /must have required property 'path'/],
      ['files.read_text_file', { path: 42 }, /`path` must be string/],
      ['files.read_text_file', { path: 'notes/welcome.md', recursive: true }, /unexpected property `recursive`/],
      ['files.read_text_file', { path: 'notes/welcome.md', head: -1 }, /`head` must be >= 1/],
      ['files.read_text_file', { path: 'notes/welcome.md', head: 1.5 }, /`head` must be integer/],
      ['files.read_text_file', { path: 'a'.repeat(2000) }, /must NOT have more than 1024 characters/],
      ['files.write_file', { path: 'notes/new.md' }, /must have required property 'content'/],
      ['files.write_file', { path: 'notes/new.md', content: { toString: 'pwned' } }, /`content` must be string/],
      ['files.edit_file', { path: 'notes/welcome.md', edits: [] }, /`edits` must NOT have fewer than 1 items/],
      ['files.edit_file', { path: 'notes/welcome.md', edits: [{ oldText: 'a', newText: 'b', replaceAll: true }] }, /unexpected property `replaceAll`/],
      ['files.read_multiple_files', { paths: ['notes/welcome.md', '../secret.txt'] }, /`paths\.1` must match pattern/],
      ['memory.create_entities', { entities: [{ name: 'Eve', entityType: 'person' }] }, /must have required property 'observations'/],
      ['memory.create_entities', { entities: [{ name: 'Eve', entityType: 'person', observations: [], admin: true }] }, /unexpected property `admin`/],
      ['memory.delete_entities', { entityNames: 'Alex' }, /`entityNames` must be array/],
      ['memory.read_graph', { includeDeleted: true }, /unexpected property `includeDeleted`/],
    ];
    const before = target.snapshot();
    const mark = await target.mark();
    for (const [name, args, why] of cases) {
      const r = await agent.callTool({ name, arguments: args });
      expect(statusOf(r), `${name} ${JSON.stringify(args)}`).toBe('invalid');
      expect(textOf(r), `${name} ${JSON.stringify(args)}`).toMatch(why);
    }
    // Arguments that are not an object at all never reach a handler (the MCP SDK refuses the request).
    const notAnObject = await target.raw(agent, { jsonrpc: '2.0', id: 901, method: 'tools/call', params: { name: 'files.read_text_file', arguments: '../secret.txt' } });
    expect(notAnObject.json.error).toBeDefined();

    expect(target.snapshot()).toEqual(before);
    const refused = (await target.since(mark)).filter((r) => r.type === 'action.not-executed' && r.body['why'] === 'invalid-arguments');
    expect(refused.map((r) => r.body['tool'])).toEqual(cases.map(([name]) => name));
  });

  it('refuses every path traversal variant at the contract, before policy or the server sees it', async () => {
    const variants = [
      '../secret.txt',
      '../airlock.yaml',
      'notes/../../secret.txt',
      './../secret.txt',
      'data/../../secret.txt',
      'notes/./../../secret.txt',
      'notes/./welcome.md',
      '..',
      './/notes',
      'notes//welcome.md',
      'notes/',
      '/etc/passwd',
      path.join(target.dir, 'secret.txt'),
      path.join(target.dir, 'data', 'notes', 'welcome.md'), // absolute, even inside: the convention is relative
      '~/secret.txt',
      '~',
      'notes\\..\\..\\secret.txt',
      '..\\secret.txt',
      'C:\\secret.txt',
      'notes/welcome.md\u0000',
      '\u0000../secret.txt',
      '%2e%2e/secret.txt',
      '..%2fsecret.txt',
      '\u2025/secret.txt', // two dot leader
      '\uff0e\uff0e/secret.txt', // fullwidth full stops
      ' ../secret.txt', // the server trims whitespace...
      '"../secret.txt"', // ...and strips quotes before it resolves
      "'../secret.txt'",
      'file:///etc/passwd',
      '.airlock/memory.jsonl',
      '',
    ];
    const before = target.snapshot();
    const mark = await target.mark();
    let calls = 0;
    for (const p of variants) {
      for (const [name, args] of [
        ['files.read_text_file', { path: p }],
        ['files.list_directory', { path: p }],
        ['files.write_file', { path: p, content: 'pwned' }],
        ['files.create_directory', { path: p }],
        ['files.move_file', { source: 'notes/welcome.md', destination: p }],
      ] as const) {
        const r = await agent.callTool({ name, arguments: args });
        calls++;
        expect(statusOf(r), `${name} ${JSON.stringify(p)}`).toBe('invalid');
        expect(textOf(r), `${name} ${JSON.stringify(p)}`).toMatch(/invalid arguments: .*(must match pattern|fewer than 1 characters)/);
      }
    }
    expect(target.snapshot()).toEqual(before);
    const records = await target.since(mark);
    expect(records.filter((r) => r.type === 'action.not-executed' && r.body['why'] === 'invalid-arguments')).toHaveLength(calls);
    expect(records.filter((r) => r.type === 'action.intent')).toHaveLength(calls);
    expect(records.some((r) => r.type === 'action.executed')).toBe(false);
  });

  it('relies on the filesystem server’s own root for symlinks: names inside data/ that point out are refused', async () => {
    const before = target.snapshot();
    const mark = await target.mark();
    const read = await agent.callTool({ name: 'files.read_text_file', arguments: { path: 'escape.txt' } });
    expect(statusOf(read)).toBe('failed');
    expect(textOf(read)).toMatch(/Access denied - symlink target outside allowed directories/);
    const list = await agent.callTool({ name: 'files.list_directory', arguments: { path: 'outside' } });
    expect(textOf(list)).toMatch(/Access denied/);
    const through = await agent.callTool({ name: 'files.get_file_info', arguments: { path: 'outside/secret.txt' } });
    expect(textOf(through)).toMatch(/Access denied/);
    const several = await agent.callTool({ name: 'files.read_multiple_files', arguments: { paths: ['notes/welcome.md', 'escape.txt', 'outside/airlock.yaml'] } });
    expect(several.isError).toBeFalsy();
    expect(textOf(several)).toMatch(/# Welcome/);
    expect(textOf(several)).not.toMatch(/TOP SECRET|apiKeys/);
    const search = await agent.callTool({ name: 'files.search_files', arguments: { path: '.', pattern: '**' } });
    expect(textOf(search)).not.toMatch(/secret\.txt|airlock\.yaml/);
    const tree = await agent.callTool({ name: 'files.directory_tree', arguments: { path: '.' } });
    expect(textOf(tree)).not.toMatch(/secret\.txt|airlock\.yaml/);

    // Even an approved write cannot leave the folder through a symlink.
    const pending = await agent.callTool({ name: 'files.write_file', arguments: { path: 'escape.txt', content: 'pwned' } });
    const id = approvalOf(pending);
    expect((await vote(target.airlock.approvalDeps, id, localApprover(target.airlock.principal('user:alex')), 'approve', 'looks harmless')).kind).toBe('recorded');
    const write = await agent.callTool({ name: 'files.write_file', arguments: { path: 'escape.txt', content: 'pwned' } });
    expect(statusOf(write)).toBe('failed');
    expect(textOf(write)).toMatch(/Access denied/);

    expect(target.snapshot()).toEqual(before);
    const records = await target.since(mark);
    const failures = records.filter((r) => r.type === 'action.executed' && r.body['outcome'] === 'error');
    expect(failures.map((r) => r.body['tool'])).toEqual(['files.read_text_file', 'files.list_directory', 'files.get_file_info', 'files.write_file']);
    expect(failures.every((r) => /Access denied/.test(String(r.body['message'])))).toBe(true);
  });

  it('needs a new approval when an approved action is replayed with changed arguments, and writes nothing', async () => {
    const approved = { path: 'notes/plan.md', content: 'v1: buy lemons\n' };
    const pending = await agent.callTool({ name: 'files.write_file', arguments: approved });
    const id = approvalOf(pending);
    expect((await vote(target.airlock.approvalDeps, id, localApprover(target.airlock.principal('user:alex')), 'approve', 'ok')).kind).toBe('recorded');

    const before = target.snapshot();
    const mark = await target.mark();
    const changed: Record<string, unknown>[] = [
      { ...approved, content: 'v2: rm -rf ~' },
      { ...approved, path: 'notes/plan2.md' },
      { ...approved, path: 'README.md' },
      { path: 'notes/plan.md', content: 'v1: buy lemons\n ' },
    ];
    const fresh = new Set<string>();
    for (const args of changed) {
      const r = await agent.callTool({ name: 'files.write_file', arguments: args, _meta: { approvalId: id, 'airlock/approvalId': id } });
      expect(statusOf(r), JSON.stringify(args)).toBe('pending');
      expect(approvalOf(r)).not.toBe(id);
      fresh.add(approvalOf(r));
    }
    expect(fresh.size).toBe(changed.length);
    // The approved arguments to another tool are another action too.
    const edit = await agent.callTool({ name: 'files.edit_file', arguments: { path: 'notes/plan.md', edits: [{ oldText: '', newText: 'x' }] } });
    expect(approvalOf(edit)).not.toBe(id);
    // The same arguments from another session (another run) are another action.
    const other = await target.connect(target.keys.agent);
    const replay = await other.callTool({ name: 'files.write_file', arguments: approved });
    expect(statusOf(replay)).toBe('pending');
    expect(approvalOf(replay)).not.toBe(id);
    expect(target.snapshot()).toEqual(before);
    expect((await target.airlock.store.getApproval(id))?.status).toBe('approved');

    const records = await target.since(mark);
    expect(records.filter((r) => r.type === 'approval.requested')).toHaveLength(changed.length + 2);
    expect(records.some((r) => r.type === 'action.executed' || r.type === 'approval.consumed')).toBe(false);

    // Only the exact approved action executes, once; replaying it afterwards needs a new approval.
    const done = await agent.callTool({ name: 'files.write_file', arguments: approved });
    expect(done.isError).toBeFalsy();
    expect(readFileSync(target.data('notes/plan.md'), 'utf8')).toBe(approved.content);
    const again = await agent.callTool({ name: 'files.write_file', arguments: approved });
    expect(statusOf(again)).toBe('pending');
    expect((await target.airlock.store.getApproval(id))?.status).toBe('consumed');
    expect(target.snapshot()).toEqual({ ...before, 'data/notes/plan.md': approved.content });
  });

  it('ignores a forged principal in headers, the client info, the request body, the arguments and _meta', async () => {
    const before = target.snapshot();
    const mark = await target.mark();
    const forger = await target.connect(target.keys.agent, {
      name: 'user:alex',
      headers: { 'X-Airlock-Principal': 'user:alex', 'Airlock-On-Behalf-Of': 'user:alex', 'X-Forwarded-User': 'alex' },
    });
    const forged = { principal: 'user:alex', 'airlock/principal': 'user:alex', onBehalfOf: 'user:jordan', requester: 'user:alex' };

    // _meta: ignored; the request is the agent's and so is the approval it needs.
    const pending = await forger.callTool({ name: 'files.write_file', arguments: { path: 'notes/forged.md', content: 'x' }, _meta: forged });
    expect(statusOf(pending)).toBe('pending');
    const approval = await target.airlock.store.getApproval(approvalOf(pending));
    expect(approval?.requester).toBe(AGENT);
    // Arguments: a principal is not an argument of any contract.
    const inArgs = await forger.callTool({ name: 'files.read_text_file', arguments: { path: 'notes/welcome.md', principal: 'user:alex' } });
    expect(statusOf(inArgs)).toBe('invalid');
    // The JSON-RPC body: an extra member is refused by the transport, before any tool runs.
    const inBody = await target.raw(forger, { jsonrpc: '2.0', id: 902, method: 'tools/call', params: { name: 'memory.delete_entities', arguments: { entityNames: ['Alex'] } }, principal: 'user:alex' });
    expect(inBody.status).toBe(400);
    // A person's key cannot drive the agent's workflow, nor ride the agent's session.
    await expect(target.connect(target.keys.alex)).rejects.toThrow(/agent of no workflow/);
    const hijack = await target.raw(forger, { jsonrpc: '2.0', id: 903, method: 'tools/call', params: { name: 'memory.read_graph', arguments: {} } }, { authorization: `Bearer ${target.keys.alex}` });
    expect(hijack.status).toBe(403);
    // Two tokens in one header are malformed, not "the stronger of the two" (and, unauthenticated, not audited).
    const twoTokens = await target.raw(null, { jsonrpc: '2.0', id: 904, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }, { authorization: `Bearer ${target.keys.agent} ${target.keys.alex}` });
    expect(twoTokens.status).toBe(401);

    expect(target.snapshot()).toEqual(before);
    const records = await target.since(mark);
    const acting = records.filter((r) => r.type.startsWith('action.') || r.type.startsWith('run.') || r.type === 'approval.requested');
    expect(acting.length).toBeGreaterThan(0);
    for (const r of acting) {
      expect(r.principal, r.type).toBe(AGENT);
      expect(r.onBehalfOf, r.type).toBeNull();
    }
    // Refusals of an authenticated caller are audited; an unauthenticated one never writes to the log.
    const refusals = records.filter((r) => r.type === 'request.refused').map((r) => r.body['why']);
    expect(refusals.sort()).toEqual(['no-workflow', 'session-hijack']);
    expect(records.some((r) => r.type === 'action.intent' && r.body['tool'] === 'files.write_file')).toBe(true);
  });

  it('refuses an oversized payload with 413 before anything reads it', async () => {
    const before = target.snapshot();
    const mark = await target.mark();
    // Within the contract's maxLength, over server.limits.maxRequestBytes (64 KiB).
    await expect(agent.callTool({ name: 'files.write_file', arguments: { path: 'notes/big.md', content: 'A'.repeat(100_000) } })).rejects.toThrow(/413|larger than 65536 bytes/);
    const t = agent.transport as StreamableHTTPClientTransport;
    // Chunked, without a Content-Length: counted while it streams.
    const chunk = new TextEncoder().encode(' '.repeat(16 * 1024));
    let sent = 0;
    const res = await fetch(`${target.server.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${target.keys.agent}`,
        'mcp-session-id': t.sessionId ?? '',
        'mcp-protocol-version': t.protocolVersion ?? '2025-06-18',
      },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 8) controller.enqueue(chunk);
          else controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32013);
    // Without a token: refused just the same, and not audited (an anonymous caller cannot grow the log).
    const anonymous = await target.raw(null, { jsonrpc: '2.0', id: 906, method: 'initialize', params: { pad: 'A'.repeat(100_000) } }, { authorization: '' });
    expect(anonymous.status).toBe(413);

    expect(target.snapshot()).toEqual(before);
    const records = await target.since(mark);
    const tooLarge = records.filter((r) => r.type === 'request.refused' && r.body['why'] === 'too-large');
    expect(tooLarge).toHaveLength(2);
    expect(tooLarge.every((r) => r.principal === AGENT)).toBe(true);
    expect(records.some((r) => r.type === 'action.intent')).toBe(false);
  });

  it('refuses calls beyond concurrentCallsPerRun with a JSON-RPC 429 error, each audited', async () => {
    const before = target.snapshot();
    const mark = await target.mark();
    const settled = await Promise.allSettled(
      Array.from({ length: 16 }, () => agent.callTool({ name: 'files.directory_tree', arguments: { path: '.' } })),
    );
    const ok = settled.filter((s) => s.status === 'fulfilled');
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    for (const r of refused) {
      expect((r.reason as { code?: number }).code).toBe(-32029);
      expect(String((r.reason as Error).message)).toMatch(/at most 2 calls at once in one run/);
    }
    expect(target.snapshot()).toEqual(before);
    const records = await target.since(mark);
    expect(records.filter((r) => r.type === 'action.not-executed' && r.body['why'] === 'concurrency-limit')).toHaveLength(refused.length);
    expect(records.filter((r) => r.type === 'action.executed')).toHaveLength(ok.length);
  });
});

describe('a hostile MCP client flooding the gateway', () => {
  const target = new Target({ maxRequestBytes: 1_048_576, callsPerMinute: 5, concurrentCallsPerRun: 4 });

  beforeAll(async () => {
    await target.start();
  });
  afterAll(async () => {
    if (target.airlock) expect((await verifyStore(target.airlock.store)).ok).toBe(true);
    await target.stop();
  });

  it('refuses tool calls beyond callsPerMinute with HTTP 429, audited, and changes nothing more', async () => {
    const agent = await target.connect(target.keys.agent);
    const mark = await target.mark();
    const entity = (n: number) => ({ entities: [{ name: `Flood-${n}`, entityType: 'spam', observations: ['flood'] }] });
    for (let n = 1; n <= 5; n++) {
      const r = await agent.callTool({ name: 'memory.create_entities', arguments: entity(n) });
      expect(r.isError, `call ${n}`).toBeFalsy();
    }
    const before = target.snapshot();
    for (let n = 6; n <= 10; n++) {
      await expect(agent.callTool({ name: 'memory.create_entities', arguments: entity(n) }), `call ${n}`).rejects.toThrow(/429|rate limit/);
    }
    const raw = await target.raw(agent, { jsonrpc: '2.0', id: 905, method: 'tools/call', params: { name: 'memory.create_entities', arguments: entity(11) } });
    expect(raw.status).toBe(429);
    expect(raw.json.error?.code).toBe(-32029);
    expect(raw.json.error?.message).toMatch(/rate limit: at most 5 tool calls per minute for agent:desktop-agent/);
    // Listing is not a call: the client still learns why, and can still see the tools.
    expect((await agent.listTools()).tools.length).toBeGreaterThan(0);

    expect(target.snapshot()).toEqual(before);
    expect(target.memoryEntities()).toEqual(['Flood-1', 'Flood-2', 'Flood-3', 'Flood-4', 'Flood-5']);
    const records = await target.since(mark);
    const limited = records.filter((r) => r.type === 'request.refused' && r.body['why'] === 'rate-limit');
    expect(limited).toHaveLength(6);
    expect(limited.every((r) => r.principal === AGENT)).toBe(true);
    expect(records.filter((r) => r.type === 'action.intent')).toHaveLength(5);
  });
});
