// Strict checks of a contract's input schema: a valid draft-07 schema whose every keyword and format ajv knows and applies, each problem at its path.
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { closest, describeValue, errorText, valueAt } from './issues.js';
import type { PathSegment } from './locate.js';

// ajv-formats is CommonJS; its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsImport as unknown as { default?: unknown }).default ?? addFormatsImport) as (ajv: Ajv) => Ajv;

/**
 * An ajv for contract input schemas: draft-07 with the standard formats. `strict` is what a
 * workspace load uses: a keyword ajv does not know, or would ignore where it stands, and an unknown
 * format are errors (not style: union types, tuples and `required` names are left alone).
 */
export function contractAjv(opts: { readonly strict: boolean }): Ajv {
  const ajv = opts.strict
    ? new Ajv({ strict: true, strictTypes: false, strictTuples: false, strictRequired: false, allowMatchingProperties: true, allErrors: true, logger: false })
    : new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  return ajv;
}

/** One problem in a schema: where (a path inside the schema), what, and what to do. */
export interface SchemaProblem {
  /** Path inside the schema; for a key problem, the last segment is the key itself. */
  readonly path: readonly PathSegment[];
  /** True when the key at `path` is the problem (point at the key, not its value). */
  readonly key: boolean;
  readonly message: string;
  readonly hint: string;
  /**
   * Set when removing the key at `path` removes the problem without changing what the schema
   * enforces (ajv would ignore that keyword anyway): what `airlock tools import` does to a draft.
   */
  readonly removable: boolean;
}

const strictAjv = contractAjv({ strict: true });
const metaAjv = contractAjv({ strict: false });

/** `$async` makes ajv return a promise, which reads as "valid": never allowed in a contract. */
const REFUSED_KEYWORDS: ReadonlySet<string> = new Set(['$async']);
/** Every keyword a contract schema may use: what the strict ajv knows (draft-07, formats), less the refused ones. */
export const SCHEMA_KEYWORDS: readonly string[] = Object.keys(strictAjv.RULES.keywords).filter((k) => !REFUSED_KEYWORDS.has(k));
/** The formats a contract schema may name. */
export const SCHEMA_FORMATS: readonly string[] = Object.keys(strictAjv.formats);

/** Keywords that ajv ignores where they stand, as rules over one schema object, each with its message. */
const IGNORED_RULES: readonly { readonly rule: Record<string, unknown>; readonly keyword: string; readonly message: string; readonly hint: string }[] = [
  {
    rule: { if: { required: ['additionalItems'] }, then: { required: ['items'], properties: { items: { type: 'array' } } } },
    keyword: 'additionalItems',
    message: '`additionalItems` is ignored unless `items` is a list of schemas',
    hint: 'remove `additionalItems`, or give `items` as a list (a tuple)',
  },
  {
    rule: { if: { required: ['if'] }, then: { anyOf: [{ required: ['then'] }, { required: ['else'] }] } },
    keyword: 'if',
    message: '`if` without `then` or `else` is ignored',
    hint: 'add `then` or `else`, or remove `if`',
  },
  { rule: { if: { required: ['then'] }, then: { required: ['if'] } }, keyword: 'then', message: '`then` without `if` is ignored', hint: 'add the `if` it belongs to, or remove `then`' },
  { rule: { if: { required: ['else'] }, then: { required: ['if'] } }, keyword: 'else', message: '`else` without `if` is ignored', hint: 'add the `if` it belongs to, or remove `else`' },
  {
    rule: { if: { required: ['nullable'] }, then: { required: ['type'] } },
    keyword: 'nullable',
    message: '`nullable` needs a `type` beside it',
    hint: 'add `type`, or write the types as a list instead: `type: [string, "null"]`',
  },
];

/**
 * The draft-07 meta-schema, tightened: every schema object (at any depth, through the meta-schema's
 * own recursion) may use only `SCHEMA_KEYWORDS`, name only `SCHEMA_FORMATS`, and break none of the
 * `IGNORED_RULES`. Validating a schema against it reports every problem with its JSON Pointer.
 */
const strictMeta = ((): ((schema: unknown) => boolean) & { errors?: ErrorObject[] | null } => {
  const draft07 = metaAjv.getSchema(String(metaAjv.defaultMeta()))?.schema as Record<string, unknown> | undefined;
  if (draft07 === undefined) throw new Error('ajv has no draft-07 meta-schema');
  const base = structuredClone(draft07);
  const properties = base['properties'] as Record<string, unknown>;
  const meta = {
    ...base,
    $id: 'urn:airlock:contract-input-schema',
    propertyNames: { enum: SCHEMA_KEYWORDS },
    properties: { ...properties, format: { type: 'string', enum: SCHEMA_FORMATS } },
    allOf: IGNORED_RULES.map((r) => r.rule),
  };
  return metaAjv.compile(meta);
})();

/**
 * Every problem that makes `schema` unfit as a contract's input schema: not valid draft-07, a
 * keyword ajv does not know (a misspelt `maxLenght` would silently drop the limit), an unknown
 * format, a keyword ajv would ignore where it stands, or anything else ajv's strict mode refuses.
 * A top-level `$schema` is allowed (Airlock checks arguments as draft-07 whatever it says).
 */
export function schemaProblems(schema: Record<string, unknown>): SchemaProblem[] {
  const copy: Record<string, unknown> = { ...schema };
  delete copy['$schema'];
  if (!metaAjv.validateSchema(copy)) return invalidSchema(copy, metaAjv.errors ?? []);
  if (!strictMeta(copy)) {
    const problems = strictProblems(copy, strictMeta.errors ?? []);
    if (problems.length > 0) return problems;
  }
  try {
    strictAjv.compile(copy);
  } catch (cause) {
    return [{ path: [], key: false, message: `invalid JSON Schema: ${errorText(cause)}`, hint: 'the input schema must be a JSON Schema (draft-07) that ajv compiles in strict mode', removable: false }];
  } finally {
    strictAjv.removeSchema(copy);
  }
  return [];
}

/** The draft-07 meta-schema's own errors: one per place, the value found and what was expected. */
function invalidSchema(schema: Record<string, unknown>, errors: readonly ErrorObject[]): SchemaProblem[] {
  const seen = new Set<string>();
  const out: SchemaProblem[] = [];
  for (const e of errors) {
    if (seen.has(e.instancePath) || e.keyword === 'anyOf') continue;
    seen.add(e.instancePath);
    const p = pointerToPath(schema, e.instancePath);
    const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
    const expected = allowed ? `one of ${allowed.map((a) => `\`${String(a)}\``).join(', ')}` : (e.message ?? 'a valid value').replace(/^must be /, '');
    out.push({ path: p, key: false, message: `invalid JSON Schema: expected ${expected}, found ${describeValue(valueAt(schema, p))}`, hint: 'the input schema must be a valid JSON Schema (draft-07)', removable: false });
  }
  return out;
}

/** The tightened meta-schema's errors: unknown keywords, unknown formats, ignored keywords. */
function strictProblems(schema: Record<string, unknown>, errors: readonly ErrorObject[]): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  for (const e of errors) {
    const at = pointerToPath(schema, e.instancePath);
    if (e.keyword === 'propertyNames') {
      const name = String((e.params as { propertyName?: unknown }).propertyName);
      out.push({ path: [...at, name], key: true, ...unknownKeyword(name) });
    } else if (e.schemaPath === '#/properties/format/enum') {
      const format = String(valueAt(schema, at));
      const guess = closest(format, SCHEMA_FORMATS);
      out.push({
        path: at,
        key: false,
        message: `unknown format \`${format}\`: ajv would not check it`,
        hint: `${guess === undefined ? '' : `did you mean \`${guess}\`? `}known formats: ${SCHEMA_FORMATS.map((f) => `\`${f}\``).join(', ')} (or check the text with a \`pattern\`)`,
        removable: true,
      });
    } else if (e.keyword === 'if') {
      const rule = IGNORED_RULES[Number(/^#\/allOf\/(\d+)\/if$/.exec(e.schemaPath)?.[1])];
      if (rule !== undefined) out.push({ path: [...at, rule.keyword], key: true, message: rule.message, hint: rule.hint, removable: true });
    }
  }
  return out;
}

function unknownKeyword(name: string): Pick<SchemaProblem, 'message' | 'hint' | 'removable'> {
  if (REFUSED_KEYWORDS.has(name)) {
    return { message: `JSON Schema keyword \`${name}\` is not allowed in a contract`, hint: 'remove it: arguments are checked synchronously', removable: false };
  }
  const guess = closest(name, SCHEMA_KEYWORDS);
  return {
    message: `unknown JSON Schema keyword \`${name}\`: ajv would ignore it, so the contract would not enforce it`,
    hint: `${guess === undefined ? 'remove it' : `did you mean \`${guess}\`?`} (notes for people go in \`description\` or \`$comment\`)`,
    removable: true,
  };
}

/** A JSON Pointer (`/properties/a/type`) as path segments, with array indexes as numbers. */
export function pointerToPath(root: unknown, pointer: string): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  let v: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const next: PathSegment = Array.isArray(v) && /^\d+$/.test(seg) ? Number(seg) : seg;
    out.push(next);
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[seg] : undefined;
  }
  return out;
}
