// A run's audit records as the rows of the console's waterfall (pure): what happened, when relative to
// the start, for how long, and the detail a person needs (tokens and cost, trust labels, policy ids, votes).
import type { AuditRecord } from '../store/store.js';
import type { ToolContract } from '../config/schema.js';
import type { Json } from '../types.js';

/** What kind of step a row is (the waterfall colours by it). */
export type RowKind = 'run' | 'model' | 'read' | 'decision' | 'approval' | 'tool' | 'verification' | 'incident' | 'rollback' | 'refusal' | 'other';

/** One row of the waterfall. */
export interface TimelineRow {
  readonly seq: number;
  readonly type: string;
  readonly kind: RowKind;
  /** Milliseconds from the run's first record to this one's start. */
  readonly startMs: number;
  /** How long it took (an action: intent to outcome); 0 for an instant. */
  readonly durationMs: number;
  readonly label: string;
  readonly detail: string;
}

/** The waterfall of a run: its rows and its total span. */
export interface Timeline {
  readonly rows: readonly TimelineRow[];
  readonly totalMs: number;
  /** Model calls, their reported tokens, and the priced cost per currency. */
  readonly usage: { readonly modelCalls: number; readonly inputTokens: number; readonly outputTokens: number; readonly cost: Readonly<Record<string, number>> };
}

const s = (v: Json | undefined): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
const list = (v: Json | undefined): string[] => (Array.isArray(v) ? v.map(s) : []);

/** Builds the waterfall of one run's records (in seq order); `tools` gives reads their trust labels. */
export function buildTimeline(records: readonly AuditRecord[], tools: ReadonlyMap<string, ToolContract>): Timeline {
  const t0 = records.length > 0 ? Date.parse(records[0]?.time ?? '') : 0;
  const at = (r: AuditRecord) => Math.max(0, Date.parse(r.time) - t0);
  const intents = new Map<string, number>();
  for (const r of records) if (r.type === 'action.intent' && typeof r.body['actionHash'] === 'string') intents.set(r.body['actionHash'], at(r));
  const usage = { modelCalls: 0, inputTokens: 0, outputTokens: 0, cost: {} as Record<string, number> };
  const rows: TimelineRow[] = [];
  for (const r of records) {
    const b = r.body;
    const tool = s(b['tool']);
    const row = (kind: RowKind, label: string, detail = '', startMs = at(r)): void => {
      rows.push({ seq: r.seq, type: r.type, kind, startMs, durationMs: Math.max(0, at(r) - startMs), label, detail });
    };
    switch (r.type) {
      case 'model.called': {
        usage.modelCalls++;
        const inT = typeof b['inputTokens'] === 'number' ? b['inputTokens'] : null;
        const outT = typeof b['outputTokens'] === 'number' ? b['outputTokens'] : null;
        usage.inputTokens += inT ?? 0;
        usage.outputTokens += outT ?? 0;
        const cost = typeof b['cost'] === 'number' ? b['cost'] : null;
        const currency = s(b['currency']) || '?';
        if (cost !== null) usage.cost[currency] = (usage.cost[currency] ?? 0) + cost;
        row('model', `model ${s(b['route'])} (${s(b['provider'])}/${s(b['model'])})`, `${inT === null && outT === null ? 'tokens not reported' : `${inT ?? '?'} in / ${outT ?? '?'} out tokens`}, ${cost === null ? 'unpriced' : `${cost} ${currency}`}`);
        break;
      }
      case 'action.intent':
        row('tool', `${b['revisionOf'] ? 'edited by an approver: ' : 'propose '}${tool}`, s(b['reasoning']));
        break;
      case 'action.decision':
        row('decision', `decision ${s(b['decision'])}${b['level'] ? ` (${s(b['level'])})` : ''} for ${tool}`, `policies: ${list(b['policyIds']).join(', ') || '(none: deny by default)'}${list(b['reasons']).length ? ` — ${list(b['reasons']).join('; ')}` : ''}`);
        break;
      case 'action.executed': {
        const contract = tools.get(tool);
        const start = typeof b['actionHash'] === 'string' ? (intents.get(b['actionHash']) ?? at(r)) : at(r);
        const isRead = contract?.effect === 'read';
        const trust = b['reportedBy'] === 'caller' ? 'untrusted' : (contract?.trust ?? '?');
        row(
          isRead ? 'read' : 'tool',
          `${isRead ? 'read' : 'executed'} ${tool}${b['outcome'] === 'error' ? ' — failed' : ''}`,
          isRead ? `${contract?.classification ?? '?'}, ${trust}` : `${b['outcome'] === 'error' ? s(b['message']) : contract ? `${contract.effect}, risk ${contract.risk}` : ''}`,
          start,
        );
        break;
      }
      case 'action.not-executed':
        row('refusal', `not executed (${s(b['why'])}) ${tool}`, list(b['reasons']).join('; '));
        break;
      case 'action.verified':
        row('verification', `verified ${tool}: ${s(b['status'])}`, `probe ${s(b['probe'])}`);
        break;
      case 'action.second-path':
        row('verification', `second path for ${tool}: ${s(b['status'])}`, `${s(b['message'])} (${s(b['check'])})`);
        break;
      case 'run.checked':
        row('verification', 'run checks', (Array.isArray(b['checks']) ? b['checks'] : []).map((c) => (c && typeof c === 'object' && !Array.isArray(c) ? `${s(c['name'])}: ${s(c['status'])}` : '')).join('; '));
        break;
      case 'probe.read':
        row('read', `ground-truth read ${s(b['probe'])}`, s(b['purpose']));
        break;
      case 'approval.requested':
        row('approval', `approval requested ${s(b['approvalId'])} (${s(b['level'])})`, b['expiresAt'] ? `expires ${s(b['expiresAt'])}` : '');
        break;
      case 'approval.decided':
        row('approval', `vote ${s(b['vote'])} by ${r.principal ?? '?'} → ${s(b['status'])}`, `${s(b['reason'])}${b['authMethod'] ? ` [${s(b['authMethod'])}, signed in ${s(b['authTime']) || '?'}]` : ''}${list(b['policyIds']).length ? ` policies: ${list(b['policyIds']).join(', ')}` : ''}`);
        break;
      case 'approval.refused':
        row('refusal', `vote refused for ${r.principal ?? '?'} (${s(b['attempted'])})`, s(b['reason']));
        break;
      case 'override.recorded':
        row('approval', `override: ${s(b['kind'])} by ${s(b['by'])}`, s(b['reason']));
        break;
      case 'incident.opened':
      case 'incident.resolved':
        row('incident', `${r.type.replace('.', ' ')} ${s(b['incidentId'])}`, s(b['title']) || s(b['resolution']));
        break;
      case 'run.started':
        row('run', `run started: ${s(b['workflow'])} at tier ${s(b['tier'])}`);
        break;
      case 'run.status':
        row('run', `status ${s(b['from'])} → ${s(b['to'])}`, s(b['reason']));
        break;
      case 'run.finished':
        row('run', `run finished: ${s(b['status'])}`, s(b['reason']));
        break;
      default:
        row(r.type.startsWith('rollback.') ? 'rollback' : r.type.startsWith('approval.') ? 'approval' : 'other', r.type, Object.keys(b).slice(0, 4).map((k) => `${k}: ${s(b[k]).slice(0, 60)}`).join(', '));
    }
  }
  const totalMs = rows.reduce((m, r) => Math.max(m, r.startMs + r.durationMs), 0);
  return { rows, totalMs, usage };
}
