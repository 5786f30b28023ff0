// The shipped JSON Schemas (schema/*.json) are fresh, and they accept the Acme example as editors would.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsImport from 'ajv-formats';

const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { jsonSchemaFiles, jsonSchemaText } from '../../src/config/json-schema.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (rel: string): Promise<string> => readFile(path.join(ROOT, rel), 'utf8');
const schemaOf = (rel: string): Record<string, unknown> => {
  const f = jsonSchemaFiles().find((x) => x.path === rel);
  if (!f) throw new Error(`no generated schema ${rel}`);
  return f.schema;
};

describe('shipped JSON Schemas', () => {
  it.each(jsonSchemaFiles().map((f) => [f.path, f] as const))('%s equals a freshly generated one (run `npm run gen`)', async (rel, f) => {
    expect(await read(rel)).toBe(jsonSchemaText(f));
  });

  it('validate the acme example, and reject an unknown key', async () => {
    const ajv = addFormats(new Ajv({ strict: true, allErrors: true }));
    const workspace = ajv.compile(schemaOf('schema/airlock.schema.json'));
    const doc = parse(await read('examples/acme/airlock.yaml')) as Record<string, unknown>;
    expect(workspace(doc), JSON.stringify(workspace.errors)).toBe(true);
    expect(workspace({ ...doc, colour: 'red' })).toBe(false);

    const workflow = ajv.compile(schemaOf('schema/workflow.schema.json'));
    const wf = parse(await read('examples/acme/workflows/refund-desk.yaml')) as Record<string, unknown>;
    expect(workflow(wf), JSON.stringify(workflow.errors)).toBe(true);
    expect(workflow({ ...wf, tier: 'yolo' })).toBe(false);
  });

  it('are referenced from the example files for editors', async () => {
    expect((await read('examples/acme/airlock.yaml')).split('\n')[0]).toBe('# yaml-language-server: $schema=../../schema/airlock.schema.json');
    expect((await read('examples/acme/workflows/refund-desk.yaml')).split('\n')[0]).toBe('# yaml-language-server: $schema=../../../schema/workflow.schema.json');
  });

  it('leave keys with defaults optional (input side)', () => {
    const wf = schemaOf('schema/workflow.schema.json');
    expect(wf.required).toEqual(expect.arrayContaining(['name', 'tier', 'agent', 'tools']));
    expect(wf.required).not.toContain('budgets');
    expect(wf.required).not.toContain('owners');
    // Only Airlock's own loop needs a model: a gateway workspace declares none.
    expect(wf.required).not.toContain('model');
    const ws = schemaOf('schema/airlock.schema.json');
    for (const key of ['models', 'connectors', 'tools']) expect(ws.required).not.toContain(key);
  });
});
