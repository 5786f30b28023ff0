// Value templates in contracts and playbooks: `$scope.path` strings resolved against data (pure).
import type { Json } from '../types.js';

/** Named data a template may reference, e.g. `{ args, result, probe }`. */
export type TemplateScope = Readonly<Record<string, Json | undefined>>;

export type Resolved = { readonly ok: true; readonly value: Json } | { readonly ok: false; readonly missing: string };

/**
 * Resolves a template: a string `$name.a.b` (or `$name.items.0`) is replaced by that value in
 * `scope`; `$$...` is the literal `$...`; arrays and objects are resolved member by member;
 * other values stay as they are. A reference that leads nowhere yields `{ ok: false, missing }`.
 */
export function resolveTemplate(template: unknown, scope: TemplateScope): Resolved {
  if (typeof template === 'string') {
    if (template.startsWith('$$')) return { ok: true, value: template.slice(1) };
    if (template.startsWith('$')) {
      const v = lookup(scope, template.slice(1));
      return v === undefined ? { ok: false, missing: template } : { ok: true, value: v };
    }
    return { ok: true, value: template };
  }
  if (Array.isArray(template)) {
    const out: Json[] = [];
    for (const item of template) {
      const r = resolveTemplate(item, scope);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (template !== null && typeof template === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, item] of Object.entries(template)) {
      const r = resolveTemplate(item, scope);
      if (!r.ok) return r;
      out[k] = r.value;
    }
    return { ok: true, value: out };
  }
  if (template === undefined) return { ok: false, missing: '(undefined)' };
  return { ok: true, value: template as Json };
}

/** Looks up a dotted path (`result.refund_id`) in the scope; undefined when any step is missing. */
export function lookup(scope: TemplateScope, path: string): Json | undefined {
  const parts = path.split('.');
  let cur: Json | undefined = scope[parts[0] ?? ''];
  for (const part of parts.slice(1)) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      const i = Number(part);
      cur = Number.isInteger(i) ? (cur as readonly Json[])[i] : undefined;
    } else {
      cur = Object.prototype.hasOwnProperty.call(cur, part) ? (cur as Record<string, Json>)[part] : undefined;
    }
  }
  return cur;
}
