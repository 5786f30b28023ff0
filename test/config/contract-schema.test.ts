// Contract input schemas are checked strictly: an unknown keyword (a misspelt limit, a YAML slip), an
// unknown format or a keyword ajv would ignore is an error at its file:line:col; annotations stay allowed.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/config/load.js';
import { schemaProblems } from '../../src/config/contract-schema.js';
import { copyExample, expectError, loadErrors, positionOf, type TempWorkspace } from './helpers.js';

// payments.refund's `reason` argument, as examples/acme/airlock.yaml declares it.
const REASON = 'reason: { type: string, minLength: 1, maxLength: 500 }';

describe('contract schemas in a workspace', () => {
  let ws: TempWorkspace;
  beforeEach(async () => {
    ws = await copyExample();
  });
  afterEach(async () => {
    await ws.remove();
  });

  const refundIndex = async (): Promise<number> => [...(await loadWorkspace(ws.dir)).file.tools].findIndex((t) => t.name === 'payments.refund');

  it('refuses a misspelt keyword at its key, suggesting the right one (it would silently drop the limit)', async () => {
    const i = await refundIndex();
    await ws.edit('airlock.yaml', REASON, 'reason: { type: string, minLength: 1, maxLenght: 140 }');
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read('airlock.yaml');
    expectError(errors, {
      file: path.join(ws.dir, 'airlock.yaml'),
      ...positionOf(text, 'maxLenght'),
      path: `tools[${i}].inputSchema.properties.reason.maxLenght`,
      message: 'unknown JSON Schema keyword `maxLenght`',
      hint: 'did you mean `maxLength`?',
    });
    expect(errors).toHaveLength(1);
  });

  it('refuses the key a YAML slip makes (a comma inside a flow map) instead of advertising it to agents', async () => {
    const i = await refundIndex();
    // `why (letters, no spaces)` in a flow map is two entries: `description: why (letters` and a key `no spaces)`.
    await ws.edit('airlock.yaml', REASON, 'reason: { type: string, minLength: 1, maxLength: 500, description: why (letters, no spaces) }');
    const { errors } = await loadErrors(ws.dir);
    expectError(errors, {
      file: path.join(ws.dir, 'airlock.yaml'),
      ...positionOf(await ws.read('airlock.yaml'), 'no spaces)'),
      path: `tools[${i}].inputSchema.properties.reason["no spaces)"]`,
      message: 'unknown JSON Schema keyword `no spaces)`',
    });
  });

  it('reports every unknown keyword, unknown format and ignored keyword at once, each where it is', async () => {
    const i = await refundIndex();
    await ws.edit('airlock.yaml', REASON, 'reason: { type: string, format: emal, x-limit: 3, if: { minLength: 3 } }');
    const { errors } = await loadErrors(ws.dir);
    const text = await ws.read('airlock.yaml');
    const file = path.join(ws.dir, 'airlock.yaml');
    const at = `tools[${i}].inputSchema.properties.reason`;
    expectError(errors, { file, ...positionOf(text, 'emal'), path: `${at}.format`, message: 'unknown format `emal`', hint: 'did you mean `email`?' });
    expectError(errors, { file, ...positionOf(text, 'x-limit'), path: `${at}.x-limit`, message: 'unknown JSON Schema keyword `x-limit`', hint: 'remove it' });
    expectError(errors, { file, ...positionOf(text, 'if: {'), path: `${at}.if`, message: '`if` without `then` or `else` is ignored' });
    expect(errors).toHaveLength(3);
  });
});

describe('schemaProblems', () => {
  const object = (props: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ type: 'object', properties: props, ...extra });

  it('accepts annotations, formats, combinators and a top-level $schema', () => {
    expect(
      schemaProblems(
        object(
          {
            when: { type: 'string', format: 'date-time', title: 'When', description: 'd', examples: ['2026-01-01T00:00:00Z'], default: '2026-01-01T00:00:00Z', deprecated: false, readOnly: false },
            pair: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }], additionalItems: false },
            kind: { enum: ['a', 'b'], $comment: 'a note for people' },
            n: { type: ['integer', 'null'], minimum: 0 },
          },
          { $schema: 'http://json-schema.org/draft-07/schema#', required: ['when'], additionalProperties: false, anyOf: [{ required: ['kind'] }, { required: ['n'] }] },
        ),
      ),
    ).toEqual([]);
    // A property may be named like a keyword, or anything else: property names are data.
    expect(schemaProblems(object({ maxLenght: { type: 'string' }, 'no spaces)': { type: 'string' } }))).toEqual([]);
  });

  it('finds problems at any depth: definitions, items, combinators, not', () => {
    const problems = schemaProblems(
      object(
        { list: { type: 'array', items: { type: 'object', properties: { a: { type: 'string', maxLenght: 3 } } } } },
        { definitions: { d: { minimun: 1 } }, oneOf: [{ requierd: ['list'] }], not: { additionalItems: false } },
      ),
    );
    expect(problems.map((p) => [p.path.join('/'), p.key, p.removable])).toEqual(
      expect.arrayContaining([
        ['properties/list/items/properties/a/maxLenght', true, true],
        ['definitions/d/minimun', true, true],
        ['oneOf/0/requierd', true, true],
        ['not/additionalItems', true, true],
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it('refuses `$async` (a promise would read as valid arguments), and cannot remove it', () => {
    const [p] = schemaProblems(object({}, { $async: true }));
    expect(p).toMatchObject({ path: ['$async'], key: true, removable: false, message: expect.stringMatching(/not allowed/) });
  });

  it('reports an invalid draft-07 schema before anything stricter', () => {
    expect(schemaProblems(object({ a: { type: 'long', maxLenght: 1 } }))).toEqual([
      expect.objectContaining({ path: ['properties', 'a', 'type'], key: false, message: expect.stringMatching(/invalid JSON Schema: expected one of/) }),
    ]);
  });
});
