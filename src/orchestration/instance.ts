// This process as one instance of Airlock on a store that several share: its lease (taken on first use,
// renewed while the process lives, dropped when it closes), and which other instances are known gone.
// Runs an instance drives (sessions.ts for external agents, runner.ts for Airlock's own) are taken over
// by the others once its lease expires, or at once when its process is gone from this host.
import type { Store } from '../store/store.js';
import { leaseLive, pidAlive, type InstanceIdentity } from './recovery.js';

/** How long a lease lasts without renewal, and how often it is renewed. */
export const LEASE_TTL_MS = 60_000;
export const LEASE_RENEW_MS = 15_000;

/** What keeping a lease needs. */
export interface InstanceLeaseDeps {
  readonly store: Pick<Store, 'renewLease' | 'listLeases' | 'dropLease'>;
  readonly now: () => Date;
  readonly identity: InstanceIdentity;
  /** Default LEASE_TTL_MS; renewed every third of it (at most LEASE_RENEW_MS). */
  readonly ttlMs?: number;
  readonly alive?: (pid: number) => boolean;
}

/** One process's lease on the store. */
export class InstanceLease {
  private timer: NodeJS.Timeout | null = null;
  private startedAt: string | null = null;
  private taking: Promise<void> | null = null;
  private readonly ttlMs: number;

  constructor(private readonly deps: InstanceLeaseDeps) {
    this.ttlMs = deps.ttlMs ?? LEASE_TTL_MS;
  }

  /** This instance's id, host and pid. */
  get identity(): InstanceIdentity {
    return this.deps.identity;
  }

  /** Takes the lease on first use and keeps renewing it until `stop`. */
  keep(): Promise<void> {
    this.taking ??= (async () => {
      this.startedAt = this.deps.now().toISOString();
      await this.renew();
      this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.min(LEASE_RENEW_MS, Math.max(50, Math.floor(this.ttlMs / 3))));
      this.timer.unref();
    })().catch((err: unknown) => {
      this.taking = null;
      this.startedAt = null;
      throw err;
    });
    return this.taking;
  }

  /**
   * The other instances known gone though their lease has not expired yet: on this host, with no
   * process behind them (a crash here need not wait for the lease to run out). Expired ones the store
   * sees for itself.
   */
  async gone(): Promise<string[]> {
    const nowMs = this.deps.now().getTime();
    const leases = await this.deps.store.listLeases();
    return leases.filter((l) => l.id !== this.deps.identity.id && !leaseLive(l, nowMs, this.deps.identity.host, this.deps.alive ?? pidAlive)).map((l) => l.id);
  }

  /** Stops renewing and drops the lease (whatever this instance held is free for the others). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const taking = this.taking;
    this.taking = null;
    if (!taking) return;
    await taking.catch(() => undefined);
    this.startedAt = null;
    await this.deps.store.dropLease(this.deps.identity.id).catch(() => undefined);
  }

  private renew(): Promise<void> {
    const { id, host, pid } = this.deps.identity;
    const startedAt = this.startedAt ?? this.deps.now().toISOString();
    return this.deps.store.renewLease({ id, host, pid, startedAt, expiresAt: new Date(this.deps.now().getTime() + this.ttlMs).toISOString() });
  }
}
