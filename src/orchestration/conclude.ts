// How a run that claims to be done ends: "done" needs evidence. The workflow's run-level checks read
// ground truth; a claim the checks contradict ends the run unverified and opens an incident linked to
// the run and the failing evidence. A run that kept pushing against policy opens one too.
import type { Workspace } from '../config/schema.js';
import type { AuditWriter } from '../audit/writer.js';
import type { AuditRecord, Store } from '../store/store.js';
import type { Json, JsonObject, Principal, RunId, RunStatus, Sha256Hex } from '../types.js';
import { runChecks, type ReadTool, type RunAction, type RunCheckResult } from '../verification/run-checks.js';
import { checkCitations, type Citation, type CitedText } from '../verification/citations.js';
import { entitlementSets } from '../context/entitlements.js';
import { resolvePrincipal } from '../identity/principal.js';
import { finalStatus, type RunState } from './run-machine.js';
import { checkRefusals, openIncident } from './incidents.js';
import { openUnknownOutcomes } from './recovery.js';
import { isRecord, rec } from '../audit/records.js';

export interface ConcludeDeps {
  readonly store: Store;
  readonly audit: AuditWriter;
  readonly now: () => Date;
  readonly workspace: Workspace;
  /** Reads ground truth through a declared read tool (the gateway's `probe`, audited as a read). */
  readonly readTool: ReadTool;
}

/** What the end of a run came to: its status, the reason in words, and each run-level check. */
export interface Conclusion {
  readonly status: RunStatus;
  readonly reason: string | null;
  readonly checks: readonly RunCheckResult[];
}

/**
 * The status a finished run gets (pure): the model gave up → failed; a per-action verification or a
 * run-level check that did not pass → unverified; evidence that all passed → verified; no evidence
 * at all → completed.
 */
export function conclusionOf(state: RunState, checks: readonly RunCheckResult[]): Conclusion {
  const base = finalStatus(state);
  if (base === 'failed') return { status: base, reason: `the model gave up: ${state.final?.text ?? ''}`, checks };
  const failing = checks.filter((c) => c.status === 'failed' || c.status === 'error');
  if (base === 'unverified' || failing.length > 0) {
    const what = [
      ...state.verifications.filter((v) => v.status !== 'passed').map((v) => `verification of \`${v.tool}\` ${v.status}`),
      ...failing.map((c) => `check \`${c.name}\` ${c.status}`),
    ];
    return { status: 'unverified', reason: `the agent said done; ground truth disagrees: ${what.join(', ')}`, checks };
  }
  const evidence = state.verifications.length + checks.filter((c) => c.status === 'passed').length;
  return { status: evidence > 0 ? 'verified' : 'completed', reason: null, checks };
}

/**
 * Runs the workflow's checks for a run whose agent claims it is done, records them (`run.checked`),
 * and opens the incidents the outcome calls for. Never throws for a failing probe (it is an error
 * status, and the run ends unverified).
 */
export async function concludeRun(deps: ConcludeDeps, runId: RunId, state: RunState, agent: Principal): Promise<Conclusion> {
  const workflow = deps.workspace.workflows.get(state.workflow);
  // At `assist` nothing executes (side effects are suggestions), so there is no end state to check.
  const specs = state.final?.claim === 'done' && workflow?.tier !== 'assist' ? (workflow?.checks ?? []) : [];
  let checks: RunCheckResult[] = [];
  if (specs.length > 0) {
    const actions = await executedActions(deps.store, runId);
    checks = await runChecks(specs, { input: state.input, actions }, deps.readTool);
    await deps.audit.append({ runId, principal: agent }, [
      rec('run.checked', { checks: checks.map((c) => ({ name: c.name, status: c.status, evidence: c.evidence as unknown as Json })) }),
    ]);
  }
  // An answer that quotes retrieved documents must quote them exactly where it says (a fabricated citation fails).
  // Read under the run's own entitlements, from declared sources only: a citation check tells nothing about a document the run may not read.
  const person = state.onBehalfOf === null ? null : resolvePrincipal(deps.workspace.file.identity.principals, state.onBehalfOf);
  // A person no longer declared is granted nothing: a set that matches no access row.
  const entitlements = person !== null && !person.ok ? [...entitlementSets(agent, null), ['\u0000']] : entitlementSets(agent, person?.principal ?? null);
  const declared = new Set(Object.keys(deps.workspace.file.sources));
  const cited = state.final?.claim === 'done' ? await checkCitations(state.final.text, (c) => citedPlace(deps.store, c, declared, entitlements)) : null;
  if (cited) {
    checks = [...checks, cited];
    await deps.audit.append({ runId, principal: agent }, [rec('run.checked', { checks: [{ name: cited.name, status: cited.status, evidence: cited.evidence as unknown as Json }] })]);
  }
  const conclusion = conclusionOf(state, checks);
  // INVARIANT: an agent's "done" that ground truth contradicts is never recorded as success: it is an incident.
  if (conclusion.status === 'unverified' && state.final?.claim === 'done') {
    await openIncident(deps, {
      runId,
      kind: 'verification-failed',
      title: conclusion.reason ?? 'verification failed',
      evidence: {
        claim: state.final.text,
        verifications: state.verifications.filter((v) => v.status !== 'passed').map((v) => ({ ...v })),
        checks: checks.filter((c) => c.status === 'failed' || c.status === 'error').map((c) => ({ name: c.name, status: c.status, evidence: c.evidence as unknown as Json })),
      },
    });
  }
  await checkRefusals(deps, runId);
  // A call whose outcome was never recorded (its record failed to commit) is a person's to look at.
  await openUnknownOutcomes(deps, runId);
  return conclusion;
}

/** Every executed call of a run, in order, with its arguments and result from the audit payloads. */
export async function executedActions(store: Store, runId: RunId): Promise<RunAction[]> {
  const records: readonly AuditRecord[] = await store.readAuditForRun(runId);
  const argsOf = new Map<string, string>();
  const payload = async (hash: Json | undefined): Promise<Json> => {
    if (typeof hash !== 'string') return null;
    const text = await store.getPayload(hash as Sha256Hex);
    return text === null ? null : (JSON.parse(text) as Json);
  };
  const actions: RunAction[] = [];
  for (const r of records) {
    if (isRecord(r, 'action.intent') && typeof r.body.actionHash === 'string' && typeof r.body.argsHash === 'string') {
      argsOf.set(r.body.actionHash, r.body.argsHash);
    }
    if (isRecord(r, 'action.executed')) {
      const args = await payload(argsOf.get(r.body.actionHash));
      actions.push({
        tool: r.body.tool,
        args: (args !== null && typeof args === 'object' && !Array.isArray(args) ? args : {}) as JsonObject,
        result: await payload(r.body.resultHash),
        ok: r.body.outcome === 'ok',
      });
    }
  }
  return actions;
}

/** What the store holds at a citation's place, as the check reads it: the text, or why there is none. */
async function citedPlace(store: Store, c: Citation, declared: ReadonlySet<string>, entitlements: readonly (readonly string[])[]): Promise<CitedText> {
  const at = declared.has(c.source) ? await store.contextCited(c.source, c.path, c.start, c.end, entitlements) : ({ kind: 'no-document' } as const);
  if (at.kind === 'no-document') return { ok: false, why: `no document \`${c.source}/${c.path}\` this run may read is stored` };
  if (!at.versionHash.startsWith(c.version)) return { ok: false, why: `version ${c.version} is not the stored one (${at.versionHash.slice(0, 16)}): the document changed, or the version is made up` };
  if (at.kind === 'not-in-a-chunk') return { ok: false, why: 'the cited place is not within one stored chunk of the document' };
  return { ok: true, text: at.text };
}
