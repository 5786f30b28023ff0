// The engine boundary refuses what Cedar refuses: one case per input class, each checked against cedar-wasm
// itself, then through both engines, `decide` and `decideApprover` (deny with a reason, never a throw).
import { describe, expect, it } from 'vitest';
import { decideApprover, type ApproveRequest } from '../../src/policy/approver.js';
import { cedarWasm, replaceCedar } from '../../src/policy/cedar-runtime.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/decide.js';
import type { CedarEngine, CedarEntity, CedarRequest, CedarValue, EngineResult } from '../../src/policy/engine.js';
import { compileFastEngine } from '../../src/policy/fast/engine.js';
import { createWasmEngine } from '../../src/policy/wasm-engine.js';
import { ACME_CONTRACTS, ACME_PRINCIPALS, CALL, request, tool } from './fixtures.js';

const POLICIES = {
  all: 'permit(principal, action, resource);',
  n: 'permit(principal, action, resource) when { context has n && context.n == 4503599627370496 * 2 + 1 };',
};
const user = { type: 'Airlock::User', id: 'dana' };
const base = (): { request: CedarRequest; entities: CedarEntity[] } => ({
  request: { principal: user, action: { type: 'Airlock::Action', id: 'call' }, resource: { type: 'Airlock::Tool', id: 't' }, context: { s: 'ok' } },
  entities: [
    { uid: user, attrs: { level: 1 }, parents: [{ type: 'Airlock::Role', id: 'r' }] },
    { uid: { type: 'Airlock::Role', id: 'r' }, attrs: {}, parents: [] },
  ],
});
const withContext = (extra: Record<string, unknown>) => () => {
  const b = base();
  return { ...b, request: { ...b.request, context: { ...b.request.context, ...extra } as Record<string, CedarValue> } };
};
const withEntities = (f: (es: CedarEntity[]) => unknown[]) => () => {
  const b = base();
  return { ...b, entities: f(b.entities) as CedarEntity[] };
};
const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};
const cyclic = (): unknown => {
  const o: Record<string, unknown> = { a: 1 };
  o.self = o;
  return o;
};

/** What cedar-wasm does with the input: throws, refuses it (`failure`), or evaluates it. Never leaves a broken instance. */
function cedarSays(input: { request: CedarRequest; entities: readonly CedarEntity[] }): 'throws' | 'failure' | 'allow' | 'deny' {
  const c = cedarWasm();
  try {
    const a = c.isAuthorized({
      principal: input.request.principal,
      action: input.request.action,
      resource: input.request.resource,
      context: input.request.context as never,
      policies: { staticPolicies: POLICIES },
      entities: input.entities as never,
    });
    return a.type === 'failure' ? 'failure' : a.response.decision;
  } catch {
    replaceCedar(c);
    return 'throws';
  }
}

interface Case {
  readonly name: string;
  readonly input: () => { request: CedarRequest; entities: CedarEntity[] };
  /** What cedar-wasm does with it; `evaluates` marks the few classes where it would judge other data than was given. */
  readonly cedar: 'throws' | 'failure' | 'evaluates';
  /** Text the refusal must contain. */
  readonly why: RegExp;
}

const CASES: readonly Case[] = [
  { name: 'a lone surrogate in a string', input: withContext({ s: 'x\uD800' }), cedar: 'throws', why: /context\.s holds a lone UTF-16 surrogate/ },
  { name: 'a lone surrogate in a key', input: withContext({ args: { ['k\uDC00']: 1 } }), cedar: 'throws', why: /key holding a lone UTF-16 surrogate/ },
  {
    name: 'a lone surrogate in an entity id',
    input: () => ({ ...base(), request: { ...base().request, principal: { type: 'Airlock::User', id: 'dana\uD800' } } }),
    cedar: 'throws',
    why: /principal\.id holds a lone UTF-16 surrogate/,
  },
  { name: 'null', input: withContext({ n: null }), cedar: 'failure', why: /context\.n is null/ },
  { name: 'NaN', input: withContext({ n: Number.NaN }), cedar: 'failure', why: /context\.n is NaN/ },
  { name: 'Infinity', input: withContext({ n: Number.POSITIVE_INFINITY }), cedar: 'failure', why: /context\.n is Infinity/ },
  { name: 'a fraction', input: withContext({ n: 1.5 }), cedar: 'failure', why: /context\.n is 1\.5: Cedar has no fractions/ },
  // 9007199254740993 cannot be a JavaScript number: it is read as ...992, which cedar-wasm would then judge.
  { name: 'an integer past 2^53', input: withContext({ n: 9007199254740993 }), cedar: 'evaluates', why: /past 2\^53/ },
  { name: 'a BigInt', input: withContext({ n: 10n }), cedar: 'throws', why: /context\.n is a bigint/ },
  { name: 'undefined in a set', input: withContext({ n: [1, undefined] }), cedar: 'failure', why: /context\.n\[1\] is a undefined/ },
  { name: 'a function', input: withContext({ n: () => 1 }), cedar: 'evaluates', why: /context\.n is a function/ },
  { name: 'a class instance', input: withContext({ n: new Date(0) }), cedar: 'evaluates', why: /context\.n is not a plain object/ },
  { name: 'a cyclic value', input: withContext({ n: cyclic() }), cedar: 'throws', why: /context\.n\.self refers back to itself/ },
  { name: 'nesting too deep', input: withContext({ n: nested(200) }), cedar: 'throws', why: /nested deeper than 64 levels/ },
  {
    name: 'a throwing getter',
    input: () => {
      const b = base();
      Object.defineProperty(b.request.context, 'n', {
        enumerable: true,
        get() {
          throw new Error('boom');
        },
      });
      return b;
    },
    cedar: 'throws',
    why: /could not be read \(boom\)/,
  },
  { name: 'a malformed entity reference', input: withContext({ n: { __entity: { type: 'not a type', id: 'x' } } }), cedar: 'failure', why: /is not a Cedar entity type name/ },
  { name: 'an entity reference with extra keys', input: withContext({ n: { __entity: { type: 'Airlock::User', id: 'x' }, y: 1 } }), cedar: 'evaluates', why: /mixes `__entity` with other keys/ },
  { name: 'a malformed decimal', input: withContext({ n: { __extn: { fn: 'decimal', arg: '1.23456' } } }), cedar: 'failure', why: /too many digits after the decimal/ },
  { name: 'an unknown extension function', input: withContext({ n: { __extn: { fn: 'money', arg: '1' } } }), cedar: 'failure', why: /extension function `money` does not exist/ },
  { name: 'the `__expr` escape', input: withContext({ n: { __expr: '1' } }), cedar: 'failure', why: /`__expr` escape/ },
  {
    name: 'a reserved word in an entity type',
    input: () => ({ ...base(), request: { ...base().request, resource: { type: 'Airlock::if', id: 't' } } }),
    cedar: 'failure',
    why: /`if` is reserved/,
  },
  { name: 'a context that is not a record', input: () => ({ ...base(), request: { ...base().request, context: [1] as never } }), cedar: 'failure', why: /context is not a record/ },
  { name: 'duplicate entities', input: withEntities((es) => [...es, { ...es[0], attrs: { level: 2 } }]), cedar: 'failure', why: /duplicate entity `Airlock::User::"dana"`/ },
  {
    name: 'a cycle among parents',
    input: withEntities((es) => [es[0], { uid: { type: 'Airlock::Role', id: 'r' }, attrs: {}, parents: [user] }]),
    cedar: 'failure',
    why: /parents form a cycle/,
  },
  {
    name: 'an entity its own parent',
    input: withEntities((es) => [{ ...es[0], parents: [user] }]),
    cedar: 'failure',
    why: /parents form a cycle/,
  },
  { name: 'an entity without parents', input: withEntities((es) => [{ uid: user, attrs: {} }, es[1]]), cedar: 'failure', why: /has no `parents` list/ },
  { name: 'an entity without attrs', input: withEntities((es) => [{ uid: user, parents: [] }, es[1]]), cedar: 'failure', why: /has no `attrs`/ },
];

function engines(): { name: string; engine: CedarEngine }[] {
  const wasm = createWasmEngine(POLICIES, 'boundary-test');
  const fast = compileFastEngine(POLICIES);
  const withFallback = compileFastEngine(POLICIES, { fallback: wasm });
  if ('unsupported' in fast || 'unsupported' in withFallback) throw new Error('the fast engine should compile these policies');
  return [
    { name: 'cedar-wasm engine', engine: wasm },
    { name: 'fast engine', engine: fast.engine },
    { name: 'fast engine with fallback', engine: withFallback.engine },
  ];
}

describe('the engine boundary refuses what cedar-wasm refuses', () => {
  const all = engines();

  it('evaluates the untouched input alike in cedar-wasm and every engine (the cases below differ only in the named class)', () => {
    expect(cedarSays(base())).toBe('allow');
    for (const { name, engine } of all) expect(engine.authorize(base().request, base().entities), name).toEqual({ decision: 'allow', determining: ['all'], errors: [] });
  });

  it.each(CASES)('$name', (c) => {
    const said = cedarSays(c.input());
    if (c.cedar === 'evaluates') expect(['allow', 'deny']).toContain(said);
    else expect(said).toBe(c.cedar);
    for (const { name, engine } of all) {
      let r: EngineResult | undefined;
      expect(() => (r = engine.authorize(c.input().request, c.input().entities)), name).not.toThrow();
      expect(r?.decision, name).toBe('deny');
      expect(r?.determining, name).toEqual([]);
      expect(r?.refused, name).toMatch(c.why);
    }
  });

  it('an integer past 2^53 is refused because cedar-wasm would judge a rounded number', () => {
    // Written 9007199254740993, read by JavaScript as ...992: cedar-wasm then says the permit on ...993 does not match.
    const said = cedarSays(withContext({ n: 9007199254740993 })());
    expect(said).toBe('allow'); // only through `all`; `n` did not match
    const c = cedarWasm();
    const a = c.isAuthorized({ ...base().request, context: { n: 9007199254740993 }, policies: { staticPolicies: { n: POLICIES.n } }, entities: [] } as never);
    expect(a.type === 'success' && a.response.decision).toBe('deny');
  });
});

describe('decide and decideApprover refuse the same data, with a reason, never a throw', () => {
  const mailDraft = tool('mail.draft');
  const compiled = compilePolicies(
    [{ file: 'p.cedar', text: `@id("acme-only")\npermit (principal, ${CALL}, resource) when { context.args has to && context.args.to like "*@acme.example" };\n@id("approvers")\npermit (principal, action == Airlock::Action::"approve", resource);` }],
    ACME_CONTRACTS,
    { principals: ACME_PRINCIPALS },
  );
  const wasmCompiled = { ...compiled, engine: createWasmEngine(Object.fromEntries([...compiled.policies].map(([id, p]) => [id, p.text])), `${compiled.policySetHash}-boundary`) };

  it('a lone surrogate in a string argument turns no deny into an allow', () => {
    const sneaky = request(mailDraft, { args: { to: 'mallory@evil.example\uD800@acme.example' } });
    for (const c of [compiled, wasmCompiled]) {
      const d = decide(c, sneaky);
      expect(d.kind, c.engine.name).toBe('deny');
      expect(d.basis.reasons.join(' '), c.engine.name).toMatch(/argument `to` must be a string of valid Unicode text \(no lone UTF-16 surrogate\)/);
      expect(decide(c, request(mailDraft, { args: { to: 'lena@acme.example' } })).kind, c.engine.name).toBe('allow');
    }
  });

  it('a lone surrogate anywhere else in the request (a principal id) is refused by the engine, with the reason', () => {
    const odd = request(mailDraft, { principal: { kind: 'agent', id: 'refund-bot\uDC00', roles: ['support-agent'] }, args: { to: 'lena@acme.example' } });
    for (const c of [compiled, wasmCompiled]) {
      const d = decide(c, odd);
      expect(d.kind, c.engine.name).toBe('deny');
      expect(d.basis.reasons[0], c.engine.name).toMatch(/^the request cannot be evaluated: principal\.id holds a lone UTF-16 surrogate/);
      expect(d.basis.reasons[1]).toMatch(/failing closed/);
    }
  });

  it('an argument that is not an object, or cannot be read, is denied rather than thrown', () => {
    expect(decide(compiled, request(mailDraft, { args: null as never })).kind).toBe('deny');
    const trap = Object.defineProperty({}, 'to', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const d = decide(compiled, request(mailDraft, { args: trap }));
    expect(d.kind).toBe('deny');
    expect(d.basis.reasons[0]).toMatch(/could not be decided \(boom\)/);
  });

  it('decideApprover goes through the same boundary: an approver is never eligible on data Cedar refuses', () => {
    const dana = { kind: 'user' as const, id: 'dana', roles: ['support-lead'] };
    const approve = (over: Partial<ApproveRequest>): ApproveRequest => ({
      approver: dana,
      auth: { issuer: 'local', subject: 'dana', method: 'local', amr: [], authTime: null },
      authAgeSeconds: null,
      tool: mailDraft,
      workflow: 'refund-desk',
      tier: 'execute-low',
      args: { to: 'lena@acme.example' },
      labels: { classification: 'public', trust: 'trusted' },
      requester: 'agent:refund-bot',
      onBehalfOf: null,
      level: 'single',
      ...over,
    });
    for (const c of [compiled, wasmCompiled]) {
      expect(decideApprover(c, approve({})).allowed, c.engine.name).toBe(true);
      const badArg = decideApprover(c, approve({ args: { to: 'x\uD800' } }));
      expect(badArg.allowed).toBe(false);
      expect(badArg.reasons.join(' ')).toMatch(/lone UTF-16 surrogate/);
      const badRequester = decideApprover(c, approve({ requester: 'agent:refund-bot\uD800' }));
      expect(badRequester.allowed, c.engine.name).toBe(false);
      expect(badRequester.reasons[0]).toMatch(/^the request cannot be evaluated: context\.requester holds a lone UTF-16 surrogate/);
      expect(badRequester.reasons[1]).toMatch(/the person is not eligible \(failing closed\)/);
    }
  });
});
