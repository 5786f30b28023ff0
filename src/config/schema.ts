// The workspace's shape: zod schemas for airlock.yaml and workflow files; the types are inferred.
// This is a trust boundary: everything a user writes passes through here before it is used.
import { z } from 'zod';
import { CLASSIFICATIONS, OWNER_BOUNDARIES, RISKS, TIERS, TRUST, type OwnerBoundary, type Risk } from '../types.js';
import { name, secretSource, toolName } from './schema-parts.js';
import { metricsDoorSchema, telemetrySchema } from './telemetry-schema.js';
import { envName, notificationsSchema } from './notification-schema.js';
import { contextConnectorSchema, embeddingsSchema, sourcesSchema } from './sources-schema.js';
import { pilotSchema } from './pilot-schema.js';
import { auditSchema } from './audit-schema.js';
import { runCheckSchema, toolContractSchema, type compensationSchema, type httpToolSchema, type secondPathSchema, type verifySchema } from './tool-contract-schema.js';

export { toolName } from './schema-parts.js';
export { compensationSchema, httpToolSchema, previewSchema, runCheckSchema, secondPathSchema, toolContractSchema, verifySchema } from './tool-contract-schema.js';

export const principalSchema = z.strictObject({
  id: name,
  kind: z.enum(['user', 'agent', 'service']),
  roles: z.array(name).default([]),
  description: z.string().optional(),
  contacts: z
    .array(z.string().min(1))
    .optional()
    .describe("A person's addresses as workflow `owners` name them (their own, a team's they answer for): an owner given as one of these is this person, who may stop and resume that workflow (the kill switch)."),
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

/** Console sign-in with an OpenID Connect provider (src/console/oidc.ts): authorization code flow with PKCE. */
export const consoleOidcSchema = z.strictObject({
  issuer: z.url({ protocol: /^https?$/ }).describe('The OpenID provider (its `/.well-known/openid-configuration` is read); https, plain http only on loopback.'),
  clientId: z.string().min(1).max(500).describe('The client id registered with the provider; ID tokens must name it as their audience.'),
  clientSecretEnv: envName.optional().describe('The environment variable holding the client secret (a confidential client); omit for a public client (PKCE only).'),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected an OAuth scope token')).default(['openid', 'email', 'profile']).describe('Scopes requested (`openid` is always added).'),
  principalClaim: z
    .union([
      z.string().min(1),
      z.strictObject({
        claim: z.string().min(1).describe('The ID-token claim whose value is looked up in `map`.'),
        map: z.record(z.string(), z.string().regex(/^user:[a-z0-9][a-z0-9._-]*$/, 'expected `user:<id>`, a declared person')).describe('Claim value → the declared person it is.'),
      }),
    ])
    .default('sub')
    .describe('The ID-token claim naming a declared person (`user:<id>` or a bare id), or a claim and a map from its values to people. Roles come from the workspace, never the token.'),
  redirectUrl: z.url({ protocol: /^https?$/ }).describe("The console's public callback URL, `<public origin>/console/oidc/callback`, as registered with the provider."),
  allowedAlgorithms: z.array(z.string()).default(['RS256', 'ES256', 'EdDSA']).describe('ID-token signature algorithms accepted (asymmetric only).'),
  clockToleranceSeconds: z.number().int().min(0).max(300).default(60).describe('Clock skew tolerated on `exp`, `iat` and `auth_time`.'),
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
      concurrentCallsPerRun: z.number().int().positive().default(4).describe('Calls in flight at once in one run, on each instance (callsPerMinute and openRunsPerPrincipal hold across instances).'),
      openRunsPerPrincipal: z
        .number()
        .int()
        .positive()
        .default(64)
        .describe('Runs (MCP sessions, API runs) one agent may hold open at once, counted in the store across every instance on it; the next is refused until one ends.'),
    })
    .default({ maxRequestBytes: 1_048_576, callsPerMinute: 120, concurrentCallsPerRun: 4, openRunsPerPrincipal: 64 }),
  /** `/metrics` (Prometheus): open on loopback, or behind a bearer token. */
  metrics: metricsDoorSchema.optional(),
  publicUrl: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Where people and clients reach this server (behind a proxy, its public address): the links in Slack and email, and the approval page an MCP client is pointed to.'),
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
  /** Search over the ingested `sources`, answered from the store with the caller's entitlements (tools/connectors/context.ts). */
  contextConnectorSchema,
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

/** What a route's model costs: per million input and output tokens, in one currency, under a version that records name. */
export const priceSchema = z.strictObject({
  version: z.string().min(1).max(100),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as USD or EUR'),
  inputPerMillion: z.number().nonnegative().max(1_000_000),
  outputPerMillion: z.number().nonnegative().max(1_000_000),
});

/** What every provider route has: the model, where its key comes from, timeouts, retries, sampling, the system message, prices. */
const providerRoute = {
  /** The model name the endpoint knows (`gpt-4.1-mini`, `claude-sonnet-4-5`, `llama3.1:8b`, ...). */
  model: z.string().min(1).max(200),
  /** Where the API key comes from: an environment variable or a file (relative to the workspace). Never written in the workspace itself. */
  apiKey: secretSource.optional(),
  /** How long one request may take, in milliseconds. */
  timeoutMs: z.number().int().positive().max(600_000).default(60_000),
  /** Retries of a 408, 409, 429 (after its `retry-after`), 5xx or a timeout, with backoff. */
  maxRetries: z.number().int().min(0).max(10).default(2),
  temperature: z.number().min(0).max(2).optional(),
  /** The system message; a default tells the model it acts through governed tools. */
  system: z.string().max(20_000).optional(),
  price: priceSchema.optional(),
  /** The most sensitive content this route may be sent: a run that has read more is never sent through it. */
  clearance: z.enum(CLASSIFICATIONS).default('internal').describe('The most sensitive content this route may see (its provider\'s terms, where it runs).'),
  /** Receive each answer as it is written (server-sent events), assembled before it is used. */
  stream: z.boolean().default(false).describe('Receive each answer as it is written (server-sent events), assembled before it is used: a long answer never sits on an idle connection.'),
  /** Routes to try, in order, when this one fails after its retries (each with its own clearance). */
  fallback: z.array(name).max(5).default([]),
};

export const modelRouteSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('scripted'),
    /** Path (relative to the workspace) of the playbook YAML the scripted model follows. */
    playbook: z.string().min(1),
    /** Runs in process and sends nothing anywhere: it may see anything unless said otherwise. */
    clearance: z.enum(CLASSIFICATIONS).default('restricted'),
    fallback: z.array(name).max(5).default([]),
  }),
  z.strictObject({
    kind: z.literal('openai-chat'),
    ...providerRoute,
    /** The API's base URL: OpenAI's by default; vLLM, Ollama, LM Studio and most gateways speak the same API. */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.openai.com/v1'),
  }),
  z.strictObject({
    kind: z.literal('openai-responses'),
    ...providerRoute,
    /** The API's base URL: OpenAI's by default. */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.openai.com/v1'),
  }),
  z.strictObject({
    kind: z.literal('anthropic-messages'),
    ...providerRoute,
    /** The API's base URL: Anthropic's by default. */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.anthropic.com'),
    /** The most tokens one answer may have (the Messages API requires a bound). */
    maxTokens: z.number().int().positive().max(200_000).default(4096),
  }),
]);

/** The kinds of work a workflow's model turns do, for routing. */
export const STEP_KINDS = ['classify', 'extract', 'reason', 'draft', 'verify'] as const;

/**
 * A cap on the value a tool moves without a person: the sum of its calls' amounts over a sliding
 * window, per principal, workflow and/or the contract's key argument, in one currency. A call that
 * would cross it is never allowed without approval; policies see where it stands (`context.value`).
 */
export const valueBudgetSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, 'a lowercase identifier (letters, digits, `_`): policies read it as `context.value.<name>`')
    .describe('Policies read it as `context.value.<name>` (`spent`, `wouldBe`, `limit`, `exceeds`).'),
  tools: z.array(z.string().min(1)).min(1).describe('The tools whose amounts count (each declares `value`).'),
  per: z.array(z.enum(['principal', 'workflow', 'key'])).default([]).describe('Kept apart per acting principal, per workflow and/or per value of the contract\'s `value.key` argument; none: one sum.'),
  windowMinutes: z.number().int().positive().max(527_040).describe('The sliding window the sum covers, in minutes (1440: a day).'),
  limit: z.number().int().positive().max(1_000_000_000_000_000).describe('The most the window may hold without a person, in the amount\'s unit (cents).'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR').optional().describe('Only calls in this currency count; without it, each currency has its own sum under the same limit.'),
});

/** Daily caps on Airlock's own model turns; a run stops between steps when one is reached. */
export const dailyBudgetSchema = z.strictObject({
  /** Tool calls sent to the gateway, by Airlock's own loop and by external agents alike. */
  toolCalls: z.number().int().positive().optional(),
  modelCalls: z.number().int().positive().optional(),
  inputTokens: z.number().int().positive().optional(),
  outputTokens: z.number().int().positive().optional(),
  cost: z.number().positive().optional(),
});

export const budgetsSchema = z.strictObject({
  steps: z.number().int().positive().max(10_000).default(25),
  wallTimeMs: z.number().int().positive().default(120_000),
  toolCalls: z.number().int().positive().optional(),
  /** Turns of Airlock's own model. */
  modelCalls: z.number().int().positive().optional(),
  /** Tokens the provider reported, summed over the run. */
  inputTokens: z.number().int().positive().optional(),
  outputTokens: z.number().int().positive().optional(),
  /** What the run's model turns may cost, in the route's price currency. */
  cost: z.number().positive().optional(),
  /** Caps on the sum of this workflow's runs per UTC day (model calls, tokens, cost in each currency). */
  perDay: dailyBudgetSchema.optional(),
  /** Caps on what one principal's runs of this workflow add to their daily sum (the person a run acts for, else its agent), across every workflow. */
  perPrincipalPerDay: dailyBudgetSchema.optional(),
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
  /** What kind of work the workflow's turns are, for routing (`routing[].when.stepKind`). */
  stepKind: z.enum(STEP_KINDS).default('reason').describe('What kind of work its turns are (classify, extract, reason, draft, verify): routing rules can send cheap work to a cheap model.'),
  /** How sensitive a run's input is: Airlock's own loop starts with it read (policies and model routes see it). */
  inputClassification: z
    .enum(CLASSIFICATIONS)
    .default('public')
    .describe("How sensitive the input a run starts with is: the run's labels start there, so a model route not cleared for it is never sent it."),
  /** Only a workflow that Airlock's own agent loop runs (`airlock run`) needs a model; one driven by an external agent does not. */
  model: name
    .optional()
    .describe(
      "A model route declared under `models` in airlock.yaml, or `auto` (the workspace's `routing` rules pick each turn's route). Needed only when Airlock's own agent loop runs the workflow (`airlock run`); a workflow driven by an external agent (MCP, HTTP API, SDK) needs none.",
    ),
  approvals: approvalPolicySchema.default(APPROVAL_DEFAULTS),
  checks: z
    .array(runCheckSchema)
    .optional()
    .describe('Run-level checks of the claimed end state, evaluated against ground truth when the run ends (CEL).'),
  pilot: pilotSchema
    .optional()
    .describe('The pilot: the baseline of the process it replaces, weekly KPI thresholds, the evidence each autonomy step needs, who signs promotions and the decision (`airlock report`, `airlock autonomy`, `airlock pilot`).'),
});

const POSTGRES_URL = /^postgres(ql)?:\/\/\S+$/;
const sensitivePayloads = z
  .enum(['encrypt', 'hash-only'])
  .default('encrypt')
  .describe('Audit payloads of confidential or restricted content (arguments, results): sealed with AES-256-GCM under `.airlock/payloads.key` (`encrypt`), or not kept at all, only their keyed hash (`hash-only`: replays and evidence excerpts then lack them).');

export const workspaceSchema = z.strictObject({
  version: z.literal(1),
  name,
  store: z
    .union([
      // The shorthand `store: postgres://...` is the long form with its defaults.
      z
        .string()
        .regex(POSTGRES_URL, 'expected a `postgres://` URL, or a store section with a `kind`')
        .transform((url) => ({ kind: 'postgres' as const, url, pool: { max: 10 }, statementTimeoutMs: 30_000, sensitivePayloads: 'encrypt' as const }))
        .describe('A PostgreSQL database for the store (`postgres://user@host:5432/db`), the defaults for the rest.'),
      z.discriminatedUnion('kind', [
        z.strictObject({
          kind: z.literal('sqlite'),
          path: z.string().default('.airlock/airlock.db'),
          sensitivePayloads,
        }),
        z
          .strictObject({
            kind: z.literal('postgres'),
            url: z
              .string()
              .regex(POSTGRES_URL, 'expected a `postgres://` URL')
              .describe('The database (`postgres://user@host:5432/db`). Leave the password out: PGPASSWORD, or AIRLOCK_STORE_URL in the environment (which overrides this whole section), gives it.'),
            pool: z
              .strictObject({ max: z.number().int().min(1).max(1000).default(10).describe('At most this many connections per instance.') })
              .default({ max: 10 }),
            statementTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000).describe('Every statement on every connection is cancelled past this.'),
            sensitivePayloads,
          })
          .describe('PostgreSQL: several instances on one database (versioned migrations, applied by `airlock migrate` and at start-up).'),
      ]),
    ])
    .describe('Where runs, approvals and the audit trail are kept: the embedded SQLite file (default) or PostgreSQL. AIRLOCK_STORE_URL in the environment overrides it.')
    .default({ kind: 'sqlite', path: '.airlock/airlock.db', sensitivePayloads: 'encrypt' }),
  identity: z.strictObject({
    principals: z.array(principalSchema).min(1),
    /** Bearer API keys, stored as SHA-256 hashes only; `airlock keys create` makes one. */
    apiKeys: z.array(apiKeySchema).default([]),
    /** JWTs from an identity provider, verified against its JWKS. */
    jwt: jwtSchema.optional(),
  }),
  /** The web console of `airlock serve` (src/console/): who may sign in with a password. */
  console: z
    .strictObject({
      users: z
        .array(
          z.strictObject({
            principal: z.string().regex(/^user:[a-z0-9][a-z0-9._-]*$/, 'expected `user:<id>`, a declared person').describe('The declared person (`user:<id>`) this sign-in is for.'),
            password: z
              .string()
              .regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/, 'expected `scrypt$N$r$p$salt$hash` from `airlock console hash-password`')
              .describe('The scrypt hash of the password (`airlock console hash-password`), never the password.'),
          }),
        )
        .default([]),
      sessionMinutes: z.number().int().min(5).max(1440).default(480).describe('How long a console sign-in lasts.'),
      oidc: consoleOidcSchema.optional().describe('Sign-in with an OpenID Connect provider (authorization code with PKCE), beside or instead of passwords.'),
    })
    .optional(),
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
  /**
   * Which route a workflow with `model: auto` uses for each turn: the first rule whose conditions
   * all hold (the workflow, its tier and step kind, the risk of the call the turn proposes, the most
   * sensitive content and the trust of what the run has read), then that route's fallbacks; a route whose clearance is below what the run has read is
   * skipped, and a turn no route may take ends the run, on record.
   */
  routing: z
    .array(
      z.strictObject({
        when: z
          .strictObject({
            workflow: z.array(name).min(1).optional(),
            tier: z.array(z.enum(TIERS)).min(1).optional(),
            stepKind: z.array(z.enum(STEP_KINDS)).min(1).optional(),
            /** The risk of the call the turn proposes: checked on the answer; a proposal it routes elsewhere is set aside and that route asked (router.ts). */
            risk: z.array(z.enum(RISKS)).min(1).optional(),
            classification: z.array(z.enum(CLASSIFICATIONS)).min(1).optional(),
            trust: z.array(z.enum(TRUST)).min(1).optional(),
          })
          .default({}),
        use: name,
      }),
    )
    .default([]),
  /** Caps on the value tools move without a person (amounts summed over a window). */
  valueBudgets: z.array(valueBudgetSchema).default([]),
  /** Model routes for Airlock's own agent loop; a workspace that only governs external agents needs none. */
  models: z.record(name, modelRouteSchema).default({}),
  /** Workflow files (paths or globs). */
  workflows: z.array(z.string()).min(1),
  telemetry: telemetrySchema.default({ console: false, capture: { content: 'off', maxClassification: 'internal' } }),
  /** Signed webhooks, Slack and email on approval events (docs/approvals.md). */
  notifications: notificationsSchema,
  /** Document folders `airlock ingest` reads, with their labels and access lists (searched by a `context` connector). */
  sources: sourcesSchema,
  /** Signed checkpoints of the audit trail and the witnesses they are sent to (audit/checkpoints.ts). */
  audit: auditSchema,
  /** Optional embeddings for search (meaning as well as words); never required. */
  embeddings: embeddingsSchema.optional(),
  /** Injection signals in untrusted content (context/injection.ts): a signal for people, never the defence. */
  injection: z
    .strictObject({
      detect: z.boolean().default(true).describe('Look for instruction-like text in untrusted results; a flagged read is recorded (`context.flagged`), shown to approvers and opens a security incident.'),
      quarantine: z.boolean().default(false).describe("Withhold a flagged result from the agent: it is told only that Airlock withheld it (the record keeps it)."),
    })
    .default({ detect: true, quarantine: false })
    .describe('Injection signals in untrusted content. The boundary does not rely on them: per-value provenance and policy decide.'),
});

export type PrincipalConfig = z.infer<typeof principalSchema>;
export type ConnectorConfig = z.infer<typeof connectorSchema>;
export type HttpToolSpec = z.infer<typeof httpToolSchema>;
export type ApiKeyConfig = z.infer<typeof apiKeySchema>;
export type JwtConfig = z.infer<typeof jwtSchema>;
export type ConsoleOidcConfig = z.infer<typeof consoleOidcSchema>;
export type ServerConfig = z.infer<typeof serverSchema>;
export type ToolContract = z.infer<typeof toolContractSchema>;
export type VerifySpec = z.infer<typeof verifySchema>;
export type SecondPathSpec = z.infer<typeof secondPathSchema>;
export type RunCheckSpec = z.infer<typeof runCheckSchema>;
export type CompensationSpec = z.infer<typeof compensationSchema>;
export type ModelRoute = z.infer<typeof modelRouteSchema>;
export type ValueBudget = z.infer<typeof valueBudgetSchema>;
export type StepKind = (typeof STEP_KINDS)[number];
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
