// The scenario's people: scripted decisions on the approvals its runs meet, made through the same vote
// as the CLI, the API and the console (eligibility, four eyes, justifications). Each vote, refused
// ones included, is a human touch.
import type { Airlock } from '../../airlock.js';
import { vote, type Approver } from '../../gateway/approvals/vote.js';
import { summaryView } from '../../gateway/approvals/rules.js';
import type { ApprovalRecord } from '../../store/store.js';
import { canonicalJson } from '../../util/hash.js';
import type { Json, RunId } from '../../types.js';
import type { HumanSpec } from './suite-schema.js';

/** One person's decision as it went: recorded, or refused with Airlock's reason. */
export interface HumanTouch {
  readonly approvalId: string;
  readonly tool: string;
  readonly by: string;
  readonly decision: 'approve' | 'reject';
  readonly outcome: 'recorded' | 'refused';
  /** Refused: why; recorded: the approval's status after the vote. */
  readonly detail: string;
}

/** Which scripted decisions were used already (each decides one approval). */
export type UsedDecisions = Set<HumanSpec>;

/** True when every value `want` names is exactly the approval's argument of that name. */
export function argsMatch(want: Readonly<Record<string, unknown>> | undefined, args: Readonly<Record<string, Json>>): boolean {
  if (want === undefined) return true;
  return Object.entries(want).every(([k, v]) => k in args && canonicalJson(args[k] as Json) === canonicalJson(v as Json));
}

/** The scripted person as an approver: a login of their own per person (four eyes need two), vouched for by the evaluator. */
function approverFor(a: Airlock, who: string): Approver {
  const principal = a.principal(who.includes(':') ? who : `user:${who}`);
  return { principal, auth: { issuer: 'airlock-eval', subject: `${principal.kind}:${principal.id}`, method: 'local', amr: [], authTime: a.now().toISOString() } };
}

/**
 * Decides the approvals run `runId` waits on with the first unused scripted decision matching each
 * (tool, and `args` when given): each person named votes in turn until the approval is decided.
 * Returns the touches, and the approvals now decided (approved or rejected).
 */
export async function decidePending(a: Airlock, runId: RunId, humans: readonly HumanSpec[], used: UsedDecisions): Promise<{ touches: HumanTouch[]; decided: ApprovalRecord[] }> {
  const touches: HumanTouch[] = [];
  const decided: ApprovalRecord[] = [];
  for (const pending of await a.store.listApprovals({ status: 'pending', runId })) {
    const args = summaryView(pending).args;
    const h = humans.find((x) => !used.has(x) && x.tool === pending.tool && argsMatch(x.args, args));
    if (!h) continue;
    used.add(h);
    for (const who of Array.isArray(h.by) ? h.by : [h.by]) {
      const res = await vote(a.approvalDeps, pending.id, approverFor(a, who), h.decide, h.reason ?? null);
      touches.push({
        approvalId: pending.id,
        tool: pending.tool,
        by: who.includes(':') ? who : `user:${who}`,
        decision: h.decide,
        outcome: res.kind,
        detail: res.kind === 'refused' ? res.reason : res.approval.status,
      });
      if (res.kind === 'recorded' && res.decided) {
        decided.push(res.approval);
        break;
      }
    }
  }
  return { touches, decided };
}
