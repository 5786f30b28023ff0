// Grant bounds on every kind of exposed argument: whole numbers, decimals (compared exactly), strings;
// a field exposing each element of a list cannot be bounded, and says so.
import { describe, expect, it } from 'vitest';
import { grantSpecProblems, outsideBounds, type GrantSpec } from '../../src/gateway/approvals/grants.js';
import type { ToolContract, Workspace } from '../../src/config/schema.js';

const contract: Pick<ToolContract, 'expose'> = {
  expose: { amount_cents: 'long', amount_eur: 'decimal', currency: 'string', path: { type: 'string', each: 'paths' } },
};

describe('outsideBounds', () => {
  it('compares a decimal bound exactly, in ten-thousandths', () => {
    expect(outsideBounds(contract, { amount_eur: { max: 99.99 } }, { amount_eur: 99.99 })).toBeNull();
    expect(outsideBounds(contract, { amount_eur: { max: 99.99 } }, { amount_eur: '99.9900' })).toBeNull();
    expect(outsideBounds(contract, { amount_eur: { max: 99.99 } }, { amount_eur: 99.9901 })).toBe('`amount_eur` 99.9901 is above 99.99');
    expect(outsideBounds(contract, { amount_eur: { max: 20 } }, { amount_eur: 19.5 })).toBeNull();
  });

  it('matches a decimal `equals` by value, not by object identity', () => {
    expect(outsideBounds(contract, { amount_eur: { equals: 5 } }, { amount_eur: '5.00' })).toBeNull();
    expect(outsideBounds(contract, { amount_eur: { equals: 5 } }, { amount_eur: 5.01 })).toBe('`amount_eur` is not 5');
  });

  it('keeps whole-number and string bounds as they were', () => {
    expect(outsideBounds(contract, { amount_cents: { max: 2000 }, currency: { equals: 'EUR' } }, { amount_cents: 2000, currency: 'EUR' })).toBeNull();
    expect(outsideBounds(contract, { amount_cents: { max: 2000 } }, { amount_cents: 2001 })).toBe('`amount_cents` 2001 is above 2000');
    expect(outsideBounds(contract, { currency: { equals: 'EUR' } }, { currency: 'USD' })).toBe('`currency` is not "EUR"');
  });
});

describe('grantSpecProblems', () => {
  const tool = { name: 'files.read_many', effect: 'financial', expose: contract.expose } as unknown as ToolContract;
  const workspace = {
    workflows: new Map([['desk', { name: 'desk', tools: ['files.read_many'] }]]),
    tools: new Map([['files.read_many', tool]]),
  } as unknown as Workspace;
  const spec = (bounds: GrantSpec['bounds']): GrantSpec => ({ workflow: 'desk', tool: 'files.read_many', bounds, durationMinutes: 60, maxUses: null, reason: 'r' });

  it('accepts a decimal max with at most 4 digits after the point, and refuses more', () => {
    expect(grantSpecProblems(workspace, spec({ amount_eur: { max: 99.99 } }))).toEqual([]);
    expect(grantSpecProblems(workspace, spec({ amount_eur: { max: 0.00001 } }))).toEqual(['the `max` of `amount_eur` must be a decimal with at most 4 digits after the point, got `0.00001`']);
  });

  it('refuses bounds on a field that exposes each element of a list, saying why', () => {
    expect(grantSpecProblems(workspace, spec({ path: { equals: 'notes/a.md' } }))).toEqual(['`path` exposes each element of `paths` in turn: a grant bounds single arguments only']);
  });

  it('refuses `max` on a string, naming its type', () => {
    expect(grantSpecProblems(workspace, spec({ currency: { max: 3 } }))).toEqual(['`max` applies to number arguments; `currency` is a `string`']);
  });
});
