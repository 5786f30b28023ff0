// Shared domain types: plain data and tagged unions that every layer speaks.
// Nothing here does IO; zod schemas for these live at the trust boundaries (config, store, HTTP).

declare const brand: unique symbol;
/** A string that only stands where its brand belongs (a run id is never a policy id). */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type RunId = Brand<string, 'RunId'>;
export type ApprovalId = Brand<string, 'ApprovalId'>;
export type PolicyId = Brand<string, 'PolicyId'>;
/** Lowercase hex SHA-256. */
export type Sha256Hex = Brand<string, 'Sha256Hex'>;

/** What a tool does to the world, from least to most dangerous. */
export const EFFECTS = ['read', 'write', 'destructive', 'egress', 'financial'] as const;
export type Effect = (typeof EFFECTS)[number];

export const RISKS = ['low', 'medium', 'high', 'critical'] as const;
export type Risk = (typeof RISKS)[number];

export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export const TRUST = ['trusted', 'untrusted'] as const;
export type Trust = (typeof TRUST)[number];

/** Autonomy tiers, least autonomous first. Policy can only tighten them. */
export const TIERS = ['assist', 'prepare', 'execute-low', 'execute-high'] as const;
export type Tier = (typeof TIERS)[number];

export const OWNER_BOUNDARIES = [
  'product',
  'architecture',
  'platform',
  'security',
  'domain',
  'compliance',
] as const;
export type OwnerBoundary = (typeof OWNER_BOUNDARIES)[number];

export type PrincipalKind = 'user' | 'agent' | 'service';

/** Who is acting: what authentication proved, never what a request body claimed. */
export interface Principal {
  readonly kind: PrincipalKind;
  readonly id: string;
  readonly roles: readonly string[];
}

/** Data labels that travel from retrieved content into model output and tool arguments. */
export interface Labels {
  readonly classification: Classification;
  readonly trust: Trust;
}

/**
 * What a permit's `@approval` obligation asks of people, weakest first: `single` (one eligible
 * person), `reauth` (step-up by re-authentication: one eligible person whose login is recent and
 * strong), `step-up` (four eyes: two distinct eligible people).
 */
export const APPROVAL_LEVELS = ['single', 'reauth', 'step-up'] as const;
export type ApprovalLevel = (typeof APPROVAL_LEVELS)[number];

/** Why a decision came out the way it did: enough to replay it from the audit record. */
export interface Basis {
  /** Ids of the Cedar policies that determined the decision (empty for deny-by-default). */
  readonly policyIds: readonly string[];
  /** Content hash of the whole policy set the decision was made against. */
  readonly policySetHash: Sha256Hex;
  /** Human-readable reasons, from policy `@reason` annotations and tier rules. */
  readonly reasons: readonly string[];
}

/**
 * The outcome of the policy boundary for one proposed action.
 * `suggest`: the tier forbids executing side effects (assist); the proposal is only recorded.
 */
export type Decision =
  | { readonly kind: 'allow'; readonly basis: Basis }
  | { readonly kind: 'deny'; readonly basis: Basis }
  | { readonly kind: 'approval'; readonly basis: Basis; readonly level: ApprovalLevel }
  | { readonly kind: 'suggest'; readonly basis: Basis };

export type RunStatus =
  | 'queued'
  | 'running'
  | 'awaiting-approval'
  | 'completed'
  | 'verified'
  | 'unverified'
  | 'failed'
  | 'cancelled';

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = [
  'completed',
  'verified',
  'unverified',
  'failed',
  'cancelled',
];

/**
 * `edited`: an approver changed the arguments; the new action has its own approval (`supersededBy`).
 * `withdrawn`: the run that asked ended first (its session closed or its process died); nobody is asked any more.
 */
export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'consumed', 'edited', 'withdrawn'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** JSON values as they cross boundaries. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };
export type JsonObject = { readonly [k: string]: Json };

/** One model turn's usage, added to the daily sums of its scopes (`workflow:<name>`, `principal:<ref>`, `route:<name>`). */
export interface UsageDelta {
  readonly scopes: readonly string[];
  /** The UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  /** Upper-case ISO code of the cost, or '' when the turn was not priced. */
  readonly currency: string;
  readonly modelCalls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costMicros: number;
  /** Tool calls sent to the gateway (Airlock's own loop's and external agents' alike). */
  readonly toolCalls: number;
}
