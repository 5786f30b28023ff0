// The per-principal rate limit: a sliding one-minute window, per key.
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/server/limits.js';

describe('RateLimiter', () => {
  it('allows up to the limit per minute and per key, then frees slots as they age out', () => {
    const r = new RateLimiter(3);
    const t0 = 1_000_000;
    expect([r.take('a', t0), r.take('a', t0 + 10), r.take('a', t0 + 20)]).toEqual([true, true, true]);
    expect(r.take('a', t0 + 30)).toBe(false);
    expect(r.take('b', t0 + 30)).toBe(true);
    // A refused call takes no slot: the first slot frees exactly one minute after it was taken.
    expect(r.take('a', t0 + 59_999)).toBe(false);
    expect(r.take('a', t0 + 60_001)).toBe(true);
    expect(r.take('a', t0 + 60_002)).toBe(false);
  });

  it('keeps working over many windows (compaction keeps the count right)', () => {
    const r = new RateLimiter(5);
    let allowed = 0;
    for (let i = 0; i < 20_000; i++) if (r.take('k', i * 1000)) allowed++;
    // One call per second for 20,000 s, at most 5 per minute: 333 full minutes and a last partial one, 5 each.
    expect(allowed).toBe(334 * 5);
  });
});
