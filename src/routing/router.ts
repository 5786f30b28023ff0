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
import { CLASSIFICATIONS, RISKS, type Classification, type Labels, type Risk, type Tier } from '../types.js';
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
  /** Whether a rule on the proposal's risk chose it. */
  readonly byRisk: boolean;
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
  let byRisk = false;
  if (workflow.model === AUTO_ROUTE) {
    const i = file.routing.findIndex((r) => matches(r.when, workflow, labels, proposed));
    const rule = file.routing[i];
    if (!rule) {
      const risk = proposed ? `, a ${proposed.risk}-risk proposal` : '';
      return { chain: [], skipped: [], start: null, byRisk: false, none: `no routing rule matches workflow \`${workflow.name}\` (tier ${workflow.tier}, ${workflow.stepKind}${risk}) with ${labels.classification}, ${labels.trust} content read` };
    }
    start = rule.use;
    why = `routing rule ${i + 1}${describeWhen(rule.when)}`;
    byRisk = proposed !== null && rule.when.risk !== undefined;
    if (byRisk && proposed) why += `: the proposed \`${proposed.tool}\` is ${proposed.risk} risk`;
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
  return { chain, skipped, none: null, start, byRisk };
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
    const turn = await this.ask(planRoutes(this.file, this.workflow, labels), input, labels, []);
    // A proposal is made only by a route its own plan allows: otherwise it is set aside, and the
    // turn asked once more of the routes that plan allows (never the one set aside).
    const wrong = this.misplaced(turn, labels);
    if (!wrong) return turn;
    const aside = setAsideOf(turn, wrong);
    const chain = wrong.plan.chain.filter((c) => c.name !== aside.route.name);
    if (chain.length === 0 && wrong.plan.skipped.length === 0) {
      throw new TurnError(new AirlockError('policy', `\`${aside.tool}\` (${aside.risk} risk) is only \`${aside.route.name}\`'s to propose by the routing rules, yet it was set aside: no route is left for this turn`), [aside]);
    }
    const again = await this.ask({ ...wrong.plan, chain }, input, labels, [aside]);
    const still = this.misplaced(again, labels, aside.risk);
    if (still) {
      // Asked once more, the answer is again a proposal its route may not make: the turn is refused, not asked a third time.
      const r = (again.route as TurnRoute).name;
      const tool = still.proposed.tool;
      throw new TurnError(new AirlockError('policy', `route \`${r}\`, asked again after setting aside \`${aside.route.name}\`'s proposal, proposed \`${tool}\` (${still.proposed.risk} risk), which the routing rules give to \`${still.plan.start ?? '(none)'}\`: the turn is refused`), [aside, setAsideOf(again, still)]);
    }
    return { ...again, setAside: [aside] };
  }

  /**
   * When `turn` proposes a call its route may not make, the plan that proposal should come from
   * (its chain the routes allowed to make it); null when it stands. A plan chosen by a `risk` rule
   * allows its route and those of its fallbacks that no other rule uses for everyday turns: "if the
   * strong model is down, use the small one" never lets the small one make the risky proposal. A
   * route asked because of a proposal of risk `trusted` may propose anything no riskier.
   */
  private misplaced(turn: ModelTurn, labels: Labels, trusted?: Risk): { plan: RoutePlan; proposed: Proposed } | null {
    if (this.workflow.model !== AUTO_ROUTE || turn.kind !== 'tool_call') return null;
    const risk = this.workflow.toolRisk.get(turn.tool);
    if (risk === undefined) return null; // not a tool it may call: the gateway refuses it
    if (trusted !== undefined && RISKS.indexOf(risk) <= RISKS.indexOf(trusted)) return null;
    const proposed = { tool: turn.tool, risk };
    const plan = planRoutes(this.file, this.workflow, labels, proposed);
    const everyday = new Set(this.file.routing.filter((r) => !r.when.risk).map((r) => r.use));
    const chain = plan.byRisk ? plan.chain.filter((c) => c.name === plan.start || !everyday.has(c.name)) : plan.chain;
    return chain.some((c) => c.name === turn.route?.name) ? null : { plan: { ...plan, chain }, proposed };
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
        // Whatever else went wrong, the answers set aside before it travel with it (their usage is spent).
        if (!(e instanceof AirlockError)) throw new TurnError(new AirlockError('internal', `model route \`${step.name}\` failed unexpectedly: ${e instanceof Error ? e.message : String(e)}`), setAside);
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

/** A turn's answer as set aside: its route and usage (spent), what it proposed, and where that belongs. */
function setAsideOf(turn: ModelTurn, wrong: { plan: RoutePlan; proposed: Proposed }): SetAsideAnswer {
  return { route: turn.route as TurnRoute, usage: turn.usage, tool: wrong.proposed.tool, risk: wrong.proposed.risk, to: wrong.plan.start ?? '(none)' };
}
