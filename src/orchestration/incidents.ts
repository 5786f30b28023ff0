// Incidents: what a person must look at (a failed verification, a failed rollback, a run that kept
// pushing against policy), routed to the workflow owner of the boundary it touches, opened once, resolved by people.
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../errors.js';
import type { Workspace } from '../config/schema.js';
import type { IncidentKind, IncidentRecord, Store } from '../store/store.js';
import type { Json, OwnerBoundary, Principal, RunId } from '../types.js';
import type { AuditWriter } from '../audit/writer.js';
import { principalRef } from '../audit/writer.js';
import { resolvePrincipal } from '../identity/principal.js';
import { isRecord, rec, recordsOf, type NotExecutedReason } from '../audit/records.js';
import { demoteOnIncident } from '../pilot/decisions.js';

/** What opening and resolving incidents needs (an `Airlock` has all of it). */
export interface IncidentDeps {
  readonly store: Store;
  readonly audit: AuditWriter;
  readonly now: () => Date;
  readonly workspace: Workspace;
  /** Incident ids (default: `inc_` and 12 random hex digits). */
  readonly newIncidentId?: () => string;
}

/**
 * The owner boundary each kind goes to: a check that failed against ground truth is the domain's
 * (the business owns what "done" means); a rollback that could not finish is the platform's (connectors,
 * compensations); a run that kept trying what Airlock refuses is security's; a call whose outcome
 * nobody recorded is the domain's again (someone must look at ground truth to know what happened); an
 * evaluation scenario whose attack showed in ground truth (`airlock eval`) is security's.
 */
export const INCIDENT_BOUNDARY: Readonly<Record<IncidentKind, OwnerBoundary>> = {
  'verification-failed': 'domain',
  'rollback-failed': 'platform',
  'policy-violations': 'security',
  'unknown-outcome': 'domain',
  'injection-suspected': 'security',
  'attack-succeeded': 'security',
};

/** What `openIncident` is told. */
export interface IncidentSpec {
  readonly runId: RunId;
  readonly kind: IncidentKind;
  /** Tells incidents of one kind in one run apart (default `''`: one per run and kind). */
  readonly key?: string;
  readonly title: string;
  readonly evidence: Json;
  /** Who (or what) noticed it, for the audit record; null: Airlock itself. */
  readonly openedBy?: Principal | null;
}

/**
 * Opens an incident for a run, routed to the workflow owner of its kind's boundary, and audits
 * `incident.opened` on the run's trail. Idempotent: while an incident with the same (run, kind, key)
 * is open, it is returned and nothing is written (`opened: false`); once resolved, a recurrence opens
 * a new one. An unknown run is a `not-found` error.
 */
export async function openIncident(deps: IncidentDeps, spec: IncidentSpec): Promise<{ incident: IncidentRecord; opened: boolean }> {
  const key = spec.key ?? '';
  const existing = (await deps.store.listIncidents({ runId: spec.runId, status: 'open' })).find((i) => i.kind === spec.kind && i.key === key);
  if (existing) return { incident: existing, opened: false };
  const run = await deps.store.getRun(spec.runId);
  if (!run) throw new AirlockError('not-found', `run \`${spec.runId}\` does not exist`, { hint: 'list runs with `airlock runs`' });
  const boundary = INCIDENT_BOUNDARY[spec.kind];
  const owner = deps.workspace.workflows.get(run.workflow)?.owners[boundary] ?? null;
  const draft: IncidentRecord = {
    id: (deps.newIncidentId ?? defaultIncidentId)(),
    runId: spec.runId,
    kind: spec.kind,
    key,
    title: spec.title,
    evidence: spec.evidence,
    boundary,
    owner,
    status: 'open',
    createdAt: deps.now().toISOString(),
    resolvedAt: null,
    resolvedBy: null,
    resolution: null,
  };
  const stored = await deps.store.createIncident(draft);
  // Another process opened the same incident first: theirs stands, and it is already audited.
  if (stored.id !== draft.id) return { incident: stored, opened: false };
  await deps.audit.append({ runId: spec.runId, principal: spec.openedBy ?? null }, [
    rec('incident.opened', { incidentId: stored.id, kind: stored.kind, key, title: stored.title, boundary, owner, evidence: stored.evidence }),
  ]);
  // A workflow in a pilot that fails steps down a tier at once (pilot.demoteOn.incident).
  await demoteOnIncident(deps, run.workflow, stored);
  return { incident: stored, opened: true };
}

/** What came of a resolve attempt; refusals are values (audited), like approval votes. */
export type ResolveOutcome =
  | { readonly kind: 'resolved'; readonly incident: IncidentRecord }
  | { readonly kind: 'refused'; readonly reason: string; readonly status: 403 | 409 | 422 };

/**
 * Resolves an open incident. People only: an agent or a service cannot close what it may have
 * caused. The note is required (it says what was done). Audits `incident.resolved`, or
 * `incident.refused` for a refused attempt. An unknown id is a `not-found` error.
 */
export async function resolveIncident(deps: IncidentDeps, id: string, by: Principal, note: string): Promise<ResolveOutcome> {
  const incident = await deps.store.getIncident(id);
  if (!incident) throw new AirlockError('not-found', `incident \`${id}\` does not exist`, { hint: 'list incidents with `airlock incidents --all`' });
  const who = principalRef(by);
  const refused = async (status: 403 | 409 | 422, reason: string): Promise<ResolveOutcome> => {
    await deps.audit.append({ runId: incident.runId, principal: by }, [rec('incident.refused', { incidentId: id, attempted: 'resolve', reason })]);
    return { kind: 'refused', reason, status };
  };
  if (by.kind !== 'user') return refused(403, `\`${who}\` is not a person: only people resolve incidents`);
  if (!note.trim()) return refused(422, 'resolving an incident needs a note: say what was done about it');
  if (incident.status !== 'open') return refused(409, `incident \`${id}\` is already ${incident.status}${incident.resolvedBy ? ` (by \`${incident.resolvedBy}\`)` : ''}`);
  const resolvedAt = deps.now().toISOString();
  const updated = await deps.store.updateIncident(id, 'open', { status: 'resolved', resolvedAt, resolvedBy: who, resolution: note.trim() });
  if (!updated) return refused(409, `incident \`${id}\` was resolved by someone else first`);
  await deps.audit.append({ runId: incident.runId, principal: by }, [
    rec('incident.resolved', { incidentId: id, kind: incident.kind, resolution: note.trim(), resolvedAt }),
  ]);
  return { kind: 'resolved', incident: updated };
}

/** What came of an assign attempt; refusals are values (audited). */
export type AssignOutcome = { readonly kind: 'assigned'; readonly incident: IncidentRecord } | Extract<ResolveOutcome, { kind: 'refused' }>;

/**
 * Assigns an open incident to a declared person (`to`: `user:<id>` or `<id>`). People only assign,
 * and only to people: an incident is a person's to look at. Compare-and-set on the assignee the
 * caller saw, so two concurrent assignments never both claim to have won. Audits `incident.assigned`,
 * or `incident.refused`. An unknown id is a `not-found` error.
 */
export async function assignIncident(deps: IncidentDeps, id: string, by: Principal, to: string): Promise<AssignOutcome> {
  const incident = await deps.store.getIncident(id);
  if (!incident) throw new AirlockError('not-found', `incident \`${id}\` does not exist`, { hint: 'list incidents with `airlock incidents --all`' });
  const refused = async (status: 403 | 409 | 422, reason: string): Promise<AssignOutcome> => {
    await deps.audit.append({ runId: incident.runId, principal: by }, [rec('incident.refused', { incidentId: id, attempted: 'assign', reason })]);
    return { kind: 'refused', reason, status };
  };
  if (by.kind !== 'user') return refused(403, `\`${principalRef(by)}\` is not a person: only people assign incidents`);
  const target = resolvePrincipal(deps.workspace.file.identity.principals, to.trim());
  if (!target.ok) return refused(422, `\`${to.trim().slice(0, 100)}\` is not a declared person: assign an incident to one of the workspace's people`);
  if (target.principal.kind !== 'user') return refused(422, `\`${principalRef(target.principal)}\` is not a person: incidents go to people`);
  if (incident.status !== 'open') return refused(409, `incident \`${id}\` is already ${incident.status}`);
  const assignee = principalRef(target.principal);
  const previous = incident.assignee ?? null;
  const assignedAt = deps.now().toISOString();
  const updated = await deps.store.updateIncident(id, 'open', { status: 'open', assignee, assignedAt }, previous);
  if (!updated) return refused(409, `incident \`${id}\` changed while you assigned it (resolved or assigned by someone else): reload and try again`);
  await deps.audit.append({ runId: incident.runId, principal: by }, [rec('incident.assigned', { incidentId: id, kind: incident.kind, assignee, previous })]);
  return { kind: 'assigned', incident: updated };
}

/** The incident key `checkRefusals` uses: one policy-violations incident per run. */
export const POLICY_VIOLATIONS_KEY = 'denied-actions';

/** How many refusals an incident's evidence lists (the rest are counted in `total`). */
const MAX_EVIDENCE_REFUSALS = 50;

/** Refused actions in one run at which a `policy-violations` incident opens. */
export const REFUSAL_THRESHOLD = 3;

/**
 * The agent's attempts Airlock refused, as `action.not-executed` reasons: by policy, by the contract
 * (invalid arguments), an unknown tool, a limit. Not people's decisions (rejected, expired), not the
 * tier's suggestions, not Airlock's own faults (drift, a second path).
 */
const REFUSED: ReadonlySet<string> = new Set<NotExecutedReason>(['denied', 'denied-at-execution', 'invalid-arguments', 'unknown-tool', 'concurrency-limit']);

/**
 * Opens a `policy-violations` incident (to security) when run `runId` had at least `threshold`
 * refused attempts of any kind: actions refused by policy or by the contract, unknown tools, and
 * requests the doors refused for the run (size, rate, malformed). Called as refusals happen and
 * when a run ends. At most one per run, ever: returns the existing one (open or resolved) when
 * there is one, null when the run stayed under the threshold.
 */
export async function checkRefusals(deps: IncidentDeps, runId: RunId, threshold = REFUSAL_THRESHOLD): Promise<IncidentRecord | null> {
  if (!Number.isInteger(threshold) || threshold < 1) throw new AirlockError('input', `the refusal threshold must be a whole number of at least 1, got ${threshold}`);
  const records = await deps.store.readAuditForRun(runId);
  const refused = records.filter((r) => (isRecord(r, 'action.not-executed') && REFUSED.has(r.body.why)) || isRecord(r, 'request.refused'));
  if (refused.length < threshold) return null;
  const policyIds = new Map<Json | undefined, Json>();
  for (const r of recordsOf(records, 'action.decision')) policyIds.set(r.body.actionHash, [...r.body.policyIds]);
  const earlier = (await deps.store.listIncidents({ runId })).find((i) => i.kind === 'policy-violations' && i.key === POLICY_VIOLATIONS_KEY);
  if (earlier) return earlier;
  const { incident } = await openIncident(deps, {
    runId,
    kind: 'policy-violations',
    key: POLICY_VIOLATIONS_KEY,
    title: `${refused.length} attempts refused by Airlock in run ${runId} (threshold ${threshold})`,
    evidence: {
      threshold,
      // Bounded: a flood of refusals is counted, and the first ones shown (the trail holds them all).
      total: refused.length,
      refused: refused.slice(0, MAX_EVIDENCE_REFUSALS).map((r) => ({
        seq: r.seq,
        tool: r.body['tool'] ?? null,
        why: r.body['why'] ?? null,
        principal: r.principal,
        reasons: r.body['reasons'] ?? (typeof r.body['reason'] === 'string' ? [r.body['reason']] : []),
        policyIds: policyIds.get(r.body['actionHash']) ?? [],
      })),
    },
  });
  return incident;
}

function defaultIncidentId(): string {
  return `inc_${randomBytes(6).toString('hex')}`;
}

/**
 * Opens (once per run) a security incident when an outcome carries injection signals: someone may be
 * trying to steer agents through content they write. A signal for people; the boundary does not rely on it.
 */
export async function noteFlagged(deps: IncidentDeps, runId: RunId, tool: string, outcome: { readonly kind: string; readonly flagged?: { readonly signals: readonly { readonly kind: string; readonly path: string; readonly excerpt: string }[]; readonly quarantined: boolean } }): Promise<void> {
  if (outcome.kind !== 'executed' || !outcome.flagged) return;
  const kinds = [...new Set(outcome.flagged.signals.map((s) => s.kind))];
  await openIncident(deps, {
    runId,
    kind: 'injection-suspected',
    key: 'injection',
    title: `instruction-like text in what \`${tool.slice(0, 100)}\` returned (${kinds.join(', ')})${outcome.flagged.quarantined ? '; withheld from the agent' : ''}`,
    evidence: { tool: tool.slice(0, 200), quarantined: outcome.flagged.quarantined, signals: outcome.flagged.signals.slice(0, 5).map((s) => ({ kind: s.kind, path: s.path, excerpt: s.excerpt })) },
  });
}
