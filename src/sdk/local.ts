// The in-process decision point: the SDK and Airlock in one process, through the same sessions and
// gateway (authorize mode) as the MCP and HTTP doors, so decisions, approvals and audit are theirs.
import type { Airlock } from '../airlock.js';
import { AirlockError } from '../errors.js';
import type { SessionCallResult } from '../orchestration/sessions.js';
import type { JsonObject, RunId, Sha256Hex } from '../types.js';
import {
  argsShapeProblem,
  errorText,
  refusal,
  reportableResult,
  type AuthorizeResult,
  type DecisionPoint,
} from './decision-point.js';

export interface LocalDecisionPointOptions {
  /** The agent the in-process tools act for, `agent:<id>` (a declared principal). */
  readonly agent: string;
  /** Its workflow; optional when the agent drives exactly one. */
  readonly workflow?: string;
  /** The person the agent acts for, `user:<id>` (that person can then never approve its actions). */
  readonly onBehalfOf?: string;
}

/**
 * A decision point inside the process that opened the workspace. Throws at once (an `input`
 * AirlockError) for an undeclared principal or a workflow the agent does not drive; every later
 * answer is a value. The run (door `sdk`) opens on the first call.
 */
export function localDecisionPoint(airlock: Airlock, opts: LocalDecisionPointOptions): DecisionPoint {
  const principal = airlock.principal(opts.agent);
  const workflow = airlock.sessions.resolveWorkflow(principal, opts.workflow);
  if ('kind' in workflow) {
    throw new AirlockError('input', workflow.reason, { hint: 'name a workflow whose `agent` is this principal' });
  }
  const onBehalfOf = opts.onBehalfOf === undefined ? undefined : airlock.principal(opts.onBehalfOf);
  let opening: Promise<RunId> | null = null;
  let runId: RunId | null = null;

  const open = (): Promise<RunId> => {
    opening ??= airlock.sessions.open(workflow, principal, 'sdk', onBehalfOf).then(
      (run) => (runId = run.id),
      (err: unknown) => {
        opening = null; // an infrastructure fault: the next call tries again
        throw err;
      },
    );
    return opening;
  };

  return {
    get runId() {
      return runId;
    },

    async authorize(tool, args, o = {}) {
      const shape = argsShapeProblem(args);
      if (shape) return refusal({ status: 'invalid', reasons: [shape] });
      try {
        const id = await open();
        const proposal = { tool, args: args as JsonObject, ...(o.reasoning !== undefined ? { reasoning: o.reasoning } : {}) };
        return fromOutcome(id, await airlock.sessions.call(id, principal, proposal, 'authorize'));
      } catch (err) {
        // Fail closed: whatever broke, the tool does not run.
        return refusal({ status: 'error', reason: errorText(err) });
      }
    },

    async report(grant, outcome) {
      try {
        const r = await airlock.sessions.report(grant.runId as RunId, principal, {
          actionHash: grant.actionHash as Sha256Hex,
          outcome: outcome.outcome,
          ...(outcome.outcome === 'ok' ? (reportableResult(outcome.result) as { result?: JsonObject }) : { message: outcome.message }),
        });
        if ('kind' in r) return { ok: false, message: r.reason };
        return r.ok ? { ok: true } : { ok: false, message: r.reason };
      } catch (err) {
        return { ok: false, message: errorText(err) };
      }
    },

    async close() {
      if (opening === null) return { runId: null, status: null };
      const id = await opening;
      const closed = await airlock.sessions.close(id, principal);
      if (!('kind' in closed)) return { runId: id, status: closed.status };
      return { runId: id, status: (await airlock.store.getRun(id))?.status ?? null };
    },
  };
}

/** The gateway's outcome of an `authorize` call as the SDK's value. */
function fromOutcome(runId: RunId, o: SessionCallResult): AuthorizeResult {
  switch (o.kind) {
    case 'authorized':
      return { ok: true, grant: { runId, actionHash: o.actionHash, approvalId: o.approvalId } };
    case 'denied':
      return refusal({ status: 'denied', reasons: o.reasons, policyIds: o.policyIds });
    case 'invalid':
      return refusal({ status: 'invalid', reasons: o.errors });
    case 'pending-approval':
      return refusal({ status: 'pending', approvalId: o.approvalId, level: o.level, reasons: o.decision.basis.reasons });
    case 'suggested':
      return refusal({ status: 'suggested', reasons: o.decision.basis.reasons, policyIds: o.decision.basis.policyIds });
    case 'refused':
      return refusal({ status: 'refused', reason: o.reason });
    case 'executed':
    case 'failed':
      // `authorize` mode never calls the tool; if it ever did, do not run it a second time.
      return refusal({ status: 'error', reason: `the gateway answered \`${o.kind}\` to a decision-only request` });
  }
}
