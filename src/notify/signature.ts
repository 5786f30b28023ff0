// Webhook signatures (pure: no IO, no clock): `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The replay window `verifyWebhookSignature` allows by default, either way, in seconds. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

/** Why a signature was refused: unreadable header, timestamp outside the window (past or future), or no matching HMAC. */
export type SignatureFailure = 'malformed' | 'expired' | 'future' | 'mismatch';

/** The outcome of `verifyWebhookSignature`: a value, never a throw. */
export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: SignatureFailure; readonly message: string };

/** What `verifyWebhookSignature` checks. */
export interface VerifyWebhookInput {
  /** The shared secret; several during a rotation (any one matching is enough). */
  readonly secret: string | readonly string[];
  /** The `Airlock-Signature` header as received (absent: malformed). */
  readonly header: string | null | undefined;
  /** The raw request body, exactly as received (not re-serialised JSON). */
  readonly body: string | Uint8Array;
  /** The receiver's clock, in unix seconds. */
  readonly nowSeconds: number;
  /** How far the signed timestamp may be from `nowSeconds`, either way (default 300). */
  readonly toleranceSeconds?: number;
}

/** The `Airlock-Signature` header value for `body` sent at `timestampSeconds` (unix seconds). */
export function signWebhook(secret: string, timestampSeconds: number, body: string | Uint8Array): string {
  if (secret === '') throw new RangeError('the webhook secret is empty');
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`the signature timestamp must be whole unix seconds, got ${timestampSeconds}`);
  }
  return `t=${timestampSeconds},v1=${hmac(secret, timestampSeconds, body).toString('hex')}`;
}

/**
 * Checks an `Airlock-Signature` header against the raw body: the timestamp must be within
 * `toleranceSeconds` of `nowSeconds` (a replayed old request fails), and one `v1=` value must be
 * the HMAC-SHA256 of `"<t>.<body>"` under one of the secrets (compared in constant time).
 */
export function verifyWebhookSignature(input: VerifyWebhookInput): SignatureCheck {
  const parsed = parseSignatureHeader(input.header);
  if (typeof parsed === 'string') return { ok: false, reason: 'malformed', message: parsed };
  const tolerance = input.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  if (parsed.t < input.nowSeconds - tolerance) {
    return { ok: false, reason: 'expired', message: `signed at ${parsed.t}, more than ${tolerance} s before now (${input.nowSeconds}): a replay or a slow retry` };
  }
  if (parsed.t > input.nowSeconds + tolerance) {
    return { ok: false, reason: 'future', message: `signed at ${parsed.t}, more than ${tolerance} s after now (${input.nowSeconds}): check both clocks` };
  }
  // An empty secret (an unset environment variable, say) would let anyone sign: it verifies nothing.
  const secrets = (typeof input.secret === 'string' ? [input.secret] : input.secret).filter((s) => s !== '');
  if (secrets.length === 0) return { ok: false, reason: 'mismatch', message: 'no secret to verify with: an empty secret verifies nothing' };
  let match = false;
  // Every candidate is compared (no early exit), each in constant time.
  for (const secret of secrets) {
    const expected = hmac(secret, parsed.t, input.body);
    for (const given of parsed.v1) match = timingSafeEqual(expected, given) || match;
  }
  return match ? { ok: true } : { ok: false, reason: 'mismatch', message: 'no `v1` signature matches the body under the secret' };
}

/** `t` and the `v1` digests of a header, or what is wrong with it. Other schemes (`v2=`...) are ignored. */
function parseSignatureHeader(header: string | null | undefined): { t: number; v1: Buffer[] } | string {
  if (typeof header !== 'string' || header.trim() === '') return 'the `Airlock-Signature` header is missing';
  let t: number | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 1) return `\`${part.trim()}\` is not \`key=value\``;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (t !== undefined) return 'the header has two timestamps';
      if (!/^\d{1,15}$/.test(value)) return `the timestamp \`${value}\` is not unix seconds`;
      t = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return `the \`v1\` value \`${value}\` is not a hex SHA-256 HMAC`;
      v1.push(Buffer.from(value, 'hex'));
    }
  }
  if (t === undefined) return 'the header has no `t=` timestamp';
  if (v1.length === 0) return 'the header has no `v1=` signature';
  return { t, v1 };
}

function hmac(secret: string, t: number, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest();
}
