// Webhook signatures: what a receiver accepts (the body signed now, under its secret) and what it refuses.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhookSignature } from '../../src/sdk/index.js';

const SECRET = 'whsec_test_0123456789';
const BODY = JSON.stringify({ id: 'evt_1', type: 'approval.requested', createdAt: '2025-01-01T00:00:00.000Z', data: { approvalId: 'apr_1' } });
const T = 1_735_689_600; // 2025-01-01T00:00:00Z

describe('signWebhook', () => {
  it('is `t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`', () => {
    const expected = createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex');
    expect(signWebhook(SECRET, T, BODY)).toBe(`t=${T},v1=${expected}`);
  });

  it('refuses an empty secret and a timestamp that is not whole seconds', () => {
    expect(() => signWebhook('', T, BODY)).toThrow(/secret is empty/);
    expect(() => signWebhook(SECRET, T + 0.5, BODY)).toThrow(/whole unix seconds/);
  });
});

describe('verifyWebhookSignature', () => {
  const header = signWebhook(SECRET, T, BODY);
  const verify = (over: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
    verifyWebhookSignature({ secret: SECRET, header, body: BODY, nowSeconds: T, ...over });

  it('accepts the body it signed, as a string or as raw bytes, within the window either way', () => {
    expect(verify({})).toEqual({ ok: true });
    expect(verify({ body: Buffer.from(BODY, 'utf8') })).toEqual({ ok: true });
    expect(verify({ nowSeconds: T + 300 })).toEqual({ ok: true });
    expect(verify({ nowSeconds: T - 300 })).toEqual({ ok: true });
  });

  it('refuses a tampered body', () => {
    const tampered = BODY.replace('apr_1', 'apr_2');
    expect(verify({ body: tampered })).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(verify({ body: BODY + ' ' })).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('refuses the wrong secret, and an empty one', () => {
    expect(verify({ secret: 'another-secret' })).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(verify({ secret: '' })).toMatchObject({ ok: false, reason: 'mismatch', message: expect.stringMatching(/empty secret/) as unknown });
  });

  it('refuses a stale timestamp (a replay) and one from the future, outside the tolerance', () => {
    expect(verify({ nowSeconds: T + 301 })).toMatchObject({ ok: false, reason: 'expired' });
    expect(verify({ nowSeconds: T - 301 })).toMatchObject({ ok: false, reason: 'future' });
    expect(verify({ nowSeconds: T + 60, toleranceSeconds: 30 })).toMatchObject({ ok: false, reason: 'expired' });
    expect(verify({ nowSeconds: T + 3600, toleranceSeconds: 7200 })).toEqual({ ok: true });
  });

  it('refuses a signature moved onto another timestamp', () => {
    const v1 = header.split(',')[1] as string;
    expect(verify({ header: `t=${T + 1},${v1}`, nowSeconds: T + 1 })).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('refuses malformed headers', () => {
    const v1 = header.split(',')[1] as string;
    const malformed = [
      undefined,
      null,
      '',
      '   ',
      v1, // no timestamp
      `t=${T}`, // no signature
      `t=${T},v1=`, // empty signature
      `t=${T},v1=abc`, // not 64 hex digits
      `t=${T},v1=${'z'.repeat(64)}`,
      `t=soon,${v1}`,
      `t=-5,${v1}`,
      `t=${T},t=${T},${v1}`,
      `t=${T};${v1}`,
      `garbage`,
      `=x,t=${T},${v1}`,
    ];
    for (const h of malformed) {
      const r = verify({ header: h });
      expect(r, `header ${JSON.stringify(h)}`).toMatchObject({ ok: false, reason: 'malformed' });
    }
  });

  it('accepts several v1 values (the sender rotating secrets) and several secrets (the receiver rotating)', () => {
    const old = signWebhook('old-secret', T, BODY).split(',')[1] as string;
    const both = `${header},${old}`;
    expect(verify({ header: both })).toEqual({ ok: true });
    expect(verify({ header: both, secret: 'old-secret' })).toEqual({ ok: true });
    expect(verify({ header: both, secret: 'third-secret' })).toMatchObject({ ok: false, reason: 'mismatch' });
    expect(verify({ header: signWebhook('old-secret', T, BODY), secret: ['new-secret', 'old-secret'] })).toEqual({ ok: true });
    expect(verify({ secret: [] })).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('ignores signature schemes it does not know, and spaces around parts', () => {
    const [t, v1] = header.split(',') as [string, string];
    expect(verify({ header: `${t}, v0=deadbeef, ${v1}` })).toEqual({ ok: true });
  });
});
