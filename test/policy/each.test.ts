// A contract may expose each element of an array argument under one field name: the call is decided
// once per element (both engines), and the strictest decision stands; approvers are judged per element too.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/config/load.js';
import { decideApprover, type ApproveRequest } from '../../src/policy/approver.js';
import { compilePolicies, type CompiledPolicies } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/decide.js';
import { explainDecision } from '../../src/policy/explain.js';
import { MAX_EXPOSED_ELEMENTS } from '../../src/policy/expose.js';
import { createWasmEngine } from '../../src/policy/wasm-engine.js';
import { copyExample, expectError, loadErrors, positionOf, type TempWorkspace } from '../config/helpers.js';
import { CALL, contract, request } from './fixtures.js';

const readOne = contract({ name: 'files.read', effect: 'read', risk: 'low', expose: { path: 'string' } });
const readMany = contract({ name: 'files.read_many', effect: 'read', risk: 'low', expose: { path: { type: 'string', each: 'paths' } } });
const text = [
  `@id("reads")\npermit (principal, ${CALL}, resource);`,
  `@id("private-needs-approval")\n@approval("single")\n@reason("private files need a person")\npermit (principal, ${CALL}, resource) when { context.args has path && context.args.path like "private/*" };`,
  `@id("confined")\n@reason("paths stay inside the folder")\nforbid (principal, ${CALL}, resource) when { context.args has path && (context.args.path like "../*" || context.args.path like "*/../*") };`,
  `@id("approvers")\npermit (principal, action == Airlock::Action::"approve", resource);`,
  `@id("no-secret-approvals")\n@reason("nobody approves reading secrets")\nforbid (principal, action == Airlock::Action::"approve", resource) when { context.args has path && context.args.path like "secret/*" };`,
].join('\n');
const production = compilePolicies([{ file: 'p.cedar', text }], [readOne, readMany]);
const wasm: CompiledPolicies = compilePolicies([{ file: 'p.cedar', text }], [readOne, readMany], { engine: (t, h) => createWasmEngine(t, `${h}-each`) });
const engines = [production, wasm];

describe('exposing each element of an array argument', () => {
  it('shares the field with plain exposures in the Cedar schema', () => {
    const args = (production.schema['Airlock']?.actions['call'] as { appliesTo: { context: { attributes: { args: { attributes: unknown } } } } }).appliesTo.context.attributes.args.attributes;
    expect(args).toEqual({ path: { type: 'String', required: false } });
  });

  it('denies the call when one element is forbidden, naming the element, with both engines', () => {
    for (const c of engines) {
      const d = decide(c, request(readMany, { args: { paths: ['notes/a.md', '../airlock.yaml', 'notes/b.md'] } }));
      expect(d.kind, c.engine.name).toBe('deny');
      expect(d.basis.policyIds).toEqual(['confined']);
      expect(d.basis.reasons).toEqual(['element `paths[1]` (`"../airlock.yaml"`): paths stay inside the folder']);
      // The same rule, the same path, through the single-path tool: one rule covers both.
      expect(decide(c, request(readOne, { args: { path: '../airlock.yaml' } })).basis.policyIds).toEqual(['confined']);
    }
  });

  it('allows when every element is allowed, and takes the strictest obligation of the elements', () => {
    for (const c of engines) {
      expect(decide(c, request(readMany, { args: { paths: ['notes/a.md', 'notes/b.md'] } }))).toMatchObject({ kind: 'allow', basis: { policyIds: ['reads'] } });
      const mixed = decide(c, request(readMany, { args: { paths: ['notes/a.md', 'private/b.md'] } }));
      expect(mixed).toMatchObject({ kind: 'approval', level: 'single', basis: { policyIds: ['private-needs-approval', 'reads'] } });
      expect(mixed.basis.reasons).toContain('private files need a person');
    }
  });

  it('decides an absent or empty list once, without the field; refuses a non-list, a bad element and too long a list', () => {
    for (const c of engines) {
      expect(decide(c, request(readMany, { args: { paths: [] } })).kind).toBe('allow');
      expect(decide(c, request(readMany, { args: {} })).kind).toBe('allow');
      expect(decide(c, request(readMany, { args: { paths: '../x' } })).basis.reasons).toEqual(['argument `paths` must be a list (policy sees each element as `path`), got `"../x"`']);
      expect(decide(c, request(readMany, { args: { paths: ['a', 'b\uD800'] } })).basis.reasons[0]).toMatch(/^element `paths\[1\]` must be a string of valid Unicode text/);
      const long = Array.from({ length: MAX_EXPOSED_ELEMENTS + 1 }, (_, i) => `notes/${i}.md`);
      expect(decide(c, request(readMany, { args: { paths: long } })).basis.reasons[0]).toBe(`argument \`paths\` has ${MAX_EXPOSED_ELEMENTS + 1} elements; policy decides each one, and at most ${MAX_EXPOSED_ELEMENTS}`);
      expect(decide(c, request(readMany, { args: { paths: long.slice(1) } })).kind).toBe('allow');
    }
  });

  it('makes a person eligible to approve only if eligible for every element', () => {
    const approve = (paths: string[]): ApproveRequest => ({
      approver: { kind: 'user', id: 'dana', roles: [] },
      auth: { issuer: 'local', subject: 'dana', method: 'local', amr: [], authTime: null },
      authAgeSeconds: null,
      tool: readMany,
      workflow: 'refund-desk',
      tier: 'execute-low',
      args: { paths },
      labels: { classification: 'public', trust: 'trusted' },
      requester: 'agent:refund-bot',
      onBehalfOf: null,
      level: 'single',
    });
    for (const c of engines) {
      expect(decideApprover(c, approve(['private/a.md', 'private/b.md']))).toEqual({ allowed: true, policyIds: ['approvers'], reasons: ['permitted by policy `approvers`'] });
      expect(decideApprover(c, approve(['private/a.md', 'secret/b.md']))).toEqual({
        allowed: false,
        policyIds: ['no-secret-approvals'],
        reasons: ['element `paths[1]` (`"secret/b.md"`): nobody approves reading secrets'],
      });
    }
  });

  it('explains each element with its matching policies', () => {
    const r = request(readMany, { args: { paths: ['notes/a.md', '../x'] } });
    const textOut = explainDecision(decide(production, r), r, production);
    expect(textOut).toContain('args:     path=each of paths: "notes/a.md", "../x"');
    expect(textOut).toContain('element paths[0] (path="notes/a.md"): allow');
    expect(textOut).toContain('element paths[1] (path="../x"): deny');
    expect(textOut).toMatch(/ {4}- confined \(forbid\) at p\.cedar:\d+: paths stay inside the folder {2}← decided/);
    expect(textOut).toContain('decided:  each element of `paths` on its own; the strictest decision stands');
  });
});

describe('exposing each element: workspace checks', () => {
  let ws: TempWorkspace;
  beforeEach(async () => {
    ws = await copyExample();
    await ws.edit(
      'airlock.yaml',
      '  - name: documents.search\n',
      [
        '  - name: documents.get_many',
        '    connector: documents',
        '    description: Several documents at once.',
        '    effect: read',
        '    risk: low',
        '    inputSchema:',
        '      type: object',
        '      properties:',
        '        doc_ids: { type: array, items: { type: string } }',
        '        query: { type: string }',
        '      required: [doc_ids]',
        '      additionalProperties: false',
        '    expose:',
        '      doc_id: { type: string, each: doc_ids }',
        '  - name: documents.search\n',
      ].join('\n'),
    );
  });
  afterEach(async () => {
    await ws.remove();
  });

  it('loads a contract exposing each element of an array argument', async () => {
    const loaded = await loadWorkspace(ws.dir);
    expect(loaded.tools.get('documents.get_many')?.expose).toEqual({ doc_id: { type: 'string', each: 'doc_ids' } });
  });

  it('refuses `each` naming an argument that is not a list, pointing at it', async () => {
    await ws.edit('airlock.yaml', '      doc_id: { type: string, each: doc_ids }', '      doc_id: { type: string, each: query }');
    const { errors } = await loadErrors(ws.dir);
    const pos = positionOf(await ws.read('airlock.yaml'), 'query }', 'doc_id: {');
    expectError(errors, { file: path.join(ws.dir, 'airlock.yaml'), ...pos, path: 'tools[13].expose.doc_id.each', message: '`query` is not an array property with `items` in the tool\'s `inputSchema`' });
  });

  it('refuses elements whose type does not fit, and a second `each` in one contract', async () => {
    await ws.edit('airlock.yaml', '        doc_ids: { type: array, items: { type: string } }', '        doc_ids: { type: array, items: { type: integer } }\n        tags: { type: array, items: { type: string } }');
    await ws.edit('airlock.yaml', '      doc_id: { type: string, each: doc_ids }', '      doc_id: { type: string, each: doc_ids }\n      tag: { type: string, each: tags }');
    const { errors } = await loadErrors(ws.dir);
    expect(errors.map((e) => e.message)).toEqual(
      expect.arrayContaining([
        'exposed field `doc_id` is `string` but the `items` of `doc_ids` is not (it allows `integer`)',
        'fields `doc_id` and `tag` both expose elements of an array argument',
      ]),
    );
  });
});
