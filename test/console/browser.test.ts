// The console end to end in real headless Chromium (playwright-core, Debian's chromium) against
// `airlock serve` on loopback: sign in as the finance approver, watch the inbox fill live, read the
// evidence, approve the demo's refund, see the run verified and its timeline, verify the audit trail;
// the person the agent acts for and a support lead are refused with the reason; a form posted from
// another origin changes nothing; a rollback asked from the page waits for a second person, then
// completes. Screenshots of the main pages are saved and checked.
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import { copyAcme } from '../helpers/workspace.js';

const CHROMIUM = '/usr/bin/chromium';

// The page's DOM as the functions evaluated in Chromium use it (the repo compiles without lib.dom).
interface El {
  value: string;
  name: string;
  method: string;
  action: string;
  appendChild(e: El): void;
  submit(): void;
}
declare const document: { createElement(tag: string): El; querySelector(selector: string): El | null; getElementById(id: string): El | null; body: El };
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe('the console in Chromium', () => {
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let server: RunningServer;
  let browser: Browser;
  let evil: Server;
  let evilOrigin: string;
  let shots: string;

  beforeAll(async () => {
    shots = mkdtempSync(path.join(os.tmpdir(), 'airlock-console-shots-'));
    ws = copyAcme();
    airlock = await openAirlock(ws.dir);
    server = await startHttpServer(airlock, { host: '127.0.0.1', port: 0 });
    // Never skipped: without Debian's Chromium this fails saying how to get it (CI installs it in .ci/run).
    if (!existsSync(CHROMIUM)) throw new Error(`the browser tests need Debian's Chromium at ${CHROMIUM}: apt-get install -y chromium`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    // Another site on loopback whose page posts a form to the console (the CSRF attempt).
    evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<form id="f" method="post" action="${server.url}/console/sign-out"><input name="_csrf" value="guess"></form>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilOrigin = `http://localhost:${(evil.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (evil ? evil.close(() => resolve()) : resolve()));
    await server?.close();
    await airlock?.close();
    ws?.cleanup();
  });

  async function signIn(user: string): Promise<Page> {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    expect(page.url()).toContain('/console/sign-in');
    await page.fill('input[name=user]', user);
    await page.fill('input[name=password]', `${user}-demo`);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    if (!page.url().endsWith('/console/approvals')) throw new Error(`sign-in as ${user}: ${page.url()} ${await page.textContent('main')}`);
    expect(await page.textContent('#who')).toBe(`user:${user}`);
    return page;
  }

  async function shot(page: Page, name: string): Promise<void> {
    const file = path.join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(5000);
  }

  /** Submits a hand-made form from the person's own console page (same origin, their own session and token). */
  async function postAs(page: Page, action: string, fields: Record<string, string>): Promise<void> {
    await Promise.all([
      page.waitForNavigation(),
      page.evaluate(
        ({ action, fields }) => {
          const f = document.createElement('form');
          f.method = 'post';
          f.action = action;
          const token = document.querySelector('input[name=_csrf]')?.value ?? '';
          for (const [k, v] of Object.entries({ _csrf: token, ...fields })) {
            const i = document.createElement('input');
            i.name = k;
            i.value = v;
            f.appendChild(i);
          }
          document.body.appendChild(f);
          f.submit();
        },
        { action, fields },
      ),
    ]);
  }

  it('does the demo from the browser', async () => {
    const signInPage = await (await browser.newContext()).newPage();
    await signInPage.goto(`${server.url}/console`);
    await shot(signInPage, 'sign-in');
    expect(await signInPage.textContent('h1')).toBe('Sign in');

    // dana's inbox is open and empty; the agent's run (for kai) pauses on the refund, and the row appears live.
    const dana = await signIn('dana');
    await dana.waitForSelector('#inbox[data-connected=yes]');
    expect(await dana.textContent('#inbox')).toContain('Nothing here for you');
    const run = await airlock.runner.start('refund-desk', { ticket_id: 'T-311' }, { onBehalfOf: 'user:kai' });
    expect(run.status).toBe('awaiting-approval');
    const [approval] = await airlock.store.listApprovals({ status: 'pending', runId: run.id });
    if (!approval) throw new Error('no pending approval');
    await dana.waitForSelector(`#inbox a[href$="/approvals/${approval.id}"]`);
    await shot(dana, 'inbox');

    // The evidence bundle.
    await dana.click(`#inbox a[href$="/approvals/${approval.id}"]`);
    await dana.waitForSelector('#evidence');
    const evidence = (await dana.textContent('#evidence')) ?? '';
    for (const part of ['What the agent read', 'tickets.get_ticket', '⚠ untrusted', 'reasoning', '"amount_cents": 4000', 'Against ground truth', 'Second path']) expect(evidence).toContain(part);
    await shot(dana, 'approval');

    // kai, for whom the agent acts, and sam, a support lead, are refused with the reason; nothing is decided.
    const kai = await signIn('kai');
    expect(await kai.textContent('#inbox')).not.toContain(approval.id);
    await postAs(kai, `/console/approvals/${approval.id}`, { action: 'approve', reason: 'my own refund' });
    expect(await kai.textContent('.notice.error')).toContain('the agent acts for `user:kai`, who therefore cannot approve it');
    const sam = await signIn('sam');
    await postAs(sam, `/console/approvals/${approval.id}`, { action: 'approve', reason: 'fine' });
    expect(await sam.textContent('.notice.error')).toContain('refused: no policy lets `user:sam` approve `payments.refund`');
    await shot(sam, 'refused');
    expect((await airlock.store.getApproval(approval.id))?.decisions).toHaveLength(0);

    // A form on another origin posting to the console with dana's cookie in the browser changes nothing.
    const attacker = await dana.context().newPage();
    await attacker.goto(evilOrigin);
    const [answer] = await Promise.all([attacker.waitForNavigation(), attacker.evaluate(() => document.getElementById('f')?.submit())]);
    void answer;
    expect(await attacker.textContent('body')).not.toContain('Approvals');
    await dana.goto(`${server.url}/console/approvals/${approval.id}`);
    expect(await dana.textContent('#who')).toBe('user:dana'); // still signed in: the cross-origin sign-out was refused

    // dana approves; the run continues and ends verified.
    await dana.fill('#decide textarea[name=reason]', 'matches the ticket and the order');
    await Promise.all([dana.waitForNavigation(), dana.click('#decide button[value=approve]')]);
    expect(await dana.textContent('.notice.ok')).toContain('the run continued and is now verified');
    const vote = (await airlock.store.getApproval(approval.id))?.decisions[0];
    expect(vote).toMatchObject({ approver: 'user:dana', authMethod: 'password', issuer: 'airlock-console' });

    // The run's timeline.
    await dana.click(`a[href$="/runs/${run.id}"]`);
    await dana.waitForSelector('#timeline');
    expect(await dana.textContent('#run-status')).toContain('verified');
    const timeline = (await dana.textContent('#timeline')) ?? '';
    for (const part of ['run started', 'read tickets.get_ticket', 'decision approval (single) for payments.refund', 'vote approve by user:dana', 'executed payments.refund', 'run finished: verified']) expect(timeline).toContain(part);
    await shot(dana, 'run');

    // The audit trail verifies.
    await dana.goto(`${server.url}/console/audit`);
    await shot(dana, 'audit');
    await Promise.all([dana.waitForNavigation(), dana.click('text=Verify the whole chain')]);
    expect(await dana.textContent('.notice.ok')).toMatch(/ok: \d+ audit records verified; head #\d+ [0-9a-f]{64}/);

    // Rollback from the run page: reversing the refund needs a second person (priya), then dana continues it.
    await dana.goto(`${server.url}/console/runs/${run.id}`);
    await dana.check('input[name=confirm]');
    await Promise.all([dana.waitForNavigation(), dana.click('text=Roll back')]);
    const waiting = (await dana.textContent('.notice')) ?? '';
    expect(waiting).toContain('rollback awaiting-approval');
    const compensation = /approval (apr_[0-9a-f]+)/.exec(waiting)?.[1];
    if (!compensation) throw new Error(`no compensation approval in: ${waiting}`);
    const priya = await signIn('priya');
    await priya.goto(`${server.url}/console/approvals/${compensation}`);
    await priya.fill('#decide textarea[name=reason]', 'the customer returned the item');
    await Promise.all([priya.waitForNavigation(), priya.click('#decide button[value=approve]')]);
    expect(await priya.textContent('.notice.ok')).toContain('your approval is recorded');
    await dana.check('input[name=confirm]');
    await Promise.all([dana.waitForNavigation(), dana.click('text=Roll back')]);
    expect(await dana.textContent('.notice.ok')).toContain('rollback completed');
    await shot(dana, 'rollback');
  });
});
