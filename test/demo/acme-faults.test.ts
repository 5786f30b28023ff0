// The Acme server CLI: bad arguments exit 2, and ACME_FAULT makes a real server fail on purpose.
import { spawnSync } from 'node:child_process';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openAcmeDb, snapshotAcme } from '../../src/demo/acme/db.js';
import { call, connect, requireBuild, SERVER_JS, tempDb, type Connected } from './acme-harness.js';

const refund = { order_id: '1182', amount_cents: 4000, currency: 'EUR', reason: 'broken dripper' };
let tmp: ReturnType<typeof tempDb>;
let open: Connected[] = [];

async function start(system: string, fault?: string): Promise<Connected> {
  const c = await connect(system, tmp.db, fault === undefined ? {} : { ACME_FAULT: fault });
  open.push(c);
  return c;
}

function refundRows(): number {
  const db = openAcmeDb(tmp.db);
  try {
    return snapshotAcme(db).refunds.filter((r) => r['order_id'] === '1182').length;
  } finally {
    db.close();
  }
}

beforeAll(() => requireBuild());
beforeEach(() => {
  tmp = tempDb();
});
afterEach(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => undefined)));
  open = [];
  tmp.cleanup();
});

describe('command line', () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [SERVER_JS, ...args], { input: '', encoding: 'utf8', env: { ...process.env, ...env } });

  it.each([
    [['bogus', '--db', 'x.db'], /unknown system `bogus`/],
    [['payments'], /missing `--db <path>`/],
    [['payments', '--db'], /`--db` needs a path/],
    [[], /missing the system/],
    [['payments', '--db', 'x.db', '--verbose'], /unknown option `--verbose`/],
  ])('%j exits 2 with a message on stderr', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/usage: server\.js <system> --db <path>/);
    expect(r.stdout).toBe('');
  });

  it('refuses a malformed ACME_FAULT with exit 2', () => {
    const r = run(['payments', '--db', tmp.db], { ACME_FAULT: 'refund:explode' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad ACME_FAULT `refund:explode`/);
  });
});

/**
 * For a crash, which must come back as a closed connection: far longer than reporting a crash
 * takes, so a loaded machine cannot turn it into a time-out (a crash noticed only by waiting would fail).
 */
const CRASH_TIMEOUT_MS = 30_000;

describe('fault injection', () => {
  it('crash: the process exits when the tool is called, before any effect', async () => {
    const s = await start('payments', 'refund:crash');
    const closed = new Promise<void>((resolve) => (s.client.onclose = resolve));
    await expect(s.client.callTool({ name: 'refund', arguments: refund }, undefined, { timeout: CRASH_TIMEOUT_MS })).rejects.toThrow(
      /connection closed/i,
    );
    await closed;
    expect(s.stderr()).toMatch(/fault injected: crashing on `refund`/);
    expect(refundRows()).toBe(0);
  });

  it('hang: the call is never answered; other tools still work', async () => {
    const s = await start('payments', 'payments.refund:hang');
    await expect(s.client.callTool({ name: 'refund', arguments: refund }, undefined, { timeout: 300 })).rejects.toThrow(
      /timed out/i,
    );
    expect(await call(s.client, 'list_refunds', { order_id: '1182' })).toEqual({ refunds: [] });
    expect(refundRows()).toBe(0);
  });

  it('garbage: a non-JSON line comes back instead of an answer', async () => {
    const s = await start('payments', 'refund:garbage');
    const errors: Error[] = [];
    s.client.onerror = (e) => errors.push(e);
    await expect(s.client.callTool({ name: 'refund', arguments: refund }, undefined, { timeout: 300 })).rejects.toThrow(
      /timed out/i,
    );
    expect(errors.some((e) => /JSON/i.test(e.message))).toBe(true);
    expect(refundRows()).toBe(0);
  });

  it('crash-after: the effect commits, the answer is lost, and an idempotent retry finds the original', async () => {
    const s = await start('payments', 'refund:crash-after');
    const args = { ...refund, idempotency_key: 'run-7:refund' };
    await expect(s.client.callTool({ name: 'refund', arguments: args }, undefined, { timeout: CRASH_TIMEOUT_MS })).rejects.toThrow(
      /connection closed/i,
    );
    expect(refundRows()).toBe(1);
    const healthy = await start('payments');
    expect(await call(healthy.client, 'refund', args)).toEqual({
      refund_id: 'RF-1001',
      order_id: '1182',
      amount_cents: 4000,
      status: 'completed',
    });
    expect(refundRows()).toBe(1);
  });

  it('hang-after: the effect commits but the answer never comes', async () => {
    const s = await start('mail', 'send:hang-after');
    const args = { to: 'lena.park@example.net', subject: 's', body: 'b' };
    await expect(s.client.callTool({ name: 'send', arguments: args }, undefined, { timeout: 300 })).rejects.toThrow(
      /timed out/i,
    );
    const db = openAcmeDb(tmp.db);
    try {
      expect(snapshotAcme(db).sent_mail).toHaveLength(1);
    } finally {
      db.close();
    }
  });

  it('a fault named for another system leaves this one alone', async () => {
    const s = await start('payments', 'mail.refund:crash');
    expect(await call(s.client, 'refund', refund)).toMatchObject({ refund_id: 'RF-1001' });
  });
});
