// HTML to plain text (pure), with htmlparser2's tokenizer: text and entities decoded, block elements as
// line breaks, scripts, styles and other non-content elements dropped. The text is data only: nothing
// in it is interpreted, followed or fetched.
import { Parser } from 'htmlparser2';

/** Elements whose content is never text a reader sees. */
const SKIPPED = new Set(['script', 'style', 'noscript', 'template', 'head', 'svg', 'math', 'iframe', 'object', 'canvas', 'select']);
/** Elements that end a paragraph (a blank line). */
const PARAGRAPHS = new Set(['p', 'div', 'section', 'article', 'header', 'footer', 'main', 'aside', 'nav', 'blockquote', 'pre', 'table', 'ul', 'ol', 'dl', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'figure', 'form', 'hr', 'address', 'details', 'summary']);
/** Elements that end a line. */
const LINES = new Set(['br', 'li', 'tr', 'dt', 'dd', 'caption', 'figcaption', 'title']);

/**
 * The visible text of an HTML document. White space inside text collapses to one space (except in
 * `pre`), paragraphs are separated by a blank line, lines by a newline; the `title` is kept as the first
 * line. Linear in the input: htmlparser2 tokenizes in one pass, and this keeps only counters and the
 * output.
 */
export function htmlToText(html: string): string {
  const out: string[] = [];
  let skipping = 0;
  let pre = 0;
  // What the output ends with: 0 text (or nothing), 1 a newline, 2 a blank line.
  let breaks = 2;
  const breakTo = (n: 1 | 2): void => {
    if (breaks >= n || out.length === 0) return;
    out.push(n - breaks === 2 ? '\n\n' : '\n');
    breaks = n;
  };
  // The title sits in `head` (skipped) but is content: while inside it, the skip is set aside.
  let outsideTitle: number | null = null;
  const parser = new Parser(
    {
      onopentag(tag) {
        if (tag === 'title' && outsideTitle === null) {
          outsideTitle = skipping;
          skipping = 0;
          return;
        }
        if (SKIPPED.has(tag)) skipping++;
        else if (skipping === 0 && PARAGRAPHS.has(tag)) breakTo(2);
        if (tag === 'pre') pre++;
      },
      ontext(text) {
        if (skipping > 0) return;
        const t = pre > 0 ? text : text.replace(/[ \t\n\r\f]+/g, ' ');
        if (t === '' || (breaks > 0 && t === ' ')) return;
        out.push(breaks > 0 && pre === 0 ? t.replace(/^ /, '') : t);
        breaks = 0;
      },
      onclosetag(tag) {
        if (tag === 'title' && outsideTitle !== null) {
          breakTo(2);
          skipping = outsideTitle;
          outsideTitle = null;
          return;
        }
        if (SKIPPED.has(tag)) {
          if (skipping > 0) skipping--;
          return;
        }
        if (tag === 'pre' && pre > 0) pre--;
        if (skipping > 0) return;
        if (PARAGRAPHS.has(tag)) breakTo(2);
        else if (LINES.has(tag)) breakTo(1);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  return out.join('').replace(/[ \t]+\n/g, '\n').trimEnd();
}
