// The kill switch at every door: the scopes an action, a run or an approval falls in (its workflow, the
// agent acting, the person it acts for, the tool's connector, and everything), the one check (the
// store's active halts on those scopes, read every time: another process's halt applies at once), and
// what a refusal says. People stopping and resuming scopes is halt-control.ts.
import { AirlockError } from '../errors.js';
import type { HaltRecord, HaltScopeKind, Store } from '../store/store.js';

/** What a halt stops. */
export type HaltScope =
  | { readonly kind: 'workflow'; readonly name: string }
  /** An agent acting, or the person agents act for: `kind:id`. */
  | { readonly kind: 'principal'; readonly ref: string }
  | { readonly kind: 'connector'; readonly name: string }
  | { readonly kind: 'all' };

/** The key a halt on `scope` is stored under (`HaltRecord.scope`). */
export function scopeKey(scope: HaltScope): string {
  switch (scope.kind) {
    case 'workflow':
      return `workflow:${scope.name}`;
    case 'principal':
      return `principal:${scope.ref}`;
    case 'connector':
      return `connector:${scope.name}`;
    case 'all':
      return 'all';
  }
}

/** The scope a stored key names; a key this version cannot read is `store-corrupt`. */
export function scopeOf(key: string): HaltScope {
  if (key === 'all') return { kind: 'all' };
  const colon = key.indexOf(':');
  const kind = key.slice(0, colon) as HaltScopeKind;
  const rest = key.slice(colon + 1);
  if (colon > 0 && rest !== '') {
    if (kind === 'workflow' || kind === 'connector') return { kind, name: rest };
    if (kind === 'principal') return { kind, ref: rest };
  }
  throw new AirlockError('store-corrupt', `halt scope \`${key.slice(0, 200)}\` is not one this version knows`, { hint: 'the store was written by a newer Airlock, or edited by hand' });
}

/** The scope in words: "workflow `refund-desk`", "everything". */
export function describeScope(scope: HaltScope): string {
  switch (scope.kind) {
    case 'workflow':
      return `workflow \`${scope.name}\``;
    case 'principal':
      return `principal \`${scope.ref}\``;
    case 'connector':
      return `connector \`${scope.name}\``;
    case 'all':
      return 'everything';
  }
}

/** Who and what an action (or a run, or an approval) involves, as halts see it. */
export interface HaltSubject {
  readonly workflow: string;
  /** The acting principal, `kind:id` (the agent). */
  readonly principal: string;
  /** The person the agent acts for, `kind:id`. */
  readonly onBehalfOf?: string | null | undefined;
  /** The connector of the tool involved (absent: no tool yet, as when a run starts). */
  readonly connector?: string | null | undefined;
}

/** The scope keys a subject falls in: everything, its workflow, its principals, its connector. */
export function scopesOf(s: HaltSubject): string[] {
  const keys = ['all', `workflow:${s.workflow}`, `principal:${s.principal}`];
  if (s.onBehalfOf) keys.push(`principal:${s.onBehalfOf}`);
  if (s.connector) keys.push(`connector:${s.connector}`);
  return keys;
}

/**
 * The halt that stops `subject` now (the oldest active one on its scopes), or null. INVARIANT: one read
 * of the store per check, never a cached answer, so a halt committed by any process stops the next
 * check anywhere.
 */
export function haltOn(store: Pick<Store, 'activeHalt'>, subject: HaltSubject): Promise<HaltRecord | null> {
  return store.activeHalt(scopesOf(subject));
}

/** What a refusal under halt `h` says, to an agent or a person. */
export function haltedReason(h: HaltRecord): string {
  return `halted: ${describeScope(scopeOf(h.scope))} was stopped by \`${h.stoppedBy}\` at ${h.stoppedAt} (${h.id}): ${h.reason}; nothing in it runs until an owner resumes it`;
}
