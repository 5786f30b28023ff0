// `airlock webhooks`, `webhooks log [ID]` and `webhooks deliver` over a real store and a loopback receiver.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Airlock } from '../../src/airlock.js';
import { registerWebhooksCommand } from '../../src/cli/commands/webhooks.js';
import { workspaceSchema, type Workspace } from '../../src/config/schema.js';
import { AirlockError } from '../../src/errors.js';
import { createNotifier } from '../../src/notify/notifier.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { startReceiver, type Receiver } from './receiver.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-notify-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

describe('airlock webhooks', () => {
  let receiver: Receiver;
  let file: string;
  let lines: string[];
  let closed: number;
  const now = () => new Date('2025-01-01T00:00:00.000Z');

  /** Runs `airlock ...args` with the command registered on a fresh program; each run opens the store anew. */
  async function cli(...args: string[]): Promise<string> {
    lines = [];
    const program = new Command().exitOverride();
    registerWebhooksCommand(program, {
      out: (l) => lines.push(l),
      workspaceDir: () => tmp,
      open: async () => {
        const store = await openSqliteStore(file);
        const notifications = workspaceSchema.shape.notifications.parse({
          webhooks: [{ name: 'approvals-channel', url: `${receiver.origin}/hook`, secretEnv: 'HOOK_SECRET', maxAttempts: 2 }],
        });
        const workspace = { dir: tmp, file: { notifications } } as unknown as Workspace;
        const notifier = createNotifier({ store, workspace, now, env: { HOOK_SECRET: 's3cret' }, random: () => 0 });
        return { store, workspace, notifier, close: async () => void (closed++, await store.close()) } as unknown as Airlock;
      },
    });
    await program.parseAsync(['node', 'airlock', ...args]);
    return lines.join('\n');
  }

  beforeEach(async () => {
    receiver = await startReceiver();
    file = path.join(tmp, `s${++n}`, 'airlock.db');
    closed = 0;
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('lists, delivers and shows the delivery log', async () => {
    expect(await cli('webhooks')).toMatch(/^no notifications/);
    // Two approval events queued by another process on the same store.
    const queued = await (async () => {
      const store = await openSqliteStore(file);
      const notifications = workspaceSchema.shape.notifications.parse({
        webhooks: [{ name: 'approvals-channel', url: `${receiver.origin}/hook`, secretEnv: 'HOOK_SECRET' }],
      });
      const notifier = createNotifier({ store, workspace: { file: { notifications } } as unknown as Workspace, now });
      await notifier.publish('approval.decided', { approvalId: 'apr_1' });
      await notifier.publish('approval.expired', { approvalId: 'apr_2' });
      const ids = (await store.listNotifications()).map((r) => r.id);
      await store.close();
      return ids;
    })();
    expect(queued).toHaveLength(2);

    receiver.answers = [{ status: 500 }, { status: 200 }];
    expect(await cli('webhooks', 'deliver')).toMatch(/delivered 1, retrying 1, failed 0/);
    expect(receiver.received).toHaveLength(2);

    const listing = await cli('webhooks');
    expect(listing).toMatch(/delivered\s+approvals-channel/);
    expect(listing).toMatch(/pending\s+approvals-channel .* attempts 1\/2/);
    expect(listing).toMatch(/next attempt {2}2025-01-01T00:00:02\.000Z/);
    expect(listing).toMatch(/last error {4}the receiver answered HTTP 500/);
    expect(await cli('webhooks', '--limit', '1')).toMatch(/^evt_\S+ /);
    expect((await cli('webhooks', '--limit', '1')).match(/^evt_/gm)).toHaveLength(1);
    expect(await cli('webhooks', '--failed')).toBe('no failed notifications');

    const log = await cli('webhooks', 'log');
    expect(log.split('\n').filter((l) => l.includes(' #1 '))).toHaveLength(2);
    expect(log).toMatch(/ok HTTP 200/);
    expect(log).toMatch(/HTTP 500\s+\d+ ms\n {2}the receiver answered HTTP 500/);
    for (const id of queued) expect(await cli('webhooks', 'log', id)).toContain(`${id} #1`);
    expect(await cli('webhooks', 'log', 'evt_nope')).toMatch(/no delivery attempts for `evt_nope`/);
    expect(closed).toBeGreaterThan(0);
  });

  it('refuses a limit that is not a positive whole number', async () => {
    for (const bad of ['0', '-1', 'ten', '1.5']) {
      await expect(cli('webhooks', '--limit', bad)).rejects.toBeInstanceOf(AirlockError);
    }
  });
});
