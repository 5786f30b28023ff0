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

/** A workflow's `model`: a declared route, or `auto` in a workspace that has routing rules (none: only external agents drive it). */
export function checkWorkflowModel(wf: { readonly model?: string | undefined }, file: Pick<WorkspaceFile, 'models' | 'routing'>, at: At): void {
  if (wf.model === AUTO_ROUTE && file.routing.length === 0) {
    at(['model'], "`model: auto` lets the workspace's `routing` rules choose, but airlock.yaml declares none", 'add `routing:` rules (each `use:` a route, optionally `when:` a tier, classification or trust), or name a route');
  } else if (wf.model !== undefined && wf.model !== AUTO_ROUTE && !(wf.model in file.models)) {
    const models = Object.keys(file.models);
    at(['model'], `model \`${wf.model}\` is not declared`, models.length > 0 ? `declare it under \`models\`, or use one of: ${models.map((m) => `\`${m}\``).join(', ')}` : 'declare it under `models` in `airlock.yaml`');
  }
}
