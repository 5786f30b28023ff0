// The batched, multi-threaded verifyJsonl against the original line-by-line verifier: same verdict on any input.
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH, prepareLeaf, sealLeaf } from '../../src/audit/chain.js';
import { ChainVerifier, type ChainVerdict } from '../../src/audit/chain-verifier.js';
import { exportLine, payloadLine } from '../../src/audit/export-line.js';
import { payloadOf } from '../../src/audit/payload.js';
import { verifyJsonl, verifyJsonlWith, type JsonlTuning, type JsonlVerifyOptions } from '../../src/audit/verify-jsonl.js';
import { warmWorkers, type ScanWorker } from '../../src/audit/parallel.js';
import type { AuditRecord } from '../../src/store/store.js';
import type { Json, Sha256Hex } from '../../src/types.js';

const KEY = Buffer.alloc(32, 7);

// --- the reference: verifyJsonl as it was before batching (line by line through ChainVerifier) ---

const RECORD_PREFIX = '{"record":';
const PREV_KEY = ',"prevHash":"';
const LEAF_KEY = '","leafHash":"';
const CHAIN_KEY = '","chainHash":"';
const LINE_END = '"}';
const SUFFIX_LENGTH = PREV_KEY.length + LEAF_KEY.length + CHAIN_KEY.length + LINE_END.length + 3 * 64;
const PAYLOAD_PREFIX = '{"payload":';

async function referenceVerifyJsonl(
  input: string | AsyncIterable<string | Uint8Array>,
  opts: JsonlVerifyOptions = {},
): Promise<unknown> {
  const v = new ChainVerifier(opts);
  const payloads = { verified: 0, unverifiable: 0 };
  let lastSeq = opts.start?.seq ?? 0;
  let failure: ChainVerdict | null = null;
  const onLine = (line: string): boolean => {
    if (line.startsWith(PAYLOAD_PREFIX)) {
      const problem = checkPayload(line, opts.auditKey, payloads);
      if (problem === null) return true;
      const chain = v.finish();
      failure = chain.ok
        ? { ok: false, seq: lastSeq, problem: 'changed', message: `${problem} (the payload line after record ${lastSeq})` }
        : chain;
      return false;
    }
    const parts = splitRecordLine(line);
    const more = typeof parts === 'string' ? v.pushMalformed(parts) : v.pushText(parts.text, parts.prev, parts.leaf, parts.chain);
    lastSeq++;
    return more;
  };
  if (typeof input === 'string') {
    const lines = input.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) if (!onLine(line)) break;
  } else {
    const decoder = new TextDecoder('utf-8', { fatal: false });
    let rest = '';
    let going = true;
    for await (const chunk of input) {
      rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
      let nl: number;
      let from = 0;
      while (going && (nl = rest.indexOf('\n', from)) >= 0) {
        going = onLine(rest.slice(from, nl));
        from = nl + 1;
      }
      rest = rest.slice(from);
      if (!going) break;
    }
    rest += decoder.decode();
    if (going && rest !== '') onLine(rest);
  }
  return { ...(failure ?? v.finish()), payloads };
}

function splitRecordLine(line: string): { text: string; prev: string; leaf: string; chain: string } | string {
  if (line === '') return 'an empty line';
  const t = line.length - SUFFIX_LENGTH;
  if (!line.startsWith(RECORD_PREFIX) || t <= RECORD_PREFIX.length) return 'not an audit record line';
  const prevAt = t + PREV_KEY.length;
  const leafAt = prevAt + 64 + LEAF_KEY.length;
  const chainAt = leafAt + 64 + CHAIN_KEY.length;
  if (
    !line.startsWith(PREV_KEY, t) ||
    !line.startsWith(LEAF_KEY, prevAt + 64) ||
    !line.startsWith(CHAIN_KEY, leafAt + 64) ||
    !line.startsWith(LINE_END, chainAt + 64)
  ) {
    return 'the hashes after the record are not in the export layout';
  }
  return {
    text: line.slice(RECORD_PREFIX.length, t),
    prev: line.slice(prevAt, prevAt + 64),
    leaf: line.slice(leafAt, leafAt + 64),
    chain: line.slice(chainAt, chainAt + 64),
  };
}

function checkPayload(
  line: string,
  key: Uint8Array | string | undefined,
  counts: { verified: number; unverifiable: number },
): string | null {
  let p: { hash?: unknown; keyed?: unknown; data?: unknown } | undefined;
  try {
    p = (JSON.parse(line) as { payload?: typeof p }).payload;
  } catch {
    return 'a payload line is not valid JSON';
  }
  if (typeof p !== 'object' || p === null || typeof p.hash !== 'string' || typeof p.data !== 'string' || typeof p.keyed !== 'boolean') {
    return 'a payload line does not have the shape {"payload":{"hash","keyed","data"}}';
  }
  if (p.keyed && key === undefined) {
    counts.unverifiable++;
    return null;
  }
  const mismatch = `payload \`${p.hash}\` does not match its ${p.keyed ? 'HMAC' : 'hash'}`;
  let value: Json;
  try {
    value = JSON.parse(p.data) as Json;
  } catch {
    return mismatch;
  }
  const expected = payloadOf(key ?? '', value, p.keyed);
  if (expected.hash !== p.hash || expected.data !== p.data) return mismatch;
  counts.verified++;
  return null;
}

// --- inputs ---

const NOTES = ['plain', 'Grüße, ✓ 😀', 'tab\there "quoted" \\ back', 'ünïcödé ☃'];

/** An export of `n` records (with a payload line after every `payloadEvery`-th, 0: none), and its chain anchors. */
function makeExport(n: number, payloadEvery = 0): { lines: string[]; heads: { seq: number; chainHash: Sha256Hex }[] } {
  const lines: string[] = [];
  const heads: { seq: number; chainHash: Sha256Hex }[] = [];
  let prev = GENESIS_HASH as Sha256Hex;
  for (let i = 1; i <= n; i++) {
    const keyed = i % 2 === 0;
    const payload = payloadOf(KEY, { order: i, note: NOTES[i % NOTES.length] as string }, keyed);
    const s = sealLeaf(
      prepareLeaf({
        type: i % 3 ? 'action.intent' : 'action.decision',
        time: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
        runId: `run_${i % 5}`,
        principal: 'agent:refund-bot',
        onBehalfOf: i % 4 ? null : 'user:lena',
        body: { i, note: NOTES[i % NOTES.length] as string, argsHash: payload.hash, nested: { z: [1, 2.5, true, null], a: 'x' } },
      }),
      i,
      prev,
    );
    prev = s.chainHash;
    heads.push({ seq: i, chainHash: s.chainHash });
    const r = { ...(JSON.parse(s.text) as AuditRecord), prevHash: s.prevHash, leafHash: s.leafHash, chainHash: s.chainHash };
    lines.push(exportLine(r).slice(0, -1));
    if (payloadEvery > 0 && i % payloadEvery === 0) lines.push(payloadLine(payload.hash, payload.data, keyed).slice(0, -1));
  }
  return { lines, heads };
}

/** Splits `bytes` at the given points (any byte, inside characters too). */
function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out.filter((c) => c.length > 0);
}

async function* stream<T>(chunks: readonly T[]): AsyncGenerator<T> {
  for (const c of chunks) yield c;
}

type Shape = 'string' | 'text-chunks' | 'byte-chunks' | 'mixed-chunks';

/** The same input, as the whole text or a stream of chunks (split where `cuts` say). */
function inputs(bytes: Buffer, shape: Shape, cuts: readonly number[]): () => string | AsyncIterable<string | Uint8Array> {
  const parts = splitAt(bytes, cuts);
  switch (shape) {
    case 'string':
      return () => bytes.toString('utf8');
    case 'text-chunks': {
      // Text chunks from a decoder: split anywhere in the bytes, whole characters in each chunk.
      const d = new TextDecoder();
      const texts = parts.map((p) => d.decode(p, { stream: true }));
      texts.push(d.decode());
      return () => stream(texts.filter((t) => t !== ''));
    }
    case 'byte-chunks':
      return () => stream(parts);
    case 'mixed-chunks':
      return () => stream(parts.map((p, i) => (i % 3 === 1 ? p.toString('latin1') : p)));
  }
}

const TUNINGS: readonly JsonlTuning[] = [
  { batchBytes: 1, workers: 0 },
  { batchBytes: 700, workers: 0 },
  { batchBytes: 1500, workers: 1 },
  { batchBytes: 4000, workers: 2 },
];

async function same(input: () => string | AsyncIterable<string | Uint8Array>, opts: JsonlVerifyOptions): Promise<void> {
  const want = await referenceVerifyJsonl(input(), opts);
  for (const tuning of TUNINGS) expect(await verifyJsonlWith(input(), opts, tuning)).toEqual(want);
  expect(await verifyJsonl(input(), opts)).toEqual(want);
}

describe('verifyJsonl in batches and threads', () => {
  // Warm, so that batches go to the workers at once (a worker still starting gets none).
  let workers: readonly ScanWorker[] = [];
  beforeAll(async () => {
    workers = await warmWorkers(2);
  });
  const base = makeExport(24, 5);
  const text = `${base.lines.join('\n')}\n`;
  const shapes: readonly Shape[] = ['string', 'text-chunks', 'byte-chunks', 'mixed-chunks'];

  it('accepts an intact export in any shape, with anchors and keys', async () => {
    for (const shape of shapes) {
      const input = inputs(Buffer.from(text), shape, [17, 500, 3001, 3002, 7777]);
      await same(input, {});
      await same(input, { auditKey: KEY });
      await same(input, { expectedHead: base.heads[23] });
      await same(input, { expectedHead: base.heads[10] });
      await same(input, { expectedHead: { seq: 40, chainHash: base.heads[23]!.chainHash } });
      await same(input, { start: { seq: 3, chainHash: base.heads[2]!.chainHash } });
    }
    const big = makeExport(300, 7);
    const bigText = `${big.lines.join('\n')}\n`;
    const answered = (): number => workers.reduce((a, w) => a + w.answered, 0);
    const before = answered();
    expect(await verifyJsonlWith(bigText, { auditKey: KEY }, { batchBytes: 2000, workers: 2 })).toEqual(
      await referenceVerifyJsonl(bigText, { auditKey: KEY }),
    );
    expect(await verifyJsonlWith(Readable.from([Buffer.from(bigText)]), {}, { batchBytes: 2000, workers: 2 })).toMatchObject({ ok: true, count: 300 });
    expect(answered()).toBeGreaterThan(before); // the worker threads took part
  });

  it('property: any change to the bytes gets the same verdict as line by line', async () => {
    const bytes = Buffer.from(text);
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.constantFrom(10, 13, 0xef, 0xbb, 0xbf, 0x80, 0xff, 32) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 400 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(edit, { minLength: 1, maxLength: 3 }),
        fc.constantFrom(...shapes),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.constantFrom<JsonlVerifyOptions>({}, { auditKey: KEY }, { expectedHead: base.heads[23] }, { expectedHead: base.heads[5] }),
        async (edits, shape, cuts, opts) => {
          let b = Buffer.from(bytes);
          for (const e of edits) {
            const at = e.at % (b.length + 1);
            if (e.kind === 'byte' && at < b.length) b[at] = e.value;
            if (e.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([e.value]), b.subarray(at)]);
            if (e.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.value)]);
          }
          await same(inputs(b, shape, cuts), opts);
        },
      ),
      { numRuns: 250 },
    );
  });

  it('property: deleted, repeated, moved and foreign lines get the same verdict as line by line', async () => {
    const other = makeExport(6, 0).lines;
    const junk = ['', '{"record":"junk"}', '{"payload":{"hash":"x"}}', '\uFEFF' + base.lines[0], 'x'.repeat(300), '\uD800' + base.lines[3]];
    const change = fc.oneof(
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('copy' as const), at: fc.nat(), n: fc.nat() }),
      fc.record({ kind: fc.constant('move' as const), at: fc.nat(), n: fc.nat() }),
      fc.record({ kind: fc.constant('foreign' as const), at: fc.nat(), n: fc.nat() }),
      fc.record({ kind: fc.constant('junk' as const), at: fc.nat(), n: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(change, { minLength: 1, maxLength: 2 }),
        fc.constantFrom(...shapes),
        fc.array(fc.nat(), { maxLength: 5 }),
        fc.boolean(),
        async (changes, shape, cuts, trailingNewline) => {
          const ls = [...base.lines];
          for (const c of changes) {
            const at = c.at % (ls.length + 1);
            if (c.kind === 'delete') ls.splice(at, c.n);
            if (c.kind === 'copy') ls.splice(at, 0, ls[c.n % ls.length]!);
            if (c.kind === 'move') ls.splice(c.n % ls.length, 0, ...ls.splice(at, 1));
            if (c.kind === 'foreign') ls.splice(at, 0, other[c.n % other.length]!);
            if (c.kind === 'junk') ls.splice(at, 0, junk[c.n % junk.length]!);
          }
          const t = ls.join('\n') + (trailingNewline ? '\n' : '');
          // Lone surrogates survive only in text input: compare that as text too.
          if (shape === 'string') await same(() => t, { auditKey: KEY });
          else await same(inputs(Buffer.from(t), shape, cuts), { auditKey: KEY });
          await same(() => stream([t.slice(0, t.length >> 1), t.slice(t.length >> 1)]), {});
        },
      ),
      { numRuns: 250 },
    );
  });

  it('copies byte chunks as they come (a source may refill the same buffer)', async () => {
    const bytes = Buffer.from(text);
    async function* refilled(): AsyncGenerator<Uint8Array> {
      const buf = new Uint8Array(1000);
      for (let at = 0; at < bytes.length; at += buf.length) {
        const n = bytes.copy(buf, 0, at, at + buf.length);
        yield buf.subarray(0, n);
      }
    }
    for (const tuning of TUNINGS) expect(await verifyJsonlWith(refilled(), { auditKey: KEY }, tuning)).toMatchObject({ ok: true, count: 24 });
  });

  it('takes chunks that are not text or bytes exactly as before (it throws)', async () => {
    const odd = (): AsyncIterable<string | Uint8Array> => stream([text.slice(0, 100), 42 as unknown as string]);
    await expect(referenceVerifyJsonl(odd())).rejects.toThrow(TypeError);
    await expect(verifyJsonlWith(odd(), {}, { batchBytes: 10, workers: 1 })).rejects.toThrow(TypeError);
  });
});
