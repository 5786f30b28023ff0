// Principals: `kind:id` references (how audit, approvals and policy context write them), and the one
// resolver from a reference to a declared principal with its roles. Pure.
import type { PrincipalConfig } from '../config/schema.js';
import type { Principal, PrincipalKind } from '../types.js';

/** `kind:id`, e.g. `agent:refund-bot` or `user:dana`. */
export function principalRef(p: Pick<Principal, 'kind' | 'id'>): string {
  return `${p.kind}:${p.id}`;
}

const KINDS: readonly PrincipalKind[] = ['user', 'agent', 'service'];

/** What resolving a reference gave: the declared principal, or why not. */
export type PrincipalLookup =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: 'undeclared' | 'wrong-kind'; readonly declaredKind?: PrincipalKind };

/**
 * The one resolver: `ref` (`agent:refund-bot` or `refund-bot`) to the declared principal, with its
 * roles from the workspace (ids are unique: the workspace check refuses a second one). A `kind:`
 * prefix must match the declared kind. An undeclared principal is never given empty roles: it is
 * `undeclared`, and the caller refuses it.
 */
export function resolvePrincipal(principals: readonly PrincipalConfig[], ref: string): PrincipalLookup {
  let kind: PrincipalKind | undefined;
  let id = ref;
  const colon = ref.indexOf(':');
  if (colon >= 0) {
    const k = ref.slice(0, colon);
    if (!(KINDS as readonly string[]).includes(k)) return { ok: false, reason: 'undeclared' };
    kind = k as PrincipalKind;
    id = ref.slice(colon + 1);
  }
  const declared = principals.find((p) => p.id === id);
  if (declared === undefined) return { ok: false, reason: 'undeclared' };
  if (kind !== undefined && declared.kind !== kind) return { ok: false, reason: 'wrong-kind', declaredKind: declared.kind };
  return { ok: true, principal: Object.freeze({ kind: declared.kind, id: declared.id, roles: Object.freeze([...declared.roles]) }) };
}

