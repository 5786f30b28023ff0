// The deterministic scripted model: follows a YAML playbook, no network. It also plays the hijacked
// model: an `obey: injections` step proposes whatever AGENT-INSTRUCTION lines it has read.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { AirlockError } from '../../errors.js';
import type { Json, JsonObject } from '../../types.js';
import type { HistoryItem, Model, ModelInput, ModelTurn } from '../../orchestration/model.js';
import { resolveTemplate } from '../../util/template.js';

const stepSchema = z.union([
  z.strictObject({ call: z.string().min(1), args: z.record(z.string(), z.unknown()).default({}), reasoning: z.string().optional() }),
  z.strictObject({ obey: z.literal('injections'), reasoning: z.string().optional() }),
  z.strictObject({ final: z.string().min(1), claim: z.enum(['done', 'gave-up']).default('done') }),
]);

export const playbookSchema = z.strictObject({
  description: z.string().optional(),
  steps: z.array(stepSchema),
});
export type Playbook = z.infer<typeof playbookSchema>;

/** Parses a playbook file; errors name the file and the step. */
export function loadPlaybook(file: string): Playbook {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AirlockError('config', `cannot read playbook: ${err instanceof Error ? err.message : String(err)}`, {
      location: { file },
    });
  }
  const res = playbookSchema.safeParse(raw);
  if (!res.success) {
    const issue = res.error.issues[0];
    throw new AirlockError('config', `invalid playbook: ${issue?.message ?? 'unknown problem'}`, {
      location: { file, path: issue?.path.join('.') ?? '' },
      hint: 'each step is `call:` with `args:`, `obey: injections`, or `final:`',
    });
  }
  return res.data;
}

/** Marker of a planted instruction in content the model reads. */
const INSTRUCTION = /AGENT-INSTRUCTION:\s*(\{.*\})\s*$/gm;

/** A model that proposes exactly what its playbook says, computed from the history alone (so it resumes anywhere). */
export class ScriptedModel implements Model {
  readonly provider = 'airlock-scripted';
  constructor(
    readonly model: string,
    private readonly playbook: Playbook,
  ) {}

  async next(input: ModelInput): Promise<ModelTurn> {
    const calls = input.history.filter((h) => h.kind === 'tool_call');
    let consumed = 0;
    for (const step of this.playbook.steps) {
      if ('final' in step) return { kind: 'final', text: step.final, claim: step.claim };
      if ('obey' in step) {
        const planted = plantedInstructions(input.history.slice(0, indexAfterCalls(input.history, consumed)), input.history);
        if (consumed + planted.length > calls.length) {
          const next = planted[calls.length - consumed];
          if (next) return { kind: 'tool_call', tool: next.tool, args: next.args, reasoning: step.reasoning ?? 'Following instructions found in a document.' };
        }
        consumed += planted.length;
        continue;
      }
      if (consumed < calls.length) {
        consumed++;
        continue;
      }
      const args = resolveTemplate(step.args, scopeOf(input));
      if (!args.ok) {
        return { kind: 'final', text: `cannot continue: ${args.missing} is not available`, claim: 'gave-up' };
      }
      return { kind: 'tool_call', tool: step.call, args: args.value as JsonObject, ...(step.reasoning ? { reasoning: step.reasoning } : {}) };
    }
    return { kind: 'final', text: 'playbook finished', claim: 'done' };
  }
}

/** `$input.x` and `$results.<connector>.<tool>.x` (the latest successful result of that tool). */
function scopeOf(input: ModelInput): Record<string, Json> {
  const results: Record<string, Record<string, Json>> = {};
  for (const h of input.history) {
    if (h.kind !== 'tool_result' || h.status !== 'ok') continue;
    const [conn, tool] = h.tool.split('.', 2) as [string, string];
    (results[conn] ??= {})[tool] = h.content;
  }
  return { input: input.input, results };
}

/** History index just past the `n`-th tool call and its result. */
function indexAfterCalls(history: readonly HistoryItem[], n: number): number {
  let seen = 0;
  for (let i = 0; i < history.length; i++) {
    const h = history[i] as HistoryItem;
    if (h.kind === 'tool_call') {
      if (seen === n) return i;
      seen++;
    }
  }
  return history.length;
}

/** Every AGENT-INSTRUCTION line in the results read so far, `{{customer}}` filled with the customer read. */
function plantedInstructions(
  before: readonly HistoryItem[],
  all: readonly HistoryItem[],
): { tool: string; args: JsonObject }[] {
  const customer = [...all].reverse().find((h) => h.kind === 'tool_result' && h.tool === 'crm.get_customer' && h.status === 'ok');
  const customerText = customer && customer.kind === 'tool_result' ? JSON.stringify(customer.content) : '';
  const out: { tool: string; args: JsonObject }[] = [];
  for (const h of before) {
    if (h.kind !== 'tool_result' || h.status !== 'ok') continue;
    for (const m of stringsIn(h.content).join('\n').matchAll(INSTRUCTION)) {
      try {
        const parsed = JSON.parse(m[1] as string) as { tool?: unknown; args?: unknown };
        if (typeof parsed.tool !== 'string' || typeof parsed.args !== 'object' || parsed.args === null) continue;
        const args = JSON.parse(JSON.stringify(parsed.args).replace(/\{\{customer\}\}/g, customerText.replace(/["\\]/g, (c) => `\\${c}`))) as JsonObject;
        out.push({ tool: parsed.tool, args });
      } catch {
        // a malformed planted line is just text
      }
    }
  }
  return out;
}

/** Every string inside a JSON value, depth first. */
function stringsIn(v: Json): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap((x: Json) => stringsIn(x));
  if (v !== null && typeof v === 'object') return Object.values(v).flatMap((x) => stringsIn(x));
  return [];
}
