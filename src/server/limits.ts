// Request limits for every door: calls per principal per minute (a sliding window). Pure, clock passed in.

/** Timestamps of one key's calls inside the window, oldest first, dropped from the front in O(1). */
interface Window {
  times: number[];
  head: number;
}

/** Counts calls per key over the last minute; `take` says whether one more is allowed now. */
export class RateLimiter {
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
    const since = nowMs - 60_000;
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
