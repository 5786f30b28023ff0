// JSON Schemas of the scenario suite's files, generated from their zod schemas for editors
// (`npm run gen` writes them to schema/; a test keeps them fresh).
import { z } from 'zod';
import type { JsonSchemaFile } from '../../config/json-schema.js';
import { scenarioFileSchema, suiteSchema } from './suite-schema.js';

/** The suite file (`suite.yaml`) and a file of scenarios beside it, as shipped in `schema/`. */
export function evalSchemaFiles(): readonly JsonSchemaFile[] {
  return [
    { path: 'schema/eval-suite.schema.json', schema: generate(suiteSchema, 'Airlock scenario suite', 'An `airlock eval` suite: its workspace, defaults, thresholds and (in a single-file suite) its scenarios.') },
    { path: 'schema/eval-scenarios.schema.json', schema: generate(scenarioFileSchema, 'Airlock scenarios', 'Scenarios of an `airlock eval` suite: benign tasks with their expected state, adversarial ones with the state that would show the attack succeeded.') },
  ];
}

function generate(schema: z.ZodType, title: string, description: string): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, title, description, ...rest };
}
