// The one point where upstream answers become data Airlock can hold: every connector the pool hands out passes its results through here.
import type { Json } from '../../types.js';
import { escapeLoneSurrogates, hasLoneSurrogate, MAX_JSON_DEPTH, recordableJson } from '../../util/json.js';
import type { CallOptions, Connector, ConnectorResult, UpstreamResource, UpstreamTool } from '../connector.js';

/**
 * How many containers deep `value` nests, and whether it is already plain JSON Airlock can hold
 * as it is (no lone surrogates in strings or keys, finite numbers, plain objects and arrays only).
 * Iterative: any depth.
 */
function inspect(value: unknown): { depth: number; clean: boolean } {
  let depth = 0;
  let clean = true;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v === 'string') {
      if (clean && hasLoneSurrogate(v)) clean = false;
      continue;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) clean = false;
      continue;
    }
    if (v === null || typeof v === 'boolean') continue;
    if (typeof v !== 'object') {
      clean = false;
      continue;
    }
    depth = Math.max(depth, d + 1);
    if (Array.isArray(v)) {
      for (const x of v) stack.push([x, d + 1]);
      continue;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) clean = false;
    for (const [k, x] of Object.entries(v)) {
      if (clean && hasLoneSurrogate(k)) clean = false;
      stack.push([x, d + 1]);
    }
  }
  return { depth, clean };
}

/**
 * `result` as the gateway may see it. A success whose content nests deeper than `MAX_JSON_DEPTH`
 * becomes a `protocol` failure naming the depth (nothing could record or walk it; the effect, if
 * the call has one, may have happened); otherwise lone surrogates are escaped as `\uXXXX` text (in
 * content, keys, text and failure messages) and anything else JSON cannot hold is replaced, so the
 * result can be hashed, recorded and returned. `what` names the request (`tool \`x\``).
 */
export function normaliseResult(result: ConnectorResult, connector: string, what: string): ConnectorResult {
  if (!result.ok) return hasLoneSurrogate(result.message) ? { ...result, message: escapeLoneSurrogates(result.message) } : result;
  const { depth, clean } = inspect(result.content);
  if (depth > MAX_JSON_DEPTH) {
    return {
      ok: false,
      failure: 'protocol',
      message:
        `connector \`${connector}\`: ${what} answered with a result nested ${depth} levels deep, more than the ${MAX_JSON_DEPTH} ` +
        'Airlock accepts; the result was dropped (if the call has an effect, it may have happened)',
    };
  }
  const text = hasLoneSurrogate(result.text) ? escapeLoneSurrogates(result.text) : result.text;
  if (clean) return text === result.text ? result : { ...result, text };
  return { ok: true, content: recordableJson(result.content).value, text };
}

/** A listing entry (a tool or resource as the upstream describes it) made recordable; deep parts are cut. */
function recordable<T>(entry: T): T {
  const { value, changed } = recordableJson(entry);
  return changed ? (value as T) : entry;
}

/**
 * `inner` with every answer normalised (`normaliseResult` for calls, resources and prompts;
 * listings made recordable). The workspace's pool hands out connectors only this way.
 */
export class NormalisedConnector implements Connector {
  readonly name: string;

  constructor(readonly inner: Connector) {
    this.name = inner.name;
  }

  async call(tool: string, args: { readonly [k: string]: Json }, opts: CallOptions): Promise<ConnectorResult> {
    return normaliseResult(await this.inner.call(tool, args, opts), this.name, `tool \`${tool}\``);
  }

  async listTools(): Promise<readonly UpstreamTool[]> {
    return (await this.inner.listTools()).map(recordable);
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  get readResource(): Connector['readResource'] {
    const inner = this.inner;
    if (!inner.readResource) return undefined;
    return async (uri, opts) => normaliseResult(await inner.readResource!(uri, opts), this.name, `resource \`${uri}\``);
  }

  get getPrompt(): Connector['getPrompt'] {
    const inner = this.inner;
    if (!inner.getPrompt) return undefined;
    return async (name, args, opts) => normaliseResult(await inner.getPrompt!(name, args, opts), this.name, `prompt \`${name}\``);
  }

  get listResources(): Connector['listResources'] {
    const inner = this.inner;
    if (!inner.listResources) return undefined;
    return async (): Promise<readonly UpstreamResource[]> => (await inner.listResources!()).map(recordable);
  }
}
