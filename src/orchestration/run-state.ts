// A run's state as it is stored: typed by who drives it (Airlock's model, an external agent, a
// rollback), parsed with zod when it is loaded (a stored row is a trust boundary), with a schema
// version and the upgrade of rows written by earlier versions. Each state is parsed once per stored
// version: what a process saved itself, it does not parse again.
import { z } from 'zod';
import { AirlockError } from '../errors.js';
import type { RunRecord, RunSaveExtras, Store } from '../store/store.js';
import { CLASSIFICATIONS, TRUST, type Json, type RunStatus } from '../types.js';
import type { AuditItem, AuditSubject, AuditWriter } from '../audit/writer.js';
import { dailyScopes, exhaustedDaily, type RunState } from './run-machine.js';
import type { Budgets } from '../config/schema.js';
import type { HistoryItem } from './model.js';

/** The doors through which an external agent drives a run. */
export const EXTERNAL_DOORS = ['mcp-http', 'mcp-stdio', 'http-api', 'sdk'] as const;

/** The version of the stored state this code writes. 1: no `driver`, no `toolCalls` (upgraded on load). */
export const RUN_STATE_VERSION = 2;

const json = z.json();
const jsonObject = z.record(z.string(), json);
const status = z.enum(['ok', 'denied', 'invalid', 'suggested', 'rejected', 'expired', 'failed', 'pending']);
const historyItem = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tool_call'), id: z.string(), tool: z.string(), args: jsonObject, reasoning: z.string().optional() }),
  z.object({ kind: z.literal('tool_result'), id: z.string(), tool: z.string(), status, content: json, source: z.object({ classification: z.enum(CLASSIFICATIONS), trust: z.enum(TRUST) }).optional() }),
  z.object({ kind: z.literal('final'), text: z.string(), claim: z.enum(['done', 'gave-up']) }),
  z.object({ kind: z.literal('notice'), text: z.string() }),
]);

const base = {
  schema: z.literal(RUN_STATE_VERSION),
  workflow: z.string(),
  input: jsonObject,
  agent: z.string(),
  onBehalfOf: z.string().nullable(),
  labels: z.object({ classification: z.enum(CLASSIFICATIONS), trust: z.enum(TRUST) }),
  seen: z
    .object({
      sources: z.array(z.string()),
      values: z.record(z.string(), z.tuple([z.array(z.number().int().nonnegative()), z.array(z.number().int().nonnegative())])),
      dropped: z.number().int().nonnegative(),
    })
    .optional(),
  history: z.array(historyItem),
  steps: z.number().int().nonnegative(),
  activeMs: z.number().nonnegative(),
  toolCalls: z.number().int().nonnegative(),
  // Rows written before model usage was counted have none: zero.
  usage: z
    .object({
      modelCalls: z.number().int().nonnegative(),
      inputTokens: z.number().int().nonnegative(),
      outputTokens: z.number().int().nonnegative(),
      costMicros: z.number().int().nonnegative(),
      currency: z.string().nullable(),
    })
    .default({ modelCalls: 0, inputTokens: 0, outputTokens: 0, costMicros: 0, currency: null }),
  pending: z.object({ approvalId: z.string(), callId: z.string(), tool: z.string(), args: jsonObject }).nullable(),
  inFlight: z.object({ callId: z.string(), tool: z.string() }).nullable(),
  verifications: z.array(z.object({ callId: z.string(), tool: z.string(), status: z.enum(['passed', 'failed', 'error']) })),
  final: z.object({ text: z.string(), claim: z.enum(['done', 'gave-up']) }).nullable(),
  reason: z.string().nullable(),
  halt: z.object({ id: z.string() }).optional(),
  // Rows written before runs kept their trace have none: a later segment starts a trace of its own.
  trace: z.object({ traceparent: z.string().regex(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/) }).optional(),
};

/** The stored state of a run, by driver. */
export const runStateSchema = z.discriminatedUnion('driver', [
  z.object({ ...base, driver: z.literal('model'), door: z.undefined().optional() }),
  z.object({ ...base, driver: z.literal('agent'), door: z.enum(EXTERNAL_DOORS), instance: z.string().optional() }),
  z.object({
    ...base,
    driver: z.literal('rollback'),
    door: z.literal('rollback'),
    rollback: z.object({
      of: z.string(),
      attempt: z.number().int().positive(),
      requestedBy: z.string(),
      lease: z.object({ holder: z.string(), until: z.string() }).nullable().optional(),
    }),
  }),
]);

/**
 * A stored state as this version writes it: a version-1 row gets its `driver` (from its door) and
 * its `toolCalls` counter (from its history, which was complete then except for long external runs,
 * whose counter then starts at what the history still shows). Anything else passes through unchanged.
 */
export function upgradeRunState(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const s = raw as Record<string, unknown>;
  if (s['schema'] !== 1) return raw;
  const door = s['door'];
  const history = Array.isArray(s['history']) ? (s['history'] as { kind?: unknown }[]) : [];
  return {
    ...s,
    schema: RUN_STATE_VERSION,
    driver: door === 'rollback' ? 'rollback' : typeof door === 'string' ? 'agent' : 'model',
    toolCalls: typeof s['toolCalls'] === 'number' ? s['toolCalls'] : history.filter((h) => h?.kind === 'tool_call').length,
  };
}

/** States known valid by (run id, version): the ones this process saved or already parsed. */
const known = new Map<string, RunState>();
const KNOWN_MAX = 4096;

/** Remembers that `run` (as saved by this process) holds `state`, so loading it again parses nothing. */
export function rememberRunState(run: Pick<RunRecord, 'id' | 'version'>, state: RunState): void {
  if (known.size >= KNOWN_MAX) known.delete(known.keys().next().value as string);
  known.set(`${run.id}@${run.version}`, state);
}

/**
 * The typed state of a stored run. Parsed (and upgraded) once per stored version: a compare-and-set
 * store writes each version of a run once, so a version this process saved or parsed before is the
 * same state. A row that does not parse is `store-corrupt`, naming the run and the field.
 */
export function runStateOf(run: Pick<RunRecord, 'id' | 'version' | 'state'>): RunState {
  const key = `${run.id}@${run.version}`;
  const cached = known.get(key);
  if (cached) return cached;
  const parsed = runStateSchema.safeParse(upgradeRunState(run.state));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AirlockError('store-corrupt', `the stored state of run \`${run.id}\` is invalid at \`${issue?.path.join('.') || '(root)'}\`: ${issue?.message ?? 'unreadable'}`, {
      hint: 'the store was edited outside Airlock, or written by a newer version; restore it from a backup or upgrade Airlock',
    });
  }
  const state = parsed.data as unknown as RunState;
  rememberRunState(run, state);
  return state;
}

/** What saving a run's state needs: the trail's writer (which commits the save with its records). */
export interface RunSaveDeps {
  readonly audit: AuditWriter;
  readonly now: () => Date;
}

/**
 * The one way a run's state is saved, whoever drives it: a compare-and-set on the version `prev` was
 * read at, committed together with the records that say what changed (`items`; none for a plain
 * step) and the steps it appends beside the run, or not at all (`conflict` when another writer moved
 * the run on). Returns the saved run.
 */
export async function saveRunState(
  deps: RunSaveDeps,
  prev: RunRecord,
  change: { readonly status: RunStatus; readonly state: RunState },
  records: { readonly subject: AuditSubject; readonly items: readonly AuditItem[] } | null = null,
  extras: RunSaveExtras = {},
): Promise<RunRecord> {
  const next: RunRecord = { ...prev, status: change.status, version: prev.version + 1, updatedAt: deps.now().toISOString(), state: change.state as unknown as Json };
  await deps.audit.commitRun(next, records?.subject ?? null, records?.items ?? [], extras);
  rememberRunState(next, change.state);
  return next;
}

/**
 * The daily budget of the workflow or of the run's principal that today's use has reached, or null;
 * one store read, and only when the workflow has daily budgets. The runner asks before each model
 * turn, sessions before each external call.
 */
export async function dailyBudgetReached(store: Pick<Store, 'usageSince'>, now: Date, state: RunState, budgets: Budgets): Promise<string | null> {
  if (!budgets.perDay && !budgets.perPrincipalPerDay) return null;
  const scopes = dailyScopes(state);
  return exhaustedDaily(state, budgets, await store.usageSince(now.toISOString().slice(0, 10), [scopes.workflow, scopes.principal]));
}

/**
 * A run's whole history: what its state holds (a model-driven run, which hands it to the model) then
 * the steps kept beside it (an external agent's calls, appended one row each). A stored step is a
 * trust boundary too: one that does not parse is `store-corrupt`, naming the run and the step.
 */
export async function runHistory(store: Pick<Store, 'listRunSteps'>, run: Pick<RunRecord, 'id' | 'version' | 'state'>): Promise<readonly HistoryItem[]> {
  const state = runStateOf(run);
  // Two rows per call at most: the call and its result.
  const steps = state.toolCalls > 0 ? await store.listRunSteps(run.id, { limit: 2 * state.toolCalls }) : [];
  const kept = steps.map((step) => {
    const parsed = historyItem.safeParse(step.item);
    if (!parsed.success) throw new AirlockError('store-corrupt', `step ${step.n} of run \`${run.id}\` is invalid: ${parsed.error.issues[0]?.message ?? 'unreadable'}`);
    return parsed.data as HistoryItem;
  });
  return [...state.history, ...kept];
}
