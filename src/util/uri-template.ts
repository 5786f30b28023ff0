// Resource URI templates (RFC 6570, level 1 and reserved expansion): `{name}` stands for one path segment,
// `{+name}` for one or more segments (a path inside something, `a/b.md`). Pure.

const VAR = /\{(\+?)([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The variable names of a template, in order. */
export function templateVars(template: string): string[] {
  return [...template.matchAll(VAR)].map((m) => m[2] as string);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Matches `uri` against `template`; returns each variable's (percent-decoded) value, or null.
 * A `{name}` matches one or more characters other than `/`, `?` and `#`, so it cannot reach into
 * another part of the URI; a decoded value holding one of those is refused too. A `{+name}` may hold
 * `/` between segments, each segment decoded alone and none empty, `.` or `..` (so the path it names
 * cannot climb out of where it points), and never `?` or `#`.
 */
export function matchTemplate(template: string, uri: string): Record<string, string> | null {
  const vars: { name: string; path: boolean }[] = [];
  let pattern = '^';
  let last = 0;
  for (const m of template.matchAll(VAR)) {
    const path = m[1] === '+';
    pattern += escapeRegExp(template.slice(last, m.index)) + (path ? '([^?#]+)' : '([^/?#]+)');
    vars.push({ name: m[2] as string, path });
    last = (m.index ?? 0) + m[0].length;
  }
  pattern += escapeRegExp(template.slice(last)) + '$';
  const found = new RegExp(pattern).exec(uri);
  if (!found) return null;
  const out: Record<string, string> = {};
  for (const [i, v] of vars.entries()) {
    const segments = v.path ? (found[i + 1] as string).split('/') : [found[i + 1] as string];
    const decoded: string[] = [];
    for (const raw of segments) {
      let value: string;
      try {
        value = decodeURIComponent(raw);
      } catch {
        return null;
      }
      if (/[/?#]/.test(value) || value === '' || value === '.' || value === '..') return null;
      decoded.push(value);
    }
    out[v.name] = decoded.join('/');
  }
  return out;
}

/** Fills a template with arguments, each percent-encoded as one segment (`{+name}`: each of its `/`-separated segments). */
export function expandTemplate(template: string, args: Readonly<Record<string, unknown>>): string {
  return template.replace(VAR, (_m, plus: string, name: string) => {
    const value = String(args[name] ?? '');
    return plus === '+' ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value);
  });
}
