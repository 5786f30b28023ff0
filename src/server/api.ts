// The HTTP JSON API door: authenticated routes for external agents (runs, actions, decisions, outcomes)
// and for people (approvals). Every action goes through `airlock.sessions` to the one gateway; the
// principal is what the credential proves, never a body field. Mounted by http.ts under `/v1`.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { Airlock } from '../airlock.js';
import { AirlockError } from '../errors.js';
import { approvalsNeeded, editApproval, eligibility, summaryHash, summaryView, vote, type Approver, type VoteOutcome } from '../orchestration/approvals.js';
import { approvalStats } from '../orchestration/approval-stats.js';
import { createGrant, revokeGrant } from '../orchestration/grants.js';
import type { RunState } from '../orchestration/run-machine.js';
import type { SessionCallResult, SessionRefusal } from '../orchestration/sessions.js';
import { principalRef } from '../identity/principal.js';
import { wwwAuthenticate, type AuthResult } from '../identity/authenticate.js';
import type { ApprovalRecord, GrantRecord, RunRecord } from '../store/store.js';
import type { ApprovalId, Json, JsonObject, RunId, Sha256Hex } from '../types.js';
import type { GatewayOutcome, VerificationResult } from '../tools/gateway.js';
import * as Approvals from './api-approval-schemas.js';
import { ErrorResponse } from './api-common-schemas.js';
import * as Runs from './api-run-schemas.js';
import { RateLimiter } from './limits.js';
import { requestProblem } from '../util/json.js';

/** Turns an `Authorization` header into a principal (identity/authenticate.ts, or a fake in tests). */
export type Authenticate = (authorizationHeader: string | undefined) => Promise<AuthResult>;

type Authenticated = Extract<AuthResult, { ok: true }>;

/** Options of the API routes. */
export interface ApiOptions {
  /**
   * Tool calls (`/actions`, `/decisions`) per principal per minute. Pass the limiter the other doors
   * use to share one budget; by default the routes keep their own, sized by `server.limits.callsPerMinute`.
   */
  readonly rateLimiter?: RateLimiter;
}

/** Hono environment of the API routes: the authenticated caller, set by the first middleware. */
export interface ApiEnv {
  Variables: { auth: Authenticated };
}

type C = Context<ApiEnv>;
type Out<T extends z.ZodType> = z.infer<T>;
type ErrorBody = Out<typeof ErrorResponse>;

/** The API's responses are never cached: they carry decisions, results and approvals. */
const NO_STORE = 'no-store';

/**
 * The `/v1` routes of the HTTP API. Every route authenticates first (401/403 with a
 * `WWW-Authenticate: Bearer` challenge); bodies are JSON checked by the strict schemas of
 * api-run-schemas.ts and api-approval-schemas.ts (400 unparseable, 422 invalid); refusals by
 * the door are audited.
 */
export function createApiRoutes(airlock: Airlock, authenticate: Authenticate, opts: ApiOptions = {}): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const { sessions, store } = airlock;
  const limits = airlock.workspace.file.server.limits;
  const maxBytes = limits.maxRequestBytes;
  const rate = opts.rateLimiter ?? new RateLimiter(limits.callsPerMinute);

  // Unknown routes answer JSON, also when mounted (a sub-app's notFound is not used by the parent).
  app.use('*', async (c, next) => {
    await next();
    if (c.res.status === 404 && !(c.res.headers.get('content-type') ?? '').includes('json')) {
      c.res = notFound(c);
    }
  });

  app.use('*', async (c, next) => {
    c.header('Cache-Control', NO_STORE);
    const result = await authenticate(c.req.header('Authorization'));
    if (!result.ok) {
      const challenge =
        result.status === 401 ? (wwwAuthenticate(result) ?? 'Bearer realm="airlock"') : 'Bearer realm="airlock", error="insufficient_scope"';
      c.header('WWW-Authenticate', challenge);
      return c.json(errorBody(result.error, result.hint), result.status);
    }
    c.set('auth', result);
    await next();
    return undefined;
  });

  app.use(
    '*',
    bodyLimit({
      maxSize: maxBytes,
      // The rest of the body is never read, so the connection cannot carry another request: say so.
      onError: (c) => c.json(errorBody(`the request body is larger than ${maxBytes} bytes`, 'send less, or raise `server.limits.maxRequestBytes`'), 413, { Connection: 'close' }),
    }),
  );

  // ---- the door's own refusals: audited with the authenticated principal --------------------

  async function refuse(c: C, status: ContentfulStatusCode, body: ErrorBody, runId: RunId | null, extra: JsonObject = {}): Promise<Response> {
    const auth = c.get('auth');
    await airlock.audit.append({ runId, principal: auth.principal, onBehalfOf: auth.onBehalfOf }, [
      {
        type: 'request.refused',
        body: { door: 'http-api', route: `${c.req.method} ${c.req.routePath}`, status, reason: body.error.slice(0, MAX_REASON), credential: auth.credentialId, ...extra },
      },
    ]);
    return c.json(body, status);
  }

  /** A session refusal (not yours, no such run, not running, limits). Budget and concurrency refusals are audited by sessions. */
  async function refuseSession(c: C, r: SessionRefusal, runId: RunId | null): Promise<Response> {
    const body = errorBody(r.reason, undefined, runId ?? undefined);
    if (r.status === 429) return c.json(body, 429);
    return refuse(c, r.status, body, r.status === 404 ? null : runId, r.status === 404 && runId ? { requested: runId } : {});
  }

  /** Reads and checks the JSON body: 400 when it is not JSON, 422 listing each issue when it does not fit `schema`. */
  async function readBody<T extends z.ZodType>(c: C, schema: T): Promise<{ ok: true; value: z.infer<T> } | { ok: false; response: Response }> {
    const text = await c.req.text();
    let raw: unknown = {};
    if (text.trim() !== '') {
      try {
        raw = JSON.parse(text);
      } catch (err) {
        const where = jsonErrorPlace(text, err);
        const what = err instanceof Error ? err.message : String(err);
        const body: ErrorBody = {
          error: `the request body is not valid JSON: ${lowerFirst(what)}`,
          hint: 'send a JSON object with `Content-Type: application/json`',
          ...(where ? { where } : {}),
        };
        return { ok: false, response: await refuse(c, 400, body, null) };
      }
    }
    // Refused, not silently stripped by the schema: the same input is invalid through every door.
    const bad = requestProblem(raw);
    if (bad) {
      const where = bad.code === 'forbidden_key' ? `\`${bad.path}\` is not an acceptable key` : `${bad.path ? `\`${bad.path}\`` : 'the body'} ${bad.message}`;
      const body: ErrorBody = {
        error: `the request body is invalid: ${where}`,
        hint: bad.code === 'forbidden_key' ? 'remove `__proto__` keys: they are never arguments' : 'flatten the data: arguments may nest at most 64 levels',
        issues: [{ path: bad.path, code: bad.code, message: bad.message }],
      };
      return { ok: false, response: await refuse(c, 422, body, await existingRunId(raw), { issues: [`${bad.path}: ${bad.code}`] }) };
    }
    const parsed = schema.safeParse(raw);
    if (parsed.success) return { ok: true, value: parsed.data };
    // Bounded: a body of a thousand unknown fields gets a short answer and a short audit record.
    const issues = parsed.error.issues.slice(0, MAX_ISSUES).map((i) => ({ path: issuePath(i.path), code: i.code, message: issueMessage(i) }));
    const claimsIdentity = parsed.error.issues.some((i) => i.code === 'unrecognized_keys' && i.keys.some((k) => IDENTITY_FIELDS.has(k)));
    const body: ErrorBody = {
      error: `the request body is invalid: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
      hint: claimsIdentity
        ? 'who acts is what your credential proves; a request body cannot name a principal, requester or approver'
        : 'see the OpenAPI document (schema/openapi.json) for the request shape',
      issues,
    };
    const runId = await existingRunId(raw);
    return { ok: false, response: await refuse(c, 422, body, runId, { issues: issues.map((i) => `${i.path}: ${i.code}`) }) };
  }

  /** The body's `runId` when it names a run that exists, so a refused request is indexed with that run. */
  async function existingRunId(raw: unknown): Promise<RunId | null> {
    const candidate = typeof raw === 'object' && raw !== null ? (raw as { runId?: unknown }).runId : undefined;
    if (typeof candidate !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(candidate)) return null;
    return (await store.getRun(candidate as RunId)) ? (candidate as RunId) : null;
  }

  /** Null while the caller is under its calls-per-minute limit; else the audited 429. */
  async function overRate(c: C, req: Runs.ActionRequestBody): Promise<Response | null> {
    const who = principalRef(c.get('auth').principal);
    if (rate.take(who, airlock.now().getTime())) return null;
    const runId = await existingRunId(req);
    c.header('Retry-After', '60');
    const body = errorBody(`rate limit: at most ${limits.callsPerMinute} tool calls per minute for \`${who}\``, 'slow down and retry', runId ?? undefined);
    return refuse(c, 429, body, runId, { why: 'rate-limit' });
  }

  /**
   * The run a proposal acts in: the named one (which this credential must drive, for the same
   * user) or a new one. A response when it is refused.
   */
  async function runFor(c: C, req: Runs.ActionRequestBody): Promise<{ runId: RunId } | { response: Response }> {
    if (req.runId === undefined) {
      const opened = await openRun(c, req.workflow);
      return 'response' in opened ? opened : { runId: opened.run.id };
    }
    const runId = req.runId as RunId;
    const owned = await checkOwned(c, runId);
    if ('response' in owned) return owned;
    const { run } = owned;
    if (req.workflow !== undefined && run.workflow !== req.workflow) {
      const issue = { path: 'workflow', code: 'custom', message: `run \`${runId}\` belongs to workflow \`${run.workflow}\`` };
      return { response: await refuse(c, 422, { error: `the request body is invalid: ${issue.message}, not \`${req.workflow}\``, issues: [issue], runId }, runId) };
    }
    return { runId };
  }

  /** The run when this credential drives it (same agent, acting for the same user) and it is running; else the refusal. */
  async function checkOwned(c: C, runId: RunId): Promise<{ run: RunRecord } | { response: Response }> {
    const auth = c.get('auth');
    const owned = await sessions.owned(runId, auth.principal);
    if ('kind' in owned) return { response: await refuseSession(c, owned, owned.status === 404 ? null : runId) };
    const actsFor = auth.onBehalfOf ? principalRef(auth.onBehalfOf) : null;
    if (owned.state.onBehalfOf !== actsFor) {
      const reason = `run \`${runId}\` acts for ${owned.state.onBehalfOf ? `\`${owned.state.onBehalfOf}\`` : 'no user'}, this credential for ${actsFor ? `\`${actsFor}\`` : 'no user'}`;
      return { response: await refuse(c, 403, errorBody(reason, 'drive a run with the same delegation it was opened with', runId), runId) };
    }
    return { run: owned.run };
  }

  async function openRun(c: C, workflowName: string | undefined): Promise<{ run: RunRecord; tier: string; tools: Out<typeof Runs.ToolViewSchema>[] } | { response: Response }> {
    const auth = c.get('auth');
    const workflow = sessions.resolveWorkflow(auth.principal, workflowName);
    if ('kind' in workflow) return { response: await refuseSession(c, workflow, null) };
    const run = await sessions.tryOpen(workflow, auth.principal, 'http-api', auth.onBehalfOf);
    if ('kind' in run) {
      c.header('Retry-After', '60');
      return { response: c.json(errorBody(run.reason, 'close runs you no longer need with POST /v1/runs/{id}/close'), 429) };
    }
    const tools = sessions.tools(workflow, auth.principal).map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: (t.inputSchema ?? {}) as Record<string, unknown>,
    }));
    return { run, tier: workflow.tier, tools };
  }

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
    const state = run.state as unknown as RunState;
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

  async function actionResponse(c: C, runId: RunId, o: Exclude<SessionCallResult, SessionRefusal>): Promise<Response> {
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

  // ---- approvals (people decide) --------------------------------------------------------------

  app.get('/approvals', async (c) => {
    const auth = c.get('auth');
    if (auth.principal.kind !== 'user') {
      return refuse(c, 403, errorBody(`\`${principalRef(auth.principal)}\` is not a person: only people see and decide approvals`), null);
    }
    const q = Approvals.ApprovalsQuery.safeParse(c.req.query());
    if (!q.success) {
      const issues = q.error.issues.map((i) => ({ path: issuePath(i.path), code: i.code, message: issueMessage(i) }));
      return refuse(c, 422, { error: `the query is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues }, null);
    }
    const list = await store.listApprovals({ status: q.data.status ?? 'pending', ...(q.data.runId ? { runId: q.data.runId as RunId } : {}) });
    // A person sees the approvals they may decide, or took part in; evidence may hold confidential data.
    const res: Out<typeof Approvals.ApprovalList> = { approvals: list.filter((a) => mayView(a, auth)).map(approvalView) };
    return c.json(res, 200);
  });

  app.get('/approvals/:approvalId', async (c) => {
    const auth = c.get('auth');
    const id = c.req.param('approvalId') as ApprovalId;
    const approval = await store.getApproval(id);
    if (!approval) return c.json(errorBody(`approval \`${printable(id)}\` does not exist`), 404);
    if (!mayView(approval, auth)) {
      return refuse(
        c,
        403,
        errorBody(`\`${principalRef(auth.principal)}\` may not see approval \`${id}\`: only people eligible to decide it, those who took part, and its requester in its own run`),
        approval.runId,
      );
    }
    return c.json(approvalView(approval), 200);
  });

  for (const decision of ['approve', 'reject'] as const) {
    app.post(`/approvals/:approvalId/${decision}`, async (c) => {
      const auth = c.get('auth');
      const body = await readBody(c, decision === 'approve' ? Approvals.ApproveRequest : Approvals.RejectRequest);
      if (!body.ok) return body.response;
      const id = c.req.param('approvalId') as ApprovalId;
      const before = await store.getApproval(id);
      if (!before) return refuse(c, 404, errorBody(`approval \`${printable(id)}\` does not exist`, `list pending approvals with GET ${mountPrefix(c)}/approvals`), null);
      const approver = approverOf(auth);
      const reason = body.value.reason ?? null;
      const edit = 'arguments' in body.value ? (body.value.arguments as JsonObject | undefined) : undefined;
      // vote() and editApproval() check eligibility (policy) and audit every refused attempt.
      if (edit) {
        const revised = await editApproval(airlock.approvalDeps, id, approver, edit, reason);
        if (revised.kind === 'refused') return c.json(errorBody(revised.reason, undefined, before.runId), revised.status);
        void airlock.notifier.deliverDue().catch(() => undefined);
        const res: Out<typeof Approvals.VoteRecorded> = {
          approval: approvalView(revised.revised),
          decided: false,
          run: { runId: before.runId, status: (await store.getRun(before.runId))?.status ?? 'unknown', resumed: false },
          replaced: approvalView(revised.original),
          next: `you wrote these arguments, so another eligible person decides them: POST ${mountPrefix(c)}/approvals/${revised.revised.id}/approve`,
        };
        return c.json(res, 200);
      }
      const outcome: VoteOutcome = await vote(airlock.approvalDeps, id, approver, decision, reason);
      if (outcome.kind === 'refused') return c.json(errorBody(outcome.reason, undefined, before.runId), outcome.status);
      let approval = outcome.approval;
      const run = await store.getRun(before.runId);
      const state = run?.state as unknown as RunState | undefined;
      let runPart: Out<typeof Approvals.VoteRecorded>['run'] = { runId: before.runId, status: run?.status ?? 'unknown', resumed: false };
      let next: string | undefined;
      if (outcome.decided && run && state && !state.door) {
        // Airlock's own (model-driven) run waits on this decision: continue it now.
        try {
          const resumed = await airlock.runner.resume(run.id);
          runPart = { runId: run.id, status: resumed.status, resumed: true };
          approval = (await store.getApproval(approval.id)) ?? approval; // the resumed run may have consumed it
        } catch (err) {
          if (!(err instanceof AirlockError)) throw err;
          const latest = await store.getRun(run.id);
          runPart = { runId: run.id, status: latest?.status ?? 'unknown', resumed: false, resumeError: err.message };
        }
      } else if (outcome.decided && state?.door) {
        next =
          approval.status === 'approved'
            ? `the agent POSTs the same action again in run ${before.runId}; it executes once${approval.editedFrom ? ' (with the edited arguments)' : ''}`
            : 'the agent is told why when it POSTs the same action again';
      } else if (!outcome.decided) {
        const needed = approvalsNeeded(approval.level) - approval.decisions.filter((d) => d.decision === 'approve').length;
        next = `needs ${needed} more approval${needed === 1 ? '' : 's'} from a different eligible person`;
      }
      void airlock.notifier.deliverDue().catch(() => undefined);
      const res: Out<typeof Approvals.VoteRecorded> = {
        approval: approvalView(approval),
        decided: outcome.decided,
        run: runPart,
        ...(next ? { next } : {}),
      };
      return c.json(res, 200);
    });
  }

  /** Who may read an approval (its arguments and evidence): eligible deciders, participants, and the requesting agent for its own run. */
  function mayView(a: ApprovalRecord, auth: Authenticated): boolean {
    const who = principalRef(auth.principal);
    if (auth.principal.kind !== 'user') return a.requester === who && (auth.onBehalfOf ? principalRef(auth.onBehalfOf) : null) === (summaryView(a).onBehalfOf ?? null);
    if (a.editedBy === who || a.decisions.some((d) => d.approver === who)) return true;
    return eligibility(airlock.approvalDeps, a, approverOf(auth), airlock.now()).allowed;
  }

  // ---- standing grants and approval statistics (people only) -----------------------------------

  app.get('/grants', async (c) => {
    const auth = c.get('auth');
    if (auth.principal.kind !== 'user') return refuse(c, 403, errorBody(`\`${principalRef(auth.principal)}\` is not a person: only people see grants`), null);
    const res: Out<typeof Approvals.GrantList> = { grants: (await store.listGrants()).map(grantView) };
    return c.json(res, 200);
  });

  app.post('/grants', async (c) => {
    const auth = c.get('auth');
    const body = await readBody(c, Approvals.GrantRequest);
    if (!body.ok) return body.response;
    const g = body.value;
    const res = await createGrant(airlock.approvalDeps, approverOf(auth), {
      workflow: g.workflow,
      tool: g.tool,
      bounds: g.bounds,
      durationMinutes: g.durationMinutes,
      maxUses: g.maxUses ?? null,
      reason: g.reason,
    });
    if (res.kind === 'refused') return c.json(errorBody(res.reason), res.status === 404 || res.status === 409 ? 422 : res.status);
    c.header('Location', `${mountPrefix(c)}/grants/${res.grant.id}`);
    return c.json(grantView(res.grant), 201);
  });

  app.post('/grants/:grantId/revoke', async (c) => {
    const auth = c.get('auth');
    const body = await readBody(c, Approvals.RejectRequest);
    if (!body.ok) return body.response;
    const res = await revokeGrant(airlock.approvalDeps, c.req.param('grantId'), approverOf(auth), body.value.reason);
    if (res.kind === 'refused') return c.json(errorBody(res.reason), res.status);
    return c.json(grantView(res.grant), 200);
  });

  app.get('/approval-stats', async (c) => {
    const auth = c.get('auth');
    if (auth.principal.kind !== 'user') return refuse(c, 403, errorBody(`\`${principalRef(auth.principal)}\` is not a person`), null);
    const wf = c.req.query('workflow');
    const stats = approvalStats(await store.listApprovals(), await store.listGrants(), wf);
    const res: Out<typeof Approvals.ApprovalStats> = { ...stats, byStatus: { ...stats.byStatus }, approvers: [...stats.approvers] };
    return c.json(res, 200);
  });

  app.notFound((c) => notFound(c));

  app.onError((err, c) => {
    if (err instanceof AirlockError) {
      if (err.code === 'not-found') return c.json(errorBody(err.message, err.hint), 404);
      if (err.code === 'conflict') return c.json(errorBody(err.message, err.hint ?? 'retry the request'), 409);
      if (err.retryable || err.code === 'connector' || err.code === 'connector-timeout' || err.code === 'store-locked') {
        c.header('Retry-After', '1');
        return c.json(errorBody('temporarily unavailable', 'retry shortly'), 503);
      }
    }
    // A bug or an infrastructure fault: say nothing about internals to the caller.
    console.error('airlock http-api:', err);
    return c.json(errorBody('internal error', 'the error was logged on the server'), 500);
  });

  /** The run as its agent or a person sees it: no arguments or results, only what came of each call. */
  async function runView(run: RunRecord): Promise<Out<typeof Runs.RunView>> {
    const state = run.state as unknown as RunState;
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
      verifications: state.verifications.map((v) => ({ callId: v.callId, tool: v.tool, status: v.status })),
      pendingApprovals: pending.map((a) => a.id),
      history: state.history.flatMap((h) => (h.kind === 'tool_result' ? [{ callId: h.id, tool: h.tool, status: h.status }] : [])),
      final: state.final ? { text: state.final.text, claim: state.final.claim } : null,
      reason: state.reason,
      incidents: (await store.listIncidents({ runId: run.id })).map((i) => ({ incidentId: i.id, kind: i.kind, status: i.status, title: i.title, owner: i.owner })),
    };
  }

  return app;
}

/** At most this many issues are listed for one invalid body, and a refusal's audited reason is this long at most. */
const MAX_ISSUES = 20;
const MAX_REASON = 500;

/** Body fields that name who acts: never accepted from a request body. */
const IDENTITY_FIELDS = new Set(['principal', 'requester', 'approver', 'onBehalfOf', 'on_behalf_of', 'agent', 'user', 'actor', 'sub']);

function proposalOf(req: Runs.ActionRequestBody): { tool: string; args: JsonObject; reasoning?: string } {
  return { tool: req.tool, args: req.arguments as JsonObject, ...(req.reasoning !== undefined ? { reasoning: req.reasoning } : {}) };
}

function errorBody(error: string, hint?: string, runId?: string): ErrorBody {
  return { error, ...(hint !== undefined ? { hint } : {}), ...(runId !== undefined ? { runId } : {}) };
}

function notFound(c: Context): Response {
  return c.json(errorBody(`no route \`${c.req.method} ${printable(c.req.path, 200)}\``, 'see the OpenAPI document (schema/openapi.json) for the routes'), 404);
}

/** Where the routes are mounted (`/v1`), from the matched route path, for `Location` headers and hints. */
function mountPrefix(c: Context): string {
  const route = c.req.routePath;
  const i = route.search(/\/(runs|actions|decisions|outcomes|approvals)(\/|$)/);
  return i > 0 ? route.slice(0, i) : '';
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


function approvalView(a: ApprovalRecord): Out<typeof Approvals.ApprovalView> {
  return {
    approvalId: a.id,
    runId: a.runId,
    tool: a.tool,
    requester: a.requester,
    level: a.level,
    status: a.status,
    createdAt: a.createdAt,
    expiresAt: a.expiresAt,
    needed: approvalsNeeded(a.level),
    votes: a.decisions.map((d) => ({
      approver: d.approver,
      decision: d.decision,
      reason: d.reason,
      time: d.time,
      issuer: d.issuer,
      subject: d.subject,
      authMethod: d.authMethod,
      authTime: d.authTime,
      summaryHash: d.summaryHash,
    })),
    summary: a.summary,
    summaryHash: summaryHash(a),
    assignee: a.assignee,
    escalations: a.escalations,
    editedFrom: a.editedFrom,
    supersededBy: a.supersededBy,
    consumedAt: a.consumedAt,
  };
}

function grantView(g: GrantRecord): Out<typeof Approvals.GrantView> {
  return { ...g, grantId: g.id, bounds: g.bounds, policyIds: [...g.policyIds] };
}

/** The person behind an authenticated request, with how they proved it (recorded with each vote). */
function approverOf(auth: Authenticated): Approver {
  return {
    principal: auth.principal,
    auth: { issuer: auth.issuer, subject: auth.subject, method: auth.method, amr: auth.amr, authTime: auth.authTime ?? null },
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

/** `arguments.amount_cents`, `items[2].id`; empty for the body itself. */
function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/** Zod's message, lowercased, with the offending keys named the way Airlock names user input. */
function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') {
    const named = i.keys.slice(0, 5).map((k) => `\`${printable(k, 64)}\``).join(', ');
    return `unknown field${i.keys.length === 1 ? '' : 's'} ${named}${i.keys.length > 5 ? ` and ${i.keys.length - 5} more` : ''}`;
  }
  return lowerFirst(i.message);
}

/** Where JSON.parse stopped, from the position in its message (Node 20) as offset, line and column (1-based). */
function jsonErrorPlace(text: string, err: unknown): { position: number; line: number; column: number } | undefined {
  const message = err instanceof Error ? err.message : '';
  const m = /position (\d+)/.exec(message);
  const position = m ? Number(m[1]) : /end of JSON input/.test(message) ? text.length : undefined;
  if (position === undefined) return undefined;
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return { position, line, column };
}

function lowerFirst(s: string): string {
  return s.length > 0 && !/^[A-Z]{2}/.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s;
}

/** User input fit for a message: printable ASCII without backticks, bounded. */
function printable(text: string, max = 128): string {
   
  const clean = text.replace(/[^\x20-\x7e]/g, '?').replace(/`/g, "'");
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}
