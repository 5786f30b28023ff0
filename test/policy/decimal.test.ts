// Amounts with a fraction: a contract exposes an argument as Cedar's `decimal`; policies compare it with
// `lessThanOrEqual(decimal("99.99"))`; values with more digits or out of range are refused with the reason.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/config/load.js';
import { AirlockErrors } from '../../src/errors.js';
import { cedarWasm } from '../../src/policy/cedar-runtime.js';
import { compilePolicies, type CompiledPolicies } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/decide.js';
import { parseDecimal, toDecimal } from '../../src/policy/decimal.js';
import { explainDecision } from '../../src/policy/explain.js';
import { formatPolicyTestReport, runPolicyTests } from '../../src/policy/policy-tests.js';
import { createWasmEngine } from '../../src/policy/wasm-engine.js';
import { copyExample, expectError, loadErrors, positionOf, type TempWorkspace } from '../config/helpers.js';
import { contract, request } from './fixtures.js';

/** Whether cedar-wasm accepts `text` as a decimal in request data. */
function cedarAccepts(text: string): boolean {
  const a = cedarWasm().isAuthorized({
    principal: { type: 'A::U', id: 'u' },
    action: { type: 'A::Action', id: 'a' },
    resource: { type: 'A::T', id: 't' },
    context: { d: { __extn: { fn: 'decimal', arg: text } } },
    policies: { staticPolicies: {} },
    entities: [],
  } as never);
  return a.type === 'success';
}

describe('decimal text', () => {
  it('parses exactly what cedar-wasm accepts', () => {
    const texts = ['0.0', '1.5', '99.99', '-0.5', '-0.0', '007.50', '1.2345', '1.23456', '1', '.5', '5.', '+1.0', '1e2', ' 1.0', '1.0 ', '1,5', '١.٥',
      '922337203685477.5807', '922337203685477.5808', '-922337203685477.5808', '-922337203685477.5809', '0000000000000000000000001.0', '99999999999999999999.0', '--1.0', ''];
    for (const t of texts) expect('scaled' in parseDecimal(t), t).toBe(cedarAccepts(t));
    expect(parseDecimal('99.99')).toEqual({ scaled: 999900n });
    expect(parseDecimal('-0.5')).toEqual({ scaled: -5000n });
  });

  it('turns an argument into a decimal, or says why not', () => {
    expect(toDecimal(99.99)).toEqual({ value: { __extn: { fn: 'decimal', arg: '99.99' } } });
    expect(toDecimal(5)).toEqual({ value: { __extn: { fn: 'decimal', arg: '5.0' } } });
    expect(toDecimal('12.5')).toEqual({ value: { __extn: { fn: 'decimal', arg: '12.5' } } });
    expect(toDecimal(-0)).toEqual({ value: { __extn: { fn: 'decimal', arg: '0.0' } } });
    expect(toDecimal(99.999)).toEqual({ value: { __extn: { fn: 'decimal', arg: '99.999' } } });
    expect(toDecimal(99.99999)).toEqual({ error: 'it has more than 4 digits after the point' });
    expect(toDecimal(1e-7)).toEqual({ error: 'it has more than 4 digits after the point' });
    expect(toDecimal(1e16)).toMatchObject({ error: expect.stringMatching(/outside Cedar's decimal range/) });
    expect(toDecimal(1e21)).toMatchObject({ error: expect.stringMatching(/outside Cedar's decimal range/) });
    expect(toDecimal(Number.NaN)).toMatchObject({ error: expect.stringMatching(/NaN/) });
    expect(toDecimal('12,5')).toMatchObject({ error: expect.stringMatching(/not a plain decimal number/) });
    expect(toDecimal(true)).toEqual({ error: 'it is not a number' });
  });
});

describe('a contract exposing a decimal', () => {
  const charge = contract({ name: 'shop.charge', effect: 'financial', risk: 'low', expose: { amount: 'decimal' }, irreversible: true });
  const text = [
    '@id("small-charges")',
    '@reason("charges up to 99.99 run")',
    'permit (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"shop.charge")',
    'when { context.args has amount && context.args.amount.lessThanOrEqual(decimal("99.99")) };',
    '@id("larger-charges")',
    '@approval("single")',
    'permit (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"shop.charge")',
    'when { context.args has amount && context.args.amount.greaterThan(decimal("99.99")) };',
  ].join('\n');
  const production = compilePolicies([{ file: 'p.cedar', text }], [charge]);
  const wasm: CompiledPolicies = compilePolicies([{ file: 'p.cedar', text }], [charge], { engine: (t, h) => createWasmEngine(t, `${h}-decimal`) });

  it('is a decimal in the generated Cedar schema, and the fast path compiles the policies', () => {
    const args = (production.schema['Airlock']?.actions['call'] as { appliesTo: { context: { attributes: { args: { attributes: unknown } } } } }).appliesTo.context.attributes.args.attributes;
    expect(args).toEqual({ amount: { type: 'Extension', name: 'decimal', required: false } });
    expect(production.engine.name).toMatch(/^airlock-fast/);
  });

  it('decides 99.99, 100 and 99.999 the same with both engines; refuses more digits and out-of-range values with the reason', () => {
    for (const c of [production, wasm]) {
      const at = (amount: unknown) => decide(c, request(charge, { args: { amount } }));
      expect(at(99.99), c.engine.name).toMatchObject({ kind: 'allow', basis: { policyIds: ['small-charges'] } });
      expect(at(99.999)).toMatchObject({ kind: 'approval', level: 'single', basis: { policyIds: ['larger-charges'] } });
      expect(at(100)).toMatchObject({ kind: 'approval', level: 'single', basis: { policyIds: ['larger-charges'] } });
      expect(at(-5)).toMatchObject({ kind: 'allow' });
      const tooFine = at(99.99999);
      expect(tooFine.kind).toBe('deny');
      expect(tooFine.basis.reasons[0]).toBe(
        'argument `amount` must be a number with at most 4 digits after the point, from -922337203685477.5808 to 922337203685477.5807 (policy sees it as a Cedar `decimal`), got `99.99999` (it has more than 4 digits after the point)',
      );
      expect(at(1e16).basis.reasons[0]).toMatch(/got `10000000000000000` \(it is outside Cedar's decimal range/);
      expect(at('ninety').kind).toBe('deny');
    }
  });

  it('shows the amount as a decimal when a decision is explained', () => {
    const r = request(charge, { args: { amount: 12.5 } });
    expect(explainDecision(decide(production, r), r, production)).toContain('args:     amount=decimal("12.5")');
  });
});

describe('a workspace with a decimal amount', () => {
  let ws: TempWorkspace;
  beforeEach(async () => {
    ws = await copyExample();
    await ws.edit(
      'airlock.yaml',
      '  - name: payments.refund\n',
      [
        '  - name: payments.charge',
        '    connector: payments',
        '    description: Charge the customer an amount in euros.',
        '    effect: financial',
        '    risk: low',
        '    inputSchema:',
        '      type: object',
        '      properties:',
        '        amount_eur: { type: number, minimum: 0 }',
        '      required: [amount_eur]',
        '      additionalProperties: false',
        '    expose:',
        '      amount_eur: decimal',
        '    irreversible: true',
        '  - name: payments.refund\n',
      ].join('\n'),
    );
    await ws.edit('workflows/refund-desk.yaml', '  - payments.refund\n', '  - payments.refund\n  - payments.charge\n');
    await ws.write(
      'policies/charges.cedar',
      [
        '@id("charges-up-to-99.99")',
        '@reason("charges up to 99.99 EUR run without approval")',
        'permit (principal in Airlock::Role::"support-agent", action == Airlock::Action::"call", resource == Airlock::Tool::"payments.charge")',
        'when { context.args has amount_eur && context.args.amount_eur.lessThanOrEqual(decimal("99.99")) };',
      ].join('\n'),
    );
  });
  afterEach(async () => {
    await ws.remove();
  });

  it('loads, validates the rule against the schema, and runs YAML cases on 99.99, 100.00 and 99.99999', async () => {
    const cases = `cases:
  - name: 99.99 EUR is within the rule
    request: { principal: agent:refund-bot, tool: payments.charge, workflow: refund-desk, tier: execute-high, args: { amount_eur: 99.99 } }
    expect: { decision: allow, policies: [charges-up-to-99.99] }
  - name: 100.00 EUR is not
    request: { principal: agent:refund-bot, tool: payments.charge, workflow: refund-desk, tier: execute-high, args: { amount_eur: 100.00 } }
    expect: { decision: deny, reason: deny by default }
  - name: more than 4 digits after the point are refused
    request: { principal: agent:refund-bot, tool: payments.charge, workflow: refund-desk, tier: execute-high, args: { amount_eur: 99.99999 } }
    expect: { decision: deny, reason: more than 4 digits after the point }
`;
    await ws.write('tests/policy/charges.yaml', cases);
    const workspace = await loadWorkspace(ws.dir);
    const compiled = compilePolicies(workspace.policySources, [...workspace.tools.values()], { principals: workspace.file.identity.principals });
    const report = runPolicyTests(compiled, workspace, [{ file: 'tests/policy/charges.yaml', text: cases }]);
    expect(formatPolicyTestReport(report)).toContain('3 passed, 0 failed');
  });

  it('refuses a decimal exposed from a string property, pointing at the field', async () => {
    await ws.edit('airlock.yaml', '        amount_eur: { type: number, minimum: 0 }', '        amount_eur: { type: string }');
    const { errors } = await loadErrors(ws.dir);
    const pos = positionOf(await ws.read('airlock.yaml'), 'decimal', 'amount_eur: decimal');
    expectError(errors, {
      file: path.join(ws.dir, 'airlock.yaml'),
      ...pos,
      path: 'tools[6].expose.amount_eur',
      message: 'exposed field `amount_eur` is `decimal` but its `inputSchema` property is not (it allows `string`)',
    });
  });

  it('refuses a rule comparing a decimal with a Long, at the policy file', async () => {
    await ws.write('policies/charges.cedar', 'permit (principal, action == Airlock::Action::"call", resource) when { context.args has amount_eur && context.args.amount_eur > 99 };');
    const workspace = await loadWorkspace(ws.dir);
    let thrown: unknown;
    try {
      compilePolicies(workspace.policySources, [...workspace.tools.values()]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(AirlockErrors);
    const errors = (thrown as AirlockErrors).errors;
    expect(errors.map((e) => `${e.location?.file}:${e.location?.line} ${e.message}`).join('\n')).toMatch(/^policies\/charges\.cedar:1 policy `policies\/charges\.cedar#0`: .*decimal/m);
  });
});
