// What a long-running `airlock serve` does between requests: escalates and expires approvals past
// their deadlines, delivers due webhooks (with their retries), and ends the runs of Airlock
// processes that died (recovery.ts). One pass at a time; a failing
// pass is logged and the next one tries again. Any number of processes may do this at once: the
// store's compare-and-set makes each escalation, expiry and delivery attempt happen once.
import type { Logger } from 'pino';
import type { Airlock } from '../airlock.js';
import { sweepApprovals } from '../gateway/approvals/sweep.js';

export interface Housekeeping {
  /** One pass now (also what the timer runs). */
  runOnce(): Promise<void>;
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

/** Starts the timer (every `intervalMs`, default 15 s); the timer does not keep the process alive. */
export function startHousekeeping(airlock: Airlock, opts: { intervalMs?: number; log?: Logger } = {}): Housekeeping {
  let running: Promise<void> | null = null;
  const pass = async (): Promise<void> => {
    try {
      const swept = await sweepApprovals({ ...airlock.approvalDeps, after: (a) => airlock.afterDecision(a, true) });
      if (swept.escalated.length + swept.expired.length > 0) opts.log?.info({ escalated: swept.escalated, expired: swept.expired }, 'approval deadlines');
    } catch (err) {
      opts.log?.error({ err }, 'approval sweep failed; retrying on the next pass');
    }
    try {
      const recovered = await airlock.sessions.recover();
      if (recovered.ended.length > 0) opts.log?.warn(recovered, 'ended the runs of an Airlock process that stopped');
    } catch (err) {
      opts.log?.error({ err }, 'recovery of orphaned runs failed; retrying on the next pass');
    }
    try {
      const sent = await airlock.notifier.deliverDue();
      if (sent.delivered + sent.retrying + sent.failed > 0) opts.log?.info(sent, 'webhook deliveries');
    } catch (err) {
      opts.log?.error({ err }, 'webhook delivery failed; retrying on the next pass');
    }
  };
  const runOnce = (): Promise<void> => {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void runOnce(), opts.intervalMs ?? 15_000);
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
