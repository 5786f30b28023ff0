// Incidents as the store keeps them: what a person must look at about one run, and what may change on one.
import type { Json, OwnerBoundary, RunId } from '../types.js';

/**
 * What an incident is about: a failed check, a failed rollback, a run that kept pushing against
 * Airlock's refusals, a call sent upstream whose outcome nobody recorded (its process died), or an
 * evaluation scenario whose attack succeeded (`airlock eval`).
 */
export const INCIDENT_KINDS = ['verification-failed', 'rollback-failed', 'policy-violations', 'unknown-outcome', 'injection-suspected', 'attack-succeeded'] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

export const INCIDENT_STATUSES = ['open', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Something a person must look at, about one run, routed to the owner of the boundary it touches. */
export interface IncidentRecord {
  readonly id: string;
  readonly runId: RunId;
  readonly kind: IncidentKind;
  /** Tells incidents of one kind in one run apart; while one is open, opening the same (run, kind, key) again returns it. */
  readonly key: string;
  readonly title: string;
  /** What shows it: audit seqs, tools, reasons, the steps that failed. */
  readonly evidence: Json;
  /** The workflow owner boundary it is routed to (domain, platform, security...). */
  readonly boundary: OwnerBoundary;
  /** That owner's contact as the workflow names it, or null when nobody is named. */
  readonly owner: string | null;
  readonly status: IncidentStatus;
  readonly createdAt: string;
  readonly resolvedAt: string | null;
  /** `user:<id>` who resolved it. */
  readonly resolvedBy: string | null;
  /** What the person who resolved it wrote. */
  readonly resolution: string | null;
  /** `user:<id>` the incident is assigned to (absent: nobody yet), and since when. */
  readonly assignee?: string;
  readonly assignedAt?: string;
}

/** The fields `updateIncident` may change; the rest of an incident never changes. */
export interface IncidentUpdate {
  readonly status: IncidentStatus;
  readonly resolvedAt?: string | null;
  readonly resolvedBy?: string | null;
  readonly resolution?: string | null;
  readonly assignee?: string;
  readonly assignedAt?: string;
}
