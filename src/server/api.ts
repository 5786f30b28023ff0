// The HTTP JSON API door: authenticated routes for external agents (runs, actions, decisions, outcomes)
// and for people (approvals). Every action goes through `airlock.sessions` to the one gateway; the
// principal is what the credential proves, never a body field. Mounted by http.ts under `/v1`.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Airlock } from '../airlock.js';
import { AirlockError } from '../errors.js';
import { wwwAuthenticate, type AuthResult } from '../identity/authenticate.js';
import { mountApprovalRoutes } from './api-approval-routes.js';
import { mountUsageRoutes } from './api-usage-routes.js';
import { apiDoor, type ApiEnv } from './api-door.js';
import { errorBody, notFound } from './api-messages.js';
import { mountRunRoutes } from './api-run-routes.js';
import { SharedRateLimiter, type CallRate } from './limits.js';
import { rec } from '../audit/records.js';

/** Turns an `Authorization` header into a principal (identity/authenticate.ts, or a fake in tests). */
export type Authenticate = (authorizationHeader: string | undefined) => Promise<AuthResult>;

/** Options of the API routes. */
export interface ApiOptions {
  /**
   * Tool calls (`/actions`, `/decisions`) per principal per minute. By default counted in the store
   * (one budget with the other doors and every instance on the store), sized by `server.limits.callsPerMinute`.
   */
  readonly rateLimiter?: CallRate;
}

/** The API's responses are never cached: they carry decisions, results and approvals. */
const NO_STORE = 'no-store';

/**
 * The `/v1` routes of the HTTP API. Every route authenticates first (401/403 with a
 * `WWW-Authenticate: Bearer` challenge); bodies are JSON checked by the strict schemas of
 * api-run-schemas.ts and api-approval-schemas.ts (400 unparseable, 422 invalid); refusals by
 * the door are audited.
 */
export function createApiRoutes(airlock: Airlock, authenticate: Authenticate, opts: ApiOptions = {}): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const limits = airlock.workspace.file.server.limits;
  const maxBytes = limits.maxRequestBytes;
  const rate = opts.rateLimiter ?? new SharedRateLimiter(airlock.store, limits.callsPerMinute);

  // Unknown routes answer JSON, also when mounted (a sub-app's notFound is not used by the parent).
  app.use('*', async (c, next) => {
    await next();
    if (c.res.status === 404 && !(c.res.headers.get('content-type') ?? '').includes('json')) {
      c.res = notFound(c);
    }
  });

  app.use('*', async (c, next) => {
    c.header('Cache-Control', NO_STORE);
    const result = await authenticate(c.req.header('Authorization'));
    if (!result.ok) {
      const challenge =
        result.status === 401 ? (wwwAuthenticate(result) ?? 'Bearer realm="airlock"') : 'Bearer realm="airlock", error="insufficient_scope"';
      c.header('WWW-Authenticate', challenge);
      return c.json(errorBody(result.error, result.hint), result.status);
    }
    c.set('auth', result);
    await next();
    return undefined;
  });

  app.use(
    '*',
    bodyLimit({
      maxSize: maxBytes,
      // Audited as at the MCP door (the caller is authenticated by now). The rest of the body is never
      // read, so the connection cannot carry another request: say so.
      onError: async (c) => {
        const auth = c.get('auth');
        await airlock.audit.append({ runId: null, principal: auth.principal, onBehalfOf: auth.onBehalfOf }, [
          rec('request.refused', { door: 'http-api', why: 'too-large', route: `${c.req.method} ${c.req.path.slice(0, 200)}`, status: 413, reason: `request body larger than ${maxBytes} bytes`, credential: auth.credentialId }),
        ]);
        return c.json(errorBody(`the request body is larger than ${maxBytes} bytes`, 'send less, or raise `server.limits.maxRequestBytes`'), 413, { Connection: 'close' });
      },
    }),
  );

  const door = apiDoor(airlock, rate);
  mountRunRoutes(app, airlock, door);
  mountApprovalRoutes(app, airlock, door);
  mountUsageRoutes(app, airlock, door);

  app.notFound((c) => notFound(c));

  app.onError((err, c) => {
    if (err instanceof AirlockError) {
      if (err.code === 'not-found') return c.json(errorBody(err.message, err.hint), 404);
      if (err.code === 'conflict') return c.json(errorBody(err.message, err.hint ?? 'retry the request'), 409);
      if (err.code === 'store-unknown') {
        // Never "retry": a repeat could do it twice. Logged: the operator sees the database let go mid-commit.
        console.error('airlock http-api:', err);
        return c.json(errorBody('the change may or may not have been applied: the connection to the store was lost while it was committed', 'read it back before repeating it'), 502);
      }
      if (err.retryable || err.code === 'connector' || err.code === 'connector-timeout' || err.code === 'store-locked') {
        c.header('Retry-After', '1');
        return c.json(errorBody('temporarily unavailable', 'retry shortly'), 503);
      }
    }
    // A bug or an infrastructure fault: say nothing about internals to the caller.
    console.error('airlock http-api:', err);
    return c.json(errorBody('internal error', 'the error was logged on the server'), 500);
  });

  return app;
}
