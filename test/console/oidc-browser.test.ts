// OIDC sign-in in real headless Chromium (playwright-core, Debian's chromium): the console on
// `localhost`, the fake provider on `127.0.0.1` (two sites, as in production), so the provider's
// redirect back is cross-site. The SameSite=Lax state cookie must come back with it, and the
// SameSite=Strict session cookie must reach the page the sign-in continues to.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { startHttpServer, type RunningServer } from '../../src/server/serve.js';
import { copyAcme } from '../helpers/workspace.js';
import { CLIENT_ID, CLIENT_SECRET, FakeProvider } from './oidc-provider.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** A free loopback port (the callback URL must be known before the workspace is opened). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('console OIDC sign-in in Chromium', () => {
  const provider = new FakeProvider();
  let ws: ReturnType<typeof copyAcme>;
  let airlock: Airlock;
  let server: RunningServer;
  let browser: Browser;
  let origin = '';

  beforeAll(async () => {
    await provider.start();
    const port = await freePort();
    origin = `http://localhost:${port}`;
    ws = copyAcme();
    const file = path.join(ws.dir, 'airlock.yaml');
    const oidc = { issuer: provider.issuer, clientId: CLIENT_ID, clientSecretEnv: 'AIRLOCK_TEST_OIDC_SECRET', redirectUrl: `${origin}/console/oidc/callback` };
    writeFileSync(file, readFileSync(file, 'utf8').replace('console:\n  users:', `console:\n  oidc: ${JSON.stringify(oidc)}\n  users:`));
    process.env['AIRLOCK_TEST_OIDC_SECRET'] = CLIENT_SECRET;
    airlock = await openAirlock(ws.dir);
    server = await startHttpServer(airlock, { host: '127.0.0.1', port });
    // Never skipped: without Debian's Chromium this fails saying how to get it (CI installs it in .ci/run).
    if (!existsSync(CHROMIUM)) throw new Error(`the browser tests need Debian's Chromium at ${CHROMIUM}: apt-get install -y chromium`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  afterAll(async () => {
    delete process.env['AIRLOCK_TEST_OIDC_SECRET'];
    await browser?.close();
    await server?.close();
    await airlock?.close();
    ws?.cleanup();
    await provider.close();
  });

  it('signs in through the provider and lands signed in on the page asked for', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${origin}/console/runs`);
    expect(page.url()).toBe(`${origin}/console/sign-in?next=%2Fconsole%2Fruns`);
    const button = page.getByText(`Sign in with ${new URL(provider.issuer).host}`);
    await Promise.all([page.waitForURL(`${origin}/console/runs`), button.click()]);
    expect(await page.textContent('#who')).toBe('user:priya');
    expect(await page.textContent('h1')).toBe('Runs');
  });
});
