// Checks of model routes: fallbacks and routing rules name declared routes (`auto` is reserved for
// a workflow that lets the rules choose), and no route falls back to itself.
import type { PathSegment } from './locate.js';
import type { WorkspaceFile } from './schema.js';

type At = (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void;

/** The word a workflow's `model` uses to let the workspace's `routing` rules pick each turn's route. */
export const AUTO_ROUTE = 'auto';

export function checkRoutes(file: WorkspaceFile, at: At): void {
  const routes = Object.keys(file.models);
  const known = (n: string) => n in file.models;
  const hint = routes.length > 0 ? `declared routes: ${routes.map((r) => `\`${r}\``).join(', ')}` : 'declare it under `models`';
  if (known(AUTO_ROUTE)) at(['models', AUTO_ROUTE], `\`${AUTO_ROUTE}\` cannot name a route: a workflow's \`model: auto\` lets the \`routing\` rules choose`, 'rename the route', true);
  for (const [name, route] of Object.entries(file.models)) {
    route.fallback.forEach((f, i) => {
      if (!known(f)) at(['models', name, 'fallback', i], `route \`${name}\` falls back to \`${f}\`, which is not declared`, hint);
      else if (f === name) at(['models', name, 'fallback', i], `route \`${name}\` falls back to itself`, 'name another route');
    });
  }
  file.routing.forEach((rule, i) => {
    if (!known(rule.use)) at(['routing', i, 'use'], `routing rule ${i + 1} uses route \`${rule.use}\`, which is not declared`, hint);
  });
}
