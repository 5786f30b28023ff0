// JSON Schemas for airlock.yaml and workflow files, generated from the zod schemas for editors.
import { z } from 'zod';
import { workflowSchema, workspaceSchema } from './schema.js';

/** Where the generated schemas are shipped (relative to the package root), with their content. */
export interface JsonSchemaFile {
  readonly path: string;
  readonly schema: Record<string, unknown>;
}

/**
 * The JSON Schemas of `airlock.yaml` and of a workflow file, as shipped in `schema/`.
 * Input-side (`io: 'input'`): keys with defaults are optional, as a user may leave them out.
 * Draft-07, which editors (yaml-language-server) and ajv's default build understand.
 */
export function jsonSchemaFiles(): readonly JsonSchemaFile[] {
  return [
    { path: 'schema/airlock.schema.json', schema: generate(workspaceSchema, 'airlock.yaml', 'An Airlock workspace: identity, connectors, tool contracts, policies, models and workflows.') },
    { path: 'schema/workflow.schema.json', schema: generate(workflowSchema, 'Airlock workflow', 'One Airlock workflow: owners, autonomy tier, agent, tools, budgets and model.') },
  ];
}

/** The exact text written for a schema file: two-space JSON with a final newline. */
export function jsonSchemaText(file: JsonSchemaFile): string {
  return `${JSON.stringify(file.schema, null, 2)}\n`;
}

function generate(schema: z.ZodType, title: string, description: string): Record<string, unknown> {
  const generated = z.toJSONSchema(schema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, title, description, ...rest };
}
