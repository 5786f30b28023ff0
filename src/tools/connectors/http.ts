// Connector to an HTTP API with pinned egress: every request goes to the workspace's declared origin, built from declared templates.
import { isDotSegment, parsePathTemplate, type PathTemplatePart } from '../../config/checks.js';
import { resolveHeaders } from './headers.js';
import { normaliseResult } from './normalise.js';
import type { ConnectorConfig, HttpToolSpec, ToolContract } from '../../config/schema.js';
import type { Json } from '../../types.js';
import type { CallOptions, Connector, ConnectorResult, UpstreamTool } from '../connector.js';

/** The `http` variant of a workspace connector. */
export type HttpConnectorConfig = Extract<ConnectorConfig, { kind: 'http' }>;

/** The parts of a tool contract the connector needs: its name, upstream name and declared request. */
export type HttpToolContract = Pick<ToolContract, 'name' | 'upstream' | 'description' | 'inputSchema' | 'http'>;

/** Where secrets are read from at call time (default `process.env`). */
export interface HttpConnectorOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A tool's request, resolved once: its template parsed, or why it can never be called. */
type Route =
  | { readonly ok: true; readonly tool: string; readonly spec: HttpToolSpec; readonly parts: readonly PathTemplatePart[]; readonly listed: UpstreamTool }
  | { readonly ok: false; readonly message: string };

/** Bytes kept from an error response for its excerpt. */
const ERROR_BODY_BYTES = 8192;
const EXCERPT_CHARS = 300;

/**
 * One HTTP API. INVARIANT: the destination is pinned. A request is built only from the connector's
 * `baseUrl` and the tool's declared `http` spec: arguments fill `{placeholders}` (each encoded as
 * one path segment), declared query parameters and declared body fields, and nothing else.
 * Arguments never reach the origin, the headers or an undeclared part of the URL; redirects are
 * never followed; credentials come from the environment, are added by Airlock and are redacted
 * from everything the call returns.
 */
export class HttpConnector implements Connector {
  readonly name: string;
  private readonly config: HttpConnectorConfig;
  private readonly base: URL;
  /** The base path without its trailing `/` (`''` for the root). */
  private readonly basePath: string;
  /** Set when the base URL itself is unusable: every call fails with it. */
  private readonly baseProblem: string | null;
  private readonly routes = new Map<string, Route>();
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly inflight = new Set<AbortController>();

  /** `tools`: the workspace's contracts served by this connector; they are found by upstream name. */
  constructor(name: string, config: HttpConnectorConfig, tools: Iterable<HttpToolContract>, opts: HttpConnectorOptions = {}) {
    this.name = name;
    this.config = config;
    this.env = opts.env ?? process.env;
    this.base = new URL(config.baseUrl);
    this.basePath = this.base.pathname.replace(/\/+$/, '');
    this.baseProblem =
      this.base.protocol !== 'https:' && this.base.protocol !== 'http:'
        ? `its \`baseUrl\` is not an http(s) URL`
        : this.base.username !== '' || this.base.password !== ''
          ? 'its `baseUrl` carries credentials'
          : this.base.search !== '' || this.base.hash !== '' || /[?#]/.test(config.baseUrl)
            ? 'its `baseUrl` has a query or fragment'
            : null;
    for (const t of tools) {
      const upstream = t.upstream ?? t.name.slice(t.name.indexOf('.') + 1);
      const route = this.routeFor(t);
      const seen = this.routes.get(upstream);
      if (seen === undefined) this.routes.set(upstream, route);
      else if (!seen.ok || !route.ok || JSON.stringify(seen.spec) !== JSON.stringify(route.spec)) {
        // Two contracts, two requests, one name: refuse rather than guess which one was meant.
        this.routes.set(upstream, { ok: false, message: `upstream \`${upstream}\` is declared by more than one tool contract with different requests` });
      }
    }
  }

  private routeFor(t: HttpToolContract): Route {
    if (!t.http) return { ok: false, message: `tool \`${t.name}\` declares no \`http\` request` };
    const parts = parsePathTemplate(t.http.path);
    if ('error' in parts) return { ok: false, message: `tool \`${t.name}\` has a path template with ${parts.error}` };
    const upstream = t.upstream ?? t.name.slice(t.name.indexOf('.') + 1);
    return { ok: true, tool: t.name, spec: t.http, parts, listed: { name: upstream, description: t.description, inputSchema: t.inputSchema as Json } };
  }

  async call(tool: string, args: { readonly [k: string]: Json }, opts: CallOptions): Promise<ConnectorResult> {
    const refuse = (message: string): ConnectorResult => ({ ok: false, failure: 'tool-error', message: `connector \`${this.name}\`: ${message}; no request was sent` });
    if (this.baseProblem !== null) return refuse(this.baseProblem);
    const route = this.routes.get(tool);
    if (route === undefined) {
      return refuse(
        this.routes.size === 0
          ? `it was given no tool contracts, so it has no request for upstream \`${tool}\` (build the connector pool with the workspace's tools)`
          : `no tool contract declares upstream \`${tool}\` for this connector`,
      );
    }
    if (!route.ok) return refuse(route.message);
    const { spec } = route;

    // Headers first: a missing secret stops the call before anything is built or sent.
    const resolved = resolveHeaders(this.config.headers, this.env);
    if (!resolved.ok) return refuse(resolved.message);
    const headers = new Headers(resolved.headers);
    const secrets = resolved.secrets;
    const redact = redactor(secrets);

    const built = this.buildUrl(route.parts, spec, args);
    if ('error' in built) return refuse(built.error);
    let body: string | undefined;
    if (spec.body.length > 0) {
      if (spec.method === 'GET') return refuse('a `GET` request cannot have a body');
      const obj = Object.create(null) as Record<string, Json>;
      for (const field of spec.body) {
        const v = own(args, field);
        if (v !== undefined) obj[field] = v;
      }
      body = JSON.stringify(obj);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }

    const what = `${spec.method} ${spec.path}`;
    const abort = new AbortController();
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = AbortSignal.any([timeout, abort.signal]);
    this.inflight.add(abort);
    const fail = (failure: 'tool-error' | 'timeout' | 'crash' | 'protocol', message: string): ConnectorResult => ({
      ok: false,
      failure,
      message: redact(`connector \`${this.name}\`: ${what} ${message}`),
    });
    try {
      const res = await fetch(built.url, { method: spec.method, headers, body, redirect: 'manual', signal });
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel().catch(() => undefined);
        return fail('protocol', `answered with a redirect (HTTP ${res.status}); Airlock never follows redirects`);
      }
      if (res.status < 200 || res.status >= 300) {
        const { bytes } = await readCapped(res, Math.min(ERROR_BODY_BYTES, this.config.maxResponseBytes), abort);
        const excerpt = decode(bytes).replace(/\s+/g, ' ').trim().slice(0, EXCERPT_CHARS);
        // A 4xx is the system refusing; after a 5xx the effect is unknown (the runner tells the agent so).
        return fail(res.status < 500 ? 'tool-error' : 'crash', `failed with HTTP ${res.status}${excerpt === '' ? '' : `: ${excerpt}`}`);
      }
      const tooLarge = (): ConnectorResult =>
        fail('protocol', `answered with more than ${this.config.maxResponseBytes} bytes (\`maxResponseBytes\`); the response was dropped`);
      if (Number(res.headers.get('content-length') ?? 0) > this.config.maxResponseBytes) {
        abort.abort();
        return tooLarge();
      }
      const read = await readCapped(res, this.config.maxResponseBytes, abort);
      if (read.truncated) return tooLarge();
      const text = decode(read.bytes);
      if (text === '') return { ok: true, content: null, text: '' };
      if (!isJson(res.headers.get('content-type'))) {
        const safe = redact(text);
        return { ok: true, content: safe, text: safe };
      }
      let parsed: Json;
      try {
        parsed = JSON.parse(text) as Json;
      } catch {
        return fail('protocol', 'answered with a JSON content type but a body that is not valid JSON');
      }
      // Bounded before the (recursive) redaction walks it; the pool normalises the result again, at no cost.
      const bounded = normaliseResult({ ok: true, content: parsed, text }, this.name, what);
      if (!bounded.ok) return bounded;
      return { ok: true, content: secrets.length > 0 ? redactJson(bounded.content, redact) : bounded.content, text: redact(bounded.text) };
    } catch (err) {
      if (timeout.aborted) return fail('timeout', `timed out after ${opts.timeoutMs} ms`);
      if (abort.signal.aborted) return fail('crash', 'was cancelled: the connector was closed');
      return fail('crash', `failed: ${describe(err)}`);
    } finally {
      this.inflight.delete(abort);
    }
  }

  /**
   * The request URL: the base origin and path, the template with each placeholder replaced by one
   * encoded segment, the declared query parameters. Checked after parsing: same origin, same path.
   */
  private buildUrl(parts: readonly PathTemplatePart[], spec: HttpToolSpec, args: { readonly [k: string]: Json }): { url: URL } | { error: string } {
    let path = '';
    for (const p of parts) {
      if ('literal' in p) {
        path += p.literal;
        continue;
      }
      const v = own(args, p.arg);
      if (v === undefined || v === null) return { error: `path argument \`${p.arg}\` is missing` };
      if (typeof v === 'object') return { error: `path argument \`${p.arg}\` must be a string, number or boolean` };
      const s = String(v);
      if (s === '' || s === '.' || s === '..') return { error: `path argument \`${p.arg}\` cannot be empty, \`.\` or \`..\`` };
      try {
        path += encodeURIComponent(s);
      } catch {
        return { error: `path argument \`${p.arg}\` is not valid Unicode` };
      }
    }
    if (path.split('/').some(isDotSegment)) return { error: `the path \`${spec.path}\` would contain a \`.\` or \`..\` segment` };

    const query = new URLSearchParams();
    for (const name of spec.query) {
      const v = own(args, name);
      if (v === undefined || v === null) continue;
      const values = Array.isArray(v) ? v : [v];
      for (const item of values) {
        if (item === null) continue;
        if (typeof item === 'object') return { error: `query argument \`${name}\` must be a string, number, boolean or a list of them` };
        query.append(name, String(item));
      }
    }
    const pathname = this.basePath + path;
    const search = query.size > 0 ? `?${query.toString()}` : '';
    let url: URL;
    try {
      url = new URL(this.base.origin + pathname + search);
    } catch {
      return { error: `the path \`${spec.path}\` does not make a valid URL` };
    }
    // INVARIANT (defence in depth): what will be sent is exactly what was built, at the declared origin.
    if (url.origin !== this.base.origin || url.pathname !== pathname || url.search !== search || url.hash !== '' || url.username !== '' || url.password !== '') {
      return { error: `the request for \`${spec.path}\` would leave the declared destination` };
    }
    return { url };
  }

  /** The declared tools of this connector, as the upstream would describe them. */
  listTools(): Promise<readonly UpstreamTool[]> {
    const out: UpstreamTool[] = [];
    for (const r of this.routes.values()) if (r.ok) out.push(r.listed);
    return Promise.resolve(out);
  }

  /** Cancels the calls in flight; the connector holds no other resource. */
  close(): Promise<void> {
    for (const a of this.inflight) a.abort();
    this.inflight.clear();
    return Promise.resolve();
  }
}

/** An argument the agent actually sent (never a value inherited from `Object.prototype`). */
function own(args: { readonly [k: string]: Json }, name: string): Json | undefined {
  return Object.hasOwn(args, name) ? args[name] : undefined;
}

/**
 * Reads a response body up to `limit` bytes. Past the limit the read stops, the request is
 * aborted and `truncated` is true: an oversized body is never buffered whole.
 */
async function readCapped(res: Response, limit: number, abort: AbortController): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const reader = res.body?.getReader();
  if (!reader) return { bytes: new Uint8Array(0), truncated: false };
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - total));
      total = limit;
      await reader.cancel().catch(() => undefined);
      abort.abort();
      return { bytes: concat(chunks, total), truncated: true };
    }
    chunks.push(value);
    total += value.byteLength;
  }
  return { bytes: concat(chunks, total), truncated: false };
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

/** `application/json`, `application/problem+json` and the like. */
function isJson(contentType: string | null): boolean {
  return contentType !== null && /^\s*(application\/([\w.-]+\+)?json|text\/json)\s*(;|$)/i.test(contentType);
}

/** Replaces every secret value in a text (longest first, so a secret inside another goes too). */
function redactor(secrets: readonly string[]): (text: string) => string {
  const sorted = [...new Set(secrets)].sort((a, b) => b.length - a.length);
  return (text) => sorted.reduce((t, s) => t.split(s).join('[redacted]'), text);
}

/** `redact` applied to every string (keys included) of a JSON value. */
function redactJson(v: Json, redact: (s: string) => string): Json {
  if (typeof v === 'string') return redact(v);
  if (Array.isArray(v)) return v.map((x: Json) => redactJson(x, redact));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, Json> = {};
    // defineProperty: a `__proto__` key stays a plain key, as JSON.parse made it.
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, redact(k), { value: redactJson(x, redact), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // undici reports `fetch failed` with the real reason (ECONNREFUSED, ...) as its cause.
  const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? err.cause.message}` : '';
  return `${err.message}${cause}`;
}
