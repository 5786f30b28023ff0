// Citations in an agent's answer (pure): a quote followed by where it is, `"…" [cite SOURCE/PATH@VERSION#START-END]`,
// as `context.search` hands each item's `cite` mark. The check reads the cited version's text at the cited
// offsets and compares it with the quote exactly: a quote that is not there, a version or document that
// does not exist, or offsets that do not hold the quote make the run's `citations` check fail.
import type { Json } from '../types.js';
import type { RunCheckResult } from './run-checks.js';

/** One citation as written: the quoted text and the place it claims to come from. */
export interface Citation {
  readonly quote: string;
  readonly source: string;
  readonly path: string;
  /** A prefix of the document version's SHA-256 (at least 12 hex digits), or all of it. */
  readonly version: string;
  readonly start: number;
  readonly end: number;
  /** The mark as written, for messages. */
  readonly mark: string;
}

/** Bounds: characters of an answer read, citations checked, characters of one quote. */
export const CITATION_LIMITS = { maxScanChars: 100_000, maxCitations: 50, maxQuoteChars: 5000 } as const;

/** The mark `context.search` gives an item, for the model to put after a quote of it. */
export function citeMark(c: { readonly source: string; readonly path: string; readonly versionHash: string; readonly start: number; readonly end: number }): string {
  return `[cite ${c.source}/${c.path}@${c.versionHash.slice(0, 16)}#${c.start}-${c.end}]`;
}

// A quote in straight or curly double quotes, then optional spaces, then the mark.
const CITED = /(?:"([^"]{1,5000})"|“([^”]{1,5000})”)\s{0,3}\[cite ([^\]\s/]{1,100})\/([^\]@]{1,500})@([0-9a-f]{12,64})#(\d{1,9})-(\d{1,9})\]/g;

/** The citations in `text` (at most `maxCitations`, from its first `maxScanChars` characters). */
export function parseCitations(text: string): Citation[] {
  const t = text.length > CITATION_LIMITS.maxScanChars ? text.slice(0, CITATION_LIMITS.maxScanChars) : text;
  const out: Citation[] = [];
  CITED.lastIndex = 0;
  for (let m = CITED.exec(t); m !== null && out.length < CITATION_LIMITS.maxCitations; m = CITED.exec(t)) {
    out.push({
      quote: (m[1] ?? m[2] ?? '').slice(0, CITATION_LIMITS.maxQuoteChars),
      source: m[3] as string,
      path: m[4] as string,
      version: m[5] as string,
      start: Number(m[6]),
      end: Number(m[7]),
      mark: m[0].slice(m[0].lastIndexOf('[cite ')),
    });
  }
  return out;
}

/** The text at a cited place: the version's characters [start, end), or why there is none. */
export type CitedText = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly why: string };

/**
 * The run-level `citations` check: each citation's quote must be exactly the text at its place
 * (`read` fetches it from the store). Passed when every one holds, failed when any does not, and
 * null when the answer cites nothing (no check to record).
 */
export async function checkCitations(text: string, read: (c: Citation) => Promise<CitedText>): Promise<RunCheckResult | null> {
  const citations = parseCitations(text);
  if (citations.length === 0) return null;
  const results: { mark: string; quote: string; ok: boolean; why?: string }[] = [];
  for (const c of citations) {
    const quote = c.quote.length > 200 ? `${c.quote.slice(0, 200)}…` : c.quote;
    if (c.end <= c.start) {
      results.push({ mark: c.mark, quote, ok: false, why: 'the offsets are empty or reversed' });
      continue;
    }
    const at = await read(c);
    if (!at.ok) results.push({ mark: c.mark, quote, ok: false, why: at.why });
    // The text found is not repeated here: the check's record may reach people outside the document's readers.
    else if (at.text !== c.quote) results.push({ mark: c.mark, quote, ok: false, why: 'the text at the cited place is not the quote' });
    else results.push({ mark: c.mark, quote, ok: true });
  }
  const bad = results.filter((r) => !r.ok);
  return {
    name: 'citations',
    status: bad.length === 0 ? 'passed' : 'failed',
    evidence: {
      expression: 'each quote is exactly the text at its cited place',
      value: results as unknown as Json,
      ...(bad.length > 0 ? { message: `${bad.length} of ${results.length} citations do not hold: ${bad.map((b) => `${b.mark} (${b.why ?? ''})`).join('; ')}`.slice(0, 2000) } : {}),
    },
  };
}
