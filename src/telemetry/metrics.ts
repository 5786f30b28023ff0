// Prometheus metrics (prom-client), one registry per opened workspace (never prom-client's global one,
// so several instances in one process do not collide). Most counters are read off the audit trail as
// it is appended (`observeRecords`): the trail's vocabulary already says what was decided, refused,
// overridden, verified or opened, so a metric can never disagree with the record. Timings that the
// trail does not hold (a tool call's latency, an audit append, a group commit) are observed where they happen.
import { Counter, Histogram, Registry } from 'prom-client';

/** One audit record as the metrics read it: its type and body. */
export interface ObservedRecord {
  readonly type: string;
  readonly body: { readonly [k: string]: unknown };
}

/** The connector serving a tool (for the per-connector series); unknown tools are `unknown`. */
export type ConnectorOf = (tool: string) => string | undefined;

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const WAIT_SECONDS = [1, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 3 * 86400];

/** The metrics of one Airlock instance, served at `/metrics`. */
export class Metrics {
  readonly registry = new Registry();
  private readonly decisions = new Counter({ name: 'airlock_decisions_total', help: 'Policy decisions by outcome and by each policy that produced them (policy="none": none did).', labelNames: ['outcome', 'policy'], registers: [this.registry] });
  private readonly approvalWait = new Histogram({ name: 'airlock_approval_wait_seconds', help: 'From an approval being asked to its being decided or expiring.', labelNames: ['outcome'], buckets: WAIT_SECONDS, registers: [this.registry] });
  private readonly overrides = new Counter({ name: 'airlock_overrides_total', help: "People overriding an agent's proposal: edited or rejected.", labelNames: ['kind'], registers: [this.registry] });
  private readonly toolCalls = new Counter({ name: 'airlock_tool_calls_total', help: 'Upstream requests (tool calls, resource reads, prompts) by connector and outcome.', labelNames: ['connector', 'outcome'], registers: [this.registry] });
  private readonly toolErrors = new Counter({ name: 'airlock_tool_errors_total', help: 'Upstream requests that failed, by connector and failure.', labelNames: ['connector', 'failure'], registers: [this.registry] });
  private readonly toolLatency = new Histogram({ name: 'airlock_tool_latency_seconds', help: 'Upstream request latency by connector.', labelNames: ['connector'], buckets: SECONDS, registers: [this.registry] });
  private readonly budgetStops = new Counter({ name: 'airlock_budget_stops_total', help: 'Runs stopped by an exhausted budget.', registers: [this.registry] });
  private readonly verificationFailures = new Counter({ name: 'airlock_verification_failures_total', help: 'Verifications against ground truth that failed or could not run, by tool.', labelNames: ['tool', 'status'], registers: [this.registry] });
  private readonly incidents = new Counter({ name: 'airlock_incidents_opened_total', help: 'Incidents opened, by kind.', labelNames: ['kind'], registers: [this.registry] });
  private readonly refusals = new Counter({ name: 'airlock_request_refusals_total', help: 'Requests refused at a door, by door and reason (too-large, rate, malformed...).', labelNames: ['door', 'reason'], registers: [this.registry] });
  private readonly auditAppend = new Histogram({ name: 'airlock_audit_append_seconds', help: 'Durable audit appends (one call, all its records), from call to commit.', buckets: SECONDS, registers: [this.registry] });
  private readonly groupCommit = new Histogram({ name: 'airlock_store_group_commit_writes', help: 'Writes per group commit of the store (one transaction, one fsync).', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [this.registry] });

  constructor(private readonly connectorOf: ConnectorOf = () => undefined) {}

  /** Counts what appended records say: decisions, overrides, waits for people, budget stops, verifications, incidents, refusals. */
  observeRecords(records: readonly ObservedRecord[]): void {
    for (const r of records) {
      const b = r.body;
      switch (r.type) {
        case 'action.decision': {
          // A re-check at execution is the same action decided again: counted once, when first decided.
          if (b['recheck'] === true) break;
          const outcome = str(b['decision']);
          const ids = Array.isArray(b['policyIds']) ? b['policyIds'].map(String) : [];
          for (const policy of ids.length > 0 ? ids : ['none']) this.decisions.inc({ outcome, policy });
          break;
        }
        case 'action.not-executed':
          // Refused before any policy spoke: counted as decisions of their own kind.
          if (b['why'] === 'invalid-arguments' || b['why'] === 'unknown-tool' || b['why'] === 'tool-drift') this.decisions.inc({ outcome: str(b['why']), policy: 'none' });
          break;
        case 'override.recorded':
          this.overrides.inc({ kind: str(b['kind']) });
          break;
        case 'run.budget-exhausted':
          this.budgetStops.inc();
          break;
        case 'action.verified':
          if (b['status'] !== 'passed') this.verificationFailures.inc({ tool: str(b['tool']), status: str(b['status']) });
          break;
        case 'incident.opened':
          this.incidents.inc({ kind: str(b['kind']) });
          break;
        case 'request.refused':
          // The door's named reasons (too-large, rate-limit, malformed...); otherwise the HTTP status it answered.
          this.refusals.inc({ door: str(b['door']), reason: typeof b['why'] === 'string' ? b['why'] : typeof b['status'] === 'number' ? `status-${b['status']}` : 'other' });
          break;
      }
    }
  }

  /** A wait for a person that ended (`outcome`: the approval's new status), from the approval's creation. */
  observeApprovalWait(outcome: string, seconds: number): void {
    this.approvalWait.observe({ outcome }, Math.max(0, seconds));
  }

  /** One upstream request: its latency, and its failure if it failed. */
  observeTool(tool: string, ms: number, failure: string | null, connector?: string): void {
    const c = connector ?? this.connectorOf(tool) ?? 'unknown';
    this.toolLatency.observe({ connector: c }, ms / 1000);
    this.toolCalls.inc({ connector: c, outcome: failure ? 'error' : 'ok' });
    if (failure) this.toolErrors.inc({ connector: c, failure });
  }

  /** One durable audit append (all its records), from call to commit. */
  observeAuditAppend(ms: number): void {
    this.auditAppend.observe(ms / 1000);
  }

  /** One group commit of the store: how many writes shared its transaction. */
  observeGroupCommit(writes: number): void {
    this.groupCommit.observe(writes);
  }

  /** The exposition text and its content type, for `/metrics`. */
  async exposition(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}

function str(v: unknown): string {
  return typeof v === 'string' && v !== '' ? v : 'unknown';
}
