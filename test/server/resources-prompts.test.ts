// Resources and prompts from a real upstream (server-everything) pass the same decision point as tools.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { rmSync } from 'node:fs';
import { scratchWorkspace } from '../helpers/workspace.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import type { ApprovalId } from '../../src/types.js';

const EVERYTHING = 'node_modules/@modelcontextprotocol/server-everything/dist/index.js';

function workspace(keySha: string): string {
  const dir = scratchWorkspace('resources', {
    'airlock.yaml': `version: 1
name: resources
identity:
  principals:
    - { id: bot, kind: agent, roles: [reader] }
    - { id: dana, kind: user, roles: [approver] }
  apiKeys:
    - { id: bot-key, principal: "agent:bot", sha256: "${keySha}" }
connectors:
  everything: { kind: mcp-stdio, command: "\${node}", args: ["\${airlock}/${EVERYTHING}", "stdio"] }
tools:
  - name: everything.docs
    connector: everything
    description: Documents of the everything server.
    effect: read
    risk: low
    classification: internal
    trust: untrusted
    resource: "demo://resource/static/document/{file}"
    inputSchema: { type: object, properties: { file: { type: string, pattern: "^[a-z-]+\\\\.md$" } }, required: [file], additionalProperties: false }
  - name: everything.dynamic_text
    connector: everything
    description: Generated text records (confidential).
    effect: read
    risk: low
    classification: confidential
    resource: "demo://resource/dynamic/text/{resourceId}"
    inputSchema: { type: object, properties: { resourceId: { type: string, pattern: "^[0-9]+$" } }, required: [resourceId], additionalProperties: false }
  - name: everything.city_prompt
    connector: everything
    description: A prompt about a city.
    effect: read
    risk: low
    prompt: args-prompt
    inputSchema: { type: object, properties: { city: { type: string, maxLength: 80 }, state: { type: string, maxLength: 80 } }, required: [city], additionalProperties: false }
policies: [policies/*.cedar]
models: { playbook: { kind: scripted, playbook: playbook.yaml } }
workflows: [workflows/*.yaml]
`,
    'policies/read.cedar': `@id("read-internal")
@reason("the bot reads internal documents and prompts")
permit (principal == Airlock::Agent::"bot", action == Airlock::Action::"call", resource)
when { resource.effect == "read" && resource.classification != "confidential" };

@id("confidential-needs-approval")
@approval("single")
@reason("confidential records need a person's approval")
permit (principal == Airlock::Agent::"bot", action == Airlock::Action::"call", resource == Airlock::Tool::"everything.dynamic_text");

@id("approvers-decide")
@reason("approvers decide confidential reads")
permit (principal in Airlock::Role::"approver", action == Airlock::Action::"approve", resource);
`,
    'workflows/reader.yaml': `name: reader
tier: execute-low
agent: bot
owners: { product: p@x.example, architecture: a@x.example, platform: pl@x.example, security: s@x.example, domain: d@x.example, compliance: c@x.example }
tools: [everything.docs, everything.dynamic_text, everything.city_prompt]
budgets: { steps: 100, wallTimeMs: 600000 }
model: playbook
`,
  });
  return dir;
}

describe('resources and prompts through the MCP door', () => {
  let dir: string;
  let airlock: Airlock;
  let server: RunningServer;
  let client: Client;

  beforeAll(async () => {
    const key = generateApiKey();
    dir = workspace(key.sha256);
    airlock = await openAirlock(dir);
    server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
    client = new Client({ name: 'reader', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${key.key}` } } }));
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
    await airlock?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists resources its contracts cover, and no tools for them', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain('demo://resource/static/document/architecture.md');
    expect(resources.every((r) => r.uri.startsWith('demo://resource/static/document/'))).toBe(true);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.name).sort()).toEqual(['everything.docs', 'everything.dynamic_text']);
    expect((await client.listTools()).tools).toEqual([]);
  });

  it('reads a permitted resource, audited as an action', async () => {
    const res = await client.readResource({ uri: 'demo://resource/static/document/architecture.md' });
    expect(JSON.stringify(res.contents)).toMatch(/Architecture/);
    const records = await airlock.store.readAudit(1, 100_000);
    expect(records.some((r) => r.type === 'action.executed' && r.body['tool'] === 'everything.docs')).toBe(true);
  });

  it('refuses URIs no contract covers, and traversal inside a template variable', async () => {
    await expect(client.readResource({ uri: 'demo://resource/static/other/x.md' })).rejects.toThrow(/not declared/);
    await expect(client.readResource({ uri: 'demo://resource/static/document/..%2Fsecret.md' })).rejects.toThrow(/not declared/);
    await expect(client.readResource({ uri: 'demo://resource/static/document/ARCH.MD' })).rejects.toThrow(/invalid arguments/);
  });

  it('a confidential resource needs approval; the same read after approval succeeds once', async () => {
    const uri = 'demo://resource/dynamic/text/7';
    let approvalId: ApprovalId | undefined;
    try {
      await client.readResource({ uri });
      throw new Error('read should have needed approval');
    } catch (err) {
      expect(String(err)).toMatch(/approval required/);
      approvalId = (err as { data?: { airlock?: { approvalId?: ApprovalId } } }).data?.airlock?.approvalId;
    }
    expect(approvalId).toMatch(/^apr_/);
    const decided = await vote(airlock.approvalDeps, approvalId!, localApprover(airlock.principal('user:dana')), 'approve', 'fine');
    expect(decided.kind).toBe('recorded');
    const res = await client.readResource({ uri });
    expect(JSON.stringify(res.contents)).toMatch(/7/);
  });

  it('lists and renders prompts through policy; undeclared prompts are refused', async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(['everything.city_prompt']);
    expect(prompts[0]?.arguments?.find((a) => a.name === 'city')?.required).toBe(true);
    const rendered = await client.getPrompt({ name: 'everything.city_prompt', arguments: { city: 'Lisbon' } });
    expect(JSON.stringify(rendered.messages)).toMatch(/Lisbon/);
    await expect(client.getPrompt({ name: 'simple-prompt' })).rejects.toThrow(/not declared/);
    await expect(client.getPrompt({ name: 'everything.city_prompt', arguments: {} })).rejects.toThrow(/invalid arguments/);
  });
});
