// Standing grants: an owner's scoped, time-boxed pre-approval ("refunds up to 20.00 EUR in
// refund-desk for the next hour"). Granting is itself decided by policy (Cedar's `grant` action)
// and audited; each use is re-checked (the grantor must still be able to approve that very
// action), counted with a compare-and-set, and recorded apart from per-action approvals.
import type { ToolContract, Workspace } from '../../config/schema.js';
import { exposeArgs } from '../../policy/decide.js';
import { exposedAs } from '../../policy/cedar-schema.js';
import { parseDecimal, toDecimal } from '../../policy/decimal.js';
import type { CedarValue } from '../../policy/engine.js';
import { decideApprover, decideGrant } from '../../policy/approver.js';
import type { GrantBound, GrantRecord } from '../../store/store.js';
import type { Json, JsonObject, Principal, Sha256Hex } from '../../types.js';
import { principalRef } from '../../audit/writer.js';
import type { CallContext, GrantCover } from '../types.js';
import { authAgeSeconds, authBody, recordedAuth } from './rules.js';
import { type ApprovalDeps, type Approver } from './vote.js';
import { rec } from '../../audit/records.js';

/** What an owner asks to grant. */
export interface GrantSpec {
  readonly workflow: string;
  readonly tool: string;
  /** Bounds on the tool's exposed arguments: `{ amount_cents: { max: 2000 }, currency: { equals: 'EUR' } }`. */
  readonly bounds: { readonly [field: string]: GrantBound };
  readonly durationMinutes: number;
  readonly maxUses: number | null;
  readonly reason: string;
}

/** The longest a standing grant may last: a week. Longer pre-approval is a policy change, not a grant. */
export const MAX_GRANT_MINUTES = 7 * 24 * 60;

export type GrantOutcome =
  | { readonly kind: 'created'; readonly grant: GrantRecord }
  | { readonly kind: 'refused'; readonly reason: string; readonly status: 403 | 404 | 409 | 422; readonly policyIds: readonly string[] };

/** Everything wrong with a grant request against the workspace, in words (empty: well-formed). Pure. */
export function grantSpecProblems(workspace: Workspace, spec: GrantSpec): string[] {
  const problems: string[] = [];
  const wf = workspace.workflows.get(spec.workflow);
  const contract = workspace.tools.get(spec.tool);
  if (!wf) problems.push(`workflow \`${spec.workflow}\` is not declared`);
  if (!contract) problems.push(`tool \`${spec.tool}\` is not declared`);
  else if (wf && !wf.tools.includes(spec.tool)) problems.push(`tool \`${spec.tool}\` is not part of workflow \`${spec.workflow}\``);
  else if (contract.effect === 'read') problems.push(`tool \`${spec.tool}\` only reads: reads need no approval, so nothing to grant`);
  if (!Number.isSafeInteger(spec.durationMinutes) || spec.durationMinutes < 1 || spec.durationMinutes > MAX_GRANT_MINUTES) {
    problems.push(`the duration must be 1 to ${MAX_GRANT_MINUTES} minutes (a week), got ${String(spec.durationMinutes)}`);
  }
  if (spec.maxUses !== null && (!Number.isSafeInteger(spec.maxUses) || spec.maxUses < 1)) problems.push(`max uses must be a positive whole number, got ${String(spec.maxUses)}`);
  if (!spec.reason.trim()) problems.push('a grant needs a reason');
  if (contract) {
    for (const [field, bound] of Object.entries(spec.bounds)) {
      const entry = contract.expose[field];
      if (entry === undefined) {
        const exposed = Object.keys(contract.expose);
        problems.push(`\`${field}\` is not an exposed argument of \`${contract.name}\`${exposed.length ? ` (exposed: ${exposed.join(', ')})` : ' (it exposes none)'}`);
        continue;
      }
      const keys = Object.keys(bound).filter((k) => (bound as Record<string, unknown>)[k] !== undefined);
      const unknown = keys.filter((k) => k !== 'max' && k !== 'equals');
      if (unknown.length > 0) {
        problems.push(`bound on \`${field}\` has unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `\`${k}\``).join(', ')}: use \`max\` or \`equals\``);
        continue;
      }
      if (keys.length !== 1) {
        problems.push(`bound on \`${field}\` must be exactly one of \`max\` or \`equals\``);
        continue;
      }
      const { type, each } = exposedAs(entry);
      if (each !== undefined) {
        problems.push(`\`${field}\` exposes each element of \`${each}\` in turn: a grant bounds single arguments only`);
        continue;
      }
      if (bound.max !== undefined) {
        const ok = type === 'long' ? Number.isSafeInteger(bound.max) : type === 'decimal' ? 'value' in toDecimal(bound.max) : false;
        if (!ok) {
          problems.push(
            type === 'long' || type === 'decimal'
              ? `the \`max\` of \`${field}\` must be ${type === 'long' ? 'a whole number' : 'a decimal with at most 4 digits after the point'}, got \`${JSON.stringify(bound.max)}\``
              : `\`max\` applies to number arguments; \`${field}\` is a \`${type}\``,
          );
        }
      }
      if (bound.equals !== undefined && exposeArgs(contract, { [field]: bound.equals }).ok === false) {
        problems.push(`\`${field}\` must equal a ${type}, got \`${JSON.stringify(bound.equals)}\``);
      }
    }
  }
  return problems;
}

/** The largest action a grant covers, as policy sees it: each bounded argument at its bound. Pure. */
export function boundArgs(bounds: GrantRecord['bounds']): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, b] of Object.entries(bounds)) out[field] = b.max ?? b.equals;
  return out;
}

/** Why `args` fall outside the grant's bounds, or null if every bounded argument is present and within. Pure. */
export function outsideBounds(contract: Pick<ToolContract, 'expose'>, bounds: GrantRecord['bounds'], args: Readonly<Record<string, unknown>>): string | null {
  const exposed = exposeArgs(contract, args);
  if (!exposed.ok) return exposed.reasons.join('; ');
  for (const [field, b] of Object.entries(bounds)) {
    const v = exposed.values[field];
    if (v === undefined) return `\`${field}\` is absent`;
    if (b.max !== undefined && !atMost(v, b.max)) return `\`${field}\` ${shown(v)} is above ${b.max}`;
    if (b.equals !== undefined) {
      const fixed = exposeArgs(contract, { [field]: b.equals });
      const want = fixed.ok ? fixed.values[field] : undefined;
      if (want === undefined || !sameValue(want, v)) return `\`${field}\` is not ${JSON.stringify(b.equals)}`;
    }
  }
  return null;
}

/** A decimal as ten-thousandths (exact), a Long as is; null for anything else. */
function scaled(v: CedarValue | number): bigint | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) * 10_000n : null;
  const arg = (v as { __extn?: { fn?: unknown; arg?: unknown } }).__extn;
  if (arg?.fn !== 'decimal' || typeof arg.arg !== 'string') return null;
  const p = parseDecimal(arg.arg);
  return 'scaled' in p ? p.scaled : null;
}

/** Whether an exposed Long or decimal is at most `max`, compared exactly. */
function atMost(v: CedarValue, max: number): boolean {
  const a = scaled(v);
  const m = toDecimal(max);
  const b = 'value' in m ? scaled(m.value) : null;
  return a !== null && b !== null && a <= b;
}

/** Whether two exposed values are the same (decimals by value: `5.0` is `5.00`). */
function sameValue(a: CedarValue, b: CedarValue): boolean {
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  const x = scaled(a);
  return x !== null && x === scaled(b);
}

function shown(v: CedarValue): string {
  const arg = (v as { __extn?: { arg?: unknown } }).__extn?.arg;
  return typeof arg === 'string' ? arg : String(v);
}

export interface GrantDeps extends ApprovalDeps {
  readonly newGrantId: () => string;
}

/** Issues a standing grant if the spec is well-formed and policy lets the grantor grant it. Audited either way. */
export async function createGrant(deps: GrantDeps, grantor: Approver, spec: GrantSpec): Promise<GrantOutcome> {
  const who = principalRef(grantor.principal);
  const refused = async (status: 403 | 422, reason: string, policyIds: readonly string[] = []): Promise<GrantOutcome> => {
    await deps.audit.append({ runId: null, principal: grantor.principal }, [
      rec('grant.refused', { workflow: spec.workflow, tool: spec.tool, bounds: spec.bounds as unknown as Json, reason, policyIds: [...policyIds], ...authBody(grantor.auth) }),
    ]);
    return { kind: 'refused', reason, status, policyIds };
  };
  const problems = grantSpecProblems(deps.workspace, spec);
  if (problems.length > 0) return refused(422, problems.join('; '));
  const contract = deps.workspace.tools.get(spec.tool) as ToolContract;
  const wf = deps.workspace.workflows.get(spec.workflow);
  const now = deps.now();
  const verdict = decideGrant(deps.policies, {
    grantor: grantor.principal,
    auth: grantor.auth,
    authAgeSeconds: authAgeSeconds(grantor.auth, now),
    tool: contract,
    workflow: spec.workflow,
    tier: wf?.tier ?? 'assist',
    boundArgs: boundArgs(spec.bounds),
    durationMinutes: spec.durationMinutes,
    maxUses: spec.maxUses,
  });
  if (!verdict.allowed) return refused(403, verdict.reasons.join('; '), verdict.policyIds);
  const grant: GrantRecord = {
    id: deps.newGrantId(),
    workflow: spec.workflow,
    tool: spec.tool,
    bounds: spec.bounds,
    grantor: who,
    grantorAuth: authBody(grantor.auth),
    reason: spec.reason.trim(),
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + spec.durationMinutes * 60_000).toISOString(),
    maxUses: spec.maxUses,
    uses: 0,
    status: 'active',
    policyIds: [...verdict.policyIds],
  };
  // Write-ahead: the grant is on the record before it can be used.
  await deps.audit.append({ runId: null, principal: grantor.principal }, [
    rec('grant.created', {
        grantId: grant.id,
        workflow: grant.workflow,
        tool: grant.tool,
        bounds: grant.bounds as unknown as Json,
        expiresAt: grant.expiresAt,
        maxUses: grant.maxUses,
        reason: grant.reason,
        policyIds: [...grant.policyIds],
        ...authBody(grantor.auth),
      }),
  ]);
  await deps.store.createGrant(grant);
  return { kind: 'created', grant };
}

/** Revokes a grant: its grantor, or anyone policy lets grant the same. Audited either way. */
export async function revokeGrant(deps: ApprovalDeps, id: string, by: Approver, reason: string): Promise<GrantOutcome> {
  const g = await deps.store.getGrant(id);
  const refused = async (status: 403 | 404 | 409 | 422, why: string): Promise<GrantOutcome> => {
    await deps.audit.append({ runId: null, principal: by.principal }, [rec('grant.refused', { grantId: id, attempted: 'revoke', reason: why, ...authBody(by.auth) })]);
    return { kind: 'refused', reason: why, status, policyIds: [] };
  };
  if (!g) return refused(404, `grant \`${id}\` does not exist`);
  if (!reason.trim()) return refused(422, 'revoking a grant needs a reason');
  const contract = deps.workspace.tools.get(g.tool);
  if (principalRef(by.principal) !== g.grantor) {
    const may =
      contract &&
      decideGrant(deps.policies, {
        grantor: by.principal,
        auth: by.auth,
        authAgeSeconds: authAgeSeconds(by.auth, deps.now()),
        tool: contract,
        workflow: g.workflow,
        tier: deps.workspace.workflows.get(g.workflow)?.tier ?? 'assist',
        boundArgs: boundArgs(g.bounds),
        durationMinutes: 1,
        maxUses: g.maxUses,
      }).allowed;
    if (!may) return refused(403, `only the grantor (\`${g.grantor}\`) or someone policy lets grant \`${g.tool}\` may revoke grant \`${id}\``);
  }
  const revoked = await deps.store.revokeGrant(id);
  if (!revoked) return refused(409, `grant \`${id}\` is already ${g.status}`);
  await deps.audit.append({ runId: null, principal: by.principal }, [rec('grant.revoked', { grantId: id, reason: reason.trim(), uses: revoked.uses, ...authBody(by.auth) })]);
  return { kind: 'created', grant: revoked };
}

/** How often a use is re-tried after losing the use-count race to a concurrent use. */
const USE_ATTEMPTS = 5;

/** The gateway's view of standing grants: finds one that covers an action and counts the use. */
export class StandingGrants implements GrantCover {
  constructor(private readonly deps: ApprovalDeps & { readonly principal: (ref: string) => Principal }) {}

  async cover(ctx: CallContext, contract: ToolContract, args: JsonObject, hash: Sha256Hex): Promise<{ grantId: string; uses: number } | null> {
    const now = this.deps.now();
    const grants = await this.deps.store.liveGrants(ctx.workflow.name, contract.name, now.toISOString());
    for (let g of grants) {
      for (let attempt = 1; attempt <= USE_ATTEMPTS; attempt++) {
        if (Date.parse(g.expiresAt) <= now.getTime() || g.status !== 'active') break;
        if (g.maxUses !== null && g.uses >= g.maxUses) break;
        if (outsideBounds(contract, g.bounds, args) !== null) break;
        // The grant is the grantor's pre-signed approval: they must still be able to approve this very action.
        let grantor;
        try {
          grantor = this.deps.principal(g.grantor);
        } catch {
          break;
        }
        const auth = recordedAuth(g.grantorAuth as Record<string, Json>);
        const still = decideApprover(this.deps.policies, {
          approver: grantor,
          auth,
          authAgeSeconds: authAgeSeconds(auth, now),
          tool: contract,
          workflow: ctx.workflow.name,
          tier: ctx.workflow.tier,
          args,
          labels: ctx.labels,
          requester: principalRef(ctx.principal),
          onBehalfOf: ctx.onBehalfOf ? principalRef(ctx.onBehalfOf) : null,
          level: 'single',
        });
        if (!still.allowed) {
          await this.deps.audit.append(ctx, [rec('grant.not-applied', { grantId: g.id, actionHash: hash, reasons: [...still.reasons] })]);
          break;
        }
        // INVARIANT: uses are counted with a compare-and-set, so max uses holds under concurrent calls.
        const used = await this.deps.store.useGrant(g.id, g.uses);
        if (!used) {
          const fresh = await this.deps.store.getGrant(g.id);
          if (!fresh) break;
          g = fresh;
          continue;
        }
        await this.deps.audit.append(ctx, [
          rec('grant.used', { grantId: g.id, actionHash: hash, tool: contract.name, grantor: g.grantor, uses: used.uses, maxUses: used.maxUses, policyIds: [...still.policyIds] }),
        ]);
        return { grantId: g.id, uses: used.uses };
      }
    }
    return null;
  }
}
