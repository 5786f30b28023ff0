// decide() as the gateway calls it, differentially: generated contracts, policy sets that pass Airlock's strict
// schema validation, and requests through exposeArgs; the production engine (fast path + cedar-wasm fallback)
// against cedar-wasm alone must reach the same decision, obligation, policies and reasons.
import { describe, expect, it } from 'vitest';
import { Gen } from '../helpers/gen.js';
import type { ToolContract } from '../../src/config/schema.js';
import { compilePolicies, type CompiledPolicies } from '../../src/policy/compile.js';
import { decide, type PolicyRequest } from '../../src/policy/decide.js';
import { createWasmEngine } from '../../src/policy/wasm-engine.js';
import { CLASSIFICATIONS, TIERS, TRUST, type Decision, type Principal } from '../../src/types.js';
import { contract } from './fixtures.js';


const CONTRACTS: readonly ToolContract[] = [
  contract({ name: 't.pay', effect: 'financial', risk: 'medium', expose: { amount: 'long', currency: 'string', note: 'string', price: 'decimal' } }),
  contract({ name: 't.mail', effect: 'egress', risk: 'high', expose: { to: 'string', urgent: 'boolean' } }),
  contract({ name: 't.read', effect: 'read', risk: 'low', expose: { path: 'string' } }),
  // Decided once per element of `paths`, each seen as `path`: the strictest decision stands.
  contract({ name: 't.readmany', effect: 'read', risk: 'low', expose: { path: { type: 'string', each: 'paths' }, amount: 'long' } }),
  contract({ name: 't.sendmany', effect: 'egress', risk: 'medium', expose: { to: { type: 'string', each: 'recipients' }, urgent: 'boolean' } }),
  contract({ name: 't.write', effect: 'write', risk: 'low', expose: { path: 'string', amount: 'long' } }),
  contract({ name: 't.ship', effect: 'write', risk: 'high', irreversible: true, expose: { note: 'string', urgent: 'boolean', price: 'decimal' } }),
  contract({ name: 't.wipe', effect: 'destructive', risk: 'critical' }),
];
type FieldType = 'long' | 'string' | 'boolean' | 'decimal';
const FIELDS: Readonly<Record<string, FieldType>> = { amount: 'long', currency: 'string', note: 'string', to: 'string', urgent: 'boolean', path: 'string', price: 'decimal' };
const DECIMALS = ['0.0', '0.01', '99.99', '99.9900', '100.0', '-0.5', '922337203685477.5807'];
const ROLES = ['r0', 'r1', 'r2'];
const PRINCIPALS: readonly Principal[] = [
  { kind: 'agent', id: 'a0', roles: ['r0'] },
  { kind: 'agent', id: 'a1', roles: ['r1', 'r2'] },
  { kind: 'user', id: 'u0', roles: ['r2'] },
  { kind: 'user', id: 'u1', roles: [] },
  { kind: 'service', id: 's0', roles: ['r0', 'r1'] },
];
const LETTERS = ['a', 'b', '.', '/', '@', '😀'];
const STRINGS = ['a@acme.example', 'b@evil.example', '../etc/passwd', 'notes/../x', 'notes/a.md', 'EUR', 'USD', '', 'ab/ba', 'a😀b'];

function word(g: Gen, max = 6): string {
  let s = '';
  for (let i = g.int(max + 1); i > 0; i--) s += g.pick(LETTERS);
  return s;
}

/** A `like` pattern with an optional prefix, wildcards around literal middles, an optional suffix. */
function pattern(g: Gen): string {
  let p = g.chance(0.5) ? word(g, 3) : '';
  p += '*';
  for (let i = g.int(3); i > 0; i--) p += `${word(g, 2)}*`;
  if (g.chance(0.5)) p += word(g, 3);
  return `"${p}"`;
}

/** Generates boolean Cedar conditions that type-check against Airlock's generated schema (strict mode). */
class CondGen {
  constructor(readonly g: Gen) {}

  /** A condition on one exposed argument, guarded by `has` as strict validation requires. */
  arg(): string {
    const g = this.g;
    const field = g.pick(Object.keys(FIELDS));
    const v = `context.args.${field}`;
    let test: string;
    switch (FIELDS[field]) {
      case 'long':
        test = g.chance(0.5)
          ? `${v} ${g.pick(['<', '<=', '>', '>=', '==', '!='])} ${g.pick([0, 100, 5000, 10000, -1])}`
          : `${v} * ${g.pick([100, 1000000000])} ${g.pick(['<', '>'])} ${g.pick([0, 500000])}`; // overflows for big amounts
        break;
      case 'boolean':
        test = g.chance(0.5) ? v : `${v} == ${g.pick(['true', 'false'])}`;
        break;
      case 'decimal': {
        const lit = `decimal(${JSON.stringify(g.pick(DECIMALS))})`;
        test = g.chance(0.8) ? `${v}.${g.pick(['lessThan', 'lessThanOrEqual', 'greaterThan', 'greaterThanOrEqual'])}(${lit})` : `${v} ${g.pick(['==', '!='])} ${lit}`;
        break;
      }
      default:
        test = g.chance(0.6) ? `${v} like ${pattern(g)}` : `${v} ${g.pick(['==', '!='])} ${JSON.stringify(g.pick(STRINGS))}`;
    }
    return `(context.args has ${field} && ${test})`;
  }

  bool(d: number): string {
    const g = this.g;
    switch (g.int(d <= 0 ? 8 : 13)) {
      case 0:
        return this.arg();
      case 1:
        return `(context.args has amount && context.args.amount * ${g.pick([1000000, 1000000000])} ${g.pick(['<', '>'])} 0)`; // overflows for big amounts
      case 2:
        return `resource.${g.pick(['effect', 'risk', 'connector', 'classification'])} == ${JSON.stringify(g.pick(['read', 'write', 'financial', 'egress', 'low', 'medium', 'high', 't', 'internal']))}`;
      case 3:
        return g.pick(['resource.irreversible', 'true', 'false']);
      case 4:
        return `context.${g.pick(['tier', 'workflow', 'labels.trust', 'labels.classification'])} == ${JSON.stringify(g.pick([...TIERS, ...TRUST, ...CLASSIFICATIONS, 'w1', 'w2']))}`;
      case 5:
        return `(context has onBehalfOf && context.onBehalfOf like ${g.pick(['"user:*"', '"*0"', '"agent:*"'])})`;
      case 6:
        return `principal in Airlock::Role::${JSON.stringify(g.pick(ROLES))}`;
      case 7:
        return `resource == Airlock::Tool::${JSON.stringify(g.pick(CONTRACTS).name)}`;
      case 8:
        return `(${this.bool(d - 1)}) && (${this.bool(d - 1)})`;
      case 9:
        return `(${this.bool(d - 1)}) || (${this.bool(d - 1)})`;
      case 10:
        return `!(${this.bool(d - 1)})`;
      case 11:
        return `if (${this.bool(d - 1)}) then (${this.bool(d - 1)}) else (${this.bool(d - 1)})`;
      default:
        return this.arg();
    }
  }
}

function policySet(g: Gen, n: number): string {
  const c = new CondGen(g);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const permit = g.chance(0.75);
    const annotations = [`@id("p${i}")`];
    if (permit && g.chance(0.4)) annotations.push(`@approval("${g.pick(['single', 'reauth', 'step-up'])}")`);
    if (g.chance(0.3)) annotations.push(`@reason("reason ${i}")`);
    const principal = g.pick(['principal', `principal in Airlock::Role::"${g.pick(ROLES)}"`, 'principal == Airlock::Agent::"a0"', 'principal is Airlock::User']);
    const resource = g.pick(['resource', 'resource', `resource == Airlock::Tool::"${g.pick(CONTRACTS).name}"`, 'resource is Airlock::Tool']);
    const clauses = Array.from({ length: g.int(3) }, () => ` ${g.chance(0.75) ? 'when' : 'unless'} { ${c.bool(g.int(3))} }`).join('');
    out.push(`${annotations.join('\n')}\n${permit ? 'permit' : 'forbid'} (${principal}, action == Airlock::Action::"call", ${resource})${clauses};`);
  }
  return out.join('\n\n');
}

function argValue(g: Gen, type: FieldType): unknown {
  if (g.chance(0.05)) return g.pick([1.5, 'x\uD800', null, true, 2 ** 60, 0.00001, 99.99999]); // refused by exposeArgs or the boundary
  switch (type) {
    case 'decimal':
      return g.pick([0, 0.01, 5, 99.98, 99.99, 99.991, 100, 100.5, -0.5, 12345.6789, '99.99', '100']);
    case 'long':
      return g.chance(0.3) ? g.pick([2 ** 40, 2 ** 45, Number.MAX_SAFE_INTEGER]) : g.pick([0, 1, 99, 100, 4999, 5000, 5001, 10000, -1]);
    case 'boolean':
      return g.chance(0.5);
    default:
      return g.chance(0.5) ? g.pick(STRINGS) : word(g, 8);
  }
}

function genRequest(g: Gen): PolicyRequest {
  const tool = g.pick(CONTRACTS);
  const args: Record<string, unknown> = {};
  for (const [field, entry] of Object.entries(tool.expose)) {
    if (!g.chance(0.8)) continue;
    if (typeof entry === 'string') args[field] = argValue(g, entry);
    else args[entry.each] = g.chance(0.05) ? argValue(g, entry.type) : Array.from({ length: g.int(5) }, () => argValue(g, entry.type));
  }
  if (g.chance(0.3)) args['unexposed'] = 'ignored';
  return {
    principal: g.pick(PRINCIPALS),
    ...(g.chance(0.3) ? { onBehalfOf: g.pick(PRINCIPALS) } : {}),
    tool,
    workflow: g.pick(['w1', 'w2']),
    tier: g.pick(TIERS),
    args,
    labels: { classification: g.pick(CLASSIFICATIONS), trust: g.pick(TRUST) },
  };
}

/** A decision with engine-specific error wording reduced to which policy failed. */
function comparable(d: Decision): unknown {
  return {
    kind: d.kind,
    level: d.kind === 'approval' ? d.level : undefined,
    policyIds: d.basis.policyIds,
    reasons: d.basis.reasons.map((r) => r.replace(/(failed to evaluate): .*/s, '$1').replace(/^(cedar refuses the request): .*/s, '$1')),
  };
}

describe('decide(): production engine vs cedar-wasm, on schema-validated policies', () => {
  it('agrees on 30,000 decisions over 300 generated policy sets', () => {
    const g = new Gen(0xdec1de);
    const stats: Record<string, number> = { allow: 0, deny: 0, approval: 0, suggest: 0, evaluationErrors: 0, failedClosed: 0, explicitPermit: 0, byDecimalRule: 0, deniedForAnElement: 0, listPassed: 0 };
    let compared = 0;
    const mismatches: string[] = [];
    for (let s = 0; s < 300 && mismatches.length === 0; s++) {
      const text = policySet(g, 3 + g.int(10));
      const sources = [{ file: `set-${s}.cedar`, text }];
      const production = compilePolicies(sources, CONTRACTS);
      const wasm: CompiledPolicies = compilePolicies(sources, CONTRACTS, { engine: (texts, hash) => createWasmEngine(texts, `${hash}-decide-diff`) });
      expect(production.engine.name).toMatch(/^airlock-fast/);
      for (let q = 0; q < 100; q++) {
        const request = genRequest(g);
        const want = decide(wasm, request);
        const got = decide(production, request);
        compared++;
        stats[want.kind] = (stats[want.kind] ?? 0) + 1;
        if (want.basis.reasons.some((r) => r.includes('failed to evaluate'))) stats['evaluationErrors']!++;
        if (want.basis.reasons.some((r) => r.includes('failing closed'))) stats['failedClosed']!++;
        if (want.basis.reasons.some((r) => r.includes('needs an explicit permit'))) stats['explicitPermit']!++;
        if (want.basis.policyIds.some((id) => wasm.policies.get(id)?.text.includes('context.args.price.') === true)) stats['byDecimalRule']!++;
        if (want.basis.reasons.some((r) => r.startsWith('element `'))) stats['deniedForAnElement']!++;
        if (Array.isArray(request.args['paths'] ?? request.args['recipients']) && want.kind !== 'deny') stats['listPassed']!++;
        if (JSON.stringify(comparable(want)) !== JSON.stringify(comparable(got))) {
          mismatches.push(`set ${s}, request ${q}\ncedar-wasm: ${JSON.stringify(want)}\nproduction: ${JSON.stringify(got)}\nargs: ${JSON.stringify(request.args)}\npolicies:\n${text}`);
          break;
        }
      }
    }
    console.log(`decide-differential: ${compared} decisions`, stats);
    expect(mismatches.join('\n')).toBe('');
    expect(compared).toBe(30_000);
    for (const k of ['allow', 'deny', 'approval', 'suggest']) expect(stats[k], k).toBeGreaterThan(compared * 0.02);
    expect(stats['evaluationErrors']).toBeGreaterThan(compared * 0.01);
    expect(stats['failedClosed']).toBeGreaterThan(20);
    expect(stats['byDecimalRule']).toBeGreaterThan(compared * 0.005);
    expect(stats['deniedForAnElement']).toBeGreaterThan(compared * 0.01);
    expect(stats['listPassed']).toBeGreaterThan(compared * 0.005);
    expect(stats['explicitPermit']).toBeGreaterThan(compared * 0.005);
  }, 180_000);
});
