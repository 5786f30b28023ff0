// Test fixtures for the policy layer: inline tool contracts (the acme table), principals, a workspace.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrincipalConfig, ToolContract, ValueBudget, Workspace, WorkflowConfig } from '../../src/config/schema.js';
import type { PolicySource } from '../../src/policy/compile.js';
import type { PolicyRequest } from '../../src/policy/decide.js';
import type { Principal, Tier } from '../../src/types.js';

/** A tool contract with sensible defaults; `name` decides the connector (`tickets.comment` → `tickets`). */
export function contract(c: Partial<ToolContract> & Pick<ToolContract, 'name' | 'effect' | 'risk'>): ToolContract {
  return {
    connector: c.name.split('.')[0] ?? 'x',
    description: `the ${c.name} tool`,
    classification: 'internal',
    trust: 'trusted',
    fieldTrust: {},
    inputSchema: { type: 'object' },
    expose: {},
    irreversible: c.effect !== 'read' && c.compensation === undefined,
    ...c,
  };
}

/** The demo enterprise's tools, exactly as in docs/internals.md. */
export const ACME_CONTRACTS: readonly ToolContract[] = [
  contract({ name: 'tickets.get_ticket', effect: 'read', risk: 'low', trust: 'untrusted' }),
  contract({ name: 'tickets.comment', effect: 'write', risk: 'low' }),
  contract({
    name: 'tickets.set_status',
    effect: 'write',
    risk: 'low',
    expose: { status: 'string' },
    compensation: { tool: 'tickets.set_status', args: { ticket_id: '$args.ticket_id', status: '$result.previous_status' } },
  }),
  contract({ name: 'crm.get_customer', effect: 'read', risk: 'low', classification: 'confidential' }),
  contract({ name: 'orders.get_order', effect: 'read', risk: 'low' }),
  contract({
    name: 'payments.refund',
    effect: 'financial',
    risk: 'medium',
    expose: { amount_cents: 'long', currency: 'string' },
    compensation: { tool: 'payments.reverse_refund', args: { refund_id: '$result.refund_id' } },
  }),
  contract({ name: 'payments.reverse_refund', effect: 'financial', risk: 'medium' }),
  contract({ name: 'payments.get_refund', effect: 'read', risk: 'low' }),
  contract({ name: 'payments.list_refunds', effect: 'read', risk: 'low' }),
  contract({
    name: 'mail.draft',
    effect: 'write',
    risk: 'low',
    expose: { to: 'string' },
    compensation: { tool: 'mail.discard_draft', args: { draft_id: '$result.draft_id' } },
  }),
  contract({ name: 'mail.discard_draft', effect: 'write', risk: 'low' }),
  contract({ name: 'tickets.delete_comment', effect: 'write', risk: 'low' }),
  contract({ name: 'mail.send', effect: 'egress', risk: 'high', expose: { to: 'string' } }),
  contract({ name: 'documents.search', effect: 'read', risk: 'low' }),
  contract({ name: 'documents.get', effect: 'read', risk: 'low', trust: 'untrusted' }),
];

/** The demo's principals: the refund agent and three humans. */
export const ACME_PRINCIPALS: readonly PrincipalConfig[] = [
  { id: 'refund-bot', kind: 'agent', roles: ['support-agent'] },
  { id: 'dana', kind: 'user', roles: ['support-lead', 'finance-approver'] },
  { id: 'sam', kind: 'user', roles: ['support-lead'] },
  { id: 'priya', kind: 'user', roles: ['finance-approver'] },
];

/** The refund-desk workflow (tier execute-low, every acme tool). */
export const REFUND_DESK: WorkflowConfig = {
  name: 'refund-desk',
  description: 'refunds for broken deliveries',
  owners: {},
  tier: 'execute-low',
  agent: 'refund-bot',
  tools: ACME_CONTRACTS.map((c) => c.name),
  budgets: { steps: 25, wallTimeMs: 120_000 },
  inputClassification: 'public',
  stepKind: 'reason',
  model: 'scripted',
  approvals: { ttlMinutes: 60, escalateTo: [], reauthMaxAgeMinutes: 5, justifyFrom: 'high' },
};

/** A workspace object with the given contracts, principals and workflows (no files behind it). */
export function workspace(
  opts: {
    contracts?: readonly ToolContract[];
    principals?: readonly PrincipalConfig[];
    workflows?: readonly WorkflowConfig[];
    policySources?: readonly PolicySource[];
    valueBudgets?: readonly ValueBudget[];
  } = {},
): Workspace {
  const contracts = opts.contracts ?? ACME_CONTRACTS;
  const workflows = opts.workflows ?? [REFUND_DESK];
  return {
    dir: '/nowhere',
    file: {
      version: 1,
      name: 'acme',
      store: { kind: 'sqlite', path: '.airlock/airlock.db', sensitivePayloads: 'encrypt' },
      identity: { principals: [...(opts.principals ?? ACME_PRINCIPALS)], apiKeys: [] },
      server: { host: '127.0.0.1', port: 8787, sessionIdleMinutes: 30, limits: { maxRequestBytes: 1_048_576, callsPerMinute: 120, concurrentCallsPerRun: 4, openRunsPerPrincipal: 64 } },
      connectors: {},
      tools: [...contracts],
      policies: ['policies/*.cedar'],
      policyTests: ['tests/policy/*.yaml'],
      valueBudgets: [...(opts.valueBudgets ?? [])],
      routing: [],
      models: {},
      workflows: ['workflows/*.yaml'],
      telemetry: { console: false, capture: { content: 'off', maxClassification: 'internal' } },
      notifications: { webhooks: [] },
      sources: {},
      audit: { checkpoints: { every: 1000, intervalSeconds: 60 }, witnesses: [] },
      injection: { detect: true, quarantine: false },
    },
    workflows: new Map(workflows.map((w) => [w.name, w])),
    tools: new Map(contracts.map((c) => [c.name, c])),
    policySources: opts.policySources ?? [],
  };
}

/** The acme refund agent as an authenticated principal. */
export const REFUND_BOT: Principal = { kind: 'agent', id: 'refund-bot', roles: ['support-agent'] };

/** Looks up an acme contract by name (throws on a typo in a test). */
export function tool(name: string, contracts: readonly ToolContract[] = ACME_CONTRACTS): ToolContract {
  const t = contracts.find((c) => c.name === name);
  if (!t) throw new Error(`no contract ${name}`);
  return t;
}

/** A policy request with defaults: refund-bot, workflow refund-desk, tier execute-low, public/trusted. */
export function request(t: ToolContract, over: Partial<PolicyRequest> & { tier?: Tier } = {}): PolicyRequest {
  return {
    principal: REFUND_BOT,
    tool: t,
    workflow: 'refund-desk',
    tier: 'execute-low',
    args: {},
    labels: { classification: 'public', trust: 'trusted' },
    ...over,
  };
}

/** Reads every file with the extension in a folder of the repository, as policy sources. */
export function readSources(dir: string, ext: string): PolicySource[] {
  const abs = join(fileURLToPath(new URL('../..', import.meta.url)), dir);
  return readdirSync(abs)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(abs, f), 'utf8') }));
}

/** The namespace prefix in one place, for tests that write policies inline. */
export const CALL = 'action == Airlock::Action::"call"';
