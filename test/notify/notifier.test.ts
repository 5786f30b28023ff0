// The webhook outbox against a real receiver on loopback: signed POSTs, retries on a backoff schedule
// (an injected clock), timeouts, redirects, giving up, a missing secret, and two notifiers racing.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { workspaceSchema, type Workspace } from '../../src/config/schema.js';
import { createNotifier, MAX_RETRY_DELAY_MS, retryDelayMs, type NotifierDeps } from '../../src/notify/notifier.js';
import { verifyWebhookSignature } from '../../src/notify/signature.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { startReceiver, type Received, type Receiver } from './receiver.js';

const SECRET = 'whsec_loopback_test';
const ENV = { AIRLOCK_WEBHOOK_SECRET: SECRET };
const START = Date.parse('2025-01-01T00:00:00.000Z');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-notify-'));
let n = 0;
const freshFile = (): string => path.join(tmp, `s${++n}`, 'airlock.db');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A workspace holding only `notifications.webhooks` (parsed by the real schema, so defaults apply). */
function workspaceWith(webhooks: readonly Record<string, unknown>[]): Workspace {
  const notifications = workspaceSchema.shape.notifications.parse({ webhooks });
  return { dir: tmp, file: { notifications } } as unknown as Workspace;
}

/** A clock the test moves by hand. */
function manualClock(): { now: () => Date; advance: (ms: number) => void; ms: () => number } {
  let t = START;
  return { now: () => new Date(t), advance: (ms) => void (t += ms), ms: () => t };
}

/** What the receiver's own check says about a request, at the given time. */
function check(r: Received, nowMs: number, secret = SECRET) {
  return verifyWebhookSignature({ secret, header: r.headers['airlock-signature'] as string | undefined, body: r.body, nowSeconds: Math.floor(nowMs / 1000) });
}

describe('retryDelayMs', () => {
  it('doubles from 2 s and stops at 10 minutes; jitter only shortens, by at most a quarter', () => {
    expect(Array.from({ length: 11 }, (_, i) => retryDelayMs(i + 1, () => 0))).toEqual([
      2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 600_000, 600_000,
    ]);
    expect(MAX_RETRY_DELAY_MS).toBe(600_000);
    expect(retryDelayMs(1, () => 0.5)).toBe(1_750);
    expect(retryDelayMs(20, () => 0.999_999)).toBeGreaterThanOrEqual(450_000);
    expect(retryDelayMs(20, () => 0.999_999)).toBeLessThanOrEqual(600_000);
  });
});

describe('webhook outbox', () => {
  let receiver: Receiver;
  let store: Store;
  let clock: ReturnType<typeof manualClock>;
  const hook = (over: Record<string, unknown> = {}) => ({ name: 'approvals-channel', url: `${receiver.origin}/airlock`, secretEnv: 'AIRLOCK_WEBHOOK_SECRET', ...over });
  const notifier = (webhooks: readonly Record<string, unknown>[], over: Partial<NotifierDeps> = {}) =>
    createNotifier({ store, workspace: workspaceWith(webhooks), now: clock.now, env: ENV, random: () => 0, ...over });

  beforeEach(async () => {
    receiver = await startReceiver();
    store = await openSqliteStore(freshFile());
    clock = manualClock();
  });
  afterEach(async () => {
    await receiver.close();
    await store.close();
  });

  it('queues one row per subscribed webhook; publishing to nobody is a no-op', async () => {
    const notify = notifier([hook({ events: ['approval.decided'] }), hook({ name: 'audit-sink' })]);
    await notify.publish('approval.requested', { approvalId: 'apr_1' });
    const rows = await store.listNotifications();
    expect(rows.map((r) => [r.webhook, r.event, r.status, r.attempts])).toEqual([['audit-sink', 'approval.requested', 'pending', 0]]);
    expect(JSON.parse(rows[0]!.body)).toEqual({ id: rows[0]!.id, type: 'approval.requested', createdAt: '2025-01-01T00:00:00.000Z', data: { approvalId: 'apr_1' } });

    await notify.publish('approval.decided', { approvalId: 'apr_1', status: 'approved' });
    const decided = (await store.listNotifications()).filter((r) => r.event === 'approval.decided');
    expect(decided.map((r) => r.webhook).sort()).toEqual(['approvals-channel', 'audit-sink']);
    expect(new Set(decided.map((r) => r.id)).size).toBe(2);

    const nobody = notifier([hook({ events: ['approval.expired'] })]);
    await nobody.publish('approval.escalated', { approvalId: 'apr_1' });
    await notifier([]).publish('approval.requested', { approvalId: 'apr_2' });
    expect(await store.listNotifications()).toHaveLength(3);
  });

  it('POSTs a signed body the receiver verifies, retries a 500 on the backoff schedule, then delivers', async () => {
    receiver.answers = [{ status: 500, text: 'database is down\n' }];
    const notify = notifier([hook()]);
    await notify.publish('approval.requested', { approvalId: 'apr_1', tool: 'payments.refund' });

    expect(await notify.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    expect(receiver.received).toHaveLength(1);
    const first = receiver.received[0]!;
    expect(first.path).toBe('/airlock');
    expect(check(first, clock.ms())).toEqual({ ok: true });
    expect(check(first, clock.ms(), 'wrong-secret')).toMatchObject({ ok: false, reason: 'mismatch' });
    const [row] = await store.listNotifications();
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['user-agent']).toBe('airlock-webhooks');
    expect(first.headers['airlock-event']).toBe('approval.requested');
    expect(first.headers['airlock-event-id']).toBe(row!.id);
    expect(first.body).toBe(row!.body);
    expect(JSON.parse(first.body)).toMatchObject({ id: row!.id, type: 'approval.requested', data: { approvalId: 'apr_1', tool: 'payments.refund' } });
    expect(row).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: '2025-01-01T00:00:02.000Z' });
    expect(row!.lastError).toBe('the receiver answered HTTP 500: database is down');

    // Not due before the backoff runs out: nothing is sent.
    expect(await notify.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    clock.advance(1_999);
    expect(await notify.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    expect(receiver.received).toHaveLength(1);

    clock.advance(1);
    expect(await notify.deliverDue()).toEqual({ delivered: 1, retrying: 0, failed: 0 });
    expect(receiver.received).toHaveLength(2);
    const second = receiver.received[1]!;
    // The same event (receivers deduplicate on its id), re-signed at the time of the retry.
    expect(second.headers['airlock-event-id']).toBe(row!.id);
    expect(second.body).toBe(first.body);
    expect(second.headers['airlock-signature']).toMatch(new RegExp(`^t=${(START + 2_000) / 1000},v1=`));
    expect(check(second, clock.ms())).toEqual({ ok: true });
    // The first signature is stale for a receiver whose clock is well past its timestamp.
    expect(check(first, clock.ms() + 301_000)).toMatchObject({ ok: false, reason: 'expired' });

    expect(await store.listNotifications()).toMatchObject([{ id: row!.id, status: 'delivered', attempts: 2, lastError: null }]);
    const log = await store.listDeliveries(row!.id);
    expect(log.map((d) => [d.attempt, d.time, d.ok, d.httpStatus, d.error])).toEqual([
      [1, '2025-01-01T00:00:00.000Z', false, 500, 'the receiver answered HTTP 500: database is down'],
      [2, '2025-01-01T00:00:02.000Z', true, 200, null],
    ]);
    expect(log.every((d) => d.webhook === 'approvals-channel' && d.durationMs >= 0)).toBe(true);
    expect(await notify.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
  });

  it('records a receiver that never answers as a timeout, and retries it', async () => {
    receiver.fallback = 'hang';
    const notify = notifier([hook({ timeoutMs: 100 })]);
    await notify.publish('approval.expired', { approvalId: 'apr_1' });
    expect(await notify.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    expect(receiver.received).toHaveLength(1);
    const [d] = await store.listDeliveries();
    expect(d).toMatchObject({ attempt: 1, ok: false, httpStatus: null, error: 'no answer within 100 ms (timeoutMs)' });
    expect(await store.listNotifications()).toMatchObject([{ status: 'pending', attempts: 1, lastError: 'no answer within 100 ms (timeoutMs)' }]);
  });

  it('never follows a redirect: a 3xx is a failed attempt', async () => {
    receiver.fallback = { status: 302, location: '/elsewhere' };
    const notify = notifier([hook()]);
    await notify.publish('approval.decided', { approvalId: 'apr_1' });
    expect(await notify.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    expect(receiver.received.map((r) => r.path)).toEqual(['/airlock']);
    const [d] = await store.listDeliveries();
    expect(d).toMatchObject({ ok: false, httpStatus: 302 });
    expect(d!.error).toMatch(/HTTP 302 \(a redirect to `\/elsewhere`\), which is never followed/);
  });

  it('records a refused connection as a network error', async () => {
    const closed = await startReceiver();
    const url = `${closed.origin}/airlock`;
    await closed.close();
    const notify = notifier([hook({ url })]);
    await notify.publish('approval.requested', { approvalId: 'apr_1' });
    expect(await notify.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    const [d] = await store.listDeliveries();
    expect(d).toMatchObject({ ok: false, httpStatus: null });
    expect(d!.error).toMatch(/^network error: .*ECONNREFUSED/);
  });

  it('gives up after maxAttempts: the notification is failed and never sent again', async () => {
    receiver.fallback = { status: 503 };
    const notify = notifier([hook({ maxAttempts: 3 })]);
    await notify.publish('approval.escalated', { approvalId: 'apr_1' });
    const results = [];
    const due = [];
    for (let i = 0; i < 4; i++) {
      results.push(await notify.deliverDue());
      due.push((await store.listNotifications())[0]!.nextAttemptAt);
      clock.advance(MAX_RETRY_DELAY_MS);
    }
    expect(results).toEqual([
      { delivered: 0, retrying: 1, failed: 0 },
      { delivered: 0, retrying: 1, failed: 0 },
      { delivered: 0, retrying: 0, failed: 1 },
      { delivered: 0, retrying: 0, failed: 0 },
    ]);
    // Retries 2 s after the first attempt, 4 s after the second (attempts are 10 minutes apart here).
    expect(due.slice(0, 2)).toEqual(['2025-01-01T00:00:02.000Z', '2025-01-01T00:10:04.000Z']);
    expect(receiver.received).toHaveLength(3);
    expect(await store.listNotifications({ status: 'failed' })).toMatchObject([{ attempts: 3, lastError: 'the receiver answered HTTP 503' }]);
    expect((await store.listDeliveries()).map((d) => [d.attempt, d.httpStatus])).toEqual([
      [1, 503],
      [2, 503],
      [3, 503],
    ]);
  });

  it('does not send without the secret: the attempt is recorded with the variable to set', async () => {
    const notify = notifier([hook({ secretEnv: 'ACME_HOOK_SECRET' })], { env: {} });
    await notify.publish('approval.requested', { approvalId: 'apr_1' });
    expect(await notify.deliverDue()).toEqual({ delivered: 0, retrying: 1, failed: 0 });
    expect(receiver.received).toHaveLength(0);
    const [d] = await store.listDeliveries();
    expect(d).toMatchObject({ attempt: 1, ok: false, httpStatus: null });
    expect(d!.error).toMatch(/set the environment variable `ACME_HOOK_SECRET`/);

    // Once the variable is set, the retry goes out.
    clock.advance(2_000);
    const fixed = notifier([hook({ secretEnv: 'ACME_HOOK_SECRET' })], { env: { ACME_HOOK_SECRET: SECRET } });
    expect(await fixed.deliverDue()).toEqual({ delivered: 1, retrying: 0, failed: 0 });
    expect(check(receiver.received[0]!, clock.ms())).toEqual({ ok: true });
  });

  it('fails a notification whose webhook is no longer declared, without sending it', async () => {
    await notifier([hook({ name: 'old-hook' })]).publish('approval.requested', { approvalId: 'apr_1' });
    expect(await notifier([hook()]).deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 1 });
    expect(receiver.received).toHaveLength(0);
    expect(await store.listNotifications()).toMatchObject([{ status: 'failed', attempts: 1, lastError: expect.stringMatching(/`old-hook` is no longer declared/) as unknown }]);
  });

  it('delivers each event exactly once when two notifiers (two store handles) race', async () => {
    const file = freshFile();
    const a = await openSqliteStore(file);
    const b = await openSqliteStore(file);
    try {
      const webhooks = [hook()];
      const na = createNotifier({ store: a, workspace: workspaceWith(webhooks), now: clock.now, env: ENV });
      const nb = createNotifier({ store: b, workspace: workspaceWith(webhooks), now: clock.now, env: ENV });
      for (let i = 0; i < 12; i++) await (i % 2 ? na : nb).publish('approval.requested', { approvalId: `apr_${i}` });
      const [ra, rb] = await Promise.all([na.deliverDue(), nb.deliverDue()]);
      expect(ra.delivered + rb.delivered).toBe(12);
      expect(ra.retrying + rb.retrying + ra.failed + rb.failed).toBe(0);
      const ids = receiver.received.map((r) => r.headers['airlock-event-id']);
      expect(ids).toHaveLength(12);
      expect(new Set(ids).size).toBe(12);
      const rows = await a.listNotifications();
      expect(rows.every((r) => r.status === 'delivered' && r.attempts === 1)).toBe(true);
      expect(await b.listDeliveries()).toHaveLength(12);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
