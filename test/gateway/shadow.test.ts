// The shadow policy set on the real Acme demo: a draft that forbids refunds, set as the shadow, changes
// nothing that is enforced (the refund still waits for a person, the trail is record for record what it
// is without a shadow) while every decision carries the shadow's verdict (the refund: `deny`, differing).
// A shadow set by one Airlock applies in another open on the same workspace; clearing it stops the
// verdicts; a shadow that cannot decide records its error and never fails the call.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { isRecord } from '../../src/audit/records.js';
import { verifyStore } from '../../src/audit/log.js';
import { localApprover } from '../../src/gateway/approvals/vote.js';
import { clearShadow, startShadow } from '../../src/gateway/policy-lifecycle.js';
import { shadowReport } from '../../src/gateway/shadow-report.js';
import type { PolicySource } from '../../src/policy/compile.js';
import type { AuditRecord } from '../../src/store/store.js';
import { copyAcme, groundTruth } from '../helpers/workspace.js';

const FREEZE = '@id("no-refunds")\n@reason("refunds are frozen")\nforbid (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"payments.refund");\n';

/** The workspace's own policies plus the freeze: a draft that differs only on refunds. */
function freezeDraft(dir: string): PolicySource[] {
  const folder = path.join(dir, 'policies');
  const own = readdirSync(folder)
    .filter((f) => f.endsWith('.cedar'))
    .sort()
    .map((f) => ({ file: `policies/${f}`, text: readFileSync(path.join(folder, f), 'utf8') }));
  return [...own, { file: 'drafts/no-refunds.cedar', text: FREEZE }];
}

const types = (records: readonly AuditRecord[]): string[] => records.map((r) => r.type);

describe('the shadow policy set on the demo', () => {
  let ws: ReturnType<typeof copyAcme>;
  let plain: ReturnType<typeof copyAcme>;
  let a: Airlock;
  let b: Airlock;
  const dana = () => localApprover(a.principal('user:dana'));

  beforeAll(async () => {
    ws = copyAcme();
    plain = copyAcme();
    a = await openAirlock(ws.dir);
    // Another instance on the same workspace, open before the shadow is set.
    b = await openAirlock(ws.dir);
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
    ws?.cleanup();
    plain?.cleanup();
  });

  it('enforces nothing: the refund still waits for a person, record for record as without a shadow, and the trail holds the shadow’s deny', async () => {
    // The same run with no shadow, on a copy of its own: what "as before" means.
    const base = await openAirlock(plain.dir);
    let baseline: AuditRecord[];
    try {
      const run = await base.runner.start('refund-desk', { ticket_id: 'T-311' });
      expect(run.status).toBe('awaiting-approval');
      baseline = [...(await base.store.readAuditForRun(run.id))];
    } finally {
      await base.close();
    }

    const started = await startShadow(a, dana(), freezeDraft(ws.dir), 'freeze refunds while finance reconciles');
    expect(started.kind).toBe('started');
    const before = groundTruth(ws.acmeDb);
    const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    expect(run.status).toBe('awaiting-approval');
    expect((await a.store.listApprovals({ runId: run.id, status: 'pending' })).map((x) => x.tool)).toEqual(['payments.refund']);
    expect(groundTruth(ws.acmeDb)).toEqual(before);

    const trail = await a.store.readAuditForRun(run.id);
    expect(types(trail.filter((r) => r.type !== 'policy.shadow'))).toEqual(types(baseline));
    // Every decision carries the shadow's verdict right after it, in the same append.
    const decisions = trail.filter((r) => isRecord(r, 'action.decision'));
    const verdicts = trail.filter((r) => isRecord(r, 'policy.shadow'));
    expect(verdicts).toHaveLength(decisions.length);
    for (const d of decisions) expect(trail.find((r) => r.seq === d.seq + 1)?.type).toBe('policy.shadow');
    const refund = verdicts.find((r) => r.body['tool'] === 'payments.refund');
    expect(refund?.body).toMatchObject({ decision: 'deny', enforced: 'approval', change: 'newly-denied', differs: true, policyIds: ['no-refunds'], shadowId: started.event.id });
    expect(verdicts.filter((r) => r.body['tool'] !== 'payments.refund').every((r) => r.body['differs'] === false)).toBe(true);
    expect((await verifyStore(a.store)).ok).toBe(true);
  }, 60_000);

  it('applies in another instance on the same workspace, and stops when cleared', async () => {
    const run = await b.runner.start('refund-desk', { ticket_id: 'T-324' });
    expect(run.status).toBe('awaiting-approval');
    const verdicts = (await b.store.readAuditForRun(run.id)).filter((r) => isRecord(r, 'policy.shadow'));
    expect(verdicts.find((r) => r.body['tool'] === 'payments.refund')?.body).toMatchObject({ decision: 'deny', differs: true });

    expect(await clearShadow(a, dana(), 'reconciled')).not.toBeNull();
    const after = await b.runner.start('refund-desk', { ticket_id: 'T-324' });
    expect((await b.store.readAuditForRun(after.id)).some((r) => r.type === 'policy.shadow')).toBe(false);
    expect(await clearShadow(a, dana(), undefined)).toBeNull();
  }, 60_000);

  it('reports what the shadow would have changed since it started', async () => {
    const report = await shadowReport(a.store);
    expect(report.active).toBe(false);
    expect(report.counts.newlyDenied).toBe(2);
    expect(report.counts.newlyAllowed + report.counts.obligationChanged + report.counts.errors).toBe(0);
    expect(report.counts.same).toBeGreaterThan(0);
    expect(report.examples.newlyDenied.map((x) => [x.tool, x.enforced, x.shadow])).toEqual([
      ['payments.refund', 'approval (single)', 'deny'],
      ['payments.refund', 'approval (single)', 'deny'],
    ]);
  });

  it('records a shadow that cannot decide as an error, and the call goes on as enforced', async () => {
    // A shadow stored by a workspace whose contracts differ: its policy reads an argument this one's tools lack.
    const bad = 'permit (principal, action == Airlock::Action::"call", resource) when { context.args.ghost == 1 };\n';
    const head = await a.store.latestPolicyEvent('shadow');
    expect(await a.store.addPolicyEvent({ id: 'pol_bad', kind: 'shadow-started', policySetHash: 'f'.repeat(64), files: [{ file: 'x.cedar', text: bad }], policies: 1, by: 'user:dana', message: 'elsewhere', at: new Date().toISOString() }, head?.id ?? null)).toBeNull();
    const run = await b.runner.start('refund-desk', { ticket_id: 'T-311' });
    expect(run.status).toBe('awaiting-approval');
    const verdicts = (await b.store.readAuditForRun(run.id)).filter((r) => isRecord(r, 'policy.shadow'));
    expect(verdicts.length).toBeGreaterThan(0);
    expect(verdicts.every((r) => r.body['change'] === 'error' && r.body['differs'] === false && /does not compile/.test(String(r.body['error'])))).toBe(true);
    expect((await shadowReport(b.store)).counts.errors).toBe(verdicts.length);
  }, 60_000);
});

