// Cross-reference checks for http connectors: declared requests, placeholders, placed arguments, bare base URLs.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDotSegment, parsePathTemplate } from '../../src/config/checks.js';
import { loadWorkspace } from '../../src/config/load.js';
import { copyExample, expectError, loadErrors, positionOf, type TempWorkspace } from './helpers.js';

const CONNECTOR = `connectors:
  billing:
    kind: http
    baseUrl: "https://billing.example/api/v2"
    headers:
      Authorization: { env: AIRLOCK_TEST_BILLING_TOKEN_UNSET, prefix: "Bearer " }
      X-Client: airlock
`;

const TOOLS = `
  - name: billing.get_invoice
    connector: billing
    description: Read an invoice.
    effect: read
    risk: low
    inputSchema:
      type: object
      properties:
        invoice_id: { type: string, minLength: 1 }
        expand: { type: string }
      required: [invoice_id]
      additionalProperties: false
    http:
      method: GET
      path: /invoices/{invoice_id}
      query: [expand]

  - name: billing.add_credit
    connector: billing
    upstream: credit_create
    description: Credit an invoice.
    effect: financial
    risk: medium
    irreversible: true
    inputSchema:
      type: object
      properties:
        invoice_id: { type: string, minLength: 1 }
        amount_cents: { type: integer, minimum: 1 }
        note: { type: string }
      required: [invoice_id, amount_cents]
      additionalProperties: false
    http:
      method: POST
      path: /invoices/{invoice_id}/credits
      body: [amount_cents, note]
`;

let ws: TempWorkspace;
/** Index of the first added tool in `tools`. */
let first: number;
let file: string;

beforeEach(async () => {
  ws = await copyExample();
  file = path.join(ws.dir, 'airlock.yaml');
  const text = await ws.read('airlock.yaml');
  first = (text.match(/^ {2}- name: /gm) ?? []).length;
  await ws.edit('airlock.yaml', 'connectors:\n', CONNECTOR);
  await ws.edit('airlock.yaml', '\npolicies: [', `${TOOLS}\npolicies: [`);
});
afterEach(async () => {
  await ws.remove();
});

const text = (): Promise<string> => ws.read('airlock.yaml');

describe('http connectors in a workspace', () => {
  it('load, without the header secret being set', async () => {
    expect(process.env.AIRLOCK_TEST_BILLING_TOKEN_UNSET).toBeUndefined();
    const loaded = await loadWorkspace(ws.dir);
    expect(loaded.file.connectors.billing).toMatchObject({ kind: 'http', baseUrl: 'https://billing.example/api/v2', timeoutMs: 10_000 });
    expect(loaded.tools.get('billing.get_invoice')?.http).toEqual({ method: 'GET', path: '/invoices/{invoice_id}', query: ['expand'], body: [] });
  });

  it('refuse a tool of an http connector that declares no request', async () => {
    await ws.edit('airlock.yaml', '    http:\n      method: GET\n      path: /invoices/{invoice_id}\n      query: [expand]\n', '');
    const { errors } = await loadErrors(ws.dir);
    const pos = positionOf(await text(), 'billing', 'connector: billing\n    description: Read an invoice');
    expectError(errors, { file, ...pos, path: `tools[${first}].connector`, message: 'tool `billing.get_invoice` uses http connector `billing` but declares no `http` request', hint: 'add `http:' });
  });

  it('refuse a request on a tool whose connector is not http', async () => {
    await ws.edit('airlock.yaml', '  - name: billing.get_invoice\n    connector: billing', '  - name: billing.get_invoice\n    connector: crm');
    const { errors } = await loadErrors(ws.dir);
    const pos = positionOf(await text(), 'http:', 'name: billing.get_invoice');
    expectError(errors, { file, ...pos, path: `tools[${first}].http`, message: 'tool `billing.get_invoice` declares an `http` request but its connector `crm` is of kind `mcp-stdio`' });
  });

  it('refuse a placeholder that names no argument, and a malformed template', async () => {
    await ws.edit('airlock.yaml', 'path: /invoices/{invoice_id}\n      query', 'path: /invoices/{invoice}\n      query');
    await ws.edit('airlock.yaml', 'path: /invoices/{invoice_id}/credits', 'path: /invoices/{invoice_id/credits');
    const { errors } = await loadErrors(ws.dir);
    const t = await text();
    expectError(errors, { file, ...positionOf(t, '/invoices/{invoice}'), path: `tools[${first}].http.path`, message: "path placeholder `{invoice}` is not a property of the tool's `inputSchema`", hint: '`{invoice_id}`' });
    expectError(errors, { file, ...positionOf(t, '/invoices/{invoice_id/credits'), path: `tools[${first + 1}].http.path`, message: 'path template `/invoices/{invoice_id/credits` has an unmatched `{` or `}`' });
  });

  it('refuse query and body names that are not arguments', async () => {
    await ws.edit('airlock.yaml', 'query: [expand]', 'query: [expand, admin]');
    await ws.edit('airlock.yaml', 'body: [amount_cents, note]', 'body: [amount_cents, constructor]');
    const { errors } = await loadErrors(ws.dir);
    const t = await text();
    expectError(errors, { file, ...positionOf(t, 'admin]'), path: `tools[${first}].http.query[1]`, message: "query parameter `admin` is not a property of the tool's `inputSchema`" });
    expectError(errors, { file, ...positionOf(t, 'constructor]'), path: `tools[${first + 1}].http.body[1]`, message: "body field `constructor` is not a property of the tool's `inputSchema`" });
  });

  it('refuse a required argument that the request does not send', async () => {
    await ws.edit('airlock.yaml', 'body: [amount_cents, note]', 'body: [note]');
    const { errors } = await loadErrors(ws.dir);
    const pos = positionOf(await text(), 'http:', 'name: billing.add_credit');
    expectError(errors, { file, ...pos, path: `tools[${first + 1}].http`, message: 'required argument `amount_cents` of tool `billing.add_credit` is not sent in its request', hint: '`http.body`' });
  });

  it('refuse a body on a GET and a dot segment in the path', async () => {
    await ws.edit('airlock.yaml', 'query: [expand]', 'query: [expand]\n      body: [invoice_id]');
    await ws.edit('airlock.yaml', 'path: /invoices/{invoice_id}/credits', 'path: /invoices/../admin/{invoice_id}/credits');
    const { errors } = await loadErrors(ws.dir);
    const t = await text();
    expectError(errors, { file, ...positionOf(t, 'body:', 'name: billing.get_invoice'), path: `tools[${first}].http.body`, message: 'a `GET` request cannot have a body' });
    expectError(errors, { file, ...positionOf(t, '/invoices/../admin'), path: `tools[${first + 1}].http.path`, message: 'has a `.` or `..` segment' });
  });

  it('refuse one upstream name with two different requests', async () => {
    await ws.edit('airlock.yaml', '    upstream: credit_create\n', '    upstream: get_invoice\n');
    const { errors } = await loadErrors(ws.dir);
    const pos = positionOf(await text(), 'http:', 'name: billing.add_credit');
    expectError(errors, { file, ...pos, path: `tools[${first + 1}].http`, message: 'tool `billing.add_credit` and `billing.get_invoice` both call upstream `get_invoice` of connector `billing` with different requests' });
  });

  it('refuse credentials, a query or a fragment in baseUrl', async () => {
    await ws.edit('airlock.yaml', 'https://billing.example/api/v2', 'https://user:hunter2@billing.example/api/v2?key=1');
    const { errors } = await loadErrors(ws.dir);
    const pos = positionOf(await text(), '"https://user');
    const where = { file, ...pos, path: 'connectors.billing.baseUrl' };
    expectError(errors, { ...where, message: 'connector `billing` has credentials in its `baseUrl`', hint: '{ env: NAME' });
    expectError(errors, { ...where, message: 'connector `billing` has a query or fragment in its `baseUrl`' });
    expect(errors.map((e) => e.message).join('\n')).not.toContain('hunter2');
  });
});

describe('parsePathTemplate', () => {
  it('splits literals and placeholders', () => {
    expect(parsePathTemplate('/a/{x}/b{y}.json')).toEqual([{ literal: '/a/' }, { arg: 'x' }, { literal: '/b' }, { arg: 'y' }, { literal: '.json' }]);
    expect(parsePathTemplate('/plain')).toEqual([{ literal: '/plain' }]);
  });

  it.each(['/a/{', '/a/}', '/a/{}', '/a/{{x}}', '/a/{x}}'])('refuses %s', (t) => {
    expect(parsePathTemplate(t)).toHaveProperty('error');
  });

  it('recognises dot segments, also percent-encoded', () => {
    for (const s of ['.', '..', '%2e', '%2E%2e', '.%2E']) expect(isDotSegment(s)).toBe(true);
    for (const s of ['...', 'a..', '%252e', '']) expect(isDotSegment(s)).toBe(false);
  });
});
