// What every console response and request goes through: security headers, the same-origin check of
// state-changing requests, and the sign-in rate limit per person.

/** Headers on every console response: no inline script, no framing, no sniffing, no referrer leaks. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  // `same-origin`, not `no-referrer`: with no-referrer Chromium sends `Origin: null` on form posts, which the origin check refuses.
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

/**
 * Why a state-changing request does not come from the console's own pages, or null. A browser sends
 * `Sec-Fetch-Site` and `Origin` with every POST: another site's form says `cross-site` or its own
 * origin. A request with neither is refused too (the console is for browsers; programs use /v1).
 */
export function crossOriginRefusal(headers: { origin?: string | undefined; secFetchSite?: string | undefined }, ownOrigin: string): string | null {
  const site = headers.secFetchSite?.toLowerCase();
  if (site !== undefined && site !== 'same-origin') return `a request from another site (Sec-Fetch-Site: ${site.slice(0, 40)}) cannot change anything here`;
  if (headers.origin !== undefined) {
    if (headers.origin !== ownOrigin) return `a request from another origin (${headers.origin.slice(0, 100)}) cannot change anything here`;
    return null;
  }
  if (site === undefined) return 'the request names no origin; state-changing requests come from the console\'s own pages';
  return null;
}

/** Failed sign-ins allowed per person per window, before further attempts are refused until the window ends. */
export const SIGN_IN_LIMIT = { failures: 5, windowMs: 15 * 60_000 } as const;

/** Counts failed sign-ins per person (and per unknown name) in a sliding window; bounded in size. */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly now: () => Date,
    private readonly limit: { failures: number; windowMs: number } = SIGN_IN_LIMIT,
  ) {}

  private recent(who: string): number[] {
    const t = this.now().getTime();
    const list = (this.failures.get(who) ?? []).filter((at) => t - at < this.limit.windowMs);
    if (list.length === 0) this.failures.delete(who);
    else this.failures.set(who, list);
    return list;
  }

  /** Minutes to wait before `who` may try again, or 0. */
  blockedMinutes(who: string): number {
    const list = this.recent(who);
    if (list.length < this.limit.failures) return 0;
    const oldest = list[list.length - this.limit.failures] ?? this.now().getTime();
    return Math.max(1, Math.ceil((oldest + this.limit.windowMs - this.now().getTime()) / 60_000));
  }

  fail(who: string): void {
    if (this.failures.size > 10_000) this.failures.clear(); // a flood of invented names cannot grow this without bound
    this.failures.set(who, [...this.recent(who), this.now().getTime()]);
  }

  succeed(who: string): void {
    this.failures.delete(who);
  }
}
