// The pilot as the doors (CLI, console) use it: an opened workspace's store and trail, with the eval
// results `airlock eval` keeps beside it, which the autonomy rules read (`evalSuite`).
import type { Airlock } from '../../airlock.js';
import { recordedPilotDeps, type DecisionDeps } from '../decisions.js';
import type { PilotDeps } from '../pilot.js';
import { latestEvalResult } from './history.js';

/** What recording pilot events needs of `a`, eval results included. */
export function pilotContext(a: Airlock): DecisionDeps {
  return { workspace: a.workspace, store: a.store, audit: a.audit, now: a.now, evalResult: (suite) => Promise.resolve(latestEvalResult(a.workspace.dir, suite)) };
}

/** What the pilot's reads need of `a`: the recorded tier, sign-offs and decision, and the eval results. */
export function pilotDeps(a: Airlock): PilotDeps {
  return recordedPilotDeps(pilotContext(a));
}
