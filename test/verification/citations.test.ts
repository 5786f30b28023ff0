// Citations in an answer (verification/citations.ts): parsed from the marks `context.search` gives, and
// checked exactly against the cited version's text; a fabricated quote, place or version fails.
import { describe, expect, it } from 'vitest';
import { checkCitations, citeMark, parseCitations, type Citation, type CitedText } from '../../src/verification/citations.js';

const DOC = 'Refunds up to 50 EUR need one approver. Damaged items are refunded at their price.';
const VERSION = 'ab12'.repeat(16);
const mark = (start: number, end: number, version = VERSION) => citeMark({ source: 'kb', path: 'policies/refunds.md', versionHash: version, start, end });
/** The store stand-in: one document, one version. */
const read = async (c: Citation): Promise<CitedText> => {
  if (c.source !== 'kb' || c.path !== 'policies/refunds.md') return { ok: false, why: 'no such document' };
  if (!VERSION.startsWith(c.version)) return { ok: false, why: 'no such version of the document' };
  return c.end <= DOC.length ? { ok: true, text: DOC.slice(c.start, c.end) } : { ok: false, why: 'past the end of the document' };
};

describe('citations', () => {
  it('parses quotes with their marks, straight or curly quotes', () => {
    const text = `The policy says "Refunds up to 50 EUR need one approver." ${mark(0, 39)} and “Damaged items are refunded at their price.” ${mark(40, 84)}.`;
    const cs = parseCitations(text);
    expect(cs.map((c) => [c.quote, c.source, c.path, c.version, c.start, c.end])).toEqual([
      ['Refunds up to 50 EUR need one approver.', 'kb', 'policies/refunds.md', VERSION.slice(0, 16), 0, 39],
      ['Damaged items are refunded at their price.', 'kb', 'policies/refunds.md', VERSION.slice(0, 16), 40, 84],
    ]);
  });

  it('passes when every quote is exactly at its place; nothing cited is no check', async () => {
    expect(await checkCitations(`"${DOC.slice(0, 39)}" ${mark(0, 39)}`, read)).toMatchObject({ name: 'citations', status: 'passed' });
    expect(await checkCitations('no citations here', read)).toBeNull();
  });

  it('fails a fabricated quote, a wrong place, an unknown document or version, and empty offsets', async () => {
    const cases = [
      `"Refunds up to 500 EUR need one approver." ${mark(0, 40)}`,
      `"Refunds up to 50 EUR need one approver." ${mark(1, 40)}`,
      `"x" [cite kb/other.md@${VERSION.slice(0, 16)}#0-1]`,
      `"R" ${mark(0, 1, 'ffff'.repeat(16))}`,
      `"R" ${mark(5, 5)}`,
    ];
    for (const text of cases) {
      const r = await checkCitations(text, read);
      expect(r?.status, text).toBe('failed');
      expect(r?.evidence.message, text).toMatch(/1 of 1 citations do not hold/);
    }
    // One bad citation among good ones fails the check.
    const mixed = await checkCitations(`"${DOC.slice(0, 39)}" ${mark(0, 39)} "made up" ${mark(40, 47)}`, read);
    expect(mixed).toMatchObject({ status: 'failed', evidence: { message: expect.stringContaining('1 of 2') } });
  });
});
