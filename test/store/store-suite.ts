// The shared Store suite: every implementation (SQLite now, PostgreSQL later) must pass it unchanged.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainHash, GENESIS_HASH, leafHash } from '../../src/audit/chain.js';
import { verifyChain } from '../../src/audit/chain-verifier.js';
import { AirlockError } from '../../src/errors.js';
import type { ApprovalRecord, ApprovalVote, AuditDraft, AuditRecord, DeliveryRecord, GrantRecord, HaltRecord, IncidentRecord, InstanceLease, NotificationRecord, PilotEvent, PolicySetEvent, RunRecord, Store, StoredCheckpoint, ValueEntry } from '../../src/store/store.js';
import type { ApprovalId, Json, RunId, Sha256Hex } from '../../src/types.js';
import { sha256Hex } from '../../src/util/hash.js';

/** Makes a fresh, empty store for one test. The suite closes it. */
export type StoreFactory = () => Promise<Store>;

/** A draft with sensible defaults; `body.i` tells drafts apart. */
export function draft(i: number, over: Partial<AuditDraft> = {}): AuditDraft {
  return {
    type: 'action.intent',
    time: `2025-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`,
    runId: 'run_1',
    principal: 'agent:refund-bot',
    onBehalfOf: null,
    body: { i, tool: 'payments.refund', nested: { b: [1, 'two', null, true], a: 'é ✓' } },
    ...over,
  };
}

/** A run record with sensible defaults. */
export function run(id: string, over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: id as RunId,
    workflow: 'refund-desk',
    status: 'running',
    version: 1,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    state: { step: 0, messages: [{ role: 'user', text: 'refund 40 EUR' }] },
    ...over,
  };
}

/** A pending approval with sensible defaults. */
export function approval(id: string, over: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: id as ApprovalId,
    runId: 'run_1' as RunId,
    actionHash: 'a'.repeat(64) as Sha256Hex,
    tool: 'payments.refund',
    requester: 'agent:refund-bot',
    level: 'single',
    status: 'pending',
    createdAt: '2025-01-01T00:00:00.000Z',
    expiresAt: '2025-01-01T01:00:00.000Z',
    summary: { tool: 'payments.refund', args: { order_id: '1182', amount_cents: 4000 } },
    decisions: [],
    workflow: 'refund-desk',
    assignee: null,
    escalations: 0,
    escalateAt: null,
    editedFrom: null,
    editedBy: null,
    supersededBy: null,
    consumedAt: null,
    ...over,
  };
}

/** A vote with how its approver authenticated. */
function ballot(approver: string, decision: 'approve' | 'reject', reason: string | null): ApprovalVote {
  return { approver, decision, reason, time: '2025-01-01T00:10:00.000Z', issuer: 'local:test', subject: 'tester', authMethod: 'local', authTime: null, summaryHash: 'b'.repeat(64) };
}

/** An active standing grant with sensible defaults. */
export function grant(id: string, over: Partial<GrantRecord> = {}): GrantRecord {
  return {
    id,
    workflow: 'refund-desk',
    tool: 'payments.refund',
    bounds: { amount_cents: { max: 2000 }, currency: { equals: 'EUR' } },
    grantor: 'user:dana',
    grantorAuth: { issuer: 'local', subject: 'dana', method: 'local', authTime: null },
    reason: 'clear the refund backlog',
    createdAt: '2025-01-01T00:00:00.000Z',
    expiresAt: '2025-01-01T01:00:00.000Z',
    maxUses: 3,
    uses: 0,
    status: 'active',
    policyIds: ['grant-small-refunds'],
    ...over,
  };
}

/** A pending notification with sensible defaults. */
export function notification(id: string, over: Partial<NotificationRecord> = {}): NotificationRecord {
  return {
    id,
    webhook: 'approvals-channel',
    event: 'approval.requested',
    body: JSON.stringify({ id, type: 'approval.requested', data: { approvalId: 'apr_1' } }),
    createdAt: '2025-01-01T00:00:00.000Z',
    status: 'pending',
    attempts: 0,
    nextAttemptAt: '2025-01-01T00:00:00.000Z',
    lastError: null,
    ...over,
  };
}

/** A failed delivery attempt with sensible defaults. */
export function delivery(notificationId: string, attempt: number, over: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    notificationId,
    webhook: 'approvals-channel',
    attempt,
    time: '2025-01-01T00:00:00.000Z',
    ok: false,
    httpStatus: 500,
    error: 'the receiver answered HTTP 500',
    durationMs: 12,
    ...over,
  };
}

async function allAudit(store: Store): Promise<AuditRecord[]> {
  return [...(await store.readAudit(1, 1_000_000))];
}

/** The AirlockError `p` rejects with (fails the test if it resolves or rejects with anything else). */
export async function rejection(p: Promise<unknown>): Promise<AirlockError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockError);
    return e as AirlockError;
  }
  throw new Error('expected the promise to reject');
}

/** An open incident with sensible defaults. */
export function incident(id: string, over: Partial<IncidentRecord> = {}): IncidentRecord {
  return {
    id,
    runId: 'run_1' as RunId,
    kind: 'rollback-failed',
    key: 'effect-12',
    title: 'rollback of run run_1 stopped at step 2',
    evidence: { effectSeq: 12, tool: 'mail.draft', detail: 'connector `mail` crashed' },
    boundary: 'platform',
    owner: 'ops-team@acme.example',
    status: 'open',
    createdAt: '2025-01-01T00:00:00.000Z',
    resolvedAt: null,
    resolvedBy: null,
    resolution: null,
    ...over,
  };
}

/** An active halt with sensible defaults. */
export function halt(id: string, over: Partial<HaltRecord> = {}): HaltRecord {
  return {
    id,
    scope: 'workflow:refund-desk',
    reason: 'refunds going to the wrong orders',
    stoppedBy: 'user:dana',
    stoppedAt: '2025-01-01T00:00:00.000Z',
    status: 'active',
    liftedBy: null,
    liftedAt: null,
    liftReason: null,
    ...over,
  };
}

/** Registers the whole Store contract as a vitest suite against `factory`. */
export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('audit', () => {
      it('starts empty', async () => {
        expect(await store.auditHead()).toBeNull();
        expect(await store.readAudit(1, 10)).toEqual([]);
        expect(await store.appendAudit([])).toEqual([]);
      });

      it('assigns seq from 1 and chains each record to the one before', async () => {
        const recs = await store.appendAudit([draft(1), draft(2), draft(3)]);
        expect(recs.map((r) => r.seq)).toEqual([1, 2, 3]);
        expect(recs[0]?.prevHash).toBe(GENESIS_HASH);
        for (const [i, r] of recs.entries()) {
          expect(r.schemaVersion).toBe(1);
          expect(r.leafHash).toBe(leafHash(r));
          expect(r.chainHash).toBe(chainHash(r.prevHash, r.leafHash));
          if (i > 0) expect(r.prevHash).toBe(recs[i - 1]?.chainHash);
        }
        expect(await store.auditHead()).toEqual({ seq: 3, chainHash: recs[2]?.chainHash });
      });

      it('reads back exactly what append returned, in slices', async () => {
        const a = await store.appendAudit([draft(1), draft(2, { runId: null, principal: null, onBehalfOf: 'user:lena' })]);
        const b = await store.appendAudit([draft(3, { type: 'run.finished', body: {} })]);
        const all = [...a, ...b];
        expect(await allAudit(store)).toEqual(all);
        expect(await store.readAudit(2, 1)).toEqual([all[1]]);
        expect(await store.readAudit(3, 10)).toEqual([all[2]]);
        expect(await store.readAudit(4, 10)).toEqual([]);
      });

      it('reads the records of one run, in order, and none of the others', async () => {
        await store.appendAudit([draft(1, { runId: 'run_a' }), draft(2, { runId: 'run_b' })]);
        await store.appendAudit([draft(3, { runId: null }), draft(4, { runId: 'run_a' })]);
        const a = await store.readAuditForRun('run_a');
        expect(a.map((r) => r.seq)).toEqual([1, 4]);
        expect(a).toEqual((await allAudit(store)).filter((r) => r.runId === 'run_a'));
        expect(await store.readAuditForRun('run_none')).toEqual([]);
      });

      it('continues the chain across calls and verifies', async () => {
        for (let i = 0; i < 5; i++) await store.appendAudit([draft(i), draft(i + 100)]);
        const verdict = await verifyChain(await allAudit(store));
        expect(verdict).toEqual({ ok: true, count: 10, head: await store.auditHead() });
      });

      it('group-commits 200 concurrent callers: gapless, each caller contiguous and in order', async () => {
        const calls = Array.from({ length: 200 }, (_, c) =>
          store.appendAudit([draft(c, { body: { caller: c, part: 0 } }), draft(c, { body: { caller: c, part: 1 } })]),
        );
        const results = await Promise.all(calls);
        for (const [c, recs] of results.entries()) {
          expect(recs.map((r) => r.body)).toEqual([
            { caller: c, part: 0 },
            { caller: c, part: 1 },
          ]);
          expect((recs[1]?.seq ?? 0) - (recs[0]?.seq ?? 0)).toBe(1);
        }
        const all = await allAudit(store);
        expect(all.map((r) => r.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
        expect((await verifyChain(all)).ok).toBe(true);
      });

      it('rejects a draft with no JSON form without failing the callers beside it', async () => {
        const good = store.appendAudit([draft(1)]);
        const bad = store.appendAudit([draft(2, { body: { amount: Number.NaN } })]);
        const err = await rejection(bad);
        expect(err.code).toBe('input');
        expect((await good).map((r) => r.seq)).toEqual([1]);
        expect(await store.auditHead()).toMatchObject({ seq: 1 });
      });

      it('keeps payloads apart, by hash; retention deletes them and the chain still verifies', async () => {
        const data = JSON.stringify({ order_id: '1182', amount_cents: 4000 });
        const hash = sha256Hex(data);
        await store.appendAudit([{ ...draft(1, { body: { argsHash: hash } }), payloads: [{ hash, data }] }]);
        // The same payload referenced again is stored once, without error.
        await store.appendAudit([{ ...draft(2, { body: { argsHash: hash } }), payloads: [{ hash, data }] }]);
        expect(await store.getPayload(hash)).toBe(data);
        expect(await store.getPayload('f'.repeat(64) as Sha256Hex)).toBeNull();
        await store.deletePayload(hash);
        expect(await store.getPayload(hash)).toBeNull();
        await store.deletePayload(hash); // idempotent
        expect((await verifyChain(await allAudit(store))).ok).toBe(true);
      });

      it('commits appends already accepted before close resolves', async () => {
        const pending = store.appendAudit([draft(1)]);
        await store.close();
        expect((await pending).map((r) => r.seq)).toEqual([1]);
        store = await factory(); // afterEach closes this one
      });
    });

    describe('runs', () => {
      it('lists run summaries without their state: who they act for and their model cost; by ids too', async () => {
        await store.createRun(run('run_a', { status: 'verified', createdAt: '2025-01-01T00:00:01.000Z', state: { onBehalfOf: 'user:lena', usage: { costMicros: 1500, currency: 'EUR' }, history: ['x'] } }));
        await store.createRun(run('run_b', { createdAt: '2025-01-01T00:00:02.000Z', state: { history: [] } }));
        await store.createRun(run('run_c', { workflow: 'other', createdAt: '2025-01-01T00:00:03.000Z' }));
        expect(await store.listRunSummaries({ workflow: 'refund-desk' })).toEqual([
          { id: 'run_b', workflow: 'refund-desk', status: 'running', createdAt: '2025-01-01T00:00:02.000Z', updatedAt: '2025-01-01T00:00:00.000Z', onBehalfOf: null, costMicros: 0, currency: null },
          { id: 'run_a', workflow: 'refund-desk', status: 'verified', createdAt: '2025-01-01T00:00:01.000Z', updatedAt: '2025-01-01T00:00:00.000Z', onBehalfOf: 'user:lena', costMicros: 1500, currency: 'EUR' },
        ]);
        expect((await store.listRunSummaries({ ids: ['run_c', 'run_a', 'run_missing'] })).map((r) => r.id)).toEqual(['run_c', 'run_a']);
        expect((await store.listRuns({ ids: ['run_b'] })).map((r) => r.id)).toEqual(['run_b']);
      });

      it('lists the approvals and incidents of a set of runs in one query, bounded', async () => {
        await store.createApproval(approval('apr_1', { runId: 'run_1' as RunId }));
        await store.createApproval(approval('apr_2', { runId: 'run_2' as RunId }));
        await store.createApproval(approval('apr_3', { runId: 'run_3' as RunId }));
        expect((await store.listApprovals({ runIds: ['run_1', 'run_3'] as RunId[] })).map((a) => a.id)).toEqual(['apr_1', 'apr_3']);
        expect(await store.listApprovals({ runIds: [] })).toEqual([]);
        expect(await store.listIncidents({ runIds: ['run_1' as RunId] })).toEqual([]);
        expect((await rejection(store.listApprovals({ runIds: Array.from({ length: 1001 }, (_, i) => `run_${i}` as RunId) }))).code).toBe('input');
      });

      it('round-trips a run', async () => {
        const r = run('run_a');
        await store.createRun(r);
        expect(await store.getRun(r.id)).toEqual(r);
        expect(await store.getRun('run_missing' as RunId)).toBeNull();
      });

      it('refuses a second run with the same id', async () => {
        await store.createRun(run('run_a'));
        expect((await rejection(store.createRun(run('run_a')))).code).toBe('conflict');
      });

      it('creates a run with the records that say it started, or neither when the id is taken', async () => {
        const recs = await store.createRun(run('run_a'), [draft(1, { runId: 'run_a', type: 'run.started' })]);
        expect(recs.map((r) => [r.seq, r.type])).toEqual([[1, 'run.started']]);
        const taken = await rejection(store.createRun(run('run_a', { workflow: 'other' }), [draft(2, { runId: 'run_a', type: 'run.started' })]));
        expect(taken.code).toBe('conflict');
        expect((await allAudit(store)).map((r) => r.type)).toEqual(['run.started']);
        expect((await store.getRun('run_a' as RunId))?.workflow).toBe(run('run_a').workflow);
        expect((await verifyChain(await allAudit(store))).ok).toBe(true);
      });

      it('saves only on the next version (compare-and-set)', async () => {
        await store.createRun(run('run_a'));
        const next = run('run_a', { version: 2, status: 'awaiting-approval', state: { step: 1 }, updatedAt: '2025-01-01T00:01:00.000Z' });
        await store.saveRun(next);
        expect(await store.getRun(next.id)).toEqual(next);
        const stale = await rejection(store.saveRun(run('run_a', { version: 2 })));
        expect(stale.code).toBe('conflict');
        expect(stale.hint).toBeTruthy();
        expect((await rejection(store.saveRun(run('run_nope', { version: 2 })))).code).toBe('not-found');
      });

      it('saves a run with its audit records together, or neither when the save is refused', async () => {
        await store.createRun(run('run_a'));
        const next = run('run_a', { version: 2, status: 'completed' });
        const recs = await store.saveRunWithAudit(next, [draft(1, { runId: 'run_a', type: 'run.status' }), draft(2, { runId: 'run_a', type: 'run.finished' })]);
        expect(recs.map((r) => r.type)).toEqual(['run.status', 'run.finished']);
        expect((await store.getRun('run_a' as RunId))?.status).toBe('completed');
        // A stale version: the save is refused and its records are not written.
        const stale = await rejection(store.saveRunWithAudit(run('run_a', { version: 2, status: 'failed' }), [draft(3, { runId: 'run_a', type: 'run.status' })]));
        expect(stale.code).toBe('conflict');
        expect((await allAudit(store)).map((r) => r.type)).toEqual(['run.status', 'run.finished']);
        expect((await store.getRun('run_a' as RunId))?.status).toBe('completed');
      });

      it('appends steps beside a run with its save, none when the save is refused, and lists them in order', async () => {
        await store.createRun(run('run_a'));
        await store.createRun(run('run_b'));
        const step = (n: number): { n: number; item: Json } => ({ n, item: { kind: 'tool_call', id: `c${n}`, args: { n } } });
        await store.saveRunWithAudit(run('run_a', { version: 2 }), [], { steps: [step(1), step(2)] });
        await store.saveRunWithAudit(run('run_b', { version: 2 }), [], { steps: [step(1)] });
        await store.saveRunWithAudit(run('run_a', { version: 3 }), [draft(1, { runId: 'run_a' })], { steps: [step(3), step(4)] });
        // A stale save writes neither its steps nor its records.
        const stale = await rejection(store.saveRunWithAudit(run('run_a', { version: 3 }), [draft(2, { runId: 'run_a' })], { steps: [step(5)] }));
        expect(stale.code).toBe('conflict');
        expect((await store.listRunSteps('run_a' as RunId)).map((s) => s.n)).toEqual([1, 2, 3, 4]);
        expect((await store.listRunSteps('run_a' as RunId))[3]).toEqual(step(4));
        expect((await store.listRunSteps('run_b' as RunId)).map((s) => s.n)).toEqual([1]);
        // The last `limit` before `before`, still oldest first.
        expect((await store.listRunSteps('run_a' as RunId, { limit: 2 })).map((s) => s.n)).toEqual([3, 4]);
        expect((await store.listRunSteps('run_a' as RunId, { before: 4, limit: 2 })).map((s) => s.n)).toEqual([2, 3]);
        expect(await store.listRunSteps('run_nope' as RunId)).toEqual([]);
        expect((await allAudit(store)).map((r) => r.runId)).toEqual(['run_a']);
      });

      it('adds model usage to daily sums per scope and currency with the save, none when the save is refused', async () => {
        await store.createRun(run('run_a'));
        const turn = (day: string, currency: string, cost: number) => ({ scopes: ['workflow:w', 'route:r'], day, currency, modelCalls: 1, inputTokens: 100, outputTokens: 10, costMicros: cost, toolCalls: 3 });
        await store.saveRunWithAudit(run('run_a', { version: 2 }), [], { usage: [turn('2026-12-05', 'USD', 5), turn('2026-12-06', 'USD', 7)] });
        await store.saveRunWithAudit(run('run_a', { version: 3 }), [], { usage: [turn('2026-12-06', 'USD', 7), turn('2026-12-06', 'EUR', 1)] });
        expect((await rejection(store.saveRunWithAudit(run('run_a', { version: 3 }), [], { usage: [turn('2026-12-06', 'USD', 1_000)] }))).code).toBe('conflict');
        expect(await store.usageSince('2026-12-06', ['workflow:w'])).toEqual([
          { scope: 'workflow:w', day: '2026-12-06', currency: 'EUR', modelCalls: 1, inputTokens: 100, outputTokens: 10, costMicros: 1, toolCalls: 3 },
          { scope: 'workflow:w', day: '2026-12-06', currency: 'USD', modelCalls: 2, inputTokens: 200, outputTokens: 20, costMicros: 14, toolCalls: 6 },
        ]);
        expect((await store.usageSince('2026-12-01')).map((r) => `${r.day} ${r.scope} ${r.currency}`)).toEqual([
          '2026-12-05 route:r USD',
          '2026-12-05 workflow:w USD',
          '2026-12-06 route:r EUR',
          '2026-12-06 route:r USD',
          '2026-12-06 workflow:w EUR',
          '2026-12-06 workflow:w USD',
        ]);
      });

      it('refuses a step numbered twice, and the save it came with, without failing the callers beside it', async () => {
        await store.createRun(run('run_a'));
        await store.createRun(run('run_b'));
        await store.saveRunWithAudit(run('run_a', { version: 2 }), [], { steps: [{ n: 1, item: 'first' }] });
        const [dup, other] = await Promise.allSettled([
          store.saveRunWithAudit(run('run_a', { version: 3, status: 'completed' }), [draft(1, { runId: 'run_a' })], { steps: [{ n: 1, item: 'again' }] }),
          store.saveRunWithAudit(run('run_b', { version: 2 }), [draft(2, { runId: 'run_b' })], { steps: [{ n: 1, item: 'b' }] }),
        ]);
        expect(dup.status).toBe('rejected');
        expect(other.status).toBe('fulfilled');
        expect(await store.listRunSteps('run_a' as RunId)).toEqual([{ n: 1, item: 'first' }]);
        expect((await store.getRun('run_a' as RunId))?.version).toBe(2);
        expect((await allAudit(store)).map((r) => r.runId)).toEqual(['run_b']);
      });

      it('lets exactly one of concurrent saves of the same version win', async () => {
        await store.createRun(run('run_a'));
        const saves = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => store.saveRun(run('run_a', { version: 2, state: { by: i } }))),
        );
        expect(saves.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
        expect((await store.getRun('run_a' as RunId))?.version).toBe(2);
      });

      it('refuses a save whose state has no JSON form without failing the callers beside it', async () => {
        await store.createRun(run('run_a'));
        await store.createRun(run('run_b'));
        let deep: Json = 1;
        for (let i = 0; i < 50_000; i++) deep = { a: deep };
        const bad = store.saveRun(run('run_a', { version: 2, state: { history: [deep] } }));
        const good = store.saveRun(run('run_b', { version: 2, state: { ok: true } }));
        const appended = store.appendAudit([draft(1)]);
        expect((await rejection(bad)).code).toBe('input');
        await good;
        expect(await appended).toHaveLength(1);
        expect((await store.getRun('run_a' as RunId))?.version).toBe(1);
        expect((await store.getRun('run_b' as RunId))?.state).toEqual({ ok: true });
      });

      it('lists runs newest first, by status, with a limit', async () => {
        await store.createRun(run('run_1', { createdAt: '2025-01-01T00:00:01.000Z' }));
        await store.createRun(run('run_2', { createdAt: '2025-01-01T00:00:02.000Z', status: 'completed' }));
        await store.createRun(run('run_3', { createdAt: '2025-01-01T00:00:03.000Z' }));
        expect((await store.listRuns()).map((r) => r.id)).toEqual(['run_3', 'run_2', 'run_1']);
        expect((await store.listRuns({ status: 'running' })).map((r) => r.id)).toEqual(['run_3', 'run_1']);
        expect((await store.listRuns({ limit: 1 })).map((r) => r.id)).toEqual(['run_3']);
        expect(await store.listRuns({ status: 'failed' })).toEqual([]);
      });

      it('filters runs by workflow, principal (agent or the person acted for), time, and pages after a run, all in one query', async () => {
        const at = (s: number) => `2025-01-0${s}T10:00:00.000Z`;
        // As runs store them: the agent by id, the person acted for as a ref.
        await store.createRun(run('run_a', { createdAt: at(1), state: { agent: 'bot', onBehalfOf: 'user:lena' } }));
        await store.createRun(run('run_b', { createdAt: at(2), workflow: 'invoices', state: { agent: 'bot', onBehalfOf: 'user:omar' } }));
        await store.createRun(run('run_c', { createdAt: at(3), status: 'completed', state: { agent: 'other' } }));
        await store.createRun(run('run_d', { createdAt: at(3), state: { agent: 'bot' } }));
        const ids = async (q: Parameters<Store['listRuns']>[0]) => (await store.listRuns(q)).map((r) => r.id);
        expect(await ids({ workflow: 'invoices' })).toEqual(['run_b']);
        expect(await ids({ principal: 'agent:bot' })).toEqual(['run_d', 'run_b', 'run_a']);
        expect(await ids({ principal: 'user:lena' })).toEqual(['run_a']);
        expect(await ids({ principal: 'user:nobody' })).toEqual([]);
        expect(await ids({ principal: 'bot' })).toEqual([]); // a bare id is no ref
        expect(await ids({ principal: 'user:bot' })).toEqual([]);
        // `until` on its own length: a day includes all of it.
        expect(await ids({ since: '2025-01-02', until: '2025-01-02' })).toEqual(['run_b']);
        expect(await ids({ until: '2025-01-03' })).toEqual(['run_d', 'run_c', 'run_b', 'run_a']);
        expect(await ids({ since: '2025-01-03T00:00:00.000Z' })).toEqual(['run_d', 'run_c']);
        expect(await ids({ status: 'running', principal: 'agent:bot', workflow: 'refund-desk' })).toEqual(['run_d', 'run_a']);
        // Paging: same time, smaller id comes after; then older.
        expect(await ids({ after: { createdAt: at(3), id: 'run_d' }, limit: 2 })).toEqual(['run_c', 'run_b']);
        expect(await ids({ after: { createdAt: at(2), id: 'run_b' } })).toEqual(['run_a']);
        // A filter value is data, never SQL.
        expect(await ids({ workflow: "x' OR '1'='1" })).toEqual([]);
      });
    });

    describe('approvals', () => {
      it('round-trips and lists approvals oldest first, by status and run', async () => {
        const a1 = approval('apr_1');
        const a2 = approval('apr_2', { runId: 'run_2' as RunId, createdAt: '2025-01-01T00:00:05.000Z', level: 'step-up' });
        const a3 = approval('apr_3', { status: 'expired', createdAt: '2025-01-01T00:00:09.000Z' });
        for (const a of [a3, a2, a1]) await store.createApproval(a);
        expect(await store.getApproval(a2.id)).toEqual(a2);
        expect(await store.getApproval('apr_missing' as ApprovalId)).toBeNull();
        expect((await store.listApprovals()).map((a) => a.id)).toEqual(['apr_1', 'apr_2', 'apr_3']);
        expect((await store.listApprovals({ status: 'pending' })).map((a) => a.id)).toEqual(['apr_1', 'apr_2']);
        expect((await store.listApprovals({ runId: 'run_1' as RunId })).map((a) => a.id)).toEqual(['apr_1', 'apr_3']);
        expect(
          (await store.listApprovals({ runId: 'run_1' as RunId, status: 'pending' })).map((a) => a.id),
        ).toEqual(['apr_1']);
        expect((await rejection(store.createApproval(a1))).code).toBe('conflict');
      });

      it('pages approvals newest first, by status, decided or run, each page after the last of the one before', async () => {
        // Two created at one instant (the id breaks the tie), a decided one in between, another run's at the end.
        const made = [
          approval('apr_a', { createdAt: '2025-01-01T00:00:01.000Z' }),
          approval('apr_b', { createdAt: '2025-01-01T00:00:02.000Z', status: 'approved' }),
          approval('apr_c', { createdAt: '2025-01-01T00:00:03.000Z' }),
          approval('apr_d', { createdAt: '2025-01-01T00:00:03.000Z' }),
          approval('apr_e', { createdAt: '2025-01-01T00:00:04.000Z', status: 'rejected', runId: 'run_2' as RunId }),
        ];
        for (const a of made) await store.createApproval(a);
        const ids = (list: readonly ApprovalRecord[]) => list.map((a) => a.id);
        expect(ids(await store.pageApprovals({ limit: 10 }))).toEqual(['apr_e', 'apr_d', 'apr_c', 'apr_b', 'apr_a']);
        // Page by page, two at a time: every one once, in order, the tie kept apart by the cursor.
        const seen: string[] = [];
        for (let before: ApprovalRecord | undefined, i = 0; i < 5; i++) {
          const page = await store.pageApprovals({ limit: 2, ...(before ? { before: { createdAt: before.createdAt, id: before.id } } : {}) });
          seen.push(...ids(page));
          if (page.length < 2) break;
          before = page[page.length - 1];
        }
        expect(seen).toEqual(['apr_e', 'apr_d', 'apr_c', 'apr_b', 'apr_a']);
        expect(ids(await store.pageApprovals({ status: 'pending', limit: 10 }))).toEqual(['apr_d', 'apr_c', 'apr_a']);
        expect(ids(await store.pageApprovals({ decided: true, limit: 10 }))).toEqual(['apr_e', 'apr_b']);
        expect(ids(await store.pageApprovals({ runId: 'run_1' as RunId, limit: 10 }))).toEqual(['apr_d', 'apr_c', 'apr_b', 'apr_a']);
        // A limit past a thousand is a thousand; below one, one.
        expect(await store.pageApprovals({ limit: 0 })).toHaveLength(1);
        // Incidents page the same way: open or resolved, newest first.
        for (const [id, at, status] of [['inc_a', '01', 'open'], ['inc_b', '02', 'resolved'], ['inc_c', '03', 'open']] as const) {
          await store.createIncident(incident(id, { key: id, createdAt: `2025-01-01T00:00:${at}.000Z`, ...(status === 'resolved' ? { status, resolvedAt: '2025-01-02T00:00:00.000Z', resolvedBy: 'user:dana', resolution: 'fixed' } : {}) }));
        }
        expect((await store.pageIncidents({ limit: 10 })).map((i) => i.id)).toEqual(['inc_c', 'inc_b', 'inc_a']);
        expect((await store.pageIncidents({ decided: true, limit: 10 })).map((i) => i.id)).toEqual(['inc_b']);
        const first = await store.pageIncidents({ status: 'open', limit: 1 });
        expect(first.map((i) => i.id)).toEqual(['inc_c']);
        expect((await store.pageIncidents({ status: 'open', limit: 5, before: { createdAt: first[0]!.createdAt, id: first[0]!.id } })).map((i) => i.id)).toEqual(['inc_a']);
      });

      it('updates only from the expected status (compare-and-set)', async () => {
        await store.createApproval(approval('apr_1'));
        const vote = ballot('user:mia', 'approve', 'ok');
        const approved = await store.updateApproval('apr_1' as ApprovalId, 'pending', { status: 'approved', decisions: [vote] });
        expect(approved).toMatchObject({ id: 'apr_1', status: 'approved', decisions: [vote] });
        expect(await store.getApproval('apr_1' as ApprovalId)).toEqual(approved);
        expect(await store.updateApproval('apr_1' as ApprovalId, 'pending', { status: 'rejected', decisions: [] })).toBeNull();
        expect(await store.getApproval('apr_1' as ApprovalId)).toEqual(approved);
        const missing = await rejection(store.updateApproval('apr_x' as ApprovalId, 'pending', { status: 'approved', decisions: [] }));
        expect(missing.code).toBe('not-found');
      });

      it('appends the records given with an update only when it applies, in the same commit', async () => {
        await store.createApproval(approval('apr_1'));
        const vote = ballot('user:mia', 'approve', 'ok');
        const said = (i: number): AuditDraft => draft(i, { type: 'approval.decided', body: { approvalId: 'apr_1', n: i } });
        const outcomes = await Promise.all([1, 2, 3].map((i) => store.updateApproval('apr_1' as ApprovalId, 'pending', { status: 'approved', decisions: [vote] }, [said(i)])));
        expect(outcomes.filter((o) => o !== null)).toHaveLength(1);
        const recs = await allAudit(store);
        // Exactly the winner's record: the two that found it approved already wrote nothing.
        expect(recs.map((r) => r.type)).toEqual(['approval.decided']);
        expect((await rejection(store.updateApproval('apr_x' as ApprovalId, 'pending', { status: 'approved', decisions: [] }, [said(9)]))).code).toBe('not-found');
        expect(await allAudit(store)).toHaveLength(1);
      });

      it('lets exactly one of concurrent approve and reject win', async () => {
        await store.createApproval(approval('apr_1'));
        const outcomes = await Promise.all(
          (['approved', 'rejected', 'approved', 'rejected'] as const).map((status, i) =>
            store.updateApproval('apr_1' as ApprovalId, 'pending', {
              status,
              decisions: [ballot(`user:${i}`, status === 'approved' ? 'approve' : 'reject', null)],
            }),
          ),
        );
        const winners = outcomes.filter((o) => o !== null);
        expect(winners).toHaveLength(1);
        expect(await store.getApproval('apr_1' as ApprovalId)).toEqual(winners[0]);
      });
    });

    describe('value budgets', () => {
      const meta = (i: number) => ({ at: `2025-01-02T00:00:${String(i % 60).padStart(2, '0')}.000Z`, runId: `run_${i}` as RunId, actionHash: `h${i}`, countId: `count_${i}` });
      const entry = (amount: number, over: Partial<ValueEntry> = {}): ValueEntry => ({ budget: 'payee_daily', bucket: '["EUR","acct-1"]', amount, since: '2025-01-01T00:00:00.000Z', limit: 15_000, ...over });

      it('lets no two of twenty concurrent amounts past a limit only two fit under', async () => {
        const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => store.addValue([entry(6_000)], meta(i))));
        expect(outcomes.filter((o) => o.ok)).toHaveLength(2);
        expect(await store.valueSpent('payee_daily', '["EUR","acct-1"]', '2025-01-01T00:00:00.000Z')).toBe(12_000);
        // A refused one says what it found, so the caller can decide again with the sum that stands.
        expect(outcomes.find((o) => !o.ok)).toEqual({ ok: false, spent: [12_000] });
      });

      it('sums per budget and bucket over the window, and counts an approved amount whatever the limit', async () => {
        await store.addValue([entry(10_000)], meta(1));
        await store.addValue([entry(9_000, { bucket: '["EUR","acct-2"]' })], meta(2));
        expect(await store.valueSpent('payee_daily', '["EUR","acct-2"]', '2025-01-01T00:00:00.000Z')).toBe(9_000);
        // After the window moved past them, the amounts no longer count.
        expect(await store.valueSpent('payee_daily', '["EUR","acct-1"]', '2025-01-02T00:00:30.000Z')).toBe(0);
        expect((await store.addValue([entry(9_000)], meta(3))).ok).toBe(false);
        expect((await store.addValue([entry(9_000, { limit: null })], meta(4))).ok).toBe(true);
        expect(await store.valueSpent('payee_daily', '["EUR","acct-1"]', '2025-01-01T00:00:00.000Z')).toBe(19_000);
      });

      it('counts only on the sums the caller decided on, and takes a count back by its id', async () => {
        await store.addValue([entry(1_000)], meta(1));
        // Decided on 0, but 1,000 stands: nothing is counted, and the sum found comes back.
        expect(await store.addValue([entry(500)], meta(2), [0])).toEqual({ ok: false, spent: [1_000] });
        expect(await store.addValue([entry(500, { limit: null })], meta(3), [1_000])).toEqual({ ok: true });
        await store.uncountValue('count_1');
        expect(await store.valueSpent('payee_daily', '["EUR","acct-1"]', '2025-01-01T00:00:00.000Z')).toBe(500);
      });

      it('counts all of an action\'s entries or none', async () => {
        await store.addValue([entry(14_000, { budget: 'agent_daily', bucket: '["EUR"]' })], meta(1));
        const both = await store.addValue([entry(2_000), entry(2_000, { budget: 'agent_daily', bucket: '["EUR"]' })], meta(2));
        expect(both).toEqual({ ok: false, spent: [0, 14_000] });
        expect(await store.valueSpent('payee_daily', '["EUR","acct-1"]', '2025-01-01T00:00:00.000Z')).toBe(0);
      });
    });

    describe('standing grants', () => {
      it('round-trips grants and lists them newest first a page at a time, by status', async () => {
        const g1 = grant('grt_1');
        const g2 = grant('grt_2', { tool: 'mail.send', bounds: {}, maxUses: null, createdAt: '2025-01-01T00:00:05.000Z' });
        const g3 = grant('grt_3', { workflow: 'billing', status: 'revoked', createdAt: '2025-01-01T00:00:09.000Z' });
        const g4 = grant('grt_4', { createdAt: '2025-01-01T00:00:09.000Z' });
        for (const g of [g3, g2, g1, g4]) await store.createGrant(g);
        expect(await store.getGrant('grt_2')).toEqual(g2);
        expect(await store.getGrant('grt_missing')).toBeNull();
        const ids = (gs: readonly GrantRecord[]): string[] => gs.map((g) => g.id);
        // Newest first; the same time ordered by id (descending), as approvals and incidents are.
        expect(ids(await store.pageGrants({ limit: 10 }))).toEqual(['grt_4', 'grt_3', 'grt_2', 'grt_1']);
        const first = await store.pageGrants({ limit: 3 });
        const last = first[first.length - 1] as GrantRecord;
        expect(ids(await store.pageGrants({ limit: 3, before: { createdAt: last.createdAt, id: last.id } }))).toEqual(['grt_1']);
        expect(ids(await store.pageGrants({ status: 'revoked', limit: 10 }))).toEqual(['grt_3']);
        expect(ids(await store.pageGrants({ decided: true, limit: 10 }))).toEqual(['grt_3']);
        expect(ids(await store.pageGrants({ status: 'active', limit: 2 }))).toEqual(['grt_4', 'grt_2']);
        expect((await rejection(store.createGrant(g1))).code).toBe('conflict');
      });

      it('reads only the live grants of one tool: active, not yet expired, oldest first', async () => {
        const at = (m: number): string => new Date(Date.parse('2025-01-01T00:00:00.000Z') + m * 60_000).toISOString();
        await store.createGrant(grant('grt_old', { createdAt: at(0), expiresAt: at(30) }));
        await store.createGrant(grant('grt_b', { createdAt: at(20), expiresAt: at(200) }));
        await store.createGrant(grant('grt_a', { createdAt: at(10), expiresAt: at(60) }));
        await store.createGrant(grant('grt_revoked', { createdAt: at(5), expiresAt: at(300), status: 'revoked' }));
        await store.createGrant(grant('grt_mail', { tool: 'mail.send', createdAt: at(5), expiresAt: at(300) }));
        await store.createGrant(grant('grt_billing', { workflow: 'billing', createdAt: at(5), expiresAt: at(300) }));
        const live = async (m: number): Promise<string[]> => (await store.liveGrants('refund-desk', 'payments.refund', at(m))).map((g) => g.id);
        expect(await live(1)).toEqual(['grt_old', 'grt_a', 'grt_b']);
        // Expiry is exclusive: a grant expiring at this instant is gone.
        expect(await live(30)).toEqual(['grt_a', 'grt_b']);
        expect(await live(60)).toEqual(['grt_b']);
        expect(await live(200)).toEqual([]);
        expect((await store.liveGrants('refund-desk', 'mail.send', at(1))).map((g) => g.id)).toEqual(['grt_mail']);
        expect(await store.liveGrants('refund-desk', 'crm.delete', at(1))).toEqual([]);
        await store.revokeGrant('grt_a');
        expect(await live(1)).toEqual(['grt_old', 'grt_b']);
      });

      it('counts a use only against the expected use count (compare-and-set)', async () => {
        await store.createGrant(grant('grt_1'));
        const used = await store.useGrant('grt_1', 0);
        expect(used).toEqual(grant('grt_1', { uses: 1 }));
        expect(await store.getGrant('grt_1')).toEqual(used);
        expect(await store.useGrant('grt_1', 0)).toBeNull();
        expect(await store.useGrant('grt_1', 2)).toBeNull();
        expect((await store.getGrant('grt_1'))?.uses).toBe(1);
        expect((await rejection(store.useGrant('grt_missing', 0))).code).toBe('not-found');
      });

      it('lets exactly one of concurrent uses at the same count win', async () => {
        await store.createGrant(grant('grt_1', { maxUses: null }));
        const outcomes = await Promise.all(Array.from({ length: 6 }, () => store.useGrant('grt_1', 0)));
        expect(outcomes.filter((o) => o !== null)).toHaveLength(1);
        expect((await store.getGrant('grt_1'))?.uses).toBe(1);
      });

      it('revokes only an active grant; a revoked grant cannot be used', async () => {
        await store.createGrant(grant('grt_1'));
        const revoked = await store.revokeGrant('grt_1');
        expect(revoked).toEqual(grant('grt_1', { status: 'revoked' }));
        expect(await store.getGrant('grt_1')).toEqual(revoked);
        expect(await store.revokeGrant('grt_1')).toBeNull();
        expect(await store.useGrant('grt_1', 0)).toBeNull();
        expect(await store.getGrant('grt_1')).toEqual(revoked);
        expect(await store.pageGrants({ status: 'active', limit: 10 })).toEqual([]);
        expect((await rejection(store.revokeGrant('grt_missing'))).code).toBe('not-found');
      });
    });

    describe('webhook outbox', () => {
      it('queues notifications and lists them newest first, by status, with a limit; a queued id is left as it is', async () => {
        const n1 = notification('evt_1');
        const n2 = notification('evt_2', { createdAt: '2025-01-01T00:00:05.000Z', event: 'approval.decided' });
        const n3 = notification('evt_3', { createdAt: '2025-01-01T00:00:09.000Z', status: 'failed', attempts: 8 });
        await store.enqueueNotifications([n1, n2]);
        await store.enqueueNotifications([n3, notification('evt_1', { body: 'changed' })]);
        await store.enqueueNotifications([]);
        expect((await store.listNotifications()).map((n) => n.id)).toEqual(['evt_3', 'evt_2', 'evt_1']);
        expect(await store.listNotifications()).toEqual([n3, n2, n1]);
        expect((await store.listNotifications({ status: 'pending' })).map((n) => n.id)).toEqual(['evt_2', 'evt_1']);
        expect((await store.listNotifications({ limit: 1 })).map((n) => n.id)).toEqual(['evt_3']);
        expect(await store.listNotifications({ status: 'delivered' })).toEqual([]);
      });

      it('hands out pending notifications that are due, oldest first, at most `limit`', async () => {
        await store.enqueueNotifications([
          notification('evt_late', { nextAttemptAt: '2025-01-01T00:05:00.000Z' }),
          notification('evt_2', { createdAt: '2025-01-01T00:00:02.000Z', nextAttemptAt: '2025-01-01T00:00:02.000Z' }),
          notification('evt_1', { createdAt: '2025-01-01T00:00:01.000Z', nextAttemptAt: '2025-01-01T00:00:01.000Z' }),
          notification('evt_done', { status: 'delivered', attempts: 1 }),
          notification('evt_dead', { status: 'failed', attempts: 8 }),
        ]);
        const at = '2025-01-01T00:01:00.000Z';
        expect((await store.dueNotifications(at, 10)).map((n) => n.id)).toEqual(['evt_1', 'evt_2']);
        expect((await store.dueNotifications(at, 1)).map((n) => n.id)).toEqual(['evt_1']);
        expect((await store.dueNotifications('2025-01-01T00:05:00.000Z', 10)).map((n) => n.id)).toEqual(['evt_late', 'evt_1', 'evt_2']);
        expect(await store.dueNotifications('2024-12-31T23:59:59.000Z', 10)).toEqual([]);
      });

      it('claims a notification for one attempt only from the expected attempts (compare-and-set), leasing it', async () => {
        await store.enqueueNotifications([notification('evt_1')]);
        const lease = '2025-01-01T00:01:05.000Z';
        const claimed = await store.claimNotification('evt_1', 0, lease);
        expect(claimed).toEqual(notification('evt_1', { attempts: 1, nextAttemptAt: lease }));
        expect(await store.claimNotification('evt_1', 0, lease)).toBeNull();
        // Leased: not due again until the lease runs out.
        expect(await store.dueNotifications('2025-01-01T00:01:04.999Z', 10)).toEqual([]);
        expect((await store.dueNotifications(lease, 10)).map((n) => [n.id, n.attempts])).toEqual([['evt_1', 1]]);
      });

      it('lets exactly one of concurrent claims win', async () => {
        await store.enqueueNotifications([notification('evt_1')]);
        const outcomes = await Promise.all(Array.from({ length: 6 }, () => store.claimNotification('evt_1', 0, '2025-01-01T00:01:00.000Z')));
        expect(outcomes.filter((o) => o !== null)).toHaveLength(1);
        expect((await store.listNotifications())[0]?.attempts).toBe(1);
      });

      it('records each attempt in the delivery log with the new state, atomically', async () => {
        await store.enqueueNotifications([notification('evt_1'), notification('evt_2', { createdAt: '2025-01-01T00:00:01.000Z' })]);
        await store.claimNotification('evt_1', 0, '2025-01-01T00:01:00.000Z');
        const retry = { status: 'pending' as const, nextAttemptAt: '2025-01-01T00:00:02.000Z', lastError: 'the receiver answered HTTP 500' };
        await store.finishNotification('evt_1', retry, delivery('evt_1', 1));
        expect((await store.listNotifications({ status: 'pending' })).find((n) => n.id === 'evt_1')).toEqual(notification('evt_1', { attempts: 1, ...retry }));
        expect((await store.dueNotifications('2025-01-01T00:00:02.000Z', 10)).map((n) => n.id)).toEqual(['evt_1', 'evt_2']);

        await store.claimNotification('evt_2', 0, '2025-01-01T00:01:00.000Z');
        await store.finishNotification('evt_2', { status: 'failed', nextAttemptAt: '2025-01-01T00:00:03.000Z', lastError: 'network error' }, delivery('evt_2', 1, { httpStatus: null, error: 'network error' }));
        await store.claimNotification('evt_1', 1, '2025-01-01T00:01:00.000Z');
        const ok = delivery('evt_1', 2, { ok: true, httpStatus: 204, error: null, time: '2025-01-01T00:00:02.000Z' });
        await store.finishNotification('evt_1', { status: 'delivered', nextAttemptAt: '2025-01-01T00:00:02.000Z', lastError: null }, ok);

        expect(await store.listDeliveries('evt_1')).toEqual([delivery('evt_1', 1), ok]);
        expect((await store.listDeliveries()).map((d) => [d.notificationId, d.attempt])).toEqual([
          ['evt_1', 1],
          ['evt_2', 1],
          ['evt_1', 2],
        ]);
        expect(await store.listDeliveries('evt_missing')).toEqual([]);
        expect(await store.listNotifications()).toMatchObject([
          { id: 'evt_2', status: 'failed', attempts: 1, lastError: 'network error' },
          { id: 'evt_1', status: 'delivered', attempts: 2, lastError: null },
        ]);
        expect(await store.dueNotifications('2025-01-02T00:00:00.000Z', 10)).toEqual([]);
        expect(await store.claimNotification('evt_1', 2, '2025-01-01T00:01:00.000Z')).toBeNull();
      });
    });

    describe('instance leases', () => {
      const lease = (id: string, over: Partial<InstanceLease> = {}): InstanceLease => ({
        id,
        host: 'host-a',
        pid: 4242,
        startedAt: '2025-01-01T00:00:00.000Z',
        expiresAt: '2025-01-01T00:01:00.000Z',
        ...over,
      });

      it('creates, renews (upsert) and drops leases, listing the oldest start first', async () => {
        expect(await store.listLeases()).toEqual([]);
        await store.renewLease(lease('ins_b', { startedAt: '2025-01-01T00:00:05.000Z' }));
        await store.renewLease(lease('ins_a'));
        await store.renewLease(lease('ins_a', { expiresAt: '2025-01-01T00:02:00.000Z' }));
        expect(await store.listLeases()).toEqual([lease('ins_a', { expiresAt: '2025-01-01T00:02:00.000Z' }), lease('ins_b', { startedAt: '2025-01-01T00:00:05.000Z' })]);
        await store.dropLease('ins_a');
        await store.dropLease('ins_missing');
        expect((await store.listLeases()).map((l) => l.id)).toEqual(['ins_b']);
      });
    });

    describe('incidents', () => {
      it('round-trips and lists incidents oldest first, by status and run', async () => {
        const i1 = incident('inc_1');
        const i2 = incident('inc_2', { kind: 'policy-violations', key: 'denied-actions', boundary: 'security', owner: null, createdAt: '2025-01-01T00:00:05.000Z' });
        const i3 = incident('inc_3', { runId: 'run_2' as RunId, status: 'resolved', resolvedAt: '2025-01-01T00:10:00.000Z', resolvedBy: 'user:dana', resolution: 'fixed', createdAt: '2025-01-01T00:00:09.000Z' });
        for (const i of [i3, i2, i1]) expect(await store.createIncident(i)).toEqual(i);
        expect(await store.getIncident('inc_2')).toEqual(i2);
        expect(await store.getIncident('inc_missing')).toBeNull();
        expect((await store.listIncidents()).map((i) => i.id)).toEqual(['inc_1', 'inc_2', 'inc_3']);
        expect((await store.listIncidents({ status: 'open' })).map((i) => i.id)).toEqual(['inc_1', 'inc_2']);
        expect((await store.listIncidents({ runId: 'run_2' as RunId })).map((i) => i.id)).toEqual(['inc_3']);
        expect((await store.listIncidents({ runId: 'run_1' as RunId, status: 'resolved' }))).toEqual([]);
        expect((await rejection(store.createIncident(i1))).code).toBe('conflict');
      });

      it('keeps one open incident per (run, kind, key): opening it again returns the open one', async () => {
        const first = incident('inc_1');
        await store.createIncident(first);
        expect(await store.createIncident(incident('inc_2', { title: 'again' }))).toEqual(first);
        expect(await store.getIncident('inc_2')).toBeNull();
        // Another key, kind or run is another incident.
        expect((await store.createIncident(incident('inc_3', { key: 'effect-13' }))).id).toBe('inc_3');
        expect((await store.createIncident(incident('inc_4', { kind: 'verification-failed', boundary: 'domain' }))).id).toBe('inc_4');
        expect((await store.createIncident(incident('inc_5', { runId: 'run_2' as RunId }))).id).toBe('inc_5');
        // Once resolved, the same (run, kind, key) may open again.
        await store.updateIncident('inc_1', 'open', { status: 'resolved', resolvedAt: '2025-01-01T01:00:00.000Z', resolvedBy: 'user:sam', resolution: 'restarted' });
        expect((await store.createIncident(incident('inc_6'))).id).toBe('inc_6');
        expect((await store.listIncidents({ runId: 'run_1' as RunId })).map((i) => [i.id, i.status])).toEqual([
          ['inc_1', 'resolved'],
          ['inc_3', 'open'],
          ['inc_4', 'open'],
          ['inc_6', 'open'],
        ]);
      });

      it('lets exactly one of concurrent opens of the same incident insert', async () => {
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.createIncident(incident(`inc_${i}`))));
        expect(new Set(results.map((r) => r.id)).size).toBe(1);
        expect(await store.listIncidents()).toHaveLength(1);
      });

      it('updates only from the expected status (compare-and-set)', async () => {
        await store.createIncident(incident('inc_1'));
        const update = { status: 'resolved' as const, resolvedAt: '2025-01-01T01:00:00.000Z', resolvedBy: 'user:dana', resolution: 'undone by hand' };
        const resolved = await store.updateIncident('inc_1', 'open', update);
        expect(resolved).toEqual(incident('inc_1', update));
        expect(await store.getIncident('inc_1')).toEqual(resolved);
        expect(await store.updateIncident('inc_1', 'open', { ...update, resolvedBy: 'user:sam' })).toBeNull();
        expect((await store.getIncident('inc_1'))?.resolvedBy).toBe('user:dana');
        expect((await rejection(store.updateIncident('inc_missing', 'open', update))).code).toBe('not-found');
        await store.createIncident(incident('inc_2', { key: 'k' }));
        const race = await Promise.all(Array.from({ length: 4 }, (_, i) => store.updateIncident('inc_2', 'open', { ...update, resolvedBy: `user:u${i}` })));
        expect(race.filter((r) => r !== null)).toHaveLength(1);
      });

      it('does not reopen an incident while a newer one with its key is open', async () => {
        await store.createIncident(incident('inc_1'));
        await store.updateIncident('inc_1', 'open', { status: 'resolved', resolvedAt: '2025-01-01T01:00:00.000Z', resolvedBy: 'user:dana', resolution: 'x' });
        await store.createIncident(incident('inc_2'));
        expect(await store.updateIncident('inc_1', 'resolved', { status: 'open', resolvedAt: null, resolvedBy: null, resolution: null })).toBeNull();
        expect((await store.getIncident('inc_1'))?.status).toBe('resolved');
      });
    });

    describe('halts', () => {
      const said = (i: number, type = 'halt.started'): AuditDraft => draft(i, { type, runId: null, principal: 'user:dana', body: { haltId: `hlt_${i}`, n: i } });
      const lift = { liftedBy: 'user:sam', liftedAt: '2025-01-01T01:00:00.000Z', liftReason: 'fixed the order lookup' };

      it('starts a halt with its record in one commit, and gives back the active one on a halted scope (writing nothing)', async () => {
        expect(await store.startHalt(halt('hlt_1'), [said(1)])).toEqual(halt('hlt_1'));
        expect(await store.getHalt('hlt_1')).toEqual(halt('hlt_1'));
        expect(await store.getHalt('hlt_missing')).toBeNull();
        // The same scope again: the active halt stands, the second one and its record are not written.
        expect(await store.startHalt(halt('hlt_2', { stoppedBy: 'user:sam' }), [said(2)])).toEqual(halt('hlt_1'));
        expect(await store.getHalt('hlt_2')).toBeNull();
        expect((await allAudit(store)).map((r) => r.body['n'])).toEqual([1]);
        expect((await rejection(store.startHalt(halt('hlt_1', { scope: 'all' })))).code).toBe('conflict');
      });

      it('lets exactly one of concurrent stops of one scope start', async () => {
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => store.startHalt(halt(`hlt_${i}`), [said(i)])));
        expect(new Set(results.map((r) => r.id)).size).toBe(1);
        expect(await store.listHalts()).toHaveLength(1);
        expect(await allAudit(store)).toHaveLength(1);
      });

      it('finds the oldest active halt on any of the scopes asked about, and none on others', async () => {
        await store.startHalt(halt('hlt_c', { scope: 'connector:payments', stoppedAt: '2025-01-01T00:00:09.000Z' }));
        await store.startHalt(halt('hlt_w', { stoppedAt: '2025-01-01T00:00:05.000Z' }));
        await store.startHalt(halt('hlt_p', { scope: 'principal:user:dana', stoppedAt: '2025-01-01T00:00:07.000Z' }));
        expect((await store.activeHalt(['all', 'workflow:refund-desk', 'principal:agent:refund-bot', 'connector:payments']))?.id).toBe('hlt_w');
        expect((await store.activeHalt(['connector:payments', 'principal:user:dana']))?.id).toBe('hlt_p');
        expect((await store.activeHalt(['connector:payments']))?.id).toBe('hlt_c');
        expect(await store.activeHalt(['all', 'workflow:other', 'connector:mail'])).toBeNull();
        expect(await store.activeHalt([])).toBeNull();
      });

      it('lifts only an active halt (compare-and-set), with its record only when it applies; the scope may be halted again', async () => {
        await store.startHalt(halt('hlt_1'), [said(1)]);
        const outcomes = await Promise.all([2, 3, 4].map((i) => store.liftHalt('hlt_1', { ...lift, liftReason: `reason ${i}` }, [said(i, 'halt.lifted')])));
        const lifted = outcomes.filter((o) => o !== null);
        expect(lifted).toHaveLength(1);
        expect(lifted[0]).toMatchObject({ id: 'hlt_1', status: 'lifted', liftedBy: 'user:sam', liftedAt: lift.liftedAt });
        expect(await store.getHalt('hlt_1')).toEqual(lifted[0]);
        expect((await allAudit(store)).map((r) => r.type)).toEqual(['halt.started', 'halt.lifted']);
        expect(await store.activeHalt(['workflow:refund-desk'])).toBeNull();
        expect((await rejection(store.liftHalt('hlt_missing', lift, [said(9)]))).code).toBe('not-found');
        expect(await allAudit(store)).toHaveLength(2);
        // Once lifted, the same scope can be stopped again.
        expect((await store.startHalt(halt('hlt_2', { stoppedAt: '2025-01-01T02:00:00.000Z' }))).id).toBe('hlt_2');
        expect((await store.activeHalt(['workflow:refund-desk']))?.id).toBe('hlt_2');
      });

      it('lists halts newest first, by status, at most `limit`', async () => {
        await store.startHalt(halt('hlt_1'));
        await store.startHalt(halt('hlt_2', { scope: 'all', stoppedAt: '2025-01-01T00:00:05.000Z' }));
        await store.startHalt(halt('hlt_3', { scope: 'connector:mail', stoppedAt: '2025-01-01T00:00:09.000Z' }));
        await store.liftHalt('hlt_2', lift);
        expect((await store.listHalts()).map((x) => x.id)).toEqual(['hlt_3', 'hlt_2', 'hlt_1']);
        expect((await store.listHalts({ status: 'active' })).map((x) => x.id)).toEqual(['hlt_3', 'hlt_1']);
        expect((await store.listHalts({ status: 'lifted' })).map((x) => x.id)).toEqual(['hlt_2']);
        expect((await store.listHalts({ limit: 1 })).map((x) => x.id)).toEqual(['hlt_3']);
      });
    });

    describe('pilot events', () => {
      const event = (id: string, kind: PilotEvent['kind'], at: string, workflow = 'refund-desk'): PilotEvent => ({ id, workflow, kind, at, by: 'user:dana', body: { n: id } });

      it('records an event with its audit records in one commit; an existing id is a conflict and writes nothing', async () => {
        const said = draft(1, { type: 'pilot.decided', runId: null, principal: 'user:dana', body: { n: 1 } });
        await store.addPilotEvent(event('dec_1', 'decision', '2025-01-01T00:00:01.000Z'), [said]);
        expect(await store.listPilotEvents('refund-desk')).toEqual([event('dec_1', 'decision', '2025-01-01T00:00:01.000Z')]);
        expect((await rejection(store.addPilotEvent(event('dec_1', 'decision', '2025-01-01T00:00:02.000Z'), [draft(2)]))).code).toBe('conflict');
        expect((await allAudit(store)).map((r) => r.type)).toEqual(['pilot.decided']);
      });

      it('appends only after the newest event of its kind when asked (compare-and-set): one of concurrent changes wins', async () => {
        const said = (i: number): AuditDraft => draft(i, { type: 'autonomy.changed', runId: null, principal: null, body: { n: i } });
        const tries = await Promise.all([1, 2, 3].map((i) => store.addPilotEvent(event(`t${i}`, 'tier-changed', `2025-01-01T00:00:0${i}.000Z`), [said(i)], null)));
        expect(tries.filter(Boolean)).toHaveLength(1);
        const [winner] = await store.listPilotEvents('refund-desk', ['tier-changed']);
        expect(await store.addPilotEvent(event('t9', 'tier-changed', '2025-01-01T00:00:09.000Z'), [said(9)], 'someone-else')).toBe(false);
        expect(await store.addPilotEvent(event('t8', 'tier-changed', '2025-01-01T00:00:08.000Z'), [said(8)], winner!.id)).toBe(true);
        expect((await store.listPilotEvents('refund-desk')).map((e) => e.id)).toEqual(['t8', winner!.id]);
        expect((await allAudit(store)).map((r) => r.body['n'])).toHaveLength(2);
      });

      it('lists a workflow’s events newest first, by kind, at most `limit`', async () => {
        await store.addPilotEvent(event('e1', 'tier-changed', '2025-01-01T00:00:01.000Z'));
        await store.addPilotEvent(event('e2', 'autonomy-signed', '2025-01-01T00:00:02.000Z'));
        await store.addPilotEvent(event('e3', 'tier-changed', '2025-01-01T00:00:03.000Z'));
        await store.addPilotEvent(event('e4', 'tier-changed', '2025-01-01T00:00:04.000Z', 'other'));
        expect((await store.listPilotEvents('refund-desk')).map((e) => e.id)).toEqual(['e3', 'e2', 'e1']);
        expect((await store.listPilotEvents('refund-desk', ['tier-changed'], 1)).map((e) => e.id)).toEqual(['e3']);
        expect((await store.listPilotEvents('refund-desk', ['autonomy-signed', 'decision'])).map((e) => e.id)).toEqual(['e2']);
        expect(await store.listPilotEvents('nobody')).toEqual([]);
      });
    });

    describe('policy events', () => {
      const event = (id: string, kind: PolicySetEvent['kind'], hash: string, at = '2025-01-01T00:00:01.000Z'): PolicySetEvent => ({
        id,
        kind,
        policySetHash: hash,
        files: kind === 'shadow-cleared' ? [] : [{ file: 'policies/base.cedar', text: `permit (principal, action, resource); // ${hash}` }],
        policies: kind === 'shadow-cleared' ? 0 : 1,
        by: 'user:dana',
        message: `m ${id}`,
        at,
      });
      const said = (i: number): AuditDraft => draft(i, { type: 'policy.deployed', runId: null, principal: 'user:dana', body: { n: i } });

      it('records an event with its records only on the head it expected (compare-and-set), giving back the head otherwise', async () => {
        expect(await store.addPolicyEvent(event('pol_1', 'deployed', 'h1'), null, [said(1)])).toBeNull();
        expect(await store.getPolicyEvent('pol_1')).toEqual(event('pol_1', 'deployed', 'h1'));
        // Someone else deployed first: nothing written, their deployment comes back.
        expect(await store.addPolicyEvent(event('pol_2', 'deployed', 'h2'), null, [said(2)])).toEqual(event('pol_1', 'deployed', 'h1'));
        expect(await store.getPolicyEvent('pol_2')).toBeNull();
        expect(await store.addPolicyEvent(event('pol_3', 'deployed', 'h3'), 'pol_1', [said(3)])).toBeNull();
        expect((await rejection(store.addPolicyEvent(event('pol_3', 'deployed', 'h4'), 'pol_3'))).code).toBe('conflict');
        expect((await allAudit(store)).map((r) => r.body['n'])).toEqual([1, 3]);
      });

      it('lets exactly one of several concurrent writers on the same head win', async () => {
        const outcomes = await Promise.all([1, 2, 3, 4].map((i) => store.addPolicyEvent(event(`pol_${i}`, 'deployed', `h${i}`), null, [said(i)])));
        expect(outcomes.filter((o) => o === null)).toHaveLength(1);
        expect(await allAudit(store)).toHaveLength(1);
      });

      it('keeps two lanes: deployments, and the shadow whose head says whether one is active', async () => {
        await store.addPolicyEvent(event('pol_d1', 'deployed', 'd1'), null);
        expect(await store.latestPolicyEvent('shadow')).toBeNull();
        await store.addPolicyEvent(event('pol_s1', 'shadow-started', 's1'), null);
        await store.addPolicyEvent(event('pol_d2', 'deployed', 'd2'), 'pol_d1');
        expect(await store.latestPolicyEvent('shadow')).toEqual({ id: 'pol_s1', kind: 'shadow-started', policySetHash: 's1' });
        await store.addPolicyEvent(event('pol_s2', 'shadow-cleared', 's1'), 'pol_s1');
        expect(await store.latestPolicyEvent('shadow')).toEqual({ id: 'pol_s2', kind: 'shadow-cleared', policySetHash: 's1' });
        expect(await store.latestPolicyEvent('deployed')).toEqual({ id: 'pol_d2', kind: 'deployed', policySetHash: 'd2' });
        // Newest first by the order recorded, whatever the clocks said.
        await store.addPolicyEvent(event('pol_d3', 'deployed', 'd3', '2024-01-01T00:00:00.000Z'), 'pol_d2');
        expect((await store.listPolicyEvents('deployed')).map((e) => e.id)).toEqual(['pol_d3', 'pol_d2', 'pol_d1']);
        expect((await store.listPolicyEvents('deployed', 1)).map((e) => e.id)).toEqual(['pol_d3']);
        expect((await store.listPolicyEvents('shadow')).map((e) => e.kind)).toEqual(['shadow-cleared', 'shadow-started']);
      });
    });

    describe('spans', () => {
      const span = (traceId: string, spanId: string, runId: string | null) => ({
        traceId,
        spanId,
        parentSpanId: null,
        name: `s ${spanId}`,
        startTime: '2025-01-01T00:00:00.000Z',
        endTime: '2025-01-01T00:00:00.010Z',
        durationMs: 10,
        status: { code: 'ok' as const },
        attributes: { n: 1 },
        runId,
      });

      it("gives back every span of a run's traces, oldest first, and none of another trace", async () => {
        const t1 = '1'.repeat(32);
        const t2 = '2'.repeat(32);
        await store.appendSpans([span(t1, 'a'.repeat(16), 'run_1'), span(t2, 'b'.repeat(16), 'run_2')]);
        await store.appendSpans([span(t1, 'c'.repeat(16), null)]);
        expect((await store.spansForRun('run_1' as RunId)).map((s) => s.spanId)).toEqual(['a'.repeat(16), 'c'.repeat(16)]);
        expect(await store.spansForRun('run_3' as RunId)).toEqual([]);
        expect(await store.appendSpans([])).toBeUndefined();
      });
    });

    describe('approval links', () => {
      it('redeems a link once, whoever asks how often at once; forgets it only once it has expired', async () => {
        const at = '2025-01-01T00:00:00.000Z';
        const results = await Promise.all(Array.from({ length: 8 }, () => store.redeemLink('jti-1', at, '2025-01-01T01:00:00.000Z')));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.redeemLink('jti-2', at, '2025-01-01T01:00:00.000Z')).toBe(true);
        // Before its expiry it stays used; after it, it is pruned (it could not be used anyway: the token has expired).
        expect(await store.redeemLink('jti-1', '2025-01-01T00:59:59.000Z', '2025-01-01T02:00:00.000Z')).toBe(false);
        expect(await store.redeemLink('jti-3', '2025-01-01T01:00:01.000Z', '2025-01-01T02:00:00.000Z')).toBe(true);
        expect(await store.redeemLink('jti-1', '2025-01-01T01:00:02.000Z', '2025-01-01T02:00:00.000Z')).toBe(true);
      });
    });

    describe('signed checkpoints', () => {
      const cp = (size: number, over: Partial<StoredCheckpoint> = {}): StoredCheckpoint => ({
        size,
        rootHash: sha256Hex(`root ${size}`),
        time: '2025-01-01T00:00:00.000Z',
        note: `airlock/test\n${size}\n...\n`,
        frontier: [sha256Hex(`f ${size}`)],
        ...over,
      });

      it('gives back the leaf hashes of the trail in seq order, 32 bytes each, paged', async () => {
        const recs = await store.appendAudit(Array.from({ length: 5 }, (_, i) => draft(i)));
        const all = await store.readLeafHashes(1, 100);
        expect(all.length).toBe(5 * 32);
        expect(Buffer.from(all).toString('hex')).toBe(recs.map((r) => r.leafHash).join(''));
        expect(Buffer.from(await store.readLeafHashes(4, 1)).toString('hex')).toBe(recs[3]?.leafHash);
        expect((await store.readLeafHashes(6, 10)).length).toBe(0);
      });

      it('keeps only checkpoints larger than the largest kept, whoever adds at once; reads them back largest first', async () => {
        expect(await store.latestCheckpoint()).toBeNull();
        const results = await Promise.all(Array.from({ length: 6 }, () => store.addCheckpoint(cp(10))));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.addCheckpoint(cp(5))).toBe(false);
        expect(await store.addCheckpoint(cp(20, { frontier: [sha256Hex('a'), sha256Hex('b')] }))).toBe(true);
        expect(await store.addCheckpoint(cp(30))).toBe(true);
        expect(await store.latestCheckpoint()).toEqual(cp(30));
        expect(await store.getCheckpoint(20)).toEqual(cp(20, { frontier: [sha256Hex('a'), sha256Hex('b')] }));
        expect(await store.getCheckpoint(15)).toBeNull();
        expect((await store.listCheckpoints()).map((c) => c.size)).toEqual([30, 20, 10]);
        expect((await store.listCheckpoints({ beforeSize: 30, limit: 1 })).map((c) => c.size)).toEqual([20]);
      });

      it("keeps the first fingerprint of a workspace key, whoever asks at once, and gives it back to a different one", async () => {
        const first = await Promise.all(['a', 'b', 'c', 'd'].map((f) => store.keyFingerprint('payload key', f.repeat(64))));
        expect(new Set(first).size).toBe(1);
        const kept = first[0] as string;
        expect(await store.keyFingerprint('payload key', 'e'.repeat(64))).toBe(kept);
        expect(await store.keyFingerprint('audit key', 'f'.repeat(64))).toBe('f'.repeat(64));
        expect(await store.keyFingerprint('payload key', kept)).toBe(kept);
      });
    });

    describe('work shared by instances: runs to drive, rate limits', () => {
      const T0 = '2025-01-01T00:00:00.000Z';
      const T1 = '2025-01-01T00:00:30.000Z';
      const T2 = '2025-01-01T00:02:00.000Z';
      const alive = (id: string, expiresAt = '2025-01-01T00:01:00.000Z'): InstanceLease => ({ id, host: 'h', pid: 1, startedAt: T0, expiresAt });
      const r = (id: string) => id as RunId;

      it('lets one live instance hold a run; another takes it once the holder is gone or its lease expired', async () => {
        await store.renewLease(alive('ins_a'));
        await store.renewLease(alive('ins_b'));
        expect(await store.claimRun(r('run_1'), 'ins_a', T0)).toBe(true);
        expect(await store.claimRun(r('run_1'), 'ins_a', T0)).toBe(true); // its own
        expect(await store.claimRun(r('run_1'), 'ins_b', T1)).toBe(false);
        // Held while it drives: due at once should its holder die, but not taken from a live holder.
        expect(await store.claimDueRuns('ins_b', T1, 10)).toEqual([]);
        // The holder's process is known to be gone (same host, no pid): taken at once.
        expect(await store.claimRun(r('run_1'), 'ins_b', T1, ['ins_a'])).toBe(true);
        expect(await store.claimRun(r('run_1'), 'ins_a', T1)).toBe(false);
        // The holder's lease expired: anyone takes it.
        expect(await store.claimRun(r('run_1'), 'ins_a', T2)).toBe(true);
        // A holder with no lease at all holds nothing.
        expect(await store.claimRun(r('run_2'), 'ins_ghost', T0)).toBe(true);
        expect(await store.claimRun(r('run_2'), 'ins_b', T0)).toBe(true);
      });

      it('releases a run for good, or until a deadline; only its holder can', async () => {
        await store.renewLease(alive('ins_a'));
        await store.renewLease(alive('ins_b'));
        expect(await store.claimRun(r('run_1'), 'ins_a', T0)).toBe(true);
        await store.releaseRun(r('run_1'), 'ins_b', null); // not its holder: nothing
        expect(await store.claimRun(r('run_1'), 'ins_b', T0)).toBe(false);
        await store.releaseRun(r('run_1'), 'ins_a', T1);
        expect(await store.claimDueRuns('ins_b', T0, 10)).toEqual([]); // not due yet
        expect(await store.claimDueRuns('ins_b', T1, 10)).toEqual(['run_1']);
        expect(await store.claimDueRuns('ins_a', T1, 10)).toEqual([]); // ins_b holds it now
        await store.releaseRun(r('run_1'), 'ins_b', null);
        expect(await store.claimDueRuns('ins_a', T2, 10)).toEqual([]); // gone from the queue
      });

      it('never loses a wake: a run woken while held stays due after its holder releases it', async () => {
        await store.renewLease(alive('ins_a'));
        expect(await store.claimRun(r('run_1'), 'ins_a', T0)).toBe(true);
        await store.wakeRun(r('run_1'), T0); // people decided while ins_a was driving
        await store.releaseRun(r('run_1'), 'ins_a', T2); // ins_a saw nothing new and would wait till T2
        expect(await store.claimDueRuns('ins_b', T0, 10)).toEqual(['run_1']);
        // A wake on a run nobody holds queues it; a later claim clears the wake.
        await store.wakeRun(r('run_9'), T1);
        expect(await store.claimDueRuns('ins_b', T0, 10)).toEqual([]);
        expect(await store.claimDueRuns('ins_b', T1, 10)).toEqual(['run_9']);
        await store.releaseRun(r('run_9'), 'ins_b', null);
        await store.releaseRun(r('run_1'), 'ins_b', null);
        expect(await store.claimDueRuns('ins_b', T2, 10)).toEqual([]);
      });

      it('hands each due run to exactly one of many instances claiming at once, oldest due first, at most limit each', async () => {
        for (let i = 0; i < 12; i++) await store.wakeRun(r(`run_${String(i).padStart(2, '0')}`), `2025-01-01T00:00:${String(i).padStart(2, '0')}.000Z`);
        for (const id of ['ins_a', 'ins_b', 'ins_c']) await store.renewLease(alive(id));
        expect(await store.claimDueRuns('ins_a', '2025-01-01T00:00:05.000Z', 2)).toEqual(['run_00', 'run_01']);
        const taken = await Promise.all(['ins_a', 'ins_b', 'ins_c', 'ins_a', 'ins_b', 'ins_c'].map((id) => store.claimDueRuns(id, T1, 3)));
        const all = taken.flat();
        expect(new Set(all).size).toBe(all.length);
        expect([...all].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `run_${String(i + 2).padStart(2, '0')}`));
      });

      it('counts calls per key over a sliding window, shared by all, never past the limit at once', async () => {
        const t = 1_000_000;
        expect(await store.takeRate('k', 2, 3, 60_000, t)).toBe(true);
        expect(await store.takeRate('k', 2, 3, 60_000, t + 10)).toBe(false); // all or none
        expect(await store.takeRate('k', 1, 3, 60_000, t + 20)).toBe(true);
        expect(await store.takeRate('k', 1, 3, 60_000, t + 30)).toBe(false);
        expect(await store.takeRate('other', 3, 3, 60_000, t + 30)).toBe(true);
        // The first two age out exactly one window after they were counted.
        expect(await store.takeRate('k', 1, 3, 60_000, t + 60_000)).toBe(true);
        expect(await store.takeRate('k', 2, 3, 60_000, t + 60_001)).toBe(false);
        expect(await store.takeRate('k', 1, 3, 60_000, t + 60_001)).toBe(true);
        // Many at once: exactly the limit passes.
        const many = await Promise.all(Array.from({ length: 20 }, () => store.takeRate('burst', 1, 7, 60_000, t)));
        expect(many.filter(Boolean)).toHaveLength(7);
      });

      it("opens an external agent's run only while it holds fewer than the cap running, however many ask at once", async () => {
        const ext = (id: string, agent: string, over: Partial<RunRecord> = {}) => run(id, { state: { driver: 'agent', agent, door: 'mcp' }, ...over });
        // Not counted: another agent's run, one of its own that ended, and one Airlock's loop drives as it.
        await store.createRun(ext('run_other', 'other-bot'));
        await store.createRun(ext('run_done', 'refund-bot', { status: 'completed' }));
        await store.createRun(run('run_loop', { state: { driver: 'model', agent: 'refund-bot' } }));
        const cap = { agent: 'refund-bot', max: 3 };
        const first = await store.createRunWithin(ext('run_a', 'refund-bot'), [draft(1, { runId: 'run_a', type: 'run.started' })], cap);
        expect(first).toEqual({ records: [expect.objectContaining({ seq: 1, type: 'run.started', runId: 'run_a' })] });
        const asked = Array.from({ length: 8 }, (_, i) => `run_m${i}`);
        const many = await Promise.all(asked.map((id, i) => store.createRunWithin(ext(id, 'refund-bot'), [draft(i, { runId: id, type: 'run.started' })], cap)));
        expect(many.filter((m) => 'records' in m)).toHaveLength(2);
        expect(many.filter((m) => 'held' in m)).toEqual(Array.from({ length: 6 }, () => ({ held: 3 })));
        // A refused run was not written, nor its records.
        const made = await Promise.all(asked.map((id) => store.getRun(id as RunId)));
        expect(made.filter((x) => x !== null)).toHaveLength(2);
        expect((await store.auditHead())?.seq).toBe(3);
        expect((await store.readAudit(1, 10)).map((x) => x.runId).sort()).toEqual(['run_a', ...asked.filter((_, i) => made[i] !== null)].sort());
        // Another agent has its own cap; one of this agent's runs ending frees a place.
        expect(await store.createRunWithin(ext('run_o2', 'other-bot'), [], { agent: 'other-bot', max: 3 })).toEqual({ records: [] });
        expect(await store.createRunWithin(ext('run_z', 'refund-bot'), [], cap)).toEqual({ held: 3 });
        await store.saveRun(ext('run_a', 'refund-bot', { status: 'completed', version: 2 }));
        expect(await store.createRunWithin(ext('run_z', 'refund-bot'), [], cap)).toEqual({ records: [] });
        expect((await store.getRun('run_z' as RunId))?.status).toBe('running');
      });
    });
  });
}
