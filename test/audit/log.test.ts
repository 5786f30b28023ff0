// The audit log: records written by AuditWriter, payload hashing, verification of a stored chain, JSONL export and offline verification of it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportJsonl, exportStore, verifyStore, type ExportOptions } from '../../src/audit/log.js';
import { payloadOf } from '../../src/audit/payload.js';
import { verifyJsonl } from '../../src/audit/verify-jsonl.js';
import { AuditWriter, type AuditItem, type AuditSubject } from '../../src/audit/writer.js';
import { AirlockError } from '../../src/errors.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import type { Json, Principal, RunId } from '../../src/types.js';
import { canonicalJson, hashJson, hmacJson } from '../../src/util/hash.js';
import { uncaughtDuring } from '../helpers/uncaught.js';

const KEY = Buffer.alloc(32, 7);
const CLOCK = (): Date => new Date(Date.UTC(2025, 0, 1, 0, 0, 0));
const BATCH = 7;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-audit-'));
let n = 0;
const freshPath = (): string => path.join(tmp, `t${++n}`, 'airlock.db');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const BOT: Principal = { kind: 'agent', id: 'refund-bot', roles: [] };
const LENA: Principal = { kind: 'user', id: 'lena', roles: ['support'] };

/** The subject of the batch starting at record `i`: acting for Lena on every third batch. */
function subject(i: number): AuditSubject {
  return { runId: 'run_1' as RunId, principal: BOT, onBehalfOf: i % 3 ? undefined : LENA };
}

function item(i: number, body: { [k: string]: Json } = {}): AuditItem {
  return { type: i % 2 ? 'action.intent' : 'action.executed', body: { i, note: 'Grüße, ✓ 😀', ...body } };
}

/** Appends records 1..count through `writer`, four to a batch. */
async function fill(writer: AuditWriter, count: number): Promise<void> {
  for (let i = 1; i <= count; i += 4) {
    await writer.append(subject(i), Array.from({ length: Math.min(4, count - i + 1) }, (_, j) => item(i + j)));
  }
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

async function exported(store: Store, opts: ExportOptions = {}): Promise<string> {
  const sink = new Sink();
  await exportJsonl(store, sink, { batchSize: BATCH, ...opts });
  return sink.text;
}

describe('the audit log', () => {
  let store: Store;
  let writer: AuditWriter;
  beforeEach(async () => {
    store = await openSqliteStore(freshPath());
    writer = new AuditWriter(store, KEY, CLOCK);
  });
  afterEach(async () => {
    await store.close();
  });

  it('appends one record or several, and verifies the stored chain in batches', async () => {
    const one = await writer.append(subject(1), [item(1)]);
    expect(one.map((r) => r.seq)).toEqual([1]);
    const more = await writer.append(null, [item(2), item(3)]);
    expect(more.map((r) => r.seq)).toEqual([2, 3]);
    expect(more[0]).toMatchObject({ runId: null, principal: null, onBehalfOf: null });
    await fill(writer, 30);
    expect(await verifyStore(store, { batchSize: BATCH })).toEqual({ ok: true, count: 33, head: await store.auditHead() });
  });

  it('hashes payloads by canonical JSON, keyed (HMAC) when sensitive', () => {
    const args = { order_id: '1182', amount_cents: 4000, email: 'lena.park@example.net' };
    const plain = writer.payloadRef(args, 'internal');
    const keyed = writer.payloadRef(args, 'confidential');
    expect(plain).toEqual({ hash: hashJson(args), data: canonicalJson(args) });
    expect(writer.payloadRef(args, 'public')).toEqual(plain);
    expect(keyed).toEqual({ hash: hmacJson(KEY, args), data: canonicalJson(args), sensitive: true });
    expect(writer.payloadRef(args, 'restricted')).toEqual(keyed);
    expect(keyed.hash).not.toBe(plain.hash);
    expect(payloadOf(KEY, args, true)).toEqual(keyed);
    expect(payloadOf(KEY, args, false)).toEqual(plain);
    expect(new AuditWriter(store, Buffer.alloc(32, 8), CLOCK).payloadRef(args, 'confidential').hash).not.toBe(keyed.hash);
  });

  it('round-trips: export, then verify offline (whole text and a stream split anywhere)', async () => {
    await fill(writer, 40);
    const text = await exported(store);
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
    await fill(writer, 60);
    const sink = new Sink(true);
    const summary = await exportJsonl(store, sink, { batchSize: BATCH });
    expect(summary).toMatchObject({ records: 60, payloads: 0, start: null, head: await store.auditHead() });
    expect(await verifyJsonl(sink.text)).toMatchObject({ ok: true, count: 60 });
  });

  it('exports a segment that verifies from its start anchor', async () => {
    await fill(writer, 20);
    const sink = new Sink();
    const summary = await exportJsonl(store, sink, { fromSeq: 11, batchSize: BATCH });
    expect(summary.records).toBe(10);
    expect(summary.start?.seq).toBe(10);
    expect(await verifyJsonl(sink.text, { start: summary.start! })).toMatchObject({ ok: true, count: 10, head: { seq: 20 } });
    expect(await verifyJsonl(sink.text)).toMatchObject({ ok: false, seq: 1, problem: 'deleted' });
  });

  it('property: any single changed byte in an export fails verification and names that record', async () => {
    await fill(writer, 12);
    const bytes = Buffer.from(await exported(store));
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
    await fill(writer, 10);
    const lines = (await exported(store)).trimEnd().split('\n');
    const join = (ls: readonly string[]): string => `${ls.join('\n')}\n`;
    expect(await verifyJsonl(join([...lines.slice(0, 4), ...lines.slice(5)]))).toMatchObject({ ok: false, seq: 5, problem: 'deleted' });
    expect(await verifyJsonl(join([...lines.slice(0, 4), lines[1]!, ...lines.slice(4)]))).toMatchObject({ ok: false, seq: 2, problem: 'inserted' });
    expect(await verifyJsonl(join([...lines.slice(0, 4), '{"record":"junk"}', ...lines.slice(4)]))).toMatchObject({ ok: false, seq: 5, problem: 'inserted' });
    expect(await verifyJsonl(join([...lines.slice(0, 4), lines[5]!, lines[4]!, ...lines.slice(6)]))).toMatchObject({ ok: false, seq: 6, problem: 'reordered' });
  });

  describe('payloads in exports', () => {
    async function withPayloads(): Promise<{ plainHash: string; keyedHash: string }> {
      const plain = writer.payloadRef({ order_id: '1182' }, 'internal');
      const keyed = writer.payloadRef({ email: 'lena.park@example.net' }, 'confidential');
      await writer.append(subject(1), [
        { ...item(1, { argsHash: plain.hash }), payloads: [plain] },
        { ...item(2, { resultHash: keyed.hash, argsHash: plain.hash }), payloads: [keyed, plain] },
        item(3),
      ]);
      return { plainHash: plain.hash, keyedHash: keyed.hash };
    }

    it('writes each referenced payload once, after the record; keyed ones verify only with the key', async () => {
      await withPayloads();
      const text = await exported(store, { payloads: true });
      const lines = text.trimEnd().split('\n');
      expect(lines.map((l) => l.slice(2, 9))).toEqual(['record"', 'payload', 'record"', 'payload', 'record"']);
      expect(await verifyJsonl(text)).toMatchObject({ ok: true, count: 3, payloads: { verified: 1, unverifiable: 1 } });
      expect(await verifyJsonl(text, { auditKey: KEY })).toMatchObject({ ok: true, payloads: { verified: 2, unverifiable: 0 } });
      const wrongKey = await verifyJsonl(text, { auditKey: Buffer.alloc(32, 1) });
      expect(wrongKey).toMatchObject({ ok: false, seq: 2, problem: 'changed' });
    });

    it('fails on a tampered payload line', async () => {
      await withPayloads();
      const text = await exported(store, { payloads: true });
      const tampered = text.replace('\\"1182\\"', '\\"1183\\"');
      expect(tampered).not.toBe(text);
      const v = await verifyJsonl(tampered);
      expect(v).toMatchObject({ ok: false, seq: 1, problem: 'changed' });
      expect(v.ok ? '' : v.message).toMatch(/payload .* does not match its hash/);
      // The same value written in another (non-canonical) form is a change too.
      const respaced = text.replace('{\\"order_id\\"', '{ \\"order_id\\"');
      expect(respaced).not.toBe(text);
      expect(await verifyJsonl(respaced)).toMatchObject({ ok: false, seq: 1, problem: 'changed' });
    });

    it('retention: deleted payloads leave the chain and the export verifying', async () => {
      const { plainHash } = await withPayloads();
      await store.deletePayload(plainHash as never);
      expect(await verifyStore(store)).toMatchObject({ ok: true, count: 3 });
      const text = await exported(store, { payloads: true });
      expect(await verifyJsonl(text, { auditKey: KEY })).toMatchObject({ ok: true, count: 3, payloads: { verified: 1 } });
    });
  });

  it('exports to a file', async () => {
    await fill(writer, 5);
    const file = path.join(tmp, `export-${n}.jsonl`);
    expect(await exportStore(store, file)).toBe(5);
    expect(await verifyJsonl(readFileSync(file, 'utf8'))).toMatchObject({ ok: true, count: 5 });
  });

  it('fails an export to a file that cannot be opened with a store error, leaving nothing, and raises nothing uncaught', async () => {
    await fill(writer, 30);
    // A "folder" that is a file: the open fails while the export awaits its (slow) first read of the store.
    const notADir = path.join(tmp, `plain-${n}`);
    writeFileSync(notADir, 'x');
    const file = path.join(notADir, 'out.jsonl');
    const slow = new Proxy(store, {
      get: (target, key) =>
        key === 'readAudit'
          ? async (from: number, limit: number) => {
              await new Promise((r) => setTimeout(r, 50));
              return target.readAudit(from, limit);
            }
          : (Reflect.get(target, key) as unknown),
    });
    const failures: unknown[] = [];
    const uncaught = await uncaughtDuring(async () => {
      failures.push(await exportStore(slow, file, { batchSize: BATCH }).catch((e: unknown) => e));
    });
    expect(uncaught).toEqual([]);
    expect(failures[0]).toBeInstanceOf(AirlockError);
    expect((failures[0] as AirlockError).message).toContain(`cannot export the audit trail to \`${file}\`: ENOTDIR`);
    expect(readdirSync(tmp).filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('fails, never hangs, an export whose reader went away (a download cancelled): the stream is closed while full', async () => {
    await fill(writer, 200);
    // Nobody reads: the export fills the buffer and waits for room, then the reader goes away.
    const pass = new PassThrough({ highWaterMark: 256 });
    const exporting = exportJsonl(store, pass, { batchSize: BATCH }).then(() => 'finished', (e: unknown) => String(e));
    await new Promise((r) => setTimeout(r, 50));
    // As a web stream's cancel does: destroyed without an error, so no 'drain' and no 'error' ever come.
    pass.destroy();
    expect(await exporting).toBe('Error: the output was closed');
  });
});

describe('verifyStore on a file edited outside Airlock', () => {
  /** A store of 10 records whose file is then edited with the triggers dropped, as an attacker could. */
  async function tampered(edit: (db: Database.Database) => void): Promise<Awaited<ReturnType<typeof verifyStore>>> {
    const file = freshPath();
    const s = await openSqliteStore(file);
    await new AuditWriter(s, KEY, CLOCK).append(subject(1), Array.from({ length: 10 }, (_, i) => item(i + 1)));
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
