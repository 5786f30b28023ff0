// A misbehaving MCP upstream for connector tests (plain JS so tests spawn it without a build): stdio, or Streamable HTTP with `--http`.
//
// usage: node mcp-test-server.mjs --state DIR [--http]
//   --state DIR  where the server keeps what tests read back: `calls.log` (one line per call of
//                `count`, written before it answers, so it survives a kill) and `release` (a file
//                that ends every `block` at once when it exists)
//   --http       serve Streamable HTTP on 127.0.0.1 (a free port); prints `{"url": ...}` on stdout
//
// Tools: `pid` (this process's id), `count` (appends to calls.log; a write), `block` (busy-loops
// synchronously, so the process answers nothing else, until `release` exists or 120 s pass),
// `deep` (a result nested `depth` levels; beyond what JSON.stringify can write, the text is built
// by hand, as a non-Node server would send it), `surrogate` (text and structured content holding a
// lone UTF-16 surrogate). Resource `test://deep/{depth}` and prompt `surrogate` return the same kind
// of data.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

const argv = process.argv.slice(2);
const stateDir = argv[argv.indexOf('--state') + 1];
if (!argv.includes('--state') || !stateDir) {
  process.stderr.write('usage: mcp-test-server.mjs --state DIR [--http]\n');
  process.exit(2);
}
const callsLog = path.join(stateDir, 'calls.log');
const release = path.join(stateDir, 'release');

/** Placeholder for a deep value: replaced in the outgoing text by the value written out by hand. */
const DEEP = '@@deep-value@@';
/** `depth` nested arrays around 0, as text (iterative: any depth). */
const deepText = (depth) => '['.repeat(depth) + '0' + ']'.repeat(depth);
/** The depth asked for by the last `deep` call or resource read (one at a time in these tests). */
let pendingDepth = 0;
/** Fills the placeholder of a serialised message. */
const fill = (text) => text.split(JSON.stringify(DEEP)).join(deepText(pendingDepth));

const object = (properties = {}) => ({ type: 'object', properties });
const TOOLS = [
  { name: 'pid', description: 'The id of the process that answers.', inputSchema: object() },
  { name: 'count', description: 'Records one call (a write).', inputSchema: object({ note: { type: 'string' } }) },
  { name: 'block', description: 'Blocks the whole process (a synchronous busy loop).', inputSchema: object() },
  { name: 'deep', description: 'A result nested `depth` levels.', inputSchema: object({ depth: { type: 'number' } }) },
  { name: 'surrogate', description: 'A result holding a lone surrogate.', inputSchema: object() },
];

const text = (t) => ({ content: [{ type: 'text', text: t }] });

function createServer() {
  const server = new Server({ name: 'airlock-test-upstream', version: '1.0.0' }, { capabilities: { tools: {}, resources: {}, prompts: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, (req) => {
    const args = req.params.arguments ?? {};
    switch (req.params.name) {
      case 'pid':
        return { ...text(String(process.pid)), structuredContent: { pid: process.pid } };
      case 'count': {
        appendFileSync(callsLog, `${JSON.stringify({ pid: process.pid, note: args.note ?? null })}\n`);
        const n = readFileSync(callsLog, 'utf8').split('\n').filter(Boolean).length;
        return { ...text(`call ${n}`), structuredContent: { calls: n } };
      }
      case 'block': {
        const until = Date.now() + 120_000;
        while (!existsSync(release) && Date.now() < until) {
          // Busy: this process reads nothing and answers nothing meanwhile.
        }
        return { ...text('released'), structuredContent: { pid: process.pid } };
      }
      case 'deep':
        pendingDepth = Number(args.depth ?? 10_000);
        return { ...text('deep'), structuredContent: { value: DEEP } };
      case 'surrogate':
        return { ...text('bad \ud800 text'), structuredContent: { note: 'lone \udc00 here', ['key\ud800']: 1 } };
      default:
        return { ...text(`unknown tool ${req.params.name}`), isError: true };
    }
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: [{ uri: 'test://deep/10000', name: 'deep' }] }));
  server.setRequestHandler(ReadResourceRequestSchema, (req) => {
    const m = /^test:\/\/deep\/(\d+)$/.exec(req.params.uri);
    if (!m) return { contents: [{ uri: req.params.uri, text: 'lone \ud800 surrogate' }] };
    pendingDepth = Number(m[1]);
    return { contents: [{ uri: req.params.uri, text: 'deep', _meta: { value: DEEP } }] };
  });
  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: [{ name: 'surrogate' }] }));
  server.setRequestHandler(GetPromptRequestSchema, () => ({
    description: 'lone \udfff',
    messages: [{ role: 'user', content: { type: 'text', text: 'say \ud800' } }],
  }));
  return server;
}

if (argv.includes('--http')) {
  // One MCP session per client, each its own server; the placeholder is filled in the response text.
  const sessions = new Map();
  const web = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const sid = req.headers['mcp-session-id'];
    let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (!transport) {
      transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => crypto.randomUUID(),
        enableJsonResponse: true,
        onsessioninitialized: (id) => sessions.set(id, transport),
      });
      await createServer().connect(transport);
    }
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : v === undefined ? [] : [[k, v]])),
      ...(req.method === 'POST' ? { body } : {}),
    });
    const response = await transport.handleRequest(request);
    const out = fill(await response.text());
    const headers = Object.fromEntries(response.headers);
    delete headers['content-length'];
    res.writeHead(response.status, headers);
    res.end(out);
  });
  web.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${web.address().port}/mcp` })}\n`);
  });
} else {
  // INVARIANT: stdout carries only JSON-RPC.
  console.log = console.error;
  const stdio = new StdioServerTransport();
  const send = stdio.send.bind(stdio);
  stdio.send = async (message) => {
    const line = JSON.stringify(message);
    if (!line.includes(JSON.stringify(DEEP))) return send(message);
    process.stdout.write(`${fill(line)}\n`);
  };
  process.stdin.on('end', () => process.exit(0));
  await createServer().connect(stdio);
}
