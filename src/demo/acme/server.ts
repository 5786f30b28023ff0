// CLI entry serving one Acme system as a real MCP server on stdio (stdout is the protocol, logs go to stderr).
import { isEntryPoint } from '../../util/entry-point.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { AirlockError, formatError } from '../../errors.js';
import { openAcmeDb, type AcmeDb } from './db.js';
import { registerCrm } from './systems/crm.js';
import { registerDocuments } from './systems/documents.js';
import { registerMail } from './systems/mail.js';
import { registerOrders } from './systems/orders.js';
import { registerPayments } from './systems/payments.js';
import { registerTickets } from './systems/tickets.js';

/** The Acme systems, each a function that registers its tools on a server. */
export const ACME_SYSTEMS = {
  crm: registerCrm,
  orders: registerOrders,
  payments: registerPayments,
  mail: registerMail,
  tickets: registerTickets,
  documents: registerDocuments,
} as const satisfies Record<string, (server: McpServer, db: AcmeDb) => void>;

/** The name of one Acme system (`payments`, ...); its server is called `acme-<system>`. */
export type AcmeSystem = keyof typeof ACME_SYSTEMS;

/** The version every Acme server reports. */
export const ACME_SERVER_VERSION = '1.0.0';

/** Builds the MCP server of one system over an open database (not yet connected to a transport). */
export function createAcmeServer(system: AcmeSystem, db: AcmeDb): McpServer {
  const server = new McpServer({ name: `acme-${system}`, version: ACME_SERVER_VERSION });
  ACME_SYSTEMS[system](server, db);
  return server;
}

/**
 * Fault modes for ACME_FAULT=<tool>:<mode>: `crash` exits(1) when the tool is called, `hang` never answers, `garbage` answers
 * with a non-JSON line; `crash-after` and `hang-after` run the tool (its effect commits) and then
 * crash or drop the answer, so a caller cannot know whether the effect happened.
 */
export const FAULT_MODES = ['crash', 'hang', 'garbage', 'crash-after', 'hang-after'] as const;

/** One injected fault: which tool (bare `refund` or qualified `payments.refund`) and how it fails. */
export interface Fault {
  readonly tool: string;
  readonly mode: (typeof FAULT_MODES)[number];
}

/** What the command line asked for. */
export interface ServerArgs {
  readonly system: AcmeSystem;
  readonly db: string;
}

const USAGE = `usage: server.js <system> --db <path>\n  systems: ${Object.keys(ACME_SYSTEMS).join(', ')}\n  env: ACME_FAULT=<tool>:<${FAULT_MODES.join('|')}>`;

function isSystem(s: string): s is AcmeSystem {
  return Object.hasOwn(ACME_SYSTEMS, s);
}

/** Parses `<system> --db <path>` (or `--db=<path>`); bad input is an `input` error with a hint. */
export function parseServerArgs(argv: readonly string[]): ServerArgs {
  let system: string | undefined;
  let db: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--db') {
      db = argv[++i];
      if (db === undefined || db === '') throw new AirlockError('input', '`--db` needs a path', { hint: USAGE });
    } else if (a.startsWith('--db=')) {
      db = a.slice('--db='.length);
    } else if (a.startsWith('-')) {
      throw new AirlockError('input', `unknown option \`${a}\``, { hint: USAGE });
    } else if (system === undefined) {
      system = a;
    } else {
      throw new AirlockError('input', `unexpected argument \`${a}\``, { hint: USAGE });
    }
  }
  if (system === undefined) throw new AirlockError('input', 'missing the system to serve', { hint: USAGE });
  if (!isSystem(system)) throw new AirlockError('input', `unknown system \`${system}\``, { hint: USAGE });
  if (db === undefined || db === '') throw new AirlockError('input', 'missing `--db <path>`', { hint: USAGE });
  return { system, db };
}

/** Parses ACME_FAULT (`<tool>:<mode>`); unset or empty means no fault. */
export function parseFault(value: string | undefined): Fault | undefined {
  if (value === undefined || value === '') return undefined;
  const at = value.lastIndexOf(':');
  const tool = value.slice(0, at);
  const mode = value.slice(at + 1);
  if (at <= 0 || !(FAULT_MODES as readonly string[]).includes(mode)) {
    throw new AirlockError('input', `bad ACME_FAULT \`${value}\``, {
      hint: `expected <tool>:<mode>, mode one of ${FAULT_MODES.join(', ')}, e.g. \`payments.refund:crash\``,
    });
  }
  return { tool, mode: mode as Fault['mode'] };
}

type Log = (line: string) => void;

/**
 * Wraps a transport so calls to the faulted tool fail the way a broken real server does.
 * Every other message passes through untouched.
 */
export class FaultyTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  readonly #inner: Transport;
  readonly #fault: Fault;
  readonly #name: string | undefined;
  readonly #log: Log;
  readonly #pending = new Set<string | number>();

  constructor(inner: Transport, fault: Fault, system: AcmeSystem, log: Log) {
    this.#inner = inner;
    this.#fault = fault;
    this.#log = log;
    // `payments.refund` and `refund` both name this server's `refund`; `mail.send` names nothing here.
    if (fault.tool.startsWith(`${system}.`)) this.#name = fault.tool.slice(system.length + 1);
    else if (!fault.tool.includes('.')) this.#name = fault.tool;
  }

  async start(): Promise<void> {
    this.#inner.onclose = () => this.onclose?.();
    this.#inner.onerror = (e) => this.onerror?.(e);
    this.#inner.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => this.#receive(message, extra);
    await this.#inner.start();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if ('id' in message && message.id !== undefined && !('method' in message) && this.#pending.delete(message.id)) {
      if (this.#fault.mode === 'crash-after') {
        this.#log(`fault injected: crashing after \`${this.#fault.tool}\` ran`);
        return process.exit(1);
      }
      this.#log(`fault injected: dropping the answer of \`${this.#fault.tool}\``);
      return;
    }
    await this.#inner.send(message, options);
  }

  async close(): Promise<void> {
    await this.#inner.close();
  }

  #receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (!('method' in message) || message.method !== 'tools/call' || !('id' in message)) {
      this.onmessage?.(message, extra);
      return;
    }
    const name = (message.params as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string' || name !== this.#name) {
      this.onmessage?.(message, extra);
      return;
    }
    switch (this.#fault.mode) {
      case 'crash':
        this.#log(`fault injected: crashing on \`${name}\``);
        return process.exit(1);
      case 'hang':
        this.#log(`fault injected: never answering \`${name}\``);
        return;
      case 'garbage':
        this.#log(`fault injected: answering \`${name}\` with garbage`);
        process.stdout.write('%%% acme fault injection: this line is not JSON-RPC %%%\n');
        return;
      case 'crash-after':
      case 'hang-after':
        this.#pending.add(message.id);
        this.onmessage?.(message, extra);
        return;
    }
  }
}

/** Runs the CLI: parses arguments, opens the database, serves on stdio until stdin closes. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  let args: ServerArgs;
  let fault: Fault | undefined;
  try {
    args = parseServerArgs(argv);
    fault = parseFault(env['ACME_FAULT']);
  } catch (e) {
    process.stderr.write(`${e instanceof AirlockError ? formatError(e) : String(e)}\n`);
    process.exit(2);
  }
  const name = `acme-${args.system}`;
  const log: Log = (line) => process.stderr.write(`${name}: ${line}\n`);
  // INVARIANT: stdout carries only JSON-RPC; a stray console.log would corrupt the protocol.
  console.log = console.error;

  let db: AcmeDb;
  try {
    db = openAcmeDb(args.db);
  } catch (e) {
    process.stderr.write(`${e instanceof AirlockError ? formatError(e) : String(e)}\n`);
    process.exit(e instanceof AirlockError && e.isUserError ? 2 : 1);
  }
  const server = createAcmeServer(args.system, db);
  const stdio = new StdioServerTransport();
  const transport = fault ? new FaultyTransport(stdio, fault, args.system, log) : stdio;
  const shutdown = (code: number): void => {
    if (db.open) db.close();
    process.exit(code);
  };
  transport.onclose = () => shutdown(0);
  process.stdin.on('end', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  await server.connect(transport);
  log(`serving ${args.db}${fault ? ` (fault: ${fault.tool}:${fault.mode})` : ''}`);
}


if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2), process.env).catch((e: unknown) => {
    process.stderr.write(`acme: ${e instanceof AirlockError ? formatError(e) : String(e)}\n`);
    process.exit(1);
  });
}
