// People pulling and releasing the kill switch. Stopping is easy: any owner of a workflow the scope
// touches, or a security or platform owner of any workflow. Resuming is strict: an owner of the halted
// workflow itself; for a principal, a connector or everything, a security or platform owner (of a
// workflow the scope touches, when it touches any). Both need a person and a reason; every attempt is
// audited, and a halt lands with its record in one commit. The check at the doors is halts.ts.
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../errors.js';
import type { WorkflowConfig, Workspace } from '../config/schema.js';
import type { HaltRecord, Store } from '../store/store.js';
import type { AuditWriter } from '../audit/writer.js';
import { principalRef } from '../identity/principal.js';
import { rec } from '../audit/records.js';
import type { OwnerBoundary, Principal } from '../types.js';
import { describeScope, scopeKey, scopeOf, type HaltScope } from './halts.js';
import { authBody } from './approvals/rules.js';
import type { Approver } from './approvals/vote.js';

/** What stopping and resuming need (an `Airlock` has all of it). */
export interface HaltDeps {
  readonly store: Store;
  readonly audit: AuditWriter;
  readonly now: () => Date;
  readonly workspace: Workspace;
  /** Halt ids (default: `hlt_` and 12 random hex digits). */
  readonly newHaltId?: () => string;
}

/** The longest reason kept (it is shown to every agent and person the halt stops). */
export const HALT_REASON_MAX = 500;

/** The boundaries whose owners may resume a scope wider than one workflow. */
const WIDE_BOUNDARIES: readonly OwnerBoundary[] = ['security', 'platform'];

/** What came of a stop: a new halt, one already active on that scope, or a refusal (audited). */
export type StopOutcome =
  | { readonly kind: 'stopped'; readonly halt: HaltRecord }
  | { readonly kind: 'already'; readonly halt: HaltRecord }
  | { readonly kind: 'refused'; readonly reason: string; readonly status: 403 | 422 };

/** What came of a resume: the lifted halt, or a refusal (audited). */
export type LiftOutcome = { readonly kind: 'lifted'; readonly halt: HaltRecord } | { readonly kind: 'refused'; readonly reason: string; readonly status: 403 | 409 | 422 };

/** Why `text` cannot be a halt's reason, or null: required, at most `HALT_REASON_MAX` characters, no control characters. */
export function reasonProblem(text: string): string | null {
  const t = text.trim();
  if (t === '') return 'a reason is required: say why (it is recorded, and shown to every agent and person it stops)';
  if (t.length > HALT_REASON_MAX) return `the reason is ${t.length} characters; at most ${HALT_REASON_MAX}`;
  if (/[\u0000-\u001f\u007f]/.test(t)) return 'the reason holds control characters (a line break, a tab...): write it on one line';
  return null;
}

/** Why `scope` names nothing declared in the workspace (an undeclared workflow, principal or connector), or null. */
export function scopeProblem(workspace: Workspace, scope: HaltScope): string | null {
  switch (scope.kind) {
    case 'workflow':
      return workspace.workflows.has(scope.name) ? null : `workflow \`${scope.name}\` is not declared (declared: ${[...workspace.workflows.keys()].join(', ') || 'none'})`;
    case 'principal': {
      const declared = workspace.file.identity.principals.map((p) => `${p.kind}:${p.id}`);
      return declared.includes(scope.ref) ? null : `principal \`${scope.ref}\` is not declared: name it as \`kind:id\` (declared: ${declared.join(', ')})`;
    }
    case 'connector': {
      const declared = Object.keys(workspace.file.connectors);
      return declared.includes(scope.name) ? null : `connector \`${scope.name}\` is not declared (declared: ${declared.join(', ') || 'none'})`;
    }
    case 'all':
      return null;
  }
}

/** The workflows a scope touches: the workflow itself, those an agent drives, those using a connector's tools; all of them for a person or everything. */
export function touchedWorkflows(workspace: Workspace, scope: HaltScope): WorkflowConfig[] {
  const all = [...workspace.workflows.values()];
  switch (scope.kind) {
    case 'workflow':
      return all.filter((w) => w.name === scope.name);
    case 'principal':
      // An agent acts in the workflows it drives; anyone else may be acted for (or act) in any.
      return scope.ref.startsWith('agent:') ? all.filter((w) => `agent:${w.agent}` === scope.ref) : all;
    case 'connector':
      return all.filter((w) => w.tools.some((t) => workspace.tools.get(t)?.connector === scope.name));
    case 'all':
      return all;
  }
}

/** The owner boundaries of `workflow` that name `person`: as `user:<id>`, or as one of the person's declared `contacts`. */
export function ownedBoundaries(workspace: Workspace, person: Principal, workflow: WorkflowConfig): OwnerBoundary[] {
  const ref = principalRef(person);
  const declared = workspace.file.identity.principals.find((p) => p.kind === person.kind && p.id === person.id);
  const names = new Set([ref, ...(declared?.contacts ?? []).map((c) => c.trim().toLowerCase())]);
  return (Object.entries(workflow.owners) as [OwnerBoundary, string | undefined][]).filter(([, o]) => o !== undefined && (o === ref || names.has(o.trim().toLowerCase()))).map(([b]) => b);
}

/** Whether `person` may stop `scope`: `as` says in which right, or why not. */
export function mayStop(workspace: Workspace, person: Principal, scope: HaltScope): { ok: true; as: string } | { ok: false; reason: string } {
  for (const w of touchedWorkflows(workspace, scope)) {
    const owns = ownedBoundaries(workspace, person, w);
    if (owns.length > 0) return { ok: true, as: `${owns.join(', ')} owner of workflow \`${w.name}\`` };
  }
  const wide = wideOwner(workspace, person, [...workspace.workflows.values()]);
  if (wide) return { ok: true, as: wide };
  return { ok: false, reason: `\`${principalRef(person)}\` owns no workflow that ${describeScope(scope)} touches, and is no security or platform owner: ask an owner to stop it` };
}

/** Whether `person` may lift a halt on `scope` (stricter than stopping): `as` says in which right, or why not. */
export function mayResume(workspace: Workspace, person: Principal, scope: HaltScope): { ok: true; as: string } | { ok: false; reason: string } {
  if (scope.kind === 'workflow') {
    const w = workspace.workflows.get(scope.name);
    const owns = w ? ownedBoundaries(workspace, person, w) : [];
    if (w && owns.length > 0) return { ok: true, as: `${owns.join(', ')} owner of workflow \`${w.name}\`` };
    return { ok: false, reason: `only an owner of workflow \`${scope.name}\` resumes it (its \`owners:\`), and \`${principalRef(person)}\` is none` };
  }
  const touched = touchedWorkflows(workspace, scope);
  const wide = wideOwner(workspace, person, touched.length > 0 ? touched : [...workspace.workflows.values()]);
  if (wide) return { ok: true, as: wide };
  return { ok: false, reason: `only a security or platform owner${touched.length > 0 && scope.kind !== 'all' ? ' of a workflow it touches' : ''} resumes ${describeScope(scope)}, and \`${principalRef(person)}\` is none` };
}

/** "security owner of workflow `x`" when `person` is a security or platform owner of one of `workflows`. */
function wideOwner(workspace: Workspace, person: Principal, workflows: readonly WorkflowConfig[]): string | null {
  for (const w of workflows) {
    const owns = ownedBoundaries(workspace, person, w).filter((b) => WIDE_BOUNDARIES.includes(b));
    if (owns.length > 0) return `${owns.join(', ')} owner of workflow \`${w.name}\``;
  }
  return null;
}

/**
 * A person stops `scope`: from the commit on, nothing in it executes, starts or is approved, in every
 * process on the store. A scope already halted stays as it is (`already`, nothing written). An
 * undeclared scope is an `input` error; a refusal (not a person, not allowed, no reason) is audited.
 */
export async function stopScope(deps: HaltDeps, actor: Approver, scope: HaltScope, reason: string): Promise<StopOutcome> {
  const problem = scopeProblem(deps.workspace, scope);
  if (problem) throw new AirlockError('input', problem, { hint: 'name a declared workflow, `--principal kind:id`, `--connector NAME`, or `--all`' });
  const key = scopeKey(scope);
  const refused = async (status: 403 | 422, why: string): Promise<StopOutcome> => {
    await deps.audit.append({ runId: null, principal: actor.principal }, [rec('halt.refused', { attempted: 'stop', scope: key, reason: why, ...authBody(actor.auth) })]);
    return { kind: 'refused', reason: why, status };
  };
  if (actor.principal.kind !== 'user') return refused(403, `\`${principalRef(actor.principal)}\` is not a person: only people stop what agents do`);
  const bad = reasonProblem(reason);
  if (bad) return refused(422, bad);
  const may = mayStop(deps.workspace, actor.principal, scope);
  if (!may.ok) return refused(403, may.reason);
  const halt: HaltRecord = {
    id: (deps.newHaltId ?? defaultHaltId)(),
    scope: key,
    reason: reason.trim(),
    stoppedBy: principalRef(actor.principal),
    stoppedAt: deps.now().toISOString(),
    status: 'active',
    liftedBy: null,
    liftedAt: null,
    liftReason: null,
  };
  // INVARIANT: the halt and its record land in one transaction; the next check anywhere reads it.
  const stored = await deps.audit.commitHalt(halt, { runId: null, principal: actor.principal }, [rec('halt.started', { haltId: halt.id, scope: key, reason: halt.reason, ...authBody(actor.auth) })]);
  return stored.id === halt.id ? { kind: 'stopped', halt: stored } : { kind: 'already', halt: stored };
}

/**
 * An owner lifts halt `id` (see `mayResume`), saying why. An unknown id is a `not-found` error; a
 * refusal (not a person, not an owner, no reason, not active) is audited. The runs it held go on when
 * they are next driven (orchestration/halted-runs.ts drives Airlock's own).
 */
export async function liftHalt(deps: HaltDeps, actor: Approver, id: string, reason: string): Promise<LiftOutcome> {
  const halt = await deps.store.getHalt(id);
  if (!halt) throw new AirlockError('not-found', `halt \`${id}\` does not exist`, { hint: 'list active halts with `airlock halts`' });
  const refused = async (status: 403 | 409 | 422, why: string): Promise<LiftOutcome> => {
    await deps.audit.append({ runId: null, principal: actor.principal }, [rec('halt.refused', { attempted: 'resume', scope: halt.scope, haltId: id, reason: why, ...authBody(actor.auth) })]);
    return { kind: 'refused', reason: why, status };
  };
  if (actor.principal.kind !== 'user') return refused(403, `\`${principalRef(actor.principal)}\` is not a person: only an owner resumes what people stopped`);
  const may = mayResume(deps.workspace, actor.principal, scopeOf(halt.scope));
  if (!may.ok) return refused(403, may.reason);
  const bad = reasonProblem(reason);
  if (bad) return refused(422, bad);
  if (halt.status !== 'active') return refused(409, `halt \`${id}\` was already lifted by \`${halt.liftedBy ?? '?'}\` at ${halt.liftedAt ?? '?'}`);
  const liftedAt = deps.now().toISOString();
  const lift = { liftedBy: principalRef(actor.principal), liftedAt, liftReason: reason.trim() };
  const haltedSeconds = Math.max(0, Math.round((Date.parse(liftedAt) - Date.parse(halt.stoppedAt)) / 1000));
  const lifted = await deps.audit.commitLift(id, lift, { runId: null, principal: actor.principal }, [
    rec('halt.lifted', { haltId: id, scope: halt.scope, reason: lift.liftReason, stoppedBy: halt.stoppedBy, stoppedAt: halt.stoppedAt, haltedSeconds, ...authBody(actor.auth) }),
  ]);
  if (!lifted) return refused(409, `halt \`${id}\` was lifted by someone else first`);
  return { kind: 'lifted', halt: lifted };
}

function defaultHaltId(): string {
  return `hlt_${randomBytes(6).toString('hex')}`;
}
