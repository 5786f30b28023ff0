// Per-value provenance (pure): every value a run has seen (its input, each tool result, field by field
// with the trust its contract gives that field) is kept as a keyed fingerprint with its sources; a
// proposed action's arguments are matched against them, so policy knows, per argument, whether the
// value came from a trusted source, only from untrusted text, or from nowhere the run has read.
// Matching is exact after normalisation: whole strings, and the e-mail addresses, URLs, IBANs,
// identifiers and numbers inside text (an amount with a currency also as minor units, 40 EUR → 4000).
import type { Json, Trust } from '../types.js';
import { forEachLeaf } from './json-leaves.js';
import { sha256Hex } from '../util/hash.js';

/** Bounds on what a run keeps and what one result or argument may cost. */
export const PROVENANCE_LIMITS = {
  /** Distinct values a run keeps; past it new values are dropped (counted), which only ever makes an argument look less trusted. */
  maxValues: 5000,
  /** Distinct sources a run keeps (tools, fields, the input); past it, sightings of new sources are dropped. */
  maxSources: 200,
  /** Leaves of one result read; the rest of a larger result is not read. */
  maxLeaves: 5000,
  /** A string longer than this is matched by what it contains, never as a whole. */
  maxWholeChars: 512,
  /** Values taken out of one string (addresses, numbers, identifiers). */
  maxTokensPerString: 64,
  /** Characters of one string searched for tokens. */
  maxScanChars: 20_000,
  /** Elements of one list argument given their own provenance; policy decides no longer list (`MAX_EXPOSED_ELEMENTS` is this bound). */
  maxElements: 256,
} as const;

/** What a run has seen: its sources, and per value fingerprint the sources it was seen in, trusted or not. */
export interface SeenValues {
  /** Source names (`input`, `tickets.get_ticket`, `bank.list_transactions:transactions[].memo`); indices below point here. */
  readonly sources: readonly string[];
  /** Fingerprint → [trusted source indices, untrusted source indices]. */
  readonly values: Readonly<Record<string, readonly [readonly number[], readonly number[]]>>;
  /** Values not kept because a bound was reached. */
  readonly dropped: number;
}

/** A run that has seen nothing. */
export const NOTHING_SEEN: SeenValues = { sources: [], values: {}, dropped: 0 };

/** One value seen in one source. */
export interface Sighting {
  readonly key: string;
  readonly source: string;
  readonly trusted: boolean;
}

/** Where one value came from, as policy sees it (`context.provenance.<field>`). */
export interface ValueProvenance {
  /** Seen anywhere in the run. */
  readonly seen: boolean;
  /** Seen in at least one trusted source. */
  readonly trusted: boolean;
  readonly sources: readonly string[];
  /** The untrusted sources it was seen in. */
  readonly untrustedSources: readonly string[];
}

/**
 * Where one exposed argument came from. For a field exposed as each element of a list (`{ type, each }`)
 * the fields combine its elements (seen: every element seen; trusted: every element trusted; the sources'
 * unions, sorted) and `elements` holds each element's own, in order: what policy sees when it decides that element.
 */
export interface ArgProvenance extends ValueProvenance {
  readonly elements?: readonly ValueProvenance[];
}

/** A contract's per-field trust: path patterns (`memo`, `transactions[].memo`) to the trust of what lies under them. */
export type FieldTrust = Readonly<Record<string, Trust>>;

/** Why a field-trust path is malformed, or null: dot-separated names, each optionally followed by `[]`. */
export function fieldPathProblem(path: string): string | null {
  if (path.length === 0 || path.length > 200) return 'a path is 1 to 200 characters';
  for (const part of path.split('.')) {
    if (!/^[^.[\]]+(\[\])*$/.test(part)) return `\`${path}\` is not a field path (\`name\`, \`list[].name\`, \`a.b\`)`;
  }
  return null;
}

/** Splits `a.list[].b` into `['a', 'list', '[]', 'b']`. */
function pathSegments(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split('.')) {
    const name = part.replace(/(\[\])+$/, '');
    out.push(name);
    for (let i = 0; i < (part.length - name.length) / 2; i++) out.push('[]');
  }
  return out;
}

/**
 * The values in a tool's result (or the run's input), each with its source and trust: `trust` for the
 * whole, except below a path `fieldTrust` names (the longest matching path wins). A field with its own
 * trust is its own source (`tool:path`), so policy can say which part of a result steered an argument.
 */
export function sightingsOf(value: Json, source: string, trust: Trust, fieldTrust: FieldTrust = {}): Sighting[] {
  const patterns = Object.entries(fieldTrust).map(([p, t]) => ({ path: p, segments: pathSegments(p), trust: t }));
  const out: Sighting[] = [];
  const seen = new Set<string>();
  let leaves = 0;
  const add = (key: string, at: { source: string; trusted: boolean }) => {
    const id = `${at.trusted ? 't' : 'u'}${at.source}\u0000${key}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.push({ key, source: at.source, trusted: at.trusted });
  };
  // A pattern's `[]` stands for any index of an array.
  const where = (path: readonly (string | number)[]): { source: string; trusted: boolean } => {
    let best: (typeof patterns)[number] | undefined;
    for (const p of patterns) {
      if (p.segments.length > path.length || (best && p.segments.length <= best.segments.length)) continue;
      if (p.segments.every((s, i) => (typeof path[i] === 'number' ? s === '[]' : s === path[i]))) best = p;
    }
    return best ? { source: `${source}:${best.path}`, trusted: best.trust === 'trusted' } : { source, trusted: trust === 'trusted' };
  };
  forEachLeaf(value, (leaf, path) => {
    if (++leaves > PROVENANCE_LIMITS.maxLeaves) return false;
    const at = where(path);
    for (const key of valueKeys(leaf, true)) add(key, at);
    return true;
  });
  return out;
}

/** `seen` with `sightings` added (a new object; `seen` is left as it is), within `PROVENANCE_LIMITS`. */
export function addSightings(seen: SeenValues, sightings: readonly Sighting[]): SeenValues {
  if (sightings.length === 0) return seen;
  const sources = [...seen.sources];
  const index = new Map(sources.map((s, i) => [s, i]));
  const values: Record<string, [number[], number[]]> = Object.create(null) as Record<string, [number[], number[]]>;
  for (const [k, v] of Object.entries(seen.values)) values[k] = [v[0] as number[], v[1] as number[]];
  let count = Object.keys(values).length;
  let dropped = seen.dropped;
  for (const s of sightings) {
    let i = index.get(s.source);
    if (i === undefined) {
      if (sources.length >= PROVENANCE_LIMITS.maxSources) {
        dropped++;
        continue;
      }
      i = sources.push(s.source) - 1;
      index.set(s.source, i);
    }
    const fp = fingerprint(s.key);
    let entry = values[fp];
    if (entry === undefined) {
      if (count >= PROVENANCE_LIMITS.maxValues) {
        dropped++;
        continue;
      }
      entry = [[], []];
      count++;
    }
    const side = s.trusted ? 0 : 1;
    if (!entry[side].includes(i)) {
      const next: [number[], number[]] = [entry[0], entry[1]];
      next[side] = [...entry[side], i];
      entry = next;
    }
    values[fp] = entry;
  }
  return { sources, values: { ...values }, dropped };
}

/**
 * Where an argument's value came from: the union over its keys (a string argument is matched whole,
 * a number as a number); never seen → not trusted, no sources.
 */
export function provenanceOf(seen: SeenValues, value: unknown): ValueProvenance {
  const trusted = new Set<number>();
  const untrusted = new Set<number>();
  for (const key of valueKeys(value, false)) {
    const fp = fingerprint(key);
    const entry = Object.hasOwn(seen.values, fp) ? seen.values[fp] : undefined;
    if (!entry) continue;
    for (const i of entry[0]) trusted.add(i);
    for (const i of entry[1]) untrusted.add(i);
  }
  const name = (i: number) => seen.sources[i] ?? `source #${i}`;
  const sources = [...new Set([...trusted, ...untrusted])].sort((a, b) => a - b).map(name);
  return { seen: sources.length > 0, trusted: trusted.size > 0, sources, untrustedSources: [...untrusted].sort((a, b) => a - b).map(name) };
}

/** A key's fingerprint as stored: 16 hex digits of SHA-256 (run state keeps no plain copy of what was read). */
function fingerprint(key: string): string {
  return sha256Hex(key).slice(0, 16);
}

/** Whitespace folded, Unicode compatibility forms folded, lower case. */
function normalText(s: string): string {
  return s.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** A number as one canonical text (`4000`, `39.9`), or null when not finite. */
function numberKey(n: number): string | null {
  return Number.isFinite(n) ? `n:${String(n === 0 ? 0 : n)}` : null;
}

const PLAIN_NUMBER = /^[-+]?\d{1,15}(?:[.,]\d{1,6})?$/;
const IBAN_WHOLE = /^[a-z]{2}\d{2}(?: ?[a-z0-9]{1,4}){3,8}$/;
const TOKENS: readonly { readonly re: RegExp; readonly key: (m: RegExpExecArray) => readonly string[] }[] = [
  // e-mail addresses
  { re: /[a-z0-9._%+-]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,24}/g, key: (m) => [`s:${m[0]}`] },
  // URLs, without trailing punctuation
  { re: /https?:\/\/[^\s<>"'`]{1,2000}/g, key: (m) => [`s:${m[0].replace(/[.,;:!?)\]}]+$/, '')}`] },
  // IBANs, spaces taken out
  { re: /\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){2,7}(?: ?[a-z0-9]{1,4})?\b/g, key: (m) => [`s:${m[0].replace(/ /g, '')}`] },
  // amounts with a currency: the number, and the same in minor units (40 eur → 4000)
  {
    re: /(?:(?:€|\$|£|eur|usd|gbp|chf)\s?(\d{1,12}(?:[.,]\d{1,2})?))|(?:(\d{1,12}(?:[.,]\d{1,2})?)\s?(?:€|\$|£|eur|usd|gbp|chf|euros?|dollars?|pounds?)\b)/g,
    key: (m) => {
      const n = Number((m[1] ?? m[2] ?? '').replace(',', '.'));
      return [numberKey(n), numberKey(Math.round(n * 100))].filter((k): k is string => k !== null);
    },
  },
  // identifiers with a digit (T-311, 1182, RF-0901) and numbers
  {
    re: /(?<![\w.-])(?=[a-z0-9_-]{0,63}\d)[a-z0-9][a-z0-9_-]{0,63}(?:[.,]\d{1,6})?(?![\w-])/g,
    key: (m) => {
      const keys = [`s:${m[0]}`];
      if (PLAIN_NUMBER.test(m[0])) {
        const k = numberKey(Number(m[0].replace(',', '.')));
        if (k) keys.push(k);
      }
      return keys;
    },
  },
];

/**
 * The keys a value is known by. `scan` (values read): a string also yields the values inside it; an
 * argument (`scan` false) is matched whole (an IBAN without its spaces, a numeric string also as a number).
 */
export function valueKeys(v: unknown, scan: boolean): string[] {
  if (typeof v === 'number') {
    const k = numberKey(v);
    return k ? [k] : [];
  }
  if (typeof v !== 'string') return [];
  const text = normalText(v.length > PROVENANCE_LIMITS.maxScanChars ? v.slice(0, PROVENANCE_LIMITS.maxScanChars) : v);
  if (text.length === 0) return [];
  const keys: string[] = [];
  if (text.length <= PROVENANCE_LIMITS.maxWholeChars) {
    keys.push(`s:${text}`);
    if (IBAN_WHOLE.test(text)) keys.push(`s:${text.replace(/ /g, '')}`);
    if (PLAIN_NUMBER.test(text)) {
      const k = numberKey(Number(text.replace(',', '.')));
      if (k) keys.push(k);
    }
  }
  if (!scan) return keys;
  let found = 0;
  for (const t of TOKENS) {
    t.re.lastIndex = 0;
    for (let m = t.re.exec(text); m !== null && found < PROVENANCE_LIMITS.maxTokensPerString; m = t.re.exec(text)) {
      const ks = t.key(m);
      for (const k of ks) keys.push(k);
      if (ks.length > 0) found++;
    }
  }
  return [...new Set(keys)];
}

/**
 * Where each exposed argument of a call came from (`context.provenance`): every exposed field present in
 * `args`; a field exposed as each element of a list argument (`{ type, each }`) with each element's own
 * (a list that is empty, not a list, or longer than `maxElements` has none: policy decides no element of it).
 */
export function argsProvenance(expose: Readonly<Record<string, unknown>>, args: Readonly<Record<string, unknown>>, seen: SeenValues): Record<string, ArgProvenance> {
  const out: Record<string, ArgProvenance> = {};
  for (const [field, entry] of Object.entries(expose)) {
    const list = typeof entry === 'string' ? undefined : eachSource(entry);
    const from = list ?? field;
    if ((typeof entry !== 'string' && list === undefined) || !Object.hasOwn(args, from) || args[from] === undefined) continue;
    const value = args[from];
    if (list === undefined) out[field] = provenanceOf(seen, value);
    else if (Array.isArray(value) && value.length > 0 && value.length <= PROVENANCE_LIMITS.maxElements) out[field] = combinedProvenance(value.map((v) => provenanceOf(seen, v)));
  }
  return out;
}

/** The list argument an exposed field's entry (`{ type, each }`) takes its elements from, if it names one. */
function eachSource(entry: unknown): string | undefined {
  if (entry === null || typeof entry !== 'object' || !Object.hasOwn(entry, 'each')) return undefined;
  const each = (entry as { readonly each?: unknown }).each;
  return typeof each === 'string' ? each : undefined;
}

/** A list's provenance from its elements': seen and trusted when every element is, the sources' unions (sorted), and the elements. */
export function combinedProvenance(elements: readonly ValueProvenance[]): ArgProvenance {
  const union = (pick: (p: ValueProvenance) => readonly string[]) => [...new Set(elements.flatMap(pick))].sort();
  const every = (pick: (p: ValueProvenance) => boolean) => elements.length > 0 && elements.every(pick);
  return {
    seen: every((p) => p.seen),
    trusted: every((p) => p.trusted),
    sources: union((p) => p.sources),
    untrustedSources: union((p) => p.untrustedSources),
    elements: elements.map((p) => ({ seen: p.seen, trusted: p.trusted, sources: [...p.sources], untrustedSources: [...p.untrustedSources] })),
  };
}

/** The trust of a result as a whole: untrusted when the contract's trust or any part it names (`fieldTrust`) is. */
export function resultTrust(contract: { readonly trust: Trust; readonly fieldTrust?: FieldTrust }): Trust {
  return contract.trust === 'untrusted' || Object.values(contract.fieldTrust ?? {}).includes('untrusted') ? 'untrusted' : 'trusted';
}

/**
 * One argument's provenance in words, for people deciding on it (approval pages, the CLI); for a list,
 * its weakest element (`path[1] (the weakest of 3): ⚠ seen only in untrusted content: ...`).
 */
export function describeProvenance(field: string, p: ArgProvenance): string {
  const elements = p.elements ?? [];
  if (elements.length > 0) {
    let weakest = 0;
    elements.forEach((e, i) => {
      if (strength(e) < strength(elements[weakest] as ValueProvenance)) weakest = i;
    });
    const of = elements.length > 1 ? ` (the weakest of ${elements.length})` : '';
    return describeProvenance(`${field}[${weakest}]${of}`, elements[weakest] as ValueProvenance);
  }
  if (!p.seen) return `${field}: not seen in anything the run read (the agent wrote it)`;
  if (!p.trusted) return `${field}: ⚠ seen only in untrusted content: ${p.untrustedSources.join(', ')}`;
  const also = p.untrustedSources.length > 0 ? `; also in untrusted ${p.untrustedSources.join(', ')}` : '';
  return `${field}: from trusted ${p.sources.filter((s) => !p.untrustedSources.includes(s)).join(', ')}${also}`;
}

/** How far a value's provenance vouches for it: only untrusted content < nowhere (the agent's own) < trusted and untrusted < trusted only. */
function strength(p: ValueProvenance): number {
  if (!p.seen) return 1;
  if (!p.trusted) return 0;
  return p.untrustedSources.length > 0 ? 2 : 3;
}

/** `describeProvenance` for each argument of a stored summary's `provenance` (read defensively: it is stored JSON; a malformed entry is left out). */
export function describeStoredProvenance(stored: unknown): string[] {
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return [];
  const out: string[] = [];
  for (const [field, raw] of Object.entries(stored as Record<string, unknown>)) {
    const p = storedArgProvenance(raw);
    if (p) out.push(describeProvenance(field, p));
  }
  return out;
}

/**
 * One argument's provenance as stored (decision inputs, an approval's summary), checked: the four
 * fields, and `elements` if present (at most `maxElements`, each with the four fields); null when malformed.
 */
export function storedArgProvenance(raw: unknown): ArgProvenance | null {
  const p = storedValueProvenance(raw);
  if (!p) return null;
  const elements = (raw as Record<string, unknown>)['elements'];
  if (elements === undefined) return p;
  if (!Array.isArray(elements) || elements.length > PROVENANCE_LIMITS.maxElements) return null;
  const parsed: ValueProvenance[] = [];
  for (const e of elements) {
    const v = storedValueProvenance(e);
    if (!v || Object.hasOwn(e as object, 'elements')) return null;
    parsed.push(v);
  }
  return { ...p, elements: parsed };
}

function storedValueProvenance(raw: unknown): ValueProvenance | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
  const { seen, trusted, sources, untrustedSources } = r;
  if (typeof seen !== 'boolean' || typeof trusted !== 'boolean' || !strings(sources) || !strings(untrustedSources)) return null;
  return { seen, trusted, sources, untrustedSources };
}

/** Whether `seen` holds `key` from a trusted source. */
function trustedKey(seen: SeenValues, key: string): boolean {
  const fp = fingerprint(key);
  return Object.hasOwn(seen.values, fp) && (seen.values[fp]?.[0].length ?? 0) > 0;
}

/**
 * The sightings of a result Airlock executed, guarded against echoes: a value in the result that the
 * call's own arguments carried is no source of its own (a trusted write tool that returns what it was
 * sent would otherwise launder an untrusted amount), so it is trusted only if the run had it from a
 * trusted source before the call.
 */
export function resultSightings(result: Json, contract: { readonly name: string; readonly trust: Trust; readonly fieldTrust?: FieldTrust }, args: Json, seen: SeenValues | undefined): Sighting[] {
  const sent = new Set(sightingsOf(args, '', 'trusted').map((s) => s.key));
  return sightingsOf(result, contract.name, contract.trust, contract.fieldTrust).map((s) =>
    s.trusted && sent.has(s.key) && !(seen && trustedKey(seen, s.key)) ? { key: s.key, source: `${s.source} (echoing its arguments)`, trusted: false } : s,
  );
}
