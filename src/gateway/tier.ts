// The tier a workflow runs at now: its declared tier, lowered by the latest recorded tier change (a
// demotion by a person or by the pilot's rules; a promotion the named owners signed, never past the
// declared tier). Read from the store on every call, like halts: another process's change applies at once.
import type { WorkflowConfig } from '../config/schema.js';
import type { Store } from '../store/store.js';
import { TIERS, type Tier } from '../types.js';

/**
 * The tier `to` of the latest recorded change, capped by the declared tier (pure); none recorded
 * (`undefined`): the declared tier. A recorded value this version cannot read fails closed: `assist`.
 */
export function tierAfter(declared: Tier, recorded: unknown): Tier {
  if (recorded === undefined) return declared;
  if (typeof recorded !== 'string' || !(TIERS as readonly string[]).includes(recorded)) return 'assist';
  return TIERS[Math.min(TIERS.indexOf(declared), TIERS.indexOf(recorded as Tier))] as Tier;
}

/** The tier `workflow` runs at now. */
export async function effectiveTier(store: Pick<Store, 'listPilotEvents'>, workflow: WorkflowConfig): Promise<Tier> {
  const [last] = await store.listPilotEvents(workflow.name, ['tier-changed'], 1);
  return tierAfter(workflow.tier, last?.body['to']);
}

/** `workflow` as it runs now: the same, or a copy at its lowered tier. */
export async function asRunning(store: Pick<Store, 'listPilotEvents'>, workflow: WorkflowConfig): Promise<WorkflowConfig> {
  const tier = await effectiveTier(store, workflow);
  return tier === workflow.tier ? workflow : { ...workflow, tier };
}
