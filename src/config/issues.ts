// YAML parsing and zod validation with located, readable errors: what was found, what was expected, where.
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { AirlockError } from '../errors.js';
import { formatPath, locate, type PathSegment } from './locate.js';

/** A parsed YAML file with what is needed to point back into it. */
export interface YamlSource {
  /** The file's path as shown in messages (relative to where the user pointed, when possible). */
  readonly file: string;
  readonly doc: Document;
  readonly lineCounter: LineCounter;
  /** The plain JavaScript value of the document (before validation). */
  readonly value: unknown;
}

/** Parses YAML text, turning every syntax error into an `AirlockError` at its line and column. */
export function parseYamlText(file: string, text: string): { source: YamlSource } | { errors: AirlockError[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      errors: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        if (e.code === 'DUPLICATE_KEY') {
          const key = (/^[^:\n]*/.exec(text.slice(e.pos[0]))?.[0] ?? '').trim();
          return new AirlockError('config', `invalid YAML: duplicate key \`${key}\``, {
            hint: 'a key may appear once per map: remove or merge the repeated one',
            location: { file, line: pos.line, column: pos.col },
          });
        }
        const message = lowerFirst(e.message.replace(/ at line \d+, column \d+[\s\S]*$/, ''));
        return new AirlockError('config', `invalid YAML: ${message}`, {
          hint: 'fix the YAML syntax here: indentation, quotes and brackets',
          location: { file, line: pos.line, column: pos.col },
        });
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    return { errors: [new AirlockError('config', `invalid YAML: ${lowerFirst(errorText(cause))}`, { location: { file }, cause })] };
  }
  return { source: { file, doc, lineCounter, value } };
}

/** Validates a parsed YAML value with a zod schema; every issue becomes a located `AirlockError`. */
export function validate<S extends z.ZodType>(source: YamlSource, schema: S): { value: z.output<S> } | { errors: AirlockError[] } {
  const result = schema.safeParse(source.value ?? {});
  if (result.success) return { value: result.data };
  const errors = result.error.issues.flatMap((issue) => describeIssue(issue, source, schema));
  return { errors: sortErrors(errors) };
}

/** Builds a `config` error pointing at `p` inside `source` (at the key itself with `key`). */
export function located(source: YamlSource, p: readonly PathSegment[], message: string, hint?: string, key = false): AirlockError {
  const pos = locate(source.doc, source.lineCounter, p, key ? { at: 'key' } : {});
  const shownPath = formatPath(p);
  return new AirlockError('config', message, {
    ...(hint === undefined ? {} : { hint }),
    location: { file: source.file, line: pos.line, column: pos.column, ...(shownPath === '' ? {} : { path: shownPath }) },
  });
}

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue, source: YamlSource, root: z.ZodType): AirlockError[] {
  const p = issue.path as PathSegment[];
  const value = valueAt(source.value, p);
  const missing = value === undefined;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(root, p, source.value);
      return issue.keys.map((k) => {
        const guess = allowed.length > 0 ? closest(k, allowed) : undefined;
        const hint =
          allowed.length === 0
            ? 'remove it'
            : `${guess === undefined ? '' : `did you mean \`${guess}\`? `}keys allowed here: ${allowed.map((a) => `\`${a}\``).join(', ')}`;
        return located(source, [...p, k], `unknown key \`${k}\``, hint, true);
      });
    }
    case 'invalid_type': {
      if (missing) {
        const key = p[p.length - 1];
        return [located(source, p, `missing required key \`${String(key)}\` (expected ${typeName(issue.expected)})`, `add \`${String(key)}\` here`)];
      }
      return [located(source, p, `expected ${typeName(issue.expected)}, found ${describeValue(value)}`)];
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => `\`${String(v)}\``);
      const expected = options.length === 1 ? options[0] : `one of ${options.join(', ')}`;
      if (missing) return [located(source, p, `missing required key \`${String(p[p.length - 1])}\` (expected ${expected})`)];
      return [located(source, p, `expected ${expected}, found ${describeValue(value)}`)];
    }
    case 'invalid_union': {
      const disc = (issue as { discriminator?: string; options?: unknown[] }).discriminator;
      const options = (issue as { options?: unknown[] }).options;
      if (disc !== undefined && options !== undefined) {
        const expected = `one of ${options.map((o) => `\`${String(o)}\``).join(', ')}`;
        if (missing) return [located(source, p, `missing required key \`${disc}\` (expected ${expected})`)];
        return [located(source, p, `expected \`${disc}\` to be ${expected}, found ${describeValue(value)}`)];
      }
      // One shape of the value's own type (a map where the other shapes are strings): its problems, said precisely.
      const branches = (issue as { errors?: Issue[][] }).errors ?? [];
      const typed = branches.filter((b) => !(b.length === 1 && b[0]?.code === 'invalid_type' && b[0].path.length === 0));
      if (typed.length === 1 && branches.length > 1) return (typed[0] as Issue[]).flatMap((i) => describeIssue({ ...i, path: [...p, ...i.path] } as Issue, source, root));
      return [located(source, p, `found ${describeValue(value)}, which matches none of the allowed shapes`)];
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      const why = inner === undefined ? 'not allowed' : readable(inner.message);
      return [located(source, p, `invalid key \`${String(p[p.length - 1])}\`: ${why}`, undefined, true)];
    }
    case 'invalid_format': {
      const expected = /^expected /.test(issue.message) ? issue.message : `expected a valid ${issue.format}`;
      return [located(source, p, `${expected}, found ${describeValue(value)}`)];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const small = issue.code === 'too_small';
      let expected: string;
      if (issue.origin === 'array' || issue.origin === 'set') expected = `${small ? 'at least' : 'at most'} ${String(bound)} item${Number(bound) === 1 ? '' : 's'}`;
      else if (issue.origin === 'string' && small && Number(bound) === 1) expected = 'a non-empty string';
      else if (issue.origin === 'string') expected = `a string of ${small ? 'at least' : 'at most'} ${String(bound)} characters`;
      else expected = `a number ${small ? (issue.inclusive ? '≥' : '>') : issue.inclusive ? '≤' : '<'} ${String(bound)}`;
      return [located(source, p, `expected ${expected}, found ${describeValue(value)}`)];
    }
    case 'custom': {
      const hint = (issue.params as { hint?: unknown } | undefined)?.hint;
      return [located(source, p, readable(issue.message), typeof hint === 'string' ? hint : undefined)];
    }
    default:
      return [located(source, p, `${readable(issue.message)}, found ${describeValue(value)}`)];
  }
}

function typeName(expected: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    int: 'an integer',
    boolean: '`true` or `false`',
    object: 'a map',
    record: 'a map',
    array: 'a list',
    null: '`null`',
  };
  return names[expected] ?? `\`${expected}\``;
}

/** A short, readable rendering of a found value: its kind and (shortened) text. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value (`null`)';
  if (typeof value === 'string') return `the string \`${shorten(value)}\``;
  if (typeof value === 'number') return `the number \`${String(value)}\``;
  if (typeof value === 'boolean') return `\`${String(value)}\``;
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : `a list \`${shorten(safeJson(value))}\``;
  if (typeof value === 'object') return Object.keys(value).length === 0 ? 'an empty map' : `a map \`${shorten(safeJson(value))}\``;
  return `\`${shorten(String(value))}\``;
}

function shorten(s: string, max = 40): string {
  const oneLine = s.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** zod's own messages start with a capital; ours are lowercase. */
function readable(message: string): string {
  return lowerFirst(message);
}

function lowerFirst(s: string): string {
  return s.length > 0 && /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

/** The value at `p` inside plain data, or `undefined` when the path does not exist. */
export function valueAt(root: unknown, p: readonly PathSegment[]): unknown {
  let v: unknown = root;
  for (const seg of p) {
    if (v === null || typeof v !== 'object' || typeof seg === 'symbol') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

// Walks a zod schema alongside the data to find which keys an object at `p` accepts.
interface DefLike {
  readonly type: string;
  readonly shape?: Record<string, z.ZodType>;
  readonly element?: z.ZodType;
  readonly valueType?: z.ZodType;
  readonly keyType?: z.ZodType;
  readonly innerType?: z.ZodType;
  readonly in?: z.ZodType;
  readonly options?: readonly z.ZodType[];
  readonly discriminator?: string;
  readonly values?: readonly unknown[];
  readonly entries?: Record<string, unknown>;
}

function defOf(s: z.ZodType | undefined): DefLike | undefined {
  return (s as unknown as { _zod?: { def?: DefLike } } | undefined)?._zod?.def;
}

function unwrap(s: z.ZodType | undefined, data: unknown): z.ZodType | undefined {
  for (let i = 0; i < 20 && s !== undefined; i++) {
    const def = defOf(s);
    if (def === undefined) return undefined;
    if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault' || def.type === 'readonly') {
      s = def.innerType;
    } else if (def.type === 'pipe') {
      s = def.in;
    } else if (def.type === 'union' && def.options) {
      const disc = def.discriminator;
      const tag = disc !== undefined && data !== null && typeof data === 'object' ? (data as Record<string, unknown>)[disc] : undefined;
      s = def.options.find((o) => {
        const shape = defOf(unwrap(o, undefined))?.shape;
        const lit = disc !== undefined ? defOf(shape?.[disc]) : undefined;
        return lit?.values?.includes(tag) ?? false;
      });
    } else {
      return s;
    }
  }
  return s;
}

function allowedKeys(root: z.ZodType, p: readonly PathSegment[], data: unknown): string[] {
  let s: z.ZodType | undefined = unwrap(root, data);
  let v: unknown = data;
  for (const seg of p) {
    const def = defOf(s);
    v = v !== null && typeof v === 'object' && typeof seg !== 'symbol' ? (v as Record<string | number, unknown>)[seg] : undefined;
    if (def === undefined) return [];
    if (def.type === 'object') s = def.shape?.[String(seg)];
    else if (def.type === 'array') s = def.element;
    else if (def.type === 'record') s = def.valueType;
    else return [];
    s = unwrap(s, v);
  }
  const def = defOf(s);
  if (def?.type === 'object' && def.shape) return Object.keys(def.shape);
  if (def?.type === 'record') {
    const keyDef = defOf(unwrap(def.keyType, undefined));
    if (keyDef?.type === 'enum' && keyDef.entries) return Object.values(keyDef.entries).map(String);
  }
  return [];
}

/** The allowed word nearest to `word`, if it is close enough to be a likely typo. */
export function closest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestDistance) {
      best = o;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Orders errors file by file (in first-reported order), then top to bottom. */
export function sortErrors(errors: readonly AirlockError[]): AirlockError[] {
  // Files keep the order they were first reported in; within a file, errors go top to bottom.
  const fileRank = new Map<string, number>();
  for (const e of errors) {
    const f = e.location?.file ?? '';
    if (!fileRank.has(f)) fileRank.set(f, fileRank.size);
  }
  return errors
    .map((e, i) => ({ e, i, f: fileRank.get(e.location?.file ?? '') ?? 0 }))
    .sort(
      (a, b) =>
        a.f - b.f ||
        (a.e.location?.line ?? 0) - (b.e.location?.line ?? 0) ||
        (a.e.location?.column ?? 0) - (b.e.location?.column ?? 0) ||
        a.i - b.i,
    )
    .map((x) => x.e);
}

/** The message of an unknown thrown value. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
