// `airlock policy what-if --draft DIR|FILE [--last N] [--all] [--json]`: which of the last N recorded
// proposals a draft policy set would decide differently (gateway/what-if.ts, the console's too);
// `airlock policy replay DRAFT [--since 7d]`: the same over every proposal recorded in a window.
// Exit 0: every replayed request decided the same; 1: some decided differently; 2: bad input (a draft
// that does not compile names file:line).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AirlockError } from '../../errors.js';
import type { PolicySource } from '../../policy/compile.js';
import { compileDraft, label, parseLast, whatIf, WHAT_IF_LIMITS, type WhatIfReport } from '../../gateway/what-if.js';
import { workspaceRunner, type WorkspaceCommandHelpers } from './open-workspace.js';
import { bold, dim, green, red, yellow } from '../render.js';

/** Adds `what-if` and `replay` under `policy`. */
export function registerWhatIfCommand(policy: Command, helpers: WorkspaceCommandHelpers): Command {
  const { out } = helpers;
  const withAirlock = workspaceRunner(helpers);
  policy
    .command('replay <draft>')
    .description('replay every proposal recorded in a window with a draft policy set, before anyone deploys it: what it would newly deny, newly allow, or decide with another approval (exit 1 if anything changes)')
    .option('--since <when>', 'the window: a duration back from now (`7d`, `24h`, `90m`) or a date or instant (ISO-8601)', '7d')
    .option('--all', 'list the requests decided the same too')
    .option('--json', 'the whole report as JSON')
    .action(async (draftPath: string, o: { since: string; all?: boolean; json?: boolean }) => {
      const sources = readDraft(draftPath);
      const report = await withAirlock(async (a) => whatIf(a, compileDraft(a.workspace, sources), { since: parseSince(o.since, a.now()) }));
      if (o.json) out(JSON.stringify(report, null, 2));
      else printReport(out, report, o.all === true);
      const s = report.summary;
      if (s.newlyDenied + s.newlyAllowed + s.obligationChanged > 0) process.exitCode = 1;
    });
  return policy
    .command('what-if')
    .description('replay the last N recorded proposals with a draft policy set: which would be decided differently (exit 1 if any)')
    .requiredOption('--draft <path>', 'a .cedar file, or a folder of them (read recursively): the whole draft policy set')
    .option('--last <n>', `how many recorded decisions, newest first (1 to ${WHAT_IF_LIMITS.maxLast})`, String(WHAT_IF_LIMITS.defaultLast))
    .option('--all', 'list the requests decided the same too')
    .option('--json', 'the whole report as JSON')
    .action(async (o: { draft: string; last: string; all?: boolean; json?: boolean }) => {
      const last = parseLast(o.last);
      const sources = readDraft(o.draft);
      const report = await withAirlock(async (a) => whatIf(a, compileDraft(a.workspace, sources), { last }));
      if (o.json) out(JSON.stringify(report, null, 2));
      else printReport(out, report, o.all === true);
      const s = report.summary;
      if (s.newlyDenied + s.newlyAllowed + s.obligationChanged > 0) process.exitCode = 1;
    });
}

/** A window's start: `N` days, hours or minutes back from `now` (`7d`, `24h`, `90m`), or a date or instant; an `input` error otherwise. */
export function parseSince(text: string, now: Date): string {
  const m = /^\s*(\d{1,6})\s*([dhm])\s*$/.exec(text);
  if (m) return new Date(now.getTime() - Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm']).toISOString();
  const t = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(t)) throw new AirlockError('input', `--since \`${text.slice(0, 40)}\` is neither a duration nor a date`, { hint: 'write `7d`, `24h`, `90m`, or a date such as 2026-12-01' });
  if (t > now.getTime()) throw new AirlockError('input', `--since \`${text.slice(0, 40)}\` is in the future`);
  return new Date(t).toISOString();
}

/** The draft's files (one file, or every `.cedar` under a folder, sorted), bounded before they are read. */
export function readDraft(given: string): PolicySource[] {
  const abs = path.resolve(given);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new AirlockError('input', `--draft \`${given}\` does not exist`, { hint: 'name a .cedar file or a folder of them' });
  }
  const files: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 8) return;
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.cedar')) files.push(p);
    }
  };
  if (st.isDirectory()) walk(abs, 0);
  else files.push(abs);
  if (files.length === 0) throw new AirlockError('input', `--draft \`${given}\` holds no .cedar files`);
  let bytes = 0;
  for (const f of files) {
    bytes += statSync(f).size;
    if (bytes > WHAT_IF_LIMITS.maxDraftBytes) {
      throw new AirlockError('input', `the draft policy set is larger than ${WHAT_IF_LIMITS.maxDraftBytes} bytes`, { hint: 'name only the policy files' });
    }
  }
  // Named as the user would find them: relative to the current folder.
  return files.map((f) => ({ file: path.relative(process.cwd(), f) || path.basename(f), text: readFileSync(f, 'utf8') }));
}

function printReport(out: (line: string) => void, r: WhatIfReport, all: boolean): void {
  for (const w of r.draftWarnings) out(yellow(`warning: ${w}`));
  const which = r.since === null ? `the last ${r.examined} recorded decision(s) of ${r.last} asked` : `the ${r.examined} recorded decision(s) since ${r.since}`;
  out(bold(`draft ${r.draftPolicySetHash.slice(0, 12)} (${r.draftPolicies} policies) against the current set ${r.currentPolicySetHash.slice(0, 12)}: ${which}, ${r.scanned} audit records read`));
  if (r.stoppedEarly) out(yellow(`stopped early: ${r.stoppedEarly}`));
  const shown = all ? r.rows : r.rows.filter((x) => x.change !== 'same');
  for (const x of shown) {
    const mark = x.change === 'same' ? dim('same') : x.change === 'newly-denied' ? red(x.change) : x.change === 'newly-allowed' ? green(x.change) : yellow(x.change);
    out(`#${x.seq} ${x.time} ${x.tool} by ${x.principal}${x.onBehalfOf ? ` for ${x.onBehalfOf}` : ''} (run ${x.runId}): ${label(x.current)} → ${label(x.draft)}  ${mark}`);
    out(dim(`    now: ${x.current.policyIds.join(', ') || '(no policy: deny by default)'}; draft: ${x.draft.policyIds.join(', ') || '(no policy: deny by default)'}`));
    if (x.change !== 'same') out(dim(`    draft says: ${x.draft.reasons.join('; ')}`));
  }
  for (const n of r.notReplayable) out(`#${n.seq} ${n.time} ${n.tool} by ${n.principal ?? '?'}: ${dim('not replayable')}: ${n.reason}`);
  const s = r.summary;
  out(`${s.same} same, ${s.newlyDenied} newly denied, ${s.newlyAllowed} newly allowed, ${s.obligationChanged} obligation changed, ${s.notReplayable} not replayable`);
}
