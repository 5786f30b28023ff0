// Principal references: `kind:id`, the one way principals are written in audit, approvals and policy context.
import type { Principal } from '../types.js';

/** `kind:id`, e.g. `agent:refund-bot` or `user:dana`. */
export function principalRef(p: Pick<Principal, 'kind' | 'id'>): string {
  return `${p.kind}:${p.id}`;
}
