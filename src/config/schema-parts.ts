// The small shapes the workspace's schemas share: names, tool names, JSON Schema documents, templates.
import { z } from 'zod';

/** A lowercase name (workspaces, connectors, checks, webhooks). */
export const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/, 'expected a lowercase name: letters, digits, `_` or `-`, starting with a letter');

/** Tool names are `connector.tool`. */
export const toolName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_]*$/, 'expected a tool name like `connector.tool_name`');

/** A JSON Schema document (checked for validity by ajv when the workspace loads). */
export const jsonSchema = z.record(z.string(), z.unknown());

/**
 * A value template: literals, or strings that reference data with a `$` path
 * (`$args.order_id`, `$result.refund_id`, `$probe.status`, `$input.ticket_id`). `$$` escapes a `$`.
 */
export const template: z.ZodType<unknown> = z.unknown();


/** Where a secret (an API key) comes from: an environment variable or a file (relative to the workspace); never the workspace itself. */
export const secretSource = z.union([z.strictObject({ env: z.string().min(1) }), z.strictObject({ file: z.string().min(1) })]);
