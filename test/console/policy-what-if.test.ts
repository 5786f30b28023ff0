// The console's what-if form (policy page) in process: the same `whatIf` as the CLI, behind the
// console's sign-in and CSRF check; a draft that does not compile is shown with its line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { createConsole } from '../../src/console/app.js';
import { copyAcme } from '../helpers/workspace.js';
import { form, signIn, type Browser } from './helpers.js';

const FREEZE = '\n@id("no-refunds")\n@reason("refunds are frozen")\nforbid (principal, action == Airlock::Action::"call", resource == Airlock::Tool::"payments.refund");\n';

describe('the console policy page: what if', () => {
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let app: Hono;
  let dana: Browser;
  let current: string;

  beforeAll(async () => {
    ws = copyAcme();
    airlock = await openAirlock(ws.dir);
    app = new Hono().route('/console', createConsole(airlock));
    const run = await airlock.runner.start('refund-desk', { ticket_id: 'T-311' });
    expect(run.status).toBe('awaiting-approval');
    dana = await signIn(app, 'dana', 'dana-demo');
    const page = await (await dana.get('/console/policy')).text();
    // The form starts from the current policy set.
    current = /<textarea name="draft"[^>]*>([\s\S]*?)<\/textarea>/.exec(page)?.[1] ?? '';
    expect(current).toContain('refund-needs-approval');
  });
  afterAll(async () => {
    await airlock?.close();
    ws?.cleanup();
  });

  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

  it('shows the refund as newly denied under a draft that forbids refunds', async () => {
    const res = await dana.post('/console/policy/what-if', { draft: unescape(current) + FREEZE, last: '50' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/id="what-if-summary">\s*\d+ same, 1 newly denied, 0 newly allowed, 0 obligation changed, 0 not replayable/);
    expect(html).toContain('payments.refund');
    expect(html).toContain('approval (single) → deny: newly-denied');
    expect(html).toContain('no-refunds');
  });

  it('shows every request the same under the current set', async () => {
    const html = await (await dana.post('/console/policy/what-if', { draft: unescape(current), last: '500' })).text();
    expect(html).toMatch(/id="what-if-summary">\s*\d+ same, 0 newly denied, 0 newly allowed, 0 obligation changed, 0 not replayable/);
    expect(html).not.toContain('newly-denied');
  });

  it('names the line of a syntax error, and refuses N out of bounds', async () => {
    const bad = await dana.post('/console/policy/what-if', { draft: 'permit (principal, action, resource)\nwhen { context.workflow == };', last: '10' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/draft\.cedar:2:\d+: syntax error/);
    const many = await dana.post('/console/policy/what-if', { draft: unescape(current), last: '10001' });
    expect(many.status).toBe(400);
    expect(await many.text()).toContain('from 1 to 10000');
  });

  it('bounds the draft: over 256 KB is refused', async () => {
    const res = await dana.post('/console/policy/what-if', { draft: `// ${'x'.repeat(256 * 1024)}`, last: '10' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('at most 262144');
    // Past the form limit, the body is not even read.
    expect((await dana.post('/console/policy/what-if', { draft: 'x'.repeat(1100 * 1024) })).status).toBe(413);
  });

  it('needs the CSRF token and a signed-in person', async () => {
    const noToken = await form(app, '/console/policy/what-if', { draft: FREEZE, last: '10' }, { cookie: dana.cookie });
    expect(noToken.status).toBe(403);
    const anonymous = await form(app, '/console/policy/what-if', { draft: FREEZE, last: '10' });
    expect(anonymous.status).toBe(401);
  });
});
