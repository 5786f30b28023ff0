// What the store keeps of a pilot beside its runs (types only): the events that change what a workflow
// may do or end its pilot: a decision proposed and each sign-off of it, each sign-off of a promotion, and
// each change of the tier it runs at (a promotion the owners signed, a demotion by rule or by a person).

/** The kinds of pilot event. */
export const PILOT_EVENT_KINDS = ['decision', 'decision-signed', 'autonomy-signed', 'tier-changed'] as const;
export type PilotEventKind = (typeof PILOT_EVENT_KINDS)[number];

/** One pilot event of a workflow, as stored (its body by kind: see pilot/decisions.ts). */
export interface PilotEvent {
  readonly id: string;
  readonly workflow: string;
  readonly kind: PilotEventKind;
  /** ISO-8601. */
  readonly at: string;
  /** `user:<id>` who did it, or null when Airlock did (a demotion by rule). */
  readonly by: string | null;
  readonly body: { readonly [k: string]: unknown };
}
