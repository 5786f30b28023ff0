// Loads Cedar policy files: parse, assign ids, check annotations, validate against the schema, hash.
// Runs once when a workspace loads; every problem in every file is reported at once.
import type * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { PrincipalConfig, ToolContract } from '../config/schema.js';
import { AirlockError, AirlockErrors, type Location } from '../errors.js';
import { APPROVAL_LEVELS, type ApprovalLevel, type Sha256Hex } from '../types.js';
import { hashJson } from '../util/hash.js';
import {
  buildCedarSchema,
  exposedFields,
  principalEntity,
  roleEntity,
  toolEntity,
  type CedarSchemaJson,
  type ExposeType,
} from './cedar-schema.js';
import type { CedarEngine, CedarEntity } from './engine.js';
import { sealCedarEntity } from './cedar-input.js';
import { withCedar } from './cedar-runtime.js';
import { createWasmEngine } from './wasm-engine.js';
import { compileFastEngineFromJson } from './fast/engine.js';

/** One Cedar policy file as read from the workspace. */
export interface PolicySource {
  /** Path as the user should see it (relative to the workspace). */
  readonly file: string;
  readonly text: string;
}

/** Cedar's JSON form of a policy (the shape `policyToJson` returns). */
export type PolicyJson = cedar.PolicyJson;

/** One parsed, validated policy with where it came from and what its annotations ask for. */
export interface CompiledPolicy {
  /** `@id("…")` if present, else `<file>#<index>` (index from 0 within the file). */
  readonly id: string;
  readonly file: string;
  /** Index of the policy within its file, from 0. */
  readonly index: number;
  /** 1-based line and column of the policy's first character (its first annotation). */
  readonly line: number;
  readonly column: number;
  /** The policy's source text, exactly as written. */
  readonly text: string;
  readonly effect: 'permit' | 'forbid';
  /** Cedar's JSON form of the policy, for engines that compile it further. */
  readonly json: PolicyJson;
  /** All annotations, verbatim. */
  readonly annotations: Readonly<Record<string, string>>;
  /** The obligation a permit carries (`@approval`), if any. */
  readonly approval: ApprovalLevel | undefined;
  /** The human reason (`@reason`), if any. */
  readonly reason: string | undefined;
  /**
   * True when the scope constrains the resource (`resource == …` or `resource in …`), which is
   * what destructive, egress and financial tools need from a permit.
   */
  readonly scopedResource: boolean;
}

/** A policy set ready to decide with: policies, schema, hash, prebuilt entities and an engine. */
export interface CompiledPolicies {
  /** Policies by id, in file order. */
  readonly policies: ReadonlyMap<string, CompiledPolicy>;
  /** The Cedar schema (JSON form) the policies were validated against. */
  readonly schema: CedarSchemaJson;
  /** sha256 over the canonical JSON of the sorted (id, text) pairs plus the schema. */
  readonly policySetHash: Sha256Hex;
  /** The evaluator; swap it for a faster one with `{ ...compiled, engine }`. */
  readonly engine: CedarEngine;
  /** The tool contracts the schema was generated from, by name. */
  readonly tools: ReadonlyMap<string, ToolContract>;
  /** Exposed argument fields (the union over all contracts), name → type. */
  readonly exposed: ReadonlyMap<string, ExposeType>;
  /** Prebuilt entities: tools by name, roles by name, declared principals by `kind:id`. */
  readonly toolEntities: ReadonlyMap<string, CedarEntity>;
  readonly roleEntities: ReadonlyMap<string, CedarEntity>;
  readonly principalEntities: ReadonlyMap<string, CedarEntity>;
  /** Every prebuilt entity (principals, roles, tools), for tools that want the whole store. */
  readonly entities: readonly CedarEntity[];
  /** Validator warnings, formatted; they do not stop loading. */
  readonly warnings: readonly string[];
}

/** Options for `compilePolicies`. */
export interface CompileOptions {
  /** Declared principals (workspace identity), used to prebuild principal and role entities. */
  readonly principals?: readonly PrincipalConfig[];
  /** Value budgets: policies may read `context.value.<name>`. */
  readonly valueBudgets?: readonly { readonly name: string }[];
  /** Builds the engine from id → text and the policy-set hash (default: cedar-wasm). */
  readonly engine?: (policies: Readonly<Record<string, string>>, policySetHash: Sha256Hex) => CedarEngine;
}


/**
 * Parses and validates Cedar policy files against the schema generated from `contracts` (strict mode).
 * Throws `AirlockErrors` (code `policy`, each with file, line and column) listing every problem found:
 * syntax errors, templates, duplicate or empty ids, bad `@approval` values, schema violations.
 */
export function compilePolicies(
  sources: readonly PolicySource[],
  contracts: readonly ToolContract[],
  options: CompileOptions = {},
): CompiledPolicies {
  const schema = buildCedarSchema(contracts, options.valueBudgets ?? []);
  const errors: AirlockError[] = [];
  const policies = new Map<string, CompiledPolicy>();
  const starts = new Map<string, { source: PolicySource; start: number }>();

  for (const source of sources) {
    for (const p of parseFile(source, errors)) {
      const seen = policies.get(p.policy.id);
      if (seen) {
        errors.push(
          policyError(`duplicate policy id \`${p.policy.id}\``, source, p.start, {
            hint: `the first policy with this id is at ${seen.file}:${seen.line}; give each policy a unique \`@id("…")\``,
          }),
        );
        continue;
      }
      policies.set(p.policy.id, p.policy);
      starts.set(p.policy.id, { source, start: p.start });
    }
  }

  const texts: Record<string, string> = {};
  for (const p of policies.values()) texts[p.id] = p.text;
  const warnings: string[] = [];
  if (policies.size > 0) {
    const answer = withCedar((c) => c.validate({ schema: schema as unknown as cedar.Schema, policies: { staticPolicies: texts }, validationSettings: { mode: 'strict' } }));
    if (answer.type === 'failure') {
      throw new AirlockError('internal', `the generated cedar schema was rejected: ${answer.errors.map((e) => e.message).join('; ')}`);
    }
    for (const v of answer.validationErrors) {
      const at = starts.get(v.policyId);
      const message = `policy \`${v.policyId}\`: ${stripPolicyPrefix(v.error.message)}`;
      if (!at) {
        errors.push(new AirlockError('policy', message, hintOf(v.error)));
        continue;
      }
      const loc = v.error.sourceLocations?.[0];
      const policyText = texts[v.policyId] ?? '';
      const offset = at.start + (loc ? byteToIndex(policyText, loc.start) : 0);
      errors.push(policyError(message, at.source, offset, hintOf(v.error)));
    }
    for (const w of answer.validationWarnings) {
      const p = policies.get(w.policyId);
      warnings.push(`${p ? `${p.file}:${p.line}: ` : ''}policy \`${w.policyId}\`: ${stripPolicyPrefix(w.error.message)}`);
    }
  }
  if (errors.length > 0) throw new AirlockErrors(errors);

  const pairs = [...policies.values()].map((p) => ({ id: p.id, text: p.text })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const policySetHash = hashJson({ policies: pairs, schema });
  const engine = options.engine
    ? options.engine(texts, policySetHash)
    : defaultEngine([...policies.values()], texts, policySetHash);

  const toolEntities = new Map(contracts.map((c) => [c.name, toolEntity(c)] as const));
  const principals = options.principals ?? [];
  const roles = new Set(principals.flatMap((p) => p.roles));
  const roleEntities = new Map([...roles].sort().map((r) => [r, roleEntity(r)] as const));
  const principalEntities = new Map(
    principals.map((p) => [`${p.kind}:${p.id}`, principalEntity({ kind: p.kind, id: p.id, roles: p.roles })] as const),
  );
  // Checked once here and frozen, so the engines' boundary check skips their attributes on every request.
  for (const e of [...principalEntities.values(), ...roleEntities.values(), ...toolEntities.values()]) sealCedarEntity(e);
  return {
    policies,
    schema,
    policySetHash,
    engine,
    tools: new Map(contracts.map((c) => [c.name, c] as const)),
    exposed: exposedFields(contracts),
    toolEntities,
    roleEntities,
    principalEntities,
    entities: [...principalEntities.values(), ...roleEntities.values(), ...toolEntities.values()],
    warnings,
  };
}

/** Parses one file into policies with their start offsets (UTF-16 index); problems go to `errors`. */
function parseFile(source: PolicySource, errors: AirlockError[]): { policy: CompiledPolicy; start: number }[] {
  const { text } = source;
  const parts = withCedar((c) => c.policySetTextToParts(text));
  if (parts.type === 'failure') {
    for (const e of parts.errors) {
      const loc = e.sourceLocations?.[0];
      const message = `syntax error: ${e.message.replace(/^failed to parse policies from string: /, '')}`;
      const hint = [loc?.label, e.help].filter((s): s is string => !!s).join('; ');
      errors.push(policyError(message, source, loc ? byteToIndex(text, loc.start) : 0, hint ? { hint } : {}));
    }
    return [];
  }
  let cursor = 0;
  for (const t of parts.policy_templates) {
    const at = text.indexOf(t);
    errors.push(
      policyError('policy templates are not supported', source, Math.max(at, 0), {
        hint: 'write a static policy: replace `?principal` / `?resource` with an entity or a role',
      }),
    );
  }
  const out: { policy: CompiledPolicy; start: number }[] = [];
  parts.policies.forEach((part, index) => {
    const found = text.indexOf(part, cursor);
    const start = found >= 0 ? found : cursor;
    if (found >= 0) cursor = found + part.length;
    const json = withCedar((c) => c.policyToJson(part));
    if (json.type === 'failure') {
      for (const e of json.errors) errors.push(policyError(e.message, source, start, hintOf(e)));
      return;
    }
    const annotations = json.json.annotations ?? {};
    const { line, column } = lineCol(text, start);
    const id = annotations['id'] ?? `${source.file}#${index}`;
    let ok = true;
    if (id.trim() === '') {
      errors.push(policyError('empty policy id in `@id("")`', source, start, { hint: 'give the policy a readable id, or drop `@id`' }));
      ok = false;
    }
    const approvalText = annotations['approval'];
    let approval: ApprovalLevel | undefined;
    if (approvalText !== undefined) {
      if (!(APPROVAL_LEVELS as readonly string[]).includes(approvalText)) {
        errors.push(
          policyError(`policy \`${id}\`: unknown approval level \`${approvalText}\``, source, start, {
            hint: 'use `@approval("single")`, `@approval("reauth")` (one person, freshly re-authenticated) or `@approval("step-up")` (two people)',
          }),
        );
        ok = false;
      } else if (json.json.effect === 'forbid') {
        errors.push(
          policyError(`policy \`${id}\`: \`@approval\` on a forbid has no effect`, source, start, {
            hint: 'approvals are obligations of permits; move `@approval` to the permit it belongs to',
          }),
        );
        ok = false;
      } else approval = approvalText as ApprovalLevel;
    }
    for (const name of Object.keys(annotations)) {
      const meant = likelyTypo(name);
      if (meant) {
        errors.push(
          policyError(`policy \`${id}\`: unknown annotation \`@${name}\``, source, start, { hint: `did you mean \`@${meant}\`?` }),
        );
        ok = false;
      }
    }
    if (!ok) return;
    const resource = json.json.resource;
    out.push({
      start,
      policy: {
        id,
        file: source.file,
        index,
        line,
        column,
        text: part,
        effect: json.json.effect,
        json: json.json,
        annotations,
        approval,
        reason: annotations['reason'],
        scopedResource: resource.op === '==' || resource.op === 'in' || (resource.op === 'is' && resource.in !== undefined),
      },
    });
  });
  return out;
}

/** The Airlock annotation an unknown one is probably a misspelling of (other annotations are allowed). */
function likelyTypo(name: string): string | undefined {
  if (name === 'id' || name === 'approval' || name === 'reason') return undefined;
  return ['approval', 'reason'].find((known) => editDistance(name.toLowerCase(), known) <= 2);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

function policyError(message: string, source: PolicySource, index: number, opts: { hint?: string }): AirlockError {
  const { line, column } = lineCol(source.text, index);
  const location: Location = { file: source.file, line, column };
  return new AirlockError('policy', message, { ...opts, location });
}

function hintOf(e: cedar.DetailedError): { hint?: string } {
  return e.help ? { hint: e.help } : {};
}

function stripPolicyPrefix(message: string): string {
  return message.replace(/^for policy `[^`]*`, /, '');
}

/** Converts a UTF-8 byte offset (how Cedar reports source locations) to a UTF-16 string index. */
export function byteToIndex(text: string, byteOffset: number): number {
  let bytes = 0;
  let i = 0;
  while (i < text.length && bytes < byteOffset) {
    const cp = text.codePointAt(i) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp >= 0x10000 ? 2 : 1;
  }
  return i;
}

/** 1-based line and column of a UTF-16 string index. */
export function lineCol(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: index - lineStart + 1 };
}

/**
 * The compiled fast path when every policy is in its supported subset (differentially tested
 * against cedar-wasm), with cedar-wasm as the fallback for values it cannot compare exactly;
 * cedar-wasm alone otherwise.
 */
function defaultEngine(
  policies: readonly CompiledPolicy[],
  texts: Readonly<Record<string, string>>,
  policySetHash: Sha256Hex,
): CedarEngine {
  const wasm = createWasmEngine(texts, policySetHash);
  const fast = compileFastEngineFromJson(
    policies.map((p) => ({ id: p.id, json: p.json })),
    { fallback: wasm },
  );
  return 'engine' in fast ? fast.engine : wasm;
}
