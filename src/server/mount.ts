// Mounts the JSON API (/v1) and its OpenAPI document beside the MCP endpoint.
import type { Hono } from 'hono';
import type { Airlock } from '../airlock.js';
import { createApiRoutes } from './api.js';
import type { MountRoutes } from './http.js';
import { openApiDocument } from './openapi.js';

/** The routes `airlock serve` adds beside `/mcp`: `/v1` (one rate budget with `/mcp`) and `/openapi.json`. */
export function mountApi(airlock: Airlock): MountRoutes {
  return (app: Hono, shared) => {
    const doc = openApiDocument();
    app.get('/openapi.json', (c) => c.json(doc));
    app.route('/v1', createApiRoutes(airlock, shared.authenticate, { rateLimiter: shared.rateLimiter }));
  };
}
