// cedar-wasm breaks after about a thousand throws ('memory access out of bounds' on every later call);
// Airlock refuses such input before calling it, and replaces an instance that throws anyway.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cedarReplacements, cedarWasm, type Cedar } from '../../src/policy/cedar-runtime.js';
import { compilePolicies } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/decide.js';
import type { CedarRequest } from '../../src/policy/engine.js';
import { createWasmEngine } from '../../src/policy/wasm-engine.js';
import { ACME_CONTRACTS, ACME_PRINCIPALS, CALL, request, tool } from './fixtures.js';

const POLICIES = { p: 'permit(principal, action, resource) when { context.n == 1 };' };
const good = (n: number): CedarRequest => ({
  principal: { type: 'Airlock::User', id: 'dana' },
  action: { type: 'Airlock::Action', id: 'call' },
  resource: { type: 'Airlock::Tool', id: 't' },
  context: { n },
});

/** Calls `cedar` with data it throws on (a lone surrogate) until it reports broken memory; how many throws that took. */
function breakInstance(cedar: Cedar): number {
  for (let i = 1; i <= 5000; i++) {
    try {
      cedar.isAuthorized({ ...good(1), context: { n: 'x\uD800' }, policies: { staticPolicies: POLICIES }, entities: [] } as never);
    } catch (e) {
      if (/memory access out of bounds/.test(e instanceof Error ? e.message : String(e))) return i;
    }
  }
  return -1;
}

describe('cedar-wasm instances', () => {
  it('an instance that threw too often is broken for good, and the engine answers from a fresh one', () => {
    const engine = createWasmEngine(POLICIES, 'runtime-test');
    expect(engine.authorize(good(1), [])).toEqual({ decision: 'allow', determining: ['p'], errors: [] });

    const raw = cedarWasm();
    const throws = breakInstance(raw);
    expect(throws).toBeGreaterThan(100);
    // Broken: even a well-formed call fails now.
    expect(() => raw.isAuthorized({ ...good(1), policies: { staticPolicies: POLICIES }, entities: [] } as never)).toThrow(/memory access out of bounds/);

    const before = cedarReplacements();
    expect(engine.authorize(good(1), [])).toEqual({ decision: 'allow', determining: ['p'], errors: [] });
    expect(engine.authorize(good(2), [])).toEqual({ decision: 'deny', determining: [], errors: [] });
    expect(cedarWasm()).not.toBe(raw);
    expect(cedarReplacements()).toBe(before + 1);
  });

  it('policies still load after the instance broke (a reload does not throw)', () => {
    expect(breakInstance(cedarWasm())).toBeGreaterThan(100);
    const compiled = compilePolicies([{ file: 'p.cedar', text: `@id("all")\npermit (principal, ${CALL}, resource);` }], ACME_CONTRACTS, { principals: ACME_PRINCIPALS });
    expect(decide(compiled, request(tool('tickets.comment'))).kind).toBe('allow');
  });

  it('data cedar-wasm throws on never reaches it through the engine, so the instance is never replaced', () => {
    const engine = createWasmEngine(POLICIES, 'runtime-test-2');
    engine.authorize(good(1), []);
    const instance = cedarWasm();
    const replaced = cedarReplacements();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (let i = 0; i < 3000; i++) {
      const bad = i % 3 === 0 ? 'x\uD800' : i % 3 === 1 ? cyclic : 10n;
      const r = engine.authorize({ ...good(1), context: { n: bad } as never }, []);
      expect(r.decision).toBe('deny');
      expect(r.refused).toBeDefined();
    }
    expect(cedarWasm()).toBe(instance);
    expect(cedarReplacements()).toBe(replaced);
    expect(engine.authorize(good(1), [])).toEqual({ decision: 'allow', determining: ['p'], errors: [] });
  });
});

describe('calls into cedar-wasm from optimized code', () => {
  it('a caller deoptimized during a cedar-wasm call does not abort the process', () => {
    // Runs in a child (built module: `npx tsc -p tsconfig.build.json`): without the flag cedar-runtime sets, V8 aborts it.
    const runtime = fileURLToPath(new URL('../../dist/src/policy/cedar-runtime.js', import.meta.url));
    expect(existsSync(runtime), `${runtime} is missing: build first (npx tsc -p tsconfig.build.json)`).toBe(true);
    const script = `
      import { cedarWasm } from ${JSON.stringify(pathToFileURL(runtime).href)};
      const holder = { v: 1 };
      let trigger = false;
      const call = { principal: { type: 'A::U', id: 'u' }, action: { type: 'A::Action', id: 'call' }, resource: { type: 'A::T', id: 't' },
        policies: { staticPolicies: { p: 'permit(principal, action, resource);' } }, entities: [] };
      // Hot, so optimized with the call into wasm; a getter run inside the call changes what the optimized caller assumed.
      function caller(context) {
        const r = cedarWasm().isAuthorized({ ...call, context });
        return holder.v + (r.type === 'success' ? 1 : 0);
      }
      for (let i = 0; i < 30000; i++) {
        if (i === 20000 || i === 25000) trigger = true;
        caller({ x: { toJSON() { if (trigger) { trigger = false; holder.v = i % 2 ? 'text' : { o: 1 }; } return 1; } } });
      }
      console.log('done');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).not.toMatch(/Fatal error|unreachable code/);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('done');
  });
});
