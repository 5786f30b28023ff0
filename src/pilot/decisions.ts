// What people decide about a pilot, kept as pilot events with the audit records that say so (one
// transaction each): the decision that ends it (scale, redesign or stop) and its sign-offs; the
// sign-offs of a promotion and, once every named owner signed, the promotion itself; demotions, by a
// person or by the pilot's own rules (a new incident, a missed threshold). The tier a workflow runs at
// is its declared tier, lowered by the latest tier change: a promotion never passes the declared tier.
import { randomBytes } from 'node:crypto';
import type { AuditWriter } from '../audit/writer.js';
import { rec } from '../audit/records.js';
import type { Workspace } from '../config/schema.js';
import { AirlockError } from '../errors.js';
import { principalRef } from '../identity/principal.js';
import { authBody } from '../gateway/approvals/rules.js';
import type { Approver } from '../gateway/approvals/vote.js';
import { mayStop, ownedBoundaries } from '../gateway/halt-control.js';
import type { PilotEvent, Store } from '../store/store.js';
import { TIERS, type Json, type Tier } from '../types.js';
import { autonomyOf, pilotOf, weeklyReview, type PilotDeps } from './pilot.js';
import type { PilotDecision } from './review.js';
import { effectiveTier, tierAfter } from '../gateway/tier.js';

/** What recording pilot events needs (an `Airlock` has all of it; the doors add where eval results are kept). */
export interface DecisionDeps {
  readonly workspace: Workspace;
  readonly store: Store;
  readonly audit: AuditWriter;
  readonly now: () => Date;
  /** The latest recorded result of an eval suite (`pilot.graduation.*.evalSuite`); without it a step that names one cannot hold. */
  readonly evalResult?: PilotDeps['evalResult'];
}

/** A refusal: why nothing was recorded. */
export interface Refused {
  readonly kind: 'refused';
  readonly reason: string;
}

const PILOT_OUTCOMES = ['scale', 'redesign', 'stop'] as const;
/** The most characters of a reason kept. */
const MAX_REASON = 2000;
/** Events read back per question (a workflow's decisions and sign-offs are few). */
const EVENTS = 500;

/** What is wrong with a reason people give (empty, too long, control characters), or null. */
function textProblem(text: string): string | null {
  if (text.trim() === '') return 'say why (`--reason`): it is recorded with it';
  if (text.length > MAX_REASON) return `the reason is longer than ${MAX_REASON} characters`;
  if (/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(text)) return 'the reason holds control characters: write it on one line, as plain text';
  return null;
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** The tier `workflow` runs at: its declared tier, or lower after the latest tier change (never higher). */
export async function effectiveTierOf(store: Store, workspace: Workspace, workflow: string): Promise<Tier> {
  const wf = workspace.workflows.get(workflow);
  if (wf === undefined) throw new AirlockError('input', `no workflow \`${workflow}\` is declared`);
  return effectiveTier(store, wf);
}

/** The login an event was signed with (`issuer`, `subject`), as stored; null when none is. */
function loginOf(e: PilotEvent): string | null {
  const a = e.body['auth'];
  if (a === null || typeof a !== 'object') return null;
  const { issuer, subject } = a as { issuer?: unknown; subject?: unknown };
  return typeof issuer === 'string' && typeof subject === 'string' ? `${issuer}\u0000${subject}` : null;
}

/** The login `by` acts with, as `loginOf` reads it back. */
function loginKey(by: Approver): string | null {
  return by.auth.issuer !== null && by.auth.subject !== null ? `${by.auth.issuer}\u0000${by.auth.subject}` : null;
}

/** Who signed the promotion of `workflow` to `tier` since its tier last changed. */
export async function promotionSignatures(store: Store, workflow: string, tier: Tier): Promise<string[]> {
  const events = await store.listPilotEvents(workflow, ['autonomy-signed', 'tier-changed'], EVENTS);
  const out: string[] = [];
  for (const e of events) {
    if (e.kind === 'tier-changed') break;
    if (e.body['tier'] === tier && e.by !== null && !out.includes(e.by)) out.push(e.by);
  }
  return out;
}

/** The workflow's latest decision with its sign-offs, or null. */
export async function latestDecision(store: Store, workflow: string): Promise<PilotDecision | null> {
  const events = await store.listPilotEvents(workflow, ['decision', 'decision-signed'], EVENTS);
  const decision = events.find((e) => e.kind === 'decision');
  if (!decision) return null;
  const required = Array.isArray(decision.body['required']) ? (decision.body['required'] as unknown[]).filter((x): x is string => typeof x === 'string') : [];
  const signOffs = events
    .filter((e) => e.kind === 'decision-signed' && e.body['decisionId'] === decision.id && e.by !== null)
    .reverse()
    .map((e) => ({ by: e.by as string, at: e.at }));
  const signed = new Set(signOffs.map((s) => s.by));
  return {
    id: decision.id,
    workflow,
    outcome: decision.body['outcome'] as PilotDecision['outcome'],
    reason: String(decision.body['reason'] ?? ''),
    proposedBy: decision.by ?? '',
    proposedAt: decision.at,
    signOffs,
    missing: required.filter((r) => !signed.has(r)),
    evidence: decision.body['evidence'] ?? null,
  };
}

/** The pilot reads with the recorded tier, sign-offs and decision wired in. */
export function recordedPilotDeps(deps: Omit<DecisionDeps, 'audit'>): PilotDeps {
  return {
    workspace: deps.workspace,
    store: deps.store,
    now: deps.now,
    tierOf: (w) => effectiveTierOf(deps.store, deps.workspace, w),
    signaturesFor: (w, t) => promotionSignatures(deps.store, w, t),
    decisionOf: (w) => latestDecision(deps.store, w),
    ...(deps.evalResult ? { evalResult: deps.evalResult } : {}),
  };
}

/**
 * Records a decision that ends the pilot: `scale`, `redesign` or `stop`, with the reason and the
 * evidence as it stands (this week's review and the autonomy judgement). It stands once everyone in
 * `pilot.decisionSignOff` signed; the person proposing it signs it too when they are named there.
 */
export async function proposeDecision(deps: DecisionDeps, workflow: string, outcome: string, reason: string, actor: Approver): Promise<PilotDecision | Refused> {
  const { workflow: wf, pilot } = pilotOf(deps.workspace, workflow);
  const by = actor.principal;
  if (!(PILOT_OUTCOMES as readonly string[]).includes(outcome)) return { kind: 'refused', reason: `the decision is one of ${PILOT_OUTCOMES.join(', ')}, not \`${outcome.slice(0, 40)}\`` };
  if (by.kind !== 'user') return { kind: 'refused', reason: 'a pilot decision is a person\'s: an agent or a service cannot decide it' };
  const why = reason.trim();
  const bad = textProblem(why);
  if (bad) return { kind: 'refused', reason: bad };
  const ref = principalRef(by);
  // Those who sign it may propose it; with nobody named, only an owner of the workflow.
  if (pilot.decisionSignOff.length > 0 ? !pilot.decisionSignOff.includes(ref) : ownedBoundaries(deps.workspace, by, wf).length === 0) {
    return { kind: 'refused', reason: pilot.decisionSignOff.length > 0 ? `${ref} is not among the people who sign the pilot's decision (${pilot.decisionSignOff.join(', ')})` : `${ref} owns no boundary of workflow \`${workflow}\`, and \`pilot.decisionSignOff\` names nobody` };
  }
  const review = await weeklyReview(recordedPilotDeps(deps), workflow);
  const evidence = { week: review.week.name, kpis: review.kpis, recommendation: review.recommendation, autonomy: { tier: review.autonomy.tier, recommendation: review.autonomy.recommendation, reasons: review.autonomy.reasons }, openIncidents: review.openIncidents.length } as unknown as Json;
  const at = deps.now().toISOString();
  const decision: PilotEvent = { id: newId('dec'), workflow, kind: 'decision', at, by: ref, body: { outcome, reason: why, required: pilot.decisionSignOff, evidence, auth: authBody(actor.auth) } };
  await deps.audit.commitPilotEvent(decision, { runId: null, principal: by }, [rec('pilot.decided', { decisionId: decision.id, workflow, outcome, reason: why, required: [...pilot.decisionSignOff], evidence, ...authBody(actor.auth) })]);
  if (pilot.decisionSignOff.includes(ref)) await signDecision(deps, workflow, actor);
  return (await latestDecision(deps.store, workflow)) as PilotDecision;
}

/** Signs the workflow's latest decision: only a person `pilot.decisionSignOff` names, once each. */
export async function signDecision(deps: DecisionDeps, workflow: string, actor: Approver): Promise<PilotDecision | Refused> {
  pilotOf(deps.workspace, workflow);
  const current = await latestDecision(deps.store, workflow);
  if (!current) return { kind: 'refused', reason: `no decision of \`${workflow}\` is recorded: propose one with \`airlock pilot decide\`` };
  const by = actor.principal;
  const ref = principalRef(by);
  if (current.signOffs.some((s) => s.by === ref)) return { kind: 'refused', reason: `${ref} has signed this decision already` };
  if (!current.missing.includes(ref)) return { kind: 'refused', reason: `${ref} is not among the people who sign this decision (${[...current.missing, ...current.signOffs.map((s) => s.by)].join(', ') || 'nobody is named: it stands as proposed'})` };
  const signed = (await deps.store.listPilotEvents(workflow, ['decision-signed'], EVENTS)).filter((e) => e.body['decisionId'] === current.id);
  const login = loginKey(actor);
  // Four eyes stay four: one login signs as one person.
  const same = login === null ? undefined : signed.find((e) => e.by !== ref && loginOf(e) === login);
  if (same) return { kind: 'refused', reason: `this login signed this decision already as ${same.by ?? 'someone else'}: each person signs with their own` };
  const e: PilotEvent = { id: newId('sig'), workflow, kind: 'decision-signed', at: deps.now().toISOString(), by: ref, body: { decisionId: current.id, auth: authBody(actor.auth) } };
  await deps.audit.commitPilotEvent(e, { runId: null, principal: by }, [rec('pilot.signed', { decisionId: current.id, workflow, outcome: current.outcome, ...authBody(actor.auth) })]);
  return (await latestDecision(deps.store, workflow)) as PilotDecision;
}

/**
 * Signs the promotion the autonomy rules recommend now: only a person the next tier's `signOff` names,
 * and only while every rule holds. The last signature changes the tier.
 */
export async function signPromotion(deps: DecisionDeps, workflow: string, actor: Approver): Promise<{ readonly kind: 'signed'; readonly tier: Tier; readonly missing: readonly string[]; readonly promoted: boolean } | Refused> {
  const { pilot } = pilotOf(deps.workspace, workflow);
  // The tier change the judgement starts from: the promotion applies only if it is still the newest.
  const [before] = await deps.store.listPilotEvents(workflow, ['tier-changed'], 1);
  const judgement = await autonomyOf(recordedPilotDeps(deps), workflow);
  const by = actor.principal;
  const ref = principalRef(by);
  if (judgement.recommendation !== 'promote' || judgement.next === null) {
    return { kind: 'refused', reason: `the rules do not recommend a step up now (${judgement.recommendation}): ${judgement.reasons.join('; ') || 'no evidence'}` };
  }
  const next = judgement.next;
  const named = pilot.graduation[next]?.signOff ?? [];
  if (!named.includes(ref)) return { kind: 'refused', reason: `${ref} is not among the people who sign a step up to ${next} (${named.join(', ') || 'nobody is named'})` };
  if (!judgement.missingSignOffs.includes(ref)) return { kind: 'refused', reason: `${ref} has signed the step up to ${next} already` };
  const login = loginKey(actor);
  const earlier = await deps.store.listPilotEvents(workflow, ['autonomy-signed', 'tier-changed'], EVENTS);
  const changed = earlier.findIndex((x) => x.kind === 'tier-changed');
  const since = changed === -1 ? earlier : earlier.slice(0, changed);
  const same = login === null ? undefined : since.find((x) => x.kind === 'autonomy-signed' && x.body['tier'] === next && x.by !== ref && loginOf(x) === login);
  if (same) return { kind: 'refused', reason: `this login signed the step up to ${next} already as ${same.by ?? 'someone else'}: each person signs with their own` };
  const e: PilotEvent = { id: newId('sig'), workflow, kind: 'autonomy-signed', at: deps.now().toISOString(), by: ref, body: { tier: next, auth: authBody(actor.auth) } };
  await deps.audit.commitPilotEvent(e, { runId: null, principal: by }, [rec('autonomy.signed', { workflow, tier: next, ...authBody(actor.auth) })]);
  const missing = judgement.missingSignOffs.filter((p) => p !== ref);
  if (missing.length === 0 && !(await changeTier(deps, workflow, judgement.tier, next, actor, `every named owner signed (${named.join(', ')}) and every rule for ${next} holds`, before?.id ?? null))) {
    return { kind: 'refused', reason: `the tier of \`${workflow}\` changed while you signed (your signature is recorded): look at \`airlock autonomy ${workflow}\` and sign again if the rules still hold` };
  }
  return { kind: 'signed', tier: next, missing, promoted: missing.length === 0 };
}

/**
 * Steps `workflow` down one tier: by a person (`by`), or by the pilot's own rules (`by` null). Null when
 * it is at the lowest tier, or when the latest change was made for the same `cause` (a rule applies once).
 */
export async function demote(deps: DecisionDeps, workflow: string, by: Approver | null, reason: string, cause?: string): Promise<Tier | null> {
  if (by !== null) {
    // As stopping it: any owner of the workflow, or a security or platform owner of any.
    const may = mayStop(deps.workspace, by.principal, { kind: 'workflow', name: workflow });
    if (!may.ok) throw new AirlockError('input', may.reason.replace('stop it', 'step it down'));
    const bad = textProblem(reason);
    if (bad) throw new AirlockError('input', bad);
  }
  const wf = pilotOf(deps.workspace, workflow).workflow;
  // Compare-and-set on the newest tier change: two changes at once never collapse into one step.
  for (let attempt = 0; attempt < 3; attempt++) {
    const [last] = await deps.store.listPilotEvents(workflow, ['tier-changed'], 1);
    const tier = tierAfter(wf.tier, last?.body['to']);
    const lower = TIERS[TIERS.indexOf(tier) - 1];
    if (lower === undefined) return null;
    if (cause !== undefined && last?.body['cause'] === cause) return null;
    if (await changeTier(deps, workflow, tier, lower, by, reason, last?.id ?? null, cause)) return lower;
  }
  throw new AirlockError('conflict', `the tier of \`${workflow}\` kept changing while it was stepped down`, { hint: 'run it again' });
}

/** Incident kinds that show the agent or its tools failing (a caught attempt, `injection-suspected`, does not). */
export const DEMOTING_INCIDENTS: ReadonlySet<string> = new Set(['verification-failed', 'rollback-failed', 'unknown-outcome', 'policy-violations', 'attack-succeeded']);

/**
 * With `pilot.demoteOn.incident`, a new incident of a
 * failing kind steps its workflow down one tier at once, recorded as automatic. Null when nothing changed.
 */
export async function demoteOnIncident(deps: DecisionDeps, workflow: string, incident: { readonly id: string; readonly kind: string; readonly title: string }): Promise<Tier | null> {
  const wf = deps.workspace.workflows.get(workflow);
  if (!wf?.pilot?.demoteOn.incident || !DEMOTING_INCIDENTS.has(incident.kind)) return null;
  return demote(deps, workflow, null, `incident ${incident.id} (${incident.kind}): ${incident.title}`, `incident:${incident.id}`);
}

/** Records a tier change if the newest one is still `after` (null: none); false when it is not (nothing written). */
async function changeTier(deps: DecisionDeps, workflow: string, from: Tier, to: Tier, by: Approver | null, reason: string, after: string | null, cause?: string): Promise<boolean> {
  const auth = by ? authBody(by.auth) : null;
  const e: PilotEvent = { id: newId('tier'), workflow, kind: 'tier-changed', at: deps.now().toISOString(), by: by ? principalRef(by.principal) : null, body: { from, to, reason: reason.slice(0, MAX_REASON), ...(cause === undefined ? {} : { cause }), ...(auth ? { auth } : {}) } };
  return deps.audit.commitPilotEvent(e, { runId: null, principal: by?.principal ?? null }, [rec('autonomy.changed', { workflow, from, to, reason: reason.slice(0, MAX_REASON), automatic: by === null, ...(auth ?? {}) })], after);
}
