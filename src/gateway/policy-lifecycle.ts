// The policy lifecycle: people deploying the workspace's policy set (a version: its hash, the files'
// texts, who, why, when) and setting a draft set as the shadow that is decided beside the enforced one
// (gateway/shadow.ts records its verdicts; nothing it decides is enforced). Each lands with its record
// in one commit, compare-and-set on its lane's newest event, so two people racing cannot both win.
// The loaded files are what is enforced: a deployment is the record of what people meant to run, and
// `undeployedWarning` says when the two differ (serve and demo print it).
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../errors.js';
import type { Workspace } from '../config/schema.js';
import type { CompiledPolicies, PolicySource } from '../policy/compile.js';
import type { PolicyFileText, PolicySetEvent, Store } from '../store/store.js';
import type { AuditWriter } from '../audit/writer.js';
import { rec } from '../audit/records.js';
import { principalRef } from '../identity/principal.js';
import { sha256Hex } from '../util/hash.js';
import { authBody } from './approvals/rules.js';
import type { Approver } from './approvals/vote.js';
import { compileDraft, WHAT_IF_LIMITS } from './what-if.js';

/** What the lifecycle reads and writes (an `Airlock` has all of it). */
export interface PolicyLifecycleDeps {
  readonly store: Store;
  readonly audit: AuditWriter;
  readonly now: () => Date;
  readonly workspace: Workspace;
  /** The set loaded from the workspace's files: the one enforced. */
  readonly policies: CompiledPolicies;
  /** Event ids (default: `pol_` and 12 random hex digits). */
  readonly newPolicyEventId?: () => string;
}

/** The longest message kept. */
export const POLICY_MESSAGE_MAX = 500;

/** What came of a deployment: recorded, or the loaded set was already the latest deployed (nothing written). */
export type DeployOutcome = { readonly kind: 'deployed'; readonly event: PolicySetEvent; readonly previous: PolicySetEvent | null } | { readonly kind: 'already'; readonly event: PolicySetEvent };

/** What came of setting a shadow: started (replacing the active one, if any), or that very set was already the shadow. */
export type ShadowOutcome = { readonly kind: 'started'; readonly event: PolicySetEvent; readonly replaced: PolicySetEvent | null } | { readonly kind: 'already'; readonly event: PolicySetEvent };

/** Where the loaded set stands against the deployments: `none` when nothing was ever deployed. */
export type DeployStanding =
  | { readonly kind: 'none' }
  | { readonly kind: 'latest'; readonly latest: PolicySetEvent }
  | { readonly kind: 'differs'; readonly latest: PolicySetEvent; /** An earlier deployment of the loaded set, if any (a rollback not yet deployed). */ readonly earlier: PolicySetEvent | null };

/** Why `text` cannot be a deployment's (or shadow's) message, or null: required, one line, at most `POLICY_MESSAGE_MAX` characters. */
export function messageProblem(text: string | undefined): string | null {
  const t = (text ?? '').trim();
  if (t === '') return 'a message is required: say what changes and why (it is recorded with the version)';
  if (t.length > POLICY_MESSAGE_MAX) return `the message is ${t.length} characters; at most ${POLICY_MESSAGE_MAX}`;
  if (/[\u0000-\u001f\u007f]/.test(t)) return 'the message holds control characters (a line break, a tab...): write it on one line';
  return null;
}

/**
 * Records the loaded policy set as deployed by `actor`. `input` errors: not a person, no message, the
 * files too large. The set already the latest deployed is `already` (nothing written); a deployment
 * another process recorded first is a `conflict` error (look again, then deploy).
 */
export async function deployPolicies(deps: PolicyLifecycleDeps, actor: Approver, message: string): Promise<DeployOutcome> {
  const by = person(actor, 'deploys a policy set');
  const why = checkedMessage(message);
  const files = boundedFiles(deps.workspace.policySources, 'the workspace policy files');
  const latest = (await deps.store.listPolicyEvents('deployed', 1))[0] ?? null;
  if (latest && latest.policySetHash === deps.policies.policySetHash) return { kind: 'already', event: latest };
  const event = newEvent(deps, 'deployed', deps.policies, files, by, why);
  const moved = await deps.audit.commitPolicyEvent(event, latest?.id ?? null, { runId: null, principal: actor.principal }, [
    rec('policy.deployed', { eventId: event.id, policySetHash: event.policySetHash, policies: event.policies, files: fileHashes(files), message: why, previous: latest?.policySetHash ?? null, ...authBody(actor.auth) }),
  ]);
  if (moved) {
    if (moved.policySetHash === event.policySetHash) return { kind: 'already', event: moved };
    throw raced('deployed', moved);
  }
  return { kind: 'deployed', event, previous: latest };
}

/**
 * Sets the draft `sources` (compiled exactly as what-if compiles a draft: `AirlockErrors` with file:line
 * when it does not) as the one active shadow, replacing any. `input` errors: not a person, no message,
 * the enforced set itself.
 */
export async function startShadow(deps: PolicyLifecycleDeps, actor: Approver, sources: readonly PolicySource[], message: string): Promise<ShadowOutcome> {
  const by = person(actor, 'sets a shadow policy set');
  const why = checkedMessage(message);
  const draft = compileDraft(deps.workspace, sources);
  if (draft.policySetHash === deps.policies.policySetHash) {
    throw new AirlockError('input', 'the draft is the enforced policy set itself: as a shadow it would decide everything the same', { hint: 'shadow the draft you mean to deploy' });
  }
  const files = boundedFiles(sources, 'the draft');
  const head = await activeShadow(deps.store);
  if (head && head.policySetHash === draft.policySetHash) return { kind: 'already', event: head };
  const expected = (await deps.store.latestPolicyEvent('shadow'))?.id ?? null;
  const event = newEvent(deps, 'shadow-started', draft, files, by, why);
  const moved = await deps.audit.commitPolicyEvent(event, expected, { runId: null, principal: actor.principal }, [
    rec('policy.shadow-started', {
      eventId: event.id,
      policySetHash: event.policySetHash,
      policies: event.policies,
      files: fileHashes(files),
      message: why,
      replaces: head?.policySetHash ?? null,
      ...authBody(actor.auth),
    }),
  ]);
  if (moved) throw raced('shadow', moved);
  return { kind: 'started', event, replaced: head };
}

/** Ends the active shadow: the ended one, or null when none was active (nothing written). `input` errors as `startShadow`. */
export async function clearShadow(deps: PolicyLifecycleDeps, actor: Approver, message: string | undefined): Promise<PolicySetEvent | null> {
  const by = person(actor, 'clears the shadow policy set');
  const why = message === undefined || message.trim() === '' ? 'shadow cleared' : checkedMessage(message);
  const head = await activeShadow(deps.store);
  if (!head) return null;
  const event: PolicySetEvent = { id: (deps.newPolicyEventId ?? defaultId)(), kind: 'shadow-cleared', policySetHash: head.policySetHash, files: [], policies: 0, by, message: why, at: deps.now().toISOString() };
  const moved = await deps.audit.commitPolicyEvent(event, head.id, { runId: null, principal: actor.principal }, [
    rec('policy.shadow-cleared', { eventId: event.id, shadowId: head.id, policySetHash: head.policySetHash, message: why, ...authBody(actor.auth) }),
  ]);
  if (moved) throw raced('shadow', moved);
  return head;
}

/** The active shadow, with its texts, or null (the shadow lane's newest event is not a start). */
export async function activeShadow(store: Pick<Store, 'latestPolicyEvent' | 'getPolicyEvent'>): Promise<PolicySetEvent | null> {
  const head = await store.latestPolicyEvent('shadow');
  return head?.kind === 'shadow-started' ? store.getPolicyEvent(head.id) : null;
}

/** Where the loaded set (`policySetHash`) stands against the deployments on record. */
export async function deployStanding(store: Pick<Store, 'listPolicyEvents'>, policySetHash: string): Promise<DeployStanding> {
  const deployed = await store.listPolicyEvents('deployed', 1000);
  const latest = deployed[0];
  if (!latest) return { kind: 'none' };
  if (latest.policySetHash === policySetHash) return { kind: 'latest', latest };
  return { kind: 'differs', latest, earlier: deployed.find((e) => e.policySetHash === policySetHash) ?? null };
}

/**
 * The warning `serve` and `demo` print when a deployment is on record and the loaded set is not the
 * latest deployed (who deployed what, when; how to deploy), or null.
 */
export async function undeployedWarning(store: Pick<Store, 'listPolicyEvents'>, policies: CompiledPolicies, cli: string): Promise<string | null> {
  const s = await deployStanding(store, policies.policySetHash);
  if (s.kind !== 'differs') return null;
  const earlier = s.earlier ? ` (it was deployed before, by ${s.earlier.by} at ${s.earlier.at})` : ' (it was never deployed)';
  return [
    `the policy set loaded from the workspace (${policies.policySetHash.slice(0, 12)}) is not the latest deployed${earlier}.`,
    `  latest deployed: ${s.latest.policySetHash.slice(0, 12)} by ${s.latest.by} at ${s.latest.at}: ${s.latest.message}`,
    `  the loaded set is what is enforced. Deploy it: ${cli} policy deploy --as USER --message "..."; or restore the deployed files (${cli} policy versions)`,
  ].join('\n');
}

function person(actor: Approver, does: string): string {
  if (actor.principal.kind !== 'user') throw new AirlockError('input', `\`${principalRef(actor.principal)}\` is not a person: only a declared person ${does}`, { hint: 'name a declared user with --as' });
  return principalRef(actor.principal);
}

function checkedMessage(message: string | undefined): string {
  const bad = messageProblem(message);
  if (bad) throw new AirlockError('input', bad);
  return (message ?? '').trim();
}

/** The files as kept with a version: at most `WHAT_IF_LIMITS.maxDraftBytes` of text in all. */
function boundedFiles(sources: readonly PolicySource[], what: string): PolicyFileText[] {
  const bytes = sources.reduce((n, s) => n + Buffer.byteLength(s.text, 'utf8'), 0);
  if (bytes > WHAT_IF_LIMITS.maxDraftBytes) throw new AirlockError('input', `${what} hold ${bytes} bytes; a policy version keeps at most ${WHAT_IF_LIMITS.maxDraftBytes}`, { hint: 'keep data out of the policy files' });
  return sources.map((s) => ({ file: s.file, text: s.text }));
}

function fileHashes(files: readonly PolicyFileText[]): { file: string; sha256: string }[] {
  return files.map((f) => ({ file: f.file, sha256: sha256Hex(f.text) }));
}

function newEvent(deps: PolicyLifecycleDeps, kind: 'deployed' | 'shadow-started', set: CompiledPolicies, files: readonly PolicyFileText[], by: string, message: string): PolicySetEvent {
  return { id: (deps.newPolicyEventId ?? defaultId)(), kind, policySetHash: set.policySetHash, files, policies: set.policies.size, by, message, at: deps.now().toISOString() };
}

function raced(lane: 'deployed' | 'shadow', moved: PolicySetEvent): AirlockError {
  return new AirlockError('conflict', `${moved.by} recorded ${lane === 'deployed' ? 'a deployment' : `a shadow change (${moved.kind})`} at ${moved.at} while this one was being made: nothing was written`, {
    hint: 'look again (airlock policy versions, airlock policy shadow --report), then try again',
  });
}

function defaultId(): string {
  return `pol_${randomBytes(6).toString('hex')}`;
}
