// Test fixtures for the SDK: a private copy of examples/sdk-agent with API keys, opened and served.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import type { AuditRecord } from '../../src/store/store.js';

export const SDK_EXAMPLE_DIR = path.resolve(import.meta.dirname, '../../examples/sdk-agent');

/** A served copy of the SDK example: the Airlock, its HTTP server, and bearer keys for the agent and robin. */
export interface SdkFixture {
  readonly dir: string;
  readonly airlock: Airlock;
  readonly server: RunningServer;
  readonly keys: { readonly bot: string; readonly robin: string };
  close(): Promise<void>;
}

/** Copies examples/sdk-agent (without its state) to a temp folder, adds API keys, opens and serves it. */
export async function sdkFixture(): Promise<SdkFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-sdk-'));
  cpSync(SDK_EXAMPLE_DIR, dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}.airlock`) });
  const bot = generateApiKey();
  const robin = generateApiKey();
  const file = path.join(dir, 'airlock.yaml');
  const doc = YAML.parse(readFileSync(file, 'utf8')) as { identity: { apiKeys?: unknown[] } };
  doc.identity.apiKeys = [
    { id: 'bot', principal: 'agent:billing-bot', sha256: bot.sha256 },
    { id: 'robin', principal: 'user:robin', sha256: robin.sha256 },
  ];
  writeFileSync(file, YAML.stringify(doc));
  const airlock = await openAirlock(dir);
  const server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
  return {
    dir,
    airlock,
    server,
    keys: { bot: bot.key, robin: robin.key },
    async close() {
      await server.close();
      await airlock.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One audit record without what differs between equal runs (times, ids, hashes, the door): what and why. */
export function normalizeRecord(r: AuditRecord): Record<string, unknown> {
  const b = r.body;
  const keep = ['tool', 'decision', 'level', 'why', 'reasons', 'policyIds', 'outcome', 'reportedBy', 'executor', 'message', 'recheck', 'vote', 'status', 'attempted', 'reason', 'votes', 'needed', 'failure', 'to', 'from', 'claim'];
  const out: Record<string, unknown> = { type: r.type, principal: r.principal };
  for (const k of keep) if (b[k] !== undefined) out[k] = b[k];
  return out;
}
