// decide: deny by default, forbids win, explicit permits, critical risk, obligations, the tier table.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ToolContract } from '../../src/config/schema.js';
import { compilePolicies, type CompiledPolicies } from '../../src/policy/compile.js';
import { applyTier, decide, decideAtTiers, exposeArgs, stricter } from '../../src/policy/decide.js';
import type { CedarEngine, CedarEntity, CedarRequest } from '../../src/policy/engine.js';
import type { Effect, Risk, Tier } from '../../src/types.js';
import { ACME_CONTRACTS, ACME_PRINCIPALS, CALL, contract, readSources, request, tool } from './fixtures.js';

const ALL = `@id("all")\n@reason("anything goes")\npermit (principal, ${CALL}, resource);`;

function compile(text: string, contracts: readonly ToolContract[] = ACME_CONTRACTS): CompiledPolicies {
  return compilePolicies([{ file: 'test.cedar', text }], contracts, { principals: ACME_PRINCIPALS });
}

describe('decideAtTiers: a demotion only tightens', () => {
  const high = contract({ name: 'ops.purge', effect: 'write', risk: 'high' });
  const medium = contract({ name: 'ops.note', effect: 'write', risk: 'medium' });
  const compiled = compile(ALL, [...ACME_CONTRACTS, high, medium]);

  it('keeps the step-up a declared execute-high asks of a high-risk call, when demoted to execute-low', () => {
    expect(decide(compiled, request(high, { tier: 'execute-low' }))).toMatchObject({ kind: 'approval', level: 'single' });
    expect(decideAtTiers(compiled, request(high, { tier: 'execute-low' }), 'execute-high')).toMatchObject({ kind: 'approval', level: 'step-up' });
  });

  it('adds what the lower tier asks: a medium-risk call allowed at execute-high needs a person at execute-low', () => {
    expect(decide(compiled, request(medium, { tier: 'execute-high' })).kind).toBe('allow');
    expect(decideAtTiers(compiled, request(medium, { tier: 'execute-low' }), 'execute-high')).toMatchObject({ kind: 'approval', level: 'single' });
    expect(decideAtTiers(compiled, request(medium, { tier: 'assist' }), 'execute-high').kind).toBe('suggest');
  });

  it('is decide itself when the workflow runs at its declared tier', () => {
    expect(decideAtTiers(compiled, request(high, { tier: 'execute-high' }), 'execute-high')).toEqual(decide(compiled, request(high, { tier: 'execute-high' })));
    expect(decideAtTiers(compiled, request(high), undefined)).toEqual(decide(compiled, request(high)));
  });
});

describe('decide', () => {
  it('denies by default, naming principal, tool and workflow', () => {
    const compiled = compile(`permit (principal, ${CALL}, resource == Airlock::Tool::"tickets.comment");`);
    const d = decide(compiled, request(tool('tickets.get_ticket')));
    expect(d.kind).toBe('deny');
    expect(d.basis.policyIds).toEqual([]);
    expect(d.basis.policySetHash).toBe(compiled.policySetHash);
    expect(d.basis.reasons).toEqual([
      'no policy permits `agent:refund-bot` to call `tickets.get_ticket` in workflow `refund-desk` (deny by default)',
    ]);
  });

  it('lets a forbid win over a permit, with its reason', () => {
    const compiled = compile(
      `${ALL}\n@id("no-comments")\n@reason("comments are frozen")\nforbid (principal, ${CALL}, resource == Airlock::Tool::"tickets.comment");`,
    );
    const d = decide(compiled, request(tool('tickets.comment')));
    expect(d).toEqual({
      kind: 'deny',
      basis: { policyIds: ['no-comments'], policySetHash: compiled.policySetHash, reasons: ['comments are frozen'] },
    });
    expect(decide(compiled, request(tool('tickets.get_ticket'))).kind).toBe('allow');
  });

  it('gives a forbid without @reason a generated reason', () => {
    const compiled = compile(`${ALL}\n@id("f")\nforbid (principal, ${CALL}, resource);`);
    expect(decide(compiled, request(tool('tickets.get_ticket'))).basis.reasons).toEqual(['forbidden by policy `f`']);
  });

  it('requires an explicit, resource-scoped permit for destructive, egress and financial effects', () => {
    const wipe = contract({ name: 'db.wipe', effect: 'destructive', risk: 'low' });
    const contracts = [...ACME_CONTRACTS, wipe];
    const blanket = compile(ALL, contracts);
    for (const t of [wipe, tool('mail.send'), tool('payments.reverse_refund')]) {
      const d = decide(blanket, request(t, { tier: 'execute-high', args: { to: 'x@acme.example' } }));
      expect(d.kind, t.name).toBe('deny');
      expect(d.basis.policyIds).toEqual(['all']);
      expect(d.basis.reasons[0]).toMatch(/needs an explicit permit naming it/);
    }
    expect(decide(blanket, request(tool('tickets.comment'))).kind).toBe('allow');

    const scoped = compile(`${ALL}\n@id("wipe")\npermit (principal, ${CALL}, resource == Airlock::Tool::"db.wipe");`, contracts);
    const d = decide(scoped, request(wipe));
    expect(d.kind).toBe('allow');
    expect(d.basis.policyIds).toEqual(expect.arrayContaining(['all', 'wipe']));
  });

  it('denies critical risk at every tier, whatever the policies say', () => {
    const nuke = contract({ name: 'ops.nuke', effect: 'write', risk: 'critical' });
    const compiled = compile(`${ALL}\npermit (principal, ${CALL}, resource == Airlock::Tool::"ops.nuke");`, [...ACME_CONTRACTS, nuke]);
    for (const tier of ['assist', 'prepare', 'execute-low', 'execute-high'] as const) {
      const d = decide(compiled, request(nuke, { tier }));
      expect(d.kind).toBe('deny');
      expect(d.basis.reasons[0]).toMatch(/critical risk/);
    }
    const criticalRead = contract({ name: 'ops.peek', effect: 'read', risk: 'critical' });
    expect(decide(compile(ALL, [...ACME_CONTRACTS, criticalRead]), request(criticalRead)).kind).toBe('deny');
  });

  it('takes the strictest obligation of the determining permits', () => {
    const compiled = compile(
      `${ALL}\n@id("one")\n@approval("single")\npermit (principal, ${CALL}, resource) when { resource.connector == "tickets" };\n` +
        `@id("two")\n@approval("step-up")\n@reason("status changes need two")\npermit (principal, ${CALL}, resource == Airlock::Tool::"tickets.set_status");`,
    );
    const comment = decide(compiled, request(tool('tickets.comment')));
    expect(comment).toMatchObject({ kind: 'approval', level: 'single' });
    expect(comment.basis.policyIds).toEqual(expect.arrayContaining(['all', 'one']));
    const status = decide(compiled, request(tool('tickets.set_status'), { args: { status: 'open' } }));
    expect(status).toMatchObject({ kind: 'approval', level: 'step-up' });
    expect(status.basis.reasons).toContain('status changes need two');
    expect(decide(compiled, request(tool('crm.get_customer'))).kind).toBe('allow');
  });

  describe('the tier table', () => {
    const tools = {
      read: contract({ name: 't.read', effect: 'read', risk: 'high' }),
      lowWrite: contract({ name: 't.low_write', effect: 'write', risk: 'low' }),
      mediumWrite: contract({ name: 't.medium_write', effect: 'write', risk: 'medium' }),
      highWrite: contract({ name: 't.high_write', effect: 'write', risk: 'high' }),
      lowMoney: contract({ name: 't.low_money', effect: 'financial', risk: 'low' }),
    };
    const compiled = compile(
      `permit (principal, ${CALL}, resource in Airlock::Tool::"t.low_money");\n${ALL}`,
      Object.values(tools),
    );
    const cases: [Tier, keyof typeof tools, string][] = [
      ['assist', 'read', 'allow'],
      ['assist', 'lowWrite', 'suggest'],
      ['assist', 'highWrite', 'suggest'],
      ['prepare', 'read', 'allow'],
      ['prepare', 'lowWrite', 'approval:single'],
      ['prepare', 'lowMoney', 'approval:single'],
      ['prepare', 'highWrite', 'approval:single'],
      ['execute-low', 'read', 'allow'],
      ['execute-low', 'lowWrite', 'allow'],
      ['execute-low', 'lowMoney', 'allow'],
      ['execute-low', 'mediumWrite', 'approval:single'],
      ['execute-low', 'highWrite', 'approval:single'],
      ['execute-high', 'read', 'allow'],
      ['execute-high', 'lowWrite', 'allow'],
      ['execute-high', 'mediumWrite', 'allow'],
      ['execute-high', 'highWrite', 'approval:step-up'],
    ];
    it.each(cases)('%s + %s → %s', (tier, key, expected) => {
      const d = decide(compiled, request(tools[key], { tier }));
      expect(d.kind === 'approval' ? `approval:${d.level}` : d.kind).toBe(expected);
      if (d.kind !== 'allow') expect(d.basis.reasons.some((r) => r.startsWith(`tier \`${tier}\``))).toBe(true);
    });

    it('never loosens what policy asked for', () => {
      const effects: Effect[] = ['read', 'write', 'destructive', 'egress', 'financial'];
      const risks: Risk[] = ['low', 'medium', 'high'];
      const rank = { allow: 0, single: 1, reauth: 2, 'step-up': 3, suggest: 4 } as const;
      fc.assert(
        fc.property(
          fc.constantFrom<Tier>('assist', 'prepare', 'execute-low', 'execute-high'),
          fc.constantFrom(...effects),
          fc.constantFrom(...risks),
          fc.constantFrom<'single' | 'reauth' | 'step-up' | undefined>(undefined, 'single', 'reauth', 'step-up'),
          (tier, effect, risk, level) => {
            const out = applyTier(tier, { effect, risk }, level);
            const got = out.kind === 'approval' ? rank[out.level] : rank[out.kind];
            return got >= rank[level ?? 'allow'];
          },
        ),
      );
    });
  });

  it('passes only exposed, coerced arguments and denies a fraction for a long', () => {
    const refund = tool('payments.refund');
    expect(exposeArgs(refund, { amount_cents: '4000', currency: 'EUR', order_id: '1182', reason: 'x' })).toEqual({
      ok: true,
      values: { amount_cents: 4000, currency: 'EUR' },
    });
    const compiled = compile(`permit (principal, ${CALL}, resource == Airlock::Tool::"payments.refund");`);
    const d = decide(compiled, request(refund, { args: { amount_cents: 40.5, currency: 'EUR' } }));
    expect(d.kind).toBe('deny');
    expect(d.basis.reasons).toEqual(['argument `amount_cents` must be a whole number (policy sees it as a Cedar `Long`), got `40.5`']);
    expect(decide(compiled, request(refund, { args: { amount_cents: 2 ** 60 } })).kind).toBe('deny');
    expect(decide(compiled, request(refund, { args: { currency: { evil: true } } })).basis.reasons[0]).toMatch(/`currency` must be a string/);
    expect(decide(compiled, request(refund, { args: { amount_cents: 4000 } })).kind).toBe('approval');
  });

  it('shows policies the workflow, tier, labels and on-behalf-of principal', () => {
    const compiled = compile(
      `permit (principal, ${CALL}, resource) when { context.workflow == "refund-desk" && context.tier == "execute-low" && ` +
        `context.labels.trust == "trusted" && context has onBehalfOf && context.onBehalfOf == "user:dana" };`,
    );
    const dana = { kind: 'user' as const, id: 'dana', roles: ['support-lead'] };
    const t = tool('orders.get_order');
    expect(decide(compiled, request(t, { onBehalfOf: dana })).kind).toBe('allow');
    expect(decide(compiled, request(t)).kind).toBe('deny');
    expect(decide(compiled, request(t, { onBehalfOf: dana, workflow: 'other' })).kind).toBe('deny');
    expect(decide(compiled, request(t, { onBehalfOf: dana, labels: { classification: 'public', trust: 'untrusted' } })).kind).toBe('deny');
  });

  it('turns evaluation errors into reasons and fails closed', () => {
    const compiled = compile(
      `${ALL}\n@id("overflow")\nforbid (principal, ${CALL}, resource) when { context.args has amount_cents && context.args.amount_cents * 1000000000 > 5 };`,
    );
    const d = decide(compiled, request(tool('payments.refund'), { args: { amount_cents: 2 ** 52 } }));
    expect(d.kind).toBe('deny');
    expect(d.basis.reasons[0]).toMatch(/^policy `overflow` failed to evaluate: integer overflow/);
    expect(d.basis.reasons).toContain('policy evaluation failed, so the action is denied (failing closed)');
  });

  it('hands the engine only the principal, its roles and the tool', () => {
    const seen: { request: CedarRequest; entities: readonly CedarEntity[] }[] = [];
    const base = compile(ALL);
    const spy: CedarEngine = {
      name: 'spy',
      authorize(req, entities) {
        seen.push({ request: req, entities });
        return base.engine.authorize(req, entities);
      },
    };
    const compiled = { ...base, engine: spy };
    const dana = { kind: 'user' as const, id: 'dana', roles: ['support-lead', 'finance-approver'] };
    expect(decide(compiled, request(tool('orders.get_order'), { principal: dana })).kind).toBe('allow');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.request.principal).toEqual({ type: 'Airlock::User', id: 'dana' });
    expect(seen[0]?.request.resource).toEqual({ type: 'Airlock::Tool', id: 'orders.get_order' });
    expect(seen[0]?.entities.map((e) => `${e.uid.type}::${e.uid.id}`).sort()).toEqual([
      'Airlock::Role::finance-approver',
      'Airlock::Role::support-lead',
      'Airlock::Tool::orders.get_order',
      'Airlock::User::dana',
    ]);
  });

  it('uses a swapped-in engine through `compiled.engine`', () => {
    const base = compile(ALL);
    const never: CedarEngine = { name: 'never', authorize: () => ({ decision: 'deny', determining: [], errors: [] }) };
    expect(decide({ ...base, engine: never }, request(tool('orders.get_order'))).kind).toBe('deny');
  });

  it('orders obligations: none < single < step-up', () => {
    expect(stricter(undefined, undefined)).toBeUndefined();
    expect(stricter(undefined, 'single')).toBe('single');
    expect(stricter('step-up', 'single')).toBe('step-up');
  });

  it('maps any refund amount to the acme bands', () => {
    const compiled = compilePolicies(readSources('examples/acme/policies', '.cedar'), ACME_CONTRACTS);
    const refund = tool('payments.refund');
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 60_000 }), (amount) => {
        const d = decide(compiled, request(refund, { args: { amount_cents: amount, currency: 'EUR' } }));
        const got = d.kind === 'approval' ? d.level : d.kind;
        const want = amount < 1 || amount > 50_000 ? 'deny' : amount <= 5000 ? 'single' : 'step-up';
        return got === want;
      }),
      { numRuns: 200 },
    );
  });
});
