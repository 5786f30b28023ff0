// A server that keeps failing is restarted with growing pauses, not in a tight loop (on a fake clock: nothing races wall time).
import { describe, expect, it } from 'vitest';
import { McpStdioConnector } from '../../src/tools/connectors/mcp-stdio.js';

describe('stdio connector restart backoff', () => {
  it('retries at once after the first fault, then fails fast until the backoff has passed', async () => {
    let now = 1_000_000;
    const c = new McpStdioConnector('broken', { command: process.execPath, args: ['-e', 'process.exit(3)'], env: {} }, { now: () => now });
    try {
      const first = await c.call('anything', {}, { timeoutMs: 5000 });
      expect(first).toMatchObject({ ok: false, failure: 'crash' });
      expect(first.ok === false && first.message).toMatch(/could not start connector `broken`/);
      const second = await c.call('anything', {}, { timeoutMs: 5000 });
      expect(second.ok === false && second.message).toMatch(/could not start/);
      // Two faults in a row: the next start waits 250 ms; a call meanwhile fails fast and says when.
      now += 249;
      const third = await c.call('anything', {}, { timeoutMs: 5000 });
      expect(third).toMatchObject({ ok: false, failure: 'crash' });
      expect(third.ok === false && third.message).toMatch(/failed 2 times in a row; next restart in 1 ms/);
      now += 1;
      const fourth = await c.call('anything', {}, { timeoutMs: 5000 });
      expect(fourth.ok === false && fourth.message).toMatch(/could not start/);
      // Three in a row: 500 ms.
      const fifth = await c.call('anything', {}, { timeoutMs: 5000 });
      expect(fifth.ok === false && fifth.message).toMatch(/failed 3 times in a row; next restart in 500 ms/);
    } finally {
      await c.close();
    }
  });
});
