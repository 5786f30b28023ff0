// Connector faults through openAirlock + Gateway.propose on a real Acme server with ACME_FAULT injected:
// each fault is a `failed` outcome with an audit record, contained to one call, and the connector restarts.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { verifyStore } from '../../src/audit/log.js';
import { auditForRun } from '../../src/cli/main.js';
import { INITIAL_LABELS } from '../../src/context/labels.js';
import { openAcmeDb, snapshotAcme } from '../../src/demo/acme/db.js';
import type { RunState } from '../../src/orchestration/run-machine.js';
import type { CallContext } from '../../src/gateway/types.js';
import type { AuditRecord } from '../../src/store/store.js';
import type { RunId } from '../../src/types.js';
import { requireBuild } from '../cli/cli-helpers.js';
import { copyAcme } from '../helpers/workspace.js';

/** For faults that must be reported as what they are (a crash, garbage): far longer than any such report takes. */
const LONG_TIMEOUT_MS = 30_000;
/** For a hang, which only a timeout can end (long enough for the warm server's other calls on a loaded machine). */
const HANG_TIMEOUT_MS = 3000;

let open: { a: Airlock; ws: ReturnType<typeof copyAcme> }[] = [];
afterEach(async () => {
  for (const { a, ws } of open) {
    await a.close();
    ws.cleanup();
  }
  open = [];
});
beforeAll(() => requireBuild());

/**
 * A workspace copy whose `connector` (default `documents`) answers within `timeoutMs` and runs with
 * `env` (e.g. ACME_FAULT), or whose launch line is replaced; opened as an Airlock.
 */
async function airlockWith(
  launch: { env?: Record<string, string>; timeoutMs?: number; command?: string; args?: string[] },
  connector = 'documents',
): Promise<Airlock> {
  const ws = copyAcme();
  const file = path.join(ws.dir, 'airlock.yaml');
  const text = readFileSync(file, 'utf8');
  const block = new RegExp(`^ {2}${connector}:\\n {4}kind: mcp-stdio\\n {4}command: .*\\n {4}args: .*\\n`, 'm');
  expect(text).toMatch(block);
  const lines = [`  ${connector}:`, '    kind: mcp-stdio'];
  lines.push(`    command: ${JSON.stringify(launch.command ?? '${node}')}`);
  lines.push(`    args: ${JSON.stringify(launch.args ?? ['${airlock}/dist/src/demo/acme/server.js', connector, '--db', '${workspace}/.airlock/acme.db'])}`);
  if (launch.timeoutMs !== undefined) lines.push(`    timeoutMs: ${launch.timeoutMs}`);
  if (launch.env) lines.push(`    env: ${JSON.stringify(launch.env)}`);
  writeFileSync(file, text.replace(block, lines.join('\n') + '\n'));
  const a = await openAirlock(ws.dir);
  open.push({ a, ws });
  return a;
}

let runCounter = 0;
function ctxFor(a: Airlock): CallContext {
  const workflow = a.workspace.workflows.get('refund-desk');
  if (!workflow) throw new Error('refund-desk is missing from the example');
  return { runId: `run_faults${++runCounter}` as RunId, workflow, principal: a.principal('agent:refund-bot'), labels: INITIAL_LABELS, step: 1 };
}

const getDoc = { tool: 'documents.get', args: { doc_id: 'refund-policy' } };
const search = { tool: 'documents.search', args: { query: 'refund' } };

/** The pid of the connector's live server process (null when none is running). */
function serverPid(a: Airlock, name: string): number | null {
  return a.connectors.pids(name)[0] ?? null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The audit records of one call, by type. */
function byType(records: readonly AuditRecord[], type: string): AuditRecord[] {
  return records.filter((r) => r.type === type);
}

/** The failed call was decided, audited write-ahead, and its failure recorded; nothing else. */
async function expectAuditedFailure(a: Airlock, ctx: CallContext, failure: string): Promise<void> {
  const records = await auditForRun(a.store, ctx.runId);
  expect(records.map((r) => r.type)).toEqual(['action.intent', 'action.decision', 'action.executed']);
  expect(byType(records, 'action.decision')[0]?.body).toMatchObject({ tool: 'documents.get', decision: 'allow' });
  expect(byType(records, 'action.executed')[0]?.body).toMatchObject({ tool: 'documents.get', outcome: 'error', failure });
  expect(String(byType(records, 'action.executed')[0]?.body['message'])).toMatch(/connector `documents`/);
}

describe('a connector that fails mid-call', () => {
  it('crash: outcome failed/crash (not a timeout), audited with outcome error, and the next call starts a fresh server', async () => {
    const a = await airlockWith({ env: { ACME_FAULT: 'documents.get:crash' }, timeoutMs: LONG_TIMEOUT_MS });
    const ctx = ctxFor(a);
    const out = await a.gateway.propose(ctx, getDoc);
    // Reported as a crash: had Airlock waited for the (long) timeout, the failure would be `timeout`.
    expect(out).toMatchObject({ kind: 'failed', failure: 'crash' });
    if (out.kind !== 'failed') throw new Error('unreachable');
    expect(out.message).toMatch(/connector `documents` crash: .*Connection closed/);
    // The server's own last words come with it, for the operator.
    expect(out.message).toMatch(/fault injected: crashing on `get`/);
    await expectAuditedFailure(a, ctx, 'crash');

    const next = await a.gateway.propose(ctxFor(a), search);
    expect(next).toMatchObject({ kind: 'executed' });
    expect(await verifyStore(a.store)).toMatchObject({ ok: true });
  });

  it('hang: outcome failed/timeout; the hung server is stopped and the next call works', async () => {
    const a = await airlockWith({ env: { ACME_FAULT: 'documents.get:hang' }, timeoutMs: HANG_TIMEOUT_MS });
    expect(await a.gateway.propose(ctxFor(a), search)).toMatchObject({ kind: 'executed' });
    const hungPid = serverPid(a, 'documents');
    expect(hungPid).not.toBeNull();

    const ctx = ctxFor(a);
    const out = await a.gateway.propose(ctx, getDoc);
    expect(out).toMatchObject({ kind: 'failed', failure: 'timeout' });
    if (out.kind !== 'failed') throw new Error('unreachable');
    expect(out.message).toMatch(/connector `documents` timeout: .*timed out/i);
    await expectAuditedFailure(a, ctx, 'timeout');
    // The hung process is not left behind.
    expect(alive(hungPid!)).toBe(false);

    const next = await a.gateway.propose(ctxFor(a), search);
    expect(next).toMatchObject({ kind: 'executed' });
    expect(serverPid(a, 'documents')).not.toBe(hungPid);
  });

  it('garbage on stdout: outcome failed/protocol at once (not after the timeout), contained; the next call works', async () => {
    const a = await airlockWith({ env: { ACME_FAULT: 'documents.get:garbage' }, timeoutMs: LONG_TIMEOUT_MS });
    expect(await a.gateway.propose(ctxFor(a), search)).toMatchObject({ kind: 'executed' });
    const brokenPid = serverPid(a, 'documents');

    const ctx = ctxFor(a);
    const out = await a.gateway.propose(ctx, getDoc);
    // `protocol`, not `timeout`: the broken line failed the call at once.
    expect(out).toMatchObject({ kind: 'failed', failure: 'protocol' });
    if (out.kind !== 'failed') throw new Error('unreachable');
    expect(out.message).toMatch(/connector `documents` protocol: the server broke the MCP protocol: .*not valid JSON/);
    await expectAuditedFailure(a, ctx, 'protocol');
    expect(alive(brokenPid!)).toBe(false);

    const next = await a.gateway.propose(ctxFor(a), search);
    expect(next).toMatchObject({ kind: 'executed' });
  });

  it('a server that cannot start (bad launch line): outcome failed/crash with the server\'s own error, audited', async () => {
    const a = await airlockWith({ args: ['${airlock}/dist/src/demo/acme/server.js', 'no-such-system', '--db', '${workspace}/.airlock/acme.db'] });
    const ctx = ctxFor(a);
    const out = await a.gateway.propose(ctx, getDoc);
    expect(out).toMatchObject({ kind: 'failed', failure: 'crash' });
    if (out.kind !== 'failed') throw new Error('unreachable');
    expect(out.message).toMatch(/could not start connector `documents`/);
    expect(out.message).toMatch(/unknown system `no-such-system`/);
    await expectAuditedFailure(a, ctx, 'crash');
  });

  it('a command that does not exist: outcome failed/crash, audited', async () => {
    const a = await airlockWith({ command: '/nonexistent/airlock-test-server', args: [] });
    const ctx = ctxFor(a);
    const out = await a.gateway.propose(ctx, getDoc);
    expect(out).toMatchObject({ kind: 'failed', failure: 'crash' });
    if (out.kind !== 'failed') throw new Error('unreachable');
    expect(out.message).toMatch(/could not start connector `documents`: .*ENOENT/);
    await expectAuditedFailure(a, ctx, 'crash');
  });
});

describe('a connector that dies after the effect (crash-after)', () => {
  it('the write happened but the answer was lost: audited as an error, never as not executed', async () => {
    const a = await airlockWith({ env: { ACME_FAULT: 'tickets.comment:crash-after' }, timeoutMs: LONG_TIMEOUT_MS }, 'tickets');
    const ctx = ctxFor(a);
    const out = await a.gateway.propose(ctx, { tool: 'tickets.comment', args: { ticket_id: 'T-311', body: 'looking into it' } });
    expect(out).toMatchObject({ kind: 'failed', failure: 'crash' });
    const records = await auditForRun(a.store, ctx.runId);
    expect(records.map((r) => r.type)).toEqual(['action.intent', 'action.decision', 'action.executed']);
    expect(records[2]?.body).toMatchObject({ tool: 'tickets.comment', outcome: 'error', failure: 'crash' });
    // Ground truth has the comment: the trail must not (and does not) claim the action was not executed.
    const db = openAcmeDb(path.join(a.workspace.dir, '.airlock', 'acme.db'));
    try {
      const comments = snapshotAcme(db).ticket_comments.filter((c) => c['ticket_id'] === 'T-311' && c['body'] === 'looking into it');
      expect(comments).toHaveLength(1);
    } finally {
      db.close();
    }
  });
});

describe('a run whose tool call fails', () => {
  it('gets the error as a tool result and continues to its next step', async () => {
    const a = await airlockWith({ env: { ACME_FAULT: 'documents.get:crash' }, timeoutMs: LONG_TIMEOUT_MS });
    const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
    // Both documents.get calls crashed; the run went on to propose the refund (which needs approval).
    expect(run.status).toBe('awaiting-approval');
    const state = run.state as unknown as RunState;
    expect(state.pending?.tool).toBe('payments.refund');
    const results = state.history.filter((h) => h.kind === 'tool_result' && h.tool === 'documents.get');
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r).toMatchObject({ status: 'failed', content: { error: expect.stringMatching(/connector `documents` crash/) } });
    }
    // The planted instruction was never read, so the hijacked model had nothing to obey.
    expect(state.history.some((h) => h.kind === 'tool_call' && h.tool === 'mail.send')).toBe(false);
    expect(state.inFlight).toBeNull();

    const records = await auditForRun(a.store, run.id);
    const failed = records.filter((r) => r.type === 'action.executed' && r.body['outcome'] === 'error');
    expect(failed.map((r) => [r.body['tool'], r.body['failure']])).toEqual([
      ['documents.get', 'crash'],
      ['documents.get', 'crash'],
    ]);
    // Reads before and after the failures still executed.
    const ok = records.filter((r) => r.type === 'action.executed' && r.body['outcome'] === 'ok').map((r) => r.body['tool']);
    expect(ok).toEqual(['tickets.get_ticket', 'crm.get_customer', 'orders.get_order', 'documents.search']);
    expect(await verifyStore(a.store)).toMatchObject({ ok: true });
  });
});
