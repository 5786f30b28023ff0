// HttpConnector against real servers on 127.0.0.1: requests are built only from declared templates, egress stays pinned, secrets stay hidden.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Json } from '../../src/types.js';
import type { ConnectorResult } from '../../src/tools/connector.js';
import { HttpConnector, type HttpConnectorConfig, type HttpToolContract } from '../../src/tools/connectors/http.js';
import { NormalisedConnector } from '../../src/tools/connectors/normalise.js';
import { ConnectorPool } from '../../src/tools/connectors/pool.js';
import type { ToolContract } from '../../src/config/schema.js';

const TOKEN = 's3cr3t-T0KEN-value-42';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A recording server: `handle` answers, every request is kept in `seen`. */
interface TestServer {
  readonly server: Server;
  readonly origin: string;
  readonly seen: Seen[];
}

async function startServer(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<TestServer> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}`, seen };
}

async function stop(s: TestServer): Promise<void> {
  s.server.closeAllConnections();
  await new Promise<void>((resolve) => s.server.close(() => resolve()));
}

const json = (res: ServerResponse, status: number, value: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
};

let api: TestServer;
let evil: TestServer;

beforeAll(async () => {
  evil = await startServer((_req, _body, res) => json(res, 200, { stolen: true }));
  api = await startServer((req, body, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path === '/api/v1/echo-auth') return json(res, 200, { auth: req.headers.authorization ?? null, [`key-${TOKEN}`]: 'in a key' });
    if (path === '/api/v1/deny-auth') {
      res.writeHead(401, { 'content-type': 'text/plain' });
      return res.end(`bad token ${req.headers.authorization ?? ''}`);
    }
    if (path === '/api/v1/redirect-away') {
      res.writeHead(302, { location: `${evil.origin}/collect` });
      return res.end();
    }
    if (path === '/api/v1/redirect-home') {
      res.writeHead(307, { location: '/api/v1/items/1' });
      return res.end();
    }
    if (path === '/api/v1/slow') return; // never answers
    if (path === '/api/v1/big') {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (sent < 200) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      return pump();
    }
    if (path === '/api/v1/big-declared') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(10_000) });
      return res.end('y'.repeat(10_000));
    }
    if (path === '/api/v1/missing') {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: 'no such thing', detail: 'item\n  does not exist' }));
    }
    if (path === '/api/v1/broken') {
      res.writeHead(503, { 'content-type': 'text/plain' });
      return res.end('upstream down');
    }
    if (path === '/api/v1/text') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end('plain words');
    }
    if (path === '/api/v1/bad-json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{not json');
    }
    if (path === '/api/v1/deep') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(`{"value":${'['.repeat(10_000)}0${']'.repeat(10_000)}}`);
    }
    if (path === '/api/v1/surrogate') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"note":"lone \\ud800 here","k\\udfff":1}');
    }
    if (path === '/api/v1/empty') {
      res.writeHead(204);
      return res.end();
    }
    return json(res, 200, { method: req.method, url: req.url, body: body === '' ? null : (JSON.parse(body) as unknown) });
  });
});

afterAll(async () => {
  await stop(api);
  await stop(evil);
});

beforeEach(() => {
  api.seen.length = 0;
  evil.seen.length = 0;
});

const stringArg = { type: 'string' };

/** Contracts as a workspace would declare them for connector `api`. */
function contracts(): HttpToolContract[] {
  const get = (name: string, path: string, extra: Partial<HttpToolContract> = {}): HttpToolContract => ({
    name: `api.${name}`,
    description: `GET ${path}`,
    inputSchema: { type: 'object', properties: {} },
    http: { method: 'GET', path, query: [], body: [] },
    ...extra,
  });
  return [
    get('get_item', '/items/{id}', {
      inputSchema: { type: 'object', properties: { id: stringArg, q: stringArg, tags: { type: 'array' } }, required: ['id'] },
      http: { method: 'GET', path: '/items/{id}', query: ['q', 'tags', 'constructor'], body: [] },
    }),
    {
      name: 'api.add_note',
      upstream: 'notes_create',
      description: 'Add a note to an item.',
      inputSchema: { type: 'object', properties: { id: stringArg, text: stringArg, priority: { type: 'integer' }, meta: { type: 'object' } } },
      http: { method: 'POST', path: '/items/{id}/notes', query: [], body: ['text', 'priority', 'meta', '__proto__'] },
    },
    get('echo_auth', '/echo-auth'),
    get('deny_auth', '/deny-auth'),
    get('redirect_away', '/redirect-away'),
    get('redirect_home', '/redirect-home'),
    get('slow', '/slow'),
    get('big', '/big'),
    get('big_declared', '/big-declared'),
    get('missing', '/missing'),
    get('broken', '/broken'),
    get('text', '/text'),
    get('bad_json', '/bad-json'),
    get('empty', '/empty'),
    get('deep', '/deep'),
    get('surrogate', '/surrogate'),
    { name: 'api.undeclared', description: 'No request declared.', inputSchema: { type: 'object' } },
  ];
}

function config(over: Partial<HttpConnectorConfig> = {}): HttpConnectorConfig {
  return {
    kind: 'http',
    baseUrl: `${api.origin}/api/v1/`,
    headers: { authorization: { env: 'API_TOKEN', prefix: 'Bearer ' }, 'x-client': 'airlock' },
    timeoutMs: 10_000,
    maxResponseBytes: 1024 * 1024,
    ...over,
  };
}

function connector(over: Partial<HttpConnectorConfig> = {}, env: Record<string, string | undefined> = { API_TOKEN: TOKEN }): HttpConnector {
  return new HttpConnector('api', config(over), contracts(), { env });
}

const call = (c: HttpConnector, tool: string, args: Record<string, Json> = {}, timeoutMs = 5_000): Promise<ConnectorResult> =>
  c.call(tool, args, { timeoutMs });

function failure(res: ConnectorResult): { failure: string; message: string } {
  expect(res.ok, JSON.stringify(res)).toBe(false);
  if (res.ok) throw new Error('unreachable');
  return res;
}

describe('requests built from the declared templates', () => {
  it('maps a GET: path placeholder, declared query parameters, configured headers', async () => {
    const res = await call(connector(), 'get_item', { id: 'A-17', q: 'red shoes', tags: ['a', 'b&c'] });
    expect(res.ok).toBe(true);
    expect(api.seen).toHaveLength(1);
    const seen = api.seen[0]!;
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/api/v1/items/A-17?q=red+shoes&tags=a&tags=b%26c');
    expect(seen.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seen.headers['x-client']).toBe('airlock');
    expect(seen.body).toBe('');
    if (res.ok) expect(res.content).toEqual({ method: 'GET', url: seen.url, body: null });
  });

  it('maps a POST: the JSON body holds only the declared fields, found by upstream name', async () => {
    const args = { id: '9', text: 'hello', priority: 2, meta: { a: [1, null] }, extra: 'not declared', url: 'http://evil.example' };
    const res = await call(connector(), 'notes_create', args);
    expect(res.ok).toBe(true);
    const seen = api.seen[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/api/v1/items/9/notes');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen.body)).toEqual({ text: 'hello', priority: 2, meta: { a: [1, null] } });
  });

  it('sends no argument the contract does not declare, and nothing inherited from Object.prototype', async () => {
    await call(connector(), 'get_item', { id: '1', host: 'evil.example', baseUrl: 'http://evil.example' });
    expect(api.seen[0]!.url).toBe('/api/v1/items/1');
    expect(evil.seen).toHaveLength(0);
  });

  it('keeps a `__proto__` body field a plain field', async () => {
    const args = JSON.parse('{"id":"1","__proto__":{"polluted":true}}') as Record<string, Json>;
    await call(connector(), 'notes_create', args);
    expect(api.seen[0]!.body).toBe('{"__proto__":{"polluted":true}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  const hostile = [
    '../admin',
    '../../../etc/passwd',
    'a/b',
    '%2e%2e',
    '%2e%2e%2fadmin',
    '..%2fadmin',
    '..\\admin',
    '?x=1',
    '#frag',
    'http://evil.example',
    '//evil.example/x',
    '@evil.example',
    'a;b=c',
    ' spaced out ',
    'ünïcödé/ñ😀',
    '\u202e../admin',
    '．．',
    'line\r\nX-Injected: 1',
    '\u0000',
  ];
  it.each(hostile)('keeps the argument %j inside its one path segment', async (id) => {
    const res = await call(connector(), 'get_item', { id });
    expect(res.ok, JSON.stringify(res)).toBe(true);
    expect(api.seen).toHaveLength(1);
    const url = api.seen[0]!.url;
    expect(url).toBe(`/api/v1/items/${encodeURIComponent(id)}`);
    expect(url.split('/')).toHaveLength(5);
    expect(url).not.toMatch(/[?#]/);
    expect(decodeURIComponent(url.slice('/api/v1/items/'.length))).toBe(id);
    expect(evil.seen).toHaveLength(0);
  });

  it('keeps a hostile value inside its query parameter', async () => {
    const q = 'x&admin=true#frag?y=2 ../';
    await call(connector(), 'get_item', { id: '1', q });
    const url = new URL(api.seen[0]!.url, api.origin);
    expect(url.pathname).toBe('/api/v1/items/1');
    expect([...url.searchParams.keys()]).toEqual(['q']);
    expect(url.searchParams.get('q')).toBe(q);
  });

  it.each([
    ['..', /cannot be empty, `\.` or `\.\.`/],
    ['.', /cannot be empty, `\.` or `\.\.`/],
    ['', /cannot be empty/],
  ])('refuses the whole-segment value %j without a request', async (id, message) => {
    const f = failure(await call(connector(), 'get_item', { id }));
    expect(f.failure).toBe('tool-error');
    expect(f.message).toMatch(message);
    expect(f.message).toContain('no request was sent');
    expect(api.seen).toHaveLength(0);
  });

  it('refuses missing, object and invalid-Unicode path arguments without a request', async () => {
    expect(failure(await call(connector(), 'get_item', {})).message).toContain('path argument `id` is missing');
    expect(failure(await call(connector(), 'get_item', { id: { a: 1 } })).message).toContain('must be a string, number or boolean');
    expect(failure(await call(connector(), 'get_item', { id: ['a', 'b'] })).message).toContain('must be a string, number or boolean');
    expect(failure(await call(connector(), 'get_item', { id: '\ud800' })).message).toContain('not valid Unicode');
    expect(failure(await call(connector(), 'get_item', { id: '1', q: { nested: 'x' } } as Record<string, Json>)).message).toContain('query argument `q`');
    expect(api.seen).toHaveLength(0);
  });

  it('encodes numbers and booleans as segments', async () => {
    await call(connector(), 'get_item', { id: 42 });
    await call(connector(), 'get_item', { id: true });
    expect(api.seen.map((s) => s.url)).toEqual(['/api/v1/items/42', '/api/v1/items/true']);
  });

  it('refuses a tool with no declared request, and an unknown upstream', async () => {
    const undeclared = failure(await call(connector(), 'undeclared'));
    expect(undeclared.message).toContain('declares no `http` request');
    const unknown = failure(await call(connector(), 'delete_everything'));
    expect(unknown.message).toContain('no tool contract declares upstream `delete_everything`');
    expect(api.seen).toHaveLength(0);
  });

  it('says so when it was given no tool contracts at all', async () => {
    const bare = new HttpConnector('api', config(), [], { env: { API_TOKEN: TOKEN } });
    expect(failure(await call(bare, 'get_item', { id: '1' })).message).toContain('given no tool contracts');
    expect(api.seen).toHaveLength(0);
  });

  it('refuses an upstream two contracts declare with different requests', async () => {
    const twins: HttpToolContract[] = [
      { name: 'api.a', upstream: 'same', description: 'a', inputSchema: { type: 'object' }, http: { method: 'GET', path: '/a', query: [], body: [] } },
      { name: 'api.b', upstream: 'same', description: 'b', inputSchema: { type: 'object' }, http: { method: 'DELETE', path: '/b', query: [], body: [] } },
    ];
    const c = new HttpConnector('api', config(), twins, { env: { API_TOKEN: TOKEN } });
    expect(failure(await call(c, 'same')).message).toContain('more than one tool contract');
    expect(api.seen).toHaveLength(0);
  });

  it('refuses every call when the base URL carries credentials or a query', async () => {
    const withUser = new HttpConnector('api', config({ baseUrl: `http://user:pw@127.0.0.1:1/api` }), contracts(), { env: { API_TOKEN: TOKEN } });
    expect(failure(await call(withUser, 'get_item', { id: '1' })).message).toContain('carries credentials');
    const withQuery = new HttpConnector('api', config({ baseUrl: `${api.origin}/api/v1?key=1` }), contracts(), { env: { API_TOKEN: TOKEN } });
    expect(failure(await call(withQuery, 'get_item', { id: '1' })).message).toContain('query or fragment');
    expect(api.seen).toHaveLength(0);
  });

  it('works with a base URL without a path', async () => {
    const c = new HttpConnector('api', config({ baseUrl: api.origin }), contracts(), { env: { API_TOKEN: TOKEN } });
    await call(c, 'get_item', { id: '../x' });
    expect(api.seen[0]!.url).toBe('/items/..%2Fx');
  });

  it('lists the declared tools by upstream name', async () => {
    const names = (await connector().listTools()).map((t) => t.name);
    expect(names).toContain('get_item');
    expect(names).toContain('notes_create');
    expect(names).not.toContain('undeclared');
  });
});

describe('egress stays pinned', () => {
  it('does not follow a redirect to another origin', async () => {
    const f = failure(await call(connector(), 'redirect_away'));
    expect(f.failure).toBe('protocol');
    expect(f.message).toContain('HTTP 302');
    expect(f.message).toContain('never follows redirects');
    expect(api.seen).toHaveLength(1);
    expect(evil.seen).toHaveLength(0);
  });

  it('does not follow a redirect on the same origin either', async () => {
    const f = failure(await call(connector(), 'redirect_home'));
    expect(f.message).toContain('HTTP 307');
    expect(api.seen).toHaveLength(1);
  });
});

describe('credentials', () => {
  it('are added from the environment and redacted when the server echoes them', async () => {
    const res = await call(connector(), 'echo_auth');
    expect(api.seen[0]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(res.ok).toBe(true);
    expect(JSON.stringify(res)).not.toContain(TOKEN);
    if (res.ok) expect(res.content).toEqual({ auth: 'Bearer [redacted]', 'key-[redacted]': 'in a key' });
  });

  it('are redacted from error messages', async () => {
    const f = failure(await call(connector(), 'deny_auth'));
    expect(f.failure).toBe('tool-error');
    expect(f.message).toContain('HTTP 401');
    expect(f.message).toContain('bad token Bearer [redacted]');
    expect(f.message).not.toContain(TOKEN);
  });

  it('missing from the environment fail the call by name, without any request', async () => {
    for (const env of [{}, { API_TOKEN: '' }]) {
      const f = failure(await call(connector({}, env), 'get_item', { id: '1' }));
      expect(f.failure).toBe('tool-error');
      expect(f.message).toContain('environment variable `API_TOKEN` (for header `authorization`) is not set');
      expect(f.message).toContain('no request was sent');
    }
    expect(api.seen).toHaveLength(0);
  });

  it('with a line break are refused, not sent and not shown', async () => {
    const f = failure(await call(connector({}, { API_TOKEN: `${TOKEN}\r\nX-Evil: 1` }), 'get_item', { id: '1' }));
    expect(f.message).toContain('not a valid HTTP header value');
    expect(f.message).not.toContain(TOKEN);
    expect(api.seen).toHaveLength(0);
  });

  it('are read at call time (a rotated secret is used at once)', async () => {
    const env: Record<string, string | undefined> = { API_TOKEN: 'first-token' };
    const c = connector({}, env);
    await call(c, 'get_item', { id: '1' });
    env.API_TOKEN = 'second-token';
    await call(c, 'get_item', { id: '1' });
    expect(api.seen.map((s) => s.headers.authorization)).toEqual(['Bearer first-token', 'Bearer second-token']);
  });
});

describe('responses and faults', () => {
  it('times out', async () => {
    const f = failure(await call(connector(), 'slow', {}, 200));
    expect(f.failure).toBe('timeout');
    expect(f.message).toContain('timed out after 200 ms');
  });

  it('drops a streamed response larger than maxResponseBytes', async () => {
    const f = failure(await call(connector({ maxResponseBytes: 1024 }), 'big'));
    expect(f.failure).toBe('protocol');
    expect(f.message).toContain('more than 1024 bytes');
  });

  it('drops a response whose declared length is too large', async () => {
    const f = failure(await call(connector({ maxResponseBytes: 1024 }), 'big_declared'));
    expect(f.message).toContain('`maxResponseBytes`');
  });

  it('reports a 4xx as a tool error with the status and a short excerpt', async () => {
    const f = failure(await call(connector(), 'missing'));
    expect(f.failure).toBe('tool-error');
    expect(f.message).toBe('connector `api`: GET /missing failed with HTTP 404: {"error":"no such thing","detail":"item\\n does not exist"}');
  });

  it('reports a 5xx as a fault whose effect is unknown', async () => {
    const f = failure(await call(connector(), 'broken'));
    expect(f.failure).toBe('crash');
    expect(f.message).toContain('HTTP 503: upstream down');
  });

  it('returns a non-JSON response as text', async () => {
    expect(await call(connector(), 'text')).toEqual({ ok: true, content: 'plain words', text: 'plain words' });
  });

  it('returns an empty response as null', async () => {
    expect(await call(connector(), 'empty')).toEqual({ ok: true, content: null, text: '' });
  });

  it('reports a JSON body nested deeper than Airlock accepts as a protocol fault naming its depth (before redacting it)', async () => {
    const f = failure(await call(connector(), 'deep'));
    expect(f.failure).toBe('protocol');
    expect(f.message).toContain('connector `api`: GET /deep answered with a result nested 10001 levels deep, more than the 64 Airlock accepts');
  });

  it('returns lone surrogates in a JSON body escaped as text', async () => {
    expect(await call(connector(), 'surrogate')).toMatchObject({ ok: true, content: { note: 'lone \\ud800 here', 'k\\udfff': 1 } });
  });

  it('reports a JSON content type with an invalid body as a protocol fault', async () => {
    const f = failure(await call(connector(), 'bad_json'));
    expect(f.failure).toBe('protocol');
    expect(f.message).toContain('not valid JSON');
  });

  it('reports a refused connection as a crash', async () => {
    const closed = await startServer(() => undefined);
    await stop(closed);
    const c = new HttpConnector('api', config({ baseUrl: closed.origin }), contracts(), { env: { API_TOKEN: TOKEN } });
    const f = failure(await call(c, 'get_item', { id: '1' }));
    expect(f.failure).toBe('crash');
    expect(f.message).toContain('ECONNREFUSED');
  });

  it('cancels calls in flight when closed', async () => {
    const c = connector();
    const pending = call(c, 'slow', {}, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    await c.close();
    const f = failure(await pending);
    expect(f.message).toContain('connector was closed');
  });
});

describe('ConnectorPool', () => {
  it('starts an http connector with the contracts it serves', async () => {
    const tools = contracts().map((t) => ({ ...t, connector: 'api' }) as unknown as ToolContract);
    const other = { name: 'crm.get_item', connector: 'crm', description: 'x', inputSchema: { type: 'object' } } as unknown as ToolContract;
    const pool = new ConnectorPool({ api: config() }, '/tmp', [...tools, other]);
    process.env.API_TOKEN = TOKEN;
    try {
      const c = pool.get('api');
      // Handed out with its results normalised, like every connector of the pool.
      expect(c).toBeInstanceOf(NormalisedConnector);
      expect((c as NormalisedConnector).inner).toBeInstanceOf(HttpConnector);
      expect(pool.get('api')).toBe(c);
      const res = await c.call('get_item', { id: 'z' }, { timeoutMs: 5_000 });
      expect(res.ok).toBe(true);
      expect(api.seen[0]!.url).toBe('/api/v1/items/z');
    } finally {
      delete process.env.API_TOKEN;
      await pool.closeAll();
    }
  });
});
