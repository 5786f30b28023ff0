// Approval links: what an email carries so its reader can open one approval in the console. A link
// is a JWT (HS256 under the workspace's `.airlock/links.key`) naming one person, one approval and the
// hash of the summary the email showed, with a short expiry and an id that is redeemed once. It
// proves only that its holder read that person's mail: the console signs them in for that approval
// alone, a vote through it is refused for any other summary, and it never satisfies `reauth`.
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AirlockError } from '../../errors.js';
import { stateKey } from '../../util/key-file.js';
import type { ApprovalId } from '../../types.js';

const AUDIENCE = 'airlock-approval-link';
const ISSUER = 'airlock';

/** What a link says. */
export interface ApprovalLink {
  /** `user:<id>`: the person it was mailed to. */
  readonly person: string;
  readonly approvalId: ApprovalId;
  /** The hash of the summary the email showed: a vote through the link is for that action only. */
  readonly summaryHash: string;
  /** Redeemed once (the console keeps the ids it has redeemed). */
  readonly jti: string;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
}

/** The links key of a workspace's state folder, created on first use (mode 600). Losing it voids links not yet used, nothing else. */
export function linksKey(stateDir: string): Uint8Array {
  return stateKey(stateDir, 'links.key', (file, bytes) => {
    throw new AirlockError('config', `approval links key \`${file}\` is ${bytes} bytes, expected 32`, { hint: 'delete it: a new one is made, and links mailed before stop working' });
  });
}

/** A link token for `person` to open `approvalId` as shown (`summaryHash`), valid `seconds` from `now`. */
export async function mintApprovalLink(key: Uint8Array, claims: Pick<ApprovalLink, 'person' | 'approvalId' | 'summaryHash'>, now: Date, seconds: number): Promise<{ token: string; link: ApprovalLink }> {
  const iat = Math.floor(now.getTime() / 1000);
  const link: ApprovalLink = { ...claims, jti: randomUUID(), exp: iat + Math.max(1, Math.floor(seconds)) };
  const token = await new SignJWT({ aid: link.approvalId, sh: link.summaryHash })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(link.person)
    .setJti(link.jti)
    .setIssuedAt(iat)
    .setExpirationTime(link.exp)
    .sign(key);
  return { token, link };
}

/** What a link token says, or why it says nothing (forged, expired, not a link). Never throws. */
export async function readApprovalLink(key: Uint8Array, token: string, now: Date): Promise<{ ok: true; link: ApprovalLink } | { ok: false; problem: string }> {
  if (token.length > 2048) return { ok: false, problem: 'the link is too long to be one of ours' };
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, currentDate: now, requiredClaims: ['sub', 'jti', 'exp'] });
    const { sub, jti, exp, aid, sh } = payload as { sub?: unknown; jti?: unknown; exp?: unknown; aid?: unknown; sh?: unknown };
    if (typeof sub !== 'string' || !/^user:[a-z][a-z0-9_-]*$/.test(sub) || typeof jti !== 'string' || typeof exp !== 'number' || typeof aid !== 'string' || typeof sh !== 'string' || !/^[0-9a-f]{64}$/.test(sh)) {
      return { ok: false, problem: 'the link does not name a person, an approval and a summary' };
    }
    return { ok: true, link: { person: sub, approvalId: aid as ApprovalId, summaryHash: sh, jti, exp } };
  } catch (e) {
    if (e instanceof joseErrors.JWTExpired) return { ok: false, problem: 'the link has expired: open the approval from the console, or ask for it again' };
    return { ok: false, problem: 'the link is not valid (altered, or not from this Airlock)' };
  }
}
