// The audit log: payload hashing, verification of a stored chain, JSONL export and offline verification of it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, exportStore, verifyJsonl, verifyStore } from '../../src/audit/log.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { AuditDraft, Store } from '../../src/store/store.js';
import type { Json } from '../../src/types.js';
import { canonicalJson, hashJson, hmacJson } from '../../src/util/hash.js';

const KEY = Buffer.alloc(32, 7);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-audit-'));
let n = 0;
const freshPath = (): string => path.join(tmp, `t${++n}`, 'airlock.db');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function draft(i: number, body: { [k: string]: Json } = {}): AuditDraft {
  return {
    type: i % 2 ? 'action.intent' : 'action.executed',
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    runId: 'run_1',
    principal: 'agent:refund-bot',
    onBehalfOf: i % 3 ? null : 'user:lena',
    body: { i, note: 'Grüße, ✓ 😀', ...body },
  };
}

/** Collects what is written, optionally slowly with a tiny buffer (to exercise backpressure). */
class Sink extends Writable {
  text = '';
  constructor(slow = false) {
    super({ highWaterMark: slow ? 64 : 16_384, decodeStrings: false });
    this.slow = slow;
  }
  private readonly slow: boolean;
  override _write(chunk: string | Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.text += chunk.toString();
    if (this.slow) setImmediate(done);
    else done();
  }
}

async function exported(log: AuditLog, opts: Parameters<AuditLog['exportJsonl']>[1] = {}): Promise<string> {
  const sink = new Sink();
  await log.exportJsonl(sink, opts);
  return sink.text;
}

describe('AuditLog', () => {
  let store: Store;
  let log: AuditLog;
  beforeEach(async () => {
    store = await openSqliteStore(freshPath());
    log = new AuditLog(store, { auditKey: KEY, batchSize: 7 });
  });
  afterEach(async () => {
    await store.close();
  });

  async function fill(count: number): Promise<void> {
    for (let i = 1; i <= count; i += 4) {
      await log.append(Array.from({ length: Math.min(4, count - i + 1) }, (_, j) => draft(i + j)));
    }
  }

  it('appends one draft or several, and verifies the stored chain in batches', async () => {
    const one = await log.append(draft(1));
    expect(one.seq).toBe(1);
    const more = await log.append([draft(2), draft(3)]);
    expect(more.map((r) => r.seq)).toEqual([2, 3]);
    await fill(30);
    expect(await log.verify()).toEqual({ ok: true, count: 33, head: await store.auditHead() });
  });

  it('hashes payloads by canonical JSON, keyed (HMAC) when sensitive', () => {
    const args = { order_id: '1182', amount_cents: 4000, email: 'lena.park@example.net' };
    const plain = log.hashPayload(args, false);
    const keyed = log.hashPayload(args, true);
    expect(plain).toEqual({ hash: hashJson(args), data: canonicalJson(args) });
    expect(keyed).toEqual({ hash: hmacJson(KEY, args), data: canonicalJson(args) });
    expect(keyed.hash).not.toBe(plain.hash);
    expect(new AuditLog(store, { auditKey: Buffer.alloc(32, 8) }).hashPayload(args, true).hash).not.toBe(keyed.hash);
  });

  it('round-trips: export, then verify offline (whole text and a stream split anywhere)', async () => {
    await fill(40);
    const text = await exported(log);
    expect(text.split('\n')).toHaveLength(41);
    const head = await store.auditHead();
    expect(await verifyJsonl(text)).toEqual({ ok: true, count: 40, head, payloads: { verified: 0, unverifiable: 0 } });
    const bytes = Buffer.from(text);
    // Chunks of 13 bytes split multi-byte characters and lines alike.
    const chunks = Array.from({ length: Math.ceil(bytes.length / 13) }, (_, i) => bytes.subarray(i * 13, i * 13 + 13));
    expect(await verifyJsonl(Readable.from(chunks))).toMatchObject({ ok: true, count: 40 });
    expect(await verifyJsonl(text, { expectedHead: head! })).toMatchObject({ ok: true });
  });

  it('exports with backpressure to a slow writer', async () => {
    await fill(60);
    const sink = new Sink(true);
    const summary = await log.exportJsonl(sink);
    expect(summary).toMatchObject({ records: 60, payloads: 0, start: null, head: await store.auditHead() });
    expect(await verifyJsonl(sink.text)).toMatchObject({ ok: true, count: 60 });
  });

  it('exports a segment that verifies from its start anchor', async () => {
    await fill(20);
    const sink = new Sink();
    const summary = await log.exportJsonl(sink, { fromSeq: 11 });
    expect(summary.records).toBe(10);
    expect(summary.start?.seq).toBe(10);
    expect(await verifyJsonl(sink.text, { start: summary.start! })).toMatchObject({ ok: true, count: 10, head: { seq: 20 } });
    expect(await verifyJsonl(sink.text)).toMatchObject({ ok: false, seq: 1, problem: 'deleted' });
  });

  it('property: any single changed byte in an export fails verification and names that record', async () => {
    await fill(12);
    const bytes = Buffer.from(await exported(log));
    const lineOf = (at: number): number => bytes.subarray(0, at).toString('latin1').split('\n').length;
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, delta) => {
        const copy = Buffer.from(bytes);
        copy[at] = (copy[at]! + delta) % 256;
        const v = await verifyJsonl(Readable.from([copy]));
        expect(v).toMatchObject({ ok: false, seq: lineOf(at), problem: 'changed' });
      }),
      { numRuns: 500 },
    );
  });

  it('names deleted, inserted and reordered lines in an export', async () => {
    await fill(10);
    const lines = (await exported(log)).trimEnd().split('\n');
    const join = (ls: readonly string[]): string => `${ls.join('\n')}\n`;
    expect(await verifyJsonl(join([...lines.slice(0, 4), ...lines.slice(5)]))).toMatchObject({ ok: false, seq: 5, problem: 'deleted' });
    expect(await verifyJsonl(join([...lines.slice(0, 4), lines[1]!, ...lines.slice(4)]))).toMatchObject({ ok: false, seq: 2, problem: 'inserted' });
    expect(await verifyJsonl(join([...lines.slice(0, 4), '{"record":"junk"}', ...lines.slice(4)]))).toMatchObject({ ok: false, seq: 5, problem: 'inserted' });
    expect(await verifyJsonl(join([...lines.slice(0, 4), lines[5]!, lines[4]!, ...lines.slice(6)]))).toMatchObject({ ok: false, seq: 6, problem: 'reordered' });
  });

  describe('payloads in exports', () => {
    async function withPayloads(): Promise<{ plainHash: string; keyedHash: string }> {
      const plain = log.hashPayload({ order_id: '1182' }, false);
      const keyed = log.hashPayload({ email: 'lena.park@example.net' }, true);
      await log.append([
        { ...draft(1, { argsHash: plain.hash }), payloads: [plain] },
        { ...draft(2, { resultHash: keyed.hash, argsHash: plain.hash }), payloads: [keyed, plain] },
        draft(3),
      ]);
      return { plainHash: plain.hash, keyedHash: keyed.hash };
    }

    it('writes each referenced payload once, after the record; keyed ones verify only with the key', async () => {
      await withPayloads();
      const text = await exported(log, { payloads: true });
      const lines = text.trimEnd().split('\n');
      expect(lines.map((l) => l.slice(2, 9))).toEqual(['record"', 'payload', 'record"', 'payload', 'record"']);
      expect(await verifyJsonl(text)).toMatchObject({ ok: true, count: 3, payloads: { verified: 1, unverifiable: 1 } });
      expect(await verifyJsonl(text, { auditKey: KEY })).toMatchObject({ ok: true, payloads: { verified: 2, unverifiable: 0 } });
      const wrongKey = await verifyJsonl(text, { auditKey: Buffer.alloc(32, 1) });
      expect(wrongKey).toMatchObject({ ok: false, seq: 2, problem: 'changed' });
    });

    it('fails on a tampered payload line', async () => {
      await withPayloads();
      const text = await exported(log, { payloads: true });
      const tampered = text.replace('\\"1182\\"', '\\"1183\\"');
      expect(tampered).not.toBe(text);
      const v = await verifyJsonl(tampered);
      expect(v).toMatchObject({ ok: false, seq: 1, problem: 'changed' });
      expect(v.ok ? '' : v.message).toMatch(/payload .* does not match its hash/);
    });

    it('retention: deleted payloads leave the chain and the export verifying', async () => {
      const { plainHash } = await withPayloads();
      await store.deletePayload(plainHash as never);
      expect(await log.verify()).toMatchObject({ ok: true, count: 3 });
      const text = await exported(log, { payloads: true });
      expect(await verifyJsonl(text, { auditKey: KEY })).toMatchObject({ ok: true, count: 3, payloads: { verified: 1 } });
    });
  });

  it('exports to a file', async () => {
    await fill(5);
    const file = path.join(tmp, `export-${n}.jsonl`);
    expect(await exportStore(store, file)).toBe(5);
    expect(await verifyJsonl(readFileSync(file, 'utf8'))).toMatchObject({ ok: true, count: 5 });
  });
});

describe('verifyStore on a file edited outside Airlock', () => {
  /** A store of 10 records whose file is then edited with the triggers dropped, as an attacker could. */
  async function tampered(edit: (db: Database.Database) => void): Promise<Awaited<ReturnType<typeof verifyStore>>> {
    const file = freshPath();
    const s = await openSqliteStore(file);
    await new AuditLog(s, { auditKey: KEY }).append(Array.from({ length: 10 }, (_, i) => draft(i + 1)));
    await s.close();
    const db = new Database(file);
    db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    edit(db);
    db.close();
    const again = await openSqliteStore(file);
    try {
      return await verifyStore(again, { batchSize: 3 });
    } finally {
      await again.close();
    }
  }

  it('names a changed row', async () => {
    const v = await tampered((db) => db.exec(`UPDATE audit SET leaf = replace(leaf, '"i":4', '"i":40') WHERE seq = 4`));
    expect(v).toMatchObject({ ok: false, seq: 4, problem: 'changed' });
  });

  it('names a row whose text is no longer JSON', async () => {
    const v = await tampered((db) => db.exec(`UPDATE audit SET leaf = 'garbage' WHERE seq = 7`));
    expect(v).toMatchObject({ ok: false, seq: 7, problem: 'changed' });
  });

  it('names a deleted row', async () => {
    const v = await tampered((db) => db.exec('DELETE FROM audit WHERE seq = 5'));
    expect(v).toMatchObject({ ok: false, seq: 5, problem: 'deleted' });
  });

  it('names a row moved to another seq', async () => {
    const v = await tampered((db) => db.exec('UPDATE audit SET seq = 100 WHERE seq = 3'));
    expect(v).toMatchObject({ ok: false, seq: 3, problem: 'deleted' });
  });
});
