// The remote decision point: the SDK in another process, over the HTTP API (`POST /v1/runs`, then
// `/v1/decisions` and `/v1/outcomes`). Same values as the local one; the server keeps the audit trail.
import { jsonProblem } from '../util/json.js';
import { ErrorResponse } from '../server/api-common-schemas.js';
import * as Runs from '../server/api-run-schemas.js';
import {
  argsShapeProblem,
  errorText,
  refusal,
  reportableResult,
  type AuthorizeResult,
  type DecisionPoint,
  type ReportResult,
} from './decision-point.js';

export interface RemoteDecisionPointOptions {
  /** The Airlock server, e.g. `http://127.0.0.1:8787` (the API is under `/v1`; a URL ending in `/v1` works too). */
  readonly url: string;
  /** A bearer credential (API key or JWT) proving the agent; the server decides who acts, never the SDK. */
  readonly token: string;
  /** The workflow to run; optional when the agent drives exactly one. */
  readonly workflow?: string;
  /** The fetch to use (default: the global one), e.g. to add a proxy or for tests. */
  readonly fetch?: typeof fetch;
  /** Per request; a request that takes longer is an `error` (nothing runs). Default 30 s. */
  readonly timeoutMs?: number;
}

type Answer = { readonly status: number; readonly body: unknown } | { readonly failed: string };

/** A decision point that asks an Airlock server over HTTP. Every answer is a value; it never throws. */
export function remoteDecisionPoint(opts: RemoteDecisionPointOptions): DecisionPoint {
  const base = `${opts.url.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1`;
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let opening: Promise<{ runId: string } | { refused: AuthorizeResult }> | null = null;
  let runId: string | null = null;

  async function send(method: 'GET' | 'POST', route: string, body?: unknown): Promise<Answer> {
    let res: Response;
    try {
      res = await doFetch(`${base}${route}`, {
        method,
        headers: { authorization: `Bearer ${opts.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      return { failed: `cannot reach ${base}: ${errorText(err)}` };
    }
    const text = await res.text().catch(() => '');
    try {
      return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as unknown) };
    } catch {
      return { status: res.status, body: { error: `HTTP ${res.status} with a body that is not JSON` } };
    }
  }

  async function open(): Promise<{ runId: string } | { refused: AuthorizeResult }> {
    opening ??= (async () => {
      const a = await send('POST', '/runs', opts.workflow === undefined ? {} : { workflow: opts.workflow });
      const opened = 'failed' in a ? null : Runs.RunOpened.safeParse(a.body);
      if (!('failed' in a) && a.status === 201 && opened?.success) {
        runId = opened.data.runId;
        return { runId };
      }
      opening = null; // nothing was opened: the next call tries again
      return { refused: doorRefusal(a) };
    })();
    return opening;
  }

  return {
    get runId() {
      return runId;
    },

    async authorize(tool, args, o = {}) {
      // Checked here exactly as the gateway checks it: JSON cannot carry these values, and silently dropping them would change the action.
      const shape = argsShapeProblem(args) ?? jsonProblem(args);
      if (shape) return refusal({ status: 'invalid', reasons: [shape] });
      const run = await open();
      if ('refused' in run) return run.refused;
      const a = await send('POST', '/decisions', {
        runId: run.runId,
        tool,
        arguments: args,
        ...(o.reasoning !== undefined ? { reasoning: o.reasoning.slice(0, 2000) } : {}),
      });
      if ('failed' in a) return refusal({ status: 'error', reason: a.failed });
      return decisionAnswer(run.runId, a);
    },

    async report(grant, outcome): Promise<ReportResult> {
      const a = await send('POST', '/outcomes', {
        runId: grant.runId,
        actionHash: grant.actionHash,
        outcome: outcome.outcome,
        ...(outcome.outcome === 'ok' ? reportableResult(outcome.result) : { message: outcome.message.slice(0, 2000) }),
      });
      if ('failed' in a) return { ok: false, message: a.failed };
      if (a.status === 200 && Runs.OutcomeRecorded.safeParse(a.body).success) return { ok: true };
      return { ok: false, message: errorOf(a.body) ?? `HTTP ${a.status}` };
    },

    async close() {
      if (opening === null) return { runId: null, status: null };
      const run = await opening;
      if ('refused' in run) return { runId: null, status: null };
      const closed = await send('POST', `/runs/${encodeURIComponent(run.runId)}/close`);
      const view = 'failed' in closed ? null : Runs.RunView.safeParse(closed.body);
      if (view?.success) return { runId: run.runId, status: view.data.status };
      const now = await send('GET', `/runs/${encodeURIComponent(run.runId)}`);
      const current = 'failed' in now ? null : Runs.RunView.safeParse(now.body);
      return { runId: run.runId, status: current?.success ? current.data.status : null };
    },
  };
}

/** `POST /decisions` answered: the same values the local decision point returns. */
function decisionAnswer(runId: string, a: { status: number; body: unknown }): AuthorizeResult {
  if (a.status === 200) {
    const allow = Runs.DecisionAllow.safeParse(a.body);
    if (allow.success) return { ok: true, grant: { runId, actionHash: allow.data.actionHash, approvalId: allow.data.approvalId } };
  }
  if (a.status === 202) {
    const p = Runs.DecisionPending.safeParse(a.body);
    if (p.success) return refusal({ status: 'pending', approvalId: p.data.approvalId, level: p.data.level, reasons: p.data.reasons });
  }
  if (a.status === 403 || a.status === 422) {
    const r = Runs.DecisionRefused.safeParse(a.body);
    if (r.success) {
      switch (r.data.decision) {
        case 'deny':
          return refusal({ status: 'denied', reasons: r.data.reasons, policyIds: r.data.policyIds });
        case 'suggest':
          return refusal({ status: 'suggested', reasons: r.data.reasons, policyIds: r.data.policyIds });
        case 'invalid':
          return refusal({ status: 'invalid', reasons: r.data.reasons });
      }
    }
    // The request itself did not fit the API (e.g. an empty tool name): the arguments never reached a decision.
    if (a.status === 422) return refusal({ status: 'invalid', reasons: [errorOf(a.body) ?? 'the request was invalid'] });
  }
  return doorRefusal(a);
}

/** A refusal by the door (credentials, not your run, run over, limits) or a server fault. */
function doorRefusal(a: Answer): AuthorizeResult {
  if ('failed' in a) return refusal({ status: 'error', reason: a.failed });
  const error = errorOf(a.body);
  const hint = a.body !== null && typeof a.body === 'object' && typeof (a.body as { hint?: unknown }).hint === 'string' ? (a.body as { hint: string }).hint : undefined;
  if ([401, 403, 404, 409, 413, 422, 429].includes(a.status)) {
    return refusal({ status: 'refused', reason: `${error ?? `HTTP ${a.status}`}${a.status === 401 && hint ? ` (${hint})` : ''}` });
  }
  return refusal({ status: 'error', reason: `${error ?? 'unexpected answer'} (HTTP ${a.status})` });
}

function errorOf(body: unknown): string | undefined {
  const e = ErrorResponse.safeParse(body);
  return e.success ? e.data.error : undefined;
}
