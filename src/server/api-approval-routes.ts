// The API's approval routes, for people: approvals and votes (edits included), standing grants, approval statistics.
import type { Hono } from 'hono';
import type { Airlock } from '../airlock.js';
import { principalRef } from '../identity/principal.js';
import { storeApprovalStats } from '../gateway/approvals/stats.js';
import { approvalsNeeded, summaryHash } from '../gateway/approvals/rules.js';
import type { Approver } from '../gateway/approvals/vote.js';
import { decideApproval, mayViewApproval } from './approval-decisions.js';
import { createGrant, revokeGrant } from '../gateway/approvals/grants.js';
import type { ApprovalRecord, GrantRecord } from '../store/store.js';
import type { ApprovalId, JsonObject, RunId } from '../types.js';
import * as Approvals from './api-approval-schemas.js';
import type { ApiDoor, ApiEnv, Authenticated, Out } from './api-door.js';
import { errorBody, mountPrefix, printable } from './api-messages.js';

/** Approvals listed per page when the request names no `limit`. */
const DEFAULT_PAGE = 100;

/** Adds the approval routes (`/approvals`, `/grants`, `/approval-stats`) to `app`. */
export function mountApprovalRoutes(app: Hono<ApiEnv>, airlock: Airlock, door: ApiDoor): void {
  const { store } = airlock;
  const { refuse, readBody, readQuery } = door;

  // ---- approvals (people decide) --------------------------------------------------------------

  app.get('/approvals', async (c) => {
    const auth = c.get('auth');
    if (auth.principal.kind !== 'user') {
      return refuse(c, 403, errorBody(`\`${principalRef(auth.principal)}\` is not a person: only people see and decide approvals`), null);
    }
    const q = await readQuery(c, Approvals.ApprovalsQuery);
    if (!q.ok) return q.response;
    // A page at a time, newest first: decided approvals pile up over the months.
    const limit = Number(q.value.limit ?? DEFAULT_PAGE);
    const after = q.value.before ? await store.getApproval(q.value.before as ApprovalId) : null;
    if (q.value.before && !after) return c.json(errorBody(`\`before\`: approval \`${printable(q.value.before)}\` does not exist`), 422);
    const page = await store.pageApprovals({
      status: q.value.status ?? 'pending',
      ...(q.value.runId ? { runId: q.value.runId as RunId } : {}),
      ...(after ? { before: { createdAt: after.createdAt, id: after.id } } : {}),
      limit,
    });
    // A person sees the approvals they may decide, or took part in; evidence may hold confidential data.
    const res: Out<typeof Approvals.ApprovalList> = {
      approvals: page.filter((a) => mayView(a, auth)).map(approvalView),
      next: page.length === limit ? (page[page.length - 1] as ApprovalRecord).id : null,
    };
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
      // The one code path with the console (approval-decisions.ts): vote() and editApproval() check
      // eligibility (policy) and audit every refused attempt; afterDecision moves the run on.
      const outcome = await decideApproval(airlock, id, approver, decision, reason, edit);
      if (outcome.kind === 'refused') return c.json(errorBody(outcome.reason, undefined, before.runId), outcome.status);
      if (outcome.kind === 'revised') {
        const res: Out<typeof Approvals.VoteRecorded> = {
          approval: approvalView(outcome.revised),
          decided: false,
          run: { runId: before.runId, status: (await store.getRun(before.runId))?.status ?? 'unknown', resumed: false },
          replaced: approvalView(outcome.original),
          next: `you wrote these arguments, so another eligible person decides them: POST ${mountPrefix(c)}/approvals/${outcome.revised.id}/approve`,
        };
        return c.json(res, 200);
      }
      const { approval, fate } = outcome;
      let runPart: Out<typeof Approvals.VoteRecorded>['run'] = { runId: before.runId, status: fate.kind === 'resumed' ? fate.run.status : fate.status, resumed: fate.kind === 'resumed' };
      let next: string | undefined;
      if (fate.kind === 'resume-failed') {
        runPart = { ...runPart, resumeError: fate.error };
      } else if (fate.kind === 'handed-off') {
        next = `another Airlock instance on this store is driving run ${before.runId} and goes on with it`;
      } else if (fate.kind === 'external' || fate.kind === 'rollback') {
        next =
          approval.status === 'approved'
            ? `the agent POSTs the same action again in run ${before.runId}; it executes once${approval.editedFrom ? ' (with the edited arguments)' : ''}`
            : 'the agent is told why when it POSTs the same action again';
      } else if (!outcome.decided) {
        const needed = approvalsNeeded(approval.level) - approval.decisions.filter((d) => d.decision === 'approve').length;
        next = `needs ${needed} more approval${needed === 1 ? '' : 's'} from a different eligible person`;
      }
      const res: Out<typeof Approvals.VoteRecorded> = {
        approval: approvalView(approval),
        decided: outcome.decided,
        run: runPart,
        ...(next ? { next } : {}),
      };
      return c.json(res, 200);
    });
  }

  /** Who may read an approval (its arguments and evidence): eligible deciders, participants, and the requesting agent for its own run (approval-decisions.ts, shared with the console). */
  function mayView(a: ApprovalRecord, auth: Authenticated): boolean {
    return mayViewApproval(airlock, a, { principal: auth.principal, onBehalfOf: auth.onBehalfOf, approver: approverOf(auth) });
  }

  // ---- standing grants and approval statistics (people only) -----------------------------------

  app.get('/grants', async (c) => {
    const auth = c.get('auth');
    if (auth.principal.kind !== 'user') return refuse(c, 403, errorBody(`\`${principalRef(auth.principal)}\` is not a person: only people see grants`), null);
    const q = await readQuery(c, Approvals.GrantsQuery);
    if (!q.ok) return q.response;
    // A page at a time, newest first: grants expire within a week, but stay listed.
    const limit = Number(q.value.limit ?? DEFAULT_PAGE);
    const after = q.value.before ? await store.getGrant(q.value.before) : null;
    if (q.value.before && !after) return c.json(errorBody(`\`before\`: grant \`${printable(q.value.before)}\` does not exist`), 422);
    const page = await store.pageGrants({ ...(q.value.status ? { status: q.value.status } : {}), ...(after ? { before: { createdAt: after.createdAt, id: after.id } } : {}), limit });
    const res: Out<typeof Approvals.GrantList> = { grants: page.map(grantView), next: page.length === limit ? (page[page.length - 1] as GrantRecord).id : null };
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
    const stats = await storeApprovalStats(store, wf);
    const res: Out<typeof Approvals.ApprovalStats> = { ...stats, byStatus: { ...stats.byStatus }, approvers: [...stats.approvers] };
    return c.json(res, 200);
  });
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
