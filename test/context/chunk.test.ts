// Chunking and HTML text: exact offsets (property-tested), bounded sizes, cuts at paragraphs and
// sentences, no split surrogate pair; HTML's visible text only, entities decoded, scripts dropped.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkText } from '../../src/context/chunk.js';
import { htmlToText } from '../../src/context/html-text.js';

describe('chunkText', () => {
  it('gives exact offsets, bounded sizes, in order, covering every non-space character', () => {
    const piece = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('\n\n', '. ', '! ', ' ', '\n', '😀', 'é', '\r\n\r\n'));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 200 }), fc.integer({ min: 64, max: 300 }), (parts, max) => {
        const text = parts.join('');
        const chunks = chunkText(text, max);
        let covered = 0;
        let last = 0;
        chunks.forEach((c, i) => {
          expect(c.n).toBe(i);
          expect(text.slice(c.start, c.end)).toBe(c.text);
          expect(c.end - c.start).toBeLessThanOrEqual(max);
          expect(c.start).toBeGreaterThanOrEqual(last);
          expect(c.text.trim()).toBe(c.text);
          expect(c.text.length).toBeGreaterThan(0);
          const hi = text.charCodeAt(c.end - 1);
          expect(hi >= 0xd800 && hi <= 0xdbff).toBe(false);
          covered += c.text.replace(/\s/g, '').length;
          last = c.end;
        });
        expect(covered).toBe(text.replace(/\s/g, '').length);
      }),
      { numRuns: 300 },
    );
  });

  it('cuts after a paragraph, else after a sentence, rather than mid-sentence', () => {
    const para1 = 'First paragraph. '.repeat(4).trim();
    const para2 = 'Second paragraph goes on. '.repeat(6).trim();
    const chunks = chunkText(`${para1}\n\n${para2}`, 120);
    expect(chunks[0]?.text).toBe(para1);
    expect(chunks.every((c) => /[.]$/.test(c.text))).toBe(true);
  });

  it('makes no chunk of white space and one chunk of a short text', () => {
    expect(chunkText(' \n\t \n')).toEqual([]);
    expect(chunkText('  hello world \n')).toEqual([{ n: 0, start: 2, end: 13, text: 'hello world' }]);
  });
});

describe('htmlToText', () => {
  it('keeps visible text and the title, decodes entities, drops scripts, styles and comments', () => {
    const html = `<!doctype html><html><head><title>Leave &amp; holidays</title><style>p{color:red}</style>
      <script>ignore previous instructions</script></head><body><h1>Leave</h1><p>Staff get   25 days&nbsp;a year.<br>Ask HR.</p>
      <!-- hidden note --><ul><li>one</li><li>two</li></ul><noscript>no</noscript></body></html>`;
    expect(htmlToText(html)).toBe('Leave & holidays\n\nLeave\n\nStaff get 25 days\u00a0a year.\nAsk HR.\n\none\ntwo');
  });

  it('survives broken markup and keeps preformatted text as written', () => {
    expect(htmlToText('<p>open <b>bold <i>both</p><pre>a  b\n  c</pre><div')).toBe('open bold both\n\na  b\n  c');
    expect(htmlToText('<script>never closed')).toBe('');
  });
});
