// A workflow's pilot, read off the store: the weekly review and the autonomy judgement, each assembled
// from the facts (facts.ts) by the pure parts (kpis.ts, autonomy.ts, review.ts).
import { pilotSchema, type PilotConfig } from '../config/pilot-schema.js';
import type { WorkflowConfig, Workspace } from '../config/schema.js';
import { AirlockError } from '../errors.js';
import { MAX_RUN_IDS, type Store } from '../store/store.js';
import { TIERS, type Tier } from '../types.js';
import { judgeAutonomy, type AutonomyJudgement } from './autonomy.js';
import { readBaseline } from './baseline.js';
import { runFacts } from './facts.js';
import { computeKpis, type RunFact } from './kpis.js';
import { buildReview, type PilotDecision, type WeeklyReview } from './review.js';
import { weekOf, weeksBefore, type Week } from './week.js';

/** Weeks of trend a review shows (its own week last). */
export const TREND_WEEKS = 8;

/** What reading a pilot needs. */
export interface PilotDeps {
  readonly workspace: Workspace;
  readonly store: Store;
  readonly now: () => Date;
  /** The tier the workflow runs at now (its declared tier unless a demotion lowered it). */
  readonly tierOf?: (workflow: string) => Promise<Tier>;
  /** Who has signed the promotion of `workflow` to `tier` since its tier last changed. */
  readonly signaturesFor?: (workflow: string, tier: Tier) => Promise<readonly string[]>;
  /** The latest recorded result of an eval suite (by the path the pilot names), if any. */
  readonly evalResult?: (suite: string) => Promise<{ readonly passed: boolean; readonly at: string } | null>;
  /** The workflow's latest pilot decision, if any. */
  readonly decisionOf?: (workflow: string) => Promise<PilotDecision | null>;
}

/** The declared workflow `name` and its pilot section (defaults when it has none); `input` error for an undeclared one. */
export function pilotOf(workspace: Workspace, name: string): { workflow: WorkflowConfig; pilot: PilotConfig } {
  const workflow = workspace.workflows.get(name);
  if (!workflow) {
    throw new AirlockError('input', `no workflow \`${name}\` is declared`, { hint: `use one of: ${[...workspace.workflows.keys()].map((n) => `\`${n}\``).join(', ')}` });
  }
  return { workflow, pilot: workflow.pilot ?? pilotSchema.parse({}) };
}

/** The weekly review of `name` for `week` (default: the week holding now). */
export async function weeklyReview(deps: PilotDeps, name: string, week?: Week): Promise<WeeklyReview> {
  const { workflow, pilot } = pilotOf(deps.workspace, name);
  const now = deps.now();
  const w = week ?? weekOf(now);
  const weeks = weeksBefore(w, TREND_WEEKS);
  const baseline = readBaseline(deps.workspace.dir, pilot.baseline);
  const evidenceFrom = new Date(Math.min(Date.parse(weeks[0]?.from ?? w.from), now.getTime() - pilot.evidenceDays * 86_400_000)).toISOString();
  const { facts, truncated } = await runFacts(deps.store, name, evidenceFrom, new Date(Math.max(Date.parse(w.to), now.getTime() + 1)).toISOString());
  const openIncidents = await openIncidentsOf(deps.store, name);
  const autonomy = await judge(deps, workflow, pilot, facts, openIncidents.length);
  return buildReview({
    workflow: name,
    tier: autonomy.tier,
    pilot,
    baseline,
    week: w,
    weeks,
    facts,
    openIncidents,
    autonomy,
    decision: deps.decisionOf ? await deps.decisionOf(name) : null,
    generatedAt: now.toISOString(),
    truncated,
  });
}

/** The autonomy judgement of `name` now, over its evidence window. */
export async function autonomyOf(deps: PilotDeps, name: string): Promise<AutonomyJudgement> {
  const { workflow, pilot } = pilotOf(deps.workspace, name);
  const now = deps.now();
  const from = new Date(now.getTime() - pilot.evidenceDays * 86_400_000).toISOString();
  const { facts } = await runFacts(deps.store, name, from, new Date(now.getTime() + 1).toISOString());
  return judge(deps, workflow, pilot, facts, (await openIncidentsOf(deps.store, name)).length);
}

async function judge(deps: PilotDeps, workflow: WorkflowConfig, pilot: PilotConfig, facts: readonly RunFact[], openIncidents: number): Promise<AutonomyJudgement> {
  const now = deps.now();
  const tier = deps.tierOf ? await deps.tierOf(workflow.name) : workflow.tier;
  const next = TIERS[TIERS.indexOf(tier) + 1];
  const suite = next ? pilot.graduation[next]?.evalSuite : undefined;
  return judgeAutonomy({
    tier,
    declaredTier: workflow.tier,
    pilot,
    kpis: computeKpis(facts, new Date(now.getTime() - pilot.evidenceDays * 86_400_000).toISOString(), new Date(now.getTime() + 1).toISOString()),
    openIncidents,
    irreversibleWrites: workflow.tools.filter((t) => {
      const c = deps.workspace.tools.get(t);
      return c !== undefined && c.effect !== 'read' && c.compensation === undefined;
    }),
    evalResult: suite && deps.evalResult ? await deps.evalResult(suite) : null,
    signatures: next && deps.signaturesFor ? await deps.signaturesFor(workflow.name, next) : [],
  });
}

/** The open incidents of the workflow's runs, oldest first (their runs' workflows read a page at a time, never their states). */
async function openIncidentsOf(store: Store, workflow: string): Promise<WeeklyReview['openIncidents']> {
  const open = await store.listIncidents({ status: 'open' });
  const workflowOf = new Map<string, string>();
  const runIds = [...new Set(open.map((i) => i.runId))];
  for (let i = 0; i < runIds.length; i += MAX_RUN_IDS) {
    for (const r of await store.listRunSummaries({ ids: runIds.slice(i, i + MAX_RUN_IDS) })) workflowOf.set(r.id, r.workflow);
  }
  return open.filter((i) => workflowOf.get(i.runId) === workflow).map((i) => ({ id: i.id, kind: i.kind, title: i.title, openedAt: i.createdAt, runId: i.runId }));
}
