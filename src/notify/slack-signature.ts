// Slack's request signing (v0): every interactivity request carries an HMAC-SHA256 of
// `v0:<timestamp>:<raw body>` under the app's signing secret. Checked before anything in the body is
// read; a timestamp outside the replay window is refused, so a captured click cannot be replayed.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a request's timestamp may be from now, either way (Slack's own recommendation). */
export const SLACK_REPLAY_WINDOW_SECONDS = 300;

/** Slack's signature for `rawBody` sent at `timestamp` (seconds), as the `X-Slack-Signature` header carries it. */
export function slackSignature(secret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

/** Why a request is not Slack's (or is too old), or null when the signature holds. Pure given `nowSeconds`. */
export function slackRequestProblem(secret: string, headers: { timestamp: string | undefined; signature: string | undefined }, rawBody: string, nowSeconds: number): string | null {
  const { timestamp, signature } = headers;
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return 'missing or malformed X-Slack-Request-Timestamp';
  if (Math.abs(nowSeconds - Number(timestamp)) > SLACK_REPLAY_WINDOW_SECONDS) return `the request is more than ${SLACK_REPLAY_WINDOW_SECONDS} s old (or from the future): refused as a possible replay`;
  if (!signature || !/^v0=[0-9a-f]{64}$/.test(signature)) return 'missing or malformed X-Slack-Signature';
  const expected = Buffer.from(slackSignature(secret, timestamp, rawBody));
  const got = Buffer.from(signature);
  return expected.length === got.length && timingSafeEqual(expected, got) ? null : 'the signature does not match (not from Slack, or the signing secret differs)';
}
