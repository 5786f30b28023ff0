// Who may approve, and who may grant: Cedar's `approve` and `grant` actions, behind the rules no
// policy can loosen (only people approve; never the requester, never the person the agent acts for).
// Pure: no clock (ages come in as numbers), no IO.
import type { ToolContract } from '../config/schema.js';
import type { ApprovalLevel, Labels, Principal, Tier } from '../types.js';
import { APPROVE_ACTION, GRANT_ACTION } from './cedar-schema.js';
import type { CompiledPolicies } from './compile.js';
import { buildCedarRequest, callContext, principalRef, refusedReasons } from './decide.js';
import { exposedRecords, type ExposedRecord } from './expose.js';
import type { CedarValue } from './engine.js';

/** How a person proved who they are for this decision. */
export interface ApproverAuth {
  /** Who vouched: the JWT issuer, `airlock` (API key), `local` (the CLI on the workspace's machine). */
  readonly issuer: string;
  /** The subject that issuer named. */
  readonly subject: string;
  /** `jwt`, `api-key`, `local`, `password` (the web console's own sign-in, src/console/), `slack` (a button in Slack, server/slack-actions.ts), or `email-link` (a mailed link, gateway/approvals/links.ts). */
  readonly method: 'jwt' | 'api-key' | 'local' | 'password' | 'slack' | 'email-link';
  /** Authentication methods the identity provider reported (the JWT `amr` claim), if any. */
  readonly amr: readonly string[];
  /** When the person last authenticated (ISO-8601), when the credential says. */
  readonly authTime: string | null;
}

/** A person's eligibility, with the policies that decided it and why. */
export type Eligibility =
  | { readonly allowed: true; readonly policyIds: readonly string[]; readonly reasons: readonly string[] }
  | { readonly allowed: false; readonly policyIds: readonly string[]; readonly reasons: readonly string[] };

/** One pending action as an approver's policy sees it. */
export interface ApproveRequest {
  readonly approver: Principal;
  readonly auth: ApproverAuth;
  /** Seconds since the approver authenticated; null when unknown. */
  readonly authAgeSeconds: number | null;
  readonly tool: ToolContract;
  readonly workflow: string;
  readonly tier: Tier;
  readonly args: Readonly<Record<string, unknown>>;
  readonly labels: Labels;
  /** `kind:id` of who proposed the action. */
  readonly requester: string;
  /** `kind:id` of the person the agent acts for, if any. */
  readonly onBehalfOf: string | null;
  /** `user:id` of the approver who edited the arguments into this action, if one did. */
  readonly editedBy?: string | null;
  readonly level: ApprovalLevel;
}

/**
 * Whether `approver` may decide (approve or reject) this action. The fixed rules come first and no
 * policy can override them; then Cedar's `approve` action decides, denying by default.
 */
export function decideApprover(compiled: CompiledPolicies, req: ApproveRequest): Eligibility {
  const who = principalRef(req.approver);
  const refuse = (reason: string, policyIds: readonly string[] = []): Eligibility => ({ allowed: false, policyIds, reasons: [reason] });
  if (req.approver.kind !== 'user') return refuse(`\`${who}\` is not a person: agents and services can never approve`);
  if (who === req.requester) return refuse(`\`${who}\` requested this action and cannot approve it`);
  if (req.onBehalfOf !== null && who === req.onBehalfOf) return refuse(`the agent acts for \`${who}\`, who therefore cannot approve it`);
  if (req.editedBy && who === req.editedBy) return refuse(`\`${who}\` wrote these arguments (an edit) and cannot also approve them: another eligible person decides`);
  const exposed = exposedRecords(req.tool, req.args);
  if (!exposed.ok) return refuse(exposed.reasons.join('; '));
  const noPermit = `no policy lets \`${who}\` approve \`${req.tool.name}\` in workflow \`${req.workflow}\` (who may approve is policy: permit \`Airlock::Action::"approve"\`)`;
  return everyRecord(exposed.records, (args) => {
    const context: Record<string, CedarValue> = {
      ...callContext({ workflow: req.workflow, tier: req.tier, labels: req.labels, onBehalfOf: req.onBehalfOf ?? undefined }, args),
      requester: req.requester,
      ...(req.editedBy ? { editedBy: req.editedBy } : {}),
      level: req.level,
      ...authContext(req.auth, req.authAgeSeconds),
    };
    return evaluate(compiled, req.approver, APPROVE_ACTION, req.tool, context, { noPermit });
  });
}

/**
 * Eligibility over every record of exposed arguments (one per element of a list a contract exposes
 * element by element): eligible only for all of them; the first refusal stands, named by its element.
 */
function everyRecord(records: readonly ExposedRecord[], judge: (args: Readonly<Record<string, CedarValue>>) => Eligibility): Eligibility {
  const allowed: Eligibility[] = [];
  for (const r of records) {
    const e = judge(r.values);
    if (!e.allowed) return r.element === undefined ? e : { ...e, reasons: e.reasons.map((x) => `${r.element}: ${x}`) };
    allowed.push(e);
  }
  return {
    allowed: true,
    policyIds: [...new Set(allowed.flatMap((e) => e.policyIds))].sort(),
    reasons: [...new Set(allowed.flatMap((e) => e.reasons))],
  };
}

/** A standing grant as the grantor's policy sees it: its bounds are the largest action it covers. */
export interface GrantRequest {
  readonly grantor: Principal;
  readonly auth: ApproverAuth;
  readonly authAgeSeconds: number | null;
  readonly tool: ToolContract;
  readonly workflow: string;
  readonly tier: Tier;
  /** Each bounded argument at its bound (`max`, or `equals`): what policy sees as `context.args`. */
  readonly boundArgs: Readonly<Record<string, unknown>>;
  readonly durationMinutes: number;
  readonly maxUses: number | null;
}

/** Whether `grantor` may issue this standing grant: people only, then Cedar's `grant` action (deny by default). */
export function decideGrant(compiled: CompiledPolicies, req: GrantRequest): Eligibility {
  const who = principalRef(req.grantor);
  if (req.grantor.kind !== 'user') {
    return { allowed: false, policyIds: [], reasons: [`\`${who}\` is not a person: only people grant standing approvals`] };
  }
  const exposed = exposedRecords(req.tool, req.boundArgs);
  if (!exposed.ok) return { allowed: false, policyIds: [], reasons: exposed.reasons };
  const noPermit = `no policy lets \`${who}\` grant standing approval of \`${req.tool.name}\` in workflow \`${req.workflow}\` (permit \`Airlock::Action::"grant"\`)`;
  return everyRecord(exposed.records, (args) => {
    const context: Record<string, CedarValue> = {
      workflow: req.workflow,
      tier: req.tier,
      args,
      durationMinutes: req.durationMinutes,
      ...(req.maxUses === null ? {} : { maxUses: req.maxUses }),
      ...authContext(req.auth, req.authAgeSeconds),
    };
    return evaluate(compiled, req.grantor, GRANT_ACTION, req.tool, context, { noPermit });
  });
}

function authContext(auth: ApproverAuth, ageSeconds: number | null): Record<string, CedarValue> {
  return { authMethod: auth.method, ...(ageSeconds === null ? {} : { authAgeSeconds: Math.max(0, Math.floor(ageSeconds)) }) };
}

function evaluate(
  compiled: CompiledPolicies,
  principal: Principal,
  action: typeof APPROVE_ACTION | typeof GRANT_ACTION,
  tool: ToolContract,
  context: Record<string, CedarValue>,
  text: { readonly noPermit: string },
): Eligibility {
  const { cedarRequest, entities } = buildCedarRequest(compiled, principal, action, tool, context);
  const result = compiled.engine.authorize(cedarRequest, entities);
  if (result.refused !== undefined) return { allowed: false, policyIds: [], reasons: refusedReasons(result.refused, 'the person is not eligible') };
  // INVARIANT: the answer is the same whichever engine gave it (cedar-wasm lists policies in no fixed order).
  const determining = [...result.determining].sort().map((id) => ({ id, policy: compiled.policies.get(id) }));
  if (result.errors.length > 0) {
    // INVARIANT: an evaluation error may have skipped a forbid; eligibility fails closed.
    return { allowed: false, policyIds: determining.map((d) => d.id), reasons: [...[...result.errors].sort(), 'policy evaluation failed, so the person is not eligible (failing closed)'] };
  }
  if (result.decision === 'deny') {
    const forbids = determining.filter((d) => d.policy?.effect !== 'permit');
    if (forbids.length === 0) return { allowed: false, policyIds: [], reasons: [text.noPermit] };
    return { allowed: false, policyIds: forbids.map((d) => d.id), reasons: forbids.map((d) => d.policy?.reason ?? `forbidden by policy \`${d.id}\``) };
  }
  return { allowed: true, policyIds: determining.map((d) => d.id), reasons: determining.map((d) => d.policy?.reason ?? `permitted by policy \`${d.id}\``) };
}
