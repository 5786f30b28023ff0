// Runs: the list with filters (workflow, status, principal, time) and a run's page: its timeline as a
// waterfall from the audit records, cost and latency, and rollback with the CLI's rules (rollbackRun).
import type { Hono } from 'hono';
import { rollbackRun, type RollbackReport } from '../orchestration/rollback.js';
import type { RunRecord } from '../store/store.js';
import { TERMINAL_RUN_STATUSES, type RunId, type RunStatus } from '../types.js';
import { field, type ConsoleDeps, type ConsoleEnv } from './context.js';
import { Csrf, Notice, Page, Status, when, type PageContext } from './layout.js';
import { buildTimeline, type Timeline } from './timeline.js';

/** Every run status, for the filter. */
const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'awaiting-approval', ...TERMINAL_RUN_STATUSES];

/** Runs shown per page of the list. */
const RUNS_PAGE = 100;

/** Adds `/runs`, `/runs/:id` and `/runs/:id/rollback`. */
export function mountRunPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  const { airlock } = deps;

  app.get('/runs', async (c) => {
    const ctx = c.get('page');
    const q = { workflow: c.req.query('workflow') ?? '', status: c.req.query('status') ?? '', principal: c.req.query('principal') ?? '', since: c.req.query('since') ?? '', until: c.req.query('until') ?? '' };
    const status = (RUN_STATUSES as readonly string[]).includes(q.status) ? (q.status as RunStatus) : undefined;
    const after = pageCursor(c.req.query('after'));
    // Every filter runs inside the store's query, over all runs; one more than a page tells whether there are older ones.
    const found = await airlock.store.listRuns({
      ...(status ? { status } : {}),
      ...(q.workflow ? { workflow: q.workflow } : {}),
      ...(q.principal ? { principal: q.principal } : {}),
      ...(q.since ? { since: q.since } : {}),
      ...(q.until ? { until: q.until } : {}),
      ...(after ? { after } : {}),
      limit: RUNS_PAGE + 1,
    });
    const runs = found.slice(0, RUNS_PAGE);
    const last = found.length > RUNS_PAGE ? runs.at(-1) : undefined;
    const olderHref = last ? `${ctx.base}/runs?${new URLSearchParams({ ...Object.fromEntries(Object.entries(q).filter(([, v]) => v !== '')), after: `${last.createdAt}|${last.id}` }).toString()}` : null;
    return c.html(
      <Page ctx={ctx} title="Runs" active="runs">
        <form method="get" action={`${ctx.base}/runs`} class="filters">
          <label>
            workflow
            <select name="workflow">
              <option value="">any</option>
              {[...airlock.workspace.workflows.keys()].map((w) => (
                <option value={w} selected={w === q.workflow}>{w}</option>
              ))}
            </select>
          </label>
          <label>
            status
            <select name="status">
              <option value="">any</option>
              {RUN_STATUSES.map((s) => (
                <option value={s} selected={s === q.status}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            principal <input name="principal" value={q.principal} placeholder="agent:refund-bot" />
          </label>
          <label>
            since <input name="since" value={q.since} placeholder="2026-01-31" />
          </label>
          <label>
            until <input name="until" value={q.until} placeholder="2026-12-31" />
          </label>
          <button type="submit">Filter</button>
        </form>
        <table class="list" id="runs">
          <thead>
            <tr>
              <th>run</th>
              <th>workflow</th>
              <th>status</th>
              <th>principal</th>
              <th>started</th>
              <th>updated</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => {
              const st = stateOf(r);
              return (
                <tr>
                  <td>
                    <a href={`${ctx.base}/runs/${r.id}`}>{r.id}</a>
                  </td>
                  <td>{r.workflow}</td>
                  <td>
                    <Status value={r.status} />
                  </td>
                  <td>{st.agent}{st.onBehalfOf ? ` for ${st.onBehalfOf}` : ''}</td>
                  <td>{when(r.createdAt)}</td>
                  <td>{when(r.updatedAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {runs.length === 0 ? <p class="muted">no runs match</p> : null}
        {olderHref ? (
          <p>
            <a href={olderHref} id="older-runs">Older runs</a>
          </p>
        ) : null}
      </Page>,
    );
  });

  app.get('/runs/:id', async (c) => runPage(c.req.param('id') as RunId, c.get('page')).then((p) => c.html(p.html, p.status)));

  app.post('/runs/:id/rollback', async (c) => {
    const id = c.req.param('id') as RunId;
    if (field(c, 'confirm') !== 'yes') return runPage(id, c.get('page'), { kind: 'error', text: 'tick the box to confirm the rollback' }, 422).then((p) => c.html(p.html, p.status));
    // The CLI's rules exactly (`airlock rollback RUN --as USER`): the signed-in person asks; compensations go through policy and approvals.
    let report: RollbackReport;
    try {
      report = await rollbackRun(airlock, id, c.get('principal'));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return runPage(id, c.get('page'), { kind: 'error', text: `rollback refused: ${message}` }, 409).then((p) => c.html(p.html, p.status));
    }
    const text = `rollback ${report.status}${report.noop ? ' (already done)' : ''} in ${report.rollbackRunId}: ${report.steps.map((s) => `${s.tool} ${s.outcome}${s.approvalId ? ` (approval ${s.approvalId})` : ''}`).join('; ') || 'no effects to undo'}`;
    return runPage(id, c.get('page'), { kind: report.status === 'failed' ? 'error' : 'ok', text }, report.status === 'failed' ? 409 : 200).then((p) => c.html(p.html, p.status));
  });

  async function runPage(id: RunId, ctx: PageContext, notice?: { kind: 'ok' | 'error'; text: string }, status: 200 | 404 | 409 | 422 = 200) {
    const run = await airlock.store.getRun(id);
    if (!run) {
      return { html: <Page ctx={ctx} title="Run"><Notice kind="error">{`run \`${id.slice(0, 100)}\` does not exist`}</Notice></Page>, status: 404 as const };
    }
    const st = stateOf(run);
    const records = await airlock.store.readAuditForRun(id);
    const timeline = buildTimeline(records, airlock.workspace.tools);
    const incidents = await airlock.store.listIncidents({ runId: id });
    const finished = TERMINAL_RUN_STATUSES.includes(run.status);
    return {
      status,
      html: (
        <Page ctx={ctx} title={`Run ${run.id}`} active="runs">
          {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
          <section class="card">
            <dl class="facts">
              <dt>status</dt>
              <dd id="run-status">
                <Status value={run.status} />
                {st.reason ? ` — ${st.reason}` : ''}
              </dd>
              <dt>workflow</dt>
              <dd>{run.workflow}</dd>
              <dt>principal</dt>
              <dd>{st.agent}{st.onBehalfOf ? ` on behalf of ${st.onBehalfOf}` : ''}</dd>
              <dt>started</dt>
              <dd>{when(run.createdAt)} · updated {when(run.updatedAt)} · span {Math.round(timeline.totalMs)} ms</dd>
              <dt>model use</dt>
              <dd>
                {timeline.usage.modelCalls} calls, {timeline.usage.inputTokens} in / {timeline.usage.outputTokens} out tokens, cost{' '}
                {Object.keys(timeline.usage.cost).length === 0 ? 'unpriced' : Object.entries(timeline.usage.cost).map(([cur, v]) => `${v} ${cur}`).join(', ')}
              </dd>
              <dt>incidents</dt>
              <dd>{incidents.length === 0 ? 'none' : incidents.map((i) => `${i.id} ${i.kind} (${i.status})`).join(', ')}</dd>
            </dl>
          </section>
          <section class="card">
            <h2>Timeline</h2>
            <Waterfall t={timeline} />
          </section>
          {finished && !run.id.includes('-rollback-') ? (
            <section class="card">
              <h2>Rollback</h2>
              <p>Undoes this run's side effects in reverse order, each compensation through policy, approvals and the audit trail, on your behalf (as `airlock rollback {run.id} --as {ctx.principal ?? ''}`).</p>
              <form method="post" action={`${ctx.base}/runs/${run.id}/rollback`}>
                <Csrf ctx={ctx} />
                <label>
                  <input type="checkbox" name="confirm" value="yes" /> I want to undo this run's effects
                </label>
                <button type="submit" class="reject">Roll back</button>
              </form>
            </section>
          ) : null}
        </Page>
      ),
    };
  }
}

/** The `after` of a list page (`<createdAt>|<id>` of the last run shown), or undefined when absent or malformed. */
function pageCursor(v: string | undefined): { createdAt: string; id: string } | undefined {
  if (!v || v.length > 300) return undefined;
  const bar = v.indexOf('|');
  return bar > 0 && bar < v.length - 1 ? { createdAt: v.slice(0, bar), id: v.slice(bar + 1) } : undefined;
}

/** The parts of a run's stored state the pages show (stored JSON, read defensively). */
function stateOf(r: RunRecord): { agent: string; onBehalfOf: string | null; reason: string | null } {
  const st = (r.state ?? {}) as { agent?: unknown; onBehalfOf?: unknown; reason?: unknown };
  return {
    agent: typeof st.agent === 'string' ? `agent:${st.agent}` : '?',
    onBehalfOf: typeof st.onBehalfOf === 'string' ? st.onBehalfOf : null,
    reason: typeof st.reason === 'string' ? st.reason : null,
  };
}

/** The rows as bars on a shared time axis (SVG attributes: the CSP allows no inline style). */
const Waterfall = ({ t }: { t: Timeline }) => {
  const width = 240;
  const scale = t.totalMs > 0 ? width / t.totalMs : 0;
  return (
    <table class="waterfall" id="timeline">
      <tbody>
        {t.rows.map((r) => (
          <tr class={`k-${r.kind}`}>
            <td class="muted mono">#{r.seq}</td>
            <td class="muted mono">+{Math.round(r.startMs)} ms</td>
            <td>
              <svg width={width + 4} height="10" role="img" aria-label={`${Math.round(r.durationMs)} ms`}>
                <rect class={`bar k-${r.kind}`} x={Math.min(width, r.startMs * scale)} y="1" width={Math.max(3, r.durationMs * scale)} height="8" />
              </svg>
            </td>
            <td class="kind">{r.kind}</td>
            <td>
              <strong>{r.label}</strong>
              {r.detail ? <div class="muted">{r.detail}</div> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};
