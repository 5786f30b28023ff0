// A pooled MCP connector on a real stdio server that can block its own process: calls avoid a stuck process, a stuck one is
// replaced, a read lost under it is retried once, a write never is. Outcomes and the server's own call log, never timings.
import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { auditForRun } from '../../src/cli/main.js';
import { AirlockError, formatError } from '../../src/errors.js';
import { verifyStore } from '../../src/audit/log.js';
import { McpStdioConnector } from '../../src/tools/connectors/mcp-stdio.js';
import { NormalisedConnector } from '../../src/tools/connectors/normalise.js';
import type { ConnectorResult } from '../../src/tools/connector.js';
import { alive, openTestUpstream, serverState, TEST_SERVER, upstreamCtx } from '../helpers/test-upstream.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function pidOf(r: ConnectorResult): number {
  if (!r.ok) throw new Error(`call failed: ${r.message}`);
  return (r.content as { pid: number }).pid;
}

describe('a pooled MCP connector', () => {
  it('refuses a pool size out of range, saying where', async () => {
    const state = serverState();
    cleanups.push(state.cleanup);
    for (const pool of [0, 17, 1.5]) {
      const err = await openTestUpstream({ state: state.dir, connector: `pool: ${pool}` }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AirlockError);
      expect(formatError(err as AirlockError)).toMatch(/airlock\.yaml:\d+:\d+ at `connectors\.up\.pool`/);
    }
  });

  it('sends new calls to a healthy process, never behind one whose oldest call has run suspiciously long', async () => {
    const state = serverState();
    let now = 1_000_000;
    const c = new McpStdioConnector('up', { command: process.execPath, args: [TEST_SERVER, '--state', state.dir], env: {} }, { pool: 2, now: () => now });
    cleanups.push(state.cleanup, () => c.close());
    const long = { timeoutMs: 60_000 };

    // Two callers at once open both processes.
    const [p0, p1] = (await Promise.all([c.call('pid', {}, long), c.call('pid', {}, long)])).map(pidOf) as [number, number];
    expect(p0).not.toBe(p1);
    // One process blocks itself; on the (fake) clock it has now been stuck for 5 s. (Its real
    // time-out only ends the test if a call wrongly waits behind it: that call then fails.)
    const stuck = c.call('block', {}, { timeoutMs: 10_000 });
    now += 5_000;
    // Concurrent callers all go to the other process: least busy, and never the suspect one even when it is less busy.
    const reads = await Promise.all([1, 2, 3, 4].map(() => c.call('pid', {}, long)));
    expect(reads.map(pidOf)).toEqual([p1, p1, p1, p1]);
    writeFileSync(state.release, '');
    await stuck;
  });

  it('replaces stuck processes; a read caught behind one is retried once and succeeds; a write caught behind one is not retried', async () => {
    const state = serverState();
    const { a, close } = await openTestUpstream({ state: state.dir, connector: 'pool: 2, timeoutMs: 30000' });
    cleanups.push(state.cleanup, close);
    const up = a.connectors.get('up');
    const pooled = (up as NormalisedConnector).inner as McpStdioConnector;
    const long = { timeoutMs: 30_000 };
    const [p0, p1] = (await Promise.all([up.call('pid', {}, long), up.call('pid', {}, long)])).map(pidOf) as [number, number];
    expect(new Set([p0, p1]).size).toBe(2);

    // Both processes block.
    const stuck = [up.call('block', {}, long), up.call('block', {}, long)];
    // A read and a write through the gateway, each queued behind a blocked process.
    const readCtx = upstreamCtx(a);
    const writeCtx = upstreamCtx(a);
    const read = a.gateway.propose(readCtx, { tool: 'up.pid', args: {} });
    const write = a.gateway.propose(writeCtx, { tool: 'up.count', args: { note: 'caught' } });
    for (let i = 0; pooled.load < 4; i++) {
      if (i > 3000) throw new Error('the read and the write never reached the connector');
      await new Promise((r) => setTimeout(r, 10));
    }
    // Then one call on each process times out: that is how a stuck process is found out, and replaced.
    const probes = [up.call('pid', {}, { timeoutMs: 500 }), up.call('pid', {}, { timeoutMs: 500 })];
    for (const p of await Promise.all(probes)) expect(p).toMatchObject({ ok: false, failure: 'timeout' });
    for (const s of await Promise.all(stuck)) expect(s).toMatchObject({ ok: false, failure: 'crash' });

    // The read ran again, on a fresh process.
    const r = await read;
    expect(r).toMatchObject({ kind: 'executed' });
    expect([p0, p1]).not.toContain(r.kind === 'executed' ? (r.result as { pid: number }).pid : p0);
    // The write failed with its process and was not sent again: the upstream ran it at most once.
    const w = await write;
    expect(w).toMatchObject({ kind: 'failed', failure: 'crash' });
    expect(w.kind === 'failed' && w.message).toMatch(/connector `up` crash: the connection was given up after another call on it failed \(timeout\)/);
    expect(state.calls().filter((c) => c.note === 'caught').length).toBeLessThanOrEqual(1);

    // Both outcomes are on record.
    const executed = async (runId: typeof readCtx.runId) => (await auditForRun(a.store, runId)).filter((r) => r.type === 'action.executed').map((r) => r.body);
    expect(await executed(readCtx.runId)).toMatchObject([{ tool: 'up.pid', outcome: 'ok' }]);
    expect(await executed(writeCtx.runId)).toMatchObject([{ tool: 'up.count', outcome: 'error', failure: 'crash' }]);
    expect(await verifyStore(a.store)).toMatchObject({ ok: true });

    // The stuck processes are gone, replaced by working ones.
    expect(alive(p0)).toBe(false);
    expect(alive(p1)).toBe(false);
    const after = await a.gateway.propose(upstreamCtx(a), { tool: 'up.count', args: { note: 'after' } });
    expect(after).toMatchObject({ kind: 'executed' });
    expect(a.connectors.pids('up').some((p) => p === p0 || p === p1)).toBe(false);
  });

  it('a write caught behind a stuck process on a pool of one is not retried either; a read is, on the restarted process', async () => {
    const state = serverState();
    const c = new McpStdioConnector('up', { command: process.execPath, args: [TEST_SERVER, '--state', state.dir], env: {} });
    cleanups.push(state.cleanup, () => c.close());
    const p0 = pidOf(await c.call('pid', {}, { timeoutMs: 30_000 }));
    const stuck = c.call('block', {}, { timeoutMs: 3000 });
    const read = c.call('pid', {}, { timeoutMs: 30_000, retryable: true });
    const write = c.call('count', { note: 'caught' }, { timeoutMs: 30_000, retryable: false });
    expect(await stuck).toMatchObject({ ok: false, failure: 'timeout' });
    expect(pidOf(await read)).not.toBe(p0);
    expect(await write).toMatchObject({ ok: false, failure: 'crash' });
    expect(state.calls()).toEqual([]);
  });

  it('does not retry a read that was in flight when the connector closed (no process is started again)', async () => {
    const state = serverState();
    const c = new McpStdioConnector('up', { command: process.execPath, args: [TEST_SERVER, '--state', state.dir], env: {} });
    cleanups.push(state.cleanup, () => c.close());
    pidOf(await c.call('pid', {}, { timeoutMs: 30_000 }));
    const stuck = c.call('block', {}, { timeoutMs: 30_000 });
    const read = c.call('pid', {}, { timeoutMs: 30_000, retryable: true });
    await c.close();
    expect(await read).toMatchObject({ ok: false, failure: 'crash' });
    expect(await stuck).toMatchObject({ ok: false });
    expect(c.pids()).toEqual([]);
  });
});
