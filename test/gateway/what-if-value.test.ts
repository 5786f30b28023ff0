// `policy what-if` over calls a value budget counts: the standings each was decided on (`context.value`)
// are on record with the decision and replayed as they were, so a draft cap on the sum is judged exactly.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditWriter } from '../../src/audit/writer.js';
import type { ToolContract, ValueBudget } from '../../src/config/schema.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { compileDraft, whatIf } from '../../src/gateway/what-if.js';
import type { CallContext } from '../../src/gateway/types.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Connector } from '../../src/tools/connector.js';
import type { ApprovalId, RunId } from '../../src/types.js';
import { ACME_PRINCIPALS, contract, REFUND_BOT, REFUND_DESK, workspace } from '../policy/fixtures.js';

const PAY: ToolContract = contract({
  name: 'payments.pay',
  effect: 'financial',
  risk: 'low',
  inputSchema: {
    type: 'object',
    properties: { payee: { type: 'string' }, amount_cents: { type: 'integer', minimum: 0 }, currency: { type: 'string', enum: ['EUR'] } },
    required: ['payee', 'amount_cents', 'currency'],
    additionalProperties: false,
  },
  expose: { amount_cents: 'long' },
  value: { amount: 'amount_cents', currency: 'currency', key: 'payee' },
});
const BUDGET: ValueBudget = { name: 'payee_daily', tools: ['payments.pay'], per: ['key'], windowMinutes: 1440, limit: 50_000, currency: 'EUR' };
const ALLOW = `@id("bot-pays")\npermit (principal == Airlock::Agent::"refund-bot", action == Airlock::Action::"call", resource == Airlock::Tool::"payments.pay");\n`;
const CAP = `@id("cap-150")\n@reason("no payee gets more than 150 EUR a day")\nforbid (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"payments.pay")\nwhen { context has value && context.value has payee_daily && context.value.payee_daily.wouldBe > 15000 };\n`;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-whatif-value-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('policy what-if with value budgets', () => {
  it('replays each call with the sum it was decided on: a draft cap denies only the calls past it', async () => {
    const ws = workspace({ contracts: [PAY], workflows: [{ ...REFUND_DESK, tools: ['payments.pay'] }], valueBudgets: [BUDGET] });
    const store = await openSqliteStore(path.join(tmp, 'airlock.db'));
    try {
      const connector: Connector = { name: 'payments', call: () => Promise.resolve({ ok: true, content: { paid: true }, text: '{"paid":true}' }), listTools: () => Promise.resolve([]), close: () => Promise.resolve() };
      const now = () => new Date('2026-01-01T10:00:00.000Z');
      // Confidential labels: the payloads (arguments and decision inputs) are keyed with the audit key.
      const audit = new AuditWriter(store, new Uint8Array(32).fill(7), now);
      const policies = compilePolicies([{ file: 'p.cedar', text: ALLOW }], [PAY], { principals: ACME_PRINCIPALS, valueBudgets: [BUDGET] });
      let approvals = 0;
      const gateway = new Gateway({ workspace: ws, policies, store, connectors: { get: () => connector }, audit, now, newApprovalId: () => `apr_${++approvals}` as ApprovalId });
      const ctx = (step: number): CallContext => ({ runId: 'run_1' as RunId, workflow: ws.workflows.get('refund-desk')!, principal: REFUND_BOT, labels: { classification: 'confidential', trust: 'trusted' }, step });
      for (let i = 1; i <= 3; i++) expect((await gateway.propose(ctx(i), { tool: 'payments.pay', args: { payee: 'acme-gmbh', amount_cents: 6_000, currency: 'EUR' } })).kind).toBe('executed');

      const report = await whatIf({ workspace: ws, policies, store, audit }, compileDraft(ws, [{ file: 'draft.cedar', text: ALLOW + CAP }]));
      // Newest first: the third payment would have made 180 EUR, the second 120, the first 60.
      expect(report.rows.map((r) => r.change)).toEqual(['newly-denied', 'same', 'same']);
      expect(report.rows[0]?.draft).toMatchObject({ kind: 'deny', policyIds: ['cap-150'], reasons: ['no payee gets more than 150 EUR a day'] });
      expect(report.summary).toEqual({ same: 2, newlyDenied: 1, newlyAllowed: 0, obligationChanged: 0, notReplayable: 0 });

      // Another audit key cannot vouch for the keyed inputs: not replayable, never guessed.
      const stranger = new AuditWriter(store, new Uint8Array(32).fill(9), now);
      const unverified = await whatIf({ workspace: ws, policies, store, audit: stranger }, compileDraft(ws, [{ file: 'draft.cedar', text: ALLOW + CAP }]));
      expect(unverified.summary.notReplayable).toBe(3);
      expect(unverified.notReplayable[0]?.reason).toMatch(/does not match the hash on record/);
    } finally {
      await store.close();
    }
  });
});
