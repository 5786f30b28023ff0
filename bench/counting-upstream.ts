// A counting upstream for the hostile-load bench: an MCP stdio server whose `write` and `read` tools append one line per
// execution to a log file before they answer, so the harness can match every execution against Airlock's audit trail.
import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { isEntryPoint } from '../src/util/entry-point.js';

/** One line of the execution log: what ran, with the idempotency key Airlock passed (writes) and the note's first characters. */
export interface Execution {
  readonly seq: number;
  readonly tool: 'write' | 'read';
  readonly key: string | null;
  readonly text: string;
}

/** The server: each execution is appended (synchronously: it is on disk before the answer leaves) to `log`. */
export function createCountingServer(log: string): McpServer {
  const server = new McpServer({ name: 'counting-notes', version: '1.0.0' });
  let seq = 0;
  const record = (tool: Execution['tool'], key: string | null, text: string): number => {
    seq += 1;
    const line: Execution = { seq, tool, key, text: text.slice(0, 80) };
    appendFileSync(log, `${JSON.stringify(line)}\n`);
    return seq;
  };
  const answer = (tool: Execution['tool'], n: number) => ({
    content: [{ type: 'text' as const, text: JSON.stringify({ seq: n, tool }) }],
    structuredContent: { seq: n, tool },
  });
  // Arguments are taken as they come (`meta` is any JSON): the upstream counts whatever reaches it.
  server.registerTool(
    'write',
    {
      description: 'Write a note (an effect: one line in the execution log).',
      inputSchema: { text: z.string(), meta: z.unknown().optional(), idempotency_key: z.string().optional() },
      outputSchema: { seq: z.number(), tool: z.string() },
    },
    ({ text, idempotency_key }) => answer('write', record('write', idempotency_key ?? null, text)),
  );
  server.registerTool(
    'read',
    {
      description: 'Read the notes (counted too: every execution is).',
      inputSchema: { text: z.string().optional(), meta: z.unknown().optional() },
      outputSchema: { seq: z.number(), tool: z.string() },
      annotations: { readOnlyHint: true },
    },
    ({ text }) => answer('read', record('read', null, text ?? '')),
  );
  return server;
}

/** `node dist/bench/counting-upstream.js --log FILE`: serves over stdio until stdin ends. */
async function main(argv: readonly string[]): Promise<void> {
  const i = argv.indexOf('--log');
  const log = i >= 0 ? argv[i + 1] : undefined;
  if (!log) {
    process.stderr.write('usage: counting-upstream.js --log <file>\n');
    process.exit(2);
  }
  const transport = new StdioServerTransport();
  process.stdin.on('end', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  await createCountingServer(log).connect(transport);
}

if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`counting-upstream: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
