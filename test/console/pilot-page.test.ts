// The console's pilot page: a signed-in person sees a workflow's weekly review (the body `airlock report`
// writes), moves between weeks, and gets a clear refusal for a week that is not one or an unknown workflow.
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Airlock } from '../../src/airlock.js';
import type { copyAcme } from '../helpers/workspace.js';
import { consoleOnAcme, signIn } from './helpers.js';

describe('the console’s pilot page', () => {
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let app: Hono;

  beforeAll(async () => {
    let run;
    ({ ws, airlock, app, run } = await consoleOnAcme({ now: () => new Date('2026-12-02T09:00:00Z') }));
    expect(run.status).toBe('awaiting-approval');
  });
  afterAll(async () => {
    await airlock?.close();
    ws?.cleanup();
  });

  it('shows the week’s review with links to the weeks around it', async () => {
    const dana = await signIn(app, 'dana', 'dana-demo');
    const list = await (await dana.get('/console/pilot')).text();
    expect(list).toContain('href="/console/pilot/refund-desk"');
    const res = await dana.get('/console/pilot/refund-desk?week=2026-W49');
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<h1>Pilot: refund-desk, week 2026-W49</h1>');
    expect(page).toContain('Recommendation: continue');
    expect(page).toMatch(/<th scope="row">runs started<\/th><td class="num">1<\/td>/);
    expect(page).toContain('href="/console/pilot/refund-desk?week=2026-W48"');
    expect(page).toContain('href="/console/pilot/refund-desk?week=2026-W50"');
    // The default week holds today (the clock's).
    expect(await (await dana.get('/console/pilot/refund-desk')).text()).toContain('refund-desk, week 2026-W49');
  });

  it('refuses a malformed week and an unknown workflow, and asks a stranger to sign in', async () => {
    const sam = await signIn(app, 'sam', 'sam-demo');
    const week = await sam.get('/console/pilot/refund-desk?week=W49');
    expect([week.status, await week.text()]).toEqual([400, expect.stringContaining('is not an ISO week')]);
    const wf = await sam.get('/console/pilot/payroll');
    expect([wf.status, await wf.text()]).toEqual([404, expect.stringContaining('no workflow `payroll` is declared')]);
    expect((await app.request('/console/pilot/refund-desk')).status).toBe(303);
  });
});
