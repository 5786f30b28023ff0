// `airlock serve` killed with SIGKILL mid-call, then started again: the runs it served are ended for
// review (not left running forever), and the call that was in flight opens an incident naming it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openWorkspaceStore } from '../helpers/workspace.js';
import type { RunId } from '../../src/types.js';
import { AIRLOCK_ROOT } from '../../src/util/package-root.js';
import { doorWorkspace } from './fixtures.js';

/** Starts `airlock serve` on a free port and resolves with its MCP URL once it listens. */
function serve(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(AIRLOCK_ROOT, 'dist/src/cli/main.js'), '-w', dir, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /MCP \(Streamable HTTP\)\s+(\S+)/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1] });
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

/** Polls `check` (reading the store file) until it holds, for at most `tries` × 100 ms. */
async function eventually(check: () => boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the condition never held');
}

describe('a served process killed mid-call', () => {
  const ws = doorWorkspace();
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    ws.cleanup();
  });

  it('ends its runs for review at the next start, and opens an incident for the call in flight', async () => {
    // The tickets system commits a comment and never answers: the call is in flight when the server dies.
    const yaml = path.join(ws.dir, 'airlock.yaml');
    const text = readFileSync(yaml, 'utf8');
    const ticketsArgs = /( {2}tickets:\n(?: {4}.*\n)*? {4}args: .*\n)/.exec(text)?.[1];
    if (!ticketsArgs) throw new Error('examples/acme/airlock.yaml changed shape: cannot find the tickets connector');
    writeFileSync(yaml, text.replace(ticketsArgs, `${ticketsArgs}    env: { ACME_FAULT: "tickets.comment:hang-after" }\n`));

    const first = await serve(ws.dir);
    children.push(first.child);
    const connect = async () => {
      const client = new Client({ name: 'doomed', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(first.url), { requestInit: { headers: { Authorization: `Bearer ${ws.keys['refund-bot']}` } } }));
      return client;
    };
    const busy = await connect();
    const idle = await connect();
    expect((await busy.callTool({ name: 'tickets.get_ticket', arguments: { ticket_id: 'T-311' } })).isError).toBeFalsy();
    void busy.callTool({ name: 'tickets.comment', arguments: { ticket_id: 'T-311', body: 'looking into it' } }).catch(() => undefined);
    const db = path.join(ws.dir, '.airlock', 'airlock.db');
    const intentOnRecord = () => {
      const raw = new Database(db, { readonly: true });
      try {
        return raw.prepare(`SELECT 1 FROM audit WHERE json_extract(leaf, '$.type') = 'action.intent' AND json_extract(leaf, '$.body.tool') = 'tickets.comment'`).get() !== undefined;
      } finally {
        raw.close();
      }
    };
    await eventually(intentOnRecord);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    void idle;

    // Both runs were left `running` by the dead process.
    let store = await openWorkspaceStore(ws.dir);
    const orphans = (await store.listRuns({ status: 'running' })).map((r) => r.id);
    expect(orphans).toHaveLength(2);
    await store.close();

    const second = await serve(ws.dir);
    children.push(second.child);
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));

    store = await openWorkspaceStore(ws.dir);
    try {
      for (const id of orphans) {
        const run = await store.getRun(id as RunId);
        expect(run?.status, id).toBe('failed');
        expect((run?.state as { reason?: string }).reason).toMatch(/^interrupted: the Airlock process driving this run \(instance `ins_[0-9a-f]+`\) stopped/);
        expect((await store.readAuditForRun(id)).find((r) => r.type === 'run.finished')?.body).toMatchObject({ status: 'failed', endedBy: 'recovery' });
      }
      const incidents = (await store.listIncidents()).filter((i) => i.kind === 'unknown-outcome');
      expect(incidents).toHaveLength(1);
      expect(incidents[0]).toMatchObject({ boundary: 'domain', status: 'open', evidence: { tool: 'tickets.comment' } });
      expect(incidents[0]?.title).toMatch(/the call to `tickets\.comment` \(step 1\) in run run_\w+ may have reached the upstream, and its outcome was never recorded/);
      // The dead process's lease is gone; the second one gave its own back when it stopped.
      expect(await store.listLeases()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
