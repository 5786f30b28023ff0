// Request limits for every door: calls per principal per minute (a sliding window), clock passed in:
// counted in the store (`SharedRateLimiter`), so every instance on one store holds the one budget, or
// in this process (`RateLimiter`, pure: tests and benchmarks of one door).
import type { Store } from '../store/store.js';

/** Counts a principal's calls against its budget: true when `count` more fit now (and they are counted), false when not (nothing counted). */
export interface CallRate {
  take(key: string, nowMs: number, count?: number): boolean | Promise<boolean>;
}

/** The window every door counts calls over. */
const WINDOW_MS = 60_000;

/** The calls-per-minute budget kept in the store: every instance on it counts against the same one (`Store.takeRate`). */
export class SharedRateLimiter implements CallRate {
  constructor(
    private readonly store: Pick<Store, 'takeRate'>,
    private readonly perMinute: number,
  ) {}

  take(key: string, nowMs: number, count = 1): Promise<boolean> {
    return this.store.takeRate(`calls:${key}`, count, this.perMinute, WINDOW_MS, nowMs);
  }
}

/** Timestamps of one key's calls inside the window, oldest first, dropped from the front in O(1). */
interface Window {
  times: number[];
  head: number;
}

/** Counts calls per key over the last minute; `take` says whether one more is allowed now. */
export class RateLimiter implements CallRate {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly perMinute: number) {}

  /**
   * Records `count` calls for `key` at `nowMs` if all of them fit under the limit; returns false
   * (and records nothing) when they do not. A JSON-RPC batch is its calls, not one request.
   */
  take(key: string, nowMs: number, count = 1): boolean {
    let w = this.windows.get(key);
    if (!w) {
      w = { times: [], head: 0 };
      this.windows.set(key, w);
    }
    const since = nowMs - WINDOW_MS;
    while (w.head < w.times.length && (w.times[w.head] as number) <= since) w.head++;
    // Compact now and then so the array does not grow without bound.
    if (w.head > 1024 && w.head * 2 > w.times.length) {
      w.times = w.times.slice(w.head);
      w.head = 0;
    }
    if (w.times.length - w.head + count > this.perMinute) return false;
    for (let i = 0; i < count; i++) w.times.push(nowMs);
    return true;
  }
}
