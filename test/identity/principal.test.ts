// One resolver from a reference to a declared principal: never an undeclared principal with empty roles.
import { describe, expect, it } from 'vitest';
import { resolvePrincipal } from '../../src/identity/principal.js';
import { identityIssues } from '../../src/identity/config-check.js';
import type { WorkspaceFile } from '../../src/config/schema.js';

const principals = [
  { id: 'dana', kind: 'user' as const, roles: ['finance-approver'] },
  { id: 'refund-bot', kind: 'agent' as const, roles: ['support-agent'] },
];

describe('resolvePrincipal', () => {
  it('resolves `kind:id` and a bare id to the declared principal with its roles', () => {
    expect(resolvePrincipal(principals, 'user:dana')).toEqual({ ok: true, principal: { kind: 'user', id: 'dana', roles: ['finance-approver'] } });
    expect(resolvePrincipal(principals, 'refund-bot')).toEqual({ ok: true, principal: { kind: 'agent', id: 'refund-bot', roles: ['support-agent'] } });
  });

  it('refuses an undeclared principal, a wrong kind and an unknown kind; never empty roles', () => {
    expect(resolvePrincipal(principals, 'user:mallory')).toEqual({ ok: false, reason: 'undeclared' });
    expect(resolvePrincipal(principals, 'mallory')).toEqual({ ok: false, reason: 'undeclared' });
    expect(resolvePrincipal(principals, 'agent:dana')).toEqual({ ok: false, reason: 'wrong-kind', declaredKind: 'user' });
    expect(resolvePrincipal(principals, 'robot:dana')).toEqual({ ok: false, reason: 'undeclared' });
  });
});

describe('identity checks', () => {
  it('refuse one id declared twice (with two kinds), naming both places', () => {
    const file = { identity: { principals: [...principals, { id: 'dana', kind: 'agent', roles: [] }], apiKeys: [] }, server: {} } as unknown as WorkspaceFile;
    expect(identityIssues(file)).toEqual([
      expect.objectContaining({ path: ['identity', 'principals', 2, 'id'], message: 'principal id `dana` is declared twice (also at `identity.principals[0]`)' }),
    ]);
  });
});
