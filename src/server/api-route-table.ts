// The HTTP JSON API as documented: every named schema and the route table (who may call each route, every status it answers with).
// openapi.ts renders them as the OpenAPI document; the routes themselves are api-run-routes.ts, api-approval-routes.ts and api-usage-routes.ts.
import type { z } from 'zod';
import {
  ApprovalList,
  ApprovalStats,
  ApprovalsQuery,
  GrantsQuery,
  ApprovalView,
  ApproveRequest,
  GrantList,
  GrantRequest,
  GrantView,
  RejectRequest,
  VoteRecorded,
} from './api-approval-schemas.js';
import { ErrorResponse } from './api-common-schemas.js';
import { UsageQuery, UsageReport } from './api-usage-schemas.js';
import {
  ActionDenied,
  ActionExecuted,
  ActionFailed,
  ActionInvalid,
  ActionPending,
  ActionRequest,
  ActionSuggested,
  DecisionAllow,
  DecisionPending,
  DecisionRefused,
  DecisionRequest,
  OpenRunRequest,
  OutcomeRecorded,
  OutcomeRequest,
  RunOpened,
  RunView,
  ToolViewSchema,
} from './api-run-schemas.js';

/** Every named schema, as it appears under `components.schemas` in the OpenAPI document. */
export const API_SCHEMAS = {
  OpenRunRequest,
  ActionRequest,
  DecisionRequest,
  OutcomeRequest,
  ApproveRequest,
  RejectRequest,
  ErrorResponse,
  ToolView: ToolViewSchema,
  RunOpened,
  ActionExecuted,
  ActionDenied,
  ActionInvalid,
  ActionPending,
  ActionSuggested,
  ActionFailed,
  DecisionAllow,
  DecisionPending,
  DecisionRefused,
  OutcomeRecorded,
  RunView,
  ApprovalView,
  ApprovalList,
  VoteRecorded,
  GrantRequest,
  GrantView,
  GrantList,
  ApprovalStats,
  UsageReport,
} as const;

export type ApiSchemaName = keyof typeof API_SCHEMAS;

/** One documented response: a description and the schema(s) of its JSON body. */
export interface ResponseDoc {
  readonly description: string;
  readonly schemas: readonly ApiSchemaName[];
}

/** One route of the API as documented (paths relative to the `/v1` mount point, OpenAPI style). */
export interface RouteDoc {
  readonly method: 'get' | 'post';
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  /** Who may call it, in words. */
  readonly callers: 'agents' | 'people' | 'agents and people';
  readonly body?: ApiSchemaName;
  readonly bodyRequired?: boolean;
  readonly query?: z.ZodObject;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
}

const err = (description: string): ResponseDoc => ({ description, schemas: ['ErrorResponse'] });
const SESSION_REFUSALS = {
  403: err('not this agent\'s workflow or run, or the run acts for someone else'),
  404: err('no such run or workflow'),
  409: err('the run is no longer running, or the agent drives several workflows and named none'),
  429: err('a budget of the run is exhausted, too many calls at once in the run, or over the per-principal calls-per-minute limit (see Retry-After)'),
} as const;

/** The route table: what exists, who may call it, and every status it answers with. */
export const API_ROUTES: readonly RouteDoc[] = [
  {
    method: 'post',
    path: '/runs',
    operationId: 'openRun',
    summary: 'Open a run for the authenticated agent',
    callers: 'agents',
    body: 'OpenRunRequest',
    bodyRequired: false,
    responses: {
      201: { description: 'the run is open', schemas: ['RunOpened'] },
      403: SESSION_REFUSALS[403],
      404: SESSION_REFUSALS[404],
      409: err('the agent drives several workflows and named none, or the scope is halted (a person stopped it: no run starts until an owner resumes it)'),
    },
  },
  {
    method: 'post',
    path: '/actions',
    operationId: 'proposeAction',
    summary: 'Propose a tool call; Airlock decides and, when allowed, executes it',
    description:
      'Without `runId` a run is opened first. A call that needs a person answers 202 with an approval id: ' +
      'once approved, POST exactly the same action (same `runId`, `tool` and `arguments`) again and it executes once.',
    callers: 'agents',
    body: 'ActionRequest',
    responses: {
      200: { description: 'executed (with its verification), or recorded as a suggestion at this tier', schemas: ['ActionExecuted', 'ActionSuggested'] },
      202: { description: 'a person must approve it first; nothing was executed', schemas: ['ActionPending'] },
      403: { description: 'denied by policy, or refused before the gateway (not your run)', schemas: ['ActionDenied', 'ErrorResponse'] },
      404: SESSION_REFUSALS[404],
      409: SESSION_REFUSALS[409],
      422: { description: "the request body, or the arguments against the tool's schema, are invalid", schemas: ['ActionInvalid', 'ErrorResponse'] },
      429: SESSION_REFUSALS[429],
      502: { description: 'the tool failed; the effect may be unknown', schemas: ['ActionFailed'] },
    },
  },
  {
    method: 'post',
    path: '/decisions',
    operationId: 'decideAction',
    summary: 'Ask whether a tool call may run, for callers that execute it themselves',
    description: 'An allowed action is recorded as authorized (once); execute it, then report what happened with `POST /outcomes`.',
    callers: 'agents',
    body: 'DecisionRequest',
    responses: {
      200: { description: 'allowed: execute exactly this action, once', schemas: ['DecisionAllow'] },
      202: { description: 'a person must approve it first', schemas: ['DecisionPending'] },
      403: { description: 'denied, or only a suggestion at this tier: do not execute', schemas: ['DecisionRefused', 'ErrorResponse'] },
      404: SESSION_REFUSALS[404],
      409: SESSION_REFUSALS[409],
      422: { description: 'invalid request body or arguments', schemas: ['DecisionRefused', 'ErrorResponse'] },
      429: SESSION_REFUSALS[429],
    },
  },
  {
    method: 'post',
    path: '/outcomes',
    operationId: 'reportOutcome',
    summary: 'Report the outcome of an action the caller executed after it was allowed',
    callers: 'agents',
    body: 'OutcomeRequest',
    responses: {
      200: { description: 'recorded in the audit trail as the caller\'s word', schemas: ['OutcomeRecorded'] },
      403: SESSION_REFUSALS[403],
      404: SESSION_REFUSALS[404],
      409: err('the action was not authorized in this run, or its outcome was already reported, or the run is over'),
      422: err('invalid request body'),
    },
  },
  {
    method: 'get',
    path: '/runs/{runId}',
    operationId: 'getRun',
    summary: 'A run: status, steps, verifications and what came of each call',
    callers: 'agents and people',
    description: 'Only the run\'s own agent, or a person.',
    responses: { 200: { description: 'the run', schemas: ['RunView'] }, 403: err('not your run'), 404: err('no such run') },
  },
  {
    method: 'post',
    path: '/runs/{runId}/close',
    operationId: 'closeRun',
    summary: 'End a run: verified when every probe passed, unverified when one failed',
    callers: 'agents',
    responses: { 200: { description: 'the closed run', schemas: ['RunView'] }, 403: SESSION_REFUSALS[403], 404: SESSION_REFUSALS[404], 409: SESSION_REFUSALS[409] },
  },
  {
    method: 'get',
    path: '/approvals',
    operationId: 'listApprovals',
    summary: 'Approvals, pending ones by default',
    callers: 'people',
    query: ApprovalsQuery,
    responses: { 200: { description: 'a page of the approvals, newest first, and where the next begins', schemas: ['ApprovalList'] }, 403: err('only people see approvals'), 422: err('invalid query, or a `before` that is no approval') },
  },
  {
    method: 'get',
    path: '/approvals/{approvalId}',
    operationId: 'getApproval',
    summary: 'One approval and its votes',
    callers: 'agents and people',
    description: 'People, and the agent that requested it (to follow up on a pending action).',
    responses: { 200: { description: 'the approval', schemas: ['ApprovalView'] }, 403: err('not a person, nor its requester'), 404: err('no such approval') },
  },
  {
    method: 'post',
    path: '/approvals/{approvalId}/approve',
    operationId: 'approve',
    summary: 'Approve a pending action (people only; never the requester)',
    callers: 'people',
    body: 'ApproveRequest',
    bodyRequired: false,
    responses: {
      200: { description: 'the vote is recorded; Airlock\'s own runs resume once it is decided', schemas: ['VoteRecorded'] },
      403: err(
        'not eligible by policy (`approve` action); agents, services, the requester and the person the agent acts for can never approve; one person cannot vote twice; a `reauth` approval needs a fresh identity-provider login; an edit that policy denies',
      ),
      404: err('no such approval'),
      409: err('the approval is no longer pending, has expired, or was replaced by an edit'),
      422: err('a justification is missing (high risk, step-up, re-authentication, edits), or the edited arguments are invalid'),
    },
  },
  {
    method: 'post',
    path: '/approvals/{approvalId}/reject',
    operationId: 'reject',
    summary: 'Reject a pending action, with a reason that goes back to the agent',
    callers: 'people',
    body: 'RejectRequest',
    responses: {
      200: { description: 'rejected; Airlock\'s own runs resume and hear why', schemas: ['VoteRecorded'] },
      403: err('not eligible by policy; agents, services, the requester and the person the agent acts for can never decide'),
      404: err('no such approval'),
      409: err('the approval is no longer pending, has expired, or was replaced by an edit'),
      422: err('the reason is missing'),
    },
  },
  {
    method: 'get',
    path: '/grants',
    operationId: 'listGrants',
    summary: 'Standing grants (scoped, time-boxed pre-approvals)',
    callers: 'people',
    query: GrantsQuery,
    responses: { 200: { description: 'a page of the grants, newest first, and where the next begins', schemas: ['GrantList'] }, 403: err('only people see grants'), 422: err('invalid query, or a `before` that is no grant') },
  },
  {
    method: 'post',
    path: '/grants',
    operationId: 'createGrant',
    summary: 'Pre-approve a kind of action for a while (decided by `grant` policies, audited)',
    description: 'A grant stands in for one person\'s approval of actions within its bounds (never for step-up); each use is re-checked against the grantor\'s `approve` eligibility and counted.',
    callers: 'people',
    body: 'GrantRequest',
    responses: {
      201: { description: 'granted', schemas: ['GrantView'] },
      403: err('policy does not let this person grant it, or the caller is not a person'),
      422: err('invalid grant: unknown workflow or tool, a bound on an argument the tool does not expose, a bad duration'),
    },
  },
  {
    method: 'post',
    path: '/grants/{grantId}/revoke',
    operationId: 'revokeGrant',
    summary: 'End a standing grant now (its grantor, or someone policy lets grant the same)',
    callers: 'people',
    body: 'RejectRequest',
    responses: {
      200: { description: 'revoked', schemas: ['GrantView'] },
      403: err('neither the grantor nor allowed to grant it'),
      404: err('no such grant'),
      409: err('already revoked'),
      422: err('the reason is missing'),
    },
  },
  {
    method: 'get',
    path: '/approval-stats',
    operationId: 'approvalStats',
    summary: 'Per-approver approve rate and decision time, overrides, escalations, standing-grant uses',
    callers: 'people',
    responses: { 200: { description: 'the statistics over the newest 10,000 approvals (optionally `?workflow=`)', schemas: ['ApprovalStats'] }, 403: err('only people') },
  },
  {
    method: 'get',
    path: '/usage',
    operationId: 'usage',
    summary: "Model calls, tokens and cost of Airlock's own loop, and every run's tool calls, per workflow, principal or route",
    callers: 'people',
    query: UsageQuery,
    responses: { 200: { description: 'totals over the last `days` UTC days', schemas: ['UsageReport'] }, 403: err('only people'), 422: err('invalid query') },
  },
];
