// The OpenAPI 3.1 document of the HTTP JSON API, generated from the same zod schemas the routes validate with.
import { z } from 'zod';
import { API_ROUTES, API_SCHEMAS, type ApiSchemaName, type ResponseDoc, type RouteDoc } from './api-route-table.js';

/** Where the generated document is shipped, relative to the package root (scripts/gen-openapi.js writes it). */
export const OPENAPI_FILE = 'schema/openapi.json';

/** Request schemas describe what a client may send (`input`); responses what Airlock sends (`output`). */
export function schemaIo(name: ApiSchemaName): 'input' | 'output' {
  return name.endsWith('Request') ? 'input' : 'output';
}

/** The JSON Schema (2020-12, the dialect of OpenAPI 3.1) of one named API schema, without `$schema`. */
export function apiJsonSchema(name: ApiSchemaName): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(API_SCHEMAS[name], { io: schemaIo(name), unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const ref = (name: ApiSchemaName): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });

const json = (names: readonly ApiSchemaName[]): Record<string, unknown> => {
  const [only] = names;
  return { 'application/json': { schema: names.length === 1 && only ? ref(only) : { oneOf: names.map(ref) } } };
};

const PATH_PARAM_DESCRIPTIONS: Readonly<Record<string, string>> = {
  runId: 'A run id (`run_...`).',
  approvalId: 'An approval id (`apr_...`).',
};

/** The OpenAPI 3.1 document of the `/v1` API: every route, its bodies and every status it answers with. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_ROUTES) {
    (paths[route.path] ??= {})[route.method] = operation(route);
  }
  const schemas: Record<string, unknown> = {};
  for (const name of Object.keys(API_SCHEMAS) as ApiSchemaName[]) schemas[name] = apiJsonSchema(name);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Airlock HTTP API',
      version: '1',
      description:
        'The production boundary for AI agents, over HTTP. Agents open runs and propose actions; every action is decided by ' +
        'policy, may wait for a person to approve it, is executed by Airlock (or, for decision-only callers, authorized once) ' +
        'and audited. Who acts is what the bearer credential proves (an Airlock API key or a JWT), never a body field: ' +
        'request bodies are strict and refuse unknown fields. Errors are JSON `{ error, hint }`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/v1', description: 'the API, as `airlock serve` mounts it' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An Airlock API key (`alk_...`, from `airlock keys create`) or a JWT from the identity provider configured under `identity.jwt`.',
        },
      },
      schemas,
      responses: {
        Unauthorized: {
          description: 'no credential, or one that is malformed, unknown, expired or invalid',
          headers: { 'WWW-Authenticate': { description: 'a `Bearer` challenge (RFC 6750)', schema: { type: 'string' } } },
          content: json(['ErrorResponse']),
        },
        BadRequest: { description: 'the body is not JSON; `where` says where it broke', content: json(['ErrorResponse']) },
        PayloadTooLarge: { description: 'the body is larger than `server.limits.maxRequestBytes`', content: json(['ErrorResponse']) },
        InvalidBody: { description: 'the body does not fit the schema; `issues` lists each problem with its path', content: json(['ErrorResponse']) },
        Forbidden: { description: 'the credential is valid but its principal may not do this', content: json(['ErrorResponse']) },
        ServerError: { description: 'an internal error (logged on the server); 503 when a dependency is briefly unavailable (retry); 502 when the connection to the store was lost while the change was committed (it may or may not have been applied: read it back before repeating it)', content: json(['ErrorResponse']) },
      },
    },
  };
}

function operation(route: RouteDoc): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  for (const m of route.path.matchAll(/\{([A-Za-z]+)\}/g)) {
    const name = m[1] ?? '';
    parameters.push({
      name,
      in: 'path',
      required: true,
      description: PATH_PARAM_DESCRIPTIONS[name] ?? name,
      schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
    });
  }
  if (route.query) {
    const q = z.toJSONSchema(route.query, { io: 'input' }) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
    for (const [name, schema] of Object.entries(q.properties ?? {})) {
      const { description, ...rest } = schema;
      parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest });
    }
  }
  const responses: Record<string, unknown> = {};
  for (const [status, doc] of Object.entries(route.responses) as [string, ResponseDoc][]) {
    responses[status] = { description: doc.description, content: json(doc.schemas) };
  }
  if (route.body) {
    responses['400'] ??= { $ref: '#/components/responses/BadRequest' };
    responses['413'] ??= { $ref: '#/components/responses/PayloadTooLarge' };
    responses['422'] ??= { $ref: '#/components/responses/InvalidBody' };
  }
  responses['401'] = { $ref: '#/components/responses/Unauthorized' };
  responses['403'] ??= { $ref: '#/components/responses/Forbidden' };
  responses['5XX'] = { $ref: '#/components/responses/ServerError' };
  return {
    operationId: route.operationId,
    summary: route.summary,
    description: `${route.description ? `${route.description} ` : ''}Callers: ${route.callers}.`,
    tags: [route.path.split('/')[1] ?? 'api'],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? { requestBody: { required: route.bodyRequired ?? true, content: json([route.body]) } }
      : {}),
    responses: sortKeys(responses),
  };
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
