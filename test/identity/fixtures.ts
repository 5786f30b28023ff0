// Test fixtures for identity: a minimal workspace around an identity section, and a fixed clock.
import os from 'node:os';
import { workspaceSchema, type Workspace } from '../../src/config/schema.js';

/** The fixed "now" of these tests. */
export const NOW = new Date('2026-03-01T12:00:00Z');
export const now = (): Date => NOW;

/** Principals like the Acme demo's: one agent, two users, one service. */
export const PRINCIPALS = [
  { id: 'refund-bot', kind: 'agent', roles: ['support-agent'] },
  { id: 'other-bot', kind: 'agent', roles: [] },
  { id: 'dana', kind: 'user', roles: ['support-lead', 'finance-approver'] },
  { id: 'sam', kind: 'user', roles: ['support-lead'] },
  { id: 'ops-service', kind: 'service', roles: ['platform'] },
];

/** A validated workspace whose only meaningful part is `identity` (and `server`, when given). */
export function workspaceWith(identity: Record<string, unknown>, opts: { dir?: string; server?: Record<string, unknown> } = {}): Workspace {
  const file = workspaceSchema.parse({
    version: 1,
    name: 'identity-test',
    identity: { principals: PRINCIPALS, ...identity },
    ...(opts.server ? { server: opts.server } : {}),
    connectors: {},
    tools: [],
    policies: ['policies/*.cedar'],
    models: {},
    workflows: ['workflows/*.yaml'],
  });
  return { dir: opts.dir ?? os.tmpdir(), file, workflows: new Map(), tools: new Map(), policySources: [] };
}
