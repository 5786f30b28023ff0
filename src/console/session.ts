// Console sessions: a signed (HS256, jose) HttpOnly, SameSite=Strict cookie with an expiry and a
// per-session CSRF token; the key lives in the workspace's `.airlock/console.key` (mode 600).
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { AirlockError } from '../errors.js';
import { stateKey } from '../util/key-file.js';

/** The cookie that carries a console session. */
export const SESSION_COOKIE = 'airlock_console';

/** A signed-in person, as the session cookie says. */
export interface ConsoleSession {
  /** `user:<id>`, a declared person. */
  readonly principal: string;
  /** How they signed in: `password` (local users), `jwt` (OIDC), or `email-link` (a mailed approval link, console/links.tsx). */
  readonly method: 'password' | 'jwt' | 'email-link';
  /** Who vouched: `airlock-console` for local users, the OIDC issuer otherwise. */
  readonly issuer: string;
  readonly subject: string;
  /** When they signed in (ISO-8601). */
  readonly authTime: string;
  /** The per-session CSRF token every state-changing form carries. */
  readonly csrf: string;
  /** Session id (sign-out revokes it in this process). */
  readonly sid: string;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  /** A session from an approval link reaches that one approval only, as the mail showed it. */
  readonly scope?: { readonly approvalId: string; readonly summaryHash: string };
}

const ISSUER = 'airlock-console';

/**
 * The console's signing key, `.airlock/console.key`, created on first use with mode 600 (like the audit
 * key); losing it signs everybody out, nothing else.
 */
export function consoleKey(stateDir: string): Uint8Array {
  return stateKey(stateDir, 'console.key', (file, bytes) => {
    throw new AirlockError('config', `console key \`${file}\` is ${bytes} bytes, expected 32`, { hint: 'delete it: a new one is made, and everybody signs in again' });
  });
}

/** Signs and reads session cookies with one key and clock; remembers the sessions signed out in this process. */
export class Sessions {
  private readonly revoked = new Map<string, number>();

  constructor(
    private readonly key: Uint8Array,
    private readonly now: () => Date,
    private readonly minutes: number,
  ) {}

  /** A new session for a person who just proved who they are. */
  async issue(
    who: Pick<ConsoleSession, 'principal' | 'method' | 'issuer' | 'subject' | 'scope'> & { readonly authTime?: string },
    minutes: number = this.minutes,
  ): Promise<{ token: string; session: ConsoleSession; maxAgeSeconds: number }> {
    const nowS = Math.floor(this.now().getTime() / 1000);
    // `authTime`: when the identity provider last authenticated the person (OIDC `auth_time`); a password sign-in is now.
    const session: ConsoleSession = { ...who, authTime: who.authTime ?? this.now().toISOString(), csrf: randomBytes(24).toString('base64url'), sid: randomUUID(), exp: nowS + minutes * 60 };
    const token = await new SignJWT({ m: session.method, iss2: session.issuer, s: session.subject, at: session.authTime, csrf: session.csrf, ...(session.scope ? { sc: session.scope } : {}) })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setSubject(session.principal)
      .setJti(session.sid)
      .setIssuedAt(nowS)
      .setExpirationTime(session.exp)
      .sign(this.key);
    return { token, session, maxAgeSeconds: minutes * 60 };
  }

  /** The session a cookie proves, or null (missing, forged, expired, signed out). */
  async read(token: string | undefined): Promise<ConsoleSession | null> {
    if (!token || token.length > 4096) return null;
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], issuer: ISSUER, currentDate: this.now() });
      const { sub, jti, exp, m, iss2, s, at, csrf, sc } = payload as typeof payload & { sc?: { approvalId?: unknown; summaryHash?: unknown } };
      if (typeof sub !== 'string' || typeof jti !== 'string' || typeof exp !== 'number' || (m !== 'password' && m !== 'jwt' && m !== 'email-link')) return null;
      if (typeof iss2 !== 'string' || typeof s !== 'string' || typeof at !== 'string' || typeof csrf !== 'string') return null;
      // A link's session without its scope would be a full sign-in: refused.
      const scope = sc && typeof sc.approvalId === 'string' && typeof sc.summaryHash === 'string' ? { approvalId: sc.approvalId, summaryHash: sc.summaryHash } : undefined;
      if (m === 'email-link' && !scope) return null;
      if (this.revoked.has(jti)) return null;
      return { principal: sub, method: m, issuer: iss2, subject: s, authTime: at, csrf, sid: jti, exp, ...(scope ? { scope } : {}) };
    } catch {
      return null;
    }
  }

  /** Signs a session out in this process (the cookie is cleared too). */
  revoke(session: ConsoleSession): void {
    const nowS = Math.floor(this.now().getTime() / 1000);
    for (const [sid, exp] of this.revoked) if (exp < nowS) this.revoked.delete(sid);
    this.revoked.set(session.sid, session.exp);
  }
}

/** Whether a submitted CSRF token is the session's (constant time). */
export function csrfMatches(session: ConsoleSession, submitted: unknown): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}
