// compilePolicies and the generated schema: ids, annotations, locations of errors, hashing, entities.
import { describe, expect, it } from 'vitest';
import { AirlockError, AirlockErrors, formatError } from '../../src/errors.js';
import { buildCedarSchema, exposedFields } from '../../src/policy/cedar-schema.js';
import { byteToIndex, compilePolicies, lineCol, type PolicySource } from '../../src/policy/compile.js';
import { ACME_CONTRACTS, ACME_PRINCIPALS, CALL, contract } from './fixtures.js';

const READ = `permit (principal, ${CALL}, resource) when { resource.effect == "read" };`;

function compileErrors(sources: PolicySource[]): readonly AirlockError[] {
  try {
    compilePolicies(sources, ACME_CONTRACTS);
  } catch (e) {
    expect(e).toBeInstanceOf(AirlockErrors);
    return (e as AirlockErrors).errors;
  }
  throw new Error('expected compilePolicies to throw');
}

describe('buildCedarSchema', () => {
  it('exposes the union of contract fields, each optional and typed', () => {
    const schema = buildCedarSchema(ACME_CONTRACTS) as unknown as {
      Airlock: { actions: { call: { appliesTo: { context: { attributes: { args: { attributes: object } } } } } } };
    };
    expect(schema.Airlock.actions.call.appliesTo.context.attributes.args.attributes).toEqual({
      amount_cents: { type: 'Long', required: false },
      currency: { type: 'String', required: false },
      status: { type: 'String', required: false },
      to: { type: 'String', required: false },
    });
  });

  it('refuses one field exposed with two types', () => {
    const a = contract({ name: 'a.x', effect: 'read', risk: 'low', expose: { n: 'long' } });
    const b = contract({ name: 'b.y', effect: 'read', risk: 'low', expose: { n: 'string' } });
    expect(() => exposedFields([a, b])).toThrow(/`n` is exposed as `string` by `b.y` but as `long` by `a.x`/);
  });
});

describe('compilePolicies', () => {
  it('assigns `@id` ids, else `<file>#<index>`, and keeps annotations, location and scope', () => {
    const text = `// header\n${READ}\n\n@id("refund")\n@approval("step-up")\n@reason("big refund")\npermit (principal, ${CALL}, resource == Airlock::Tool::"payments.refund");\n`;
    const compiled = compilePolicies([{ file: 'p.cedar', text }], ACME_CONTRACTS);
    expect([...compiled.policies.keys()]).toEqual(['p.cedar#0', 'refund']);
    const read = compiled.policies.get('p.cedar#0');
    expect(read).toMatchObject({ file: 'p.cedar', index: 0, line: 2, column: 1, effect: 'permit', scopedResource: false });
    expect(compiled.policies.get('refund')).toMatchObject({
      line: 4,
      approval: 'step-up',
      reason: 'big refund',
      scopedResource: true,
      annotations: { id: 'refund', approval: 'step-up', reason: 'big refund' },
    });
    expect(compiled.policies.get('refund')?.json.effect).toBe('permit');
  });

  it('reports a syntax error with file, line and column', () => {
    const text = `${READ}\n\npermit (principal, ${CALL}, resource)\nwhen { 1 + };\n`;
    const [e, ...rest] = compileErrors([{ file: 'bad.cedar', text }]);
    expect(rest).toEqual([]);
    expect(e?.code).toBe('policy');
    expect(e?.message).toMatch(/^syntax error: unexpected token `}`/);
    expect(e?.location).toEqual({ file: 'bad.cedar', line: 4, column: 12 });
    expect(e?.hint).toMatch(/expected/);
  });

  it('counts columns in characters even after multi-byte text', () => {
    const text = `// refunds in €, naïvely\npermit (principal, ${CALL}, resource) when { "€€" == };\n`;
    const [e] = compileErrors([{ file: 'utf8.cedar', text }]);
    const line2 = text.split('\n')[1] ?? '';
    expect(e?.location).toEqual({ file: 'utf8.cedar', line: 2, column: line2.indexOf('}') + 1 });
  });

  it('names the file, line and policy of a schema violation', () => {
    const text = `${READ}\n\n@id("typo")\npermit (principal, ${CALL}, resource)\nwhen { resource.efect == "read" };\n`;
    const [e] = compileErrors([{ file: 'schema.cedar', text }]);
    expect(e?.message).toMatch(/^policy `typo`: attribute `efect` on entity type `Airlock::Tool` not found/);
    expect(e?.hint).toMatch(/effect/);
    expect(e?.location).toMatchObject({ file: 'schema.cedar', line: 5, column: 8 });
    expect(formatError(e!)).toMatch(/^error: schema.cedar:5:8: policy `typo`/);
  });

  it('rejects an unguarded optional argument (strict validation)', () => {
    const text = `permit (principal, ${CALL}, resource) when { context.args.amount_cents < 5 };`;
    const [e] = compileErrors([{ file: 'strict.cedar', text }]);
    expect(e?.message).toMatch(/optional attribute/);
    expect(e?.hint).toMatch(/has amount_cents/);
  });

  it('rejects duplicate ids across files, naming the first', () => {
    const p = `@id("same")\n${READ}\n`;
    const [e] = compileErrors([
      { file: 'a.cedar', text: p },
      { file: 'b.cedar', text: `\n${p}` },
    ]);
    expect(e?.message).toBe('duplicate policy id `same`');
    expect(e?.location).toEqual({ file: 'b.cedar', line: 2, column: 1 });
    expect(e?.hint).toMatch(/a.cedar:1/);
  });

  it('rejects unknown approval levels, approvals on forbids and templates', () => {
    const errors = compileErrors([
      { file: 'a.cedar', text: `@approval("double")\n${READ}` },
      { file: 'b.cedar', text: `@approval("single")\nforbid (principal, ${CALL}, resource);` },
      { file: 'c.cedar', text: `permit (principal == ?principal, ${CALL}, resource);` },
    ]);
    expect(errors.map((e) => [e.location?.file, e.message])).toEqual([
      ['a.cedar', 'policy `a.cedar#0`: unknown approval level `double`'],
      ['b.cedar', 'policy `b.cedar#0`: `@approval` on a forbid has no effect'],
      ['c.cedar', 'policy templates are not supported'],
    ]);
  });

  it('refuses a misspelt obligation annotation but allows other annotations', () => {
    const [e, ...rest] = compileErrors([{ file: 'a.cedar', text: `@aproval("single")\n@description("ok")\n${READ}` }]);
    expect(rest).toEqual([]);
    expect(e?.message).toBe('policy `a.cedar#0`: unknown annotation `@aproval`');
    expect(e?.hint).toBe('did you mean `@approval`?');
  });

  it('reports every problem in every file at once', () => {
    const errors = compileErrors([
      { file: 'a.cedar', text: 'permit (principal, action, resource' },
      { file: 'b.cedar', text: `permit (principal, ${CALL}, resource) when { context.nope == 1 };` },
      { file: 'c.cedar', text: `@approval("maybe")\n${READ}` },
    ]);
    expect(errors.map((e) => e.location?.file)).toEqual(['a.cedar', 'c.cedar', 'b.cedar']);
    expect(errors.every((e) => e.code === 'policy')).toBe(true);
  });

  it('hashes the sorted (id, text) pairs plus the schema', () => {
    const a = { file: 'a.cedar', text: `@id("a")\n${READ}` };
    const b = { file: 'b.cedar', text: `@id("b")\nforbid (principal, ${CALL}, resource) when { resource.risk == "critical" };` };
    const h1 = compilePolicies([a, b], ACME_CONTRACTS).policySetHash;
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    expect(compilePolicies([b, a], ACME_CONTRACTS).policySetHash).toBe(h1);
    expect(compilePolicies([a], ACME_CONTRACTS).policySetHash).not.toBe(h1);
    const more = [...ACME_CONTRACTS, contract({ name: 'x.y', effect: 'read', risk: 'low', expose: { extra: 'boolean' } })];
    expect(compilePolicies([a, b], more).policySetHash).not.toBe(h1);
  });

  it('prebuilds entities for principals, roles and tools', () => {
    const compiled = compilePolicies([{ file: 'a.cedar', text: READ }], ACME_CONTRACTS, { principals: ACME_PRINCIPALS });
    expect(compiled.principalEntities.get('user:dana')).toEqual({
      uid: { type: 'Airlock::User', id: 'dana' },
      attrs: {},
      parents: [
        { type: 'Airlock::Role', id: 'support-lead' },
        { type: 'Airlock::Role', id: 'finance-approver' },
      ],
    });
    expect([...compiled.roleEntities.keys()]).toEqual(['finance-approver', 'support-agent', 'support-lead']);
    expect(compiled.toolEntities.get('mail.send')?.attrs).toEqual({
      effect: 'egress',
      risk: 'high',
      connector: 'mail',
      classification: 'internal',
      irreversible: true,
    });
    expect(compiled.entities).toHaveLength(4 + 3 + ACME_CONTRACTS.length);
  });

  it('accepts an empty policy set (everything is denied by default)', () => {
    const compiled = compilePolicies([], ACME_CONTRACTS);
    expect(compiled.policies.size).toBe(0);
  });
});

describe('source offsets', () => {
  it('maps UTF-8 byte offsets to string indexes and 1-based line/column', () => {
    const text = 'a€b\n😀c';
    expect(byteToIndex(text, 4)).toBe(2);
    expect(byteToIndex(text, 9)).toBe(4 + 2);
    expect(lineCol(text, 0)).toEqual({ line: 1, column: 1 });
    expect(lineCol(text, 4)).toEqual({ line: 2, column: 1 });
  });
});
