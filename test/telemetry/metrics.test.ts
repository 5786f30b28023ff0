// `/metrics` on the HTTP app: counters move with what Airlock does (decisions by outcome and policy,
// tool calls by connector, the wait for a person, refusals, audit appends, group commits), each
// instance has its own registry, and the door is loopback-only unless a bearer token is configured.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { createAuthenticator } from '../../src/identity/authenticate.js';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { createHttpApp } from '../../src/server/http.js';
import { localApprover, vote } from '../../src/gateway/approvals/vote.js';
import { runStateOf } from '../../src/orchestration/run-state.js';
import { copyAcme } from '../helpers/workspace.js';

/** The value of one series in the exposition text (0 when absent). */
function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('/metrics', () => {
  let ws: ReturnType<typeof copyAcme>;
  let a: Airlock;
  const bot = generateApiKey();

  beforeAll(async () => {
    ws = copyAcme();
    const file = path.join(ws.dir, 'airlock.yaml');
    const doc = YAML.parse(readFileSync(file, 'utf8')) as { identity: { apiKeys?: unknown[] }; server?: Record<string, unknown> };
    doc.identity.apiKeys = [{ id: 'bot', principal: 'agent:refund-bot', sha256: bot.sha256 }];
    doc.server = { ...(doc.server ?? {}), limits: { maxRequestBytes: 2048 } };
    writeFileSync(file, YAML.stringify(doc));
    a = await openAirlock(ws.dir);
  });
  afterAll(async () => {
    await a?.close();
    ws?.cleanup();
  });

  it('counts a denied and an allowed call, tool calls by connector, the wait for a person, refusals and audit appends', async () => {
    const auth = createAuthenticator(a.workspace);
    const { app, close } = createHttpApp(a, (h) => auth.authenticate(h));
    try {
      const scrape = async () => {
        const res = await app.request('/metrics');
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
        return res.text();
      };
      const before = await scrape();
      expect(value(before, 'airlock_decisions_total{outcome="deny",policy="mail-internal-only"}')).toBe(0);

      // The demo's run: reads allowed, an external email denied, the refund waiting for a person.
      const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
      expect(run.status).toBe('awaiting-approval');
      const paused = await scrape();
      expect(value(paused, 'airlock_decisions_total{outcome="deny",policy="mail-internal-only"}')).toBe(1);
      const allowed = paused.split('\n').filter((l) => l.startsWith('airlock_decisions_total{outcome="allow"'));
      expect(allowed.reduce((n, l) => n + Number(l.split(' ')[1]), 0)).toBeGreaterThan(0);
      expect(paused.split('\n').filter((l) => l.startsWith('airlock_decisions_total{outcome="approval"')).length).toBeGreaterThan(0);
      expect(value(paused, 'airlock_tool_calls_total{connector="tickets",outcome="ok"}')).toBeGreaterThan(0);
      expect(value(paused, 'airlock_tool_latency_seconds_count{connector="tickets"}')).toBeGreaterThan(0);
      expect(value(paused, 'airlock_audit_append_seconds_count')).toBeGreaterThan(0);
      expect(value(paused, 'airlock_store_group_commit_writes_count')).toBeGreaterThan(0);
      expect(value(paused, 'airlock_approval_wait_seconds_count{outcome="approved"}')).toBe(0);

      // A person decides: the wait is observed once.
      const res = await vote(a.approvalDeps, runStateOf(run).pending!.approvalId, localApprover(a.principal('user:dana')), 'approve', 'matches the ticket');
      expect(res).toMatchObject({ kind: 'recorded', decided: true });
      const decided = await scrape();
      expect(value(decided, 'airlock_approval_wait_seconds_count{outcome="approved"}')).toBe(1);

      // A request too large for the door, from an authenticated agent: refused and counted by reason.
      const big = await app.request('/mcp', {
        method: 'POST',
        headers: { authorization: `Bearer ${bot.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(4096) } }),
      });
      expect(big.status).toBe(413);
      expect(value(await scrape(), 'airlock_request_refusals_total{door="mcp-http",reason="too-large"}')).toBe(1);
    } finally {
      await close();
    }
  });

  it('answers loopback only when no token is configured', async () => {
    const auth = createAuthenticator(a.workspace);
    const { app, close } = createHttpApp(a, (h) => auth.authenticate(h));
    try {
      const far = await app.request('/metrics', {}, { incoming: { socket: { remoteAddress: '10.1.2.3' } } });
      expect(far.status).toBe(403);
      const near = await app.request('/metrics', {}, { incoming: { socket: { remoteAddress: '::ffff:127.0.0.1' } } });
      expect(near.status).toBe(200);
    } finally {
      await close();
    }
  });

  it('keeps one registry per instance', async () => {
    const other = await openAirlock(ws.dir);
    try {
      expect(other.metrics.registry).not.toBe(a.metrics.registry);
      const text = (await other.metrics.exposition()).text;
      expect(value(text, 'airlock_decisions_total{outcome="deny",policy="mail-internal-only"}')).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('/metrics with server.metrics.token', () => {
  let ws: ReturnType<typeof copyAcme>;
  beforeAll(() => {
    ws = copyAcme();
    const file = path.join(ws.dir, 'airlock.yaml');
    const doc = YAML.parse(readFileSync(file, 'utf8')) as { server?: Record<string, unknown> };
    doc.server = { ...(doc.server ?? {}), metrics: { token: { env: 'AIRLOCK_TEST_METRICS_TOKEN' } } };
    writeFileSync(file, YAML.stringify(doc));
  });
  afterAll(() => ws.cleanup());

  it('requires the bearer token from anywhere, and names the variable when it is not set', async () => {
    const a = await openAirlock(ws.dir);
    try {
      const auth = createAuthenticator(a.workspace);
      delete process.env['AIRLOCK_TEST_METRICS_TOKEN'];
      expect(() => createHttpApp(a, (h) => auth.authenticate(h))).toThrow(/server\.metrics\.token: the environment variable `AIRLOCK_TEST_METRICS_TOKEN` is not set/);
      process.env['AIRLOCK_TEST_METRICS_TOKEN'] = 'scrape-me-0123456789';
      const { app, close } = createHttpApp(a, (h) => auth.authenticate(h));
      try {
        expect((await app.request('/metrics')).status).toBe(401);
        expect((await app.request('/metrics', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
        const ok = await app.request('/metrics', { headers: { authorization: 'Bearer scrape-me-0123456789' } }, { incoming: { socket: { remoteAddress: '10.1.2.3' } } });
        expect(ok.status).toBe(200);
        expect(await ok.text()).toContain('airlock_decisions_total');
      } finally {
        await close();
      }
    } finally {
      delete process.env['AIRLOCK_TEST_METRICS_TOKEN'];
      await a.close();
    }
  });
});
