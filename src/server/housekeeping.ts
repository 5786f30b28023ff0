// What a long-running `airlock serve` does between requests: escalates and expires approvals past
// their deadlines, ends the external runs of Airlock processes that died (recovery.ts), drives on the
// runs due in the store's queue (a decision another instance did not go on with, a dead instance's
// runs: runner.ts `driveDue`), and delivers due webhooks (with their retries). One pass at a time; a
// failing pass is logged and the next one tries again. Any number of processes may do this at once: the
// store's compare-and-set makes each escalation, expiry, claim and delivery attempt happen once. Where the
// store announces runs due now (PostgreSQL: a holder released a run people decided on meanwhile), they are
// driven on at once, not at the next pass.
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
      const due = await airlock.runner.driveDue();
      if (due.driven.length > 0) opts.log?.info({ driven: due.driven, failed: due.failed }, 'drove on runs due in the queue');
    } catch (err) {
      opts.log?.error({ err }, 'driving due runs failed; retrying on the next pass');
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
  // Announced due runs, driven one batch at a time (an announcement during a batch asks for one more).
  let driving: Promise<void> | null = null;
  let more = false;
  const driveAnnounced = (): void => {
    if (driving) {
      more = true;
      return;
    }
    driving = (async () => {
      do {
        more = false;
        try {
          const due = await airlock.runner.driveDue();
          if (due.driven.length > 0) opts.log?.info({ driven: due.driven, failed: due.failed }, 'drove on runs announced due');
        } catch (err) {
          opts.log?.error({ err }, 'driving announced runs failed; the next pass tries again');
        }
      } while (more);
    })().finally(() => {
      driving = null;
    });
  };
  const watch = airlock.store.watchDueRuns?.(driveAnnounced, (err) => opts.log?.warn({ err }, 'listening for due runs failed; listening again shortly (passes go on meanwhile)'));
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await watch?.stop();
      await running;
      await driving;
    },
  };
}
