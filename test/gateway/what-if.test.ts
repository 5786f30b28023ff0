// `policy what-if` on the real Acme demo: recorded proposals rebuilt exactly from the trail and decided
// with a draft policy set and the current one; what cannot be rebuilt exactly is not replayable, with why.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { AirlockError, AirlockErrors } from '../../src/errors.js';
import { rec, recordsOf } from '../../src/audit/records.js';
import type { RunId } from '../../src/types.js';
import { compileDraft, parseLast, whatIf, WHAT_IF_LIMITS } from '../../src/gateway/what-if.js';
import type { PolicySource } from '../../src/policy/compile.js';
import { copyAcme } from '../helpers/workspace.js';

/** A draft that forbids every refund, beside the workspace's own policies. */
export const FORBID_REFUNDS = ['@id("no-refunds")', '@reason("refunds are frozen")', 'forbid (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"payments.refund");', ''].join('\n');

describe('policy what-if', () => {
  let ws: ReturnType<typeof copyAcme>;
  let a: Airlock;
  let own: PolicySource[];

  beforeAll(async () => {
    ws = copyAcme();
    a = await openAirlock(ws.dir);
    const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    expect(run.status).toBe('awaiting-approval');
    own = a.workspace.policySources.map((s) => ({ file: s.file, text: readFileSync(path.join(ws.dir, s.file), 'utf8') }));
  });
  afterAll(async () => {
    await a?.close();
    ws?.cleanup();
  });

  it('records the inputs of each decision as a payload, so the request can be rebuilt', async () => {
    const records = await a.store.readAudit(1, 10_000);
    const decisions = records.filter((r) => r.type === 'action.decision');
    expect(decisions.length).toBeGreaterThan(1);
    for (const d of decisions) {
      const inputs = JSON.parse((await a.store.getPayload(String(d.body['inputsHash']) as never)) ?? 'null') as Record<string, unknown>;
      expect(inputs).toMatchObject({ workflow: 'refund-desk', tier: 'execute-low', roles: ['support-agent'] });
    }
  });

  it('a draft that forbids payments.refund shows the refund as newly denied, the rest the same', async () => {
    const draft = compileDraft(a.workspace, [...own, { file: 'draft/freeze.cedar', text: FORBID_REFUNDS }]);
    const report = await whatIf(a, draft);
    const refund = report.rows.find((r) => r.tool === 'payments.refund');
    expect(refund).toMatchObject({ change: 'newly-denied', principal: 'agent:refund-bot', current: { kind: 'approval', level: 'single', policyIds: ['refund-needs-approval'] }, draft: { kind: 'deny', policyIds: ['no-refunds'] } });
    expect(refund?.draft.reasons).toContain('refunds are frozen');
    expect(report.summary).toMatchObject({ newlyDenied: 1, newlyAllowed: 0, obligationChanged: 0, notReplayable: 0 });
    expect(report.summary.same).toBe(report.examined - 1);
    expect(report.rows.filter((r) => r.change === 'same').every((r) => r.tool !== 'payments.refund')).toBe(true);
    expect(report.stoppedEarly).toBeNull();
    // Newest first.
    expect(report.rows.map((r) => r.seq)).toEqual([...report.rows.map((r) => r.seq)].sort((x, y) => y - x));
  });

  it('a draft identical to the current set decides every request the same', async () => {
    const draft = compileDraft(a.workspace, own);
    expect(draft.policySetHash).toBe(a.policies.policySetHash);
    const report = await whatIf(a, draft);
    expect(report.examined).toBeGreaterThan(1);
    expect(report.summary).toEqual({ same: report.examined, newlyDenied: 0, newlyAllowed: 0, obligationChanged: 0, notReplayable: 0 });
    for (const r of report.rows) expect(r.draft.kind).toBe(r.recorded.kind);
  });

  it('a draft with a syntax error is refused with its file and line; so is one that does not validate', () => {
    const bad = `@id("x")\npermit (principal, action == Airlock::Action::"call", resource)\nwhen { context.workflow == };\n`;
    let err: unknown;
    try {
      compileDraft(a.workspace, [{ file: 'draft/bad.cedar', text: bad }]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AirlockErrors);
    const first = (err as AirlockErrors).errors[0];
    expect(first?.code).toBe('policy');
    expect(first?.location).toMatchObject({ file: 'draft/bad.cedar', line: 3 });
    expect(() => compileDraft(a.workspace, [{ file: 'd.cedar', text: 'permit (principal, action, resource) when { context.nope == 1 };' }])).toThrow(AirlockErrors);
  });

  it('bounds the draft and N', () => {
    expect(() => compileDraft(a.workspace, [{ file: 'big.cedar', text: `// ${'x'.repeat(WHAT_IF_LIMITS.maxDraftBytes)}` }])).toThrow(/at most 262144/);
    expect(() => compileDraft(a.workspace, [{ file: 'empty.cedar', text: '  \n' }])).toThrow(/empty/);
    expect(parseLast(undefined)).toBe(500);
    expect(parseLast('3')).toBe(3);
    for (const bad of ['0', '10001', '-1', '2.5', 'ten', '1e3']) expect(() => parseLast(bad), bad).toThrow(AirlockError);
  });

  it('stops at its time budget and says so', async () => {
    const report = await whatIf(a, compileDraft(a.workspace, own), { budgetMs: -1 });
    expect(report.stoppedEarly).toMatch(/time budget ran out/);
    expect(report.examined).toBe(0);
  });

  it('replays at most N, newest first', async () => {
    const report = await whatIf(a, compileDraft(a.workspace, own), { last: 1 });
    expect(report.examined).toBe(1);
    expect(report.rows[0]?.tool).toBe('payments.refund');
  });

  it('counts what cannot be rebuilt exactly as not replayable, with why: an old record, lost or altered arguments', async () => {
    const records = await a.store.readAudit(1, 10_000);
    const refund = recordsOf(records, 'action.decision').find((r) => r.body.tool === 'payments.refund');
    const intent = recordsOf(records, 'action.intent').find((r) => r.body.tool === 'payments.refund');
    if (!refund || !intent) throw new Error('the demo run made no refund decision');
    const subject = { runId: refund.runId as RunId, principal: a.principal(refund.principal ?? '') };
    const { inputsHash: _, ...legacy } = refund.body;
    // A decision written before inputs were kept.
    await a.audit.append(subject, [rec('action.decision', legacy)]);
    // A decision whose intent's arguments were lost to retention.
    const lostArgs = a.audit.payloadRef({ order_id: 'nope' }, 'internal');
    await a.audit.append(subject, [
      rec('action.intent', { ...intent.body, argsHash: lostArgs.hash, actionHash: 'f'.repeat(64) }),
      rec('action.decision', { ...refund.body, actionHash: 'f'.repeat(64) }),
    ]);
    // A decision whose stored arguments are not those the action hash binds.
    const other = a.audit.payloadRef({ order_id: '1', amount_cents: 1, currency: 'EUR', reason: 'x' }, 'internal');
    await a.audit.append(subject, [rec('action.intent', { ...intent.body, argsHash: other.hash }, [other]), rec('action.decision', refund.body)]);
    const report = await whatIf(a, compileDraft(a.workspace, own), { last: 3 });
    expect(report.summary.notReplayable).toBe(3);
    expect(report.notReplayable.map((n) => n.reason)).toEqual([
      expect.stringMatching(/do not match the action hash/),
      expect.stringMatching(/no longer stored \(retention\)/),
      expect.stringMatching(/recorded before decisions kept their inputs/),
    ]);
  });
});
