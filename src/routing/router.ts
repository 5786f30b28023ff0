// Which declared route takes a turn of Airlock's own loop. The plan (pure) starts from the route the
// workflow names, or from the first `routing` rule that matches the workflow's tier and what the run
// has read; then that route's fallbacks. A route whose clearance is below the most sensitive content
// the run has read is never sent the conversation: it is skipped, and a turn no route may take is
// refused (the runner ends the run and records why). The routed model tries the plan in order,
// falling back when a provider fails after its own retries, and says which route answered and why.
import { AirlockError } from '../errors.js';
import type { ModelRoute, StepKind, WorkspaceFile } from '../config/schema.js';
import { CLASSIFICATIONS, type Classification, type Labels, type Risk, type Tier } from '../types.js';
import type { Model, ModelInput, ModelTurn } from '../orchestration/model.js';
import { AUTO_ROUTE } from '../config/route-checks.js';

/** The routes a turn may go to, in order, and those it may not because of what the run has read. */
export interface RoutePlan {
  readonly chain: readonly { readonly name: string; readonly why: string }[];
  readonly skipped: readonly { readonly name: string; readonly clearance: Classification }[];
  /** Why no route is planned at all (no rule matched), or null. */
  readonly none: string | null;
}

const MAX_CHAIN = 8;

/** The plan for one turn (pure). */
/** What routing rules match on: the workflow (its name, tier, kind of work, the risk of its riskiest tool) and what the run has read. */
export interface RoutedWorkflow {
  readonly name: string;
  readonly model: string;
  readonly tier: Tier;
  readonly stepKind: StepKind;
  readonly risk: Risk;
}

export function planRoutes(file: Pick<WorkspaceFile, 'models' | 'routing'>, workflow: RoutedWorkflow, labels: Labels): RoutePlan {
  let start: string;
  let why: string;
  if (workflow.model === AUTO_ROUTE) {
    const i = file.routing.findIndex((r) => matches(r.when, workflow, labels));
    const rule = file.routing[i];
    if (!rule) return { chain: [], skipped: [], none: `no routing rule matches workflow \`${workflow.name}\` (tier ${workflow.tier}, ${workflow.stepKind}, ${workflow.risk} risk) with ${labels.classification}, ${labels.trust} content read` };
    start = rule.use;
    why = `routing rule ${i + 1}${describeWhen(rule.when)}`;
  } else {
    start = workflow.model;
    why = 'the workflow names it';
  }
  // The start, then its fallbacks, then theirs: each route once, at most MAX_CHAIN.
  const order: { name: string; why: string }[] = [];
  const queue: { name: string; why: string }[] = [{ name: start, why }];
  while (queue.length > 0 && order.length < MAX_CHAIN) {
    const next = queue.shift() as { name: string; why: string };
    const route: ModelRoute | undefined = file.models[next.name];
    if (!route || order.some((o) => o.name === next.name)) continue;
    order.push(next);
    queue.push(...route.fallback.map((f) => ({ name: f, why: `fallback of \`${next.name}\`` })));
  }
  const rank = (c: Classification) => CLASSIFICATIONS.indexOf(c);
  const chain: { name: string; why: string }[] = [];
  const skipped: { name: string; clearance: Classification }[] = [];
  for (const o of order) {
    const clearance = (file.models[o.name] as ModelRoute).clearance;
    if (rank(clearance) >= rank(labels.classification)) chain.push(o);
    else skipped.push({ name: o.name, clearance });
  }
  return { chain, skipped, none: null };
}

function matches(when: WorkspaceFile['routing'][number]['when'], wf: RoutedWorkflow, labels: Labels): boolean {
  return (
    (!when.workflow || when.workflow.includes(wf.name)) &&
    (!when.tier || when.tier.includes(wf.tier)) &&
    (!when.stepKind || when.stepKind.includes(wf.stepKind)) &&
    (!when.risk || when.risk.includes(wf.risk)) &&
    (!when.classification || when.classification.includes(labels.classification)) &&
    (!when.trust || when.trust.includes(labels.trust))
  );
}

function describeWhen(when: WorkspaceFile['routing'][number]['when']): string {
  const parts = [
    when.workflow && `workflow ${when.workflow.join('/')}`,
    when.tier && `tier ${when.tier.join('/')}`,
    when.stepKind && `${when.stepKind.join('/')} work`,
    when.risk && `${when.risk.join('/')} risk`,
    when.classification && `${when.classification.join('/')} content`,
    when.trust && `${when.trust.join('/')} content`,
  ].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(', ')})` : ' (default)';
}

/** Why a turn went nowhere: the clearance of every route it could have taken. */
export function refusalReason(plan: RoutePlan, labels: Labels): string {
  if (plan.none) return plan.none;
  const routes = plan.skipped.map((s) => `\`${s.name}\` (clearance ${s.clearance})`).join(', ');
  return `the run has read ${labels.classification} content, and no model route it may use is cleared for it: ${routes}`;
}

/** A model that is the workspace's routes: each turn goes to the first route of the plan that answers. */
export class RoutedModel implements Model {
  readonly provider: string;
  readonly model: string;
  private readonly built = new Map<string, Model>();

  constructor(
    private readonly file: Pick<WorkspaceFile, 'models' | 'routing'>,
    private readonly workflow: RoutedWorkflow,
    private readonly build: (route: string) => Model,
  ) {
    // Before any turn, telemetry names what the workflow asked for; each turn says which route answered.
    const first = workflow.model === AUTO_ROUTE ? undefined : this.modelOf(workflow.model);
    this.provider = first?.provider ?? 'airlock-router';
    this.model = first?.model ?? AUTO_ROUTE;
  }

  async next(input: ModelInput): Promise<ModelTurn> {
    const labels = input.labels ?? { classification: 'public', trust: 'trusted' };
    const plan = planRoutes(this.file, this.workflow, labels);
    // INVARIANT: content above a route's clearance never leaves through it.
    if (plan.chain.length === 0) throw new AirlockError('policy', refusalReason(plan, labels), { hint: 'declare a route cleared for it (`clearance:`), or keep such content out of this workflow' });
    const failed: string[] = [];
    let last: unknown;
    for (const step of plan.chain) {
      const model = this.modelOf(step.name);
      try {
        const turn = await model.next(input);
        const skipped = plan.skipped.map((s) => `skipped \`${s.name}\` (clearance ${s.clearance})`);
        const why = [step.why, ...failed.map((f) => `after ${f}`), ...skipped].join('; ');
        return { ...turn, route: { name: step.name, provider: model.provider, model: model.model, price: model.price, why } };
      } catch (e) {
        if (!(e instanceof AirlockError) || (e.code !== 'connector' && e.code !== 'connector-timeout')) throw e;
        failed.push(`\`${step.name}\` failed`);
        last = e;
      }
    }
    const e = last as AirlockError;
    throw new AirlockError(e.code, plan.chain.length > 1 ? `every route failed (${plan.chain.map((c) => `\`${c.name}\``).join(', ')}); the last: ${e.message}` : e.message, { hint: e.hint, retryable: e.retryable });
  }

  /** Builds route `name` now (its key read, its playbook parsed), so a broken route fails before a run starts. */
  prepare(name: string): void {
    this.modelOf(name);
  }

  private modelOf(name: string): Model {
    let m = this.built.get(name);
    if (!m) {
      m = this.build(name);
      this.built.set(name, m);
    }
    return m;
  }
}
