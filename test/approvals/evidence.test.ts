// The evidence an approver sees: citations picked from the audit trail, preview diff rows, the
// `preview` contract checks, and one bundle built against the real Acme demo servers.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { buildEvidence, compareRows, diffFromProbe, EXCERPT_CHARS, selectCitations, toCitation, type EvidenceDeps } from '../../src/gateway/approvals/evidence.js';
import { renderEvidence } from '../../src/cli/render.js';
import { toolContractSchema, type ToolContract } from '../../src/config/schema.js';
import { INITIAL_LABELS } from '../../src/context/labels.js';
import type { AuditRecord } from '../../src/store/store.js';
import type { CallContext } from '../../src/gateway/types.js';
import type { Json, JsonObject, RunId, Sha256Hex } from '../../src/types.js';
import { requireBuild } from '../cli/cli-helpers.js';
import { copyExample, expectError, loadErrors, positionOf, type TempWorkspace } from '../config/helpers.js';
import { copyAcme } from '../helpers/workspace.js';

function contract(name: string, effect: 'read' | 'write', trust: 'trusted' | 'untrusted' = 'trusted'): ToolContract {
  return toolContractSchema.parse({
    name,
    connector: name.split('.')[0],
    description: name,
    effect,
    risk: 'low',
    trust,
    inputSchema: { type: 'object' },
    ...(effect === 'read' ? {} : { irreversible: true }),
  });
}

const TOOLS = new Map(
  [contract('tickets.get_ticket', 'read', 'untrusted'), contract('orders.get_order', 'read'), contract('tickets.comment', 'write')].map((c) => [c.name, c]),
);

const hex = (n: number): string => n.toString(16).padStart(64, '0');

let seq = 0;
function rec(type: string, body: JsonObject): AuditRecord {
  seq++;
  const h = hex(seq) as Sha256Hex;
  return { seq, type, time: '2024-05-10T08:00:00.000Z', runId: 'run_x', principal: 'agent:refund-bot', onBehalfOf: null, body, schemaVersion: 1, prevHash: h, leafHash: h, chainHash: h };
}

/** The intent and outcome records of one call: args hash `a<n>`, action `h<n>`, result `r<n>`. */
function call(n: number, tool: string, outcome: 'ok' | 'error' = 'ok', extra: JsonObject = {}): AuditRecord[] {
  return [
    rec('action.intent', { tool, step: n, argsHash: `a${n}`, actionHash: `h${n}` }),
    rec('action.decision', { tool, actionHash: `h${n}`, decision: 'allow' }),
    rec('action.executed', { tool, actionHash: `h${n}`, outcome, ...(outcome === 'ok' ? { resultHash: `r${n}` } : { message: 'boom' }), ...extra }),
  ];
}

describe('selectCitations', () => {
  it('cites successful read results with their intent arguments and the contract trust, oldest first', () => {
    const records = [...call(1, 'tickets.get_ticket'), ...call(2, 'orders.get_order'), ...call(3, 'tickets.comment')];
    expect(selectCitations(records, TOOLS)).toEqual([
      { tool: 'tickets.get_ticket', argsHash: 'a1', resultHash: 'r1', trust: 'untrusted' },
      { tool: 'orders.get_order', argsHash: 'a2', resultHash: 'r2', trust: 'trusted' },
    ]);
  });

  it('skips failed calls, undeclared tools, records without a result, and intents never executed', () => {
    const records = [
      ...call(1, 'orders.get_order', 'error'),
      ...call(2, 'crm.get_customer'),
      rec('action.intent', { tool: 'orders.get_order', step: 3, argsHash: 'a3', actionHash: 'h3' }),
      rec('action.executed', { tool: 'orders.get_order', actionHash: 'h4', outcome: 'ok' }),
    ];
    expect(selectCitations(records, TOOLS)).toEqual([]);
  });

  it('keeps the newest `max`, and cites the same read with the same answer once, where it last happened', () => {
    const records = [...call(1, 'orders.get_order'), ...call(2, 'tickets.get_ticket'), ...call(3, 'orders.get_order')];
    const again = rec('action.executed', { tool: 'orders.get_order', actionHash: 'h1', outcome: 'ok', resultHash: 'r1' });
    expect(selectCitations([...records, again], TOOLS).map((c) => c.resultHash)).toEqual(['r2', 'r3', 'r1']);
    expect(selectCitations([...records, again], TOOLS, 2).map((c) => c.resultHash)).toEqual(['r3', 'r1']);
  });

  it('cites a result the caller reported as untrusted, and one without an intent with null arguments', () => {
    const reported = call(1, 'orders.get_order', 'ok', { reportedBy: 'caller' });
    const orphan = rec('action.executed', { tool: 'orders.get_order', outcome: 'ok', resultHash: 'r9' });
    expect(selectCitations([...reported, orphan], TOOLS)).toEqual([
      { tool: 'orders.get_order', argsHash: 'a1', resultHash: 'r1', trust: 'untrusted' },
      { tool: 'orders.get_order', argsHash: null, resultHash: 'r9', trust: 'trusted' },
    ]);
  });
});

describe('toCitation', () => {
  const source = { tool: 'tickets.get_ticket', argsHash: 'a1', resultHash: 'r1', trust: 'untrusted' } as const;

  it('numbers the citation, parses the arguments, and cuts the result text to an excerpt', () => {
    const long = JSON.stringify({ body: 'x'.repeat(1000) });
    const c = toCitation(0, source, { args: '{"ticket_id":"T-311"}', result: long });
    expect(c).toMatchObject({ ref: 'C1', tool: 'tickets.get_ticket', args: { ticket_id: 'T-311' }, resultHash: 'r1', trust: 'untrusted' });
    expect(c['excerpt']).toBe(`${long.slice(0, EXCERPT_CHARS)}…`);
  });

  it('shows a string result and resource text as text', () => {
    expect(toCitation(1, source, { args: '{}', result: '"plain words"' })['excerpt']).toBe('plain words');
    const resource = JSON.stringify({ contents: [{ uri: 'doc://a', text: 'first' }, { uri: 'doc://b', text: 'second' }] });
    expect(toCitation(1, source, { args: '{}', result: resource })['excerpt']).toBe('first\nsecond');
  });

  it('leaves null what retention deleted', () => {
    expect(toCitation(2, source, { args: null, result: null })).toEqual({ ref: 'C3', tool: 'tickets.get_ticket', args: null, excerpt: null, resultHash: 'r1', trust: 'untrusted' });
  });
});

describe('preview diff rows', () => {
  const spec = {
    probe: 'orders.get_order',
    args: { order_id: '$args.order_id' },
    compare: [
      { label: 'refund vs order total', proposed: '$args.amount_cents', current: '$probe.total_cents' },
      { label: 'currency', proposed: '$args.currency', current: '$probe.currency' },
    ],
  };
  const args = { order_id: '1182', amount_cents: 4000, currency: 'EUR' };

  it('marks each row as differing or not', () => {
    expect(compareRows(spec.compare, { args, probe: { total_cents: 8990, currency: 'EUR' } })).toEqual([
      { label: 'refund vs order total', proposed: 4000, current: 8990, differs: true },
      { label: 'currency', proposed: 'EUR', current: 'EUR', differs: false },
    ]);
  });

  it('compares structured values regardless of key order', () => {
    const rows = compareRows([{ label: 'l', proposed: { a: '$args.a', b: 2 }, current: '$probe.x' }], { args: { a: 1 }, probe: { x: { b: 2, a: 1 } } });
    expect(rows[0]).toMatchObject({ differs: false });
  });

  it('leaves a missing side null, differs unknown, and says what was missing', () => {
    expect(compareRows(spec.compare, { args: { amount_cents: 4000 }, probe: { total_cents: 8990 } })).toEqual([
      { label: 'refund vs order total', proposed: 4000, current: 8990, differs: true },
      { label: 'currency', proposed: null, current: null, differs: null, error: 'the arguments have no `$args.currency`; the probe returned no `$probe.currency`' },
    ]);
  });

  it('turns a failed probe into an error, and a successful one into rows', () => {
    const failed = diffFromProbe(spec, args, { order_id: '1182' }, { ok: false, failure: 'tool-error', message: 'order `1182` not found' });
    expect(failed).toEqual({ probe: 'orders.get_order', args: { order_id: '1182' }, error: 'probe `orders.get_order` failed (tool-error): order `1182` not found' });
    const ok = diffFromProbe(spec, args, { order_id: '1182' }, { ok: true, content: { total_cents: 4000, currency: 'USD' }, text: '' });
    expect(ok['rows']).toEqual([
      { label: 'refund vs order total', proposed: 4000, current: 4000, differs: false },
      { label: 'currency', proposed: 'EUR', current: 'USD', differs: true },
    ]);
  });
});

describe('preview contract checks', () => {
  let ws: TempWorkspace;
  beforeEach(async () => {
    ws = await copyExample();
  });
  afterEach(async () => {
    await ws.remove();
  });

  it('reports a probe that is not declared', async () => {
    await ws.edit('airlock.yaml', '      probe: orders.get_order\n', '      probe: orders.find_order\n');
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read('airlock.yaml');
    expectError(errors, {
      file: path.join(ws.dir, 'airlock.yaml'),
      ...positionOf(text, 'orders.find_order'),
      path: 'tools[6].preview.probe',
      message: 'preview probe `orders.find_order` is not declared',
      hint: 'declare a contract for it under `tools`',
    });
  });

  it('reports a probe that is not a read tool', async () => {
    await ws.edit('airlock.yaml', '      probe: tickets.get_ticket\n', '      probe: tickets.set_status\n');
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read('airlock.yaml');
    expectError(errors, {
      file: path.join(ws.dir, 'airlock.yaml'),
      ...positionOf(text, 'tickets.set_status', 'probe: '),
      path: 'tools[2].preview.probe',
      message: 'preview probe `tickets.set_status` must be a read tool, found effect `write`',
      hint: /effect: read/,
    });
  });

  it('reports templates naming an unknown argument, or `$result` (the action has not run)', async () => {
    await ws.edit('airlock.yaml', 'proposed: "$args.amount_cents"', 'proposed: "$args.amount"');
    await ws.edit('airlock.yaml', 'args: { order_id: "$args.order_id" }\n      compare:', 'args: { order_id: "$result.order_id" }\n      compare:');
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read('airlock.yaml');
    const file = path.join(ws.dir, 'airlock.yaml');
    expectError(errors, {
      file,
      ...positionOf(text, '"$args.amount"'),
      path: 'tools[6].preview.compare[0].proposed',
      message: 'template `$args.amount` names no argument of this tool',
      hint: /`\$args.amount_cents`/,
    });
    expectError(errors, {
      file,
      ...positionOf(text, '"$result.order_id"'),
      path: 'tools[6].preview.args.order_id',
      message: 'unknown template `$result.order_id`',
      hint: /`\$args.`/,
    });
  });

  it('reports two rows with the same label', async () => {
    await ws.edit('airlock.yaml', '{ label: "currency",', '{ label: "refund vs order total",');
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read('airlock.yaml');
    expectError(errors, {
      file: path.join(ws.dir, 'airlock.yaml'),
      ...positionOf(text, '"refund vs order total", proposed: "$args.currency"'),
      path: 'tools[6].preview.compare[1].label',
      message: 'duplicate preview row `refund vs order total` (first is row 1)',
    });
  });
});

const plain = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');

describe('evidence against the Acme demo servers', () => {
  let acme: ReturnType<typeof copyAcme>;
  let a: Airlock;
  let deps: EvidenceDeps;
  const runId = 'run_evidence1' as RunId;
  let step = 0;

  beforeAll(async () => {
    requireBuild();
    acme = copyAcme();
    a = await openAirlock(acme.dir);
    deps = {
      store: a.store,
      workspace: a.workspace,
      readTool: (c, args) =>
        a.connectors.get(c.connector).call(c.upstream ?? c.name.slice(c.name.indexOf('.') + 1), args, { timeoutMs: c.timeoutMs ?? 10_000 }),
    };
    const workflow = a.workspace.workflows.get('refund-desk');
    if (!workflow) throw new Error('refund-desk is missing from the example');
    const ctx = (): CallContext => ({ runId, workflow, principal: a.principal('agent:refund-bot'), labels: INITIAL_LABELS, step: ++step });
    for (const [tool, args] of [
      ['tickets.get_ticket', { ticket_id: 'T-311' }],
      ['orders.get_order', { order_id: '1182' }],
      ['documents.get', { doc_id: 'partner-faq' }],
    ] as const) {
      expect(await a.gateway.propose(ctx(), { tool, args })).toMatchObject({ kind: 'executed' });
    }
  });
  afterAll(async () => {
    await a?.close();
    acme?.cleanup();
  });

  const tool = (name: string): ToolContract => {
    const c = a.workspace.tools.get(name);
    if (!c) throw new Error(`${name} is missing from the example`);
    return c;
  };
  const refund = { order_id: '1182', amount_cents: 4000, currency: 'EUR', reason: 'Damaged dripper' };

  it('cites what the run read and compares the refund with the order', async () => {
    const ev = await buildEvidence(deps, { runId, contract: tool('payments.refund'), args: refund, reasoning: 'Refund 40 EUR for the broken part.' });
    const citations = ev['citations'] as JsonObject[];
    expect(citations.map((c) => [c['ref'], c['tool'], c['trust']])).toEqual([
      ['C1', 'tickets.get_ticket', 'untrusted'],
      ['C2', 'orders.get_order', 'trusted'],
      ['C3', 'documents.get', 'untrusted'],
    ]);
    expect(citations[0]).toMatchObject({ args: { ticket_id: 'T-311' }, resultHash: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown });
    expect(citations[0]?.['excerpt']).toContain('Order 1182 arrived broken');
    expect(String(citations[2]?.['excerpt']).length).toBeLessThanOrEqual(EXCERPT_CHARS + 1);
    expect(ev['reasoning']).toBe('Refund 40 EUR for the broken part.');
    expect(ev['args']).toEqual(refund);
    expect(ev['diff']).toEqual({
      probe: 'orders.get_order',
      args: { order_id: '1182' },
      rows: [
        { label: 'refund vs order total', proposed: 4000, current: 8990, differs: true },
        { label: 'currency', proposed: 'EUR', current: 'EUR', differs: false },
      ],
    });
    const text = plain(renderEvidence(ev));
    expect(text).toMatch(/C1 +tickets\.get_ticket +⚠ UNTRUSTED/);
    expect(text).toMatch(/C2 +orders\.get_order +trusted/);
    expect(text).toMatch(/≠ refund vs order total +4000 +8990/);
    expect(text).toMatch(/= currency +"EUR" +"EUR"/);
    expect(text).not.toContain('\n\n');
  });

  it('compares a status change with the ticket, and truncates long reasoning', async () => {
    const ev = await buildEvidence(deps, { runId, contract: tool('tickets.set_status'), args: { ticket_id: 'T-311', status: 'resolved' }, reasoning: 'y'.repeat(5000) });
    expect((ev['diff'] as JsonObject)['rows']).toEqual([{ label: 'ticket status', proposed: 'resolved', current: 'open', differs: true }]);
    expect(String(ev['reasoning'])).toHaveLength(1001);
  });

  it('reports a probe the system refuses as a diff error, and no preview as null', async () => {
    const ev = await buildEvidence(deps, { runId, contract: tool('payments.refund'), args: { ...refund, order_id: '9999' }, reasoning: null });
    expect(ev['reasoning']).toBeNull();
    expect(ev['diff']).toMatchObject({ probe: 'orders.get_order', args: { order_id: '9999' }, error: expect.stringMatching(/failed \(tool-error\).*9999/) as unknown });
    expect(plain(renderEvidence(ev))).toContain('could not read the current state');
    const mail = await buildEvidence(deps, { runId, contract: tool('mail.draft'), args: { to: 'a@b.example', subject: 's', body: 'b' }, reasoning: null });
    expect(mail['diff']).toBeNull();
  });

  it('leaves out what retention deleted', async () => {
    const first = await buildEvidence(deps, { runId, contract: tool('mail.draft'), args: {}, reasoning: null });
    const c1 = (first['citations'] as JsonObject[])[0];
    await a.store.deletePayload(c1?.['resultHash'] as Sha256Hex);
    const after = await buildEvidence(deps, { runId, contract: tool('mail.draft'), args: {}, reasoning: null });
    expect((after['citations'] as Json[])[0]).toMatchObject({ ref: 'C1', excerpt: null, args: { ticket_id: 'T-311' } });
    expect(plain(renderEvidence(after))).toContain('(result no longer stored)');
  });
});
