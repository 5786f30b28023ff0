// What the store keeps of the kill switch (types only): a halt on one scope, and what lifting it sets.

/**
 * What a halt stops, by kind: one workflow, one principal (the agent acting, or the person agents act
 * for), one connector, or everything (`all`).
 */
export const HALT_SCOPE_KINDS = ['workflow', 'principal', 'connector', 'all'] as const;
export type HaltScopeKind = (typeof HALT_SCOPE_KINDS)[number];

export const HALT_STATUSES = ['active', 'lifted'] as const;
export type HaltStatus = (typeof HALT_STATUSES)[number];

/**
 * A kill switch a person pulled: while it is active, no action in its scope executes, no run starts
 * in it and no approval in it is approved. At most one active halt per scope; lifting it needs an owner.
 */
export interface HaltRecord {
  readonly id: string;
  /** What it stops, as a key: `workflow:NAME`, `principal:KIND:ID`, `connector:NAME`, or `all`. */
  readonly scope: string;
  /** Why, in the words of the person who stopped it. */
  readonly reason: string;
  /** `user:<id>` who stopped it. */
  readonly stoppedBy: string;
  readonly stoppedAt: string;
  readonly status: HaltStatus;
  /** `user:<id>` who lifted it, when, and why (null while active). */
  readonly liftedBy: string | null;
  readonly liftedAt: string | null;
  readonly liftReason: string | null;
}

/** The fields lifting a halt sets. */
export interface HaltLift {
  readonly liftedBy: string;
  readonly liftedAt: string;
  readonly liftReason: string;
}
