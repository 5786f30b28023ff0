// The tool contract's shape: what each tool may do and how Airlock governs it (effect, risk, schema,
// exposed arguments, compensation, verification, second path, preview). Part of the workspace schema.
import { z } from 'zod';
import { CLASSIFICATIONS, EFFECTS, RISKS, TRUST } from '../types.js';
import { jsonSchema, name, template, toolName } from './schema-parts.js';
import { fieldPathProblem } from '../context/provenance.js';

/** How a tool of an `http` connector maps its arguments onto one request. */
export const httpToolSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  /** Path under the connector's baseUrl; `{name}` is replaced by the URL-encoded argument `name`. */
  path: z.string().regex(/^\/[^?#]*$/, 'expected a path starting with `/`, without query or fragment'),
  /** Arguments sent as query parameters. */
  query: z.array(z.string()).default([]),
  /** Arguments sent as the JSON body (the rest are not sent). */
  body: z.array(z.string()).default([]),
});

export const compensationSchema = z.strictObject({
  tool: toolName,
  args: z.record(z.string(), template),
});

/** A CEL expression (Common Expression Language); parsed and type-checked when the workspace loads. */
export const celExpression = z.string().min(1).max(4096);

export const verifySchema = z
  .strictObject({
    /** A read tool that observes ground truth. */
    probe: toolName.describe('A declared read tool that observes ground truth after the call.'),
    args: z.record(z.string(), template).describe('The probe\'s arguments; templates may use `$args.x` and `$result.x`.'),
    /** Each key is a `$probe.` path; each value a template the observed value must equal. */
    expect: z
      .record(z.string(), template)
      .optional()
      .describe('Each key a `$probe.` path, each value a template (`$args.x`, `$result.x`) the observed value must equal.'),
    /** A CEL expression over `args`, `result` and `probe` that must be true. */
    check: celExpression
      .optional()
      .describe('A CEL expression over `args`, `result` and `probe` that must be true, e.g. `probe.amount_cents == args.amount_cents`.'),
  })
  .superRefine((v, ctx) => {
    if (v.expect === undefined && v.check === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'a verification needs `expect`, `check` or both',
        params: { hint: 'add `check: \'probe.status == "completed"\'` (CEL over `args`, `result`, `probe`) or an `expect` map' },
      });
    }
  });

/**
 * A run-level check in a workflow: when the run ends, a read tool observes ground truth and a CEL
 * expression over the run's input, its executed actions and the probe's result must be true.
 */
/**
 * The second path for a high-risk step at tier `execute-high`: before it executes, an independent
 * rule must agree with what the agent proposes (read from ground truth, not from the agent).
 */
export const secondPathSchema = z.strictObject({
  probe: toolName.optional().describe('A declared read tool that observes ground truth before the call.'),
  args: z.record(z.string(), template).default({}).describe('The probe\'s arguments; templates may use `$args.x` only.'),
  check: celExpression.describe('A CEL expression over `args` and `probe` that must be true for the call to go ahead, e.g. `args.amount_cents <= probe.total_cents`.'),
});

export const runCheckSchema = z.strictObject({
  name: name.describe('A lowercase name, unique in the workflow; results and evidence cite it.'),
  when: celExpression
    .optional()
    .describe('A CEL condition over `input` and `actions`; when false the check is skipped (counts as passed).'),
  probe: toolName
    .optional()
    .describe('A read tool of this workflow that observes ground truth; without one, `expect` sees only `input` and `actions`.'),
  args: z
    .record(z.string(), celExpression)
    .default({})
    .describe('The probe\'s arguments, each a CEL expression over `input` and `actions` (a literal string is quoted: `\'"resolved"\'`).'),
  expect: celExpression.describe('A CEL expression over `input`, `actions` (`{ tool, args, result, ok }`, in order) and `probe` that must be true.'),
});

/**
 * What an approver is shown before deciding: a read tool that observes the current state the
 * action would change, and rows comparing each proposed value with the current one.
 */
export const previewSchema = z.strictObject({
  /** A read tool that observes the current state (it runs before the action, so only `$args` is known). */
  probe: toolName.describe('A declared read tool that observes the current state the action would change.'),
  args: z.record(z.string(), template).describe('The probe\'s arguments; templates may use `$args.x` only.'),
  /** One row each: the proposed value (from `$args`) beside the current one (from `$probe`). */
  compare: z
    .array(
      z.strictObject({
        label: z.string().min(1),
        proposed: template,
        current: template,
      }),
    )
    .min(1)
    .describe('Rows of `{ label, proposed, current }`; templates may use `$args.x` and `$probe.x`.'),
});

/** The amount a call moves, for value budgets: which arguments hold it, its currency and the key a cap can be kept per. */
export const valueSchema = z.strictObject({
  amount: z.string().min(1).describe('The argument holding the amount: a whole number in the smallest unit (cents), required by the input schema.'),
  currency: z.string().min(1).optional().describe('The argument naming the currency: sums are kept per currency.'),
  key: z.string().min(1).optional().describe('The argument a value budget can be kept per value of (a payee, an account, an order).'),
});

/** The Cedar type an argument is exposed to policy as. */
const exposeType = z.enum(['string', 'long', 'boolean', 'decimal']);

export const toolContractSchema = z
  .strictObject({
    name: toolName.describe('`connector.tool_name`, unique in the workspace.'),
    connector: name.describe('The connector (under `connectors`) that serves this tool.'),
    /** The tool's name on the upstream server (default: the part after the dot). */
    upstream: z.string().min(1).optional().describe("The tool's name on the upstream server (default: the part after the dot)."),
    description: z.string().min(1).describe('What the tool does, as the model will read it.'),
    effect: z.enum(EFFECTS).describe('What the tool does to the world: read, write, destructive, egress or financial.'),
    risk: z.enum(RISKS).describe('Risk of one call; `critical` is denied at every tier.'),
    /** Classification of what the tool returns. */
    classification: z.enum(CLASSIFICATIONS).default('internal').describe('Classification of what the tool returns.'),
    /** Trust of what the tool returns: content written by outsiders is untrusted. */
    trust: z.enum(TRUST).default('trusted').describe('Trust of what the tool returns: content written by outsiders is untrusted.'),
    fieldTrust: z
      .record(
        z.string().superRefine((p, ctx) => {
          const problem = fieldPathProblem(p);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
        z.enum(TRUST),
      )
      .default({})
      .describe(
        'Trust of parts of the result, by path (`memo`, `transactions[].memo`, `a.b`), overriding `trust` below that path: a bank record is trusted, the memo its sender wrote is not. Policy sees which part steered an argument (`context.provenance`).',
      ),
    inputSchema: jsonSchema.describe('JSON Schema (draft-07) of the arguments: an object, ideally with `additionalProperties: false`.'),
    /** Argument fields policy may see, each a top-level argument name with its Cedar type, or each element of an array argument. */
    expose: z
      .record(
        z.string(),
        z.union([
          exposeType,
          z
            .strictObject({
              type: exposeType,
              each: z.string().min(1).describe('The array argument whose elements policy sees, one at a time, under this field name.'),
            })
            .describe('Each element of an array argument, in turn: the call is decided once per element and the strictest decision stands.'),
        ]),
      )
      .default({})
      .describe(
        'Argument fields policy may see (`context.args`), each a top-level argument with its Cedar type (`decimal`: at most 4 digits after the point, e.g. an amount in euros), or `{ type, each: <array argument> }`.',
      ),
    compensation: compensationSchema.optional().describe('The call that undoes this one (templates: `$args.x`, `$result.x`).'),
    irreversible: z.boolean().default(false).describe('Nothing can undo this tool; raises its risk. Needed when a non-read tool has no compensation.'),
    idempotencyKey: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The argument the upstream reads an idempotency key from. Airlock fills it on every call with a key derived from the run, the step and the action hash, so a retried or resumed call never repeats the effect; an agent cannot choose it.',
      ),
    verify: verifySchema.optional().describe('A read-tool probe that checks ground truth after the call.'),
    value: valueSchema.optional().describe('The amount this tool moves, summed by the workspace\'s `valueBudgets`.'),
    secondPath: secondPathSchema
      .optional()
      .describe('An independent rule that must agree before a high-risk call at tier `execute-high` executes; disagreement routes to a person.'),
    preview: previewSchema
      .optional()
      .describe('A read-tool probe run before approval: the approver sees each proposed value beside the current one.'),
    timeoutMs: z.number().int().positive().max(600_000).optional(),
    /** For `http` connectors: the request this tool makes. */
    http: httpToolSchema.optional(),
    /**
     * For MCP upstreams and `context` connectors: this contract governs reading the resources whose URI
     * matches this template (`{name}` is one segment, `{+name}` one or more, each an argument of the
     * input schema), not a tool call. A `context` connector's documents are `context://{source}/{+path}`.
     */
    resource: z.string().min(1).optional(),
    /** For MCP upstreams: this contract governs getting the upstream prompt of this name, not a tool call. */
    prompt: z.string().min(1).optional(),
    /**
     * For MCP upstreams: SHA-256 of the upstream's tool definition (name, description, input schema,
     * annotations) when a human reviewed this contract. A different live definition is drift: denied
     * until re-reviewed. Written by `airlock tools import`.
     */
    reviewedUpstream: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256').optional(),
  })
  .superRefine((t, ctx) => {
    const kinds = [t.http && 'http', t.resource && 'resource', t.prompt && 'prompt'].filter(Boolean);
    if (kinds.length > 1) {
      ctx.addIssue({ code: 'custom', path: [String(kinds[1])], message: `a contract governs one thing: it cannot have both \`${String(kinds[0])}\` and \`${String(kinds[1])}\`` });
    }
    if ((t.resource || t.prompt) && t.effect !== 'read') {
      ctx.addIssue({ code: 'custom', path: ['effect'], message: `reading a resource or getting a prompt is a \`read\`, not \`${t.effect}\`` });
    }
    // `params.hint` travels to the error's hint (see issues.ts).
    if (t.effect !== 'read' && !t.compensation && !t.irreversible) {
      ctx.addIssue({
        code: 'custom',
        path: ['compensation'],
        message: `${t.effect === 'egress' ? 'an' : 'a'} \`${t.effect}\` tool needs a rollback story`,
        params: { hint: 'declare `compensation` (the tool call that undoes it) or mark it `irreversible: true`' },
      });
    }
    if (t.compensation && t.irreversible) {
      ctx.addIssue({
        code: 'custom',
        path: ['irreversible'],
        message: 'a tool cannot both declare a compensation and be irreversible',
        params: { hint: 'remove `irreversible: true`, or remove `compensation` if nothing can undo it' },
      });
    }
  });

