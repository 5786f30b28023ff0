// The stdio transport when the client is gone: a write that fails (EPIPE) fails that send and every later
// one, is reported once, and never reaches the process as an uncaught error; a send waiting for stdout to
// drain fails when stdout dies instead of waiting for good.
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BoundedStdioTransport } from '../../src/server/stdio-transport.js';
import { uncaughtDuring } from '../helpers/uncaught.js';

const MESSAGE = { jsonrpc: '2.0' as const, id: 1, result: {} };

/** A stdout whose reader closed its end: every write fails with EPIPE. */
function closedPipe(): Writable {
  return new Writable({
    write(_chunk, _enc, cb) {
      cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
}

describe('the stdio transport when the client is gone', () => {
  it('fails the send that met EPIPE and every later one, reports it once, and raises nothing uncaught', async () => {
    const errors: Error[] = [];
    const t = new BoundedStdioTransport({ maxMessageBytes: 1024, onOversized: () => undefined }, new PassThrough(), closedPipe());
    t.onerror = (e) => errors.push(e);
    const outcomes: unknown[] = [];
    const uncaught = await uncaughtDuring(async () => {
      await t.start();
      outcomes.push(await t.send(MESSAGE).then(() => 'sent', (e: unknown) => e));
      outcomes.push(await t.send(MESSAGE).then(() => 'sent', (e: unknown) => e));
      await t.close();
      outcomes.push(await t.send(MESSAGE).then(() => 'sent', (e: unknown) => e));
    });
    expect(uncaught).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(['write EPIPE']);
    expect(outcomes.map(String)).toEqual(['Error: write EPIPE', 'Error: the client is gone: write EPIPE', 'Error: the client is gone: write EPIPE']);
  });

  it('fails a send waiting for stdout to drain when stdout is destroyed', async () => {
    // A stdout nobody reads: the first write fills it, the send waits for a drain that never comes.
    const stuck = new Writable({ highWaterMark: 1, write: () => undefined });
    const t = new BoundedStdioTransport({ maxMessageBytes: 1024, onOversized: () => undefined }, new PassThrough(), stuck);
    t.onerror = () => undefined;
    await t.start();
    const waiting = t.send(MESSAGE).then(() => 'sent', (e: unknown) => String(e));
    stuck.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(await waiting).toBe('Error: write EPIPE');
  });
});
