// Text rendering for the CLI: run timelines from the audit trail, approvals, run lists. Pure.
import type { ApprovalRecord, AuditRecord, RunRecord } from '../store/store.js';
import type { Json } from '../types.js';
import type { RunState } from '../orchestration/run-machine.js';

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
      case 'action.intent':
        out.push(`${seq} ${t} ${cyan('propose')} ${bold(tool)}${b['reasoning'] ? dim(`  “${str(b['reasoning'])}”`) : ''}`);
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
        out.push(`${seq} ${t}   ${red('approval vote refused')} for ${r.principal ?? '?'}: ${str(b['reason'])}`);
        break;
      case 'approval.consumed':
        out.push(`${seq} ${t}   approval ${str(b['approvalId'])} consumed by this execution`);
        break;
      case 'approval.expired':
        out.push(`${seq} ${t}   ${red('approval expired')} ${str(b['approvalId'])}`);
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
    `${bold(a.id)}  ${a.status}  ${a.level === 'step-up' ? yellow('step-up: two approvers') : 'single approver'}`,
    `  run       ${a.runId} (workflow ${str(s['workflow'])}, tier ${str(s['tier'])})`,
    `  action    ${bold(a.tool)}  effect ${str(s['effect'])}, risk ${str(s['risk'])}${s['irreversible'] ? red(', irreversible') : ''}`,
    `  arguments ${JSON.stringify(s['args'])}`,
    `  requester ${a.requester}${s['onBehalfOf'] ? ` on behalf of ${str(s['onBehalfOf'])}` : ''}`,
    `  why       ${list(s['reasons']).join('; ')}`,
    `  policies  ${list(s['policyIds']).join(', ')}`,
    `  expires   ${a.expiresAt}`,
    `  hash      ${a.actionHash}`,
  ];
  for (const d of a.decisions) lines.push(`  vote      ${d.decision} by ${d.approver} at ${d.time}${d.reason ? ` (${d.reason})` : ''}`);
  return lines.join('\n');
}

/** One line per run. */
export function renderRuns(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return 'no runs yet';
  return runs
    .map((r) => {
      const st = r.state as unknown as RunState;
      return `${r.id}  ${statusColor(r.status.padEnd(17))} ${r.workflow.padEnd(14)} steps ${String(st.steps).padStart(3)}  ${dim(r.updatedAt)}${st.reason ? dim(`  ${st.reason}`) : ''}`;
    })
    .join('\n');
}
