// The workspace's shape: zod schemas for airlock.yaml and workflow files; the types are inferred.
// This is a trust boundary: everything a user writes passes through here before it is used.
import { z } from 'zod';
import { CLASSIFICATIONS, EFFECTS, OWNER_BOUNDARIES, RISKS, TIERS, TRUST, type OwnerBoundary, type Risk } from '../types.js';

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*$/, 'expected a lowercase name: letters, digits, `_` or `-`, starting with a letter');

/** Tool names are `connector.tool`. */
export const toolName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_]*$/, 'expected a tool name like `connector.tool_name`');

/** A JSON Schema document (checked for validity by ajv when the workspace loads). */
const jsonSchema = z.record(z.string(), z.unknown());

/**
 * A value template: literals, or strings that reference data with a `$` path
 * (`$args.order_id`, `$result.refund_id`, `$probe.status`, `$input.ticket_id`). `$$` escapes a `$`.
 */
const template: z.ZodType<unknown> = z.unknown();

export const principalSchema = z.strictObject({
  id: name,
  kind: z.enum(['user', 'agent', 'service']),
  roles: z.array(name).default([]),
  description: z.string().optional(),
});

export const apiKeySchema = z.strictObject({
  id: name,
  /** The principal the key proves, `kind:id`. */
  principal: z.string().regex(/^(user|agent|service):[a-z][a-z0-9_-]*$/, 'expected `kind:id`, e.g. `agent:refund-bot`'),
  /** SHA-256 (hex) of the key; the key itself is never stored. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256'),
  /** Optional expiry (ISO-8601). */
  expires: z.iso.datetime().optional(),
});

export const jwtSchema = z.strictObject({
  issuer: z.string().min(1),
  audience: z.string().min(1),
  /** Where the signing keys are: a JWKS URL, or a JWKS file in the workspace. */
  jwks: z.union([z.strictObject({ url: z.url() }), z.strictObject({ file: z.string().min(1) })]),
  /** The claim holding the principal id (a declared principal; roles come from the workspace, never the token). */
  principalClaim: z.string().default('sub'),
  /** RFC 8693 actor claim: `act.sub` names the agent acting on behalf of the token's subject. */
  actorClaim: z.string().default('act'),
  algorithms: z.array(z.string()).default(['RS256', 'ES256', 'EdDSA']),
  clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
});

export const serverSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8787),
  /** An MCP session with no request for this long is closed and its run finished. */
  sessionIdleMinutes: z.number().int().positive().max(24 * 60).default(30),
  /** The principal `airlock mcp` (stdio) runs as: a local client has no token. */
  stdioPrincipal: z.string().regex(/^(user|agent|service):[a-z][a-z0-9_-]*$/).optional(),
  /** The same limits at every door (MCP over HTTP and stdio, the JSON API, the SDK's remote client). */
  limits: z
    .strictObject({
      maxRequestBytes: z.number().int().positive().default(1_048_576).describe('The largest request body (or stdio message) accepted, in bytes.'),
      callsPerMinute: z.number().int().positive().default(120).describe('Tool calls per principal per minute (each call in a JSON-RPC batch counts).'),
      concurrentCallsPerRun: z.number().int().positive().default(4).describe('Calls in flight at once in one run.'),
      openRunsPerPrincipal: z
        .number()
        .int()
        .positive()
        .default(64)
        .describe('Runs (MCP sessions, API runs) one principal may hold open at once in one process; the next is refused until one ends.'),
    })
    .default({ maxRequestBytes: 1_048_576, callsPerMinute: 120, concurrentCallsPerRun: 4, openRunsPerPrincipal: 64 }),
});

/**
 * How many connections (server processes, or HTTP sessions) an MCP connector may open. Calls go to
 * the least busy healthy one, so one stuck call does not hold up the others. Default 1: an MCP
 * server may keep state in its process (a memory server, caches, per-session data), which separate
 * processes would not share; raise it only for servers whose state lives elsewhere (the Acme demo's
 * servers share one SQLite file and may be pooled).
 */
const mcpPool = z
  .number()
  .int()
  .min(1)
  .max(16)
  .default(1)
  .describe(
    'How many connections (processes, or HTTP sessions) this MCP connector may open; calls go to the least busy healthy one. Default 1: raise it only for servers that keep no state of their own in the process.',
  );

export const connectorSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('mcp-stdio'),
    /** Executable; `${node}` is the running Node.js, `${airlock}` the Airlock package root, `${workspace}` the workspace folder. */
    command: z.string().min(1).describe('Executable. `${node}` is the running Node.js, `${airlock}` the Airlock package root, `${workspace}` the workspace folder.'),
    args: z.array(z.string()).default([]).describe('Arguments; the same `${...}` variables are expanded.'),
    env: z.record(z.string(), z.string()).default({}),
    timeoutMs: z.number().int().positive().max(600_000).default(10_000),
    pool: mcpPool,
  }),
  z.strictObject({
    kind: z.literal('mcp-http'),
    /** A remote MCP server (Streamable HTTP): the only place this connector connects to. */
    url: z.url({ protocol: /^https?$/ }).describe('The MCP endpoint of the upstream server (Streamable HTTP).'),
    /** Headers Airlock adds (its own credentials for the upstream); secrets come from the environment. */
    headers: z
      .record(z.string(), z.union([z.string(), z.strictObject({ env: z.string().min(1), prefix: z.string().default('') })]))
      .default({}),
    timeoutMs: z.number().int().positive().max(600_000).default(10_000),
    pool: mcpPool,
  }),
  z.strictObject({
    /**
     * Tools that run in the caller's own process (wrapped with the Airlock SDK): Airlock decides and
     * records; the caller executes and reports the outcome. Airlock never calls them itself.
     */
    kind: z.literal('in-process'),
    description: z.string().optional(),
  }),
  z.strictObject({
    kind: z.literal('http'),
    /** The one destination this connector may reach; the agent can never change the host. */
    baseUrl: z.url({ protocol: /^https?$/ }).describe('The only origin (and base path) this connector may call; arguments never change it.'),
    /** Headers Airlock adds to every request; secrets come from the environment, never from the agent. */
    headers: z
      .record(z.string(), z.union([z.string(), z.strictObject({ env: z.string().min(1), prefix: z.string().default('') })]))
      .default({})
      .describe('Headers added to every request. `{ env: NAME, prefix }` reads a secret from the environment.'),
    timeoutMs: z.number().int().positive().max(600_000).default(10_000),
    /** Largest response body accepted, in bytes. */
    maxResponseBytes: z.number().int().positive().max(64 * 1024 * 1024).default(1024 * 1024),
  }),
]);

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
const celExpression = z.string().min(1).max(4096);

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
     * For MCP upstreams: this contract governs reading the upstream's resources whose URI matches
     * this template (`{name}` is one segment and an argument of the input schema), not a tool call.
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

export const modelRouteSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('scripted'),
    /** Path (relative to the workspace) of the playbook YAML the scripted model follows. */
    playbook: z.string().min(1),
  }),
]);

export const budgetsSchema = z.strictObject({
  steps: z.number().int().positive().max(10_000).default(25),
  wallTimeMs: z.number().int().positive().default(120_000),
  toolCalls: z.number().int().positive().optional(),
});

/** A workflow's approval policy when it declares none. */
export const APPROVAL_DEFAULTS: { ttlMinutes: number; escalateTo: OwnerBoundary[]; reauthMaxAgeMinutes: number; justifyFrom: Risk } = {
  ttlMinutes: 60,
  escalateTo: [],
  reauthMaxAgeMinutes: 5,
  justifyFrom: 'high',
};

export const approvalPolicySchema = z
  .strictObject({
    ttlMinutes: z
      .number()
      .int()
      .positive()
      .max(60 * 24 * 30)
      .default(60)
      .describe('The final deadline: an approval nobody decided within this many minutes expires, and the step is denied.'),
    escalateAfterMinutes: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('An approval untouched this long escalates to the next owner in `escalateTo` (and again after as long).'),
    escalateTo: z
      .array(z.enum(OWNER_BOUNDARIES))
      .default([])
      .describe('Owner boundaries an approval is routed to, in order: the first is notified at once, the next on each escalation.'),
    reauthMaxAgeMinutes: z
      .number()
      .int()
      .positive()
      .max(24 * 60)
      .default(5)
      .describe('For `@approval("reauth")`: how recent the approver\'s login (the JWT `auth_time`) must be.'),
    justifyFrom: z
      .enum(RISKS)
      .default('high')
      .describe('Approving a tool of this risk or higher needs a written justification (step-up and reauth always do).'),
  })
  .superRefine((a, ctx) => {
    if (a.escalateAfterMinutes !== undefined && a.escalateAfterMinutes >= a.ttlMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['escalateAfterMinutes'],
        message: `escalation after ${a.escalateAfterMinutes} minutes would come at or after the final deadline (${a.ttlMinutes} minutes)`,
        params: { hint: 'make `escalateAfterMinutes` smaller than `ttlMinutes`' },
      });
    }
    if (a.escalateAfterMinutes !== undefined && a.escalateTo.length < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['escalateTo'],
        message: 'escalation needs a next owner: list at least two owner boundaries in `escalateTo`',
        params: { hint: 'for example `escalateTo: [domain, product]`' },
      });
    }
  });

export const workflowSchema = z.strictObject({
  name,
  description: z.string().default(''),
  /** Who owns each boundary. Above the assist tier every boundary needs an owner. */
  owners: z
    .partialRecord(z.enum(OWNER_BOUNDARIES), z.string().min(1))
    .default({})
    .describe('Who owns each boundary (product, architecture, platform, security, domain, compliance); all six are needed above `assist`.'),
  tier: z.enum(TIERS).describe('Autonomy tier: assist, prepare, execute-low or execute-high. Policy can only tighten it.'),
  /** The principal the agent acts as. */
  agent: name.describe('The principal (of kind `agent`) the agent acts as.'),
  tools: z
    .array(toolName)
    .describe('The tool contracts this workflow may use; every other tool is unreachable. Empty: nothing is reachable yet.'),
  budgets: budgetsSchema.default({ steps: 25, wallTimeMs: 120_000 }),
  /** Only a workflow that Airlock's own agent loop runs (`airlock run`) needs a model; one driven by an external agent does not. */
  model: name
    .optional()
    .describe(
      "A model route declared under `models` in airlock.yaml. Needed only when Airlock's own agent loop runs the workflow (`airlock run`); a workflow driven by an external agent (MCP, HTTP API, SDK) needs none.",
    ),
  approvals: approvalPolicySchema.default(APPROVAL_DEFAULTS),
  checks: z
    .array(runCheckSchema)
    .optional()
    .describe('Run-level checks of the claimed end state, evaluated against ground truth when the run ends (CEL).'),
});

export const workspaceSchema = z.strictObject({
  version: z.literal(1),
  name,
  store: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('sqlite'), path: z.string().default('.airlock/airlock.db') }),
    ])
    .default({ kind: 'sqlite', path: '.airlock/airlock.db' }),
  identity: z.strictObject({
    principals: z.array(principalSchema).min(1),
    /** Bearer API keys, stored as SHA-256 hashes only; `airlock keys create` makes one. */
    apiKeys: z.array(apiKeySchema).default([]),
    /** JWTs from an identity provider, verified against its JWKS. */
    jwt: jwtSchema.optional(),
  }),
  /** `airlock serve` and `airlock mcp`. */
  server: serverSchema.default({
    host: '127.0.0.1',
    port: 8787,
    sessionIdleMinutes: 30,
    limits: { maxRequestBytes: 1_048_576, callsPerMinute: 120, concurrentCallsPerRun: 4, openRunsPerPrincipal: 64 },
  }),
  connectors: z.record(name, connectorSchema).default({}),
  tools: z.array(toolContractSchema).default([]),
  /** Cedar policy files (paths or globs relative to the workspace). */
  policies: z.array(z.string()).min(1),
  /** YAML policy test files (paths or globs). */
  policyTests: z.array(z.string()).default([]),
  /** Model routes for Airlock's own agent loop; a workspace that only governs external agents needs none. */
  models: z.record(name, modelRouteSchema).default({}),
  /** Workflow files (paths or globs). */
  workflows: z.array(z.string()).min(1),
  telemetry: z.strictObject({ console: z.boolean().default(false) }).default({ console: false }),
  /** Signed webhooks sent on approval events (docs/approvals.md, "Webhooks"). */
  notifications: z
    .strictObject({
      webhooks: z
        .array(
          z
            .strictObject({
              name: name.describe('A lowercase name for the webhook, unique in the workspace (the delivery log cites it).'),
              url: z
                .url({ protocol: /^https?$/ })
                .describe('Where the POST goes: https, except on loopback (127.0.0.1, ::1, localhost). Redirects are never followed.'),
              secretEnv: z
                .string()
                .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name, e.g. `AIRLOCK_WEBHOOK_SECRET`')
                .describe('The environment variable holding the HMAC-SHA256 signing secret (never the secret itself).'),
              events: z
                .array(z.enum(['approval.requested', 'approval.decided', 'approval.expired', 'approval.escalated', 'approval.withdrawn']))
                .min(1)
                .default(['approval.requested', 'approval.decided', 'approval.expired', 'approval.escalated', 'approval.withdrawn'])
                .describe('The approval events sent to this webhook (default: all five).'),
              maxAttempts: z.number().int().min(1).max(30).default(8).describe('Delivery attempts before a notification is marked failed.'),
              timeoutMs: z.number().int().positive().max(60_000).default(5000).describe('How long one attempt may take before it counts as failed.'),
            })
            .superRefine((w, ctx) => {
              const url = URL.canParse(w.url) ? new URL(w.url) : null;
              const host = url?.hostname ?? '';
              if (url && url.protocol !== 'https:' && !['127.0.0.1', '[::1]', 'localhost'].includes(host)) {
                ctx.addIssue({
                  code: 'custom',
                  path: ['url'],
                  message: `webhook \`${w.name}\` sends approvals over plain http to \`${host}\``,
                  params: { hint: 'use an `https://` URL (plain http is allowed only on loopback: 127.0.0.1, ::1, localhost)' },
                });
              }
            }),
        )
        .default([])
        .superRefine((list, ctx) => {
          list.forEach((w, i) => {
            if (list.findIndex((o) => o.name === w.name) < i) {
              ctx.addIssue({
                code: 'custom',
                path: [i, 'name'],
                message: `webhook name \`${w.name}\` is used twice`,
                params: { hint: 'give each webhook its own `name`' },
              });
            }
          });
        })
        .describe('Webhooks that receive a signed POST on each approval event (at least once: deduplicate on the `id` in the signed body).'),
    })
    .default({ webhooks: [] })
    .describe('Notifications sent by Airlock: signed webhooks on approval events.'),
});

export type PrincipalConfig = z.infer<typeof principalSchema>;
export type ConnectorConfig = z.infer<typeof connectorSchema>;
export type HttpToolSpec = z.infer<typeof httpToolSchema>;
export type ApiKeyConfig = z.infer<typeof apiKeySchema>;
export type JwtConfig = z.infer<typeof jwtSchema>;
export type ServerConfig = z.infer<typeof serverSchema>;
export type ToolContract = z.infer<typeof toolContractSchema>;
export type VerifySpec = z.infer<typeof verifySchema>;
export type SecondPathSpec = z.infer<typeof secondPathSchema>;
export type RunCheckSpec = z.infer<typeof runCheckSchema>;
export type CompensationSpec = z.infer<typeof compensationSchema>;
export type ModelRoute = z.infer<typeof modelRouteSchema>;
export type Budgets = z.infer<typeof budgetsSchema>;
export type WorkflowConfig = z.infer<typeof workflowSchema>;
export type ApprovalPolicy = z.infer<typeof approvalPolicySchema>;
export type WorkspaceFile = z.infer<typeof workspaceSchema>;

/** A loaded, validated workspace: the file plus everything it points to, resolved. */
export interface Workspace {
  /** Absolute path of the workspace folder. */
  readonly dir: string;
  readonly file: WorkspaceFile;
  readonly workflows: ReadonlyMap<string, WorkflowConfig>;
  readonly tools: ReadonlyMap<string, ToolContract>;
  /** Cedar policy sources: file path (relative to dir) → text. */
  readonly policySources: readonly { readonly file: string; readonly text: string }[];
  /** Policy test files (relative to dir, `/`-separated), resolved from `policyTests`; set by `loadWorkspace`. */
  readonly policyTestFiles?: readonly string[];
  /** Workflow name → the file (relative to dir) it was loaded from; set by `loadWorkspace`. */
  readonly workflowFiles?: ReadonlyMap<string, string>;
}
