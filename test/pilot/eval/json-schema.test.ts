// The eval suite's shipped JSON Schemas (schema/eval-*.schema.json) are fresh, and they accept the demo's
// suite as an editor would, referenced from its files.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { jsonSchemaText } from '../../../src/config/json-schema.js';
import { evalSchemaFiles } from '../../../src/pilot/eval/json-schema.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const read = (rel: string): Promise<string> => readFile(path.join(ROOT, rel), 'utf8');
const schemaOf = (rel: string): Record<string, unknown> => evalSchemaFiles().find((x) => x.path === rel)!.schema;

describe('the eval suite\'s JSON Schemas', () => {
  it.each(evalSchemaFiles().map((f) => [f.path, f] as const))('%s equals a freshly generated one (run `npm run gen`)', async (rel, f) => {
    expect(await read(rel)).toBe(jsonSchemaText(f));
  });

  it('validate the demo suite\'s files, referenced from each, and reject an unknown key', async () => {
    const ajv = new Ajv({ strict: true, allErrors: true });
    const suite = ajv.compile(schemaOf('schema/eval-suite.schema.json'));
    const scenarios = ajv.compile(schemaOf('schema/eval-scenarios.schema.json'));
    const dir = 'examples/acme/scenarios';
    const head = await read(`${dir}/suite.yaml`);
    expect(head.split('\n')[0]).toBe('# yaml-language-server: $schema=../../../schema/eval-suite.schema.json');
    expect(suite(parse(head)), JSON.stringify(suite.errors)).toBe(true);
    for (const f of ['benign.yaml', 'hostile.yaml']) {
      const text = await read(`${dir}/${f}`);
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../../schema/eval-scenarios.schema.json');
      const doc = parse(text) as { scenarios: Record<string, unknown>[] };
      expect(scenarios(doc), `${f}: ${JSON.stringify(scenarios.errors)}`).toBe(true);
      expect(scenarios({ scenarios: [{ ...doc.scenarios[0], colour: 'red' }] })).toBe(false);
    }
  });
});
