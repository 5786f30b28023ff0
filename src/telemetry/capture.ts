// Content capture on spans: prompts, tool arguments and results. Off by default; when the workspace
// turns it on (`telemetry.capture`), content is recorded only for runs whose classification is at
// most `maxClassification`, and only hashed or redacted. Secrets never: every value the workspace
// reads from an environment variable (model keys, connector headers, collector headers...) is taken
// out, as is anything shaped like a key or token, and keys named like credentials are blanked, before
// anything is hashed or written.
import type { Classification } from '../types.js';
import { CLASSIFICATIONS } from '../types.js';
import { canonicalJson, sha256Hex } from '../util/hash.js';

/** The capture settings (`telemetry.capture`). */
export interface CaptureSettings {
  readonly content: 'off' | 'hashed' | 'redacted';
  readonly maxClassification: Classification;
}

/** The most characters of redacted content a span attribute holds. */
export const CAPTURE_MAX_CHARS = 4096;

const REDACTED = '[redacted]';
const SECRET_KEY = /pass(word|phrase)?|secret|token|api[-_]?key|authori[sz]ation|cookie|credential|private[-_]?key|session[-_]?id/i;
const SECRET_SHAPES: readonly RegExp[] = [
  /\b(sk|rk|pk)-[A-Za-z0-9_*.-]{6,}/g, // provider API keys
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, // JWTs
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key ids
  /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g, // GitHub tokens
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, // Slack tokens
  /\balk_[A-Za-z0-9_-]{8,}/g, // Airlock API keys
];

/** Decides what of a run's content may go on a span, and in what form. */
export class ContentCapture {
  private readonly secrets: readonly string[];

  /**
   * `settings` from the workspace; `config` the workspace file, whose `{ env: NAME }` references name
   * the secrets (their values, read now from `env`) that are taken out of anything captured.
   */
  private readonly settings: CaptureSettings;

  constructor(settings: CaptureSettings | undefined, config: unknown = {}, env: NodeJS.ProcessEnv = process.env) {
    this.settings = settings ?? { content: 'off', maxClassification: 'public' };
    // Nothing is captured when capture is off: no secrets to look up either.
    this.secrets = this.settings.content === 'off' ? [] : envSecrets(config, env);
  }

  /** Whether anything is captured for content of `classification`. */
  allows(classification: Classification): boolean {
    return this.settings.content !== 'off' && CLASSIFICATIONS.indexOf(classification) <= CLASSIFICATIONS.indexOf(this.settings.maxClassification);
  }

  /** `value` as a span may hold it (hashed, or redacted and bounded), or null when it may not hold it. */
  content(value: unknown, classification: Classification): string | null {
    if (!this.allows(classification)) return null;
    const clean = this.redact(value);
    if (this.settings.content === 'hashed') return `sha256:${sha256Hex(canonicalJson(clean))}`;
    const text = typeof clean === 'string' ? clean : JSON.stringify(clean);
    return text.length > CAPTURE_MAX_CHARS ? `${text.slice(0, CAPTURE_MAX_CHARS)}…` : text;
  }

  /** `value` with secrets taken out: the workspace's, anything shaped like one, and whatever a credential-named key holds. */
  redact(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.redactText(value);
    if (depth > 32 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.redact(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[this.redactText(k)] = SECRET_KEY.test(k) ? REDACTED : this.redact(v, depth + 1);
    return out;
  }

  private redactText(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join(REDACTED);
    for (const re of SECRET_SHAPES) out = out.replace(re, REDACTED);
    return out;
  }
}

/** The values of every environment variable the workspace file refers to (`{ env: NAME }`), longest first. */
function envSecrets(config: unknown, env: NodeJS.ProcessEnv): string[] {
  const names = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (depth > 32 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach((x) => walk(x, depth + 1));
    const o = v as Record<string, unknown>;
    if (typeof o['env'] === 'string') names.add(o['env']);
    for (const x of Object.values(o)) walk(x, depth + 1);
  };
  walk(config, 0);
  const values = [...names].map((n) => env[n]).filter((s): s is string => typeof s === 'string' && s.length >= 4);
  return values.sort((a, b) => b.length - a.length);
}
