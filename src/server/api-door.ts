// The API door's helpers: request bodies read and checked, the door's audited refusals, the rate limit, and the run a credential may act in.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import type { Airlock } from '../airlock.js';
import type { AuthResult } from '../identity/authenticate.js';
import { principalRef } from '../identity/principal.js';
import type { SessionRefusal } from '../orchestration/sessions.js';
import type { RunRecord } from '../store/store.js';
import type { JsonObject, RunId } from '../types.js';
import { requestProblem } from '../util/json.js';
import { errorBody, issueMessage, issuePath, jsonErrorPlace, lowerFirst, type ErrorBody } from './api-messages.js';
import type * as Runs from './api-run-schemas.js';
import type { CallRate } from './limits.js';
import { rec } from '../audit/records.js';

/** A request's caller, as the credential proves it. */
export type Authenticated = Extract<AuthResult, { ok: true }>;

/** Hono environment of the API routes: the authenticated caller, set by the first middleware. */
export interface ApiEnv {
  Variables: { auth: Authenticated };
}

/** The context of an API route. */
export type ApiContext = Context<ApiEnv>;

/** The value of a wire schema. */
export type Out<T extends z.ZodType> = z.infer<T>;

/** At most this many issues are listed for one invalid body, and a refusal's audited reason is this long at most. */
const MAX_ISSUES = 20;
const MAX_REASON = 500;

/** Body fields that name who acts: never accepted from a request body. */
const IDENTITY_FIELDS = new Set(['principal', 'requester', 'approver', 'onBehalfOf', 'on_behalf_of', 'agent', 'user', 'actor', 'sub']);

/**
 * The door's helpers for one set of routes: refusals by the door are audited with the
 * authenticated principal; tool calls count against `rate`, per principal.
 */
export function apiDoor(airlock: Airlock, rate: CallRate) {
  const { sessions, store } = airlock;
  const limits = airlock.workspace.file.server.limits;

  // ---- the door's own refusals: audited with the authenticated principal --------------------

  async function refuse(c: ApiContext, status: ContentfulStatusCode, body: ErrorBody, runId: RunId | null, extra: JsonObject = {}): Promise<Response> {
    const auth = c.get('auth');
    await airlock.audit.append({ runId, principal: auth.principal, onBehalfOf: auth.onBehalfOf }, [
      rec('request.refused', { door: 'http-api', route: `${c.req.method} ${c.req.routePath}`, status, reason: body.error.slice(0, MAX_REASON), credential: auth.credentialId, ...extra }),
    ]);
    return c.json(body, status);
  }

  /** A session refusal (not yours, no such run, not running, limits). Budget and concurrency refusals are audited by sessions. */
  async function refuseSession(c: ApiContext, r: SessionRefusal, runId: RunId | null): Promise<Response> {
    const body = errorBody(r.reason, undefined, runId ?? undefined);
    if (r.status === 429) return c.json(body, 429);
    return refuse(c, r.status, body, r.status === 404 ? null : runId, r.status === 404 && runId ? { requested: runId } : {});
  }

  /** Reads and checks the JSON body: 400 when it is not JSON, 422 listing each issue when it does not fit `schema`. */
  async function readBody<T extends z.ZodType>(c: ApiContext, schema: T): Promise<{ ok: true; value: z.infer<T> } | { ok: false; response: Response }> {
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

  /** Reads and checks the query string: 422 listing each issue when it does not fit `schema`. */
  async function readQuery<T extends z.ZodType>(c: ApiContext, schema: T): Promise<{ ok: true; value: z.infer<T> } | { ok: false; response: Response }> {
    const parsed = schema.safeParse(c.req.query());
    if (parsed.success) return { ok: true, value: parsed.data };
    const issues = parsed.error.issues.slice(0, MAX_ISSUES).map((i) => ({ path: issuePath(i.path), code: i.code, message: issueMessage(i) }));
    return { ok: false, response: await refuse(c, 422, { error: `the query is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues }, null) };
  }

  /** The body's `runId` when it names a run that exists, so a refused request is indexed with that run. */
  async function existingRunId(raw: unknown): Promise<RunId | null> {
    const candidate = typeof raw === 'object' && raw !== null ? (raw as { runId?: unknown }).runId : undefined;
    if (typeof candidate !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(candidate)) return null;
    return (await store.getRun(candidate as RunId)) ? (candidate as RunId) : null;
  }

  /** Null while the caller is under its calls-per-minute limit; else the audited 429. */
  async function overRate(c: ApiContext, req: Runs.ActionRequestBody): Promise<Response | null> {
    const who = principalRef(c.get('auth').principal);
    if (await rate.take(who, airlock.now().getTime())) return null;
    const runId = await existingRunId(req);
    c.header('Retry-After', '60');
    const body = errorBody(`rate limit: at most ${limits.callsPerMinute} tool calls per minute for \`${who}\``, 'slow down and retry', runId ?? undefined);
    return refuse(c, 429, body, runId, { why: 'rate-limit' });
  }

  /**
   * The run a proposal acts in: the named one (which this credential must drive, for the same
   * user) or a new one. A response when it is refused.
   */
  async function runFor(c: ApiContext, req: Runs.ActionRequestBody): Promise<{ runId: RunId } | { response: Response }> {
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
  async function checkOwned(c: ApiContext, runId: RunId): Promise<{ run: RunRecord } | { response: Response }> {
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

  async function openRun(c: ApiContext, workflowName: string | undefined): Promise<{ run: RunRecord; tier: string; tools: Out<typeof Runs.ToolViewSchema>[] } | { response: Response }> {
    const auth = c.get('auth');
    const workflow = sessions.resolveWorkflow(auth.principal, workflowName);
    if ('kind' in workflow) return { response: await refuseSession(c, workflow, null) };
    const run = await sessions.tryOpen(workflow, auth.principal, 'http-api', auth.onBehalfOf);
    if ('kind' in run && run.status === 429) {
      c.header('Retry-After', '60');
      return { response: c.json(errorBody(run.reason, 'close runs you no longer need with POST /v1/runs/{id}/close'), 429) };
    }
    // Its scope is halted (the kill switch): already on record; no run opens until an owner resumes it.
    if ('kind' in run) return { response: c.json(errorBody(run.reason, 'a person stopped this scope; try again once an owner has resumed it'), run.status) };
    const tools = sessions.tools(workflow, auth.principal).map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: (t.inputSchema ?? {}) as Record<string, unknown>,
    }));
    return { run, tier: workflow.tier, tools };
  }

  return { refuse, refuseSession, readBody, readQuery, overRate, runFor, checkOwned, openRun };
}

/** The door's helpers, as `apiDoor` makes them. */
export type ApiDoor = ReturnType<typeof apiDoor>;
