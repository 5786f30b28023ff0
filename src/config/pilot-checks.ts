// Checks of a workflow's `pilot` section against the workspace: the group and every sign-off name
// declared principals, each threshold's bounds make sense, and no step leads to the lowest tier.
import type { PathSegment } from './locate.js';
import type { KpiName } from './pilot-schema.js';
import type { WorkflowConfig } from './schema.js';

type At = (p: readonly PathSegment[], message: string, hint?: string, key?: boolean) => void;

/** The KPIs that are shares (0 to 1). */
const RATES: ReadonlySet<KpiName> = new Set<KpiName>(['verifiedRate', 'unverifiedRate', 'errorRate', 'overrideRate', 'escalationRate']);

/** `wf.pilot` against the declared principals (`id` → kind). */
export function checkPilot(wf: WorkflowConfig, principals: ReadonlyMap<string, { readonly kind: string }>, at: At): void {
  const p = wf.pilot;
  if (!p) return;
  const declared = (ref: string, kind?: string): string | null => {
    const [k, id = ''] = ref.split(':', 2);
    const found = principals.get(id);
    if (!found) return `\`${ref}\` is not a declared principal`;
    if (found.kind !== k || (kind !== undefined && found.kind !== kind)) return `\`${ref}\` is declared with kind \`${found.kind}\``;
    return null;
  };
  const hint = 'name a principal from `identity.principals` in airlock.yaml';
  p.group.forEach((ref, i) => {
    const problem = declared(ref);
    if (problem) at(['pilot', 'group', i], `pilot group member ${problem}`, hint);
  });
  p.decisionSignOff.forEach((ref, i) => {
    const problem = declared(ref, 'user');
    if (problem) at(['pilot', 'decisionSignOff', i], `decision sign-off ${problem}`, 'a sign-off is a person: `user:<id>`');
  });
  for (const [tier, step] of Object.entries(p.graduation)) {
    if (tier === 'assist') at(['pilot', 'graduation', tier], 'no step leads to `assist`: it is the lowest tier', 'declare the evidence for `prepare`, `execute-low` or `execute-high`', true);
    step?.signOff.forEach((ref, i) => {
      const problem = declared(ref, 'user');
      if (problem) at(['pilot', 'graduation', tier, 'signOff', i], `sign-off ${problem}`, 'a sign-off is a person: `user:<id>`');
    });
  }
  for (const [kpi, b] of Object.entries(p.thresholds)) {
    if (!b) continue;
    if (b.min !== undefined && b.max !== undefined && b.min > b.max) at(['pilot', 'thresholds', kpi], `\`min\` ${b.min} is above \`max\` ${b.max}: no week can meet it`);
    if (RATES.has(kpi as KpiName)) {
      for (const [side, v] of [['min', b.min], ['max', b.max]] as const) {
        if (v !== undefined && (v < 0 || v > 1)) at(['pilot', 'thresholds', kpi, side], `\`${kpi}\` is a share from 0 to 1, not ${v}`, `write ${v > 1 && v <= 100 ? v / 100 : 'a value from 0 to 1'} (${v > 1 && v <= 100 ? `${v}%` : 'a share'})`);
      }
    }
  }
}
