// What identifies a governed action, and how the trail writes it down: the hash an approval binds
// to, the idempotency key sent upstream, and the records of intents, decisions and refusals. Pure.
import type { ToolContract } from '../config/schema.js';
import type { AuditPayload } from '../store/store.js';
import type { Classification, Decision, JsonObject, Labels, Principal, RunId, Sha256Hex, Tier, Trust } from '../types.js';
import type { ValueStanding } from '../policy/decide.js';
import { canonicalJson, hashJson, sha256Hex } from '../util/hash.js';
import { principalRef } from '../identity/principal.js';
import { rec, type NotExecutedReason, type RecordBodies, type TypedItem } from '../audit/records.js';
import { argsProvenance, type ArgProvenance, type SeenValues } from '../context/provenance.js';

/**
 * The canonical action an approval binds to: SHA-256 over RFC 8785 JSON of
 * (tool, arguments, run, requester). Any change to any of them is a different action.
 */
export function actionHash(tool: string, args: JsonObject, runId: RunId, requester: Principal): Sha256Hex {
  return hashJson({ tool, args, run: runId, requester: principalRef(requester) });
}

/**
 * The idempotency key of one execution: derived from the run, the step and the action hash, so a
 * retry or a resumed run sends the same key and the upstream does the effect once.
 */
export function idempotencyKey(runId: RunId, step: number, hash: Sha256Hex): string {
  return `airlock-${hashJson({ run: runId, step, action: hash }).slice(0, 40)}`;
}

/** How much of refused arguments the trail keeps: their hash, their size and this many characters. */
const REFUSED_PREVIEW_CHARS = 256;

/**
 * What the trail keeps of arguments refused before any decision (unknown tool, invalid): a hash
 * and a bounded preview, never the whole payload (a refused request must not cost its size in storage).
 */
export function refusedArgs(args: JsonObject): { argsHash: string; argsBytes: number; argsPreview: string } {
  const text = canonicalJson(args);
  return { argsHash: sha256Hex(text), argsBytes: text.length, argsPreview: text.slice(0, REFUSED_PREVIEW_CHARS) };
}

/** A run's labels as records carry them. */
export function labelsBody(l: Labels): JsonObject {
  return { classification: l.classification, trust: l.trust };
}

/** The decision fields of `action.decision`: kind, level, policy ids, policy-set hash, reasons. */
export function decisionFields(d: Decision): Pick<RecordBodies['action.decision'], 'decision' | 'level' | 'policyIds' | 'policySetHash' | 'reasons'> {
  return {
    decision: d.kind,
    ...(d.kind === 'approval' ? { level: d.level } : {}),
    policyIds: [...d.basis.policyIds],
    policySetHash: d.basis.policySetHash,
    reasons: [...d.basis.reasons],
  };
}

/**
 * What policy was given beside the arguments, the principal and `onBehalfOf` (both on the record's
 * envelope): stored as a payload with each decision (`inputsHash`), so `policy what-if` can rebuild
 * the exact request. The roles are the principal's as they were when it was decided.
 */
export interface DecisionInputs {
  readonly workflow: string;
  readonly tier: Tier;
  readonly labels: { readonly classification: Classification; readonly trust: Trust };
  readonly roles: readonly string[];
  /** Where each value budget stood with the call added (`context.value`); absent when none applies. */
  readonly value?: Readonly<Record<string, ValueStanding>>;
  /** Where each exposed argument came from (`context.provenance`; a list's with each element's own); absent outside a run's data. */
  readonly provenance?: Readonly<Record<string, ArgProvenance>>;
}

/** Where a call's exposed arguments came from, given the values its run has seen; undefined when the context carries none. */
export function provenanceFor(ctx: { readonly seen?: SeenValues | undefined }, contract: Pick<ToolContract, 'expose'>, args: JsonObject): Record<string, ArgProvenance> | undefined {
  return ctx.seen ? argsProvenance(contract.expose, args, ctx.seen) : undefined;
}

/** The inputs of a decision in `ctx` (with the value standings it was decided on, if any), as a payload body. */
export function decisionInputs(
  ctx: { readonly workflow: { readonly name: string; readonly tier: Tier }; readonly labels: Labels; readonly principal: Principal },
  value?: Readonly<Record<string, ValueStanding>>,
  provenance?: Readonly<Record<string, ArgProvenance>>,
): JsonObject {
  const inputs: DecisionInputs = {
    workflow: ctx.workflow.name,
    tier: ctx.workflow.tier,
    labels: { classification: ctx.labels.classification, trust: ctx.labels.trust },
    roles: [...ctx.principal.roles],
    ...(value && Object.keys(value).length > 0 ? { value } : {}),
    ...(provenance ? { provenance } : {}),
  };
  return inputs as unknown as JsonObject;
}

/**
 * The `action.decision` record of `decision` on this action (`recheck`: decided again at execution;
 * `inputs`: the payload of `decisionInputs`, referenced as `inputsHash`).
 */
export function decisionRecord(
  tool: string,
  hash: Sha256Hex,
  decision: Decision,
  extra: { approvalId?: string; recheck?: boolean; inputs?: AuditPayload } = {},
): TypedItem<'action.decision'> {
  const { inputs, ...rest } = extra;
  return rec('action.decision', { tool, actionHash: hash, ...rest, ...decisionFields(decision), ...(inputs ? { inputsHash: inputs.hash } : {}) }, inputs ? [inputs] : undefined);
}

/** The `action.intent` of a proposal that reached a decision: write-ahead, with its arguments as a payload. */
export function intentRecord(
  contract: ToolContract,
  at: { readonly step: number; readonly labels: Labels; readonly runId: RunId },
  hash: Sha256Hex,
  toolDefHash: Sha256Hex,
  argsRef: AuditPayload,
  extra: { reasoning?: string | undefined; revisionOf?: string; revisedBy?: string } = {},
): TypedItem<'action.intent'> {
  return rec(
    'action.intent',
    {
      tool: contract.name,
      step: at.step,
      toolDefHash,
      argsHash: argsRef.hash,
      actionHash: hash,
      labels: labelsBody(at.labels),
      ...(contract.idempotencyKey ? { idempotencyKey: idempotencyKey(at.runId, at.step, hash) } : {}),
      ...(extra.reasoning ? { reasoning: extra.reasoning.slice(0, 500) } : {}),
      ...(extra.revisionOf ? { revisionOf: extra.revisionOf, revisedBy: extra.revisedBy } : {}),
    },
    [argsRef],
  );
}

/** An `action.not-executed` record: why the action did not run (a closed set), and the reasons in words. */
export function notExecuted(why: NotExecutedReason, reasons: readonly string[], about: Omit<RecordBodies['action.not-executed'], 'why' | 'reasons'>): TypedItem<'action.not-executed'> {
  return rec('action.not-executed', { ...about, why, reasons: [...reasons] });
}
