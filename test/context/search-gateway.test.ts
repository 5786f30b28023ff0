// context.search through the whole boundary: an external agent's session (the MCP and HTTP doors share
// it) searches through the gateway, which tells the connector who calls and for whom; nothing outside
// both their scopes comes back, the read is audited and labels the run, and an approval's evidence
// never shows retrieved text to approvers (who may not hold the entitlement).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { ingestSources } from '../../src/context/sources/ingest.js';
import { AIRLOCK_YAML, contextWorkspace } from './context-workspace.js';

const SALARIES = '# Salaries\n\nThe salary band for engineers is confidential. Payroll runs monthly.\n';
const HOLIDAYS = '# Public holidays\n\nThe office closes on public holidays; salary is paid as usual.\n';

// The starter workspace, plus a tool that needs approval (to see what approvers are shown).
const YAML = AIRLOCK_YAML.replace('connectors:\n', 'connectors:\n  notes: { kind: in-process }\n').replace(
  'sources:',
  `  - name: notes.note
    connector: notes
    description: "Keep a note (it waits for a person)."
    effect: write
    risk: low
    classification: confidential
    trust: untrusted
    irreversible: true
    inputSchema: { type: object, properties: { text: { type: string } }, required: [text] }
sources:`,
);

let ws: ReturnType<typeof contextWorkspace>;
let a: Airlock;
beforeAll(async () => {
  ws = contextWorkspace({ 'docs/hr/salaries.md': SALARIES, 'docs/hr/public-holidays.md': HOLIDAYS, 'docs/handbook/intro.md': '# Intro\n\nWelcome.\n' }, YAML);
  ws.write('workflows/ask.yaml', 'name: ask\ntier: execute-low\nagent: helper\ntools: [context.search, notes.note]\nowners: { product: user:dana, architecture: user:dana, platform: user:dana, security: user:dana, domain: user:dana, compliance: user:dana }\n');
  ws.write('workflows/hr.yaml', 'name: hr\ntier: execute-low\nagent: hr-bot\ntools: [context.search, notes.note]\nowners: { product: user:dana, architecture: user:dana, platform: user:dana, security: user:dana, domain: user:dana, compliance: user:dana }\n');
  ws.write('policies/note.cedar', '@approval("single")\npermit (principal in Airlock::Role::"assistant", action == Airlock::Action::"call", resource == Airlock::Tool::"notes.note");\npermit (principal in Airlock::Role::"staff", action == Airlock::Action::"approve", resource);\n');
  a = await openAirlock(ws.dir);
  await ingestSources(a.workspace, a.store, { now: () => new Date() });
});
afterAll(async () => {
  await a?.close();
  ws?.cleanup();
});

const docs = (content: unknown): string[] => ((content as { items: { provenance: { source: string; document: string } }[] }).items ?? []).map((i) => `${i.provenance.source}/${i.provenance.document}`).sort();

describe('context.search through the gateway', () => {
  it('reads under the caller and the person it acts for: an entitled agent for an unentitled person gets nothing confidential', async () => {
    const hr = a.workspace.workflows.get('hr')!;
    const bot = a.principal('agent:hr-bot');
    const forDana = await a.sessions.open(hr, bot, 'mcp-http', a.principal('user:dana'));
    const forSam = await a.sessions.open(hr, bot, 'mcp-http', a.principal('user:sam'));
    const dana = await a.sessions.call(forDana.id, bot, { tool: 'context.search', args: { query: 'salary' } });
    const sam = await a.sessions.call(forSam.id, bot, { tool: 'context.search', args: { query: 'salary' } });
    expect(dana).toMatchObject({ kind: 'executed' });
    expect(sam).toMatchObject({ kind: 'executed' });
    expect(docs((dana as { result: unknown }).result)).toEqual(['hr/public-holidays.md', 'hr/salaries.md']);
    expect(docs((sam as { result: unknown }).result)).toEqual(['hr/public-holidays.md']);
    expect(JSON.stringify((sam as { result: unknown }).result)).not.toContain('salary band');
    // The read is on the record, and the run is labelled by the contract (confidential, untrusted).
    const records = await a.store.readAuditForRun(forSam.id);
    expect(records.filter((r) => r.type === 'action.executed' && r.body['tool'] === 'context.search')).toHaveLength(1);
    expect((await a.store.getRun(forSam.id))?.state).toMatchObject({ labels: { classification: 'confidential', trust: 'untrusted' } });
  });

  it('an approval after a search shows what was searched, never the retrieved text', async () => {
    const hr = a.workspace.workflows.get('hr')!;
    const bot = a.principal('agent:hr-bot');
    const run = await a.sessions.open(hr, bot, 'mcp-http', a.principal('user:dana'));
    await a.sessions.call(run.id, bot, { tool: 'context.search', args: { query: 'salary band' } });
    const asked = await a.sessions.call(run.id, bot, { tool: 'notes.note', args: { text: 'looked it up' } });
    expect(asked).toMatchObject({ kind: 'pending-approval' });
    const [approval] = await a.store.listApprovals({ status: 'pending', runId: run.id });
    const citations = (approval?.summary as { evidence: { citations: Record<string, unknown>[] } }).evidence.citations;
    expect(citations).toEqual([expect.objectContaining({ tool: 'context.search', args: { query: 'salary band' }, excerpt: null, withheld: expect.stringContaining('not shown to approvers') })]);
    expect(JSON.stringify(approval?.summary)).not.toContain('confidential. Payroll');
    expect(path.isAbsolute(ws.dir)).toBe(true);
  });
});
