// A workflow's `pilot` section: the baseline of the process it replaces (by hand, or a CSV of past
// cases), the thresholds its KPIs are held to each week, the evidence each autonomy step needs, and who
// signs off promotions and the pilot's decision. Shapes only (core).
import { z } from 'zod';
import { TIERS } from '../types.js';

const rate = z.number().min(0).max(1);
const userRef = z.string().regex(/^user:[a-z][a-z0-9_-]*$/, 'expected a declared person, `user:<id>`');

/** The current process, measured before the pilot: what the agent is compared with. */
export const baselineSchema = z.strictObject({
  timePerCaseMinutes: z.number().nonnegative().max(1_000_000).optional().describe('How long one case takes today, start to end, in minutes.'),
  errorRate: rate.optional().describe('Share of cases done wrong today (0 to 1).'),
  costPerCase: z.number().nonnegative().max(1_000_000_000).optional().describe('What one case costs today, in `currency`.'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR').optional(),
  escalationRate: rate.optional().describe('Share of cases that need someone more senior today (0 to 1).'),
  trustScore: z.number().min(1).max(5).optional().describe('Users\' trust in the current process, 1 to 5 (a survey).'),
  csv: z
    .string()
    .min(1)
    .optional()
    .describe('A CSV of past cases (relative to the workspace), one row per case, with any of the columns `minutes`, `error` (0/1 or true/false), `cost`, `escalated` (0/1), `trust` (1-5): each measure is their mean; a value given here wins.'),
});

/** A bound on one KPI: at least `min`, at most `max`. */
const bound = z
  .strictObject({ min: z.number().optional(), max: z.number().optional() })
  .refine((b) => b.min !== undefined || b.max !== undefined, 'give `min`, `max` or both');

/** The KPIs thresholds may bound (see pilot/kpis.ts for how each is measured). */
export const KPI_NAMES = ['runs', 'verifiedRate', 'unverifiedRate', 'errorRate', 'overrideRate', 'escalationRate', 'incidents', 'approvalWaitP90Minutes', 'latencyP50Minutes', 'latencyP90Minutes', 'costPerRun'] as const;
export type KpiName = (typeof KPI_NAMES)[number];

/** What one step up the autonomy tiers needs, measured over the runs of the evidence window. */
export const graduationStepSchema = z.strictObject({
  minRuns: z.number().int().min(1).max(1_000_000).default(200).describe('At least this many finished runs in the window.'),
  maxOverrideRate: rate.default(0.02).describe('People rejected or edited at most this share of the actions they decided.'),
  minVerifiedRate: rate.default(0.95).describe('At least this share of finished runs verified against ground truth.'),
  maxOpenIncidents: z.number().int().min(0).default(0).describe('Incidents of the workflow still open, at most.'),
  reversibleWrites: z.boolean().default(true).describe('Every write tool of the workflow has a compensation (can be rolled back).'),
  evalSuite: z.string().min(1).optional().describe('A scenario suite (`airlock eval`) whose latest recorded result must pass its thresholds.'),
  signOff: z.array(userRef).max(20).default([]).describe('The people who must each sign the promotion (`airlock autonomy WORKFLOW --sign --as USER`).'),
});

/** The `pilot` section of a workflow. */
export const pilotSchema = z.strictObject({
  group: z.array(z.string().regex(/^(user|agent|service):[a-z][a-z0-9_-]*$/, 'expected `kind:id`')).max(1000).default([]).describe('The pilot\'s user group: runs on behalf of anyone else are counted apart.'),
  baseline: baselineSchema.default({}),
  thresholds: z.partialRecord(z.enum(KPI_NAMES), bound).default({}).describe('Bounds the weekly KPIs are held to; a missed one is flagged in the report.'),
  evidenceDays: z.number().int().min(1).max(365).default(28).describe('How many days back the evidence for autonomy steps reaches.'),
  graduation: z
    .partialRecord(z.enum(TIERS), graduationStepSchema)
    .default({})
    .describe('The evidence needed to step up to each tier (key: the tier stepped up to).'),
  demoteOn: z
    .strictObject({
      incident: z.boolean().default(false).describe('A new incident of the workflow that shows it failing (verification, rollback, unknown outcome, repeated refusals, a succeeded attack; not a caught injection attempt) steps it down one tier at once.'),
      missedThresholds: z.boolean().default(false).describe('A week that missed a threshold steps it down one tier when its report is made.'),
    })
    .default({ incident: false, missedThresholds: false })
    .describe('Automatic demotion (both off by default): on a new failing incident, and when a weekly report shows a missed threshold.'),
  decisionSignOff: z.array(userRef).max(20).default([]).describe('Who must sign the pilot\'s decision (scale, redesign or stop).'),
});

export type PilotConfig = z.infer<typeof pilotSchema>;
export type BaselineConfig = z.infer<typeof baselineSchema>;
export type GraduationStep = z.infer<typeof graduationStepSchema>;
