// The bounded checks on untrusted JSON: depth, `__proto__`, lone surrogates; no walk overflows the stack.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { escapeLoneSurrogates, hasLoneSurrogate, jsonProblem, MAX_JSON_DEPTH, recordableJson, requestProblem } from '../../src/util/json.js';
import { canonicalJson } from '../../src/util/hash.js';

/** `{a:{a:...}}` nested `depth` levels, built without recursion. */
function nested(depth: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

describe('lone surrogates', () => {
  it('tells lone surrogates from pairs and writes them out as text', () => {
    expect(hasLoneSurrogate('\ud800')).toBe(true);
    expect(hasLoneSurrogate('x\udc00y')).toBe(true);
    expect(hasLoneSurrogate('😀')).toBe(false);
    expect(escapeLoneSurrogates('a\ud800b😀')).toBe('a\\ud800b😀');
  });

  it('jsonProblem names a lone surrogate in a value and in a key', () => {
    expect(jsonProblem({ note: 'ok\ud800' })).toMatch(/arguments\.note holds a lone UTF-16 surrogate/);
    expect(jsonProblem({ ['k\udfff']: 1 })).toMatch(/arguments\.k\\udfff is a key holding a lone UTF-16 surrogate/);
    expect(jsonProblem({ emoji: '😀' })).toBeNull();
  });
});

describe('requestProblem (the doors)', () => {
  it('refuses `__proto__` keys anywhere, with the path', () => {
    const body = JSON.parse('{"params":{"arguments":{"x":[{"__proto__":{"admin":true}}]}}}') as unknown;
    expect(requestProblem(body)).toEqual({ path: 'params.arguments.x[0].__proto__', code: 'forbidden_key', message: '`__proto__` is not an acceptable key' });
  });

  it('refuses bodies nested deeper than the limit without overflowing the stack (100,000 levels)', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    const p = requestProblem(deep);
    expect(p?.code).toBe('too_deep');
    expect(requestProblem(nested(100_000))?.code).toBe('too_deep');
  });

  it('lets arguments as deep as the gateway allows through every envelope, so the gateway judges them alike', () => {
    const rpc = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 't', arguments: nested(MAX_JSON_DEPTH) } };
    expect(requestProblem([rpc])).toBeNull();
    expect(requestProblem({ arguments: nested(MAX_JSON_DEPTH) })).toBeNull();
  });
});

describe('recordableJson (what Airlock must record whatever it is)', () => {
  it('keeps well-formed JSON as it is', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = recordableJson(v);
        expect(r.changed).toBe(false);
        expect(canonicalJson(r.value)).toBe(canonicalJson(v));
      }),
    );
  });

  it('escapes lone surrogates and cuts what is too deep, keeping key order and `__proto__` as data', () => {
    const input = JSON.parse('{"b":"\\ud800","__proto__":{"x":1},"a":["\\udc00"]}') as unknown;
    const r = recordableJson(input);
    expect(r.changed).toBe(true);
    expect(Object.keys(r.value as object)).toEqual(['b', '__proto__', 'a']);
    expect(JSON.stringify(r.value)).toBe('{"b":"\\\\ud800","__proto__":{"x":1},"a":["\\\\udc00"]}');
    const cut = recordableJson(nested(10_000));
    expect(cut.changed).toBe(true);
    expect(() => canonicalJson(cut.value)).not.toThrow();
    expect(JSON.stringify(cut.value)).toContain('"$truncated":"nested deeper than 64 levels"');
  });
});

describe('recordableJson on what only in-process callers can send', () => {
  it('stays bounded on cyclic input', () => {
    const a: Record<string, unknown> = {};
    a['x'] = a;
    a['y'] = a;
    const r = recordableJson(a, 64, 10_000);
    expect(r.changed).toBe(true);
    expect(JSON.stringify(r.value)).toContain('$truncated');
  });
});

describe('recordableJson keeps every key', () => {
  it('keeps apart a key with a lone surrogate and a literal key that escapes to the same text', () => {
    const r = recordableJson(JSON.parse('{"\\ud800":"lone","\\\\ud800":"literal"}') as unknown);
    expect(Object.values(r.value as object).sort()).toEqual(['literal', 'lone']);
    expect(Object.keys(r.value as object)).toHaveLength(2);
  });
});

describe('requestProblem on large flat bodies', () => {
  it('walks a 500,000-element array of numbers and finds nothing to refuse', () => {
    expect(requestProblem(new Array(500_000).fill(0))).toBeNull();
    expect(requestProblem([0, 1, { a: [{ __proto__: null, ok: 1 }] }])).toBeNull();
    expect(requestProblem([0, 1, JSON.parse('{"a":[{"__proto__":1}]}')])?.path).toBe('[2].a[0].__proto__');
  });
});
