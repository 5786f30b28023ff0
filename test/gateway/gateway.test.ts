// The gateway on its own, with a fake connector (no spawned servers): write-ahead audit before any
// call, nothing reaches a connector unless the decision allows it, refusals recorded by a hash and a
// preview, one dispatcher for calls and probes (probe reads audited), approvals bound to one action.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../src/audit/writer.js';
import type { ToolContract } from '../../src/config/schema.js';
import { actionHash } from '../../src/gateway/action.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import type { CallContext, GatewayDeps } from '../../src/gateway/types.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import type { Connector, ConnectorResult } from '../../src/tools/connector.js';
import type { ApprovalId, Json, JsonObject, RunId } from '../../src/types.js';
import { ACME_CONTRACTS, ACME_PRINCIPALS, contract, readSources, REFUND_BOT, REFUND_DESK, workspace } from '../policy/fixtures.js';

const POLICIES = readSources('examples/acme/policies', '.cedar');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-gateway-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A connector that answers from a table and remembers every call, and what the trail held when it came. */
type Call = { tool: string; args: JsonObject; retryable: boolean | undefined; recordsBefore: string[] };

class FakeConnector implements Connector {
  constructor(
    readonly name: string,
    private readonly calls: Call[],
    private readonly store: () => Store,
    private readonly answer: (tool: string, args: JsonObject) => ConnectorResult,
  ) {}
  async call(tool: string, args: { readonly [k: string]: Json }, opts: { timeoutMs: number; retryable?: boolean }): Promise<ConnectorResult> {
    // What was durable when the call reached the upstream: write-ahead means the intent and decision already are.
    const recordsBefore = (await this.store().readAudit(1, 10_000)).map((r) => `${r.type}:${String(r.body['tool'] ?? r.body['probe'] ?? '')}`);
    this.calls.push({ tool, args, retryable: opts.retryable, recordsBefore });
    return this.answer(tool, args);
  }
  listTools() {
    return Promise.resolve([]);
  }
  close() {
    return Promise.resolve();
  }
}

const ok = (content: Json): ConnectorResult => ({ ok: true, content, text: JSON.stringify(content) });
const REFUND = { order_id: '1182', amount_cents: 4000, currency: 'EUR', reason: 'damaged' };

interface Rig {
  gateway: Gateway;
  deps: GatewayDeps;
  store: Store;
  calls: Call[];
  ctx: (over?: Partial<CallContext>) => CallContext;
}

let n = 0;
async function rig(opts: { contracts?: readonly ToolContract[]; answer?: (tool: string, args: JsonObject) => ConnectorResult } = {}): Promise<Rig> {
  const contracts = opts.contracts ?? ACME_CONTRACTS;
  const ws = workspace({ contracts, workflows: [{ ...REFUND_DESK, tools: contracts.map((c) => c.name) }] });
  const store = await openSqliteStore(path.join(tmp, `g${++n}`, 'airlock.db'));
  const now = () => new Date('2026-01-01T10:00:00.000Z');
  const connectors = new Map<string, FakeConnector>();
  const answer = opts.answer ?? ((tool) => ok({ tool, refund_id: 'R-1', status: 'completed', total_cents: 8990 }));
  let approvals = 0;
  const calls: Call[] = [];
  const deps: GatewayDeps = {
    workspace: ws,
    policies: compilePolicies(POLICIES, contracts, { principals: ACME_PRINCIPALS }),
    store,
    connectors: {
      get: (name: string) => {
        let c = connectors.get(name);
        if (!c) connectors.set(name, (c = new FakeConnector(name, calls, () => store, answer)));
        return c;
      },
    },
    audit: new AuditWriter(store, new Uint8Array(32), now),
    now,
    newApprovalId: () => `apr_${++approvals}` as ApprovalId,
  };
  const ctx = (over: Partial<CallContext> = {}): CallContext => ({
    runId: 'run_1' as RunId,
    workflow: ws.workflows.get('refund-desk')!,
    principal: REFUND_BOT,
    labels: { classification: 'public', trust: 'trusted' },
    step: 1,
    ...over,
  });
  rigs.push(store);
  return { gateway: new Gateway(deps), deps, store, calls, ctx };
}
const rigs: Store[] = [];
afterEach(async () => {
  for (const s of rigs.splice(0)) await s.close();
});

const types = async (store: Store) => (await store.readAudit(1, 10_000)).map((r) => r.type);

describe('the gateway with a fake connector', () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig();
  });

  it('writes the intent and the decision ahead of an allowed call, then its outcome', async () => {
    const out = await r.gateway.propose(r.ctx(), { tool: 'orders.get_order', args: { order_id: '1182' } });
    expect(out.kind).toBe('executed');
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]).toMatchObject({ tool: 'get_order', args: { order_id: '1182' }, retryable: true });
    expect(r.calls[0]?.recordsBefore).toEqual(['action.intent:orders.get_order', 'action.decision:orders.get_order']);
    expect(await types(r.store)).toEqual(['action.intent', 'action.decision', 'action.executed']);
  });

  it('never calls a connector for a denied, undeclared or invalid proposal, and records each', async () => {
    const denied = await r.gateway.propose(r.ctx(), { tool: 'mail.send', args: { to: 'x@exfil.example', subject: 's', body: 'b' } });
    const unknown = await r.gateway.propose(r.ctx(), { tool: 'payments.transfer_all', args: { to: 'IBAN' } });
    const notJson = await r.gateway.propose(r.ctx(), { tool: 'orders.get_order', args: { order_id: Number.NaN } as unknown as JsonObject });
    expect([denied.kind, unknown.kind, notJson.kind]).toEqual(['denied', 'denied', 'invalid']);
    expect(r.calls).toEqual([]);
    const records = await r.store.readAudit(1, 100);
    expect(records.filter((x) => x.type === 'action.not-executed').map((x) => x.body['why'])).toEqual(['denied', 'unknown-tool', 'invalid-arguments']);
    // A refused proposal is kept as a hash, a size and a preview, never as a stored payload.
    const refusedIntent = records.find((x) => x.type === 'action.intent' && x.body['tool'] === 'payments.transfer_all');
    expect(refusedIntent?.body).toMatchObject({ argsBytes: 13, argsPreview: '{"to":"IBAN"}' });
    expect(await r.store.getPayload(refusedIntent?.body['argsHash'] as never)).toBeNull();
  });

  it('sends reads as retryable and writes never, through the one dispatcher', async () => {
    await r.gateway.propose(r.ctx(), { tool: 'tickets.comment', args: { ticket_id: 'T-1', body: 'hi' } });
    await r.gateway.propose(r.ctx(), { tool: 'tickets.get_ticket', args: { ticket_id: 'T-1' } });
    expect(r.calls.map((c) => [c.tool, c.retryable])).toEqual([
      ['comment', false],
      ['get_ticket', true],
    ]);
  });

  it('records a connector failure as the outcome and tells the caller the effect is unknown', async () => {
    const failing = await rig({ answer: () => ({ ok: false, failure: 'timeout', message: 'no answer in 10 s' }) });
    const out = await failing.gateway.propose(failing.ctx(), { tool: 'tickets.comment', args: { ticket_id: 'T-1', body: 'hi' } });
    expect(out).toMatchObject({ kind: 'failed', failure: 'timeout' });
    expect((await failing.store.readAudit(1, 100)).at(-1)?.body).toMatchObject({ outcome: 'error', failure: 'timeout', message: 'no answer in 10 s' });
  });

  it('audits the ground-truth read of a verification as a probe read, through the same dispatcher', async () => {
    const verified = contract({
      name: 'tickets.set_status',
      effect: 'write',
      risk: 'low',
      expose: { status: 'string' },
      compensation: { tool: 'tickets.set_status', args: { ticket_id: '$args.ticket_id', status: '$result.previous_status' } },
      verify: { probe: 'tickets.get_ticket', args: { ticket_id: '$args.ticket_id' }, expect: { '$probe.status': '$args.status' } },
    });
    const v = await rig({
      contracts: [verified, ...ACME_CONTRACTS.filter((c) => c.name !== 'tickets.set_status')],
      answer: (tool, args) => ok(tool === 'get_ticket' ? { id: args['ticket_id'] ?? null, status: 'resolved' } : { id: 'T-1', status: 'resolved', previous_status: 'open' }),
    });
    const out = await v.gateway.propose(v.ctx(), { tool: 'tickets.set_status', args: { ticket_id: 'T-1', status: 'resolved' } });
    expect(out).toMatchObject({ kind: 'executed', verification: { probe: 'tickets.get_ticket', outcome: { status: 'passed' } } });
    const records = await v.store.readAudit(1, 100);
    expect(records.map((x) => x.type)).toEqual(['action.intent', 'action.decision', 'action.executed', 'probe.read', 'action.verified']);
    expect(records[3]).toMatchObject({ principal: null, body: { probe: 'tickets.get_ticket', purpose: 'verification', outcome: 'ok' } });
  });
});

describe('an approval binds to one action', () => {
  it('executes the approved action once; a second use is refused and the connector is not called again', async () => {
    const r = await rig();
    const asked = await r.gateway.propose(r.ctx(), { tool: 'payments.refund', args: REFUND });
    expect(asked.kind).toBe('pending-approval');
    expect(r.calls).toEqual([]);
    const id = (asked as { approvalId: ApprovalId }).approvalId;
    expect((await vote(r.deps, id, localApprover({ kind: 'user', id: 'dana', roles: ['support-lead', 'finance-approver'] }), 'approve', null)).kind).toBe('recorded');
    const first = await r.gateway.executeApproved(r.ctx(), { tool: 'payments.refund', args: REFUND }, id);
    const again = await r.gateway.executeApproved(r.ctx(), { tool: 'payments.refund', args: REFUND }, id);
    expect([first.kind, again.kind]).toEqual(['executed', 'denied']);
    expect(r.calls.filter((c) => c.tool === 'refund')).toHaveLength(1);
  });

  it('never authorises any other action (property: for every change of the arguments, H′ ≠ H is refused unseen by the upstream)', async () => {
    const r = await rig();
    const asked = await r.gateway.propose(r.ctx(), { tool: 'payments.refund', args: REFUND });
    const id = (asked as { approvalId: ApprovalId }).approvalId;
    await vote(r.deps, id, localApprover({ kind: 'user', id: 'dana', roles: ['support-lead', 'finance-approver'] }), 'approve', null);
    const changed = fc
      .record({
        order_id: fc.constantFrom('1182', '1183', '11820', ' 1182'),
        amount_cents: fc.integer({ min: 1, max: 100_000 }),
        currency: fc.constantFrom('EUR', 'USD', 'eur'),
        reason: fc.constantFrom('damaged', 'Damaged', 'damaged '),
      })
      .filter((a) => actionHash('payments.refund', a, 'run_1' as RunId, REFUND_BOT) !== actionHash('payments.refund', REFUND, 'run_1' as RunId, REFUND_BOT));
    await fc.assert(
      fc.asyncProperty(changed, fc.constantFrom('run_1', 'run_2'), async (args, run) => {
        const out = await r.gateway.executeApproved(r.ctx({ runId: run as RunId }), { tool: 'payments.refund', args }, id);
        expect(out.kind).toBe('denied');
        expect(r.calls).toEqual([]);
      }),
      { numRuns: 60 },
    );
    // The approval is still unused: the approved action itself still executes, once.
    expect((await r.gateway.executeApproved(r.ctx(), { tool: 'payments.refund', args: REFUND }, id)).kind).toBe('executed');
    expect((await r.store.readAudit(1, 10_000)).filter((x) => x.type === 'action.not-executed').every((x) => x.body['why'] === 'approval-mismatch')).toBe(true);
  });
});
