// Value budgets in the workspace: a contract's `value` names required arguments of the right types
// (an amount that cannot go negative), and each budget counts tools that declare `value`.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/config/load.js';
import { copyExample, loadErrors, type TempWorkspace } from './helpers.js';
import { checkContractValue } from '../../src/config/value-checks.js';
import { contract } from '../policy/fixtures.js';

const REFUND_EXPOSE = `    expose:
      order_id: string
      amount_cents: long
      currency: string
    compensation:
      tool: payments.reverse_refund`;
const withValue = (value: string) => `    expose:
      order_id: string
      amount_cents: long
      currency: string
    value: ${value}
    compensation:
      tool: payments.reverse_refund`;
const BUDGETS = (tools: string, per = '[key]', currency = '') => `
valueBudgets:
  - name: per_order_daily
    tools: ${tools}
    per: ${per}
    windowMinutes: 1440
    limit: 15000
${currency ? `    currency: ${currency}\n` : ''}`;

describe('value budgets in the workspace', () => {
  let ws: TempWorkspace;
  beforeEach(async () => {
    ws = await copyExample();
  });
  afterEach(() => ws.remove());

  it('loads a contract that declares its value and a budget that counts it', async () => {
    await ws.edit('airlock.yaml', REFUND_EXPOSE, withValue('{ amount: amount_cents, currency: currency, key: order_id }'));
    await ws.write('airlock.yaml', (await ws.read('airlock.yaml')) + BUDGETS('[payments.refund]'));
    const loaded = await loadWorkspace(ws.dir);
    expect(loaded.tools.get('payments.refund')?.value).toEqual({ amount: 'amount_cents', currency: 'currency', key: 'order_id' });
    expect(loaded.file.valueBudgets).toEqual([{ name: 'per_order_daily', tools: ['payments.refund'], per: ['key'], windowMinutes: 1440, limit: 15000 }]);
  });

  it('refuses a counted tool that can move a currency no budget counts, a free-text currency, an unbounded amount, and value on a read', async () => {
    await ws.edit('airlock.yaml', REFUND_EXPOSE, withValue('{ amount: amount_cents, currency: currency, key: order_id }'));
    await ws.write('airlock.yaml', (await ws.read('airlock.yaml')) + BUDGETS('[payments.refund]', '[key]', 'EUR'));
    expect((await loadErrors(ws.dir)).text).toMatch(/tool `payments.refund` can move USD, which no value budget counts/);
    await ws.edit('airlock.yaml', 'currency: { type: string, enum: [EUR, USD] }', 'currency: { type: string, minLength: 3 }');
    await ws.edit('airlock.yaml', 'amount_cents: { type: integer, minimum: 1, maximum: 100000000 }', 'amount_cents: { type: integer, minimum: 1 }');
    const { text } = await loadErrors(ws.dir);
    expect(text).toMatch(/`value.currency` argument `currency` must be an `enum` of ISO 4217 codes/);
    expect(text).toMatch(/`value.amount` argument `amount_cents` must have a `maximum` of at most/);
    const said: string[] = [];
    checkContractValue(contract({ name: 'orders.get', effect: 'read', risk: 'low', value: { amount: 'n' } }), undefined, (_p, m) => said.push(m));
    expect(said).toEqual(['`orders.get` is a read: it moves no value']);
  });

  it('refuses a value whose arguments are missing, of the wrong type, not required, or an amount that may be negative', async () => {
    await ws.edit('airlock.yaml', REFUND_EXPOSE, withValue('{ amount: reason, currency: idempotency_key, key: payee }'));
    const { text } = await loadErrors(ws.dir);
    expect(text).toMatch(/`value.amount` argument `reason` must be of type `integer`/);
    expect(text).toMatch(/`value.amount` argument `reason` must have `minimum: 0`/);
    expect(text).toMatch(/`value.currency` argument `idempotency_key` must be required by the input schema/);
    expect(text).toMatch(/`value.key` names argument `payee`, which the input schema does not declare/);
    expect(text).toMatch(/airlock\.yaml:\d+:\d+/);
  });

  it('refuses a budget counting a tool that is not declared, declares no value, or has no key to keep it per', async () => {
    await ws.edit('airlock.yaml', REFUND_EXPOSE, withValue('{ amount: amount_cents, currency: currency }'));
    await ws.write('airlock.yaml', (await ws.read('airlock.yaml')) + BUDGETS('[payments.refund, orders.get_order, payments.nope]'));
    const { text } = await loadErrors(ws.dir);
    expect(text).toMatch(/value budget `per_order_daily` is kept per key, but tool `payments.refund` declares no `value.key`/);
    expect(text).toMatch(/tool `orders.get_order` declares no `value`/);
    expect(text).toMatch(/counts tool `payments.nope`, which is not declared/);
  });
});
