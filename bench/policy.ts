// Decision latency of cedar-wasm (preparsed policy set) against the compiled fast engine, at 200 and 1,000 policies.
import { seededRandom } from '../src/util/random.js';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { CedarEntity, CedarRequest, CedarValue, EngineResult, EntityUid } from '../src/policy/engine.js';
import { compileFastEngine } from '../src/policy/fast/engine.js';
import { sized, timeCalls, type BenchOptions, type BenchResult, type BenchSuite } from './harness.js';

const NS = 'Airlock';
const uid = (type: string, id: string): EntityUid => ({ type: `${NS}::${type}`, id });
const lit = (u: EntityUid): string => `${u.type}::${JSON.stringify(u.id)}`;


interface Workload {
  readonly policies: Record<string, string>;
  readonly requests: readonly { readonly request: CedarRequest; readonly entities: readonly CedarEntity[] }[];
}

const EFFECTS = ['read', 'write', 'financial', 'egress', 'destructive'];
const RISKS = ['low', 'medium', 'high', 'critical'];
const CLASSES = ['public', 'internal', 'confidential', 'restricted'];
const TIERS = ['assist', 'prepare', 'execute-low', 'execute-high'];

/**
 * `n` policies in Airlock's shape: per-tool permits for roles, group permits, per-tool forbids on amounts and labels,
 * a few global guards; about one tool per two policies, 40 roles in a two-level hierarchy, 1 group per 10 tools.
 */
function workload(n: number, seed: number): Workload {
  const r = seededRandom(seed);
  const int = (k: number): number => Math.floor(r() * k);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const tools = Math.max(10, Math.floor(n / 2));
  const groups = Math.max(2, Math.floor(tools / 10));
  const roles = 40;
  const tool = (i: number): EntityUid => uid('Tool', `sys${i % 17}.tool_${i}`);
  const group = (i: number): EntityUid => uid('ToolGroup', `group_${i}`);
  const role = (i: number): EntityUid => uid('Role', `role_${i}`);
  const call = uid('Action', 'call');
  const policies: Record<string, string> = {
    'guard-critical': `forbid(principal, action, resource is ${NS}::Tool) when { resource.risk == "critical" };`,
    'guard-egress': `forbid(principal, action == ${lit(call)}, resource) when { context.labels.trust == "untrusted" && resource.effect == "egress" };`,
    'guard-restricted': `forbid(principal is ${NS}::Agent, action, resource) when { context.labels.classification == "restricted" } unless { principal in ${lit(role(0))} };`,
  };
  const grants: [number, number][] = []; // (role, tool) pairs some permit names, so requests hit real grants
  for (let i = Object.keys(policies).length; i < n; i++) {
    const ti = int(tools);
    const ri = int(roles);
    const t = tool(ti);
    const ro = role(ri);
    switch (int(6)) {
      case 0:
      case 1:
        grants.push([ri, ti]);
        policies[`permit-${i}`] = `permit(principal in ${lit(ro)}, action == ${lit(call)}, resource == ${lit(t)}) when { context.tier != "assist" && resource.risk != "critical" };`;
        break;
      case 2:
        policies[`permit-group-${i}`] = `permit(principal in ${lit(ro)}, action == ${lit(call)}, resource in ${lit(group(int(groups)))}) when { resource.effect == "read" && context.labels.classification != "restricted" };`;
        break;
      case 3:
        policies[`forbid-amount-${i}`] = `forbid(principal, action == ${lit(call)}, resource == ${lit(t)}) when { context.args has amount_cents && context.args.amount_cents > ${1000 * (1 + int(50))} } unless { principal in ${lit(ro)} };`;
        break;
      case 4:
        policies[`permit-agent-${i}`] = `permit(principal is ${NS}::Agent in ${lit(ro)}, action == ${lit(call)}, resource == ${lit(t)}) when { context.workflow like "refund*" && ["low", "medium"].contains(resource.risk) };`;
        break;
      default:
        policies[`forbid-hours-${i}`] = `forbid(principal, action, resource == ${lit(t)}) when { context has onBehalfOf && context.onBehalfOf like "*@blocked.example" };`;
        break;
    }
  }
  const requests: { request: CedarRequest; entities: CedarEntity[] }[] = [];
  for (let q = 0; q < 256; q++) {
    const isAgent = r() < 0.4;
    const principal = isAgent ? uid('Agent', `agent_${int(20)}`) : uid('User', `user_${int(200)}`);
    const grant = r() < 0.6 ? pick(grants) : undefined;
    const r1 = grant?.[0] ?? int(roles);
    const myRoles = [role(r1), role((r1 + 1 + int(roles - 1)) % roles)];
    const ti = grant?.[1] ?? int(tools);
    const resource = tool(ti);
    const context: Record<string, CedarValue> = {
      workflow: pick(['refund', 'refund-review', 'support', 'onboarding']),
      tier: pick(TIERS),
      args: r() < 0.5 ? { amount_cents: int(100_000), order_id: `o-${int(9999)}` } : { query: 'status' },
      labels: { classification: pick(CLASSES), trust: r() < 0.8 ? 'trusted' : 'untrusted' },
    };
    if (r() < 0.3) context.onBehalfOf = pick(['lena.park@example.net', 'x@blocked.example']);
    const entities: CedarEntity[] = [
      { uid: principal, attrs: { department: 'support' }, parents: myRoles },
      ...myRoles.map((ro) => ({ uid: ro, attrs: {}, parents: [uid('Role', `dept_${int(4)}`)] })),
      {
        uid: resource,
        attrs: { effect: pick(EFFECTS), risk: r() < 0.9 ? pick(RISKS.slice(0, 3)) : 'critical', connector: pick(['mcp', 'http']), classification: pick(CLASSES), irreversible: r() < 0.2 },
        parents: [group(ti % groups)],
      },
      { uid: call, attrs: {}, parents: [] },
    ];
    requests.push({ request: { principal, action: call, resource, context }, entities });
  }
  return { policies, requests };
}

function sameAnswer(a: EngineResult, b: cedar.AuthorizationAnswer): boolean {
  if (b.type === 'failure') return false;
  const ids = (xs: readonly string[]): string => JSON.stringify([...xs].sort());
  return a.decision === b.response.decision && ids(a.determining) === ids(b.response.diagnostics.reason) && a.errors.length === b.response.diagnostics.errors.length;
}

/** Timed calls per engine (and warm-up); a smoke run makes a few of each. */
interface PolicySize {
  readonly wasm: number;
  readonly wasmWarmup: number;
  readonly fast: number;
  readonly fastWarmup: number;
}

async function measure(n: number, size: PolicySize): Promise<BenchResult> {
  const { policies, requests } = workload(n, 0xbe7c + n);
  const setId = `bench-policy-${n}`;
  const parsed = cedar.preparsePolicySet(setId, { staticPolicies: policies });
  if (parsed.type === 'failure') throw new Error(`bench policies do not parse: ${parsed.errors.map((e) => e.message).join('; ')}`);
  const compiled = compileFastEngine(policies);
  if ('unsupported' in compiled) throw new Error(`fast engine refused the bench policies: ${compiled.unsupported}`);
  const fast = compiled.engine;
  const wasm = (i: number): cedar.AuthorizationAnswer => {
    const { request, entities } = requests[i % requests.length] as Workload['requests'][number];
    return cedar.statefulIsAuthorized({
      principal: request.principal,
      action: request.action,
      resource: request.resource,
      context: request.context as cedar.Context,
      preparsedPolicySetId: setId,
      entities: entities as unknown as cedar.EntityJson[],
    });
  };
  let agree = 0;
  let allows = 0;
  for (const [i, { request, entities }] of requests.entries()) {
    const f = fast.authorize(request, entities);
    if (sameAnswer(f, wasm(i))) agree++;
    if (f.decision === 'allow') allows++;
  }
  let wi = 0;
  const w = await timeCalls(() => wasm(wi++), n >= 1000 ? size.wasm / 2 : size.wasm, size.wasmWarmup);
  let fi = 0;
  const f = await timeCalls(() => {
    const x = requests[fi++ % requests.length] as Workload['requests'][number];
    return fast.authorize(x.request, x.entities);
  }, size.fast, size.fastWarmup);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    suite: 'policy',
    name: `decision latency, ${n} policies (µs)`,
    metrics: {
      wasm_p50: round(w.p50),
      wasm_p99: round(w.p99),
      fast_p50: round(f.p50),
      fast_p99: round(f.p99),
      speedup_p50: round(w.p50 / f.p50),
      speedup_p99: round(w.p99 / f.p99),
    },
    notes: [
      `target: fast p99 < 20 µs at 200 policies; ${requests.length} distinct requests, ${allows} allowed; engines agree on ${agree}/${requests.length}`,
      'wasm: cedar-wasm statefulIsAuthorized over a preparsed set; fast: policies compiled from Cedar EST into indexed closures',
    ],
    ...(agree < requests.length ? { failures: [`the engines disagree on ${requests.length - agree} of ${requests.length} requests (decision, determining policies or errors)`] } : {}),
  };
}

/**
 * The whole `decide()` on the demo's real policy set (entity building, argument exposure, tier
 * rules, obligations), as the gateway calls it, for a refund that needs approval.
 */
async function measureDecide(size: PolicySize): Promise<BenchResult> {
  const { loadAndCompile } = await import('../src/airlock.js');
  const { decide } = await import('../src/policy/decide.js');
  const { AIRLOCK_ROOT } = await import('../src/util/package-root.js');
  const { workspace, compiled } = await loadAndCompile(`${AIRLOCK_ROOT}/examples/acme`);
  const tool = workspace.tools.get('payments.refund');
  if (!tool) throw new Error('payments.refund contract missing');
  const request = {
    principal: { kind: 'agent' as const, id: 'refund-bot', roles: ['support-agent'] },
    tool,
    workflow: 'refund-desk',
    tier: 'execute-low' as const,
    args: { order_id: '1182', amount_cents: 4000, currency: 'EUR', reason: 'damaged' },
    labels: { classification: 'confidential' as const, trust: 'untrusted' as const },
  };
  const t = await timeCalls(() => decide(compiled, request), size.fast, size.fastWarmup);
  return {
    suite: 'policy',
    name: `decide() end to end, demo policy set (${compiled.policies.size} policies, ${compiled.engine.name})`,
    metrics: { fast_p50: Math.round(t.p50 * 100) / 100, fast_p99: Math.round(t.p99 * 100) / 100 },
  };
}

const FULL: PolicySize = { wasm: 3000, wasmWarmup: 200, fast: 50_000, fastWarmup: 5_000 };
const SMOKE: PolicySize = { wasm: 20, wasmWarmup: 2, fast: 200, fastWarmup: 20 };

/** Measures both engines at 200 and 1,000 generated policies (a smoke run: 200), then the whole decision on the demo set. */
export const run: BenchSuite = async (opts?: BenchOptions) => {
  const size = sized(opts, FULL, SMOKE);
  const results: BenchResult[] = [];
  for (const n of sized(opts, [200, 1000], [200])) results.push(await measure(n, size));
  results.push(await measureDecide(size));
  return results;
};
