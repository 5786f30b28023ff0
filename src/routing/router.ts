// Which declared route takes a turn of Airlock's own loop. The plan (pure) starts from the route the
// workflow names, or from the first `routing` rule that matches the workflow's tier and what the run
// has read; then that route's fallbacks. A route whose clearance is below the most sensitive content
// the run has read is never sent the conversation: it is skipped, and a turn no route may take is
// refused (the runner ends the run and records why). The routed model tries the plan in order,
// falling back when a provider fails after its own retries, and says which route answered and why.
//
// Rules with `risk` match the risk of the action a turn proposes. A turn is routed before its
// proposal exists, so the first plan passes over them; when the answer proposes a call whose risk
// plans a different route, the proposal is set aside (never shown to the gateway) and that route is
// asked the same turn, once. Its answer stands, and the set-aside answer is on record with its usage.
import { AirlockError } from '../errors.js';
import type { ModelRoute, StepKind, WorkspaceFile } from '../config/schema.js';
import { CLASSIFICATIONS, type Classification, type Labels, type Risk, type Tier } from '../types.js';
import { TurnError, type Model, type ModelInput, type ModelTurn, type SetAsideAnswer, type TurnRoute } from '../orchestration/model.js';
import { AUTO_ROUTE } from '../config/route-checks.js';

/** The routes a turn may go to, in order, and those it may not because of what the run has read. */
export interface RoutePlan {
  readonly chain: readonly { readonly name: string; readonly why: string }[];
  readonly skipped: readonly { readonly name: string; readonly clearance: Classification }[];
  /** Why no route is planned at all (no rule matched), or null. */
  readonly none: string | null;
  /** The route the plan starts from (before clearance), or null when none is planned. */
  readonly start: string | null;
}

const MAX_CHAIN = 8;

/** What routing rules match on besides what the run has read: the workflow (its name, tier, kind of work) and the risk of each tool it may call. */
export interface RoutedWorkflow {
  readonly name: string;
  readonly model: string;
  readonly tier: Tier;
  readonly stepKind: StepKind;
  /** The risk of each tool the workflow may call, as the gateway judges it (irreversible effects raised). */
  readonly toolRisk: ReadonlyMap<string, Risk>;
}

/** A proposal the plan is for: its tool and that tool's risk. */
export interface Proposed {
  readonly tool: string;
  readonly risk: Risk;
}

/** The plan for one turn (pure): before the model answers (`proposed` null), or for the call it proposed. */
export function planRoutes(file: Pick<WorkspaceFile, 'models' | 'routing'>, workflow: RoutedWorkflow, labels: Labels, proposed: Proposed | null = null): RoutePlan {
  let start: string;
  let why: string;
  if (workflow.model === AUTO_ROUTE) {
    const i = file.routing.findIndex((r) => matches(r.when, workflow, labels, proposed));
    const rule = file.routing[i];
    if (!rule) {
      const risk = proposed ? `, a ${proposed.risk}-risk proposal` : '';
      return { chain: [], skipped: [], start: null, none: `no routing rule matches workflow \`${workflow.name}\` (tier ${workflow.tier}, ${workflow.stepKind}${risk}) with ${labels.classification}, ${labels.trust} content read` };
    }
    start = rule.use;
    why = `routing rule ${i + 1}${describeWhen(rule.when)}`;
    if (proposed && rule.when.risk) why += `: the proposed \`${proposed.tool}\` is ${proposed.risk} risk`;
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
  return { chain, skipped, none: null, start };
}

function matches(when: WorkspaceFile['routing'][number]['when'], wf: RoutedWorkflow, labels: Labels, proposed: Proposed | null): boolean {
  return (
    (!when.workflow || when.workflow.includes(wf.name)) &&
    (!when.tier || when.tier.includes(wf.tier)) &&
    (!when.stepKind || when.stepKind.includes(wf.stepKind)) &&
    // A risk rule needs a proposal: before the model answers, no turn has a risk.
    (!when.risk || (proposed !== null && when.risk.includes(proposed.risk))) &&
    (!when.classification || when.classification.includes(labels.classification)) &&
    (!when.trust || when.trust.includes(labels.trust))
  );
}

function describeWhen(when: WorkspaceFile['routing'][number]['when']): string {
  const parts = [
    when.workflow && `workflow ${when.workflow.join('/')}`,
    when.tier && `tier ${when.tier.join('/')}`,
    when.stepKind && `${when.stepKind.join('/')} work`,
    when.risk && `${when.risk.join('/')}-risk proposal`,
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
    const turn = await this.ask(plan, input, labels, []);
    // A proposal whose risk plans another route is that route's to make: asked once, never again.
    const risk = turn.kind === 'tool_call' ? this.workflow.toolRisk.get(turn.tool) : undefined;
    if (turn.kind !== 'tool_call' || risk === undefined) return turn;
    const proposed = { tool: turn.tool, risk };
    const second = planRoutes(this.file, this.workflow, labels, proposed);
    if (second.start === plan.start) return turn;
    const route = turn.route as TurnRoute;
    const setAside: SetAsideAnswer = { route, usage: turn.usage, tool: turn.tool, risk, to: second.start ?? '(none)' };
    return { ...(await this.ask(second, input, labels, [setAside])), setAside: [setAside] };
  }

  /** The first route of `plan` that answers; a turn it cannot place throws a `TurnError` carrying what was set aside before it. */
  private async ask(plan: RoutePlan, input: ModelInput, labels: Labels, setAside: readonly SetAsideAnswer[]): Promise<ModelTurn> {
    // INVARIANT: content above a route's clearance never leaves through it.
    if (plan.chain.length === 0) {
      throw new TurnError(new AirlockError('policy', refusalReason(plan, labels), { hint: 'declare a route cleared for it (`clearance:`), or keep such content out of this workflow' }), setAside);
    }
    const failed: string[] = [];
    let last: unknown;
    for (const step of plan.chain) {
      const model = this.modelOf(step.name);
      try {
        const turn = await model.next(input);
        const skipped = plan.skipped.map((s) => `skipped \`${s.name}\` (clearance ${s.clearance})`);
        const proposedBy = setAside.map((s) => `set aside \`${s.route.name}\`'s proposal`);
        const why = [step.why, ...proposedBy, ...failed.map((f) => `after ${f}`), ...skipped].join('; ');
        return { ...turn, route: { name: step.name, provider: model.provider, model: model.model, price: model.price, why } };
      } catch (e) {
        if (!(e instanceof AirlockError)) throw e;
        if (e.code !== 'connector' && e.code !== 'connector-timeout') throw new TurnError(e, setAside);
        failed.push(`\`${step.name}\` failed`);
        last = e;
      }
    }
    const e = last as AirlockError;
    const all = new AirlockError(e.code, plan.chain.length > 1 ? `every route failed (${plan.chain.map((c) => `\`${c.name}\``).join(', ')}); the last: ${e.message}` : e.message, { hint: e.hint, retryable: e.retryable });
    throw new TurnError(all, setAside);
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
