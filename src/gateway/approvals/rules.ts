// The rules of deciding an approval, pure: how many people a level needs, what a summary says,
// when a vote is too late or its login too old, whether votes meet an obligation, how an
// authentication is recorded. No IO; the deciding itself is vote.ts.
import type { ApprovalPolicy, ToolContract } from '../../config/schema.js';
import { AirlockError } from '../../errors.js';
import type { ApproverAuth } from '../../policy/approver.js';
import type { ApprovalRecord, ApprovalVote } from '../../store/store.js';
import type { ApprovalLevel, Json, JsonObject, Labels, Tier } from '../../types.js';
import { RISKS } from '../../types.js';
import { hashJson } from '../../util/hash.js';
import type { AuthFields } from '../../audit/records.js';

/** Approvals a level needs from distinct eligible people. */
export function approvalsNeeded(level: ApprovalLevel): number {
  return level === 'step-up' ? 2 : 1;
}

/** The fields of an approval's summary that decisions read (the summary is what the approver saw). */
export interface SummaryView {
  readonly args: JsonObject;
  readonly workflow: string;
  readonly tier: Tier;
  readonly labels: Labels;
  readonly onBehalfOf: string | null;
  readonly step: number;
  readonly reasoning: string | null;
}

/** Reads the decision-relevant fields of a summary; a summary that lacks them is corrupt. */
export function summaryView(a: ApprovalRecord): SummaryView {
  const s = a.summary as { [k: string]: Json };
  const labels = s['labels'] as { classification?: string; trust?: string } | undefined;
  if (typeof s !== 'object' || s === null || typeof s['args'] !== 'object' || !labels || typeof s['tier'] !== 'string') {
    throw new AirlockError('store-corrupt', `approval \`${a.id}\` has an unreadable summary`, { hint: 'restore the store from a backup' });
  }
  const evidence = s['evidence'] as { reasoning?: Json } | undefined;
  return {
    args: s['args'] as JsonObject,
    workflow: typeof s['workflow'] === 'string' ? s['workflow'] : a.workflow,
    tier: s['tier'] as Tier,
    labels: labels as Labels,
    onBehalfOf: typeof s['onBehalfOf'] === 'string' ? s['onBehalfOf'] : null,
    step: typeof s['step'] === 'number' ? s['step'] : 0,
    reasoning: typeof evidence?.reasoning === 'string' ? evidence.reasoning : null,
  };
}

/** The hash of what an approver is shown: recorded with each vote. */
export function summaryHash(a: ApprovalRecord): string {
  return hashJson(a.summary);
}

/** Seconds since the approver authenticated, or null when the credential does not say. */
export function authAgeSeconds(auth: ApproverAuth, now: Date): number | null {
  if (auth.authTime === null) return null;
  const t = Date.parse(auth.authTime);
  return Number.isFinite(t) ? Math.max(0, (now.getTime() - t) / 1000) : null;
}

/**
 * Why this approval's state refuses any decision now (409), or null. Pure.
 */
export function stateRefusal(a: ApprovalRecord, now: Date): string | null {
  if (a.status === 'edited') return `approval \`${a.id}\` was replaced by an edited action (\`${a.supersededBy ?? '?'}\`); decide that one`;
  if (a.status !== 'pending') return `approval \`${a.id}\` is already ${a.status}`;
  if (Date.parse(a.expiresAt) <= now.getTime()) return `approval \`${a.id}\` expired at ${a.expiresAt}`;
  return null;
}

/** Whether approving `tool` needs a written justification under the workflow's approval policy. Pure. */
export function needsJustification(policy: ApprovalPolicy, tool: Pick<ToolContract, 'risk'> | undefined, level: ApprovalLevel): boolean {
  if (level !== 'single') return true;
  return tool !== undefined && RISKS.indexOf(tool.risk) >= RISKS.indexOf(policy.justifyFrom);
}

/**
 * Why this approver's credential does not satisfy a `reauth` obligation, or null if it does. Pure.
 * Only an identity provider's login counts (a JWT with `auth_time`), and it must be recent.
 */
export function reauthRefusal(policy: ApprovalPolicy, auth: ApproverAuth, now: Date): string | null {
  const maxSeconds = policy.reauthMaxAgeMinutes * 60;
  // A console vote re-enters the password at vote time (`password`, src/console/): a fresh login too.
  if ((auth.method !== 'jwt' && auth.method !== 'password') || auth.authTime === null) {
    return `this action needs step-up by re-authentication: sign in again with the identity provider and approve with that token (its \`auth_time\` must be under ${policy.reauthMaxAgeMinutes} minutes old), or approve in the console, which asks for your password again; ${auth.method === 'jwt' ? 'the token carries no `auth_time`' : `a \`${auth.method}\` credential cannot re-authenticate`}`;
  }
  const age = authAgeSeconds(auth, now);
  if (age === null || age > maxSeconds) {
    return `this action needs a recent re-authentication: the login behind this token is ${age === null ? 'of unknown age' : `${Math.round(age / 60)} minutes old`}, at most ${policy.reauthMaxAgeMinutes} allowed; sign in again and retry`;
  }
  return null;
}

/**
 * Whether recorded votes meet an obligation (pure): `single` one approval; `step-up` two by
 * different people with different logins; `reauth` one whose identity-provider login was at most
 * `reauthMaxAgeMinutes` old when they voted. Used again at execution, when the obligation may have
 * changed since the approval was given.
 */
export function obligationMet(level: ApprovalLevel, votes: readonly ApprovalVote[], policy: Pick<ApprovalPolicy, 'reauthMaxAgeMinutes'>): boolean {
  const approves = votes.filter((v) => v.decision === 'approve');
  switch (level) {
    case 'single':
      return approves.length >= 1;
    case 'step-up': {
      const people = new Set(approves.map((v) => v.approver));
      const logins = new Set(approves.map((v) => `${v.issuer ?? '?'}\u0000${v.subject ?? '?'}`));
      return people.size >= 2 && logins.size >= 2;
    }
    case 'reauth':
      return approves.some((v) => {
        if (!(v.authMethod?.startsWith('jwt') || v.authMethod?.startsWith('password')) || v.authTime === null) return false;
        const age = (Date.parse(v.time) - Date.parse(v.authTime)) / 1000;
        return Number.isFinite(age) && age <= policy.reauthMaxAgeMinutes * 60;
      });
  }
}

/** A recorded authentication (a vote's, a grant's `grantorAuth`) as the approver policy saw it. */
export function recordedAuth(r: { readonly issuer?: Json; readonly subject?: Json; readonly authMethod?: Json; readonly authTime?: Json }): ApproverAuth {
  const [method, ...amr] = (typeof r.authMethod === 'string' ? r.authMethod : 'local').split('+');
  return {
    issuer: typeof r.issuer === 'string' ? r.issuer : 'unknown',
    subject: typeof r.subject === 'string' ? r.subject : 'unknown',
    method: method === 'jwt' || method === 'api-key' || method === 'password' || method === 'slack' || method === 'email-link' ? method : 'local',
    amr,
    authTime: typeof r.authTime === 'string' ? r.authTime : null,
  };
}

/** The audit fields naming how a person authenticated (never the credential itself). */
export function authBody(auth: ApproverAuth): AuthFields {
  return { issuer: auth.issuer, subject: auth.subject, authMethod: [auth.method, ...auth.amr].join('+'), authTime: auth.authTime };
}

