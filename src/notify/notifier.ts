// Approval webhooks: events go into the store's outbox, then each is POSTed signed, retried with backoff, every attempt logged.
import { randomBytes } from 'node:crypto';
import type { Workspace, WorkspaceFile } from '../config/schema.js';
import type { DeliveryRecord, NotificationRecord, Store } from '../store/store.js';
import type { JsonObject } from '../types.js';
import { signWebhook } from './signature.js';

/** The approval events a webhook can subscribe to. */
export const APPROVAL_EVENTS = ['approval.requested', 'approval.decided', 'approval.expired', 'approval.escalated', 'approval.withdrawn'] as const;
export type ApprovalEvent = (typeof APPROVAL_EVENTS)[number];

/** One `notifications.webhooks` entry of airlock.yaml, defaults applied. */
export type WebhookConfig = WorkspaceFile['notifications']['webhooks'][number];

// The schema lists the events too (it may not import from here): the two lists must name the same events.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _eventsMatchSchema: Same<ApprovalEvent, WebhookConfig['events'][number]> = true;

/** The longest wait between two attempts. */
export const MAX_RETRY_DELAY_MS = 10 * 60 * 1000;
/** How long a claimed attempt may run past its timeout before another process may take it over. */
const LEASE_MARGIN_MS = 60_000;
/** Due notifications read per batch, and attempts made at once. */
const BATCH = 100;
const CONCURRENCY = 8;
/** How much of a refusing receiver's answer the delivery log keeps. */
const SNIPPET_CHARS = 200;

/** What `deliverDue` did: attempts that delivered, that will be retried, and that gave up. */
export interface DeliveryCounts {
  readonly delivered: number;
  readonly retrying: number;
  readonly failed: number;
}

/** Sends approval events to the workspace's webhooks through a durable outbox (at least once). */
export interface Notifier {
  /** Queues the event durably (one outbox row per subscribed webhook). Never throws for delivery problems. */
  publish(event: ApprovalEvent, data: JsonObject): Promise<void>;
  /** Attempts every due delivery once (claiming each with the store's compare-and-set); returns counts. */
  deliverDue(): Promise<DeliveryCounts>;
}

/**
 * A destination other than a webhook (Slack): it subscribes to events, and sends a notification its
 * own way. It rides the same durable outbox (its rows carry its `name`, which no webhook can have),
 * so it is retried, logged and given up on exactly like a webhook.
 */
export interface Channel {
  /** Starts with `@` (webhook names cannot). */
  readonly name: `@${string}`;
  readonly events: readonly ApprovalEvent[];
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  /** One attempt; never throws (every failure is an outcome). */
  send(n: NotificationRecord, at: Date): Promise<Outcome>;
}

/** What `createNotifier` needs; `fetch`, `env` and `random` default to the process's own. */
export interface NotifierDeps {
  readonly store: Store;
  readonly workspace: Workspace;
  readonly now: () => Date;
  /** Channels beside the webhooks (Slack), wired by the composition root. */
  readonly channels?: readonly Channel[];
  readonly fetch?: typeof fetch;
  /** Where each webhook's `secretEnv` is looked up. */
  readonly env?: NodeJS.ProcessEnv;
  /** In [0, 1): the jitter of retry delays. */
  readonly random?: () => number;
}

/**
 * The wait after failed attempt number `attempt` (1-based): 2^attempt seconds, at most 10 minutes,
 * less up to a quarter of that at random so that receivers coming back are not hit all at once.
 */
export function retryDelayMs(attempt: number, random: () => number): number {
  return Math.round(Math.min(2 ** attempt * 1000, MAX_RETRY_DELAY_MS) * (1 - random() / 4));
}

/** A notifier over `store` for the webhooks declared in `workspace`. */
export function createNotifier(deps: NotifierDeps): Notifier {
  const { store, now } = deps;
  const webhooks = deps.workspace.file.notifications.webhooks;
  const byName = new Map(webhooks.map((w) => [w.name, w] as const));
  const channels = new Map((deps.channels ?? []).map((c) => [c.name as string, c] as const));
  const doFetch = deps.fetch ?? ((input, init) => fetch(input, init));
  const env = deps.env ?? process.env;
  const random = deps.random ?? Math.random;

  /** One attempt at one due notification; `skipped` when another process claimed it first. */
  async function attempt(n: NotificationRecord): Promise<'delivered' | 'retrying' | 'failed' | 'skipped'> {
    const hook = byName.get(n.webhook);
    const channel = channels.get(n.webhook);
    const target = hook ?? channel;
    const started = now();
    const claimed = await store.claimNotification(n.id, n.attempts, iso(started.getTime() + (target?.timeoutMs ?? 0) + LEASE_MARGIN_MS));
    if (!claimed) return 'skipped';
    const outcome: Outcome = hook
      ? await send(hook, claimed, started)
      : channel
        ? await channel.send(claimed, started)
        : { ok: false, httpStatus: null, error: `\`${n.webhook}\` is no longer declared in airlock.yaml: not sent`, durationMs: 0 };
    const finished = now();
    const giveUp = !target || claimed.attempts >= target.maxAttempts;
    const status = outcome.ok ? 'delivered' : giveUp ? 'failed' : 'pending';
    const delivery: DeliveryRecord = {
      notificationId: claimed.id,
      webhook: claimed.webhook,
      attempt: claimed.attempts,
      time: started.toISOString(),
      ok: outcome.ok,
      httpStatus: outcome.httpStatus,
      error: outcome.error,
      durationMs: outcome.durationMs,
    };
    await store.finishNotification(
      claimed.id,
      {
        status,
        nextAttemptAt: status === 'pending' ? iso(finished.getTime() + retryDelayMs(claimed.attempts, random)) : finished.toISOString(),
        lastError: outcome.error,
      },
      delivery,
    );
    return status === 'pending' ? 'retrying' : status;
  }

  /** POSTs the notification's body, signed now; never throws (every failure is an outcome). */
  async function send(hook: WebhookConfig, n: NotificationRecord, at: Date): Promise<Outcome> {
    const secret = env[hook.secretEnv];
    if (!secret) {
      return {
        ok: false,
        httpStatus: null,
        error: `the signing secret is missing: set the environment variable \`${hook.secretEnv}\` (webhook \`${hook.name}\`); not sent`,
        durationMs: 0,
      };
    }
    const t0 = performance.now();
    const ms = () => Math.round(performance.now() - t0);
    let res: Response;
    try {
      res = await doFetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'airlock-webhooks',
          'airlock-event-id': n.id,
          'airlock-event': n.event,
          // Signed at each attempt: a retry carries a fresh timestamp, inside the receiver's replay window.
          'airlock-signature': signWebhook(secret, Math.floor(at.getTime() / 1000), n.body),
        },
        body: n.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(hook.timeoutMs),
      });
    } catch (e) {
      return { ok: false, httpStatus: null, error: fetchError(e, hook.timeoutMs), durationMs: ms() };
    }
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => undefined);
      return { ok: true, httpStatus: res.status, error: null, durationMs: ms() };
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      const to = res.headers.get('location');
      return {
        ok: false,
        httpStatus: res.status,
        error: `the receiver answered HTTP ${res.status} (a redirect${to ? ` to \`${to}\`` : ''}), which is never followed: point \`url\` at the final address`,
        durationMs: ms(),
      };
    }
    const said = await snippet(res);
    return { ok: false, httpStatus: res.status, error: `the receiver answered HTTP ${res.status}${said ? `: ${said}` : ''}`, durationMs: ms() };
  }

  return {
    async publish(event, data) {
      const hooks = [...webhooks, ...channels.values()].filter((w) => w.events.includes(event));
      if (hooks.length === 0) return;
      const createdAt = now().toISOString();
      await store.enqueueNotifications(
        hooks.map((w): NotificationRecord => {
          const id = `evt_${randomBytes(12).toString('hex')}`;
          return {
            id,
            webhook: w.name,
            event,
            body: JSON.stringify({ id, type: event, createdAt, data }),
            createdAt,
            status: 'pending',
            attempts: 0,
            nextAttemptAt: createdAt,
            lastError: null,
          };
        }),
      );
    },

    async deliverDue() {
      const counts = { delivered: 0, retrying: 0, failed: 0 };
      // INVARIANT: each notification is attempted at most once per call (a retry is never due at once,
      // but the set makes "once" hold whatever the clock does).
      const seen = new Set<string>();
      for (;;) {
        const due = (await store.dueNotifications(now().toISOString(), BATCH)).filter((n) => !seen.has(n.id));
        if (due.length === 0) return counts;
        for (const n of due) seen.add(n.id);
        const results = await pool(due, CONCURRENCY, attempt);
        for (const r of results) if (r !== 'skipped') counts[r]++;
      }
    },
  };
}

/** One attempt's result, as the delivery log keeps it. */
export interface Outcome {
  readonly ok: boolean;
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Why a request got no answer: a timeout, or the network (refused, reset, DNS...). */
export function fetchError(e: unknown, timeoutMs: number): string {
  const name = (e as { name?: unknown }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms (timeoutMs)`;
  const cause = (e as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e);
  return `network error: ${detail}`;
}

/** The start of a refusing receiver's answer (one line, bounded), or '' when it has none or it cannot be read in time. */
export async function snippet(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < SNIPPET_CHARS) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // a timeout or reset while reading: keep what came
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > SNIPPET_CHARS ? `${line.slice(0, SNIPPET_CHARS)}…` : line;
}

/** Maps `items` through `fn` with at most `limit` calls in flight, results in order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
