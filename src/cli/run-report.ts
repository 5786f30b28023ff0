// Where a run stands and what a person can do next: the timeline, incidents, undo, and for a paused
// run the commands to decide it, naming the people this workspace's policies let decide.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Airlock } from '../airlock.js';
import { hashApiKey } from '../identity/api-keys.js';
import { eligibility, localApprover } from '../gateway/approvals/vote.js';
import { latestRevision } from '../gateway/approvals/lifecycle.js';
import type { ApprovalRecord, AuditRecord, Store } from '../store/store.js';
import { TERMINAL_RUN_STATUSES, type RunId } from '../types.js';
import { bold, dim, green, money, red, renderApproval, renderTimeline, statusColor, yellow } from './render.js';
import { recordsOf } from '../audit/records.js';
import { runStateOf } from '../orchestration/run-state.js';
import { usageView } from '../orchestration/run-machine.js';

const out = (s: string): void => void process.stdout.write(s + '\n');

/** All audit records of one run, in order. */
export async function auditForRun(store: Store, runId: string): Promise<AuditRecord[]> {
  return [...(await store.readAuditForRun(runId))];
}

/** Prints where a run stands and what a person can do next; `prefix` is how the user invokes the CLI. */
export async function reportRun(a: Airlock, runId: RunId, prefix: string): Promise<void> {
  const run = await a.store.getRun(runId);
  if (!run) return;
  out(renderTimeline(await auditForRun(a.store, runId)));
  out('');
  const state = runStateOf(run);
  out(`${bold('run')} ${run.id}: ${statusColor(run.status)}${state.reason ? ` (${state.reason})` : ''}`);
  if (state.final) out(`${bold('agent says')}: ${state.final.text}`);
  const used = usageView(state);
  if (used.modelCalls > 0) {
    const cost = used.cost === null ? 'unpriced' : money(used.cost, used.currency);
    out(`${bold('used')}: ${used.modelCalls} model call${used.modelCalls === 1 ? '' : 's'}, ${used.inputTokens} input / ${used.outputTokens} output tokens, cost ${cost}; ${used.toolCalls} tool call${used.toolCalls === 1 ? '' : 's'}`);
  }
  // Was it true: the incidents a contradicted "done" (or a failed rollback) opened.
  for (const i of await a.store.listIncidents({ runId: run.id })) {
    out(`${bold('incident')} ${i.id} ${i.status === 'open' ? red('open') : dim('resolved')} (${i.kind}, owner ${i.owner ?? 'none'}): ${i.title}`);
  }
  // How to undo it: the effects with a compensation, and those nothing can undo.
  if (TERMINAL_RUN_STATUSES.includes(run.status) && state.driver !== 'rollback') {
    const records = await a.store.readAuditForRun(run.id);
    const executed = recordsOf(records, 'action.executed').filter((r) => r.body.outcome === 'ok');
    const rolledBack = recordsOf(records, 'rollback.finished').some((r) => r.body.status === 'completed');
    const undoable = rolledBack ? [] : executed.filter((r) => r.body.compensation !== null && r.body.compensation !== undefined);
    if (rolledBack) out(`${bold('undo')}: ${green('rolled back')} ${dim(`(airlock rollback ${run.id} again reports each step)`)}`);
    const irreversible = executed.filter((r) => r.body.irreversible === true).map((r) => r.body.tool);
    if (!rolledBack && (undoable.length > 0 || irreversible.length > 0)) {
      out(
        `${bold('undo')}: ${undoable.length > 0 ? `${prefix} rollback ${run.id} --as <user>   ${dim(`(${undoable.length} effect${undoable.length === 1 ? '' : 's'} in reverse order, through policy and approval)`)}` : 'nothing can be undone'}` +
          (irreversible.length > 0 ? `\n      ${dim(`irreversible: ${irreversible.join(', ')}`)}` : ''),
      );
    }
  }
  if (run.status === 'awaiting-approval' && state.pending) {
    const pending = await a.store.getApproval(state.pending.approvalId);
    // After an approver's edit the run waits on the edited action: show the one that stands now.
    const approval = pending && (await latestRevision(a.store, pending));
    if (approval) {
      out('');
      out(yellow('The run is paused until a person decides:'));
      out(renderApproval(approval));
      out('');
      for (const line of decisionHints(a, approval, prefix)) out(line);
      out(`timeline: ${bold(`${prefix} runs show ${run.id}`)}`);
    }
  }
}

/**
 * The commands that decide `approval`, naming people this workspace's own policies let decide it
 * (the `approve` action, and the fixed rules) who have not voted yet. Step-up needs two logins, so
 * the vote after a local one (`--as`) is one with an API key: a key file the workspace holds for one
 * of them when there is one.
 */
export function decisionHints(a: Airlock, approval: ApprovalRecord, prefix: string): string[] {
  const people = eligiblePeople(a, approval);
  const approves = approval.decisions.filter((d) => d.decision === 'approve');
  const localVoted = approves.some((d) => (d.authMethod ?? 'local').startsWith('local'));
  const keyed = approval.level === 'step-up' ? people.map((p) => ({ person: p, file: keyFileOf(a, p) })).find((k) => k.file !== undefined) : undefined;
  // Keep the person with a key file for the vote that needs a login of its own.
  const first = (approval.level === 'step-up' && !localVoted ? people.find((p) => p !== keyed?.person) : undefined) ?? people[0];
  const who = first ?? '<user>';
  const why = approval.level === 'single' ? '' : ' --reason "..."';
  const mayDecide =
    people.length === 0
      ? 'no declared person who has not voted may approve it: a policy must permit the `approve` action'
      : `may decide: ${people.map((p) => `user:${p}`).join(', ')}; ${approval.requester} cannot approve its own action`;
  const keyVote = (person: string | undefined): string => {
    const file = keyed !== undefined && keyed.person === person ? keyed.file : undefined;
    const key = file !== undefined ? `"$(cat ${path.relative(process.cwd(), file)})"` : `<${person === undefined ? 'an approver' : `${person}'s`} API key>`;
    return `${prefix} approve ${approval.id} --key ${key} --reason "..."`;
  };
  const lines = [`evidence: ${bold(`${prefix} show ${approval.id}`)}   ${dim('(what the agent read, its reasoning, the exact arguments)')}`];
  if (approval.level === 'reauth') {
    lines.push(`approve:  ${bold(`POST /v1/approvals/${approval.id}/approve`)} with a token from a fresh identity-provider login   ${dim(`(reauth: the CLI and API keys cannot satisfy it; ${mayDecide})`)}`);
  } else if (approval.level === 'step-up' && localVoted) {
    const person = keyed?.person ?? first;
    lines.push(`approve:  ${bold(keyVote(person))}   ${dim(`(step-up: the second vote needs a login of its own; ${mayDecide})`)}`);
  } else {
    lines.push(`approve:  ${bold(`${prefix} approve ${approval.id} --as ${who}${why}`)}   ${dim(`(${mayDecide})`)}`);
    if (approval.level === 'step-up' && approves.length === 0) {
      const second = keyed !== undefined && keyed.person !== first ? keyed.person : people.find((p) => p !== first);
      lines.push(`then:     ${bold(keyVote(second))}   ${dim(`(step-up: a second approver${second === undefined ? '' : `, user:${second}`}, with a login of their own)`)}`);
    }
  }
  // The example edit names an argument of this action, a number when there is one (amounts are what approvers change).
  const args = Object.entries((approval.summary as { args?: Record<string, unknown> }).args ?? {});
  const example = (args.find(([, v]) => typeof v === 'number') ?? args[0])?.[0] ?? 'FIELD';
  lines.push(`edit:     ${bold(`${prefix} approve ${approval.id} --as ${who} --set ${example}=VALUE --reason "..."`)}   ${dim('(a new action, decided again by someone else; recorded as an override)')}`);
  lines.push(`reject:   ${bold(`${prefix} reject ${approval.id} --as ${who} --reason "..."`)}`);
  return lines;
}

/** The ids of the declared people who may decide `approval` now and have not voted on it, in declaration order. */
function eligiblePeople(a: Airlock, approval: ApprovalRecord): string[] {
  const now = new Date();
  const voted = new Set(approval.decisions.map((d) => d.approver));
  const out: string[] = [];
  for (const p of a.workspace.file.identity.principals) {
    if (p.kind !== 'user' || voted.has(`user:${p.id}`)) continue;
    try {
      if (eligibility(a.approvalDeps, approval, localApprover(a.principal(`user:${p.id}`)), now).allowed) out.push(p.id);
    } catch {
      // An unreadable approval names no one; the approve command itself reports why.
    }
  }
  return out;
}

/** How deep and how many files `keyFileOf` looks at: key files sit near the top of a workspace. */
const KEY_SEARCH = { depth: 2, entries: 500, bytes: 4096 } as const;

/**
 * A file in the workspace (`*.key`, at most two folders down) holding an API key that
 * `identity.apiKeys` assigns to `user:<id>`, matched by its SHA-256; undefined when there is none.
 */
function keyFileOf(a: Airlock, id: string): string | undefined {
  const hashes = new Set(a.workspace.file.identity.apiKeys.filter((k) => k.principal === `user:${id}`).map((k) => k.sha256));
  if (hashes.size === 0) return undefined;
  let budget: number = KEY_SEARCH.entries;
  const walk = (dir: string, depth: number): string | undefined => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return undefined;
    }
    for (const n of names) {
      if (--budget < 0) return undefined;
      if (n.startsWith('.') || n === 'node_modules') continue;
      const file = path.join(dir, n);
      let st;
      try {
        st = statSync(file);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        const found = depth < KEY_SEARCH.depth ? walk(file, depth + 1) : undefined;
        if (found !== undefined) return found;
      } else if (st.isFile() && n.endsWith('.key') && st.size <= KEY_SEARCH.bytes) {
        const key = readFileSync(file, 'utf8').trim();
        if (hashes.has(hashApiKey(key))) return file;
      }
    }
    return undefined;
  };
  return walk(a.workspace.dir, 0);
}
