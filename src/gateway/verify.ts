// Ground truth around an action: the contract's verification after it executed, and the second path
// of a high-risk step (an independent rule and probe, before people approve and again before it runs).
import type { ToolContract, WorkflowConfig } from '../config/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import { rec } from '../audit/records.js';
import type { Json, JsonObject, Sha256Hex } from '../types.js';
import { resolveTemplate } from '../util/template.js';
import { compileCelCached, evalCel } from '../verification/cel.js';
import { checkVerification } from '../verification/checks.js';
import type { ReadProbe } from './dispatch.js';
import type { CallContext, SecondPathResult, VerificationResult } from './types.js';

/** What verification needs: a probe reader and the trail. */
export interface VerifyDeps {
  readonly probe: ReadProbe;
  readonly audit: AuditWriter;
}

/**
 * Whether a contract's second path applies (the one rule, used wherever it is asked): it declares
 * one, its risk (after irreversibility raised it) is high, and the workflow runs at `execute-high`, or
 * is declared so and runs lower (a demotion never drops a check).
 */
export function secondPathApplies(contract: ToolContract, ctx: { readonly workflow: Pick<WorkflowConfig, 'tier'>; readonly declaredTier?: string | undefined }): boolean {
  return contract.secondPath !== undefined && (ctx.workflow.tier === 'execute-high' || ctx.declaredTier === 'execute-high') && contract.risk === 'high';
}

/**
 * Reads ground truth through the contract's probe and checks its expectations and CEL check
 * against what executed; audits `action.verified`. Null when the contract declares no verification.
 */
export async function verifyExecution(deps: VerifyDeps, ctx: CallContext, contract: ToolContract, args: JsonObject, result: Json, hash: Sha256Hex): Promise<VerificationResult | null> {
  const spec = contract.verify;
  if (!spec) return null;
  let outcome: VerificationResult['outcome'];
  const probeArgs = resolveTemplate(spec.args, { args, result });
  if (!probeArgs.ok) {
    outcome = { status: 'error', message: `probe argument ${probeArgs.missing} is missing from the result` };
  } else {
    const res = await deps.probe(spec.probe, probeArgs.value as JsonObject, 'verification', ctx);
    outcome = res.ok ? checkVerification(spec, { args, result, probe: res.content }) : { status: 'error', message: res.message };
  }
  await deps.audit.append(ctx, [
    rec('action.verified', { tool: contract.name, actionHash: hash, probe: spec.probe, status: outcome.status, evidence: outcome as unknown as Json }),
  ]);
  return { probe: spec.probe, outcome };
}

/**
 * The second path of a high-risk step: the contract's independent rule over the arguments and its
 * ground-truth probe. Null when it does not apply (`secondPathApplies`). Audited either way.
 */
export async function runSecondPath(deps: VerifyDeps, ctx: CallContext, contract: ToolContract, args: JsonObject, hash: Sha256Hex): Promise<SecondPathResult | null> {
  const spec = contract.secondPath;
  if (!spec || !secondPathApplies(contract, ctx)) return null;
  let probe: Json = null;
  let result: SecondPathResult;
  const compiled = compileCelCached(spec.check, spec.probe === undefined ? ['args'] : ['args', 'probe'], { result: 'bool' });
  if (!compiled.ok) {
    result = { status: 'error', check: spec.check, message: compiled.message };
  } else {
    let failed: string | null = null;
    if (spec.probe !== undefined) {
      const probeArgs = resolveTemplate(spec.args, { args });
      if (!probeArgs.ok) failed = `probe argument ${probeArgs.missing} is missing`;
      else {
        const res = await deps.probe(spec.probe, probeArgs.value as JsonObject, 'second-path', ctx);
        if (res.ok) probe = res.content;
        else failed = res.message;
      }
    }
    if (failed !== null) result = { status: 'error', check: spec.check, message: failed };
    else {
      const value = evalCel(compiled.program, { args, probe });
      result = !value.ok
        ? { status: 'error', check: spec.check, message: value.message }
        : { status: value.value === true ? 'passed' : 'failed', check: spec.check, message: value.value === true ? 'the second path agrees' : 'the second path disagrees with the proposed action' };
    }
  }
  await deps.audit.append(ctx, [rec('action.second-path', { tool: contract.name, actionHash: hash, ...result, ...(spec.probe ? { probe: spec.probe } : {}) })]);
  return result;
}
