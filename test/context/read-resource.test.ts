// Reading a whole document: `context.read` (a tool) and the resource `context://SOURCE/PATH` through the
// MCP door answer under the caller's entitlements like search does. A person without the entitlement
// gets the same refusal for a confidential document as for one that does not exist, nothing of its text
// crosses, and the attempt is on the record.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { ingestSources } from '../../src/context/sources/ingest.js';
import { createGovernedMcpServer } from '../../src/server/mcp.js';
import { AIRLOCK_YAML, contextWorkspace } from './context-workspace.js';

const SALARIES = '# Salaries\n\nThe salary band for engineers is confidential.\n';
const YAML = AIRLOCK_YAML.replace(
  'sources:',
  `  - name: context.read
    connector: context
    description: Read one document.
    effect: read
    risk: low
    classification: confidential
    trust: untrusted
    inputSchema: { type: object, properties: { source: { type: string }, path: { type: string } }, required: [source, path], additionalProperties: false }
  - name: context.document
    connector: context
    description: One document as a resource.
    effect: read
    risk: low
    classification: confidential
    trust: untrusted
    resource: "context://{source}/{+path}"
    inputSchema: { type: object, properties: { source: { type: string }, path: { type: string } }, required: [source, path], additionalProperties: false }
sources:`,
);
const OWNERS = 'owners: { product: user:dana, architecture: user:dana, platform: user:dana, security: user:dana, domain: user:dana, compliance: user:dana }\n';

let ws: ReturnType<typeof contextWorkspace>;
let a: Airlock;
beforeAll(async () => {
  ws = contextWorkspace({ 'docs/hr/salaries.md': SALARIES, 'docs/hr/public-holidays.md': '# Holidays\n\nClosed on public holidays.\n', 'docs/handbook/team/intro.md': '# Intro\n\nWelcome aboard.\n' }, YAML);
  ws.write('workflows/hr.yaml', `name: hr\ntier: execute-low\nagent: hr-bot\ntools: [context.search, context.read, context.document]\n${OWNERS}`);
  a = await openAirlock(ws.dir);
  await ingestSources(a.workspace, a.store, { now: () => new Date() });
});
afterAll(async () => {
  await a?.close();
  ws?.cleanup();
});

/** An MCP client on the governed server of a fresh `hr` run by hr-bot acting for `person`. */
async function mcpFor(person: string): Promise<{ client: Client; runId: string }> {
  const bot = a.principal('agent:hr-bot');
  const onBehalfOf = a.principal(person);
  const run = await a.sessions.open(a.workspace.workflows.get('hr')!, bot, 'mcp-http', onBehalfOf);
  const server = createGovernedMcpServer(a, { principal: bot, onBehalfOf, workflow: a.workspace.workflows.get('hr')!, runId: run.id });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  return { client, runId: run.id };
}

describe('reading a document under the caller’s entitlements', () => {
  it('context.read gives an entitled caller the chunks with provenance; an unentitled person’s agent is refused alike for a secret and a missing document', async () => {
    const bot = a.principal('agent:hr-bot');
    const hr = a.workspace.workflows.get('hr')!;
    const forDana = await a.sessions.open(hr, bot, 'mcp-http', a.principal('user:dana'));
    const forSam = await a.sessions.open(hr, bot, 'mcp-http', a.principal('user:sam'));
    const dana = await a.sessions.call(forDana.id, bot, { tool: 'context.read', args: { source: 'hr', path: 'salaries.md' } });
    expect(dana).toMatchObject({ kind: 'executed', result: { source: 'hr', path: 'salaries.md', truncated: false, classification: 'confidential' } });
    const items = (dana as unknown as { result: { items: { text: string; cite: string; provenance: { start: number; document: string } }[] } }).result.items;
    expect(items.map((i) => i.text).join('\n\n')).toBe(SALARIES.trim());
    expect(items[0]).toMatchObject({ cite: expect.stringMatching(/^\[cite hr\/salaries\.md@[0-9a-f]{16}#0-/), provenance: { start: 0, document: 'salaries.md' } });

    const secret = await a.sessions.call(forSam.id, bot, { tool: 'context.read', args: { source: 'hr', path: 'salaries.md' } });
    const missing = await a.sessions.call(forSam.id, bot, { tool: 'context.read', args: { source: 'hr', path: 'no-such.md' } });
    expect(secret).toMatchObject({ kind: 'failed' });
    expect(JSON.stringify(secret)).not.toContain('salary band');
    expect((secret as { message: string }).message.replace('salaries.md', 'X')).toBe((missing as { message: string }).message.replace('no-such.md', 'X'));
    const records = await a.store.readAuditForRun(forSam.id);
    expect(records.filter((r) => r.type === 'action.executed' && r.body['tool'] === 'context.read').map((r) => r.body['outcome'])).toEqual(['error', 'error']);
    // What sam may read, his agent reads for him.
    const holidays = await a.sessions.call(forSam.id, bot, { tool: 'context.read', args: { source: 'hr', path: 'public-holidays.md' } });
    expect(holidays).toMatchObject({ kind: 'executed' });
  });

  it('a resource contract proposed as a tool call is held to its template: no `..`, `.` or empty segment reaches the connector', async () => {
    const bot = a.principal('agent:hr-bot');
    const run = await a.sessions.open(a.workspace.workflows.get('hr')!, bot, 'mcp-http', a.principal('user:sam'));
    for (const path of ['team/../../hr/salaries.md', './intro.md', 'team//intro.md']) {
      const out = await a.sessions.call(run.id, bot, { tool: 'context.document', args: { source: 'handbook', path } });
      expect(out, path).toMatchObject({ kind: 'invalid', errors: [expect.stringContaining('do not name one resource of `context://{source}/{+path}`')] });
    }
    expect(await a.sessions.call(run.id, bot, { tool: 'context.document', args: { source: 'handbook', path: 'team/intro.md' } })).toMatchObject({ kind: 'executed' });
  });

  it('the MCP resource context://SOURCE/PATH: read for an entitled person, refused for one without the entitlement, nested paths but no climbing out', async () => {
    const dana = await mcpFor('user:dana');
    const sam = await mcpFor('user:sam');
    try {
      const { resourceTemplates } = await sam.client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(['context://{source}/{+path}']);
      const read = await dana.client.readResource({ uri: 'context://hr/salaries.md' });
      expect(read.contents.map((c) => ('text' in c ? c.text : '')).join('\n\n')).toBe(SALARIES.trim());
      expect(read.contents[0]?.uri).toMatch(/^context:\/\/hr\/salaries\.md#0-\d+$/);

      const refused = await sam.client.readResource({ uri: 'context://hr/salaries.md' }).then(
        (r) => JSON.stringify(r),
        (e: unknown) => `refused: ${String(e)}`,
      );
      expect(refused).toMatch(/^refused: .*no document `salaries\.md` in `hr` that this caller may read/);
      expect(refused).not.toContain('salary band');
      expect((await a.store.readAuditForRun(sam.runId)).some((r) => r.type === 'action.executed' && r.body['tool'] === 'context.document' && r.body['outcome'] === 'error')).toBe(true);

      const nested = await sam.client.readResource({ uri: 'context://handbook/team/intro.md' });
      expect(nested.contents.map((c) => ('text' in c ? c.text : ''))).toEqual(['# Intro\n\nWelcome aboard.']);
      await expect(sam.client.readResource({ uri: 'context://handbook/team/../../hr/salaries.md' })).rejects.toThrow(/not declared/);
      await expect(sam.client.readResource({ uri: 'context://hr/%2E%2E/salaries.md' })).rejects.toThrow(/not declared/);
    } finally {
      await dana.client.close();
      await sam.client.close();
    }
  });
});
