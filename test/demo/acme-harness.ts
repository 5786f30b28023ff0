// Test harness for the Acme demo servers: temp databases and real child-process MCP clients.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

/** The compiled server entry point (tests assume `npm run build` has run). */
export const SERVER_JS = fileURLToPath(new URL('../../dist/src/demo/acme/server.js', import.meta.url));

/** Fails fast with advice when the build output is missing. */
export function requireBuild(): void {
  if (!existsSync(SERVER_JS)) throw new Error(`missing ${SERVER_JS}; run \`npx tsc -p tsconfig.build.json\` first`);
}

/** A fresh temp folder and a database path inside it; `cleanup` removes both. */
export function tempDb(): { dir: string; db: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'acme-test-'));
  return { dir, db: join(dir, 'acme.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A connected client plus what the child wrote to stderr. */
export interface Connected {
  readonly client: Client;
  readonly transport: StdioClientTransport;
  readonly stderr: () => string;
  readonly close: () => Promise<void>;
}

/** Starts `node server.js <system> --db <db>` as a child process and connects an MCP client to it. */
export async function connect(system: string, db: string, env: Record<string, string> = {}): Promise<Connected> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_JS, system, '--db', db],
    env: { ...getDefaultEnvironment(), ...env },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const client = new Client({ name: 'acme-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, transport, stderr: () => err, close: () => client.close() };
}

/** Calls a tool and returns its structured result, failing the test on a tool error. */
export async function call(client: Client, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await client.callTool({ name, arguments: args });
  if (res.isError) throw new Error(`tool \`${name}\` failed: ${JSON.stringify(res.content)}`);
  const structured = res.structuredContent as Record<string, unknown>;
  const text = (res.content as { type: string; text?: string }[])[0]?.text;
  if (text === undefined || JSON.stringify(JSON.parse(text)) !== JSON.stringify(structured)) {
    throw new Error(`tool \`${name}\`: text content does not mirror structuredContent`);
  }
  return structured;
}

/** Calls a tool that must fail with a domain error; returns the error text. */
export async function callError(client: Client, name: string, args: Record<string, unknown>): Promise<string> {
  const res = await client.callTool({ name, arguments: args });
  if (!res.isError) throw new Error(`tool \`${name}\` unexpectedly succeeded: ${JSON.stringify(res.structuredContent)}`);
  return (res.content as { text?: string }[]).map((c) => c.text ?? '').join('\n');
}
