// The API's run routes, for agents: open and close runs, propose actions, ask for decisions, report outcomes; a run as its agent or a person sees it.
import type { Context, Hono } from 'hono';
import type { Airlock } from '../airlock.js';
import { AirlockError } from '../errors.js';
import { principalRef } from '../identity/principal.js';
import type { SessionCallResult, SessionRefusal } from '../orchestration/sessions.js';
import type { RunRecord } from '../store/store.js';
import type { GatewayOutcome, VerificationResult } from '../gateway/types.js';
import type { ApprovalId, Json, JsonObject, RunId, Sha256Hex } from '../types.js';
import type { ApiContext, ApiDoor, ApiEnv, Out } from './api-door.js';
import { errorBody, mountPrefix, printable } from './api-messages.js';
import * as Runs from './api-run-schemas.js';
import { runHistory, runStateOf } from '../orchestration/run-state.js';
import { usageView } from '../orchestration/run-machine.js';

/** Adds the run routes (`/runs`, `/actions`, `/decisions`, `/outcomes`) to `app`. */
export function mountRunRoutes(app: Hono<ApiEnv>, airlock: Airlock, door: ApiDoor): void {
  const { sessions, store } = airlock;
  const { refuse, refuseSession, readBody, overRate, runFor, checkOwned, openRun } = door;

  /** The body of a pending approval (either route) and its `Location` header. */
  async function pending(
    c: Context,
    runId: RunId,
    o: Extract<GatewayOutcome, { kind: 'pending-approval' }>,
    route: 'actions' | 'decisions',
  ): Promise<Omit<Out<typeof Runs.ActionPending>, 'outcome'>> {
    const a = await store.getApproval(o.approvalId);
    c.header('Location', `${mountPrefix(c)}/approvals/${o.approvalId}`);
    return {
      runId,
      approvalId: o.approvalId,
      level: o.level,
      reasons: [...o.decision.basis.reasons],
      actionHash: o.actionHash,
      ...(a ? { expiresAt: a.expiresAt } : {}),
      next: followUp(c, runId, o.approvalId, route),
    };
  }

  // ---- runs ----------------------------------------------------------------------------------

  app.post('/runs', async (c) => {
    const body = await readBody(c, Runs.OpenRunRequest);
    if (!body.ok) return body.response;
    const opened = await openRun(c, body.value.workflow);
    if ('response' in opened) return opened.response;
    const res: Out<typeof Runs.RunOpened> = { runId: opened.run.id, workflow: opened.run.workflow, tier: opened.tier, tools: opened.tools };
    c.header('Location', `${mountPrefix(c)}/runs/${opened.run.id}`);
    return c.json(res, 201);
  });

  app.get('/runs/:runId', async (c) => {
    const auth = c.get('auth');
    const runId = c.req.param('runId') as RunId;
    const run = await store.getRun(runId);
    if (!run) return refuse(c, 404, errorBody(`run \`${printable(runId)}\` does not exist`), null, { requested: printable(runId) });
    const state = runStateOf(run);
    const mine = auth.principal.kind === 'agent' && state.agent === auth.principal.id;
    if (!mine && auth.principal.kind !== 'user') {
      return refuse(c, 403, errorBody(`run \`${runId}\` is not driven by \`${principalRef(auth.principal)}\``, 'an agent sees only its own runs'), runId);
    }
    return c.json(await runView(run), 200);
  });

  app.post('/runs/:runId/close', async (c) => {
    const auth = c.get('auth');
    const runId = c.req.param('runId') as RunId;
    const owned = await checkOwned(c, runId);
    if ('response' in owned) return owned.response;
    const closed = await sessions.close(runId, auth.principal);
    if ('kind' in closed) return refuseSession(c, closed, runId);
    return c.json(await runView(closed), 200);
  });

  // ---- actions, decisions, outcomes ---------------------------------------------------------------

  app.post('/actions', async (c) => {
    const auth = c.get('auth');
    const body = await readBody(c, Runs.ActionRequest);
    if (!body.ok) return body.response;
    const req = body.value;
    const limited = await overRate(c, req);
    if (limited) return limited;
    const target = await runFor(c, req);
    if ('response' in target) return target.response;
    const { runId } = target;
    const outcome = await sessions.call(runId, auth.principal, proposalOf(req), 'execute');
    if (outcome.kind === 'refused') return refuseSession(c, outcome, runId);
    return actionResponse(c, runId, outcome);
  });

  async function actionResponse(c: ApiContext, runId: RunId, o: Exclude<SessionCallResult, SessionRefusal>): Promise<Response> {
    switch (o.kind) {
      case 'executed': {
        const res: Out<typeof Runs.ActionExecuted> = {
          runId,
          outcome: 'executed',
          result: o.result,
          actionHash: o.actionHash,
          approvalId: o.approvalId,
          ...(o.grantId ? { grantId: o.grantId } : {}),
          ...(o.revisedArgs ? { revisedArguments: o.revisedArgs } : {}),
          verification: o.verification ? verificationView(o.verification) : null,
        };
        return c.json(res, 200);
      }
      case 'denied': {
        const res: Out<typeof Runs.ActionDenied> = {
          runId,
          outcome: 'denied',
          error: 'denied by policy',
          reasons: [...o.reasons],
          policyIds: [...o.policyIds],
          actionHash: o.actionHash,
        };
        return c.json(res, 403);
      }
      case 'invalid': {
        const res: Out<typeof Runs.ActionInvalid> = { runId, outcome: 'invalid', error: 'invalid arguments', errors: [...o.errors] };
        return c.json(res, 422);
      }
      case 'pending-approval': {
        const res: Out<typeof Runs.ActionPending> = { ...(await pending(c, runId, o, 'actions')), outcome: 'pending-approval' };
        return c.json(res, 202);
      }
      case 'suggested': {
        const note = 'recorded as a suggestion for a person; not executed at this autonomy tier';
        const res: Out<typeof Runs.ActionSuggested> = { runId, outcome: 'suggested', actionHash: o.actionHash, note };
        return c.json(res, 200);
      }
      case 'failed': {
        const unknownEffect = o.failure !== 'tool-error';
        const res: Out<typeof Runs.ActionFailed> = {
          runId,
          outcome: 'failed',
          error: unknownEffect ? 'the tool call failed; its effect is unknown' : 'the tool reported an error',
          failure: o.failure,
          message: o.message,
          actionHash: o.actionHash,
          ...(unknownEffect ? { advice: 'the effect may or may not have happened; check before retrying' } : {}),
        };
        return c.json(res, 502);
      }
      case 'authorized':
        // Only `authorize` mode produces it; `execute` never does.
        throw new AirlockError('internal', 'the gateway authorized an action it was asked to execute');
    }
  }

  app.post('/decisions', async (c) => {
    const auth = c.get('auth');
    const body = await readBody(c, Runs.DecisionRequest);
    if (!body.ok) return body.response;
    const req = body.value;
    const limited = await overRate(c, req);
    if (limited) return limited;
    const target = await runFor(c, req);
    if ('response' in target) return target.response;
    const { runId } = target;
    const o = await sessions.call(runId, auth.principal, proposalOf(req), 'authorize');
    if (o.kind === 'refused') return refuseSession(c, o, runId);
    switch (o.kind) {
      case 'authorized': {
        const res: Out<typeof Runs.DecisionAllow> = {
          runId,
          decision: 'allow',
          actionHash: o.actionHash,
          approvalId: o.approvalId,
          ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
          next: `execute exactly this action once, then report what happened with POST ${mountPrefix(c)}/outcomes {runId, actionHash, outcome}`,
        };
        return c.json(res, 200);
      }
      case 'pending-approval': {
        const res: Out<typeof Runs.DecisionPending> = { ...(await pending(c, runId, o, 'decisions')), decision: 'approval-required' };
        return c.json(res, 202);
      }
      case 'denied': {
        const res: Out<typeof Runs.DecisionRefused> = {
          runId,
          decision: 'deny',
          error: 'denied by policy',
          reasons: [...o.reasons],
          policyIds: [...o.policyIds],
          actionHash: o.actionHash,
        };
        return c.json(res, 403);
      }
      case 'suggested': {
        const res: Out<typeof Runs.DecisionRefused> = {
          runId,
          decision: 'suggest',
          error: 'recorded as a suggestion for a person; do not execute it at this autonomy tier',
          reasons: [...o.decision.basis.reasons],
          policyIds: [...o.decision.basis.policyIds],
          actionHash: o.actionHash,
        };
        return c.json(res, 403);
      }
      case 'invalid': {
        const res: Out<typeof Runs.DecisionRefused> = { runId, decision: 'invalid', error: 'invalid arguments', reasons: [...o.errors], policyIds: [], actionHash: null };
        return c.json(res, 422);
      }
      case 'executed':
      case 'failed':
        // `authorize` mode never calls the tool.
        throw new AirlockError('internal', `the gateway answered \`${o.kind}\` to a decision-only request`);
    }
  });

  app.post('/outcomes', async (c) => {
    const auth = c.get('auth');
    const body = await readBody(c, Runs.OutcomeRequest);
    if (!body.ok) return body.response;
    const req = body.value;
    const runId = req.runId as RunId;
    const owned = await checkOwned(c, runId);
    if ('response' in owned) return owned.response;
    const reported = await sessions.report(runId, auth.principal, {
      actionHash: req.actionHash as Sha256Hex,
      outcome: req.outcome,
      ...(req.result !== undefined ? { result: req.result as Json } : {}),
      ...(req.message !== undefined ? { message: req.message } : {}),
    });
    if ('kind' in reported) return refuseSession(c, reported, runId);
    if (!reported.ok) {
      return refuse(c, 409, errorBody(reported.reason, `report only actions that POST ${mountPrefix(c)}/decisions allowed in this run, once each`, runId), runId, {
        actionHash: req.actionHash,
      });
    }
    const res: Out<typeof Runs.OutcomeRecorded> = { runId, actionHash: req.actionHash, recorded: true };
    return c.json(res, 200);
  });

  /** The run as its agent or a person sees it: no arguments or results, only what came of each call. */
  async function runView(run: RunRecord): Promise<Out<typeof Runs.RunView>> {
    const state = runStateOf(run);
    const pending = await store.listApprovals({ runId: run.id, status: 'pending' });
    return {
      runId: run.id,
      workflow: run.workflow,
      status: run.status,
      door: state.door ?? null,
      agent: `agent:${state.agent}`,
      onBehalfOf: state.onBehalfOf,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
      steps: state.steps,
      usage: usageView(state),
      verifications: state.verifications.map((v) => ({ callId: v.callId, tool: v.tool, status: v.status })),
      pendingApprovals: pending.map((a) => a.id),
      history: (await runHistory(store, run)).flatMap((h) => (h.kind === 'tool_result' ? [{ callId: h.id, tool: h.tool, status: h.status }] : [])),
      final: state.final ? { text: state.final.text, claim: state.final.claim } : null,
      reason: state.reason,
      incidents: (await store.listIncidents({ runId: run.id })).map((i) => ({ incidentId: i.id, kind: i.kind, status: i.status, title: i.title, owner: i.owner })),
    };
  }
}

function proposalOf(req: Runs.ActionRequestBody): { tool: string; args: JsonObject; reasoning?: string } {
  return { tool: req.tool, args: req.arguments as JsonObject, ...(req.reasoning !== undefined ? { reasoning: req.reasoning } : {}) };
}

function followUp(c: Context, runId: RunId, approvalId: ApprovalId, route: 'actions' | 'decisions'): Out<typeof Runs.ActionPending>['next'] {
  const prefix = mountPrefix(c);
  return {
    approval: `GET ${prefix}/approvals/${approvalId}`,
    then:
      `once a person approves it, POST ${prefix}/${route} again with runId ${runId} and exactly the same tool and arguments: ` +
      'it is allowed once; any change needs a new approval',
  };
}

function verificationView(v: VerificationResult): Out<typeof Runs.ActionExecuted>['verification'] {
  const o = v.outcome;
  switch (o.status) {
    case 'passed':
      return { probe: v.probe, status: 'passed', checked: o.checked };
    case 'failed':
      return { probe: v.probe, status: 'failed', mismatches: o.mismatches.map((m) => ({ path: m.path, expected: m.expected, observed: m.observed })) };
    case 'error':
      return { probe: v.probe, status: 'error', message: o.message };
  }
}
