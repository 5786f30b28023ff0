// The governed action's shapes: who calls (CallContext), what is proposed, what comes of it, and
// what the gateway is built from. Types only.
import type { CompiledPolicies } from '../policy/compile.js';
import type { Store } from '../store/store.js';
import type { ToolContract, WorkflowConfig, Workspace } from '../config/schema.js';
import type { ApprovalId, ApprovalLevel, Decision, Json, JsonObject, Labels, Principal, RunId, Sha256Hex, Tier } from '../types.js';
import type { CheckOutcome } from '../verification/checks.js';
import type { DriftGuard } from '../tools/drift.js';
import type { ConnectorPool } from '../tools/connectors/pool.js';
import type { AuditWriter } from '../audit/writer.js';
import type { ApprovalRecord } from '../store/store.js';
import type { Notify } from './approvals/events.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { SeenValues, Sighting } from '../context/provenance.js';
import type { InjectionSignal } from '../context/injection.js';

/** Who is calling, inside which run. */
export interface CallContext {
  readonly runId: RunId;
  readonly workflow: WorkflowConfig;
  readonly principal: Principal;
  readonly onBehalfOf?: Principal | undefined;
  /** The run's labels before this call (the join of everything read so far). */
  readonly labels: Labels;
  /** Step number within the run, for the audit trail and idempotency keys. */
  readonly step: number;
  /**
   * The values the run has seen, with their sources (context/provenance.ts): policy is told where each
   * exposed argument came from (`context.provenance`). Absent outside a run's own data (a rollback's
   * compensations, built by Airlock from the record).
   */
  readonly seen?: SeenValues;
  /**
   * The tier the workflow file declares, set when the workflow runs lower (a demotion; gateway/tier.ts).
   * A demotion only ever tightens: each call is decided at both tiers and the stricter stands, and a
   * second path that the declared tier asks for still applies.
   */
  readonly declaredTier?: Tier;
  /**
   * `execute` (default): Airlock calls the tool. `authorize`: the caller executes it itself (an API
   * gateway, an in-process SDK tool) and only asks; an allowed action is recorded as authorized.
   */
  readonly mode?: 'execute' | 'authorize';
  /**
   * When true, an executed outcome is returned before its audit record is durable; the caller must
   * await `outcome.committed` (it lets the record share one commit with the caller's run save).
   */
  readonly deferOutcomeCommit?: boolean;
}

/** A tool call the agent wants to make. Only data: nothing here is trusted. */
export interface Proposal {
  readonly tool: string;
  readonly args: JsonObject;
  /** The agent's stated reason, recorded (truncated) with the intent for reviewers. */
  readonly reasoning?: string | undefined;
}

/** What the contract's probe said about an executed action. */
export interface VerificationResult {
  readonly probe: string;
  readonly outcome: CheckOutcome | { readonly status: 'error'; readonly message: string };
}

/** What the second path of a high-risk step said, as recorded. */
export interface SecondPathResult {
  readonly status: 'passed' | 'failed' | 'error';
  readonly check: string;
  readonly message: string;
}

/** Everything that can come of a proposal. None of these is thrown. */
export type GatewayOutcome =
  | {
      readonly kind: 'executed';
      readonly result: Json;
      /** The run's labels after reading the result. */
      readonly labels: Labels;
      /** The result's own labels (its contract's classification and trust): its provenance, as the model is told. */
      readonly source: Labels;
      /** The values in the result, each with its source and trust (the contract's `trust` and `fieldTrust`). */
      readonly sightings: readonly Sighting[];
      /** Injection signals in an untrusted result, when the detector found any (`result` is then a notice if quarantined). */
      readonly flagged?: { readonly signals: readonly InjectionSignal[]; readonly quarantined: boolean };
      readonly actionHash: Sha256Hex;
      readonly decision: Decision;
      readonly verification: VerificationResult | null;
      readonly approvalId: ApprovalId | null;
      /** The standing grant that stood in for an approval, if one did. */
      readonly grantId?: string;
      /** When an approver edited the arguments: what was executed instead of what was proposed. */
      readonly revisedArgs?: JsonObject;
      /** Only with `deferOutcomeCommit`: settles when the outcome record is durable. */
      readonly committed?: Promise<void>;
    }
  | {
      readonly kind: 'denied';
      readonly reasons: readonly string[];
      readonly policyIds: readonly string[];
      readonly actionHash: Sha256Hex | null;
      /** The halt that stopped it (a person pulled the kill switch on its scope), when that is why. */
      readonly halt?: string;
    }
  | { readonly kind: 'invalid'; readonly errors: readonly string[] }
  | { readonly kind: 'suggested'; readonly actionHash: Sha256Hex; readonly decision: Decision }
  | {
      readonly kind: 'pending-approval';
      readonly approvalId: ApprovalId;
      readonly level: ApprovalLevel;
      readonly actionHash: Sha256Hex;
      readonly decision: Decision;
    }
  | { readonly kind: 'failed'; readonly failure: string; readonly message: string; readonly actionHash: Sha256Hex }
  | {
      /** `authorize` mode: the caller may now execute this exact action itself, once. */
      readonly kind: 'authorized';
      readonly actionHash: Sha256Hex;
      readonly decision: Decision;
      readonly approvalId: ApprovalId | null;
      readonly grantId?: string;
      /** For a contract with `idempotencyKey`: the key the caller must send upstream, so a retry never repeats the effect. */
      readonly idempotencyKey?: string;
      /** The run's labels once the caller has the result. */
      readonly labels: Labels;
    };

/** What the gateway is built from (the composition root wires it, tests give fakes). */
export interface GatewayDeps {
  readonly workspace: Workspace;
  readonly policies: CompiledPolicies;
  readonly store: Store;
  /** Where connectors come from (the workspace's pool; a fake in gateway unit tests). */
  readonly connectors: Pick<ConnectorPool, 'get'>;
  readonly audit: AuditWriter;
  readonly now: () => Date;
  readonly newApprovalId: () => ApprovalId;
  /** Compares reviewed upstream definitions with the live ones (tool drift); absent: no check. */
  readonly driftGuard?: Pick<DriftGuard, 'checkContract' | 'invalidate'>;
  /** Builds what an approver is shown (citations, reasoning, diff against ground truth); absent: arguments only. */
  readonly evidence?: (input: { runId: RunId; contract: ToolContract; args: JsonObject; reasoning: string | null }) => Promise<JsonObject>;
  /** Standing grants: an owner's pre-approval that may cover a `single` obligation; absent: none. */
  readonly grants?: GrantCover;
  /** Queues approval notifications (webhooks); absent: none. */
  readonly notify?: Notify | undefined;
  /** Tool latency and errors by connector (`/metrics`); absent: not counted. */
  readonly metrics?: Pick<Metrics, 'observeTool'>;
}

/** What the gateway asks of standing grants: whether one covers this action now, counting the use if so. */
export interface GrantCover {
  cover(ctx: CallContext, contract: ToolContract, args: JsonObject, hash: Sha256Hex): Promise<{ readonly grantId: string; readonly uses: number } | null>;
}


/** What came of an approver's edit turned into a new action. */
export type RevisedAction =
  | { readonly kind: 'created'; readonly approval: ApprovalRecord }
  | { readonly kind: 'invalid'; readonly errors: readonly string[] }
  | { readonly kind: 'denied'; readonly reasons: readonly string[] };

/** What deciding an edit asks of the gateway: turn the approver's arguments into a new, decided action. */
export interface Reviser {
  reviseAction(original: ApprovalRecord, args: JsonObject, ctx: CallContext, edit: { readonly by: string; readonly reason: string }): Promise<RevisedAction>;
}
