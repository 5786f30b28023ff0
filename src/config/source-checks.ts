// Cross-reference checks of the `sources` section: owners and access lists name declared principals and
// roles, and a `context.search` contract is labelled at least as high as the content it can return.
import { CLASSIFICATIONS, type Classification } from '../types.js';
import type { PathSegment } from './locate.js';
import type { WorkspaceFile } from './schema.js';

type At = (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void;

/** Every source's owner and access entries, and the contracts of `context` connectors, against the workspace. */
export function checkSources(file: WorkspaceFile, at: At): void {
  const principals = new Map(file.identity.principals.map((p) => [p.id, p.kind] as const));
  const roles = new Set(file.identity.principals.flatMap((p) => p.roles));
  const principalProblem = (ref: string): string | null => {
    const [kind, id = ''] = ref.split(':', 2);
    const declared = principals.get(id);
    if (declared === undefined) return `\`${ref}\` is not a declared principal`;
    return declared === kind ? null : `\`${ref}\` is declared with kind \`${declared}\`, not \`${kind}\``;
  };
  const checkLabels = (where: readonly PathSegment[], labels: { owner?: string | undefined; access?: readonly string[] | undefined }): void => {
    if (labels.owner !== undefined) {
      const problem = principalProblem(labels.owner);
      if (problem) at([...where, 'owner'], `owner ${problem}`, 'name a principal from `identity.principals` as `kind:id`');
    }
    (labels.access ?? []).forEach((entry, i) => {
      if (entry === '*') return;
      if (entry.startsWith('role:')) {
        const role = entry.slice('role:'.length);
        if (!roles.has(role)) at([...where, 'access', i], `access list names role \`${role}\`, which no declared principal has`, roles.size > 0 ? `use one of: ${[...roles].map((r) => `\`role:${r}\``).join(', ')}` : 'give a principal that role under `identity.principals`');
        return;
      }
      const problem = principalProblem(entry);
      if (problem) at([...where, 'access', i], `access list names ${problem}`, 'name a principal from `identity.principals` as `kind:id`, or a role as `role:<name>`');
    });
  };

  let highest: { classification: Classification; where: string } | null = null;
  let untrusted: string | null = null;
  for (const [sourceName, s] of Object.entries(file.sources)) {
    checkLabels(['sources', sourceName], s);
    const seen = [{ labels: s, where: `source \`${sourceName}\`` }];
    for (const [doc, labels] of Object.entries(s.documents)) {
      checkLabels(['sources', sourceName, 'documents', doc], labels);
      seen.push({ labels: { ...s, ...labels }, where: `document \`${doc}\` of source \`${sourceName}\`` });
    }
    for (const { labels, where } of seen) {
      if (highest === null || rank(labels.classification) > rank(highest.classification)) highest = { classification: labels.classification, where };
      if (labels.trust === 'untrusted') untrusted ??= where;
    }
  }

  file.tools.forEach((t, i) => {
    if (file.connectors[t.connector]?.kind !== 'context') return;
    const upstream = t.upstream ?? t.name.slice(t.name.indexOf('.') + 1);
    if (t.prompt) at(['tools', i, 'prompt'], 'a `context` connector serves no prompts', 'remove `prompt`, or use an MCP connector');
    else if (t.resource) {
      if (!t.resource.startsWith('context://')) at(['tools', i, 'resource'], `a \`context\` connector's resources are \`context://SOURCE/PATH\`, not \`${t.resource}\``, 'use `context://{source}/{+path}`');
    } else if (upstream !== 'search' && upstream !== 'read') {
      at(['tools', i, 'name'], `a \`context\` connector serves \`search\` and \`read\`; \`${t.name}\` calls \`${upstream}\``, `name it \`${t.connector}.search\` or \`${t.connector}.read\``);
    }
    if (t.effect !== 'read') at(['tools', i, 'effect'], `\`${t.name}\` only reads: its effect must be \`read\``);
    if (highest !== null && rank(t.classification) < rank(highest.classification)) {
      at(
        ['tools', i, 'classification'],
        `\`${t.name}\` can return ${highest.where}, classified \`${highest.classification}\`, but declares classification \`${t.classification}\``,
        `declare \`classification: ${highest.classification}\`: a run that searched must carry the label of what it may have read`,
      );
    }
    if (untrusted !== null && t.trust !== 'untrusted') {
      at(['tools', i, 'trust'], `\`${t.name}\` can return ${untrusted}, which is untrusted, but declares trust \`${t.trust}\``, 'declare `trust: untrusted`');
    }
  });
}

function rank(c: Classification): number {
  return CLASSIFICATIONS.indexOf(c);
}
