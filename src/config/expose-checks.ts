// Checks of a contract's `expose`: each field names an argument (or the elements of an array argument)
// whose JSON Schema fits the Cedar type, with one type per field name across the workspace.
import type { PathSegment } from './locate.js';
import type { ToolContract } from './schema.js';

type CedarType = 'string' | 'long' | 'boolean' | 'decimal';

/** Field name → its Cedar type and the first tool exposing it, shared across a workspace's contracts. */
export type ExposedTypes = Map<string, { readonly type: CedarType; readonly tool: string }>;

/**
 * Checks one contract's `expose` against its input schema's properties (`props`, undefined when the schema
 * is unusable) and the types other contracts gave the same field names; problems go to `at`.
 */
export function checkExpose(
  t: ToolContract,
  props: Record<string, Record<string, unknown>> | undefined,
  exposedType: ExposedTypes,
  at: (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void,
): void {
  let eachField: string | undefined;
  for (const [field, entry] of Object.entries(t.expose)) {
    const type = typeof entry === 'string' ? entry : entry.type;
    const source = typeof entry === 'string' ? undefined : entry.each;
    if (source !== undefined) {
      if (eachField !== undefined) {
        at(['expose', field], `fields \`${eachField}\` and \`${field}\` both expose elements of an array argument`, 'a contract may expose the elements of one array argument (the call is decided once per element)', true);
      }
      eachField = field;
    }
    const arg = source ?? field;
    const declared = props?.[arg];
    if (props !== undefined && declared === undefined) {
      at(['expose', field, ...(source === undefined ? [] : ['each'])], `exposed ${source === undefined ? 'field' : 'array argument'} \`${arg}\` is not a property of the tool's \`inputSchema\``, `add \`${arg}\` to \`inputSchema.properties\` or remove it from \`expose\``, source === undefined);
      continue;
    }
    let prop = declared;
    if (prop !== undefined && source !== undefined) {
      const items = prop['items'];
      if (prop['type'] !== 'array' || typeof items !== 'object' || items === null || Array.isArray(items)) {
        at(['expose', field, 'each'], `\`${source}\` is not an array property with \`items\` in the tool's \`inputSchema\``, `declare \`${source}: { type: array, items: { ${jsonTypeFor(type).replace(/`/g, '')} } }\`, or expose a plain field`);
        continue;
      }
      prop = items as Record<string, unknown>;
    }
    if (prop !== undefined && !fitsCedarType(prop, type)) {
      const what = source === undefined ? 'its `inputSchema` property' : `the \`items\` of \`${source}\``;
      at(['expose', field], `exposed field \`${field}\` is \`${type}\` but ${what} is not (${describeSchemaType(prop)})`, `make ${source === undefined ? 'the property' : 'the items'} ${jsonTypeFor(type)} or expose it with a matching type`);
    }
    const seen = exposedType.get(field);
    if (seen !== undefined && seen.type !== type) {
      at(['expose', field], `exposed field \`${field}\` is \`${type}\` here but \`${seen.type}\` in \`${seen.tool}\``, 'policies see all exposed fields in one `context.args` record: give a field the same type everywhere, or rename it');
    } else if (seen === undefined) {
      exposedType.set(field, { type, tool: t.name });
    }
  }
}

/** The JSON types a property schema allows, from `type`, `enum` or `const`. */
function jsonTypesOf(prop: Record<string, unknown>): string[] | undefined {
  if (typeof prop.type === 'string') return [prop.type];
  if (Array.isArray(prop.type)) return prop.type.map(String);
  const values = Array.isArray(prop.enum) ? prop.enum : 'const' in prop ? [prop.const] : undefined;
  if (values === undefined) return undefined;
  return [...new Set(values.map((v) => (typeof v === 'number' && Number.isInteger(v) ? 'integer' : v === null ? 'null' : typeof v)))];
}

function fitsCedarType(prop: Record<string, unknown>, type: CedarType): boolean {
  const types = jsonTypesOf(prop);
  if (types === undefined || types.length === 0) return false;
  if (type === 'decimal') return types.every((t) => t === 'number' || t === 'integer');
  const want = type === 'long' ? 'integer' : type;
  return types.every((t) => t === want);
}

function describeSchemaType(prop: Record<string, unknown>): string {
  const types = jsonTypesOf(prop);
  return types === undefined ? 'it declares no type' : `it allows ${types.map((t) => `\`${t}\``).join(', ')}`;
}

function jsonTypeFor(type: CedarType): string {
  return type === 'long' ? '`type: integer`' : type === 'decimal' ? '`type: number`' : `\`type: ${type}\``;
}
