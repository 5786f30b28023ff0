// The shadow policy set at the gateway: while a person has set one (gateway/policy-lifecycle.ts), each
// proposal is decided again with it and its verdict recorded (`policy.shadow`) in the same append as the
// enforced decision. It never changes what is enforced, and it never fails a call: whatever goes wrong
// is recorded as the verdict's error. The active shadow is read from the store on every call (one index
// read: a shadow set by another process applies to the next call here); its compiled set is cached by hash.
import type { Workspace } from '../config/schema.js';
import type { CompiledPolicies } from '../policy/compile.js';
import type { PolicyEventHead, Store } from '../store/store.js';
import type { Decision, Sha256Hex } from '../types.js';
import { rec, type TypedItem } from '../audit/records.js';
import { changeOf, compileDraft } from './what-if.js';

/** A shadow's compiled set, or why it could not be compiled (cached as such: not compiled again per call). */
type Compiled = { readonly ok: true; readonly policies: CompiledPolicies } | { readonly ok: false; readonly error: string };

/** The compiled sets kept (a shadow changes rarely; a few cover a replaced one still being read). */
const CACHED_SETS = 4;

/** The longest error text recorded. */
const ERROR_MAX = 500;

/** Decides proposals with the active shadow set, if any, as records to append beside the enforced decision. */
export class ShadowPolicies {
  private readonly compiled = new Map<string, Compiled>();

  constructor(private readonly deps: { readonly store: Pick<Store, 'latestPolicyEvent' | 'getPolicyEvent'>; readonly workspace: Workspace }) {}

  /**
   * The `policy.shadow` record for one proposal (none when no shadow is active): the shadow set's
   * decision through `decideWith` (the same request the enforced decision saw), compared with
   * `enforced`. Never throws.
   */
  async verdict(tool: string, actionHash: Sha256Hex, enforced: Decision, decideWith: (policies: CompiledPolicies) => Decision): Promise<TypedItem<'policy.shadow'>[]> {
    let head: PolicyEventHead | null;
    try {
      head = await this.deps.store.latestPolicyEvent('shadow');
    } catch (e) {
      // Not even which shadow is active could be read: nothing to attribute a verdict to.
      return [shadowRecord(tool, actionHash, enforced, { shadowId: 'unknown', policySetHash: '' }, { error: `the active shadow could not be read: ${messageOf(e)}` })];
    }
    if (!head || head.kind !== 'shadow-started') return [];
    const about = { shadowId: head.id, policySetHash: head.policySetHash };
    try {
      const set = await this.compiledFor(head);
      if (!set.ok) return [shadowRecord(tool, actionHash, enforced, about, { error: set.error })];
      return [shadowRecord(tool, actionHash, enforced, { ...about, policySetHash: set.policies.policySetHash }, { decision: decideWith(set.policies) })];
    } catch (e) {
      return [shadowRecord(tool, actionHash, enforced, about, { error: messageOf(e) })];
    }
  }

  /** The shadow's compiled set, compiled once per hash. */
  private async compiledFor(head: PolicyEventHead): Promise<Compiled> {
    const cached = this.compiled.get(head.policySetHash);
    if (cached) return cached;
    const event = await this.deps.store.getPolicyEvent(head.id);
    let out: Compiled;
    if (!event) out = { ok: false, error: `shadow \`${head.id}\` is no longer stored` };
    else {
      try {
        out = { ok: true, policies: compileDraft(this.deps.workspace, event.files) };
      } catch (e) {
        out = { ok: false, error: `the shadow set does not compile against this workspace: ${messageOf(e)}` };
      }
    }
    if (this.compiled.size >= CACHED_SETS) this.compiled.clear();
    this.compiled.set(head.policySetHash, out);
    return out;
  }
}

function shadowRecord(
  tool: string,
  actionHash: Sha256Hex,
  enforced: Decision,
  about: { readonly shadowId: string; readonly policySetHash: string },
  got: { readonly decision: Decision } | { readonly error: string },
): TypedItem<'policy.shadow'> {
  const base = { tool, actionHash, ...about, enforced: enforced.kind, ...(enforced.kind === 'approval' ? { enforcedLevel: enforced.level } : {}) };
  if ('error' in got) return rec('policy.shadow', { ...base, decision: 'error', policyIds: [], change: 'error', differs: false, error: got.error.slice(0, ERROR_MAX) });
  const d = got.decision;
  const change = changeOf(enforced, d);
  return rec('policy.shadow', { ...base, decision: d.kind, ...(d.kind === 'approval' ? { level: d.level } : {}), policyIds: [...d.basis.policyIds], change, differs: change !== 'same' });
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
