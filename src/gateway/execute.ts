// Executing an action the decision allows: the drift check closest to the call, `authorize` mode
// (the caller executes), the upstream call with Airlock's idempotency key, the outcome record (with
// the concrete compensation), then verification against ground truth.
import type { ToolContract } from '../config/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import { rec } from '../audit/records.js';
import type { ApprovalId, Decision, Json, JsonObject, Labels, Sha256Hex } from '../types.js';
import { joinLabels } from '../context/labels.js';
import { resultSightings, resultTrust } from '../context/provenance.js';
import { injectionSignals } from '../context/injection.js';
import { recordableJson } from '../util/json.js';
import type { DriftGuard } from '../tools/drift.js';
import { resolveTemplate } from '../util/template.js';
import { idempotencyKey, notExecuted } from './action.js';
import { principalRef } from '../identity/principal.js';
import type { Dispatcher } from './dispatch.js';
import { verifyExecution } from './verify.js';
import type { CallContext, GatewayOutcome } from './types.js';
import type { HaltRecord } from '../store/store.js';
import { haltedReason } from './halts.js';

/** What an agent is told in place of a quarantined result (fixed text: nothing of the result). */
export const QUARANTINE_NOTICE = '[airlock] this result was withheld: it holds instruction-like text (injection signals). A person can read it in the audit trail.';

/** What executing needs. */
export interface ExecuteDeps {
  readonly audit: AuditWriter;
  readonly dispatch: Dispatcher;
  readonly driftGuard?: Pick<DriftGuard, 'checkContract' | 'invalidate'> | undefined;
  /** The injection detector's settings and the tool names it looks for; absent: off. */
  readonly injection?: { readonly detect: boolean; readonly quarantine: boolean; readonly toolNames: readonly string[] } | undefined;
  /** The active halt on the call's scopes, read from the store (halts.ts); absent: none are checked here. */
  readonly halted?: ((ctx: CallContext, contract: ToolContract) => Promise<HaltRecord | null>) | undefined;
}

/** The authority an execution ran under: an approval, a standing grant, or the decision alone. */
export interface Authority {
  readonly approvalId: ApprovalId | null;
  readonly grantId?: string | null;
}

/**
 * Executes (or, in `authorize` mode, hands to the caller) an action whose intent and decision are
 * already durable. Returns what happened; never throws for the upstream's failure.
 */
export async function executeAction(
  deps: ExecuteDeps,
  ctx: CallContext,
  contract: ToolContract,
  args: JsonObject,
  hash: Sha256Hex,
  decision: Decision,
  authority: Authority,
): Promise<GatewayOutcome> {
  const { audit } = deps;
  const { approvalId } = authority;
  const grantId = authority.grantId ?? null;
  const by = grantId ? { approvalId, grantId } : { approvalId };
  // INVARIANT: the upstream's idempotency key is Airlock's, derived from run, step and action: never the agent's.
  const key = contract.idempotencyKey ? idempotencyKey(ctx.runId, ctx.step, hash) : null;
  const keyed = key ? { idempotencyKey: key } : {};
  // Checked again closest to the call: this also covers approved actions executed later.
  const drift = await deps.driftGuard?.checkContract(contract);
  if (drift && !drift.ok) {
    await audit.append(ctx, [notExecuted('tool-drift', [drift.reason], { tool: contract.name, actionHash: hash, approvalId, code: drift.code })]);
    return { kind: 'denied', reasons: [drift.reason], policyIds: [], actionHash: hash };
  }
  // Checked again closest to the call too: a halt committed while this call was decided stops it here.
  const halt = await deps.halted?.(ctx, contract);
  if (halt) {
    const reason = haltedReason(halt);
    await audit.append(ctx, [notExecuted('halted', [reason], { tool: contract.name, actionHash: hash, approvalId, code: halt.id })]);
    return { kind: 'denied', reasons: [reason], policyIds: [], actionHash: hash, halt: halt.id };
  }
  if (ctx.mode === 'authorize') {
    await audit.append(ctx, [rec('action.authorized', { tool: contract.name, actionHash: hash, ...by, ...keyed, executor: 'caller' })]);
    // The caller will read what the contract returns: the run is labelled as if Airlock had executed it.
    const labels = joinLabels(ctx.labels, { classification: contract.classification, trust: resultTrust(contract) });
    return { kind: 'authorized', actionHash: hash, decision, approvalId, labels, ...(grantId ? { grantId } : {}), ...(key ? { idempotencyKey: key } : {}) };
  }
  const callArgs = key && contract.idempotencyKey ? { ...args, [contract.idempotencyKey]: key } : args;
  // Who the call is for: a connector that answers per caller (context search) reads only what they may.
  const res = await deps.dispatch.send(contract, callArgs, { principal: principalRef(ctx.principal), onBehalfOf: ctx.onBehalfOf ? principalRef(ctx.onBehalfOf) : null, classification: ctx.labels.classification });
  if (!res.ok) {
    // A restarted process may be a new version of the server: list its tools afresh next time.
    if (res.failure !== 'tool-error') deps.driftGuard?.invalidate(contract.connector);
    await audit.append(ctx, [rec('action.executed', { tool: contract.name, actionHash: hash, ...by, ...keyed, outcome: 'error', failure: res.failure, message: res.message })]);
    return { kind: 'failed', failure: res.failure, message: res.message, actionHash: hash };
  }
  // A result with an untrusted part (`fieldTrust`) taints the run as untrusted; its values keep their own trust (sightings).
  const outLabels: Labels = { classification: contract.classification, trust: resultTrust(contract) };
  const resultRef = audit.payloadRef(res.content, contract.classification);
  // A signal, not the defence: instruction-like text in an untrusted result is recorded with the outcome.
  const signals = deps.injection?.detect && outLabels.trust === 'untrusted' ? injectionSignals(res.content, deps.injection.toolNames) : [];
  const quarantined = signals.length > 0 && deps.injection?.quarantine === true;
  const flagged = signals.length > 0 ? [rec('context.flagged', { tool: contract.name, actionHash: hash, signals: recordableJson(signals).value as never, quarantined })] : [];
  const committed = audit.append(ctx, [
    rec(
      'action.executed',
      {
        tool: contract.name,
        actionHash: hash,
        ...by,
        ...keyed,
        outcome: 'ok',
        resultHash: resultRef.hash,
        compensation: compensationFor(contract, args, res.content),
        irreversible: contract.irreversible,
      },
      [resultRef],
    ),
    ...flagged,
  ]);
  // The intent was durable before the call (write-ahead). The outcome record may share its commit
  // with the caller's run save when the caller asks to, and awaits `committed` before answering.
  if (ctx.deferOutcomeCommit) committed.catch(() => undefined);
  else await committed;
  const verification = await verifyExecution({ probe: deps.dispatch.probe, audit }, ctx, contract, args, res.content, hash);
  return {
    kind: 'executed',
    // Quarantined: the agent is told only that it was withheld, and has seen none of its values.
    result: quarantined ? { withheld: QUARANTINE_NOTICE, signals: [...new Set(signals.map((s) => s.kind))] } : res.content,
    labels: joinLabels(ctx.labels, outLabels),
    source: outLabels,
    sightings: quarantined ? [] : resultSightings(res.content, contract, args, ctx.seen),
    ...(signals.length > 0 ? { flagged: { signals, quarantined } } : {}),
    actionHash: hash,
    decision,
    verification,
    approvalId,
    ...(grantId ? { grantId } : {}),
    ...(ctx.deferOutcomeCommit ? { committed: committed.then(() => undefined) } : {}),
  };
}

/** The concrete compensating action for an executed effect, or null for reads and irreversible effects. */
function compensationFor(contract: ToolContract, args: JsonObject, result: Json): Json {
  if (!contract.compensation) return null;
  const resolved = resolveTemplate(contract.compensation.args, { args, result });
  return resolved.ok ? { tool: contract.compensation.tool, args: resolved.value } : { tool: contract.compensation.tool, unresolved: resolved.missing };
}
