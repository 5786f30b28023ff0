// Request limits for the HTTP doors: calls per principal per minute (a sliding window). Pure, clock passed in.

/** Counts calls per key over the last minute; `take` says whether one more is allowed now. */
export class RateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(private readonly perMinute: number) {}

  /** Records a call for `key` at `nowMs` if under the limit; returns false (and records nothing) when over. */
  take(key: string, nowMs: number): boolean {
    const since = nowMs - 60_000;
    const times = (this.windows.get(key) ?? []).filter((t) => t > since);
    if (times.length >= this.perMinute) {
      this.windows.set(key, times);
      return false;
    }
    times.push(nowMs);
    this.windows.set(key, times);
    return true;
  }
}
