// Upstream results Airlock cannot hold as they are, end to end through the gateway on a real MCP server (stdio and Streamable HTTP):
// a 10,000-deep result is a protocol failure naming its depth, lone surrogates are escaped; both are recorded and answered.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyStore } from '../../src/audit/log.js';
import { auditForRun } from '../../src/cli/main.js';
import type { Airlock } from '../../src/airlock.js';
import type { CallContext } from '../../src/gateway/types.js';
import { MAX_JSON_DEPTH } from '../../src/util/json.js';
import { openTestUpstream, serverState, startHttpTestServer, upstreamCtx } from '../helpers/test-upstream.js';

/** The outcome record of a run's one call. */
async function executed(a: Airlock, ctx: CallContext): Promise<Record<string, unknown>> {
  const records = (await auditForRun(a.store, ctx.runId)).filter((r) => r.type === 'action.executed');
  expect(records).toHaveLength(1);
  return records[0]!.body;
}

/** The checks shared by both transports. */
function suite(open: () => Promise<Airlock>): void {
  it('a 10,000-deep result: a protocol failure naming the depth, recorded as the call\'s outcome', async () => {
    const a = await open();
    const ctx = upstreamCtx(a);
    const out = await a.gateway.propose(ctx, { tool: 'up.deep', args: { depth: 10_000 } });
    expect(out).toMatchObject({ kind: 'failed', failure: 'protocol' });
    const message = out.kind === 'failed' ? out.message : '';
    // `{ value: [[... 0 ...]] }`: the object and 10,000 arrays.
    expect(message).toContain(`tool \`deep\` answered with a result nested 10001 levels deep, more than the ${MAX_JSON_DEPTH} Airlock accepts`);
    expect(await executed(a, ctx)).toMatchObject({ tool: 'up.deep', outcome: 'error', failure: 'protocol', message });
    // A result within the limit still executes.
    expect(await a.gateway.propose(upstreamCtx(a), { tool: 'up.deep', args: { depth: MAX_JSON_DEPTH - 1 } })).toMatchObject({ kind: 'executed' });
    expect(await verifyStore(a.store)).toMatchObject({ ok: true });
  });

  it('lone surrogates in a result: recorded and returned escaped, as text', async () => {
    const a = await open();
    const ctx = upstreamCtx(a);
    const out = await a.gateway.propose(ctx, { tool: 'up.surrogate', args: {} });
    expect(out).toMatchObject({ kind: 'executed', result: { note: 'lone \\udc00 here', 'key\\ud800': 1 } });
    expect(await executed(a, ctx)).toMatchObject({ tool: 'up.surrogate', outcome: 'ok' });
    expect(await verifyStore(a.store)).toMatchObject({ ok: true });
  });
}

describe('upstream results over stdio', () => {
  const done: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const d of done.splice(0)) await d();
  });
  /** A fresh Airlock and test server per test. */
  const open = async (): Promise<Airlock> => {
    const state = serverState();
    const t = await openTestUpstream({ state: state.dir });
    done.push(t.close, state.cleanup);
    return t.a;
  };
  suite(open);

  it('resources and prompts go through the same normalisation', async () => {
    const airlock = await open();
    const deep = await airlock.gateway.propose(upstreamCtx(airlock), { tool: 'up.deep_resource', args: { depth: '10000' } });
    expect(deep).toMatchObject({ kind: 'failed', failure: 'protocol' });
    expect(deep.kind === 'failed' && deep.message).toContain('resource `test://deep/10000` answered with a result nested 10004 levels deep');
    const ctx = upstreamCtx(airlock);
    const prompt = await airlock.gateway.propose(ctx, { tool: 'up.surrogate_prompt', args: {} });
    expect(prompt).toMatchObject({
      kind: 'executed',
      result: { description: 'lone \\udfff', messages: [{ role: 'user', content: { type: 'text', text: 'say \\ud800' } }] },
    });
    expect(await executed(airlock, ctx)).toMatchObject({ outcome: 'ok' });
  });
});

describe('upstream results over Streamable HTTP', () => {
  let server: { url: string; stop: () => void } | undefined;
  let a: Airlock;
  let close: () => Promise<void>;
  const state = serverState();
  beforeAll(async () => {
    server = await startHttpTestServer(state.dir);
    ({ a, close } = await openTestUpstream({ state: state.dir, url: server.url }));
  });
  afterAll(async () => {
    await close?.();
    server?.stop();
    state.cleanup();
  });
  suite(async () => a);
});
