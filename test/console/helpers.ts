// Test helper: a signed-in browser stand-in for the console in process (app.request), with its cookie and CSRF token.
import { Hono } from 'hono';
import { openAirlock, type Airlock } from '../../src/airlock.js';
import { createConsole } from '../../src/console/app.js';
import type { RunRecord } from '../../src/store/store.js';
import { copyAcme } from '../helpers/workspace.js';

export const ORIGIN = 'http://localhost';

/** A person signed in to the console: requests carry their session cookie and same-origin headers. */
export interface Browser {
  readonly cookie: string;
  readonly csrf: string;
  get(path: string): Promise<Response>;
  post(path: string, fields: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
}

/** Posts a urlencoded form the way a browser does from the console's own page. */
export function form(app: Hono, path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN, 'sec-fetch-site': 'same-origin', ...headers },
      body: new URLSearchParams(fields).toString(),
    }),
  );
}

/** Signs `user` in and reads the CSRF token from a page; throws when sign-in fails. */
export async function signIn(app: Hono, user: string, password: string): Promise<Browser> {
  const res = await form(app, '/console/sign-in', { user, password, next: '/console/approvals' });
  if (res.status !== 303) throw new Error(`sign-in as ${user} answered ${res.status}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const page = await (await app.request('/console/approvals', { headers: { cookie } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
  return {
    cookie,
    csrf,
    get: (path) => Promise.resolve(app.request(path, { headers: { cookie } })),
    post: (path, fields, headers = {}) => form(app, path, { _csrf: csrf, ...fields }, { cookie, ...headers }),
  };
}

/** The Acme demo copied, opened, its console mounted where `airlock serve` mounts it, and one demo run (T-311) started. */
export async function consoleOnAcme(opts: { now?: () => Date } = {}): Promise<{ ws: ReturnType<typeof copyAcme>; airlock: Airlock; app: Hono; run: RunRecord }> {
  const ws = copyAcme();
  const airlock = await openAirlock(ws.dir, opts.now ? { now: opts.now } : {});
  const app = new Hono().route('/console', createConsole(airlock));
  const run = await airlock.runner.start('refund-desk', { ticket_id: 'T-311' });
  return { ws, airlock, app, run };
}
