// The webhook outbox as the store keeps it: notifications waiting for delivery, and each attempt made.

/** One webhook notification waiting for (or done with) delivery: the outbox row. */
export interface NotificationRecord {
  /** The event id, sent as `Airlock-Event-Id`: receivers deduplicate on it (delivery is at least once). */
  readonly id: string;
  /** The webhook (its name in airlock.yaml) it goes to. */
  readonly webhook: string;
  readonly event: string;
  /** The exact JSON text sent (and signed). */
  readonly body: string;
  readonly createdAt: string;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly attempts: number;
  /** When the next attempt is due (or, while one runs, when its lease runs out). */
  readonly nextAttemptAt: string;
  readonly lastError: string | null;
}

/** One delivery attempt, as the delivery log keeps it. */
export interface DeliveryRecord {
  readonly notificationId: string;
  readonly webhook: string;
  readonly attempt: number;
  readonly time: string;
  readonly ok: boolean;
  readonly httpStatus: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}
