// Runs due now, announced (issue #15): a run woken by a decision, or released by its holder after one, is
// announced on a PostgreSQL channel (NOTIFY, delivered when the transaction that made it due commits), so the
// instances listening drive it at once instead of at their next housekeeping pass. The passes stay: what is
// announced while a listener is reconnecting is found by the next one (and by the listener, once it is back).
import pg from 'pg';
import type { Sql } from './postgres-connection.js';
import type { DueRunsWatch } from './store.js';

/** The channel due runs are announced on. */
export const DUE_CHANNEL = 'airlock_runs_due';

/** Announces that a run is due now, on `c`, inside the transaction that made it so (sent when it commits). */
export async function announceDue(c: Sql): Promise<void> {
  await c.query('SELECT pg_notify($1, $2)', [DUE_CHANNEL, '']);
}

/** How soon a dropped listening connection is made again. */
export const RELISTEN_MS = 5_000;
/** How long making the listening connection may take. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Listens for due runs on a connection of its own (not the pool's: LISTEN holds its connection), calling
 * `listener` for each announcement, and once each time it (re)starts listening, for what it may have missed.
 * A dropped connection is made again after `relistenMs`; failures go to `onError`, never thrown.
 */
export function listenForDueRuns(url: string, listener: () => void, onError: (e: unknown) => void, relistenMs = RELISTEN_MS): DueRunsWatch {
  let stopped = false;
  let client: pg.Client | null = null;
  let connecting: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  const again = (): void => {
    if (stopped || retry) return;
    retry = setTimeout(() => {
      retry = null;
      void connect().catch(onErrorThenAgain);
    }, relistenMs);
    retry.unref();
  };
  const onErrorThenAgain = (e: unknown): void => {
    onError(e);
    again();
  };
  const connect = async (): Promise<void> => {
    // Bounded: a host that does not answer is tried again later, and a half-open connection is noticed.
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true, application_name: 'airlock-due-runs' });
    connecting = c;
    const gone = (): void => {
      if (client !== c) return;
      client = null;
      again();
    };
    c.on('notification', (m) => {
      if (m.channel === DUE_CHANNEL) listener();
    });
    c.on('error', (e) => {
      onError(e);
      gone();
    });
    c.on('end', gone);
    try {
      await c.connect();
      await c.query(`LISTEN ${DUE_CHANNEL}`);
    } catch (e) {
      await c.end().catch(() => undefined);
      if (stopped) return;
      throw e;
    } finally {
      if (connecting === c) connecting = null;
    }
    if (stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    listener();
  };
  const ready = connect().catch((e: unknown) => onErrorThenAgain(e));
  return {
    ready,
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      retry = null;
      // A connection still being made is ended too, rather than waited for.
      const c = client ?? connecting;
      client = null;
      await c?.end().catch(() => undefined);
      await ready;
    },
  };
}
