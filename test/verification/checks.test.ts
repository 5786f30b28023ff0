// A contract's verification: the `expect` map, the CEL `check`, or both, against what the probe observed.
import { describe, expect, it } from 'vitest';
import { checkVerification } from '../../src/verification/checks.js';

const args = { order_id: '1182', amount_cents: 4000, currency: 'EUR' };
const result = { refund_id: 'RF-1001', order_id: '1182', amount_cents: 4000, status: 'completed' };
const probe = { refund_id: 'RF-1001', order_id: '1182', amount_cents: 4000, currency: 'EUR', status: 'completed' };

describe('checkVerification', () => {
  it('keeps `expect` working on its own', () => {
    expect(checkVerification({ expect: { '$probe.amount_cents': '$args.amount_cents', '$probe.status': 'completed' } }, { args, result, probe })).toEqual({ status: 'passed', checked: 2 });
    expect(checkVerification({ expect: { '$probe.status': 'reversed' } }, { args, result, probe })).toEqual({
      status: 'failed',
      mismatches: [{ path: '$probe.status', expected: 'reversed', observed: 'completed' }],
    });
  });

  it('passes a true `check` over args, result and probe', () => {
    const check = 'probe.amount_cents == args.amount_cents && probe.refund_id == result.refund_id && probe.currency == args.currency';
    expect(checkVerification({ check }, { args, result, probe })).toEqual({ status: 'passed', checked: 1 });
  });

  it('reports a false `check` as a mismatch naming the expression', () => {
    const check = 'probe.amount_cents == args.amount_cents';
    expect(checkVerification({ check }, { args, result, probe: { ...probe, amount_cents: 400 } })).toEqual({
      status: 'failed',
      mismatches: [{ path: 'check', expected: true, observed: false, expression: check }],
    });
  });

  it('checks both, reporting every mismatch', () => {
    const out = checkVerification({ expect: { '$probe.status': 'completed', '$probe.order_id': '1183' }, check: 'probe.currency == "USD"' }, { args, result, probe });
    expect(out).toEqual({
      status: 'failed',
      mismatches: [
        { path: '$probe.order_id', expected: '1183', observed: '1182' },
        { path: 'check', expected: true, observed: false, expression: 'probe.currency == "USD"' },
      ],
    });
    expect(checkVerification({ expect: { '$probe.status': 'completed' }, check: 'probe.currency == "EUR"' }, { args, result, probe })).toEqual({ status: 'passed', checked: 2 });
  });

  it('makes a check it cannot evaluate an error, not a pass', () => {
    const out = checkVerification({ check: 'probe.amount == args.amount_cents' }, { args, result, probe });
    expect(out).toEqual({ status: 'error', message: 'verify check `probe.amount == args.amount_cents`: no field `amount` (at column 6)' });
    expect(checkVerification({ check: 'probe.status' }, { args, result, probe })).toMatchObject({ status: 'error', message: expect.stringContaining('not a `bool`') });
    expect(checkVerification({ check: 'probe.status ==' }, { args, result, probe })).toMatchObject({ status: 'error', message: expect.stringContaining('syntax error') });
  });
});
