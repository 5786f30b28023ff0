// AuditWriter: records carry their subject, and payload refs are the hashes an offline verifier recomputes.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { exportJsonl } from '../../src/audit/log.js';
import { payloadOf } from '../../src/audit/payload.js';
import { verifyJsonl } from '../../src/audit/verify-jsonl.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Principal, RunId } from '../../src/types.js';

const KEY = Buffer.alloc(32, 9);
const NOW = new Date(Date.UTC(2025, 4, 6, 12, 30, 0));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-writer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

class Sink extends Writable {
  text = '';
  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

describe('AuditWriter', () => {
  it('stamps records with the subject and the clock, and its payload hashes verify offline', async () => {
    const store = await openSqliteStore(path.join(tmp, 'a', 'airlock.db'));
    try {
      const writer = new AuditWriter(store, KEY, () => NOW);
      const bot: Principal = { kind: 'agent', id: 'refund-bot', roles: ['refunds'] };
      const dana: Principal = { kind: 'user', id: 'dana', roles: [] };
      const args = { order_id: '1182', email: 'dana@example.net' };
      const ref = writer.payloadRef(args, 'restricted');
      expect(ref).toEqual(payloadOf(KEY, args, true));

      const [rec] = await writer.append({ runId: 'run_42' as RunId, principal: bot, onBehalfOf: dana }, [
        { type: 'action.intent', body: { tool: 'refund', argsHash: ref.hash }, payloads: [ref] },
      ]);
      expect(rec).toMatchObject({
        seq: 1,
        type: 'action.intent',
        time: NOW.toISOString(),
        runId: 'run_42',
        principal: 'agent:refund-bot',
        onBehalfOf: 'user:dana',
        body: { tool: 'refund', argsHash: ref.hash },
      });
      expect(await store.getPayload(ref.hash)).toBe(ref.data);

      const sink = new Sink();
      await exportJsonl(store, sink, { payloads: true });
      const payloadLines = sink.text.trimEnd().split('\n').filter((l) => l.startsWith('{"payload":'));
      expect(payloadLines.map((l) => JSON.parse(l))).toEqual([{ payload: { hash: ref.hash, keyed: true, data: ref.data } }]);
      expect(await verifyJsonl(sink.text, { auditKey: KEY })).toMatchObject({ ok: true, count: 1, payloads: { verified: 1, unverifiable: 0 } });
      expect(await verifyJsonl(sink.text)).toMatchObject({ ok: true, payloads: { verified: 0, unverifiable: 1 } });
    } finally {
      await store.close();
    }
  });

  it('writes null subject fields when there is no subject or no on-behalf-of', async () => {
    const store = await openSqliteStore(path.join(tmp, 'b', 'airlock.db'));
    try {
      const writer = new AuditWriter(store, KEY, () => NOW);
      const svc: Principal = { kind: 'service', id: 'cron', roles: [] };
      const [a, b] = await writer.append({ runId: null, principal: svc }, [{ type: 'x', body: {} }, { type: 'y', body: {} }]);
      expect(a).toMatchObject({ seq: 1, runId: null, principal: 'service:cron', onBehalfOf: null });
      expect(b).toMatchObject({ seq: 2, time: NOW.toISOString() });
      const [c] = await writer.append(null, [{ type: 'z', body: {} }]);
      expect(c).toMatchObject({ seq: 3, runId: null, principal: null, onBehalfOf: null });
    } finally {
      await store.close();
    }
  });
});

describe('AuditWriter keeps records whatever data they carry', () => {
  it('records a body with a lone surrogate escaped (the draft had no canonical form as it was)', async () => {
    const store = await openSqliteStore(path.join(tmp, 'escaped', 'airlock.db'));
    try {
      const writer = new AuditWriter(store, KEY, () => NOW);
      const [rec] = await writer.append({ runId: 'run_1' as RunId, principal: null }, [{ type: 'action.executed', body: { tool: 't', outcome: 'error', message: 'upstream said \ud800' } }]);
      expect(rec?.body['message']).toBe('upstream said \\ud800');
      expect((await store.readAudit(1, 10)).map((r) => r.type)).toEqual(['action.executed']);
    } finally {
      await store.close();
    }
  });
});
