// Resource URI templates (RFC 6570 level 1: `{name}` stands for one path segment). Pure.

const VAR = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The variable names of a template, in order. */
export function templateVars(template: string): string[] {
  return [...template.matchAll(VAR)].map((m) => m[1] as string);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Matches `uri` against `template`; returns each variable's (percent-decoded) value, or null.
 * A variable matches one or more characters other than `/`, `?` and `#`, so it cannot reach
 * into another part of the URI; a decoded value holding one of those is refused too.
 */
export function matchTemplate(template: string, uri: string): Record<string, string> | null {
  const names: string[] = [];
  let pattern = '^';
  let last = 0;
  for (const m of template.matchAll(VAR)) {
    pattern += escapeRegExp(template.slice(last, m.index)) + '([^/?#]+)';
    names.push(m[1] as string);
    last = (m.index ?? 0) + m[0].length;
  }
  pattern += escapeRegExp(template.slice(last)) + '$';
  const found = new RegExp(pattern).exec(uri);
  if (!found) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) {
    let value: string;
    try {
      value = decodeURIComponent(found[i + 1] as string);
    } catch {
      return null;
    }
    if (/[/?#]/.test(value) || value === '.' || value === '..') return null;
    out[names[i] as string] = value;
  }
  return out;
}

/** Fills a template with arguments, each percent-encoded as one segment. */
export function expandTemplate(template: string, args: Readonly<Record<string, unknown>>): string {
  return template.replace(VAR, (_m, name: string) => encodeURIComponent(String(args[name] ?? '')));
}
