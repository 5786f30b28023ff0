// `airlock approvals | show | approve | reject | grants`: people decide pending actions, edit them,
// grant standing pre-approvals, and see how the approval path is used (per-approver statistics).
import type { Command } from 'commander';
import type { Airlock } from '../../airlock.js';
import { AirlockError } from '../../errors.js';
import { localApprover, editApproval, vote, type Approver, type VoteOutcome } from '../../gateway/approvals/vote.js';
import { createAuthenticator } from '../../identity/authenticate.js';
import { afterDecision } from '../../orchestration/after-decision.js';
import { storeApprovalStats } from '../../gateway/approvals/stats.js';
import { sweepApprovals } from '../../gateway/approvals/sweep.js';
import { createGrant, revokeGrant, type GrantSpec } from '../../gateway/approvals/grants.js';
import type { GrantBound, GrantRecord } from '../../store/store.js';
import type { ApprovalId, Json, JsonObject, RunId } from '../../types.js';
import { bold, dim, green, red, renderApproval, renderEvidence, yellow } from '../render.js';

/** What the approval commands need from the program that hosts them. */
export interface ApprovalCommandHelpers {
  readonly out: (line: string) => void;
  readonly workspaceDir: () => string;
  /** Opens the workspace, runs `fn`, closes it (with tracing when asked). */
  readonly withAirlock: <T>(dir: string, fn: (a: Airlock) => Promise<T>, opts?: { trace?: boolean }) => Promise<T>;
  readonly traceOpt: () => { trace: boolean };
  /** Prints where a run stands after it resumed. */
  readonly reportRun: (a: Airlock, runId: RunId) => Promise<void>;
}

/** Adds the approval and grant commands to `program`. */
export function registerApprovalCommands(program: Command, h: ApprovalCommandHelpers): void {
  const { out } = h;
  const ws = h.workspaceDir;

  const approvals = program
    .command('approvals')
    .description('list approvals (pending by default); `approvals stats`, `approvals sweep`')
    .option('--all', 'every approval, decided ones too')
    .option('--json', 'machine-readable output')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      await h.withAirlock(ws(), async (a) => {
        const list = await a.store.listApprovals(o.all ? {} : { status: 'pending' });
        if (o.json) out(JSON.stringify(list, null, 2));
        else if (list.length === 0) out(o.all ? 'no approvals' : 'no pending approvals');
        else out(list.map(renderApproval).join('\n\n'));
      });
    });

  approvals
    .command('stats')
    .description('per-approver approve rate and decision time, overrides, escalations, standing-grant uses')
    .option('--workflow <name>', 'one workflow only')
    .option('--json', 'machine-readable output')
    .action(async (o: { workflow?: string; json?: boolean }) => {
      await h.withAirlock(ws(), async (a) => {
        const stats = await storeApprovalStats(a.store, o.workflow);
        if (o.json) {
          out(JSON.stringify(stats, null, 2));
          return;
        }
        const st = Object.entries(stats.byStatus).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
        out(`${bold('approvals')} ${stats.requested} (${st})`);
        out(`${bold('overrides')} ${stats.overrides.edited} edited, ${stats.overrides.rejected} rejected   ${bold('escalations')} ${stats.escalations}   ${bold('standing grants')} ${stats.grants.issued} issued, ${stats.grants.uses} uses`);
        if (stats.approvers.length === 0) return;
        out('');
        out(dim('approver            votes  approve rate  median s  p90 s  justified'));
        for (const p of stats.approvers) {
          const rate = `${Math.round(p.approveRate * 100)}%`;
          const flag = p.votes >= 10 && p.approveRate === 1 && p.medianDecisionSeconds < 30 ? yellow('  (every vote an approval, fast: rubber stamp?)') : '';
          out(`${p.approver.padEnd(18)} ${String(p.votes).padStart(6)}  ${rate.padStart(12)}  ${p.medianDecisionSeconds.toFixed(0).padStart(8)}  ${p.p90DecisionSeconds.toFixed(0).padStart(5)}  ${String(p.justified).padStart(9)}${flag}`);
        }
      });
    });

  approvals
    .command('sweep')
    .description('escalate approvals past their escalation time and expire those past their deadline (run from cron; `serve` does it itself)')
    .action(async () => {
      await h.withAirlock(ws(), async (a) => {
        const r = await sweepApprovals({ ...a.approvalDeps, after: (ap) => a.afterDecision(ap, true) });
        for (const e of r.escalated) out(`${yellow('escalated')} ${e.approvalId} to ${e.to}`);
        for (const id of r.expired) out(`${red('expired')} ${id}`);
        if (r.escalated.length + r.expired.length === 0) out('nothing due');
        await deliverQuietly(a);
      });
    });

  program
    .command('show <approval>')
    .description('show one approval with its evidence: citations, the agent\'s reasoning, the arguments and the diff against ground truth')
    .option('--json', 'the approval record as JSON')
    .action(async (id: string, o: { json?: boolean }) => {
      await h.withAirlock(ws(), async (a) => {
        const ap = await a.store.getApproval(id as ApprovalId);
        if (!ap) throw new AirlockError('not-found', `approval \`${id}\` does not exist`, { hint: 'list them with `airlock approvals --all`' });
        if (o.json) {
          out(JSON.stringify(ap, null, 2));
          return;
        }
        out(renderApproval(ap));
        const evidence = (ap.summary as { evidence?: Json }).evidence;
        if (evidence !== undefined) {
          out('');
          out(renderEvidence(evidence));
        }
      });
    });

  for (const name of ['approve', 'reject'] as const) {
    program
      .command(`${name} <approval>`)
      .description(
        name === 'approve'
          ? 'approve a pending action (or edit it with --set first); Airlock\'s own run resumes at once'
          : 'reject a pending action; the reason goes back to the agent',
      )
      .option('--as <user>', 'who decides: a declared person, vouched for by this machine\'s account')
      .option('--key <apiKey>', 'decide with your own API key instead of --as (or set AIRLOCK_API_KEY): a second step-up approver needs their own login')
      .option('--reason <text>', name === 'reject' ? 'why (required; the agent hears it)' : 'justification (required for high risk and step-up)')
      .option('--set <field=value...>', 'edit instead: change these arguments (value as JSON, else text); another eligible person then decides the edited action')
      .option('--args <json>', 'edit instead: replace the arguments with this JSON object')
      .action(async (id: string, o: { as?: string; key?: string; reason?: string; set?: string[]; args?: string }) => {
        if (name === 'reject' && (o.set || o.args)) throw new AirlockError('input', '`--set` and `--args` edit an action before approving it; a rejection takes only `--reason`');
        await h.withAirlock(ws(), async (a) => {
          const approver = await approverFor(a, o);
          const edit = o.set || o.args ? await editedArgs(a, id as ApprovalId, o.set ?? [], o.args) : null;
          if (edit) {
            const revised = await editApproval(a.approvalDeps, id as ApprovalId, approver, edit, o.reason ?? null);
            if (revised.kind === 'refused') return refusal(revised.reason);
            out(`${yellow('edited')} ${id} → ${bold(revised.revised.id)} (${revised.revised.level}, pending); the change is recorded as an override`);
            out(`you wrote these arguments, so another eligible person decides them: ${bold(`airlock approve ${revised.revised.id} --as <someone else> --reason "..."`)}`);
            await deliverQuietly(a);
            return;
          }
          const res: VoteOutcome = await vote(a.approvalDeps, id as ApprovalId, approver, name, o.reason ?? null);
          if (res.kind === 'refused') {
            await deliverQuietly(a);
            return refusal(res.reason);
          }
          if (!res.decided) {
            out(yellow(`vote recorded; approval ${res.approval.id} needs another eligible approver (step-up)`));
            await deliverQuietly(a);
            return;
          }
          out(`${res.approval.status === 'approved' ? green('approved') : red('rejected')} ${res.approval.id} by user:${approver.principal.id} ${dim(`(${approver.auth.method})`)}`);
          // What becomes of the run is decided in one place (orchestration/after-decision.ts); the run goes
          // first, slow webhook receivers wait (their deliveries are queued).
          const fate = await afterDecision({ store: a.store, resume: (runId) => {
            out(`resuming run ${runId}`);
            out('');
            return a.runner.resumeHere(runId);
          }, wake: (runId) => a.runner.wake(runId) }, res.approval, true);
          if (fate.kind === 'resumed') {
            await h.reportRun(a, fate.runId);
            // As `airlock run`: exit 1 when the run ends failed or unverified.
            if (fate.run.status === 'failed' || fate.run.status === 'unverified') process.exitCode = 1;
          } else if (fate.kind === 'resume-failed') {
            throw new AirlockError('config', `run ${fate.runId} could not continue: ${fate.error}`);
          } else if (fate.kind === 'rollback') {
            out(`run ${fate.runId} rolls back run ${fate.rollbackOf}: continue it with ${bold(`airlock rollback ${fate.rollbackOf} --as <user>`)}`);
          } else if (fate.kind === 'handed-off') {
            out(dim(`run ${fate.runId} is being driven by another Airlock instance on this store: it goes on there`));
          } else if (fate.kind === 'external') {
            out(dim(`run ${fate.runId} is driven by an external agent: it ${res.approval.status === 'approved' ? 'executes the action once when the agent calls it again' : 'hears why on its next call'}`));
          }
          await deliverQuietly(a);
        }, h.traceOpt());
      });
  }

  const grants = program
    .command('grants')
    .description('standing grants: scoped, time-boxed pre-approvals (`grants create`, `grants revoke`)')
    .option('--all', 'revoked and expired ones too (the newest 1,000)')
    .option('--json', 'machine-readable output')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      await h.withAirlock(ws(), async (a) => {
        const now = a.now().getTime();
        // Newest first. A grant lasts a week at most: the live ones are among the newest active thousand.
        const page = await a.store.pageGrants({ ...(o.all ? {} : { status: 'active' as const }), limit: 1000 });
        const list = o.all ? page : page.filter((g) => Date.parse(g.expiresAt) > now);
        if (o.json) out(JSON.stringify(list, null, 2));
        else if (list.length === 0) out(o.all ? 'no grants' : 'no active grants');
        else out(list.map((g) => renderGrant(g, now)).join('\n\n'));
      });
    });

  grants
    .command('create')
    .description('pre-approve a kind of action for a while, e.g. refunds up to 20.00 EUR for an hour (decided by `grant` policies)')
    .option('--as <user>', 'who grants (a declared person)')
    .option('--key <apiKey>', 'grant with your own API key instead of --as (or set AIRLOCK_API_KEY)')
    .requiredOption('--workflow <name>', 'the workflow it applies in')
    .requiredOption('--tool <name>', 'the tool it covers')
    .option('--max <field=number...>', 'an exposed whole-number argument at most this, e.g. amount_cents=2000')
    .option('--equals <field=value...>', 'an exposed argument exactly this, e.g. currency=EUR')
    .requiredOption('--for <duration>', 'how long: 90m, 8h, 2d (at most 7d)')
    .option('--max-uses <n>', 'at most this many uses')
    .requiredOption('--reason <text>', 'why (recorded)')
    .action(async (o: { as?: string; key?: string; workflow: string; tool: string; max?: string[]; equals?: string[]; for: string; maxUses?: string; reason: string }) => {
      const bounds: Record<string, GrantBound> = {};
      for (const kv of o.max ?? []) {
        const [k, v] = splitKv(kv, '--max');
        const n = Number(v);
        if (!Number.isSafeInteger(n)) throw new AirlockError('input', `--max ${kv}: \`${v}\` is not a whole number`, { hint: 'amounts are in the smallest unit, e.g. amount_cents=2000' });
        bounds[k] = { max: n };
      }
      for (const kv of o.equals ?? []) {
        const [k, v] = splitKv(kv, '--equals');
        bounds[k] = { equals: parseValue(v) as string | number | boolean };
      }
      const maxUses = o.maxUses === undefined ? null : Number(o.maxUses);
      if (maxUses !== null && !Number.isSafeInteger(maxUses)) throw new AirlockError('input', `--max-uses \`${o.maxUses}\` is not a whole number`);
      const spec: GrantSpec = { workflow: o.workflow, tool: o.tool, bounds, durationMinutes: parseDuration(o.for), maxUses, reason: o.reason };
      await h.withAirlock(ws(), async (a) => {
        const res = await createGrant(a.approvalDeps, await approverFor(a, o), spec);
        if (res.kind === 'refused') return refusal(res.reason);
        out(`${green('granted')} ${renderGrant(res.grant, a.now().getTime())}`);
      });
    });

  grants
    .command('revoke <grant>')
    .description('end a standing grant now')
    .option('--as <user>', 'who revokes (the grantor, or someone policy lets grant the same)')
    .option('--key <apiKey>', 'revoke with your own API key instead of --as (or set AIRLOCK_API_KEY)')
    .requiredOption('--reason <text>', 'why (recorded)')
    .action(async (id: string, o: { as?: string; key?: string; reason: string }) => {
      await h.withAirlock(ws(), async (a) => {
        const res = await revokeGrant(a.approvalDeps, id, await approverFor(a, o), o.reason);
        if (res.kind === 'refused') return refusal(res.reason);
        out(`${red('revoked')} ${id} after ${res.grant.uses} use${res.grant.uses === 1 ? '' : 's'}`);
      });
    });
}

/** The person deciding on the CLI: by their own API key (`--key`, or `AIRLOCK_API_KEY`), else `--as`, vouched for by this machine's account. */
export async function approverFor(a: Airlock, o: { as?: string | undefined; key?: string | undefined }): Promise<Approver> {
  const key = o.key ?? process.env['AIRLOCK_API_KEY'];
  if (key) {
    const res = await createAuthenticator(a.workspace).authenticate(`Bearer ${key}`);
    if (!res.ok) throw new AirlockError('input', `the API key was refused: ${res.error}`, { hint: res.hint ?? 'use your own key from `airlock keys create`' });
    if (o.as !== undefined && a.principal(o.as).id !== res.principal.id) {
      throw new AirlockError('input', `--as \`${o.as}\` does not match the key's principal \`${res.principal.kind}:${res.principal.id}\``, { hint: 'leave out --as when you use --key' });
    }
    return { principal: res.principal, auth: { issuer: res.issuer, subject: res.subject, method: res.method, amr: res.amr, authTime: res.authTime ?? null } };
  }
  if (o.as === undefined) {
    const people = a.workspace.file.identity.principals.filter((p) => p.kind === 'user').map((p) => p.id);
    const example = people[0] ? `for example --as ${people[0]} (people in this workspace: ${people.slice(0, 8).join(', ')})` : 'declare people (kind: user) under identity.principals first';
    throw new AirlockError('input', 'say who decides: --as USER, or --key with your own API key', { hint: example });
  }
  return localApprover(a.principal(o.as));
}

/** A refusal on the CLI: the reason on stderr, exit code 2 (the input was not acceptable). */
function refusal(reason: string): void {
  process.stderr.write(red(`refused: ${reason}`) + '\n');
  process.exitCode = 2;
}

/** Attempts due webhook deliveries; a failure stays queued (and logged) for the next attempt. */
async function deliverQuietly(a: Airlock): Promise<void> {
  try {
    await a.notifier.deliverDue();
  } catch {
    // delivery problems are recorded in the delivery log by the notifier; never fail a decision on them
  }
}

/** The arguments an approver chose: the proposed ones with `--set` changes, or `--args` whole. */
async function editedArgs(a: Airlock, id: ApprovalId, sets: readonly string[], whole: string | undefined): Promise<JsonObject> {
  const ap = await a.store.getApproval(id);
  if (!ap) throw new AirlockError('not-found', `approval \`${id}\` does not exist`, { hint: 'list them with `airlock approvals`' });
  let args: Record<string, Json>;
  if (whole !== undefined) {
    const parsed = parseValue(whole);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new AirlockError('input', '--args must be a JSON object of arguments', { hint: `for example --args '{"amount_cents": 2000}'` });
    }
    args = { ...(parsed as Record<string, Json>) };
  } else {
    args = { ...((ap.summary as { args?: Record<string, Json> }).args ?? {}) };
  }
  for (const kv of sets) {
    const [k, v] = splitKv(kv, '--set');
    args[k] = parseValue(v);
  }
  return args;
}

function splitKv(kv: string, flag: string): [string, string] {
  const i = kv.indexOf('=');
  if (i <= 0) throw new AirlockError('input', `${flag} \`${kv}\` is not field=value`, { hint: `for example ${flag} amount_cents=2000` });
  return [kv.slice(0, i), kv.slice(i + 1)];
}

/** A command-line value: JSON when it parses (numbers, booleans, objects), else the text itself. */
function parseValue(v: string): Json {
  try {
    return JSON.parse(v) as Json;
  } catch {
    return v;
  }
}

/** `90m`, `8h`, `2d` → minutes. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})(m|h|d)$/.exec(text.trim());
  if (!m) throw new AirlockError('input', `duration \`${text}\` is not understood`, { hint: 'use minutes, hours or days: 90m, 8h, 2d' });
  const n = Number(m[1]);
  return m[2] === 'm' ? n : m[2] === 'h' ? n * 60 : n * 24 * 60;
}

function renderGrant(g: GrantRecord, now: number): string {
  const bounds = Object.entries(g.bounds).map(([k, b]) => (b.max !== undefined ? `${k} <= ${b.max}` : `${k} = ${JSON.stringify(b.equals)}`));
  const live = g.status === 'active' && Date.parse(g.expiresAt) > now;
  return [
    `${bold(g.id)}  ${live ? green('active') : dim(g.status === 'revoked' ? 'revoked' : 'expired')}  ${g.tool} in ${g.workflow}`,
    `  bounds    ${bounds.length ? bounds.join(', ') : dim('none (every call of the tool)')}`,
    `  uses      ${g.uses}${g.maxUses !== null ? ` of ${g.maxUses}` : ''}`,
    `  granted   by ${g.grantor} at ${g.createdAt}: ${g.reason}`,
    `  expires   ${g.expiresAt}`,
    `  policies  ${g.policyIds.join(', ')}`,
  ].join('\n');
}
