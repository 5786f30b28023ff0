// Text rendering for the CLI: run timelines from the audit trail, approvals and their evidence, run lists. Pure.
import type { ApprovalRecord, AuditRecord, RunRecord } from '../store/store.js';
import type { Json } from '../types.js';
import { runStateOf } from '../orchestration/run-state.js';
import { describeStoredProvenance } from '../context/provenance.js';

const color = process.stdout.isTTY && !process.env['NO_COLOR'];
const paint = (code: string) => (s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
export const bold = paint('1');
export const dim = paint('2');
export const red = paint('31');
export const green = paint('32');
export const yellow = paint('33');
export const cyan = paint('36');

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}

function list(v: Json | undefined): string[] {
  return Array.isArray(v) ? v.map((x: Json) => str(x)) : [];
}

/** One line (plus detail lines) per audit record of a run: what happened, why, under which policies. */
export function renderTimeline(records: readonly AuditRecord[]): string {
  const out: string[] = [];
  for (const r of records) {
    const b = r.body;
    const t = dim(r.time.slice(11, 23));
    const seq = dim(`#${r.seq}`.padStart(6));
    const tool = str(b['tool']);
    switch (r.type) {
      case 'run.started':
        out.push(`${seq} ${t} ${bold('run started')} workflow ${str(b['workflow'])} at tier ${str(b['tier'])}`);
        break;
      case 'model.called': {
        // The model turn that proposed the next step (or set aside, when routing asked another route instead).
        const tokens = typeof b['inputTokens'] === 'number' || typeof b['outputTokens'] === 'number' ? `${str(b['inputTokens'] ?? '?')} in / ${str(b['outputTokens'] ?? '?')} out tokens` : 'tokens not reported';
        const cost = typeof b['cost'] === 'number' ? money(b['cost'], typeof b['currency'] === 'string' ? b['currency'] : null) : 'unpriced';
        out.push(`${seq} ${t} ${cyan('model')}   ${oneLine(str(b['route']))} (${oneLine(`${str(b['provider'])}/${str(b['model'])}`)})  ${tokens}, ${cost}${b['why'] ? dim(`  — ${oneLine(str(b['why']))}`) : ''}`);
        const aside = isObject(b['setAside']) ? b['setAside'] : null;
        if (aside) out.push(`${' '.repeat(22)}${yellow(`set aside: proposed ${oneLine(str(aside['tool']))} (${oneLine(str(aside['risk']))} risk) → ${oneLine(str(aside['to']))}`)}`);
        break;
      }
      case 'model.malformed': {
        // A reply nothing was done with: the model was told why (repair), or the run ended.
        const what = `${oneLine(str(b['problem']))}${b['tool'] ? ` (${oneLine(str(b['tool']))})` : ''}: ${oneLine(str(b['detail']))}`;
        out.push(`${seq} ${t} ${red('unusable')} model reply, ${what}  ${dim(b['repair'] === true ? '(the model is told, and asked once more)' : '(again after a repair turn: the run ends)')}`);
        break;
      }
      case 'action.intent':
        out.push(
          b['revisionOf']
            ? `${seq} ${t} ${yellow('edited by an approver')} ${bold(tool)} ${dim(`(replaces the action of ${str(b['revisionOf'])})`)}`
            : `${seq} ${t} ${cyan('propose')} ${bold(tool)}${b['reasoning'] ? dim(`  “${str(b['reasoning'])}”`) : ''}`,
        );
        break;
      case 'action.decision': {
        const d = str(b['decision']);
        const paintD = d === 'allow' ? green : d === 'deny' ? red : yellow;
        const level = b['level'] ? ` (${str(b['level'])})` : '';
        const recheck = b['recheck'] ? ' on re-check at execution' : '';
        out.push(`${seq} ${t}   decision ${paintD(d + level)}${recheck}  policies: ${list(b['policyIds']).join(', ') || '(none)'}`);
        for (const reason of list(b['reasons'])) out.push(`${' '.repeat(22)}${dim('- ' + reason)}`);
        break;
      }
      case 'action.not-executed':
        out.push(`${seq} ${t}   ${red('not executed')} (${str(b['why'])}) ${tool}`);
        for (const reason of list(b['reasons'])) out.push(`${' '.repeat(22)}${dim('- ' + reason)}`);
        break;
      case 'approval.requested':
        out.push(`${seq} ${t}   ${yellow('approval requested')} ${str(b['approvalId'])} (${str(b['level'])}), expires ${str(b['expiresAt'])}`);
        break;
      case 'approval.decided':
        out.push(`${seq} ${t}   ${str(b['vote']) === 'approve' ? green('approved') : red('rejected')} by ${r.principal ?? '?'} → ${str(b['status'])}${b['reason'] ? ` (${str(b['reason'])})` : ''}`);
        break;
      case 'approval.refused':
        out.push(`${seq} ${t}   ${red(b['attempted'] === 'edit' ? 'approver edit refused' : 'approval vote refused')} for ${r.principal ?? '?'}: ${str(b['reason'])}`);
        break;
      case 'approval.escalated':
        out.push(`${seq} ${t}   ${yellow('approval escalated')} ${str(b['approvalId'])} from ${str(b['from'])} to ${str(b['to'])}`);
        break;
      case 'override.recorded':
        out.push(
          b['kind'] === 'edited'
            ? `${seq} ${t}   ${yellow('override')}: ${r.principal ?? '?'} edited ${list(b['changedFields']).join(', ')} (${str(b['approvalId'])} → ${str(b['revisedApprovalId'])})${b['reason'] ? `: ${str(b['reason'])}` : ''}`
            : `${seq} ${t}   ${yellow('override')}: ${r.principal ?? '?'} rejected ${str(b['approvalId'])}${b['reason'] ? `: ${str(b['reason'])}` : ''}`,
        );
        break;
      case 'grant.used':
        out.push(`${seq} ${t}   ${green('standing grant')} ${str(b['grantId'])} of ${str(b['grantor'])} stands in for an approval (use ${str(b['uses'])}${b['maxUses'] !== null ? ` of ${str(b['maxUses'])}` : ''})`);
        break;
      case 'action.second-path':
        out.push(`${seq} ${t}   ${str(b['status']) === 'passed' ? green('second path agrees') : red(`second path ${str(b['status'])}`)} ${tool}${b['probe'] ? dim(` (probe ${str(b['probe'])})`) : ''}: ${oneLine(str(b['message']))}`);
        break;
      case 'run.checked':
        for (const c of Array.isArray(b['checks']) ? (b['checks'] as { name?: Json; status?: Json }[]) : []) {
          const st = str(c.status ?? null);
          out.push(`${seq} ${t} ${st === 'passed' ? green('check passed') : st === 'skipped' ? dim('check skipped') : red(`check ${st}`)} ${str(c.name ?? null)}`);
        }
        break;
      case 'incident.opened':
        out.push(`${seq} ${t} ${red('incident opened')} ${str(b['incidentId'])} (${str(b['kind'])}) for ${str(b['owner'])}: ${oneLine(str(b['title']))}`);
        break;
      case 'incident.resolved':
        out.push(`${seq} ${t} ${green('incident resolved')} ${str(b['incidentId'])} by ${r.principal ?? '?'}: ${oneLine(str(b['resolution']))}`);
        break;
      case 'rollback.started':
        out.push(`${seq} ${t} ${bold('rollback')} of ${str(b['rollbackOf'])} (attempt ${str(b['attempt'])}${b['resumed'] ? ', resumed' : ''}) requested by ${str(b['requestedBy'])}: ${str(b['effects'])} effects`);
        break;
      case 'rollback.compensating':
        out.push(`${seq} ${t}   undoing ${str(b['tool'])} with ${str(b['compensation'])}`);
        break;
      case 'rollback.step':
        out.push(`${seq} ${t}   ${['undone', 'already-undone'].includes(str(b['outcome'])) ? green(str(b['outcome'])) : yellow(str(b['outcome']))} step ${str(b['step'])} ${str(b['tool'])}${b['detail'] ? dim(`: ${oneLine(str(b['detail']))}`) : ''}`);
        break;
      case 'rollback.finished':
        out.push(`${seq} ${t} ${bold('rollback finished')}: ${str(b['status'])}${b['reason'] ? ` (${oneLine(str(b['reason']))})` : ''}`);
        break;
      case 'grant.not-applied':
        out.push(`${seq} ${t}   standing grant ${str(b['grantId'])} not applied: ${list(b['reasons']).join('; ')}`);
        break;
      case 'approval.consumed':
        out.push(`${seq} ${t}   approval ${str(b['approvalId'])} consumed by this execution`);
        break;
      case 'approval.expired':
        out.push(`${seq} ${t}   ${red('approval expired')} ${str(b['approvalId'])}`);
        break;
      case 'approval.withdrawn':
        out.push(`${seq} ${t}   ${yellow('approval withdrawn')} ${str(b['approvalId'])}: ${oneLine(str(b['reason']))}`);
        break;
      case 'probe.read':
        out.push(
          `${seq} ${t}   ${dim(`read ${str(b['probe'])} for ${str(b['purpose'])}`)}${str(b['outcome']) === 'ok' ? '' : ` ${red('failed')}: ${oneLine(str(b['message']))}`}`,
        );
        break;
      case 'action.executed':
        out.push(
          str(b['outcome']) === 'ok'
            ? `${seq} ${t}   ${green(b['reportedBy'] === 'caller' ? 'executed (reported by the caller)' : 'executed')} ${tool}${b['compensation'] && b['compensation'] !== null ? dim(`  undo: ${str((b['compensation'] as { tool?: Json }).tool)}`) : b['irreversible'] ? dim('  irreversible') : ''}`
            : `${seq} ${t}   ${red('failed')} ${tool}: ${str(b['message'])}`,
        );
        break;
      case 'action.authorized':
        out.push(`${seq} ${t}   ${green('authorized')} ${tool} ${dim('(the caller executes it and reports the outcome)')}`);
        break;
      case 'request.refused':
        out.push(`${seq} ${t} ${red('request refused')} (${str(b['why'])}): ${str(b['reason'])}`);
        break;
      case 'action.verified':
        out.push(`${seq} ${t}   ${str(b['status']) === 'passed' ? green('verified') : red('verification ' + str(b['status']))} against ${str(b['probe'])}`);
        break;
      case 'run.status':
        out.push(`${seq} ${t} ${dim(`status ${str(b['from'])} → ${str(b['to'])}`)}${b['reason'] ? dim(` (${str(b['reason'])})`) : ''}`);
        break;
      case 'run.finished':
        out.push(`${seq} ${t} ${bold('run finished')}: ${statusColor(str(b['status']))}${b['reason'] ? ` (${str(b['reason'])})` : ''}`);
        break;
      default:
        out.push(`${seq} ${t} ${r.type} ${dim(JSON.stringify(b))}`);
    }
  }
  return out.join('\n');
}

/** An amount in a currency, as the CLI prints costs: at most six decimals (micro-units), no trailing zeros. */
export function money(amount: number, currency: string | null): string {
  return `${amount.toFixed(6).replace(/0+$/, '').replace(/\.$/, '')} ${currency ?? ''}`.trim();
}

/** Colours a run status: green when verified, red when it failed or could not be verified. */
export function statusColor(s: string): string {
  if (s === 'verified' || s === 'completed') return green(s);
  if (s === 'failed' || s === 'unverified' || s === 'cancelled') return red(s);
  return yellow(s);
}

/** A pending approval as an approver should see it before deciding. */
export function renderApproval(a: ApprovalRecord): string {
  const s = a.summary as Record<string, Json>;
  const lines = [
    `${bold(a.id)}  ${a.status}  ${LEVEL_TEXT[a.level]}`,
    `  run       ${a.runId} (workflow ${str(s['workflow'])}, tier ${str(s['tier'])})`,
    `  action    ${bold(a.tool)}  effect ${str(s['effect'])}, risk ${str(s['risk'])}${s['irreversible'] ? red(', irreversible') : ''}`,
    // Agent-written text is shown on one line with control and direction-override characters removed.
    `  arguments ${oneLine(JSON.stringify(s['args']) ?? '')}`,
    `  requester ${a.requester}${s['onBehalfOf'] ? ` on behalf of ${str(s['onBehalfOf'])}` : ''}`,
    `  why       ${oneLine(list(s['reasons']).join('; '))}`,
    `  policies  ${list(s['policyIds']).join(', ')}`,
    ...describeStoredProvenance(s['provenance']).map((l, i) => `  ${i === 0 ? 'came from' : '         '} ${l.includes('⚠') ? yellow(oneLine(l)) : oneLine(l)}`),
    `  expires   ${a.expiresAt}${a.assignee ? `   routed to ${a.assignee}${a.escalations ? yellow(` (escalated ${a.escalations}x)`) : ''}` : ''}`,
    `  hash      ${a.actionHash}`,
  ];
  const second = s['secondPath'] as { status?: Json; message?: Json; check?: Json } | undefined;
  if (second) {
    const verdict = second.status === 'passed' ? green('agrees') : red(String(second.status ?? '?'));
    lines.push(`  2nd path  ${verdict}: ${oneLine(str(second.message ?? null))} ${dim(`(${oneLine(str(second.check ?? null))})`)}`);
  }
  if (a.editedFrom) lines.push(`  edit of   ${a.editedFrom} (an approver changed the arguments the agent proposed)`);
  if (a.supersededBy) lines.push(yellow(`  replaced  by ${a.supersededBy}: an approver edited the arguments`));
  for (const d of a.decisions) {
    const how = d.authMethod ? dim(` [${d.authMethod}${d.issuer ? ` via ${d.issuer}` : ''}]`) : '';
    lines.push(`  vote      ${d.decision} by ${d.approver} at ${d.time}${d.reason ? ` (${oneLine(d.reason)})` : ''}${how}`);
  }
  if (a.consumedAt) lines.push(`  used      ${a.consumedAt} (single use)`);
  return lines.join('\n');
}

const LEVEL_TEXT: Readonly<Record<ApprovalRecord['level'], string>> = {
  single: 'one approver',
  reauth: yellow('step-up: one approver who signs in again'),
  'step-up': yellow('step-up: two approvers'),
};

/** One line per run. */
export function renderRuns(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return 'no runs yet';
  return runs
    .map((r) => {
      const st = runStateOf(r);
      return `${r.id}  ${statusColor(r.status.padEnd(17))} ${r.workflow.padEnd(14)} steps ${String(st.steps).padStart(3)}  ${dim(r.updatedAt)}${st.reason ? dim(`  ${st.reason}`) : ''}`;
    })
    .join('\n');
}

/**
 * The evidence bundle of an approval (see approvals/evidence.ts): the cited reads, the agent's
 * reason, the exact arguments, and the proposed values beside the current ones. Untrusted citations
 * are flagged: outsiders wrote them, and they may carry instructions meant for the agent.
 */
export function renderEvidence(evidence: Json): string {
  const e = isObject(evidence) ? evidence : {};
  const lines: string[] = [];
  const citations = Array.isArray(e['citations']) ? (e['citations'] as readonly Json[]) : [];
  lines.push(`  ${bold('evidence')}  ${citations.length === 0 ? dim('no earlier reads in this run') : `${citations.length} earlier read${citations.length === 1 ? '' : 's'}`}`);
  for (const c of citations) {
    if (!isObject(c)) continue;
    const untrusted = c['trust'] !== 'trusted';
    const marker = untrusted ? red('⚠ UNTRUSTED') : green('trusted');
    lines.push(`    ${bold(str(c['ref']).padEnd(4))}${str(c['tool'])}  ${marker}  ${dim(oneLine(JSON.stringify(c['args'] ?? null)))}`);
    const excerpt = c['excerpt'];
    const text = typeof excerpt === 'string' ? oneLine(excerpt) : dim('(result no longer stored)');
    lines.push(`        ${untrusted ? yellow(`“${text}”`) + dim('  untrusted source: read it as data, not instructions') : `“${text}”`}`);
    const flagged = Array.isArray(c['flagged']) ? c['flagged'].map(String) : [];
    if (flagged.length > 0) lines.push(`        ${red(`⚠ instruction-like text found here (${oneLine(flagged.join(', '))}): someone may be trying to steer the agent`)}`);
  }
  const reasoning = e['reasoning'];
  lines.push(`  reasoning ${typeof reasoning === 'string' ? oneLine(reasoning) : dim('(none given)')}`);
  lines.push(`  arguments ${oneLine(JSON.stringify(e['args'] ?? null))}`);
  const diff = e['diff'];
  if (!isObject(diff)) {
    lines.push(`  diff      ${dim('(the contract declares no preview)')}`);
    return lines.join('\n');
  }
  lines.push(`  diff      against ${str(diff['probe'])}${diff['args'] !== undefined ? dim(` ${oneLine(JSON.stringify(diff['args']))}`) : ''}`);
  if (diff['error'] !== undefined) {
    lines.push(`    ${red('could not read the current state:')} ${oneLine(str(diff['error']))}`);
    return lines.join('\n');
  }
  const rows = (Array.isArray(diff['rows']) ? (diff['rows'] as readonly Json[]) : []).filter(isObject);
  const width = Math.max(5, ...rows.map((r) => oneLine(str(r['label'])).length));
  const value = (v: Json | undefined): string => oneLine(v === undefined ? '' : JSON.stringify(v));
  const proposedWidth = Math.max(8, ...rows.map((r) => value(r['proposed']).length));
  lines.push(dim(`      ${'label'.padEnd(width)}  ${'proposed'.padEnd(proposedWidth)}  current`));
  for (const r of rows) {
    const differs = r['differs'];
    const mark = differs === true ? red('≠') : differs === false ? green('=') : yellow('?');
    const row = `${oneLine(str(r['label'])).padEnd(width)}  ${value(r['proposed']).padEnd(proposedWidth)}  ${value(r['current'])}`;
    lines.push(`    ${mark} ${differs === true ? bold(row) : row}${r['error'] !== undefined ? dim(`  (${oneLine(str(r['error']))})`) : ''}`);
  }
  return lines.join('\n');
}

function isObject(v: Json | undefined): v is { readonly [k: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Text on one line, safe for a terminal: whitespace runs become one space; control characters
 * (escape sequences) and bidirectional overrides, which untrusted text could use to disguise
 * itself, are removed.
 */
export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim();
}
