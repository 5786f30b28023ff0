// The policy lifecycle from the command line (gateway/policy-lifecycle.ts, gateway/shadow-report.ts):
// `airlock policy deploy --as USER --message TEXT` records the workspace's policy set as deployed (exit 0,
// also when it already is the latest deployed: nothing is written then); `airlock policy versions [--check]`
// lists deployments newest first (--check: exit 1 unless the loaded set is the latest deployed);
// `airlock policy shadow DRAFT --as USER --message TEXT` sets a draft as the shadow, `--clear --as USER`
// ends it, `--report [--since 7d]` summarises its recorded verdicts. Exit 2 for bad input.
import type { Command } from 'commander';
import { AirlockError } from '../../errors.js';
import { localApprover } from '../../gateway/approvals/vote.js';
import { clearShadow, deployPolicies, deployStanding, startShadow } from '../../gateway/policy-lifecycle.js';
import { shadowReport, type ShadowExample, type ShadowReport } from '../../gateway/shadow-report.js';
import type { Airlock } from '../../airlock.js';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';
import { parseSince, readDraft } from './what-if.js';
import { bold, dim, green, red, yellow } from '../render.js';

/** Adds `deploy`, `versions` and `shadow` under `policy`. */
export function registerPolicyLifecycleCommands(policy: Command, helpers: WorkspaceCommandHelpers & { readonly cli: () => string }): void {
  const { out } = helpers;
  const withAirlock = workspaceRunner(helpers);
  const actor = (a: Airlock, as: string | undefined) => {
    if (!as) throw new AirlockError('input', '--as USER is required: the declared person who does it');
    return localApprover(a.principal(as));
  };

  policy
    .command('deploy')
    .description("record the workspace's current policy set as deployed: its hash and files, who and why (exit 0, also when it already is the latest deployed)")
    .requiredOption('--as <user>', 'who deploys it (a declared person)')
    .requiredOption('--message <text>', 'what changes and why (one line, at most 500 characters)')
    .action(async (o: { as: string; message: string }) => {
      await withAirlock(async (a) => {
        const res = await deployPolicies(a, actor(a, o.as), o.message);
        if (res.kind === 'already') {
          out(`${yellow('already deployed')}: policy set ${res.event.policySetHash.slice(0, 12)} is the latest deployed (by ${res.event.by} at ${res.event.at}: ${res.event.message}); nothing recorded`);
          return;
        }
        const e = res.event;
        out(`${green('deployed')} policy set ${e.policySetHash.slice(0, 12)} (${e.policies} policies, ${e.files.length} file(s)) by ${e.by} at ${e.at} ${dim(`(${e.id})`)}: ${e.message}`);
        out(dim(res.previous ? `  replaces ${res.previous.policySetHash.slice(0, 12)}, deployed by ${res.previous.by} at ${res.previous.at}` : '  the first deployment on record'));
      });
    });

  policy
    .command('versions')
    .description('the deployed policy sets, newest first, and whether the loaded set is the latest deployed')
    .option('--limit <n>', 'how many (1 to 1000)', '20')
    .option('--check', 'exit 1 unless the loaded set is the latest deployed')
    .option('--json', 'as JSON')
    .action(async (o: { limit: string; check?: boolean; json?: boolean }) => {
      const limit = /^\s*\d{1,4}\s*$/.test(o.limit) ? Number(o.limit) : NaN;
      if (!(limit >= 1 && limit <= 1000)) throw new AirlockError('input', `--limit \`${o.limit.slice(0, 20)}\` is not a whole number from 1 to 1000`);
      await withAirlock(async (a) => {
        const loaded = a.policies.policySetHash;
        const versions = await a.store.listPolicyEvents('deployed', limit);
        const standing = await deployStanding(a.store, loaded);
        if (o.json) {
          out(JSON.stringify({ loaded, standing: standing.kind, versions: versions.map((v) => ({ ...v, files: v.files.map((f) => f.file) })) }, null, 2));
        } else {
          for (const v of versions) {
            const mark = v.policySetHash === loaded ? ` ${green('(loaded)')}` : '';
            out(`${bold(v.policySetHash.slice(0, 12))} ${v.at} by ${v.by}: ${v.message} ${dim(`(${v.policies} policies, ${v.files.map((f) => f.file).join(', ')}; ${v.id})`)}${mark}`);
          }
          if (standing.kind === 'none') out(dim(`no policy set was ever deployed; the loaded set is ${loaded.slice(0, 12)}: deploy it with ${helpers.cli()} policy deploy --as USER --message "..."`));
          else if (standing.kind === 'latest') out(`${green('ok')}: the loaded set ${loaded.slice(0, 12)} is the latest deployed`);
          else out(`${yellow('warning')}: the loaded set ${loaded.slice(0, 12)} is not the latest deployed (${standing.latest.policySetHash.slice(0, 12)}); it is what is enforced: deploy it with ${helpers.cli()} policy deploy --as USER --message "..."`);
        }
        if (o.check && standing.kind !== 'latest') process.exitCode = 1;
      });
    });

  policy
    .command('shadow [draft]')
    .description('set a draft policy set (a .cedar file or folder) as the shadow: decided beside the enforced set on every proposal and recorded, never enforced; --clear ends it, --report says what it would have changed')
    .option('--as <user>', 'who sets or clears it (a declared person)')
    .option('--message <text>', 'why (required to set one; one line, at most 500 characters)')
    .option('--clear', 'end the active shadow')
    .option('--report', "summarise the shadow's recorded verdicts since it started: the same, newly denied, newly allowed, obligation changed (exit 1 if any differ)")
    .option('--since <when>', 'with --report: only verdicts since then (`7d`, `24h`, `90m`, or a date)')
    .option('--json', 'with --report: the report as JSON')
    .action(async (draft: string | undefined, o: { as?: string; message?: string; clear?: boolean; report?: boolean; since?: string; json?: boolean }) => {
      const modes = [draft !== undefined, o.clear === true, o.report === true].filter(Boolean).length;
      if (modes !== 1) throw new AirlockError('input', 'airlock policy shadow: give one of DRAFT (with --as and --message), --clear (with --as) or --report');
      if (o.since !== undefined && !o.report) throw new AirlockError('input', '--since goes with --report');
      if (o.report) {
        await withAirlock(async (a) => {
          const since = o.since === undefined ? undefined : parseSince(o.since, a.now());
          const report = await shadowReport(a.store, since === undefined ? {} : { since });
          if (o.json) out(JSON.stringify(report, null, 2));
          else printShadowReport(out, report);
          const c = report.counts;
          if (c.newlyDenied + c.newlyAllowed + c.obligationChanged > 0) process.exitCode = 1;
        });
        return;
      }
      if (o.clear) {
        await withAirlock(async (a) => {
          const ended = await clearShadow(a, actor(a, o.as), o.message);
          if (!ended) out(dim('no shadow policy set is active: nothing to clear'));
          else out(`${green('cleared')} the shadow policy set ${ended.policySetHash.slice(0, 12)} (set by ${ended.by} at ${ended.at}) ${dim(`(${ended.id})`)}`);
        });
        return;
      }
      const sources = readDraft(draft ?? '');
      await withAirlock(async (a) => {
        const res = await startShadow(a, actor(a, o.as), sources, o.message ?? '');
        if (res.kind === 'already') {
          out(`${yellow('already the shadow')}: ${res.event.policySetHash.slice(0, 12)} since ${res.event.at} (set by ${res.event.by}); nothing recorded`);
          return;
        }
        const e = res.event;
        out(`${green('shadow set')}: ${e.policySetHash.slice(0, 12)} (${e.policies} policies) by ${e.by} at ${e.at} ${dim(`(${e.id})`)}: ${e.message}`);
        if (res.replaced) out(dim(`  replaces the shadow ${res.replaced.policySetHash.slice(0, 12)} set by ${res.replaced.by} at ${res.replaced.at}`));
        out(dim(`  every proposal is now also decided with it, in every process on this store, and recorded (never enforced): ${helpers.cli()} policy shadow --report`));
      });
    });
}

function printShadowReport(out: (line: string) => void, r: ShadowReport): void {
  if (!r.shadow) {
    out(dim('no shadow policy set was ever set: airlock policy shadow DRAFT --as USER --message "..."'));
    return;
  }
  out(bold(`shadow ${r.shadow.policySetHash.slice(0, 12)} ${r.active ? 'active' : 'ended'}, set by ${r.shadow.by} at ${r.shadow.at}: ${r.shadow.message}`));
  out(dim(`verdicts since ${r.since ?? r.shadow.at}, ${r.scanned} audit records read`));
  if (r.stoppedEarly) out(yellow(`stopped early: ${r.stoppedEarly}`));
  const c = r.counts;
  out(`${c.same} same, ${c.newlyDenied} newly denied, ${c.newlyAllowed} newly allowed, ${c.obligationChanged} obligation changed${c.errors > 0 ? `, ${c.errors} not decided (error)` : ''}`);
  const show = (title: string, xs: readonly ShadowExample[], color: (s: string) => string): void => {
    if (xs.length === 0) return;
    out(color(title));
    for (const x of xs) {
      out(`  #${x.seq} ${x.time} ${x.tool} by ${x.principal ?? '?'} (run ${x.runId ?? '-'}): ${x.enforced} → ${x.shadow}${x.error ? `: ${x.error}` : ''}`);
      if (!x.error) out(dim(`    shadow: ${x.policyIds.join(', ') || '(no policy: deny by default)'}`));
    }
  };
  show('newly denied', r.examples.newlyDenied, red);
  show('newly allowed', r.examples.newlyAllowed, green);
  show('obligation changed', r.examples.obligationChanged, yellow);
  show('errors', r.examples.errors, yellow);
}
