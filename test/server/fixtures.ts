// Test fixtures for the doors: an Acme copy with API keys for the agent and two approvers, and a stdio principal.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Hono } from 'hono';
import type { Airlock } from '../../src/airlock.js';
import { generateApiKey } from '../../src/identity/api-keys.js';
import { createAuthenticator } from '../../src/identity/authenticate.js';
import { createApiRoutes } from '../../src/server/api.js';
import { copyAcme } from '../helpers/workspace.js';

export interface DoorWorkspace extends ReturnType<typeof copyAcme> {
  /** Bearer keys by principal id: refund-bot (agent), dana and priya (approvers), sam. */
  readonly keys: Readonly<Record<'refund-bot' | 'dana' | 'priya' | 'sam', string>>;
}

/** A private Acme workspace whose airlock.yaml declares API keys and `server.stdioPrincipal`. */
export function doorWorkspace(extraYaml = ''): DoorWorkspace {
  const ws = copyAcme();
  const file = path.join(ws.dir, 'airlock.yaml');
  const made = {
    'refund-bot': { ...generateApiKey(), principal: 'agent:refund-bot' },
    dana: { ...generateApiKey(), principal: 'user:dana' },
    priya: { ...generateApiKey(), principal: 'user:priya' },
    sam: { ...generateApiKey(), principal: 'user:sam' },
  };
  const keysYaml = Object.entries(made)
    .map(([id, k]) => `    - { id: ${id}-key, principal: "${k.principal}", sha256: "${k.sha256}" }`)
    .join('\n');
  const text = readFileSync(file, 'utf8').replace(/^ {2}apiKeys:\n/m, `  apiKeys:\n${keysYaml}\n`);
  writeFileSync(file, `${text}\nserver:\n  stdioPrincipal: agent:refund-bot\n${extraYaml}`);
  return {
    ...ws,
    keys: { 'refund-bot': made['refund-bot'].key, dana: made.dana.key, priya: made.priya.key, sam: made.sam.key },
  };
}

/** The JSON API of `airlock` at /v1, mounted the way http.ts mounts it, to call with `app.request`. */
export function apiApp(airlock: Airlock): Hono {
  const authenticator = createAuthenticator(airlock.workspace);
  return new Hono().route('/v1', createApiRoutes(airlock, (h) => authenticator.authenticate(h)));
}
