// Value budgets at the boundary, with a scripted attacker splitting one large payment into many small
// ones at once: the store counts each amount under the limit in one write, so no more than the limit
// moves without a person, and policy reads where each budget stands (`context.value`).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../src/audit/writer.js';
import type { ToolContract, ValueBudget } from '../../src/config/schema.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import type { CallContext, GatewayDeps } from '../../src/gateway/types.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import type { Connector, ConnectorResult } from '../../src/tools/connector.js';
import type { ApprovalId, Json, RunId } from '../../src/types.js';
import { ACME_PRINCIPALS, contract, REFUND_BOT, REFUND_DESK, workspace } from '../policy/fixtures.js';

const PAY: ToolContract = contract({
  name: 'payments.pay',
  effect: 'financial',
  risk: 'low',
  inputSchema: {
    type: 'object',
    properties: { payee: { type: 'string' }, amount_cents: { type: 'integer', minimum: 0, maximum: 100_000_000 }, currency: { type: 'string', enum: ['EUR', 'USD'] } },
    required: ['payee', 'amount_cents', 'currency'],
    additionalProperties: false,
  },
  expose: { amount_cents: 'long' },
  value: { amount: 'amount_cents', currency: 'currency', key: 'payee' },
});
const PER_PAYEE: ValueBudget = { name: 'payee_daily', tools: ['payments.pay'], per: ['key'], windowMinutes: 1440, limit: 15_000, currency: 'EUR' };
const ALLOW_PAY = `@id("bot-pays")
permit (principal == Airlock::Agent::"refund-bot", action == Airlock::Action::"call", resource == Airlock::Tool::"payments.pay");
@id("finance-approves")
permit (principal in Airlock::Role::"finance-approver", action == Airlock::Action::"approve", resource == Airlock::Tool::"payments.pay");`;
const CAP_HARD = `@id("never-past-300")
@reason("no payee gets more than 300 EUR a day, approved or not")
forbid (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"payments.pay")
when { context has value && context.value has payee_daily && context.value.payee_daily.wouldBe > 30000 };`;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-value-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

let n = 0;
async function rig(policy: string, budgets: readonly ValueBudget[] = [PER_PAYEE], grants?: GatewayDeps['grants']) {
  const ws = workspace({ contracts: [PAY], workflows: [{ ...REFUND_DESK, tools: ['payments.pay'] }], valueBudgets: budgets });
  const store = await openSqliteStore(path.join(tmp, `v${++n}`, 'airlock.db'));
  stores.push(store);
  const paid: Json[] = [];
  const connector: Connector = {
    name: 'payments',
    async call(_tool, args): Promise<ConnectorResult> {
      paid.push(args as Json);
      return { ok: true, content: { paid: true }, text: '{"paid":true}' };
    },
    listTools: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
  const now = () => new Date('2026-01-01T10:00:00.000Z');
  let approvals = 0;
  const deps: GatewayDeps = {
    workspace: ws,
    policies: compilePolicies([{ file: 'p.cedar', text: policy }], [PAY], { principals: ACME_PRINCIPALS, valueBudgets: budgets }),
    store,
    connectors: { get: () => connector },
    audit: new AuditWriter(store, new Uint8Array(32), now),
    now,
    newApprovalId: () => `apr_${++approvals}` as ApprovalId,
    ...(grants ? { grants } : {}),
  };
  const ctx = (step: number): CallContext => ({
    runId: 'run_1' as RunId,
    workflow: ws.workflows.get('refund-desk')!,
    principal: REFUND_BOT,
    labels: { classification: 'public', trust: 'trusted' },
    step,
  });
  return { gateway: new Gateway(deps), deps, store, paid, ctx };
}
const pay = (payee: string, amount_cents: number, currency = 'EUR') => ({ tool: 'payments.pay', args: { payee, amount_cents, currency } });

describe('value budgets', () => {
  it('twenty concurrent 60 EUR payments to one payee under a 150 EUR cap: two execute, every other waits for a person', async () => {
    const r = await rig(ALLOW_PAY);
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => r.gateway.propose(r.ctx(i + 1), pay('acme-gmbh', 6_000))));
    expect(outs.filter((o) => o.kind === 'executed')).toHaveLength(2);
    expect(outs.filter((o) => o.kind === 'pending-approval')).toHaveLength(18);
    expect(r.paid).toHaveLength(2);
    expect(await r.store.valueSpent('payee_daily', JSON.stringify({ currency: 'EUR', key: 'acme-gmbh' }), '2025-12-31T10:00:00.000Z')).toBe(12_000);
    // Each one held back says why, on the trail.
    const decisions = (await r.store.readAudit(1, 10_000)).filter((x) => x.type === 'action.decision' && x.body['decision'] === 'approval');
    expect(decisions).toHaveLength(18);
    for (const d of decisions) expect(String(d.body['reasons'])).toMatch(/value budget `payee_daily` would reach 18000 of its 15000 \(12000 already counted\)/);
  });

  it('keeps payees and currencies apart: another payee has its own sum, USD is not counted in EUR', async () => {
    const r = await rig(ALLOW_PAY);
    for (const p of [pay('a', 10_000), pay('b', 10_000), pay('a', 10_000, 'USD')]) {
      expect((await r.gateway.propose(r.ctx(1), p)).kind).toBe('executed');
    }
    expect((await r.gateway.propose(r.ctx(2), pay('a', 6_000))).kind).toBe('pending-approval');
    expect(r.paid).toHaveLength(3);
  });

  it('an approved payment counts past the limit, and policy reads the sum: past 300 EUR is forbidden, approved or not', async () => {
    const r = await rig(`${ALLOW_PAY}\n${CAP_HARD}`);
    expect((await r.gateway.propose(r.ctx(1), pay('acme-gmbh', 12_000))).kind).toBe('executed');
    const asked = await r.gateway.propose(r.ctx(2), pay('acme-gmbh', 10_000));
    expect(asked.kind).toBe('pending-approval');
    const approvalId = (asked as { approvalId: ApprovalId }).approvalId;
    expect((await vote(r.deps, approvalId, localApprover({ kind: 'user', id: 'dana', roles: ['finance-approver'] }), 'approve', 'known supplier')).kind).toBe('recorded');
    expect((await r.gateway.executeApproved(r.ctx(2), pay('acme-gmbh', 10_000), approvalId)).kind).toBe('executed');
    const bucket = JSON.stringify({ currency: 'EUR', key: 'acme-gmbh' });
    expect(await r.store.valueSpent('payee_daily', bucket, '2025-12-31T10:00:00.000Z')).toBe(22_000);
    // 220 + 90 = 310 EUR: past the hard cap, so no person is even asked.
    const denied = await r.gateway.propose(r.ctx(3), pay('acme-gmbh', 9_000));
    expect(denied).toMatchObject({ kind: 'denied', policyIds: ['never-past-300'] });
    expect(r.paid).toHaveLength(2);
    expect(await r.store.valueSpent('payee_daily', bucket, '2025-12-31T10:00:00.000Z')).toBe(22_000);
  });

  it('one payee spelt seven ways is one payee: the budget holds across case, spaces, width and invisible characters', async () => {
    const r = await rig(ALLOW_PAY);
    const spellings = ['acme', 'ACME', 'Acme', ' acme', 'acme ', 'acme\u200b', '\uff41cme'];
    const outs = [];
    for (const [i, payee] of spellings.entries()) outs.push(await r.gateway.propose(r.ctx(i + 1), pay(payee, 15_000)));
    expect(outs.map((o) => o.kind)).toEqual(['executed', ...Array(6).fill('pending-approval')]);
    expect(r.paid).toHaveLength(1);
  });

  it('a currency spelt another way is refused by the contract, never counted apart', async () => {
    const r = await rig(ALLOW_PAY);
    expect((await r.gateway.propose(r.ctx(1), pay('acme', 15_000, 'eur'))).kind).toBe('invalid');
    expect(r.paid).toHaveLength(0);
  });

  it("a threshold a policy writes on the sum holds under concurrent calls too: twenty 60 EUR calls under a policy's 100 EUR, one executes", async () => {
    const policy = `@id("bot-pays-up-to-100")
permit (principal == Airlock::Agent::"refund-bot", action == Airlock::Action::"call", resource == Airlock::Tool::"payments.pay")
when { context has value && context.value has payee_daily && context.value.payee_daily.wouldBe <= 10000 };`;
    const r = await rig(policy);
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => r.gateway.propose(r.ctx(i + 1), pay('acme-gmbh', 6_000))));
    expect(outs.filter((o) => o.kind === 'executed')).toHaveLength(1);
    expect(outs.filter((o) => o.kind === 'denied')).toHaveLength(19);
    expect(r.paid).toHaveLength(1);
  });

  it('a hard cap holds against approved payments executed at once: five approved 90 EUR payments under a 300 EUR forbid, three run', async () => {
    const always = `@id("bot-pays-with-approval")
@approval("single")
permit (principal == Airlock::Agent::"refund-bot", action == Airlock::Action::"call", resource == Airlock::Tool::"payments.pay");
@id("finance-approves")
permit (principal in Airlock::Role::"finance-approver", action == Airlock::Action::"approve", resource == Airlock::Tool::"payments.pay");`;
    const r = await rig(`${always}\n${CAP_HARD}`);
    const approved: { id: ApprovalId; step: number }[] = [];
    // Five different payments (a cent apart: the same arguments in one run would be the same action).
    const amount = (step: number) => 9_000 + step;
    for (let step = 1; step <= 5; step++) {
      const asked = await r.gateway.propose(r.ctx(step), pay('acme-gmbh', amount(step)));
      expect(asked.kind).toBe('pending-approval');
      const id = (asked as { approvalId: ApprovalId }).approvalId;
      expect((await vote(r.deps, id, localApprover({ kind: 'user', id: 'dana', roles: ['finance-approver'] }), 'approve', 'ok')).kind).toBe('recorded');
      approved.push({ id, step });
    }
    const outs = await Promise.all(approved.map((a) => r.gateway.executeApproved(r.ctx(a.step), pay('acme-gmbh', amount(a.step)), a.id)));
    // Any three fit under 300 EUR, no four do.
    expect(outs.filter((o) => o.kind === 'executed')).toHaveLength(3);
    expect(r.paid).toHaveLength(3);
    // What was refused was given back: the sum is what ran.
    const ran = r.paid.reduce<number>((t, p) => t + Number((p as { amount_cents: number }).amount_cents), 0);
    expect(await r.store.valueSpent('payee_daily', JSON.stringify({ currency: 'EUR', key: 'acme-gmbh' }), '2025-12-31T10:00:00.000Z')).toBe(ran);
  });

  it('a standing grant never stands in for a person past a value budget', async () => {
    const always = `@id("bot-pays-with-approval")
@approval("single")
permit (principal == Airlock::Agent::"refund-bot", action == Airlock::Action::"call", resource == Airlock::Tool::"payments.pay");`;
    // A grant that would cover anything it is asked about, and says what it was asked.
    const asked: number[] = [];
    const grants = { cover: async (_c: CallContext, _t: ToolContract, args: { [k: string]: Json }) => (asked.push(Number(args['amount_cents'])), { grantId: 'grt_1', uses: asked.length }) };
    const r = await rig(always, [PER_PAYEE], grants);
    expect((await r.gateway.propose(r.ctx(1), pay('acme-gmbh', 10_000))).kind).toBe('executed');
    // 100 + 60 EUR would cross the 150 EUR budget: a person decides, the grant is not even asked.
    expect((await r.gateway.propose(r.ctx(2), pay('acme-gmbh', 6_000))).kind).toBe('pending-approval');
    expect(asked).toEqual([10_000]);
    expect(r.paid).toHaveLength(1);
    expect(await r.store.valueSpent('payee_daily', JSON.stringify({ currency: 'EUR', key: 'acme-gmbh' }), '2025-12-31T10:00:00.000Z')).toBe(10_000);
  });
});
