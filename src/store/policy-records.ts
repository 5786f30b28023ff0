// What the store keeps of the policy lifecycle (types only): each policy set people deployed, and the
// shadow set that runs beside the enforced one (started, replaced, cleared). Two lanes, each read
// newest first; a write lands only on the lane's head the writer saw (compare-and-set).

/** The kinds of policy event. */
export const POLICY_EVENT_KINDS = ['deployed', 'shadow-started', 'shadow-cleared'] as const;
export type PolicyEventKind = (typeof POLICY_EVENT_KINDS)[number];

/** A lane of policy events: deployments, or the shadow (whose head says which shadow is active, if any). */
export type PolicyLane = 'deployed' | 'shadow';

/** The lane an event kind belongs to. */
export function laneOf(kind: PolicyEventKind): PolicyLane {
  return kind === 'deployed' ? 'deployed' : 'shadow';
}

/** One policy file as it was deployed or shadowed: its path in the workspace (or as given) and its text. */
export interface PolicyFileText {
  readonly file: string;
  readonly text: string;
}

/** One policy event, as stored. */
export interface PolicySetEvent {
  /** `pol_` and 12 hex digits. */
  readonly id: string;
  readonly kind: PolicyEventKind;
  /** The compiled set's hash (`CompiledPolicies.policySetHash`); for `shadow-cleared`, the shadow it ended. */
  readonly policySetHash: string;
  /** The policy files' texts (none for `shadow-cleared`). */
  readonly files: readonly PolicyFileText[];
  /** How many policies the set holds (0 for `shadow-cleared`). */
  readonly policies: number;
  /** `user:<id>`: the declared person who did it. */
  readonly by: string;
  /** Why, in their words. */
  readonly message: string;
  /** ISO-8601. */
  readonly at: string;
}

/** The head of a lane without the texts: what the gateway reads on every call to know the active shadow. */
export interface PolicyEventHead {
  readonly id: string;
  readonly kind: PolicyEventKind;
  readonly policySetHash: string;
}
