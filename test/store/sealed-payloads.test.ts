// Sensitive audit payloads at rest: sealed in the file, plain to readers through the store; `hash-only`
// keeps nothing; a sealed text that was altered, moved to another row or read without the key is refused.
// On a workspace: a demo run's confidential payloads are not in the file in clear, and the trail verifies.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openAirlock } from '../../src/airlock.js';
import { verifyStore } from '../../src/audit/log.js';
import { payloadOf } from '../../src/audit/payload.js';
import { AirlockError } from '../../src/errors.js';
import { isSealed } from '../../src/store/sealed-payloads.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { AuditDraft } from '../../src/store/store.js';
import { copyAcme } from '../helpers/workspace.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-sealed-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const key = randomBytes(32);
const secret = payloadOf(key, { email: 'lena.park@example.com', iban: 'DE89370400440532013000' }, true);
const open = payloadOf(key, { ticket: 'T-311' }, false);
const draft = (payloads = [secret, open]): AuditDraft => ({ type: 'action.intent', time: '2026-01-01T00:00:00.000Z', runId: 'run_x', principal: null, onBehalfOf: null, body: { argsHash: secret.hash }, payloads });
const rawPayloads = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT hash, data FROM audit_payloads ORDER BY hash').all() as { hash: string; data: string }[];
  } finally {
    db.close();
  }
};

describe('sensitive payloads at rest', () => {
  it('seals confidential payloads in the file and gives them back plain; other payloads are left as they are', async () => {
    const file = path.join(tmp, 'encrypt.db');
    const store = await openSqliteStore(file, { sealing: { mode: 'encrypt', key } });
    try {
      await store.appendAudit([draft()]);
      expect(await store.getPayload(secret.hash)).toBe(secret.data);
      expect(await store.getPayload(open.hash)).toBe(open.data);
    } finally {
      await store.close();
    }
    const raw = rawPayloads(file);
    expect(raw.find((r) => r.hash === secret.hash)?.data).toSatisfy(isSealed);
    expect(JSON.stringify(raw)).not.toContain('lena.park');
    expect(raw.find((r) => r.hash === open.hash)?.data).toBe(open.data);
  });

  it('refuses a sealed payload read without the key, altered, or moved to another row', async () => {
    const file = path.join(tmp, 'tamper.db');
    const store = await openSqliteStore(file, { sealing: { mode: 'encrypt', key } });
    const other = payloadOf(key, { note: 'another confidential one' }, true);
    await store.appendAudit([draft([secret, other])]);
    await store.close();
    const keyless = await openSqliteStore(file);
    await expect(keyless.getPayload(secret.hash)).rejects.toMatchObject({ code: 'store', message: expect.stringContaining('opened without the payload key') });
    await keyless.close();
    const db = new Database(file);
    const [a, b] = db.prepare('SELECT hash, data FROM audit_payloads ORDER BY hash').all() as { hash: string; data: string }[];
    // Swap the two sealed texts between their rows (the hash is the additional data), then flip a byte of one.
    db.prepare('UPDATE audit_payloads SET data = ? WHERE hash = ?').run(b!.data, a!.hash);
    db.close();
    const reopened = await openSqliteStore(file, { sealing: { mode: 'encrypt', key } });
    try {
      const moved = await reopened.getPayload(a!.hash as never).catch((e: unknown) => e);
      expect(moved).toBeInstanceOf(AirlockError);
      expect(moved).toMatchObject({ code: 'store-corrupt' });
      const wrongKey = await openSqliteStore(file, { sealing: { mode: 'encrypt', key: randomBytes(32) } });
      await expect(wrongKey.getPayload(b!.hash as never)).rejects.toMatchObject({ code: 'store-corrupt' });
      await wrongKey.close();
    } finally {
      await reopened.close();
    }
  });

  it('hash-only keeps no data of a confidential payload: the record and its keyed hash stand, the chain verifies', async () => {
    const file = path.join(tmp, 'hash-only.db');
    const store = await openSqliteStore(file, { sealing: { mode: 'hash-only', key } });
    try {
      const [rec] = await store.appendAudit([draft()]);
      expect(rec?.body['argsHash']).toBe(secret.hash);
      expect(await store.getPayload(secret.hash)).toBeNull();
      expect(await store.getPayload(open.hash)).toBe(open.data);
      expect((await verifyStore(store)).ok).toBe(true);
    } finally {
      await store.close();
    }
    expect(rawPayloads(file).map((r) => r.hash)).toEqual([open.hash]);
  });

  it('seals run state and steps whole, bound to their run, except who runs it; lists and filters still work', async () => {
    const file = path.join(tmp, 'runs.db');
    const store = await openSqliteStore(file, { sealing: { mode: 'encrypt', key } });
    const state = { agent: 'bot', onBehalfOf: 'user:lena', history: [{ kind: 'tool_result', content: { iban: 'DE89370400440532013000' } }] };
    try {
      await store.createRun({ id: 'run_a' as never, workflow: 'w', status: 'running', version: 1, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', state });
      await store.saveRunWithAudit({ id: 'run_a' as never, workflow: 'w', status: 'running', version: 2, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:01.000Z', state }, [], { steps: [{ n: 1, item: { kind: 'tool_result', content: 'DE89370400440532013000' } }] });
      expect((await store.getRun('run_a' as never))?.state).toEqual(state);
      expect((await store.listRunSteps('run_a' as never)).map((s) => s.item)).toEqual([{ kind: 'tool_result', content: 'DE89370400440532013000' }]);
      expect((await store.listRuns({ principal: 'agent:bot' })).map((r) => r.id)).toEqual(['run_a']);
      expect((await store.listRuns({ principal: 'user:lena' })).map((r) => r.id)).toEqual(['run_a']);
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    const raw = JSON.stringify([db.prepare('SELECT state FROM runs').all(), db.prepare('SELECT item FROM run_steps').all()]);
    db.close();
    expect(raw).not.toContain('DE8937');
    expect(raw).toContain('enc:v1:');
    // Another run's sealed state pasted into this row does not open: it is bound to its run.
    const w = new Database(file);
    w.prepare("INSERT INTO runs (id, workflow, status, version, created_at, updated_at, state) SELECT 'run_b', workflow, status, version, created_at, updated_at, state FROM runs WHERE id = 'run_a'").run();
    w.close();
    const again = await openSqliteStore(file, { sealing: { mode: 'encrypt', key } });
    try {
      await expect(again.getRun('run_b' as never)).rejects.toMatchObject({ code: 'store-corrupt' });
    } finally {
      await again.close();
    }
  });

  it('keeps a sealed run\'s model cost beside the seal for summaries; a state sealed before that is opened for it', async () => {
    const file = path.join(tmp, 'summaries.db');
    const store = await openSqliteStore(file, { sealing: { mode: 'encrypt', key } });
    const state = { agent: 'bot', onBehalfOf: 'user:lena', usage: { modelCalls: 2, inputTokens: 10, outputTokens: 5, costMicros: 4200, currency: 'EUR' }, history: [{ secret: 'DE89370400440532013000' }] };
    try {
      await store.createRun({ id: 'run_a' as never, workflow: 'w', status: 'verified', version: 1, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:01.000Z', state });
      await store.createRun({ id: 'run_b' as never, workflow: 'w', status: 'verified', version: 1, createdAt: '2026-01-01T00:00:02.000Z', updatedAt: '2026-01-01T00:00:03.000Z', state });
    } finally {
      await store.close();
    }
    // run_b as an older Airlock stored it: sealed whole but for agent and onBehalfOf.
    const w = new Database(file);
    const stored = JSON.parse((w.prepare("SELECT state FROM runs WHERE id = 'run_b'").get() as { state: string }).state) as Record<string, unknown>;
    expect(stored['usage']).toEqual(state.usage);
    delete stored['usage'];
    w.prepare("UPDATE runs SET state = ? WHERE id = 'run_b'").run(JSON.stringify(stored));
    w.close();
    const again = await openSqliteStore(file, { sealing: { mode: 'encrypt', key } });
    try {
      expect((await again.listRunSummaries({ workflow: 'w' })).map((r) => [r.id, r.onBehalfOf, r.costMicros, r.currency])).toEqual([
        ['run_b', 'user:lena', 4200, 'EUR'],
        ['run_a', 'user:lena', 4200, 'EUR'],
      ]);
    } finally {
      await again.close();
    }
  });

  it('on a workspace: the demo refund\'s confidential arguments and results are sealed in the file, readable through Airlock', async () => {
    const ws = copyAcme();
    try {
      const a = await openAirlock(ws.dir);
      let runId: string;
      try {
        const run = await a.runner.start('refund-desk', { ticket_id: 'T-311' });
        runId = run.id;
        expect((await verifyStore(a.store)).ok).toBe(true);
      } finally {
        await a.close();
      }
      const raw = rawPayloads(path.join(ws.dir, '.airlock', 'airlock.db'));
      expect(raw.some((r) => isSealed(r.data))).toBe(true);
      // The customer's ticket text (confidential) is nowhere in the payload table or the run's state in clear.
      expect(raw.some((r) => r.data.includes('ceramic dripper'))).toBe(false);
      const db = new Database(path.join(ws.dir, '.airlock', 'airlock.db'), { readonly: true });
      const states = JSON.stringify(db.prepare('SELECT state FROM runs').all());
      db.close();
      expect(states).not.toContain('ceramic dripper');
      const again = await openAirlock(ws.dir);
      try {
        const records = await again.store.readAuditForRun(runId);
        const read = records.find((r) => r.type === 'action.executed' && r.body['tool'] === 'tickets.get_ticket');
        expect(await again.store.getPayload(read?.body['resultHash'] as never)).toContain('ceramic dripper');
      } finally {
        await again.close();
      }
    } finally {
      ws.cleanup();
    }
  });
});
