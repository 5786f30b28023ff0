// Mounts the JSON API (/v1), its OpenAPI document and the web console (/console) beside the MCP endpoint.
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { createConsole } from '../console/app.js';
import type { Airlock } from '../airlock.js';
import { createApiRoutes } from './api.js';
import type { MountRoutes } from './http.js';
import { openApiDocument } from './openapi.js';
import { mountSlackActions } from './slack-actions.js';

/** The routes `airlock serve` adds beside `/mcp`: `/v1` (one rate budget with `/mcp`), `/openapi.json`, and the console at `/console` (`/` leads there). */
export function mountApi(airlock: Airlock, log?: Logger): MountRoutes {
  return (app: Hono, shared) => {
    const doc = openApiDocument();
    app.get('/openapi.json', (c) => c.json(doc));
    app.route('/v1', createApiRoutes(airlock, shared.authenticate, { rateLimiter: shared.rateLimiter }));
    // The web console for people (src/console/): its own sign-in, sessions and CSRF checks.
    app.route('/console', createConsole(airlock, { base: '/console', ...(log ? { warn: (fields, message) => log.warn(fields, message) } : {}) }));
    app.get('/', (c) => c.redirect('/console', 303));
    // Approval clicks from Slack (when the workspace declares it): signed by Slack, not by Airlock's credentials.
    mountSlackActions(app, airlock);
  };
}
