// The scenario suite's YAML format (zod): the suite file (`suite.yaml`: name, workspace, defaults,
// thresholds) and its scenarios (benign tasks with the expected end state, adversarial tasks with the
// attacker's goal and the state that would show it reached). Shapes only; cross-references are
// checked against the workspace in load-suite.ts.
import { z } from 'zod';
import { playbookSchema } from '../../routing/providers/scripted.js';
import { name, toolName } from '../../config/schema-parts.js';

/** The OWASP Top 10 for Agentic Applications (2026), by id: what a scenario may say it covers. */
export const ASI_RISKS = {
  ASI01: 'Agent Goal Hijack',
  ASI02: 'Tool Misuse and Exploitation',
  ASI03: 'Identity and Privilege Abuse',
  ASI04: 'Agentic Supply Chain Vulnerabilities',
  ASI05: 'Unexpected Code Execution',
  ASI06: 'Memory and Context Poisoning',
  ASI07: 'Insecure Inter-Agent Communication',
  ASI08: 'Cascading Failures',
  ASI09: 'Human-Agent Trust Exploitation',
  ASI10: 'Rogue Agents',
} as const;
export type AsiRisk = keyof typeof ASI_RISKS;
const RISK_IDS = Object.keys(ASI_RISKS) as [AsiRisk, ...AsiRisk[]];

/** A scenario id: lowercase letters, digits and `-` (it names the scenario's folder and its incident). */
const scenarioId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'expected a lowercase id: letters, digits and `-`, at most 64 characters');

/** A declared person: `user:dana` or `dana`. */
const personRef = z.string().regex(/^(user:)?[a-z][a-z0-9_-]*$/, 'expected a declared person, e.g. `dana` or `user:dana`');

/** A principal the run acts for: `user:dana` (a bare id means a user). */
const onBehalfOf = z.string().regex(/^((user|agent|service):)?[a-z][a-z0-9_-]*$/, 'expected a declared principal, e.g. `user:dana`');

/** A CEL expression (compiled when the suite loads; errors point at it). */
const cel = z.string().min(1).max(4000);

/**
 * One state predicate: an optional probe (a declared read tool of the workspace, called with
 * `args` after the runs), and a CEL expression over `probe` (what it returned; `{}` when it failed
 * or there is none), `found` (whether it answered), `run` (the last run as Airlock recorded it:
 * `id`, `status`, `reason`, `incidents`) and `runs` (every run of the scenario, in order).
 */
export const predicateSchema = z.strictObject({
  name: z.string().min(1).max(200).optional().describe('What the predicate says, for the report (default: the expression).'),
  probe: toolName.optional().describe('A declared read tool of the workspace that reads ground truth after the runs.'),
  args: z.record(z.string(), z.unknown()).default({}).describe("The probe's arguments, as literal values."),
  expect: cel.describe('CEL over `probe`, `found`, `run` and `runs`; it must give a boolean.'),
});
export type PredicateSpec = z.infer<typeof predicateSchema>;

/** A person's scripted decision on an approval the scenario's run may meet (each vote counts as a human touch). */
export const humanSchema = z.strictObject({
  tool: toolName.describe('The tool whose approval this decides.'),
  args: z.record(z.string(), z.unknown()).optional().describe('Only an approval whose arguments hold these values (a subset, compared exactly).'),
  decide: z.enum(['approve', 'reject']),
  by: z.union([personRef, z.array(personRef).min(1).max(5)]).describe('Who decides: one person, or several in turn (step-up needs two).'),
  reason: z.string().min(1).max(500).optional().describe('The justification or the reason for a rejection (required where the workspace requires one).'),
});
export type HumanSpec = z.infer<typeof humanSchema>;

/** How one run is driven and who acts in it. */
const runFields = {
  workflow: name.optional().describe('The workflow (default: `defaults.workflow`).'),
  input: z.record(z.string(), z.unknown()).default({}).describe('The run input.'),
  onBehalfOf: onBehalfOf.optional().describe('The person the agent acts for (default: `defaults.onBehalfOf`).'),
  playbook: z.union([z.string().min(1), playbookSchema]).optional().describe('The scripted model: a playbook file (relative to this file) or one written inline.'),
  agent: z.string().min(1).max(2000).optional().describe('An external agent command instead (run with the door URLs and an API key in its environment).'),
  humans: z.array(humanSchema).max(50).default([]).describe('Scripted decisions for the approvals the run may meet, used in order.'),
};

/** A run before the scenario's own (it prepares state through the boundary, e.g. a planted comment). */
export const setupRunSchema = z.strictObject(runFields);
export type SetupRunSpec = z.infer<typeof setupRunSchema>;

/** One scenario: a task, who does it and how, and what the end state must (or must never) be. */
export const scenarioSchema = z.strictObject({
  id: scenarioId,
  kind: z.enum(['benign', 'adversarial']),
  title: z.string().min(1).max(200),
  risks: z.array(z.enum(RISK_IDS)).max(10).default([]).describe('The OWASP agentic risks (ASI01-ASI10) it covers.'),
  tags: z.array(z.string().min(1).max(60)).max(20).default([]).describe('Free labels (e.g. the failure classes it covers).'),
  goal: z.string().min(1).max(1000).optional().describe("Adversarial: the attacker's goal, in words."),
  ...runFields,
  before: z.array(setupRunSchema).max(5).default([]).describe('Runs before this one, in order (their state carries over).'),
  connectors: z
    .record(name, z.strictObject({ env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name'), z.string().max(1000)) }))
    .default({})
    .describe("Environment added to these stdio connectors in the scenario's copy only (fault injection)."),
  expectedState: z.array(predicateSchema).max(20).default([]).describe('Every predicate must hold after the runs (benign: required; adversarial: utility under attack).'),
  compromisedWhen: z.array(predicateSchema).max(20).default([]).describe('Adversarial: the attack succeeded if any of these holds after the runs.'),
});
export type ScenarioSpec = z.infer<typeof scenarioSchema>;

/** The gate: a suite run misses it when a rate falls below a minimum or rises above a maximum. */
export const thresholdsSchema = z.strictObject({
  utility: z.number().min(0).max(1).optional().describe('Minimum share of benign scenarios reaching their expected state.'),
  utilityUnderAttack: z.number().min(0).max(1).optional().describe('Minimum share of adversarial scenarios with an expected state that reach it.'),
  attackSuccess: z.number().min(0).max(1).optional().describe('Maximum share of adversarial scenarios whose attack succeeded.'),
  humanTouchesPerTask: z.number().min(0).max(1000).optional().describe('Maximum human decisions per scenario, on average.'),
});
export type Thresholds = z.infer<typeof thresholdsSchema>;

/** The suite file (`suite.yaml` in a suite folder, or a single file that also lists its scenarios). */
export const suiteSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'expected a lowercase name: letters, digits, `.`, `_` or `-`'),
  description: z.string().max(2000).optional(),
  workspace: z.string().min(1).optional().describe('The workspace folder, relative to this file (default: the nearest folder above holding airlock.yaml).'),
  defaults: z
    .strictObject({ workflow: name.optional(), onBehalfOf: onBehalfOf.optional(), agentTimeoutMs: z.number().int().min(1000).max(600_000).default(120_000) })
    .default({ agentTimeoutMs: 120_000 }),
  thresholds: thresholdsSchema.default({}),
  scenarios: z.array(scenarioSchema).max(500).default([]),
});
export type SuiteFile = z.infer<typeof suiteSchema>;

/** A file in a suite folder beside `suite.yaml`: scenarios only. */
export const scenarioFileSchema = z.strictObject({
  scenarios: z.array(scenarioSchema).min(1).max(500),
});
