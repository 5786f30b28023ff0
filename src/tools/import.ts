// Drafting tool contracts from an upstream MCP server's own tool list, for a person to review. Pure.
//
// INVARIANT: everything an upstream says about a tool is data from outside the boundary. Its
// annotations (`readOnlyHint`, `destructiveHint`, `openWorldHint`) are hints: they can make a draft
// stricter, never looser than Airlock's baseline (`write`, `medium`). The one hint that could loosen
// a draft, `readOnlyHint`, only yields `effect: read` on a new draft, marked for review; it never
// loosens an existing contract. Its description is copied for review, never shown to agents
// unreviewed (agents see the contract's description, see src/orchestration/runner.ts).
import type { z } from 'zod';
import type { ToolContract, toolContractSchema } from '../config/schema.js';
import { EFFECTS, RISKS, type Effect, type Json, type JsonObject, type Risk, type Sha256Hex } from '../types.js';
import { canonicalJson, hashJson } from '../util/hash.js';
import { schemaProblems } from '../config/contract-schema.js';
import { valueAt } from '../config/issues.js';
import { formatPath } from '../config/locate.js';
import type { UpstreamTool } from './connector.js';

/** A draft contract, shaped like an entry under `tools:` in airlock.yaml (before defaults apply). */
export type ContractDraft = z.input<typeof toolContractSchema>;

/** What `draftContract` produced: the YAML-ready contract and what a reviewer must look at. */
export interface DraftResult {
  readonly contract: ContractDraft;
  /** One sentence per thing to review; `review:` marks a judgement only a person can make. */
  readonly notes: readonly string[];
}

/** The parts of an upstream definition that `upstreamDefinitionHash` covers. */
export type DefinitionPart = 'description' | 'inputSchema' | 'annotations';

/**
 * SHA-256 (hex) of the canonical JSON (RFC 8785) of the upstream's tool definition:
 * `{name, description, inputSchema, annotations}` (absent annotations hash as `null`).
 * Any change to any byte of these is a different definition. `outputSchema` and `title` outside
 * the annotations are not covered.
 */
export function upstreamDefinitionHash(tool: UpstreamTool): Sha256Hex {
  return hashJson(definitionOf(tool));
}

/** The hashed form of a definition, with parts optionally replaced (drift analysis tries guesses). */
export function definitionOf(tool: UpstreamTool): JsonObject {
  return { name: tool.name, description: tool.description, inputSchema: tool.inputSchema, annotations: tool.annotations ?? null };
}

/** The upstream tool's name on Airlock's side: `connector.tool_name` (lowercase, `_` for anything else). */
export function contractNameFor(connector: string, upstreamName: string): string {
  let local = upstreamName
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (local === '') local = 'tool';
  if (!/^[a-z]/.test(local)) local = `t_${local}`;
  return `${connector}.${local}`;
}

/** The upstream tool a contract calls: its `upstream`, else the part of its name after the dot. */
export function upstreamNameOf(contract: Pick<ToolContract, 'name' | 'upstream'>): string {
  return contract.upstream ?? contract.name.slice(contract.name.indexOf('.') + 1);
}

/** What the upstream's annotations claim, read defensively. */
export interface HintReading {
  /** `readOnlyHint: true` exactly (the only hint that could loosen, so only a real `true` counts). */
  readonly readOnly: boolean;
  /** `destructiveHint` present and not `false` (a malformed value counts: when in doubt, stricter). */
  readonly destructive: boolean;
  /** `openWorldHint` present and not `false` (same rule). */
  readonly openWorld: boolean;
  readonly notes: readonly string[];
}

/** Reads the MCP hints from untrusted annotations. */
export function readHints(annotations: JsonObject | undefined): HintReading {
  const notes: string[] = [];
  if (!annotations || Object.keys(annotations).length === 0) {
    notes.push(
      'review: the upstream declares no annotations (MCP assumes such a tool may be destructive and reach the open world); drafted with the `write` baseline',
    );
    return { readOnly: false, destructive: false, openWorld: false, notes };
  }
  const tightening = (key: 'destructiveHint' | 'openWorldHint'): boolean => {
    const v = annotations[key];
    if (v === undefined || v === false) return false;
    if (v !== true) notes.push(`the upstream's \`${key}\` is not a boolean (${JSON.stringify(v)}): read as true, the stricter reading`);
    return true;
  };
  const ro = annotations['readOnlyHint'];
  if (ro !== undefined && typeof ro !== 'boolean') notes.push(`the upstream's \`readOnlyHint\` is not a boolean (${JSON.stringify(ro)}): ignored`);
  return { readOnly: ro === true, destructive: tightening('destructiveHint'), openWorld: tightening('openWorldHint'), notes };
}

/** The stricter of two effects (EFFECTS is ordered from least to most dangerous). */
export function stricterEffect(a: Effect, b: Effect): Effect {
  return EFFECTS.indexOf(a) >= EFFECTS.indexOf(b) ? a : b;
}

/** The higher of two risks. */
export function higherRisk(a: Risk, b: Risk): Risk {
  return RISKS.indexOf(a) >= RISKS.indexOf(b) ? a : b;
}

/** The least effect the hints allow an existing contract to keep: hints only ever raise it. */
export function hintFloor(h: HintReading): Effect {
  let floor: Effect = 'read';
  if (h.destructive) floor = stricterEffect(floor, 'destructive');
  if (h.openWorld) floor = stricterEffect(floor, 'egress');
  return floor;
}

/**
 * Drafts a contract for one upstream tool of `connector`. Without `existing`: a new draft from the
 * baseline, tightened by the hints. With `existing` (the reviewed contract for the same upstream
 * tool): the existing contract, kept as reviewed (description, schema, compensation, probe), only
 * tightened where the hints now demand it, with `reviewedUpstream` set to the live definition and
 * notes naming everything that differs from what was reviewed.
 */
export function draftContract(connector: string, tool: UpstreamTool, existing?: ToolContract): DraftResult {
  return existing ? redraft(connector, tool, existing) : draftNew(connector, tool);
}

function draftNew(connector: string, tool: UpstreamTool): DraftResult {
  const notes: string[] = [];
  const hints = readHints(tool.annotations);
  notes.push(...hints.notes);

  const name = contractNameFor(connector, tool.name);
  if (!/^[\x21-\x7e]+$/.test(tool.name)) notes.push(`WARNING: the upstream tool name ${JSON.stringify(tool.name)} holds spaces or characters outside printable ASCII`);
  let effect: Effect = 'write';
  if (hints.readOnly && !hints.destructive && !hints.openWorld) {
    // The one loosening a hint could make: kept as a suggestion only, flagged for review.
    effect = 'read';
    notes.push('review: upstream claims read-only (`readOnlyHint`); drafted as `effect: read`: confirm it changes nothing');
  } else if (hints.readOnly && hints.destructive) {
    notes.push('the upstream claims both read-only and destructive: the read-only claim is ignored');
  } else if (hints.readOnly && hints.openWorld) {
    notes.push('review: upstream claims read-only but open-world: drafted as `egress` because arguments leave for the open world');
  }
  if (hints.destructive) effect = stricterEffect(effect, 'destructive');
  if (hints.openWorld) effect = stricterEffect(effect, 'egress');
  if (hints.destructive && hints.openWorld) notes.push('review: upstream hints destructive and open-world; drafted as `egress` with high risk');

  const risk: Risk = hints.destructive ? 'high' : 'medium';
  const trust = hints.openWorld ? 'untrusted' : 'trusted';
  if (hints.openWorld) notes.push('output marked `trust: untrusted`: an open-world tool returns content written by outsiders');
  else notes.push('review: `trust: trusted` assumes the output holds nothing written by outsiders (mark it `untrusted` otherwise)');

  notes.push(...suspiciousText(tool.description, 'the description'));
  let description = stripInvisible(tool.description);
  if (description !== tool.description) notes.push('removed invisible and control characters from the copied description');
  if (description.trim() === '') {
    description = `(no description from upstream) ${tool.name}: write what it does`;
    notes.push('review: the upstream gives no description; write one (agents read it)');
  } else {
    notes.push('review: the description is copied from the upstream; agents read exactly this text, so rewrite it in your own words');
  }

  notes.push(...suspiciousSchemaText(tool.inputSchema));
  const inputSchema = prepareInputSchema(tool.inputSchema, notes);

  const contract: Record<string, unknown> = {
    name,
    connector,
    // The contract name allows fewer characters than MCP does: keep the real name when they differ.
    ...(name.slice(connector.length + 1) !== tool.name ? { upstream: tool.name } : {}),
    description,
    effect,
    risk,
    classification: 'internal',
    trust,
    inputSchema,
  };
  notes.push('review: `classification: internal` is a default; raise it if the tool returns confidential or restricted data');
  if (effect !== 'read') {
    contract['irreversible'] = true;
    notes.push('review: no compensation is known, so the draft says `irreversible: true`; declare a `compensation` (the call that undoes it) if one exists');
  }
  if (tool.outputSchema !== undefined) notes.push('the upstream declares an output schema; consider a `verify` probe that checks its result against ground truth');
  contract['reviewedUpstream'] = upstreamDefinitionHash(tool);
  return { contract: contract as ContractDraft, notes };
}

function redraft(connector: string, tool: UpstreamTool, existing: ToolContract): DraftResult {
  const notes: string[] = [];
  const hash = upstreamDefinitionHash(tool);
  const hints = readHints(tool.annotations);
  if (existing.connector !== connector) {
    notes.push(`the existing contract \`${existing.name}\` belongs to connector \`${existing.connector}\`, not \`${connector}\``);
  }
  if (existing.reviewedUpstream === hash) notes.push('the upstream definition is the one reviewed');
  else if (existing.reviewedUpstream) notes.push('review: the upstream definition changed since the review (drift): re-review before re-stamping `reviewedUpstream`');
  else notes.push('review: the contract was never pinned to an upstream definition; review it against the live one');

  // Start from the reviewed contract; hints only tighten it.
  const c: Record<string, unknown> = { ...existing };
  const floor = hintFloor(hints);
  const effect = stricterEffect(existing.effect, floor);
  if (effect !== existing.effect) {
    notes.push(`review: the upstream now hints \`${floor}\` (annotations); tightened \`effect\` from \`${existing.effect}\``);
    c['effect'] = effect;
  }
  if (hints.readOnly && existing.effect !== 'read') {
    notes.push(`the upstream claims read-only; the contract's \`effect: ${existing.effect}\` is kept (a hint never loosens a contract)`);
  }
  if (hints.destructive && higherRisk(existing.risk, 'high') !== existing.risk) {
    notes.push(`review: the upstream now hints destructive; raised \`risk\` from \`${existing.risk}\` to \`high\``);
    c['risk'] = 'high';
  }
  if (hints.openWorld && existing.trust !== 'untrusted') {
    notes.push('review: the upstream now hints open-world; output marked `trust: untrusted`');
    c['trust'] = 'untrusted';
  }
  if (effect !== 'read' && !existing.compensation && !existing.irreversible) {
    c['irreversible'] = true;
    notes.push('review: a non-read tool needs a rollback story: marked `irreversible: true`; declare a `compensation` if one exists');
  }
  // What matches the reviewed hash was reviewed as it is (a reviewer may have rewritten the description).
  const unchanged = existing.reviewedUpstream === hash;
  if (!unchanged && tool.description !== existing.description) {
    notes.push(
      'review: the upstream description differs from the contract\'s (agents keep seeing the contract\'s); read the upstream text for instructions aimed at models',
    );
    notes.push(...suspiciousText(tool.description, 'the upstream description'));
  }
  const prepared = prepareInputSchema(tool.inputSchema, []);
  const schemaNotes = describeSchemaChange(existing.inputSchema as Json, prepared);
  if (!unchanged && schemaNotes.length > 0) {
    notes.push(`review: the upstream input schema differs from the contract's (arguments are still checked against the contract's): ${schemaNotes.join('; ')}`);
  }
  c['reviewedUpstream'] = hash;
  return { contract: c as ContractDraft, notes };
}

// --- input schemas ---------------------------------------------------------------------------

const COMBINATORS = ['allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else', 'patternProperties', 'unevaluatedProperties', '$ref', 'dependentSchemas', 'dependencies'];
const DRAFT_07 = /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/;

/**
 * The contract's input schema from the upstream's: a deep copy without `$schema` (Airlock validates
 * as draft-07), closed with `additionalProperties: false` where the upstream left it open: at the top
 * level, and on nested objects that list their properties. Schemas built from combinators are left
 * as they are, with a note. Problems go to `notes`.
 */
export function prepareInputSchema(upstream: Json, notes: string[]): Record<string, Json> {
  return withoutIgnoredKeywords(shapeInputSchema(upstream, notes), notes);
}

function shapeInputSchema(upstream: Json, notes: string[]): Record<string, Json> {
  if (!isObject(upstream)) {
    notes.push('review: the upstream input schema is not a JSON object; replaced with one that accepts no arguments');
    return { type: 'object', properties: {}, additionalProperties: false };
  }
  const schema = cleanText(upstream) as Record<string, Json>;
  const dialect = schema['$schema'];
  if (dialect !== undefined) {
    delete schema['$schema'];
    if (typeof dialect !== 'string' || !DRAFT_07.test(dialect)) {
      notes.push(`review: the upstream schema declares dialect ${JSON.stringify(dialect)}; Airlock checks arguments as draft-07, so check keywords that differ`);
    }
  }
  if (schema['type'] === undefined) {
    schema['type'] = 'object';
    notes.push('the upstream input schema has no `type`; set `type: object`');
  } else if (schema['type'] !== 'object') {
    notes.push(`review: the upstream input schema is of type ${JSON.stringify(schema['type'])}, not an object; replaced with one that accepts no arguments`);
    return { type: 'object', properties: {}, additionalProperties: false };
  }
  if (COMBINATORS.some((k) => k in schema)) {
    if (schema['additionalProperties'] === undefined) {
      notes.push('review: the upstream input schema is built from combinators; not closed with `additionalProperties: false`: close it by hand');
    }
    return schema;
  }
  const closed = { top: false, nested: 0 };
  if (schema['additionalProperties'] === undefined) {
    schema['additionalProperties'] = false;
    closed.top = true;
  } else if (schema['additionalProperties'] !== false) {
    notes.push('review: the upstream input schema accepts extra arguments (`additionalProperties` is not false); narrow it if you can');
  }
  const props = schema['properties'];
  if (isObject(props)) for (const p of Object.values(props)) closed.nested += closeNested(p);
  if (closed.top || closed.nested > 0) {
    const where = [closed.top ? 'the top level' : '', closed.nested > 0 ? `${closed.nested} nested object(s)` : ''].filter(Boolean).join(' and ');
    notes.push(`added \`additionalProperties: false\` at ${where}: arguments the upstream did not declare are refused`);
  }
  return schema;
}

/**
 * Removes what ajv would ignore anyway (unknown keywords and formats, keywords without their
 * partner), so the draft loads where contract schemas are checked strictly; each removal is noted
 * for review. Anything else strict mode refuses is noted: the draft does not load until it is fixed.
 */
function withoutIgnoredKeywords(schema: Record<string, Json>, notes: string[]): Record<string, Json> {
  const removed: string[] = [];
  // Each pass removes what the last one found; a removal can only uncover a partnerless keyword.
  for (let pass = 0; pass < 4; pass++) {
    const problems = schemaProblems(schema);
    const removable = problems.filter((p) => p.removable && p.path.length > 0);
    if (removable.length === 0) {
      for (const p of problems) notes.push(`review: the input schema does not load as it is${p.path.length > 0 ? ` (at \`${formatPath(p.path)}\`)` : ''}: ${p.message}; fix it before use`);
      break;
    }
    for (const p of removable) {
      const parent = valueAt(schema, p.path.slice(0, -1));
      const key = p.path[p.path.length - 1];
      if (isObject(parent) && typeof key === 'string' && Object.hasOwn(parent, key)) {
        delete (parent as Record<string, Json>)[key];
        removed.push(`\`${formatPath(p.path)}\``);
      }
    }
  }
  if (removed.length > 0) {
    notes.push(`review: removed ${removed.length} keyword(s) ajv would ignore (unknown, or without their partner), so the draft loads in strict mode: ${removed.join(', ')}; re-create any limit they meant with known keywords`);
  }
  return schema;
}

/** Closes nested object schemas that list their properties; returns how many were closed. */
function closeNested(s: Json): number {
  if (!isObject(s)) return 0;
  const m = s as Record<string, Json>;
  let n = 0;
  const props = m['properties'];
  const plain = !COMBINATORS.some((k) => k in m);
  if (plain && isObject(props) && Object.keys(props).length > 0 && m['additionalProperties'] === undefined) {
    m['additionalProperties'] = false;
    n++;
  }
  if (plain && isObject(props)) for (const p of Object.values(props)) n += closeNested(p);
  const items = m['items'];
  if (plain && isObject(items)) n += closeNested(items);
  return n;
}

/** What differs between two object schemas, in short phrases (empty when they are equal). */
export function describeSchemaChange(before: Json, after: Json): string[] {
  if (canonicalJson(before) === canonicalJson(after)) return [];
  const out: string[] = [];
  const propsOf = (s: Json): Record<string, Json> => (isObject(s) && isObject(s['properties']) ? (s['properties'] as Record<string, Json>) : {});
  const reqOf = (s: Json): string[] => (isObject(s) && Array.isArray(s['required']) ? (s['required'] as Json[]).filter((x): x is string => typeof x === 'string') : []);
  const b = propsOf(before);
  const a = propsOf(after);
  const added = Object.keys(a).filter((k) => !(k in b));
  const removed = Object.keys(b).filter((k) => !(k in a));
  const changed = Object.keys(a).filter((k) => k in b && canonicalJson(a[k] ?? null) !== canonicalJson(b[k] ?? null));
  const nowRequired = reqOf(after).filter((k) => !reqOf(before).includes(k));
  const noLonger = reqOf(before).filter((k) => !reqOf(after).includes(k));
  if (added.length) out.push(`argument(s) added: ${added.map(tick).join(', ')}`);
  if (removed.length) out.push(`argument(s) removed: ${removed.map(tick).join(', ')}`);
  if (changed.length) out.push(`argument(s) changed: ${changed.map(tick).join(', ')}`);
  if (nowRequired.length) out.push(`now required: ${nowRequired.map(tick).join(', ')}`);
  if (noLonger.length) out.push(`no longer required: ${noLonger.map(tick).join(', ')}`);
  if (out.length === 0) out.push('other schema keywords changed');
  return out;
}

// --- text an upstream wrote -----------------------------------------------------------------

const INJECTION = [
  /<\s*\/?\s*(important|system|instructions?)\s*>/i,
  /\bignore (all |any )?(previous|prior|above)\b/i,
  /\b(do not|don't|never) (tell|mention|inform|reveal)\b/i,
  /\b(before|after) (using|calling) (this|any) tool\b/i,
  /\b(read|send|include|pass|upload)\b[^.]{0,60}\b(ssh|id_rsa|\.env|credentials?|api[_ -]?keys?|passwords?|tokens?)\b/i,
];
// Invisible or direction-changing characters a reviewer cannot see in an editor.
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u{e0000}-\u{e007f}]/u;

/** Warnings about upstream text that looks written for a model rather than a person (tool poisoning). */
export function suspiciousText(text: string, what: string): string[] {
  const out: string[] = [];
  const hit = INJECTION.find((re) => re.test(text));
  if (hit) out.push(`WARNING: ${what} reads like instructions aimed at a model (matches ${hit.source}): possible tool poisoning`);
  const hidden = [...text].filter((ch) => INVISIBLE.test(ch));
  if (hidden.length > 0) {
    const codes = [...new Set(hidden.map((ch) => `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`))];
    out.push(`WARNING: ${what} contains invisible or control characters (${codes.slice(0, 8).join(', ')}): possible hidden instructions`);
  }
  if (/https?:\/\/|[\w.+-]+@[\w-]+\.[\w.]+/.test(text)) out.push(`review: ${what} names a URL or an e-mail address`);
  if (text.length > 1500) out.push(`review: ${what} is long (${text.length} characters); long descriptions can hide instructions`);
  return out;
}

/** The text without the characters `INVISIBLE` matches. */
export function stripInvisible(text: string): string {
  return [...text].filter((ch) => !INVISIBLE.test(ch)).join('');
}

/** A deep copy of a schema with invisible characters removed from its descriptions and titles. */
function cleanText(v: Json): Json {
  if (Array.isArray(v)) return v.map(cleanText);
  if (!isObject(v)) return v;
  // fromEntries defines own properties, so a key named `__proto__` stays data.
  return Object.fromEntries(
    Object.entries(v).map(([k, x]) => [k, (k === 'description' || k === 'title') && typeof x === 'string' ? stripInvisible(x) : cleanText(x)]),
  );
}

/** `suspiciousText` over every description and title inside a schema (agents see the schema too). */
function suspiciousSchemaText(schema: Json): string[] {
  const out = new Set<string>();
  const walk = (v: Json, path: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (isObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'description' || k === 'title') && typeof x === 'string') {
          for (const w of suspiciousText(x, `the input schema's ${path ? `\`${path}\` ` : ''}${k}`)) out.add(w);
        } else walk(x, path ? `${path}.${k}` : k);
      }
    }
  };
  walk(schema, '');
  return [...out];
}

function isObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function tick(s: string): string {
  return `\`${s}\``;
}
