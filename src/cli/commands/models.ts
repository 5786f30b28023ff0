// `airlock models test ROUTE [--json]`: one probe turn to one declared model route, with one harmless
// tool, to see that it answers, how fast, whether its tool calling works, and what the turn cost.
// Not a run: nothing goes to the store or the audit trail, and only the probed route's key is read.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { loadWorkspace } from '../../config/load.js';
import { contractAjv } from '../../config/contract-schema.js';
import type { ModelRoute } from '../../config/schema.js';
import { AirlockError } from '../../errors.js';
import { costMicros, type ModelInput, type ModelPrice, type ModelTurn, type ModelUsage, type ToolView } from '../../orchestration/model.js';
import { buildRoute } from '../../routing/route.js';
import type { JsonObject } from '../../types.js';
import { bold, dim, green, money, oneLine, red, yellow } from '../render.js';
import type { WorkspaceCommandHelpers } from './open-workspace.js';

/** The one tool the probe offers: it does nothing, and is never executed. */
export const PROBE_TOOL: ToolView = {
  name: 'airlock.probe_echo',
  description: 'Echoes the text it is given. It has no effect; it only shows that tool calls work.',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false },
};

/** Whether tool calling works: the probe tool called with valid arguments carrying the nonce, a tool call that is off, or none. */
export type ToolCalling = 'yes' | 'partly' | 'no';

/** What a probe found: `airlock models test --json` prints exactly this. */
export interface ProbeReport {
  readonly route: string;
  readonly kind: ModelRoute['kind'];
  readonly provider: string;
  readonly model: string;
  /** A scripted route replays its playbook: its answer says nothing about a network model. */
  readonly scripted: boolean;
  readonly latencyMs: number;
  readonly nonce: string;
  readonly toolCalling: ToolCalling;
  /** What the answer was, in a line. */
  readonly detail: string;
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
  /** From the route's price table, in `currency`; null when the route has no price (unpriced) or reported no tokens. */
  readonly cost: number | null;
  readonly currency: string | null;
  readonly priceVersion: string | null;
}

/** The probe's one turn: the probe tool, and a task asking for one call of it with `nonce`. */
export function probeInput(nonce: string): ModelInput {
  return {
    workflow: 'airlock.models-test',
    input: {
      task: `This is a connectivity probe. Call the probe echo tool (the only tool offered) once, with \`text\` set to exactly: ${nonce}`,
    },
    tools: [PROBE_TOOL],
    history: [],
  };
}

const validateProbeArgs = contractAjv({ strict: false }).compile(PROBE_TOOL.inputSchema as object);

/** How the answer bears on tool calling (pure): `yes` only for the probe tool, valid arguments and the nonce. */
export function probeVerdict(turn: ModelTurn, nonce: string): { toolCalling: ToolCalling; detail: string } {
  if (turn.kind === 'tool_call') {
    const args = oneLine(JSON.stringify(turn.args)).slice(0, 200);
    if (turn.tool !== PROBE_TOOL.name) return { toolCalling: 'partly', detail: `called \`${oneLine(turn.tool)}\`, not the probe tool \`${PROBE_TOOL.name}\`, with ${args}` };
    if (validateProbeArgs(turn.args) !== true) {
      const problems = (validateProbeArgs.errors ?? []).map((e) => `${e.instancePath || 'arguments'} ${e.message ?? 'invalid'}`).join('; ');
      return { toolCalling: 'partly', detail: `called the probe tool with arguments that do not fit its schema (${problems}): ${args}` };
    }
    if ((turn.args as JsonObject)['text'] !== nonce) return { toolCalling: 'partly', detail: `called the probe tool, but \`text\` is not the nonce: ${args}` };
    return { toolCalling: 'yes', detail: `called the probe tool with the nonce` };
  }
  if (turn.kind === 'final') return { toolCalling: 'no', detail: `answered with text and no tool call (${turn.claim}): “${oneLine(turn.text).slice(0, 120)}”` };
  // A reply that could not be used (cut off, refused, empty, arguments that are not JSON).
  const why = `${turn.problem}: ${oneLine(turn.detail)}`;
  if (turn.tool) return { toolCalling: 'partly', detail: `tried to call \`${oneLine(turn.tool)}\`, but the reply could not be used (${why})` };
  return { toolCalling: 'no', detail: `a reply that could not be used (${why})` };
}

/** The turn's cost from a price table: the arithmetic of a run's `model.called` records (micro-units of the currency, rounded). */
export function probeCost(price: ModelPrice | undefined, usage: ModelUsage | undefined): Pick<ProbeReport, 'cost' | 'currency' | 'priceVersion'> {
  const micros = costMicros(usage, price);
  if (micros === null || !price) return { cost: null, currency: null, priceVersion: price?.version ?? null };
  return { cost: micros / 1_000_000, currency: price.currency, priceVersion: price.version };
}

/**
 * Probes route `name` of the workspace in `dir`: builds that route alone (its key only), sends one
 * turn, and reports. Throws `AirlockError` `input` for an undeclared route (exit 2), and the
 * provider's error when the route fails (after its own retries; exit 1).
 */
export async function probeRoute(dir: string, name: string, nonce: string = `probe-${randomBytes(4).toString('hex')}`): Promise<ProbeReport> {
  const workspace = await loadWorkspace(dir);
  const route = workspace.file.models[name];
  if (!route) {
    const declared = Object.keys(workspace.file.models);
    throw new AirlockError('input', `model route \`${name}\` is not declared`, {
      hint: declared.length > 0 ? `declared routes: ${declared.map((r) => `\`${r}\``).join(', ')}` : 'the workspace declares no model routes: add them under `models:` in airlock.yaml',
    });
  }
  const model = buildRoute(workspace, name);
  const started = performance.now();
  let turn: ModelTurn;
  try {
    turn = await model.next(probeInput(nonce));
  } catch (e) {
    if (e instanceof AirlockError) throw e;
    throw new AirlockError('connector', `model route \`${name}\` failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const latencyMs = Math.round(performance.now() - started);
  return {
    route: name,
    kind: route.kind,
    provider: model.provider,
    model: route.kind === 'scripted' ? route.playbook : model.model,
    scripted: route.kind === 'scripted',
    latencyMs,
    nonce,
    ...probeVerdict(turn, nonce),
    inputTokens: turn.usage?.inputTokens ?? null,
    outputTokens: turn.usage?.outputTokens ?? null,
    ...probeCost(model.price, turn.usage),
  };
}

const PAINT: Record<ToolCalling, (s: string) => string> = { yes: green, partly: yellow, no: red };

/** The report as lines: the route, the answer, tokens and cost. */
export function renderProbe(r: ProbeReport): string[] {
  const tokens = r.inputTokens === null && r.outputTokens === null ? dim('not reported') : `${r.inputTokens ?? '?'} in / ${r.outputTokens ?? '?'} out`;
  const cost =
    r.cost !== null ? `${money(r.cost, r.currency)} ${dim(`(price ${r.priceVersion ?? '?'})`)}` : r.priceVersion !== null ? dim(`unknown: no tokens reported (price ${r.priceVersion})`) : dim('unpriced');
  const lines = [
    `${bold('model route')} ${r.route}: answered in ${r.latencyMs} ms`,
    `  provider  ${r.provider}, model ${r.model} ${dim(`(${r.kind})`)}`,
    `  tools     ${PAINT[r.toolCalling](r.toolCalling)}: ${r.detail}`,
    `  tokens    ${tokens}`,
    `  cost      ${cost}`,
  ];
  if (r.scripted) lines.push(`  note      ${yellow('scripted')}: it replays its playbook (no network model), so the answer is the playbook's, not a model's`);
  return lines;
}

/** Adds `models test <route> [--json]`. Exit 0 when the route answered (whatever its tool calling), 1 when it failed, 2 for bad input. */
export function registerModelsCommand(program: Command, helpers: WorkspaceCommandHelpers): Command {
  const { out } = helpers;
  const models = program.command('models').description('the model routes of Airlock\'s own loop (`models test ROUTE`)');
  models
    .command('test <route>')
    .description('send one probe turn to a declared route (no fallbacks): latency, tool calling, tokens, cost; nothing is recorded')
    .option('--json', 'the report as one JSON object')
    .action(async (name: string, o: { json?: boolean }) => {
      const report = await probeRoute(helpers.workspaceDir(), name);
      if (o.json) out(JSON.stringify(report, null, 2));
      else for (const line of renderProbe(report)) out(line);
    });
  return models;
}
