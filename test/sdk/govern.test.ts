// governTool through both decision points (in process, and over the HTTP API of a served workspace):
// one suite, run against each implementation, then the two compared value for value and record for record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { governTool, localDecisionPoint, remoteDecisionPoint, type DecisionPoint, type Governed } from '../../src/sdk/index.js';
import type { ApprovalId } from '../../src/types.js';
import { normalizeRecord, sdkFixture, type SdkFixture } from './fixtures.js';

let fx: SdkFixture;

beforeAll(async () => {
  fx = await sdkFixture();
});
afterAll(async () => {
  await fx?.close();
});

const INVOICE = { invoice_id: 'INV-1001', customer_id: 'C-7', amount_cents: 12900 };
const CREDIT = { invoice_id: 'INV-1001', amount_cents: 2500, reason: 'damaged' };

const makers: Record<'local' | 'remote', () => DecisionPoint> = {
  local: () => localDecisionPoint(fx.airlock, { agent: 'agent:billing-bot' }),
  remote: () => remoteDecisionPoint({ url: fx.server.url, token: fx.keys.bot }),
};

/** The app's side: functions that count their calls. */
function app() {
  const calls: { tool: string; args: unknown }[] = [];
  const fn =
    <R>(tool: string, value: R) =>
    (args: Readonly<Record<string, unknown>>) => {
      calls.push({ tool, args });
      return value;
    };
  return { calls, fn };
}

const approve = (id: string) => vote(fx.airlock.approvalDeps, id as ApprovalId, localApprover(fx.airlock.principal('user:robin')), 'approve', 'checked');
const audit = async (dp: DecisionPoint) => (await fx.airlock.store.readAuditForRun(dp.runId!)).map(normalizeRecord);

describe.each(['local', 'remote'] as const)('governTool through the %s decision point', (kind) => {
  let dp: DecisionPoint;
  beforeAll(() => {
    dp = makers[kind]();
  });

  it('a read runs once with the arguments decided, and its outcome is recorded as the caller reported it', async () => {
    const { calls, fn } = app();
    const lookup = governTool(dp, 'app.lookup_invoice', fn('lookup', INVOICE));
    const args = { invoice_id: 'INV-1001' };
    const out = await lookup(args);
    expect(out).toEqual({ ok: true, value: INVOICE });
    expect(calls).toEqual([{ tool: 'lookup', args }]);
    expect(Object.isFrozen(calls[0]!.args)).toBe(true);
    expect(calls[0]!.args).not.toBe(args); // a copy: the caller cannot change it after the decision
    expect(dp.runId).toMatch(/^run_/);
    const records = await audit(dp);
    expect(records[0]).toMatchObject({ type: 'run.started', principal: 'agent:billing-bot' });
    expect(records.slice(-2)).toEqual([
      { type: 'action.authorized', principal: 'agent:billing-bot', tool: 'app.lookup_invoice', executor: 'caller' },
      { type: 'action.executed', principal: 'agent:billing-bot', tool: 'app.lookup_invoice', outcome: 'ok', reportedBy: 'caller' },
    ]);
    const door = (await fx.airlock.store.readAuditForRun(dp.runId!))[0]!.body['door'];
    expect(door).toBe(kind === 'local' ? 'sdk' : 'http-api');
  });

  it('a forbidden call is denied with its policy, and the function never runs', async () => {
    const { calls, fn } = app();
    const del = governTool(dp, 'app.delete_account', fn('delete', { deleted: true }));
    const out = await del({ customer_id: 'C-7' });
    expect(out).toEqual({
      ok: false,
      status: 'denied',
      message: 'denied by Airlock: accounts are deleted by a person in the admin console, never by an agent (policies: no-account-deletion)',
      reasons: ['accounts are deleted by a person in the admin console, never by an agent'],
      policyIds: ['no-account-deletion'],
    });
    expect(calls).toEqual([]);
  });

  it('an undeclared tool is denied by default; a credit above the cap by its policy', async () => {
    const { calls, fn } = app();
    const undeclared = await governTool(dp, 'app.transfer_all', fn('transfer', null))({});
    expect(undeclared).toMatchObject({ ok: false, status: 'denied', policyIds: [] });
    expect((undeclared as { message: string }).message).toMatch(/^denied by Airlock: tool `app.transfer_all` is not declared in the workspace \(deny by default\)$/);
    const big = await governTool(dp, 'app.issue_credit', fn('credit', null))({ ...CREDIT, amount_cents: 50_000 });
    expect(big).toMatchObject({ ok: false, status: 'denied', policyIds: ['credit-cap'] });
    expect(calls).toEqual([]);
  });

  it("arguments that break the contract's schema are invalid; values JSON cannot hold never leave the process", async () => {
    const { calls, fn } = app();
    const credit = governTool(dp, 'app.issue_credit', fn('credit', null));
    const out = await credit({ ...CREDIT, amount_cents: 'lots' });
    expect(out).toMatchObject({ ok: false, status: 'invalid' });
    expect((out as { message: string }).message).toMatch(/^invalid arguments: .*amount_cents.*; fix them and call again$/);
    const notJson = await credit({ ...CREDIT, amount_cents: Number.NaN });
    expect(notJson).toEqual({
      ok: false,
      status: 'invalid',
      message: 'invalid arguments: arguments.amount_cents is NaN, which JSON cannot hold; fix them and call again',
      reasons: ['arguments.amount_cents is NaN, which JSON cannot hold'],
    });
    expect(await dp.authorize('app.issue_credit', [] as never)).toMatchObject({ status: 'invalid', reasons: ['arguments must be a JSON object, got an array'] });
    expect(calls).toEqual([]);
  });

  it('a credit that needs a person waits; once approved the same call runs exactly once', async () => {
    const { calls, fn } = app();
    const credit = governTool(dp, 'app.issue_credit', fn('credit', { credited: 2500 }));
    const first = await credit(CREDIT);
    expect(first).toMatchObject({ ok: false, status: 'pending', reasons: ['credits above 10.00 need one approver'] });
    const approvalId = (first as { approvalId: string }).approvalId;
    expect((first as { message: string }).message).toBe(
      `approval required (single): approval ${approvalId}; call again with the same arguments once approved and it runs once (credits above 10.00 need one approver)`,
    );
    // Asking again before anyone decides is the same approval.
    expect(await credit(CREDIT)).toMatchObject({ status: 'pending', approvalId });
    // A changed amount is a different action: its own approval.
    expect(await credit({ ...CREDIT, amount_cents: 2600 })).not.toMatchObject({ approvalId });
    expect(calls).toEqual([]);

    expect((await approve(approvalId)).kind).toBe('recorded');
    expect(await credit(CREDIT)).toEqual({ ok: true, value: { credited: 2500 } });
    expect(calls).toHaveLength(1);
    // The approval was used: the same call once more needs a new one.
    const again = await credit(CREDIT);
    expect(again).toMatchObject({ status: 'pending' });
    expect((again as { approvalId: string }).approvalId).not.toBe(approvalId);
    expect(calls).toHaveLength(1);
    expect((await fx.airlock.store.getApproval(approvalId as ApprovalId))?.status).toBe('consumed');
  });

  it('a function that throws is reported as an error and the error is re-thrown', async () => {
    const credit = governTool(dp, 'app.issue_credit', () => {
      throw new Error('ledger is read-only');
    });
    await expect(credit({ ...CREDIT, amount_cents: 500 })).rejects.toThrow('ledger is read-only');
    const records = await audit(dp);
    expect(records.at(-1)).toMatchObject({ type: 'action.executed', principal: 'agent:billing-bot', outcome: 'error', reportedBy: 'caller', message: 'ledger is read-only' });
  });

  it('a grant is reported once; a second report is refused', async () => {
    const answer = await dp.authorize('app.lookup_invoice', { invoice_id: 'INV-1002' });
    if (!answer.ok) throw new Error(answer.message);
    expect(answer.grant).toEqual({ runId: dp.runId, actionHash: expect.stringMatching(/^[0-9a-f]{64}$/), approvalId: null });
    expect(await dp.report(answer.grant, { outcome: 'ok', result: { found: false } })).toEqual({ ok: true });
    const twice = await dp.report(answer.grant, { outcome: 'ok' });
    expect(twice).toMatchObject({ ok: false, message: expect.stringMatching(/already reported/) });
    const forged = await dp.report({ ...answer.grant, actionHash: 'a'.repeat(64) }, { outcome: 'ok' });
    expect(forged).toMatchObject({ ok: false, message: expect.stringMatching(/was not authorized/) });
  });

  it('closing ends the run; later calls are refused and nothing runs', async () => {
    const closed = await dp.close();
    expect(closed).toEqual({ runId: dp.runId, status: 'completed' });
    const { calls, fn } = app();
    const out = await governTool(dp, 'app.lookup_invoice', fn('lookup', INVOICE))({ invoice_id: 'INV-1001' });
    expect(out).toEqual({ ok: false, status: 'refused', message: `refused by Airlock: run \`${dp.runId}\` is completed` });
    expect(calls).toEqual([]);
  });
});

describe('the two decision points agree', () => {
  /** One sequence; the values without ids, and the run's audit without ids, times and the door. */
  async function sequence(dp: DecisionPoint) {
    const { fn } = app();
    const results: Governed<unknown>[] = [];
    results.push(await governTool(dp, 'app.lookup_invoice', fn('l', INVOICE))({ invoice_id: 'INV-1001' }));
    results.push(await governTool(dp, 'app.nope', fn('n', null))({}));
    results.push(await governTool(dp, 'app.issue_credit', fn('c', 1))({ ...CREDIT, amount_cents: 'x' }));
    results.push(await governTool(dp, 'app.delete_account', fn('d', null))({ customer_id: 'C-7' }));
    const pending = await governTool(dp, 'app.issue_credit', fn('c', 1))(CREDIT);
    results.push(pending);
    await approve((pending as { approvalId: string }).approvalId);
    results.push(await governTool(dp, 'app.issue_credit', fn('c', 1))(CREDIT));
    await dp.close();
    const strip = (r: Governed<unknown>) =>
      JSON.parse(JSON.stringify(r).replaceAll(/apr_[0-9a-f]+/g, 'apr_X')) as unknown;
    return { results: results.map(strip), audit: await audit(dp) };
  }

  it('the same calls give the same values and the same audit records', async () => {
    const local = await sequence(makers.local());
    const remote = await sequence(makers.remote());
    expect(remote.results).toEqual(local.results);
    expect(remote.audit).toEqual(local.audit);
    expect(local.results.map((r) => (r as { status?: string }).status ?? 'ok')).toEqual(['ok', 'denied', 'invalid', 'denied', 'pending', 'ok']);
  });
});

describe('local decision point', () => {
  it('an undeclared agent, or a workflow it does not drive, is an error at once', () => {
    expect(() => localDecisionPoint(fx.airlock, { agent: 'agent:nobody' })).toThrow(AirlockError);
    expect(() => localDecisionPoint(fx.airlock, { agent: 'user:robin' })).toThrow(/agent of no workflow/);
    expect(() => localDecisionPoint(fx.airlock, { agent: 'agent:billing-bot', workflow: 'nope' })).toThrow(/not declared/);
  });

  it('acting for a person: that person can never approve the action', async () => {
    const dp = localDecisionPoint(fx.airlock, { agent: 'agent:billing-bot', onBehalfOf: 'user:robin' });
    const out = await dp.authorize('app.issue_credit', { ...CREDIT, amount_cents: 3000 });
    expect(out).toMatchObject({ status: 'pending' });
    const refused = await approve((out as { approvalId: string }).approvalId);
    expect(refused).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/acts for `user:robin`/) });
    await dp.close();
  });
});

describe('remote decision point', () => {
  it('a credential the server does not know is refused; the function never runs', async () => {
    const dp = remoteDecisionPoint({ url: `${fx.server.url}/v1`, token: 'alk_not-a-key' });
    const { calls, fn } = app();
    const out = await governTool(dp, 'app.lookup_invoice', fn('l', 1))({ invoice_id: 'INV-1001' });
    expect(out).toMatchObject({ ok: false, status: 'refused' });
    expect((out as { message: string }).message).toMatch(/^refused by Airlock: /);
    expect(calls).toEqual([]);
    expect(dp.runId).toBeNull();
    expect(await dp.close()).toEqual({ runId: null, status: null });
  });

  it('a person is no agent: opening a run is refused', async () => {
    const dp = remoteDecisionPoint({ url: fx.server.url, token: fx.keys.robin });
    expect(await dp.authorize('app.lookup_invoice', { invoice_id: 'INV-1001' })).toEqual({
      ok: false,
      status: 'refused',
      message: 'refused by Airlock: `user:robin` is the agent of no workflow',
    });
  });

  it('a server that cannot be reached is an error: fail closed', async () => {
    const dp = remoteDecisionPoint({
      url: 'http://127.0.0.1:9',
      token: fx.keys.bot,
      fetch: () => Promise.reject(new TypeError('fetch failed')),
    });
    const { calls, fn } = app();
    const out = await governTool(dp, 'app.lookup_invoice', fn('l', 1))({ invoice_id: 'INV-1001' });
    expect(out).toEqual({
      ok: false,
      status: 'error',
      message: 'Airlock could not decide, so nothing was executed: cannot reach http://127.0.0.1:9/v1: fetch failed',
    });
    expect(calls).toEqual([]);
  });

  it('a server fault is an error, never an allow', async () => {
    const answers = [
      new Response(JSON.stringify({ runId: 'run_x', workflow: 'billing-desk', tier: 'execute-low', tools: [] }), { status: 201 }),
      new Response(JSON.stringify({ error: 'internal error' }), { status: 500 }),
      new Response('<html>proxy</html>', { status: 200 }),
    ];
    const dp = remoteDecisionPoint({ url: 'http://airlock.test', token: 'x', fetch: () => Promise.resolve(answers.shift()!) });
    expect(await dp.authorize('app.lookup_invoice', {})).toMatchObject({ ok: false, status: 'error', message: expect.stringMatching(/internal error \(HTTP 500\)/) });
    expect(await dp.authorize('app.lookup_invoice', {})).toMatchObject({ ok: false, status: 'error' });
  });
});

describe('the outcome of a repeated action', () => {
  // Each authorization covers one execution: the same read twice in one run is reported twice.
  it('the same read twice in one run: both outcomes are recorded', async () => {
    const dp = makers.local();
    const lookup = governTool(dp, 'app.lookup_invoice', () => INVOICE);
    expect(await lookup({ invoice_id: 'INV-1001' })).toEqual({ ok: true, value: INVOICE });
    expect(await lookup({ invoice_id: 'INV-1001' })).toEqual({ ok: true, value: INVOICE });
    const executed = (await fx.airlock.store.readAuditForRun(dp.runId!)).filter((r) => r.type === 'action.executed' && r.body['reportedBy'] === 'caller');
    expect(executed).toHaveLength(2);
  });
});
