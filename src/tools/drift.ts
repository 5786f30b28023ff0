// Tool drift: the live upstream definition of a tool against the one a person reviewed (`reviewedUpstream`).
// `checkDrift` is the pure report; `DriftGuard` is the gateway's cached, fail-closed check before a call.
//
// What this catches: an upstream that changes a tool's description, input schema or annotations
// after review ("rug pull", tool poisoning by update). What it cannot catch: an upstream that lists
// one definition and behaves differently when called; that is what effects, policy and verification are for.
import type { ToolContract } from '../config/schema.js';
import type { Json, Sha256Hex } from '../types.js';
import { canonicalJson, hashJson } from '../util/hash.js';
import type { Connector, UpstreamTool } from './connector.js';
import {
  definitionOf,
  describeSchemaChange,
  hintFloor,
  prepareInputSchema,
  readHints,
  stricterEffect,
  suspiciousText,
  upstreamDefinitionHash,
  upstreamNameOf,
  type DefinitionPart,
} from './import.js';

/** What one contract (or one upstream tool without a contract) looks like against the live upstream. */
export type DriftEntry =
  | { readonly status: 'ok'; readonly tool: string; readonly upstream: string; readonly live: Sha256Hex }
  | {
      readonly status: 'changed';
      readonly tool: string;
      readonly upstream: string;
      readonly reviewed: string;
      readonly live: Sha256Hex;
      /** The parts that changed (empty when they cannot be told apart, see `details`). */
      readonly changed: readonly DefinitionPart[];
      /** True when `changed` is proven (a reviewed snapshot, or a reconstruction that reproduces the reviewed hash). */
      readonly certain: boolean;
      readonly details: readonly string[];
    }
  | { readonly status: 'missing-upstream'; readonly tool: string; readonly upstream: string; readonly reviewed: string | null }
  | { readonly status: 'unreviewed'; readonly tool: string; readonly upstream: string; readonly live: Sha256Hex }
  | {
      /** An upstream tool no contract covers: unreachable until someone drafts and reviews a contract. */
      readonly status: 'unreviewed-new';
      readonly upstream: string;
      readonly live: Sha256Hex;
      readonly description: string;
    };

export type DriftStatus = DriftEntry['status'];

/** The drift of one connector's contracts against its live tool list. */
export interface DriftReport {
  readonly entries: readonly DriftEntry[];
  /** A reviewed contract's upstream changed or disappeared: the gateway must deny it until re-reviewed. */
  readonly drifted: boolean;
  /** A contract was never pinned (`reviewedUpstream`), or the upstream offers tools no contract covers. */
  readonly needsReview: boolean;
}

/** Looks up the upstream definition that was reviewed, by its hash (e.g. a snapshot kept by `airlock tools import`). */
export type ReviewedLookup = (hash: string) => UpstreamTool | undefined;

/**
 * Compares the contracts of one connector with the live tool list of that connector. Pure.
 * `reviewed` may supply the reviewed definitions (checked against their hash) for an exact account
 * of what changed; without it the account is reconstructed from the contract.
 */
export function checkDrift(
  contracts: readonly ToolContract[],
  live: readonly UpstreamTool[],
  opts: { readonly reviewed?: ReviewedLookup } = {},
): DriftReport {
  const byName = groupByName(live);
  const covered = new Set<string>();
  const entries: DriftEntry[] = [];
  for (const c of contracts) {
    const upstream = upstreamNameOf(c);
    covered.add(upstream);
    entries.push(compare(c, byName.get(upstream) ?? [], opts.reviewed));
  }
  const fresh = [...byName.entries()].filter(([n]) => !covered.has(n)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, tools] of fresh) {
    const t = tools[0] as UpstreamTool;
    entries.push({ status: 'unreviewed-new', upstream: name, live: upstreamDefinitionHash(t), description: t.description });
  }
  return {
    entries,
    drifted: entries.some((e) => e.status === 'changed' || e.status === 'missing-upstream'),
    needsReview: entries.some((e) => e.status === 'unreviewed' || e.status === 'unreviewed-new'),
  };
}

function compare(c: ToolContract, listed: readonly UpstreamTool[], lookup: ReviewedLookup | undefined): DriftEntry {
  const upstream = upstreamNameOf(c);
  const first = listed[0];
  if (!first) return { status: 'missing-upstream', tool: c.name, upstream, reviewed: c.reviewedUpstream ?? null };
  const hashes = [...new Set(listed.map(upstreamDefinitionHash))];
  const live = hashes[0] as Sha256Hex;
  if (hashes.length > 1) {
    // Which of two definitions answers a call is the upstream's choice: neither can be trusted.
    return {
      status: 'changed',
      tool: c.name,
      upstream,
      reviewed: c.reviewedUpstream ?? '',
      live,
      changed: [],
      certain: false,
      details: [`the upstream lists \`${upstream}\` ${listed.length} times with ${hashes.length} different definitions`],
    };
  }
  if (!c.reviewedUpstream) return { status: 'unreviewed', tool: c.name, upstream, live };
  if (c.reviewedUpstream === live) return { status: 'ok', tool: c.name, upstream, live };
  const snapshot = lookup?.(c.reviewedUpstream);
  const verified = snapshot && upstreamDefinitionHash(snapshot) === c.reviewedUpstream ? snapshot : undefined;
  const why = explainChange(c, first, verified);
  return { status: 'changed', tool: c.name, upstream, reviewed: c.reviewedUpstream, live, ...why };
}

/**
 * Which parts of the definition changed since review. With the reviewed definition: exact. Without:
 * tries the contract's own copy of each part in place of the live one and keeps the combination
 * that reproduces the reviewed hash (exact too); failing that, compares with the contract (a guess).
 */
export function explainChange(
  contract: ToolContract,
  live: UpstreamTool,
  reviewed?: UpstreamTool,
): { changed: DefinitionPart[]; certain: boolean; details: string[] } {
  const details: string[] = [];
  let changed: DefinitionPart[];
  let certain: boolean;
  if (reviewed) {
    changed = [];
    if (reviewed.description !== live.description) changed.push('description');
    if (canonicalJson(reviewed.inputSchema) !== canonicalJson(live.inputSchema)) changed.push('inputSchema');
    if (canonicalJson(reviewed.annotations ?? null) !== canonicalJson(live.annotations ?? null)) changed.push('annotations');
    certain = true;
    if (changed.includes('inputSchema')) details.push(`input schema: ${describeSchemaChange(reviewed.inputSchema, live.inputSchema).join('; ')}`);
    if (changed.includes('annotations')) details.push(`annotations: ${describeAnnotationChange(reviewed.annotations, live.annotations)}`);
  } else {
    const proven = reconstruct(contract, live);
    const schemaChange = describeSchemaChange(contract.inputSchema as Json, prepareInputSchema(live.inputSchema, []));
    if (proven) {
      changed = proven;
      certain = true;
    } else {
      changed = [];
      if (live.description !== contract.description) changed.push('description');
      if (schemaChange.length > 0) changed.push('inputSchema');
      // Description and schema match what was reviewed: what is left is the annotations (or schema
      // details the contract does not keep, such as `$schema`).
      if (changed.length === 0) changed.push('annotations');
      certain = false;
      details.push('what changed is inferred from the contract (it may have been edited at review); `airlock tools import` shows the live definition');
    }
    if (changed.includes('inputSchema') && schemaChange.length > 0) details.push(`input schema against the contract's: ${schemaChange.join('; ')}`);
  }
  if (changed.includes('description')) {
    const text = live.description.length > 200 ? `${live.description.slice(0, 200)}…` : live.description;
    details.push(`live description: ${JSON.stringify(text)}`);
    details.push(...suspiciousText(live.description, 'the live description'));
  }
  // Whatever changed, say where the live hints now ask for more than the contract grants.
  const hints = readHints(live.annotations);
  const floor = hintFloor(hints);
  if (stricterEffect(contract.effect, floor) !== contract.effect) {
    details.push(`the upstream now hints \`${floor}\` (annotations) but the contract says \`effect: ${contract.effect}\``);
  }
  if (hints.openWorld && contract.trust !== 'untrusted') details.push('the upstream now hints open-world but the contract marks its output trusted');
  return { changed, certain, details };
}

/** The smallest set of parts whose contract copies, put back, reproduce the reviewed hash; null if none does. */
function reconstruct(contract: ToolContract, live: UpstreamTool): DefinitionPart[] | null {
  const target = contract.reviewedUpstream;
  if (!target) return null;
  const base = definitionOf(live);
  const descriptions: [string, boolean][] = [[live.description, false]];
  if (contract.description !== live.description) descriptions.push([contract.description, true]);
  // The contract keeps no copy of the annotations; "there were none" is the one guess worth trying.
  const annotations: [Json, boolean][] = [[live.annotations ?? null, false]];
  if (live.annotations !== undefined) annotations.push([null, true]);
  // The contract's schema is the upstream's, closed (`additionalProperties: false`) and without `$schema`:
  // the live one, prepared the same way and still equal to the contract's, was not what changed.
  const found: DefinitionPart[][] = [];
  for (const [d, dChanged] of descriptions) {
    for (const [a, aChanged] of annotations) {
      if (hashJson({ ...base, description: d, annotations: a }) === target) {
        found.push([...(dChanged ? ['description' as const] : []), ...(aChanged ? ['annotations' as const] : [])]);
      }
    }
  }
  found.sort((x, y) => x.length - y.length);
  return found[0] && found[0].length > 0 ? found[0] : null;
}

function describeAnnotationChange(before: UpstreamTool['annotations'], after: UpstreamTool['annotations']): string {
  const b = before ?? {};
  const a = after ?? {};
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  const show = (v: Json | undefined): string => (v === undefined ? '(absent)' : JSON.stringify(v));
  return keys
    .filter((k) => canonicalJson(b[k] ?? null) !== canonicalJson(a[k] ?? null) || (k in a) !== (k in b))
    .map((k) => `\`${k}\` ${show(b[k])} → ${show(a[k])}`)
    .join(', ');
}

function groupByName(live: readonly UpstreamTool[]): Map<string, UpstreamTool[]> {
  const m = new Map<string, UpstreamTool[]>();
  for (const t of live) m.set(t.name, [...(m.get(t.name) ?? []), t]);
  return m;
}

// --- the gateway's check ----------------------------------------------------------------------

/**
 * The answer of `DriftGuard.check`; `code` tells drift from an upstream that could not be asked.
 * `reason` is Airlock's own words (safe to tell the agent); `details` may quote what the upstream
 * wrote (a poisoned description, server stderr): for the audit trail and operators, never for the agent.
 */
export type DriftVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly code: 'drift' | 'missing-upstream' | 'unverifiable' | 'unreviewed';
      readonly details: readonly string[];
      /** For `drift`: the reviewed and the live definition hashes (for the audit record). */
      readonly reviewed?: string;
      readonly live?: string;
    };

export interface DriftGuardOptions {
  /** Where connectors come from (the workspace's `ConnectorPool`). */
  readonly connectors: { get(name: string): Connector };
  /** The workspace's tool contracts. */
  readonly contracts: Iterable<ToolContract>;
  /** How long a connector's tool list is trusted before it is listed again (default 5 minutes). */
  readonly ttlMs?: number;
  /** How long listing tools may take before the check fails closed (default 10 seconds). */
  readonly listTimeoutMs?: number;
  /** Deny contracts that have no `reviewedUpstream` (default false: they pass, as before drift checks). */
  readonly requireReviewed?: boolean;
  /** The clock, in milliseconds (tests move it). */
  readonly now?: () => number;
}

interface Listing {
  readonly connector: Connector;
  readonly at: number;
  readonly tools: ReadonlyMap<string, readonly UpstreamTool[]>;
}

/**
 * Checks, before a call, that the upstream still serves the tool definition a person reviewed.
 * Lists each connector's tools once and caches the list per connector instance for `ttlMs`;
 * `invalidate` drops it (call it after a connector fault: the process restarts, maybe as a new version).
 * Fails closed: a tool that cannot be checked is denied.
 */
export class DriftGuard {
  private readonly byUpstream = new Map<string, ToolContract[]>();
  private readonly listings = new Map<string, Listing>();
  private readonly listing = new Map<string, Promise<Listing>>();
  private readonly ttlMs: number;
  private readonly listTimeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: DriftGuardOptions) {
    for (const c of opts.contracts) {
      const key = keyOf(c.connector, upstreamNameOf(c));
      this.byUpstream.set(key, [...(this.byUpstream.get(key) ?? []), c]);
    }
    this.ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.listTimeoutMs = opts.listTimeoutMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Whether the upstream tool `upstreamToolName` of `connectorName` may be called: every contract for
   * it that pins a reviewed definition must match the live one. Never throws.
   */
  async check(connectorName: string, upstreamToolName: string): Promise<DriftVerdict> {
    const contracts = this.byUpstream.get(keyOf(connectorName, upstreamToolName)) ?? [];
    const pinned = contracts.filter((c) => c.reviewedUpstream);
    if (pinned.length === 0) {
      if (this.opts.requireReviewed && contracts.length > 0) {
        return {
          ok: false,
          code: 'unreviewed',
          reason: `tool \`${contracts[0]?.name ?? upstreamToolName}\` has no reviewed upstream definition (\`reviewedUpstream\`); review it with \`airlock tools import ${connectorName}\``,
          details: [],
        };
      }
      return { ok: true };
    }
    let listing: Listing;
    try {
      listing = await this.list(connectorName);
    } catch (err) {
      return {
        ok: false,
        code: 'unverifiable',
        reason: `tool \`${pinned[0]?.name ?? upstreamToolName}\`: cannot list the tools of connector \`${connectorName}\` to check the reviewed definition; denied (fail closed)`,
        details: [err instanceof Error ? err.message : String(err)],
      };
    }
    const listed = listing.tools.get(upstreamToolName) ?? [];
    for (const c of pinned) {
      const entry = compare(c, listed, undefined);
      if (entry.status === 'missing-upstream') {
        return {
          ok: false,
          code: 'missing-upstream',
          reason: `tool \`${c.name}\`: connector \`${connectorName}\` no longer offers \`${upstreamToolName}\`; denied until the contract is reviewed again`,
          details: [],
        };
      }
      if (entry.status === 'changed') {
        const parts = entry.changed.length > 0 ? ` (${entry.changed.join(', ')}${entry.certain ? '' : ', inferred'})` : '';
        return {
          ok: false,
          code: 'drift',
          reason:
            `tool \`${c.name}\`: the upstream definition of \`${upstreamToolName}\` on connector \`${connectorName}\` changed since review${parts}; ` +
            `denied until re-reviewed (\`airlock tools check ${connectorName}\`)`,
          details: [`reviewed ${entry.reviewed}, live ${entry.live}`, ...entry.details],
          reviewed: entry.reviewed,
          live: entry.live,
        };
      }
    }
    return { ok: true };
  }

  /** The same check for one contract (the gateway has the contract in hand). */
  async checkContract(contract: ToolContract): Promise<DriftVerdict> {
    return this.check(contract.connector, upstreamNameOf(contract));
  }

  /** Forgets the cached tool list of one connector (or of all): the next check lists again. */
  invalidate(connectorName?: string): void {
    if (connectorName === undefined) this.listings.clear();
    else this.listings.delete(connectorName);
  }

  private async list(connectorName: string): Promise<Listing> {
    const connector = this.opts.connectors.get(connectorName);
    const cached = this.listings.get(connectorName);
    // A new connector instance (the pool was closed and reopened) is a new process: list again.
    if (cached && cached.connector === connector && this.now() - cached.at < this.ttlMs) return cached;
    const pending = this.listing.get(connectorName);
    if (pending) return pending;
    const p = (async () => {
      const tools = await withTimeout(connector.listTools(), this.listTimeoutMs, `listing tools timed out after ${this.listTimeoutMs} ms`);
      const listing: Listing = { connector, at: this.now(), tools: groupByName(tools) };
      this.listings.set(connectorName, listing);
      return listing;
    })();
    this.listing.set(connectorName, p);
    try {
      return await p;
    } finally {
      this.listing.delete(connectorName);
    }
  }
}

function keyOf(connector: string, upstream: string): string {
  return `${connector}\u0000${upstream}`;
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
