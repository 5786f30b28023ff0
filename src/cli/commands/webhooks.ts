// `airlock webhooks`: the approval-webhook outbox (status, attempts, last error), its delivery log, and delivering what is due.
import type { Command } from 'commander';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';
import { AirlockError } from '../../errors.js';
import type { DeliveryRecord, NotificationRecord } from '../../store/store.js';
import { bold, dim, green, red, yellow } from '../render.js';

/** What `registerWebhooksCommand` needs from the program that hosts it. */
export type WebhooksCommandHelpers = WorkspaceCommandHelpers;

/** Adds `webhooks` (list the outbox), `webhooks log [ID]` and `webhooks deliver` to `program`. */
export function registerWebhooksCommand(program: Command, helpers: WebhooksCommandHelpers): Command {
  const { out } = helpers;
  const withAirlock = workspaceRunner(helpers);

  const webhooks = program
    .command('webhooks')
    .description('approval webhooks: list notifications (newest first) with status, attempts and last error')
    .option('--failed', 'only notifications that gave up after their last attempt')
    .option('--limit <n>', 'at most this many', '20')
    .action(async (o: { failed?: boolean; limit: string }) => {
      const limit = parseLimit(o.limit);
      await withAirlock(async (a) => {
        const list = await a.store.listNotifications({ limit, ...(o.failed ? { status: 'failed' as const } : {}) });
        if (list.length === 0) {
          out(o.failed ? 'no failed notifications' : 'no notifications (none queued yet, or no webhook under `notifications.webhooks`)');
          return;
        }
        const maxAttempts = new Map(a.workspace.file.notifications.webhooks.map((w) => [w.name, w.maxAttempts] as const));
        for (const n of list) out(renderNotification(n, maxAttempts.get(n.webhook)));
      });
    });

  webhooks
    .command('log [id]')
    .description('the delivery log, oldest first: every attempt with its HTTP status, error and duration (of one notification, or all)')
    .action(async (id?: string) => {
      await withAirlock(async (a) => {
        const log = await a.store.listDeliveries(id);
        if (log.length === 0) {
          out(id === undefined ? 'no delivery attempts yet' : `no delivery attempts for \`${id}\` (see \`airlock webhooks\` for notification ids)`);
          return;
        }
        for (const d of log) out(renderDelivery(d));
      });
    });

  webhooks
    .command('deliver')
    .description('attempt every due notification once now, and print how many were delivered, will be retried, or failed')
    .action(async () => {
      await withAirlock(async (a) => {
        const c = await a.notifier.deliverDue();
        out(`${green(`delivered ${c.delivered}`)}, ${yellow(`retrying ${c.retrying}`)}, ${c.failed > 0 ? red(`failed ${c.failed}`) : `failed ${c.failed}`}`);
        if (c.failed > 0) out(dim('see `airlock webhooks --failed` and `airlock webhooks log ID`'));
      });
    });

  return webhooks;
}

function parseLimit(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 10_000) {
    throw new AirlockError('input', `--limit \`${text}\` is not a whole number from 1 to 10000`, { hint: 'e.g. `--limit 50`' });
  }
  return Number(text);
}

/** One notification: id, status, webhook, event, attempts; then its last error and next attempt when it has them. */
export function renderNotification(n: NotificationRecord, maxAttempts: number | undefined): string {
  const paint = n.status === 'delivered' ? green : n.status === 'failed' ? red : yellow;
  const status = paint(n.status.padEnd(9));
  const lines = [
    `${bold(n.id)}  ${status}  ${n.webhook}  ${n.event}  attempts ${n.attempts}${maxAttempts === undefined ? '' : `/${maxAttempts}`}  ${dim(`queued ${n.createdAt}`)}`,
  ];
  if (n.status === 'pending') lines.push(`  next attempt  ${n.nextAttemptAt}`);
  if (n.lastError !== null) lines.push(`  last error    ${n.lastError}`);
  return lines.join('\n');
}

/** One delivery attempt: when, which notification and attempt, the outcome, how long it took. */
export function renderDelivery(d: DeliveryRecord): string {
  const outcome = d.ok ? green(`ok HTTP ${d.httpStatus ?? '?'}`) : red(d.httpStatus === null ? 'error' : `HTTP ${d.httpStatus}`);
  return `${dim(d.time)}  ${d.notificationId} #${d.attempt}  ${d.webhook}  ${outcome}  ${d.durationMs} ms${d.error ? `\n  ${d.error}` : ''}`;
}
