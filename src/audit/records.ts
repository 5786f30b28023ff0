// The audit trail's vocabulary: every record type Airlock writes, its body, a builder and a typed
// reader. Pure. Bodies are key for key what earlier versions wrote, so old trails verify and read.
import type { AuditPayload, AuditRecord } from '../store/store.js';
import type { ApprovalLevel, Json, JsonObject, Risk } from '../types.js';

/** Why a proposed (or approved) action did not execute: a closed set, shown to people and counted by incidents. */
export const NOT_EXECUTED_REASONS = [
  // refused before any decision
  'invalid-arguments',
  'unknown-tool',
  'tool-drift',
  // decided against
  'denied',
  'suggested',
  'edit-denied',
  // a person's decision, or nobody's in time
  'rejected',
  'expired',
  // an approved action refused at execution
  'approval-missing',
  'approval-mismatch',
  'approval-not-approved',
  'approval-expired',
  'approval-used',
  'approval-insufficient',
  'denied-at-execution',
  'second-path-disagreed',
  // limits of a run
  'concurrency-limit',
  // a person stopped its scope (the kill switch)
  'halted',
] as const;
export type NotExecutedReason = (typeof NOT_EXECUTED_REASONS)[number];

/** Why a door refused a request before any run saw it (or for a run, without a proposal). */
export const REQUEST_REFUSALS = ['too-large', 'rate-limit', 'malformed', 'open-runs-limit', 'session-hijack', 'no-workflow', 'halted'] as const;
export type RequestRefusal = (typeof REQUEST_REFUSALS)[number];

/** How an approver proved who they are, as votes, refusals and grants record it. */
export type AuthFields = {
  readonly issuer: string | null;
  readonly subject: string | null;
  readonly authMethod: string;
  readonly authTime: string | null;
};

type Body = { readonly [k: string]: Json | undefined };

/** The body of each record type. Optional fields are those only some writers give. */
export type RecordBodies = {
  'run.started': {
    readonly workflow: string;
    readonly tier: string;
    readonly door?: string;
    readonly rollbackOf?: string;
    readonly inputHash: string;
    readonly policySetHash: string;
    readonly owners: Json;
    readonly instance?: string;
  };
  'run.status': { readonly from: string; readonly to: string; readonly reason: string | null };
  'run.budget-exhausted': { readonly reason: string; readonly steps: number; readonly activeMs?: number };
  'run.checked': { readonly checks: readonly { readonly name: string; readonly status: string; readonly evidence: Json }[] };
  'model.called': {
    readonly route: string;
    readonly provider: string;
    readonly model: string;
    readonly inputTokens: number | null;
    readonly outputTokens: number | null;
    /** In `currency`, from the route's price table (`priceVersion`); null when the route has none. */
    readonly cost: number | null;
    readonly currency: string | null;
    readonly priceVersion: string | null;
    /** Why this route took the turn: the rule or the workflow, fallbacks after failures, routes skipped for clearance. */
    readonly why?: string;
    /** This answer proposed `tool`, whose risk routing sends to route `to`: it was set aside, never acted on, and `to` was asked instead. */
    readonly setAside?: { readonly tool: string; readonly risk: Risk; readonly to: string };
  };
  'model.malformed': {
    /** What was wrong with the reply (`MALFORMED_PROBLEMS`). */
    readonly problem: string;
    readonly detail: string;
    /** The tool it tried to call, when it tried. */
    readonly tool: string | null;
    /** The start of what it sent (bounded): evidence, never acted on. */
    readonly excerpt: string | null;
    /** Whether the model is asked once more (false: this was the repair turn, and the run ends). */
    readonly repair: boolean;
  };
  'model.refused': { readonly classification: string; readonly reason: string };
  'run.finished': {
    readonly status: string;
    readonly reason: string | null;
    readonly steps: number;
    readonly activeMs: number | null;
    readonly claim: string | null;
    readonly verifications: Json;
    readonly endedBy?: 'session' | 'recovery';
  };
  'action.intent': {
    readonly tool: string;
    readonly step: number;
    readonly toolDefHash?: string;
    readonly argsHash: string | null;
    readonly argsBytes?: number;
    readonly argsPreview?: string;
    readonly actionHash?: string;
    readonly labels?: JsonObject;
    readonly idempotencyKey?: string;
    readonly reasoning?: string;
    readonly revisionOf?: string;
    readonly revisedBy?: string;
  };
  'action.decision': {
    readonly tool: string;
    readonly actionHash: string;
    readonly approvalId?: string;
    readonly recheck?: boolean;
    readonly decision: string;
    readonly level?: ApprovalLevel;
    readonly policyIds: readonly string[];
    readonly policySetHash: string;
    readonly reasons: readonly string[];
    /**
     * A payload ref (keyed when the run's data is sensitive, like the arguments): what policy was given
     * beside the arguments (`DecisionInputs`: workflow, tier, labels, the principal's roles, value
     * standings), so the request can be rebuilt exactly (`airlock policy what-if`). Absent in older records.
     */
    readonly inputsHash?: string;
  };
  'action.not-executed': {
    readonly tool?: string;
    readonly resource?: string;
    readonly prompt?: string;
    readonly step?: number;
    readonly actionHash?: string;
    readonly approvalId?: string | null;
    readonly why: NotExecutedReason;
    readonly code?: string;
    readonly reasons: readonly string[];
    readonly reviewedUpstream?: Json;
    readonly liveUpstream?: Json;
  };
  'action.second-path': { readonly tool: string; readonly actionHash: string; readonly status: string; readonly check: string; readonly message: string; readonly probe?: string };
  'action.authorized': {
    readonly tool: string;
    readonly actionHash: string;
    readonly approvalId: string | null;
    readonly grantId?: string;
    readonly idempotencyKey?: string;
    readonly executor: 'caller';
  };
  'context.flagged': {
    readonly tool: string;
    readonly actionHash: string;
    readonly signals: readonly { readonly kind: string; readonly path: string; readonly excerpt: string }[];
    readonly quarantined: boolean;
  };
  'action.executed': {
    readonly tool: string;
    readonly actionHash: string;
    readonly approvalId?: string | null;
    readonly grantId?: string;
    readonly idempotencyKey?: string;
    readonly outcome: 'ok' | 'error';
    readonly failure?: string;
    readonly message?: string;
    readonly resultHash?: string | null;
    readonly compensation?: Json;
    readonly irreversible?: boolean;
    readonly reportedBy?: 'caller';
  };
  'action.verified': { readonly tool: string; readonly actionHash: string; readonly probe: string; readonly status: string; readonly evidence: Json };
  /** A ground-truth read made for Airlock's own checks (verification, second path, evidence, run checks), not by the agent. */
  'probe.read': {
    readonly probe: string;
    readonly purpose: 'verification' | 'second-path' | 'evidence' | 'run-check';
    readonly argsHash: string;
    readonly outcome: 'ok' | 'error';
    readonly resultHash?: string;
    readonly failure?: string;
    readonly message?: string;
  };
  'approval.requested': {
    readonly approvalId: string;
    readonly actionHash: string;
    readonly tool: string;
    readonly level: ApprovalLevel;
    readonly expiresAt: string;
    readonly summaryHash: string;
    readonly assignee: string | null;
    readonly editedFrom?: string;
    readonly editedBy?: string;
  };
  'approval.decided': AuthFields & {
    readonly approvalId: string;
    readonly actionHash: string;
    readonly vote: 'approve' | 'reject';
    readonly reason: string | null;
    readonly status: string;
    readonly votes: number;
    readonly needed: number;
    readonly policyIds: readonly string[];
    readonly summaryHash: string | null;
    readonly decisionSeconds: number;
  };
  'approval.refused': AuthFields & {
    readonly approvalId: string;
    readonly actionHash: string;
    readonly attempted: string;
    readonly reason: string;
    readonly policyIds: readonly string[];
  };
  'approval.vote-lost': { readonly approvalId: string; readonly vote: string; readonly reason: string };
  'approval.escalated': { readonly approvalId: string; readonly actionHash: string; readonly from: string | null; readonly to: string | null; readonly escalations: number };
  'approval.expired': {
    readonly approvalId: string;
    readonly actionHash: string;
    readonly expiresAt: string;
    readonly votes: number;
    readonly unused?: boolean;
    readonly voided?: string;
  };
  'approval.withdrawn': { readonly approvalId: string; readonly actionHash: string; readonly was: string; readonly votes: number; readonly reason: string };
  'approval.consumed': {
    readonly approvalId: string;
    readonly actionHash: string;
    readonly tool: string;
    readonly step: number;
    readonly consumedAt: string;
    readonly idempotencyKey?: string;
  };
  'override.recorded':
    | { readonly kind: 'rejected'; readonly approvalId: string; readonly proposedActionHash: string; readonly by: string; readonly reason: string | null }
    | (AuthFields & {
        readonly kind: 'edited';
        readonly approvalId: string;
        readonly revisedApprovalId: string;
        readonly proposedActionHash: string;
        readonly chosenActionHash: string;
        readonly changedFields: readonly string[];
        readonly by: string;
        readonly reason: string;
      });
  'grant.created': AuthFields & {
    readonly grantId: string;
    readonly workflow: string;
    readonly tool: string;
    readonly bounds: Json;
    readonly expiresAt: string;
    readonly maxUses: number | null;
    readonly reason: string;
    readonly policyIds: readonly string[];
  };
  'grant.refused': AuthFields & {
    readonly grantId?: string;
    readonly workflow?: string;
    readonly tool?: string;
    readonly bounds?: Json;
    readonly attempted?: string;
    readonly reason: string;
    readonly policyIds?: readonly string[];
  };
  'grant.revoked': AuthFields & { readonly grantId: string; readonly reason: string; readonly uses: number };
  'grant.used': {
    readonly grantId: string;
    readonly actionHash: string;
    readonly tool: string;
    readonly grantor: string;
    readonly uses: number;
    readonly maxUses: number | null;
    readonly policyIds: readonly string[];
  };
  'grant.not-applied': { readonly grantId: string; readonly actionHash: string; readonly reasons: readonly string[] };
  'request.refused': {
    readonly door: string;
    readonly why?: RequestRefusal;
    readonly reason: string;
    readonly route?: string;
    readonly status?: number;
    readonly credential?: string | null;
    readonly requested?: string;
    readonly issues?: readonly string[];
  };
  'incident.opened': {
    readonly incidentId: string;
    readonly kind: string;
    readonly key: string;
    readonly title: string;
    readonly boundary: string;
    readonly owner: string | null;
    readonly evidence: Json;
  };
  'incident.resolved': { readonly incidentId: string; readonly kind: string; readonly resolution: string; readonly resolvedAt: string };
  'incident.assigned': { readonly incidentId: string; readonly kind: string; readonly assignee: string; readonly previous: string | null };
  'incident.refused': { readonly incidentId: string; readonly attempted: string; readonly reason: string };
  'rollback.started': {
    readonly rollbackOf: string;
    readonly rollbackRunId: string;
    readonly attempt: number;
    readonly resumed: boolean;
    readonly requestedBy: string;
    readonly effects: number;
  };
  'rollback.compensating': { readonly rollbackOf: string; readonly effectSeq: number; readonly tool: string; readonly compensation: string };
  'rollback.step': {
    readonly rollbackOf: string;
    readonly rollbackRunId: string;
    readonly step: number;
    readonly effectSeq: number;
    readonly tool: string;
    readonly compensation: Json;
    readonly outcome: string;
    readonly detail: string;
    readonly approvalId: string | null;
    readonly executed: boolean;
  };
  'halt.started': AuthFields & { readonly haltId: string; readonly scope: string; readonly reason: string };
  'halt.lifted': AuthFields & {
    readonly haltId: string;
    readonly scope: string;
    readonly reason: string;
    readonly stoppedBy: string;
    readonly stoppedAt: string;
    readonly haltedSeconds: number;
  };
  'halt.refused': AuthFields & { readonly attempted: 'stop' | 'resume'; readonly scope: string; readonly haltId?: string; readonly reason: string };
  'pilot.decided': Partial<AuthFields> & { readonly decisionId: string; readonly workflow: string; readonly outcome: string; readonly reason: string; readonly required: readonly string[]; readonly evidence: Json };
  'pilot.signed': Partial<AuthFields> & { readonly decisionId: string; readonly workflow: string; readonly outcome: string };
  'autonomy.signed': Partial<AuthFields> & { readonly workflow: string; readonly tier: string };
  'autonomy.changed': Partial<AuthFields> & { readonly workflow: string; readonly from: string; readonly to: string; readonly reason: string; readonly automatic: boolean };
  'policy.deployed': AuthFields & {
    readonly eventId: string;
    readonly policySetHash: string;
    readonly policies: number;
    /** Each file's path and the SHA-256 of its text (the texts are kept with the deployment in the store). */
    readonly files: readonly { readonly file: string; readonly sha256: string }[];
    readonly message: string;
    /** The set deployed before, if any. */
    readonly previous: string | null;
  };
  'policy.shadow-started': AuthFields & {
    readonly eventId: string;
    readonly policySetHash: string;
    readonly policies: number;
    readonly files: readonly { readonly file: string; readonly sha256: string }[];
    readonly message: string;
    /** The shadow it replaced, if one was active. */
    readonly replaces: string | null;
  };
  'policy.shadow-cleared': AuthFields & { readonly eventId: string; readonly shadowId: string; readonly policySetHash: string; readonly message: string };
  'policy.shadow': {
    readonly tool: string;
    readonly actionHash: string;
    /** The shadow's event id and its compiled set's hash. */
    readonly shadowId: string;
    readonly policySetHash: string;
    /** What the shadow set decided (`error` when it could not decide: `error` says why). */
    readonly decision: string;
    readonly level?: string;
    readonly policyIds: readonly string[];
    /** What was decided and enforced. */
    readonly enforced: string;
    readonly enforcedLevel?: string;
    /** `same`, `newly-denied`, `newly-allowed`, `obligation-changed`, or `error`. */
    readonly change: string;
    readonly differs: boolean;
    readonly error?: string;
  };
  'rollback.finished': {
    readonly rollbackOf: string;
    readonly rollbackRunId: string;
    readonly attempt: number;
    readonly status: string;
    readonly reason: string | null;
    readonly incidentId: string | null;
    readonly steps: Json;
  };
};

/** Every record type, in the order the docs list them (tested against docs/internals.md). */
export const RECORD_TYPES = [
  'run.started',
  'run.status',
  'run.budget-exhausted',
  'run.checked',
  'model.called',
  'model.malformed',
  'model.refused',
  'run.finished',
  'action.intent',
  'action.decision',
  'action.not-executed',
  'action.second-path',
  'action.authorized',
  'action.executed',
  'context.flagged',
  'action.verified',
  'probe.read',
  'approval.requested',
  'approval.decided',
  'approval.refused',
  'approval.vote-lost',
  'approval.escalated',
  'approval.expired',
  'approval.withdrawn',
  'approval.consumed',
  'override.recorded',
  'grant.created',
  'grant.refused',
  'grant.revoked',
  'grant.used',
  'grant.not-applied',
  'request.refused',
  'incident.opened',
  'incident.resolved',
  'incident.assigned',
  'incident.refused',
  'rollback.started',
  'rollback.compensating',
  'rollback.step',
  'rollback.finished',
  'halt.started',
  'halt.lifted',
  'halt.refused',
  'pilot.decided',
  'pilot.signed',
  'autonomy.signed',
  'autonomy.changed',
  'policy.deployed',
  'policy.shadow-started',
  'policy.shadow-cleared',
  'policy.shadow',
] as const satisfies readonly (keyof RecordBodies)[];

export type RecordType = (typeof RECORD_TYPES)[number];
// INVARIANT: the list names every type the vocabulary defines (a type added to one and not the other fails to compile).
type Missing = Exclude<keyof RecordBodies, RecordType>;
const _everyTypeListed: [Missing] extends [never] ? true : Missing = true;
void _everyTypeListed;

/** One record to append: a known type, its body (fields left `undefined` are dropped), payloads by hash. */
export interface TypedItem<T extends RecordType = RecordType> {
  readonly type: T;
  readonly body: { readonly [k: string]: Json };
  readonly payloads?: readonly AuditPayload[];
}

/** Builds a record of type `type`: the one way writers spell a record (checked against its body type). */
export function rec<T extends RecordType>(type: T, body: RecordBodies[T] & Body, payloads?: readonly AuditPayload[]): TypedItem<T> {
  const clean: Record<string, Json> = {};
  for (const [k, v] of Object.entries(body)) if (v !== undefined) clean[k] = v;
  return payloads && payloads.length > 0 ? { type, body: clean, payloads } : { type, body: clean };
}

/** A stored record of a known type, its body typed (stored bodies were written by `rec`, or by earlier versions key for key). */
export type TypedRecord<T extends RecordType> = Omit<AuditRecord, 'type' | 'body'> & { readonly type: T; readonly body: RecordBodies[T] };

/** Whether `r` is of type `type` (narrows its body). */
export function isRecord<T extends RecordType>(r: AuditRecord, type: T): r is AuditRecord & TypedRecord<T> {
  return r.type === type;
}

/** The records of type `type`, in order, bodies typed. */
export function recordsOf<T extends RecordType>(records: readonly AuditRecord[], type: T): TypedRecord<T>[] {
  return records.filter((r): r is AuditRecord & TypedRecord<T> => r.type === type);
}

/** What each record type says, in one line: the source of the table in docs/internals.md (`npm run gen`). */
export const RECORD_DOCS: { readonly [T in RecordType]: string } = {
  'run.started': 'a run began: workflow, tier, door (for an external agent), owners, policy-set hash, the serving instance',
  'run.status': 'a run changed status (`from`, `to`, why)',
  'run.budget-exhausted': 'a budget stopped the run, between steps',
  'run.checked': "the workflow's run-level checks against ground truth, when the agent said done",
  'model.called': "one turn of Airlock's own model: the route, provider and model, why that route (`why`), the tokens the provider reported, and the cost from the route's price table (its version and currency)",
  'model.malformed': "a model reply that could not be used (arguments not a JSON object, cut off, a refusal, empty, a tool it was not offered): never acted on; the model is told why once (`repair`), and a second in a row ends the run",
  'model.refused': 'a turn no model route may take: the run has read content above the clearance of every route it could use (the run ends)',
  'run.finished': 'a run ended: status, reason, steps, the claim, verifications; `endedBy` for external runs (`session` or `recovery`)',
  'action.intent': 'a proposed call, written ahead: tool, step, argument hash (a hash and a preview only when refused before any decision), action hash, labels, idempotency key',
  'action.decision': 'the decision on an action: allow, deny, approval (level) or suggest, with policy ids, reasons and the policy-set hash; `recheck` at execution; `inputsHash` the payload of its other inputs (workflow, tier, labels, roles, value standings), for replays',
  'action.not-executed': 'why an action did not run: one of the closed set of reasons (`NOT_EXECUTED_REASONS`)',
  'action.second-path': "the second path's verdict on a high-risk step (passed, failed, error)",
  'action.authorized': '`authorize` mode: the caller may execute this action itself, once',
  'context.flagged': 'instruction-like text in an untrusted result (injection signals: kind, where, an excerpt); `quarantined` when the agent was not shown it',
  'action.executed': 'the outcome of a call: ok (result hash, compensation, irreversible) or error (failure, message); `reportedBy: caller` in authorize mode',
  'action.verified': "the contract's verification against ground truth (passed, failed, error) and its evidence",
  'probe.read': 'a read of ground truth Airlock made for its own checks (verification, second path, evidence, run check), not the agent',
  'approval.requested': 'people are asked: approval id, level, deadline, the hash of what they are shown, who it is routed to',
  'approval.decided': 'a vote: approve or reject, with the voter, how they authenticated, the summary hash they saw, the time taken',
  'approval.refused': 'a vote or edit that was refused (not eligible, wrong state, missing justification)',
  'approval.vote-lost': 'in older trails only: a vote written ahead that lost a race (a vote and its record now commit together, so a lost vote leaves none)',
  'approval.escalated': 'undecided, it went to the next owner',
  'approval.expired': 'its deadline passed (undecided, or approved and unused), or the second path voided it',
  'approval.withdrawn': 'its run ended first, so nobody will use it',
  'approval.consumed': 'an approval was used by an execution (written ahead; single use)',
  'override.recorded': 'a person changed what the agent proposed (edited) or refused it (rejected)',
  'grant.created': 'a standing grant: its bounds, duration, uses and grantor',
  'grant.refused': 'a grant (or its revocation) that was refused',
  'grant.revoked': 'a grant was revoked',
  'grant.used': 'a standing grant stood in for an approval',
  'grant.not-applied': 'a grant that would have covered an action no longer did (its grantor is no longer eligible)',
  'request.refused': 'a door refused a request: too large, rate, malformed, open-run cap, session hijack, no workflow',
  'incident.opened': 'an incident for a person, routed to the owner of its boundary',
  'incident.resolved': 'a person resolved an incident, with a note',
  'incident.assigned': 'a person assigned an open incident to a person',
  'incident.refused': 'an attempt to resolve or assign an incident was refused',
  'rollback.started': 'a rollback of a run began (or resumed)',
  'rollback.compensating': 'a compensation is about to be proposed (a marker, so a re-run knows)',
  'rollback.step': 'what came of undoing one effect',
  'rollback.finished': 'a rollback ended: completed, awaiting approval, or failed',
  'halt.started': 'a person pulled the kill switch on a scope (`workflow:NAME`, `principal:KIND:ID`, `connector:NAME` or `all`), with the reason: nothing in it executes, starts or is approved until it is lifted',
  'halt.lifted': 'an owner lifted a halt, with the reason and how long it held',
  'halt.refused': 'an attempt to stop or resume a scope that was refused (not a person, not an owner, nothing to lift)',
  'pilot.decided': "a person proposed the decision that ends a workflow's pilot (scale, redesign or stop), with the reason, who must sign it and the evidence as it stood",
  'pilot.signed': "a person named to sign a pilot's decision signed it",
  'autonomy.signed': 'a person named by the next tier\'s `signOff` signed a step up the autonomy rules recommended',
  'autonomy.changed': "the tier a workflow runs at changed: a promotion every named owner signed, a demotion by a person, or one by the pilot's rules (`automatic`)",
  'policy.deployed': "a person recorded the workspace's policy set as deployed: its hash, each file's hash, the message, the set deployed before",
  'policy.shadow-started': 'a person set a draft policy set as the shadow: decided beside the enforced set on every proposal, recorded, never enforced',
  'policy.shadow-cleared': 'a person ended the active shadow policy set',
  'policy.shadow': "the shadow set's decision on a proposal, in the same append as the enforced decision: its kind, policy ids, and whether (`change`) it differs; never enforced",
};

/** The record-type table of docs/internals.md, as `npm run gen` writes it between its markers. */
export function recordTypesTable(): string {
  return ['| record type | what it says |', '|---|---|', ...RECORD_TYPES.map((t) => `| \`${t}\` | ${RECORD_DOCS[t]} |`)].join('\n');
}
